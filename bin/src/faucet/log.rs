//! The faucet's request log: one JSON line per request (time, client IP, address, transaction
//! id, outcome), appended to `requests.jsonl` in the data directory.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// One request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RequestRecord {
    /// Unix seconds.
    pub(crate) time: u64,
    /// The client's IP.
    pub(crate) ip: String,
    /// The address asked for (bech32).
    pub(crate) address: String,
    /// The payment's transaction id.
    pub(crate) tx_id: Option<String>,
    /// `sent`, or why not.
    pub(crate) outcome: String,
}

/// The open log.
#[derive(Debug)]
pub(crate) struct RequestLog {
    file: fs::File,
}

impl RequestLog {
    /// Opens (or creates) the log at `path` for appending.
    pub(crate) fn open(path: &Path) -> Result<RequestLog> {
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening the request log {}", path.display()))?;
        Ok(RequestLog { file })
    }

    /// Appends one record.
    pub(crate) fn append(&mut self, r: &RequestRecord) -> Result<()> {
        let line = serde_json::to_string(r)? + "\n";
        self.file.write_all(line.as_bytes())?;
        Ok(())
    }
}
