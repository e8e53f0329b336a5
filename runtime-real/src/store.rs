//! The node store on disk (fjall): one atomic, durable batch per `Persist`, checked on load.
//!
//! # Layout of a store directory
//!
//! - `FORMAT`: the format marker, one line `smesh-node-store <version>`. It is written last when
//!   a store is created, so a directory that has files but no marker is refused (a foreign
//!   directory, or a first start that was interrupted: remove it and start again).
//! - `db/`: a fjall database with two keyspaces. `meta` holds one record, `format`, whose
//!   value is the marker line again: a database whose journal lost everything reads as damaged,
//!   never as a fresh, empty store. `records` holds the node's records: the key as the node
//!   gave it, the value prefixed with an 8-byte checksum, the first 8 bytes of
//!   `blake3(key length as u32 LE ‖ key ‖ value)`.
//!
//! # Durability and damage
//!
//! [`NodeStore::persist`] writes a [`Batch`] as one fjall write batch and syncs the journal
//! (`PersistMode::SyncAll`) before it returns: after `Ok`, the batch survives a crash, and a
//! crash during the call leaves either all of the batch or none of it.
//!
//! fjall recovers its journal on open. A batch whose end marker is missing (the torn last write
//! of a crash) is dropped by design: that is the case of writes that were never acknowledged,
//! and everything persisted before survives. A complete batch whose content does not match
//! its checksum, a damaged table file and a record whose own checksum fails are errors
//! ([`StoreError::Damaged`], [`StoreError::Corrupt`]): the store never resets itself, and
//! opening or loading does not modify the records.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use spacemesh_core::store::{Batch, Snapshot};
use thiserror::Error;

/// Name in the format marker.
pub const FORMAT_NAME: &str = "smesh-node-store";
/// Version of the on-disk format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// File name of the format marker inside a store directory.
pub const MARKER_FILE: &str = "FORMAT";
/// Directory of the fjall database inside a store directory.
pub const DB_DIR: &str = "db";

const META_KEYSPACE: &str = "meta";
const RECORDS_KEYSPACE: &str = "records";
const FORMAT_KEY: &[u8] = b"format";
const CHECKSUM_LEN: usize = 8;

/// Why the store cannot be opened, read or written.
#[derive(Debug, Error)]
pub enum StoreError {
    /// A file system operation failed.
    #[error("store {path}: {action}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The directory holds files but no format marker: it is not a node store.
    #[error(
        "{path} is not empty and has no {MARKER_FILE} marker, so it is not a smesh node store \
         (or its first start was interrupted); choose an empty or new directory, or remove this \
         one if it holds nothing of value; nothing was modified"
    )]
    NotAStore {
        /// The directory.
        path: PathBuf,
    },
    /// The format marker names another format.
    #[error(
        "{path} holds a store of format {found:?}, not {FORMAT_NAME}; use another directory; \
         nothing was modified"
    )]
    ForeignFormat {
        /// The marker file.
        path: PathBuf,
        /// Its first line.
        found: String,
    },
    /// The store was written by a newer build.
    #[error(
        "{path} holds {FORMAT_NAME} version {found}, newer than version {FORMAT_VERSION} this \
         build reads; run a newer smesh; nothing was modified"
    )]
    NewerFormat {
        /// The marker file.
        path: PathBuf,
        /// The version it names.
        found: u32,
    },
    /// Another process has the database open.
    #[error("{path} is in use by another process; stop it first")]
    Locked {
        /// The database directory.
        path: PathBuf,
    },
    /// fjall found its files damaged (journal, tables or manifest) or the format record is
    /// missing.
    #[error(
        "store {path} is damaged: {detail}; the store was not modified; restore it from a backup \
         or remove the directory to start over"
    )]
    Damaged {
        /// The database directory.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A record does not match its checksum.
    #[error(
        "store {path} is corrupt: record {key_hex}: {what}; the store was not modified; restore \
         it from a backup or remove the directory to start over"
    )]
    Corrupt {
        /// The database directory.
        path: PathBuf,
        /// The record's key, hex.
        key_hex: String,
        /// What is wrong with it.
        what: String,
    },
    /// fjall refused an operation for another reason (for example a failed write earlier,
    /// after which it accepts no more).
    #[error("store {path}: {action} failed: {source}; the batch was not acknowledged")]
    Engine {
        /// The database directory.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// fjall's error.
        source: fjall::Error,
    },
}

