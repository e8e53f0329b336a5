//! `smesh wallet create / recover / show` through the binary: secrets stay off the screen unless
//! asked for, a recovered mnemonic gives the golden addresses, and files are never overwritten
//! or read with loose permissions.

use std::io::Write as _;
use std::process::{Command, Stdio};

const ABANDON: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon \
                       abandon abandon about";

fn smesh(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_smesh"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running smesh");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

/// A recovered "abandon ... about" wallet shows account 0's golden address (same as the
/// unit snapshot) on both networks, and its mnemonic only with --show-secret.
#[test]
fn recover_and_show() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.json");
    let f = file.to_str().unwrap();
    let (code, _, err) = smesh(&["wallet", "recover", "--file", f, "--accounts", "2"], ABANDON);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = smesh(&["wallet", "show", "--file", f], "");
    assert_eq!(code, 0);
    assert!(out.contains("stest1qqqqqqqlgfpwap59jlwmre4p9xrlk8fenfnlsrq3gky2c"), "{out}");
    assert!(out.contains("account 1 (m/44'/540'/0'/0'/1')"), "{out}");
    assert!(!out.contains("abandon") && !out.contains("secret"), "no secrets: {out}");
    let (_, out, _) = smesh(&["wallet", "show", "--file", f, "--hrp", "sm"], "");
    assert!(out.contains("sm1qqqqqqqlgfpwap59jlwmre4p9xrlk8fenfnlsrqva0uyp"), "{out}");
    let (_, out, _) = smesh(&["wallet", "show", "--file", f, "--show-secret"], "");
    assert!(out.contains(ABANDON.split_whitespace().collect::<Vec<_>>().join(" ").as_str()));
    assert!(out.contains("secret key"));
}

/// `create` makes a 0600 file and prints no mnemonic; a second `create` on it fails without
/// --force; a loosened file is refused with the fix; a bad mnemonic on stdin is refused.
#[cfg(unix)]
#[test]
fn create_refusals() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.json");
    let f = file.to_str().unwrap();
    let (code, out, err) = smesh(&["wallet", "create", "--file", f, "--words", "12"], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("--show-secret"), "{out}");
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let before = std::fs::read(&file).unwrap();
    let (code, _, err) = smesh(&["wallet", "create", "--file", f], "");
    assert_ne!(code, 0);
    assert!(err.contains("--force"), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), before);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, _, err) = smesh(&["wallet", "show", "--file", f], "");
    assert_ne!(code, 0);
    assert!(err.contains("chmod 600"), "{err}");
    let (code, _, err) = smesh(&["wallet", "create", "--file", f, "--words", "13"], "");
    assert_ne!(code, 0);
    assert!(err.contains("12 or 24"), "{err}");
    let other = dir.path().join("x.json");
    let (code, _, err) =
        smesh(&["wallet", "recover", "--file", other.to_str().unwrap()], "abandon about");
    assert_ne!(code, 0);
    assert!(err.contains("12 or 24 words"), "{err}");
    assert!(!other.exists());
}

/// A node that is not there is named in the error, with what to check.
#[test]
fn unreachable_node_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.json");
    let f = file.to_str().unwrap();
    assert_eq!(smesh(&["wallet", "recover", "--file", f], ABANDON).0, 0);
    // A port nothing listens on: bind one and close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let node = format!("http://127.0.0.1:{port}");
    let (code, _, err) = smesh(&["wallet", "balance", "--file", f, "--node", &node], "");
    assert_ne!(code, 0);
    assert!(err.contains("unreachable") && err.contains(&node), "{err}");
}
