//! The one-way dependency rule: `core` and `sim` never depend on an async runtime.

use std::process::Command;

fn tree(package: &str) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--offline", "-e", "normal,build", "--prefix", "none", "-p", package])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("running cargo tree");
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Neither core nor sim pulls in tokio or futures, directly or transitively.
#[test]
fn core_and_sim_have_no_async_runtime() {
    for package in ["spacemesh-core", "spacemesh-sim"] {
        let deps = tree(package);
        assert!(deps.lines().count() > 1, "{package}: cargo tree printed nothing useful:\n{deps}");
        for line in deps.lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            assert!(
                !(name.starts_with("tokio")
                    || name.starts_with("futures")
                    || name == "async-std"
                    || name == "madsim"),
                "{package} depends on {name}: core and sim must stay free of async runtimes"
            );
        }
    }
}