fn marker_line() -> String {
    format!("{FORMAT_NAME} {FORMAT_VERSION}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The checksum stored in front of every value.
fn checksum(key: &[u8], value: &[u8]) -> [u8; CHECKSUM_LEN] {
    let mut h = blake3::Hasher::new();
    h.update(&(key.len() as u32).to_le_bytes());
    h.update(key);
    h.update(value);
    let mut out = [0u8; CHECKSUM_LEN];
    out.copy_from_slice(&h.finalize().as_bytes()[..CHECKSUM_LEN]);
    out
}

/// A stored value: checksum then value.
fn seal(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(CHECKSUM_LEN + value.len());
    out.extend_from_slice(&checksum(key, value));
    out.extend_from_slice(value);
    out
}

/// The value of a stored record, or what is wrong with it.
fn unseal<'a>(key: &[u8], stored: &'a [u8]) -> Result<&'a [u8], String> {
    if stored.len() < CHECKSUM_LEN {
        return Err(format!(
            "stored value is {} bytes, shorter than its {CHECKSUM_LEN}-byte checksum",
            stored.len()
        ));
    }
    let (sum, value) = stored.split_at(CHECKSUM_LEN);
    if sum != checksum(key, value) {
        return Err(format!("checksum mismatch over a {}-byte value", value.len()));
    }
    Ok(value)
}

/// Maps a fjall error to a store error that says what to do.
fn engine_error(path: &Path, action: &'static str, e: fjall::Error) -> StoreError {
    let path = path.to_path_buf();
    match e {
        fjall::Error::Locked => StoreError::Locked { path },
        fjall::Error::Io(source) => StoreError::Io { path, action, source },
        fjall::Error::Storage(_)
        | fjall::Error::JournalRecovery(_)
        | fjall::Error::InvalidVersion(_)
        | fjall::Error::Decompress(_)
        | fjall::Error::InvalidTrailer
        | fjall::Error::InvalidTag(_)
        | fjall::Error::Unrecoverable => {
            StoreError::Damaged { path, detail: format!("{action}: {e:?}") }
        }
        other => StoreError::Engine { path, action, source: other },
    }
}

/// A node's records on disk.
pub struct NodeStore {
    dir: PathBuf,
    db_path: PathBuf,
    db: Database,
    records: Keyspace,
}

