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

/// `post init` writes the data, a second run finds it complete without computing again, and
/// other parameters for the same directory are refused with a message that says what to do.
#[test]
fn init_completes_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("post");
    let data = data.to_str().unwrap();
    let id = "11".repeat(32);
    let atx = "22".repeat(32);
    let base = ["post", "init", "--dir", data, "--node-id", &id, "--commitment-atx", &atx];
    let run = |units: &str| {
        let mut args = base.to_vec();
        args.extend(["--units", units, "--labels-per-file", "100"]);
        smesh(&args)
    };
    let out = run("3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("192 labels"), "{text}");
    let files: u64 =
        (0..2).map(|i| std::fs::metadata(format!("{data}/postdata_{i}.bin")).unwrap().len()).sum();
    assert_eq!(files, 192 * 16);
    let again = run("3");
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 labels this run"));
    let other = run("2");
    assert_eq!(other.status.code(), Some(2));
    let err = String::from_utf8_lossy(&other.stderr);
    assert!(err.contains("use another directory"), "{err}");
    let bad = smesh(&["post", "init", "--dir", data, "--units", "9", "--node-id", &id]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--units 9"), "units are checked first");
}

/// An identity none of whose labels is below the VRF difficulty (about one in 3,000) gets a
/// nonce from past its labels, says so, and writes no more than its labels; a search stopped
/// part way (its checkpoint past the labels) resumes to the same nonce.
#[test]
fn init_searches_past_the_labels_for_a_vrf_nonce() {
    use spacemesh_core::post::{PostConfig, PostMetadata, verify_vrf_nonce};
    use spacemesh_core::types::{Hash32, NodeId};
    use spacemesh_runtime_real::post_data::{DEFAULT_LABELS_PER_FILE, PostDataInit};
    let local = PostConfig::sim();
    let n = local.labels_per_unit;
    let atx = Hash32([0x22; 32]);
    let metadata = |node_id| PostMetadata {
        node_id,
        commitment_atx_id: atx,
        num_units: 1,
        labels_per_unit: n,
    };
    // No qualifying label among the data's, nor among the two past them.
    let node = (0u32..)
        .map(|i| {
            let mut id = [0u8; 32];
            id[..4].copy_from_slice(&i.to_le_bytes());
            NodeId(id)
        })
        .find(|&node_id| {
            let c = metadata(node_id).commitment();
            (0..n + 2).all(|i| !verify_vrf_nonce(&c, i, n, &local.scrypt))
        })
        .expect("an unlucky identity");
    let dir = tempfile::tempdir().unwrap();
    let (id, atx_hex) = (hex::encode(node.0), hex::encode(atx.0));
    let init = |data: &std::path::Path| {
        let data = data.to_str().unwrap();
        let args = ["--units", "1", "--node-id", &id, "--commitment-atx", &atx_hex];
        let out = smesh(&[&["post", "init", "--dir", data][..], &args[..]].concat());
        let (text, err) =
            (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{err}");
        assert!(err.contains("none of the 64 labels is below the VRF difficulty"), "{err}");
        assert_eq!(std::fs::metadata(format!("{data}/postdata_0.bin")).unwrap().len(), n * 16);
        text.split("VRF nonce ")
            .nth(1)
            .and_then(|t| t.split(';').next())
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no VRF nonce in: {text}"))
    };
    let nonce = init(&dir.path().join("fresh"));
    assert!(nonce >= n + 2, "{nonce}");
    assert!(verify_vrf_nonce(&metadata(node).commitment(), nonce, n, &local.scrypt));

    let stopped = dir.path().join("stopped");
    let mut data =
        PostDataInit::open(&stopped, metadata(node), local.scrypt, DEFAULT_LABELS_PER_FILE)
            .unwrap();
    data.step(n).unwrap();
    assert_eq!(data.step(1).unwrap().searched, Some(1));
    data.checkpoint().unwrap();
    assert_eq!(init(&stopped), nonce, "the resumed search finds the same nonce");
}

/// A smeshing node initializes its PoST data on disk (in --post-dir) for its own identity and
/// the golden ATX, and `smesh post init` with the same data directory and genesis time finds
/// that data complete: the node and the tool write the same thing in the same place.
#[test]
fn node_initializes_post_data_that_post_init_recognizes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let post = dir.path().join("post");
    let genesis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let (data_s, post_s) = (data.to_str().unwrap(), post.to_str().unwrap());
    let mut node = Command::new(env!("CARGO_BIN_EXE_smesh"))
        .args(["node", "--data-dir", data_s, "--post-dir", post_s, "--genesis-time", &genesis])
        .args(["--listen", "127.0.0.1:0", "--json", "--no-api"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting smesh node");
    // The local preset's one unit is 64 labels: the node writes them within its first tick.
    let state = post.join("postdata_state.bin");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let complete = loop {
        let info = spacemesh_runtime_real::post_data::PostDataInfo::read(&post).ok().flatten();
        if info.as_ref().is_some_and(|i| i.progress().is_complete()) {
            break info;
        }
        if std::time::Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let _ = node.kill();
    let _ = node.wait();
    let info = complete.unwrap_or_else(|| panic!("no complete PoST data in {post_s} after 60 s"));
    assert_eq!(info.progress().total, 64);
    assert!(state.exists());
    let out = smesh(&[
        "post",
        "init",
        "--dir",
        post_s,
        "--data-dir",
        data_s,
        "--genesis-time",
        &genesis,
        "--units",
        "1",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("64 labels") && text.contains("0 labels this run"), "{text}");
}
