//! The wallet file: JSON with the mnemonic and the accounts derived from it, readable by its
//! owner only. It is created new (an existing file is replaced only when asked, and then
//! atomically), and a file whose permissions let anyone else read or write it is refused.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use bip39::Mnemonic;
use serde::{Deserialize, Serialize};

use super::keys::{account_key, parse_mnemonic};
use super::slip10::{account_path, path_text};

/// The format marker of this file layout.
const FORMAT: &str = "smesh-wallet/1";

/// One derived account, as stored (public parts only; keys come from the mnemonic).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredAccount {
    /// Index `i` of the path.
    pub(crate) index: u32,
    /// The derivation path, `m/44'/540'/0'/0'/i'`.
    pub(crate) path: String,
    /// The ed25519 public key (hex).
    pub(crate) public_key: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    format: String,
    mnemonic: String,
    accounts: Vec<StoredAccount>,
}

/// A loaded wallet.
pub(crate) struct Wallet {
    /// The mnemonic.
    pub(crate) mnemonic: Mnemonic,
    /// Its accounts.
    pub(crate) accounts: Vec<StoredAccount>,
    /// The file it came from.
    pub(crate) path: PathBuf,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the mnemonic.
        write!(f, "Wallet({}, {} accounts)", self.path.display(), self.accounts.len())
    }
}

/// The accounts `0..count` of `mnemonic`.
pub(crate) fn derive_accounts(mnemonic: &Mnemonic, count: u32) -> Vec<StoredAccount> {
    (0..count)
        .map(|index| StoredAccount {
            index,
            path: path_text(&account_path(index)),
            public_key: hex::encode(account_key(mnemonic, index).public_key()),
        })
        .collect()
}

impl Wallet {
    /// A wallet of `mnemonic` with its first `count` accounts, to be saved at `path`.
    pub(crate) fn new(mnemonic: Mnemonic, count: u32, path: PathBuf) -> Wallet {
        Wallet { accounts: derive_accounts(&mnemonic, count), mnemonic, path }
    }

    /// Writes the file with mode 0600: a new file, or, with `force`, a replacement written to
    /// a temporary file and renamed over the old one.
    pub(crate) fn save(&self, force: bool) -> Result<()> {
        let stored = Stored {
            format: FORMAT.into(),
            mnemonic: self.mnemonic.to_string(),
            accounts: self.accounts.clone(),
        };
        let text = serde_json::to_string_pretty(&stored)? + "\n";
        let path = &self.path;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        if path.exists() && !force {
            bail!(
                "{} already exists; it may hold the only copy of a mnemonic, so it is not \
                 overwritten (pass --force to replace it, or choose another --file)",
                path.display()
            );
        }
        let target = if force { path.with_extension("tmp") } else { path.clone() };
        let mut file =
            create_owner_only(&target).with_context(|| format!("creating {}", target.display()))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("writing {}", target.display()))?;
        if force {
            fs::rename(&target, path)
                .with_context(|| format!("replacing {} with the new wallet", path.display()))?;
        }
        Ok(())
    }

    /// Reads the wallet at `path`, refusing a file others may read and one whose accounts do
    /// not derive from its mnemonic.
    pub(crate) fn load(path: &Path) -> Result<Wallet> {
        check_owner_only(path)?;
        let text = fs::read_to_string(path)
            .with_context(|| format!("reading wallet file {}", path.display()))?;
        let stored: Stored = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a smesh wallet file", path.display()))?;
        if stored.format != FORMAT {
            bail!(
                "{}: unknown wallet format {:?} (expected {FORMAT})",
                path.display(),
                stored.format
            );
        }
        let mnemonic = parse_mnemonic(&stored.mnemonic)
            .with_context(|| format!("the mnemonic in {}", path.display()))?;
        let count = u32::try_from(stored.accounts.len()).context("too many accounts")?;
        if stored.accounts != derive_accounts(&mnemonic, count) {
            bail!(
                "{}: the accounts listed do not derive from the mnemonic (the file was edited or \
                 damaged); recover it with `smesh wallet recover --force` from the mnemonic",
                path.display()
            );
        }
        Ok(Wallet { mnemonic, accounts: stored.accounts, path: path.to_owned() })
    }
}