impl fmt::Debug for NodeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeStore").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl NodeStore {
    /// Opens the store in `dir`, creating the directory and an empty store when `dir` does not
    /// exist or is empty. An existing store must carry this format's marker with a version
    /// this build reads.
    pub fn open(dir: &Path) -> Result<NodeStore, StoreError> {
        let io = |path: &Path, action: &'static str| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { path, action, source }
        };
        let marker = dir.join(MARKER_FILE);
        let db_path = dir.join(DB_DIR);
        let fresh = match std::fs::read_dir(dir) {
            Ok(mut entries) => entries.next().is_none(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir).map_err(io(dir, "create the directory"))?;
                true
            }
            Err(e) => return Err(io(dir, "read the directory")(e)),
        };
        if !fresh {
            check_marker(dir, &marker)?;
        }
        let db = Database::builder(&db_path)
            .journal_compression(fjall::CompressionType::None)
            .open()
            .map_err(|e| engine_error(&db_path, "open the database", e))?;
        let open_keyspace = |name: &str| {
            db.keyspace(name, KeyspaceCreateOptions::default)
                .map_err(|e| engine_error(&db_path, "open a keyspace", e))
        };
        let meta = open_keyspace(META_KEYSPACE)?;
        let records = open_keyspace(RECORDS_KEYSPACE)?;
        let line = marker_line();
        if fresh {
            let mut batch = db.batch().durability(Some(PersistMode::SyncAll));
            batch.insert(&meta, FORMAT_KEY, line.as_bytes());
            batch.commit().map_err(|e| engine_error(&db_path, "write the format record", e))?;
            write_marker(dir, &marker, &line)?;
        } else {
            let found = meta
                .get(FORMAT_KEY)
                .map_err(|e| engine_error(&db_path, "read the format record", e))?;
            if found.as_deref() != Some(line.as_bytes()) {
                let detail = match found {
                    None => "the format record is missing (the journal lost its content)".into(),
                    Some(v) => {
                        format!("the format record reads {:?}", String::from_utf8_lossy(&v))
                    }
                };
                return Err(StoreError::Damaged { path: db_path, detail });
            }
        }
        Ok(NodeStore { dir: dir.to_path_buf(), db_path, db, records })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every record, each checked against its checksum.
    pub fn load(&self) -> Result<Snapshot, StoreError> {
        let mut snapshot = Snapshot::new();
        for guard in self.records.iter() {
            let (key, stored) = guard
                .into_inner()
                .map_err(|e| engine_error(&self.db_path, "read the records", e))?;
            let value = unseal(&key, &stored).map_err(|what| StoreError::Corrupt {
                path: self.db_path.clone(),
                key_hex: hex(&key),
                what,
            })?;
            snapshot.insert(key.to_vec(), value.to_vec());
        }
        Ok(snapshot)
    }

    /// Writes `batch` atomically and makes it durable before returning. Operations on the same
    /// key apply in order (the last one wins), as [`Batch::apply_to`] does.
    pub fn persist(&self, batch: &Batch) -> Result<(), StoreError> {
        // One fjall batch gives all its writes one sequence number, so several writes to one
        // key would be ambiguous: keep the last write of each key.
        let mut last: BTreeMap<&[u8], Option<&[u8]>> = BTreeMap::new();
        for op in &batch.ops {
            last.insert(&op.key[..], op.value.as_ref().map(|v| &v[..]));
        }
        if last.is_empty() {
            return Ok(());
        }
        let mut write = self.db.batch().durability(Some(PersistMode::SyncAll));
        for (key, value) in last {
            match value {
                Some(v) => write.insert(&self.records, key, seal(key, v)),
                None => write.remove(&self.records, key),
            }
        }
        write.commit().map_err(|e| engine_error(&self.db_path, "persist a batch", e))
    }
}

/// Checks the marker of a non-empty store directory.
fn check_marker(dir: &Path, marker: &Path) -> Result<(), StoreError> {
    let text = match std::fs::read_to_string(marker) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(StoreError::NotAStore { path: dir.to_path_buf() });
        }
        Err(source) => {
            return Err(StoreError::Io {
                path: marker.to_path_buf(),
                action: "read the format marker",
                source,
            });
        }
    };
    let line = text.lines().next().unwrap_or("").trim();
    let foreign = || StoreError::ForeignFormat { path: marker.to_path_buf(), found: line.into() };
    let mut words = line.split(' ');
    if words.next() != Some(FORMAT_NAME) {
        return Err(foreign());
    }
    let version: u32 = words.next().and_then(|v| v.parse().ok()).ok_or_else(foreign)?;
    if words.next().is_some() {
        return Err(foreign());
    }
    if version > FORMAT_VERSION {
        return Err(StoreError::NewerFormat { path: marker.to_path_buf(), found: version });
    }
    if version < FORMAT_VERSION {
        // Version 1 is the first; an older one does not exist.
        return Err(foreign());
    }
    Ok(())
}

/// Writes the marker durably: a temporary file, synced, renamed, and the directory synced.
fn write_marker(dir: &Path, marker: &Path, line: &str) -> Result<(), StoreError> {
    let tmp = dir.join(format!("{MARKER_FILE}.tmp"));
    let err = |path: &Path, action: &'static str| {
        let path = path.to_path_buf();
        move |source| StoreError::Io { path, action, source }
    };
    let mut file = std::fs::File::create(&tmp).map_err(err(&tmp, "create the format marker"))?;
    file.write_all(format!("{line}\n").as_bytes()).map_err(err(&tmp, "write the format marker"))?;
    file.sync_all().map_err(err(&tmp, "sync the format marker"))?;
    std::fs::rename(&tmp, marker).map_err(err(marker, "rename the format marker"))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(err(dir, "sync the store directory"))?;
    Ok(())
}

#[cfg(test)]
mod tests;
