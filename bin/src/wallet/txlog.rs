//! The wallet's log of the transactions it sent: JSON lines in `<wallet file>.txs.jsonl`,
//! appended before `send` returns, read by `smesh wallet list`.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// One sent transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SentTx {
    /// Unix seconds when it was sent.
    pub(crate) time: u64,
    /// The id (hex).
    pub(crate) id: String,
    /// What it does (`spend`, `spawn`, `spawn-multisig`, ...).
    pub(crate) kind: String,
    /// The paying account (bech32).
    pub(crate) principal: String,
    /// Its nonce.
    pub(crate) nonce: u64,
    /// The receiver or the account spawned (bech32), if any.
    pub(crate) to: Option<String>,
    /// Smidge moved.
    pub(crate) amount: u64,
    /// Whether the node took it.
    pub(crate) accepted: bool,
    /// The node's reason when not.
    pub(crate) reason: Option<String>,
}

/// The log beside the wallet file at `wallet`.
pub(crate) fn log_path(wallet: &Path) -> PathBuf {
    let mut name = wallet.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".txs.jsonl");
    wallet.with_file_name(name)
}

/// Appends `tx` (synced) to the log of the wallet at `wallet`.
pub(crate) fn append(wallet: &Path, tx: &SentTx) -> Result<()> {
    let path = log_path(wallet);
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening the transaction log {}", path.display()))?;
    let line = serde_json::to_string(tx)? + "\n";
    file.write_all(line.as_bytes())
        .and_then(|()| file.sync_data())
        .with_context(|| format!("writing the transaction log {}", path.display()))
}

/// Every transaction in the log, oldest first (none when there is no log yet).
pub(crate) fn read(wallet: &Path) -> Result<Vec<SentTx>> {
    let path = log_path(wallet);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| {
                format!("{} line {} is not a logged transaction", path.display(), i + 1)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Logged transactions read back in order, beside the wallet file; a damaged line is an
    /// error naming the line.
    #[test]
    fn appends_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let wallet = dir.path().join("w.json");
        assert!(read(&wallet).unwrap().is_empty());
        let tx = |nonce| SentTx {
            time: 1,
            id: format!("{nonce:064x}"),
            kind: "spend".into(),
            principal: "stest1x".into(),
            nonce,
            to: None,
            amount: 5,
            accepted: true,
            reason: None,
        };
        append(&wallet, &tx(1)).unwrap();
        append(&wallet, &tx(2)).unwrap();
        assert_eq!(read(&wallet).unwrap(), vec![tx(1), tx(2)]);
        assert_eq!(log_path(&wallet), dir.path().join("w.json.txs.jsonl"));
        fs::write(log_path(&wallet), "{}\n").unwrap();
        assert!(read(&wallet).unwrap_err().to_string().contains("line 1"));
    }
}