#[cfg(unix)]
fn create_owner_only(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).or_else(|e| {
        // A stale temporary file of an interrupted replacement: start it again.
        if e.kind() == std::io::ErrorKind::AlreadyExists
            && path.extension().is_some_and(|x| x == "tmp")
        {
            fs::remove_file(path)?;
            fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
        } else {
            Err(e)
        }
    })
}

#[cfg(not(unix))]
fn create_owner_only(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new().write(true).create_new(true).open(path)
}

/// Refuses a file that others may read or write.
#[cfg(unix)]
pub(crate) fn check_owner_only(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta =
        fs::metadata(path).with_context(|| format!("reading wallet file {}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "{} has permissions {mode:04o}: others may read the mnemonic in it. Make it readable \
             by its owner only (`chmod 600 {}`), and if others could read it, move the coins to a \
             new wallet",
            path.display(),
            path.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn check_owner_only(_path: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bip39::Language;

    fn mnemonic(byte: u8) -> Mnemonic {
        Mnemonic::from_entropy_in(Language::English, &[byte; 16]).unwrap()
    }

    /// A saved wallet is mode 0600 and loads back with the same mnemonic and accounts.
    #[cfg(unix)]
    #[test]
    fn saved_owner_only_and_loads_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/w.json");
        Wallet::new(mnemonic(1), 2, path.clone()).save(false).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let w = Wallet::load(&path).unwrap();
        assert_eq!(w.mnemonic, mnemonic(1));
        assert_eq!(w.accounts.len(), 2);
        assert_eq!(w.accounts[1].path, "m/44'/540'/0'/0'/1'");
    }

    /// An existing wallet is never overwritten without force; with force it is replaced
    /// (still 0600, no temporary file left).
    #[cfg(unix)]
    #[test]
    fn overwrite_needs_force() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.json");
        Wallet::new(mnemonic(1), 1, path.clone()).save(false).unwrap();
        let err = Wallet::new(mnemonic(2), 1, path.clone()).save(false).unwrap_err();
        assert!(err.to_string().contains("--force"), "{err}");
        assert_eq!(Wallet::load(&path).unwrap().mnemonic, mnemonic(1), "the old one is intact");
        Wallet::new(mnemonic(2), 1, path.clone()).save(true).unwrap();
        assert_eq!(Wallet::load(&path).unwrap().mnemonic, mnemonic(2));
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(!path.with_extension("tmp").exists());
    }

    /// A wallet readable by the group or others is refused with the command that fixes it;
    /// once fixed it loads.
    #[cfg(unix)]
    #[test]
    fn wider_permissions_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.json");
        Wallet::new(mnemonic(3), 1, path.clone()).save(false).unwrap();
        for mode in [0o644, 0o640, 0o604, 0o620] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            let err = Wallet::load(&path).unwrap_err().to_string();
            assert!(err.contains("chmod 600") && err.contains(&format!("{mode:04o}")), "{err}");
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        assert!(Wallet::load(&path).is_ok(), "read-only for the owner is fine");
    }

    /// Accounts that do not derive from the stored mnemonic are refused.
    #[cfg(unix)]
    #[test]
    fn edited_accounts_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.json");
        Wallet::new(mnemonic(4), 1, path.clone()).save(false).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let other = derive_accounts(&mnemonic(5), 1)[0].public_key.clone();
        let edited = text.replace(&derive_accounts(&mnemonic(4), 1)[0].public_key, &other);
        fs::write(&path, edited).unwrap();
        assert!(Wallet::load(&path).unwrap_err().to_string().contains("do not derive"));
    }
}
