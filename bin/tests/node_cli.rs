//! `smesh node` refuses bad configuration and foreign data directories with messages that say
//! what to fix, before it binds a port or touches the store.

use std::process::Command;

fn smesh(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_smesh")).args(args).output().expect("running smesh")
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A config value that is wrong is named with what is expected; an unknown key is refused.
#[test]
fn bad_config_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("node.toml");
    for (text, needle) in [
        ("[p2p]\nbootstrap = [\"nope\"]\n", "p2p.bootstrap[0]: expected KEY@HOST:PORT"),
        ("[smeshing]\nunits = 99\n", "smeshing.units: 99 is outside"),
        ("[p2p]\nlisen = \"127.0.0.1:1\"\n", "unknown field `lisen`"),
        ("preset = \"testnet\"\n[network]\ngenesis_time = 1\n", "poet.servers"),
    ] {
        std::fs::write(&file, text).unwrap();
        let data = dir.path().join("data");
        let out = smesh(&[
            "node",
            "--config",
            file.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--genesis-time",
            "1700000000",
        ]);
        assert_eq!(out.status.code(), Some(2), "{text}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{text}: {}", stderr(&out));
    }
    let out = smesh(&["node", "--preset", "moonnet"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("the presets are mainnet, testnet, fastnet, local"));
}

/// A data directory that belongs to another network is refused and left as it was.
#[test]
fn foreign_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("genesis_id"), "00".repeat(20)).unwrap();
    let out = smesh(&[
        "node",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--genesis-time",
        "1700000000",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("belongs to network 0000"), "{}", stderr(&out));
    assert!(stderr(&out).contains("use another --data-dir"), "{}", stderr(&out));
    assert!(!dir.path().join("store").exists(), "nothing was created");
}
