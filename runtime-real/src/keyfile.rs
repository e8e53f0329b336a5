//! Secret key seeds on disk: 32 bytes as 64 hex digits, readable by the owner only, created from
//! OS randomness on first use and reused afterwards.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// A key file could not be read or written.
#[derive(Debug, Error)]
pub enum KeyFileError {
    /// The file exists but does not hold 64 hex digits.
    #[error(
        "key file {path} is damaged: {what} (it must hold 64 hex digits; restore it from a backup, or move it away to create a new key)"
    )]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The OS could not give randomness for a new key.
    #[error("no OS randomness for a new key in {path}: {error}")]
    Randomness {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: String,
    },
    /// Reading or writing failed.
    #[error("key file {path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
}

/// Reads the seed in `path`, or creates the file with a fresh random seed (mode 0600, written to
/// a temporary file, synced and renamed, so a crash never leaves half a key). Returns the seed
/// and whether it was created now.
pub fn load_or_create(path: &Path) -> Result<([u8; 32], bool), KeyFileError> {
    let io = |error| KeyFileError::Io { path: path.to_owned(), error };
    match fs::read_to_string(path) {
        Ok(text) => parse(path, &text).map(|seed| (seed, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = [0u8; 32];
            crate::random::fill(&mut seed).map_err(|e| KeyFileError::Randomness {
                path: path.to_owned(),
                error: e.to_string(),
            })?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::create_dir_all(dir).map_err(io)?;
            }
            let tmp = path.with_extension("tmp");
            let mut file = owner_only(&tmp).map_err(io)?;
            file.write_all(format!("{}\n", hex(&seed)).as_bytes()).map_err(io)?;
            file.sync_all().map_err(io)?;
            fs::rename(&tmp, path).map_err(io)?;
            Ok((seed, true))
        }
        Err(e) => Err(io(e)),
    }
}

fn parse(path: &Path, text: &str) -> Result<[u8; 32], KeyFileError> {
    let bad = |what: String| KeyFileError::Malformed { path: path.to_owned(), what };
    let text = text.trim();
    if text.len() != 64 {
        return Err(bad(format!("{} characters", text.len())));
    }
    let mut seed = [0u8; 32];
    for (i, byte) in seed.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
            .map_err(|_| bad(format!("not hex at character {}", 2 * i)))?;
    }
    Ok(seed)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(unix)]
fn owner_only(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn owner_only(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new().write(true).create(true).truncate(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key is created once, readable by the owner only, and the same seed comes back.
    #[test]
    fn created_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/identity.key");
        let (a, created) = load_or_create(&path).unwrap();
        assert!(created);
        let (b, created) = load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(a, b);
        assert_ne!(a, [0; 32]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    /// A damaged key file is an error that names the file, never a silent new key.
    #[test]
    fn damaged_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p2p.key");
        fs::write(&path, "abc").unwrap();
        let err = load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("p2p.key") && err.contains("3 characters"), "{err}");
        fs::write(&path, "zz".repeat(32)).unwrap();
        assert!(load_or_create(&path).unwrap_err().to_string().contains("not hex"));
        assert_eq!(fs::read_to_string(&path).unwrap(), "zz".repeat(32), "the file is left alone");
    }
}
