//! `smesh post label` prints the label known-answer values of proofs.md section 1.2 and rejects
//! bad input with a clear error.

use std::process::Command;

fn smesh(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_smesh")).args(args).output().expect("running smesh")
}

/// Both label KATs come out of the CLI.
#[test]
fn label_known_answers() {
    let seq: String = (0u8..32).map(|b| format!("{b:02x}")).collect();
    let out = smesh(&["post", "label", "--commitment", &seq, "--index", "0"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "dc7081988594e3812c274f244b2f77872cda9aba0b67ea3318e49fde3fb0fad5"
    );
    let zeros = "00".repeat(32);
    let out = smesh(&["post", "label", "--commitment", &zeros, "--index", "0", "--scrypt-n", "2"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ff29deee2578176c8c7d9495164e88213859c3db4b0fe3cdfdd27818b26943a6"
    );
}

/// Bad hex, a short commitment and a non-power-of-two N exit with status 2 and say why.
#[test]
fn bad_input_is_explained() {
    let zeros = "00".repeat(32);
    for (args, needle) in [
        (vec!["--commitment", "zz", "--index", "0"], "not valid hex"),
        (vec!["--commitment", "0011", "--index", "0"], "32 bytes"),
        (vec!["--commitment", zeros.as_str(), "--index", "0", "--scrypt-n", "6"], "power of two"),
    ] {
        let mut full = vec!["post", "label"];
        full.extend(args);
        let out = smesh(&full);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{err}");
    }
}
