//! Mnemonics and account keys: a BIP39 English mnemonic (12 or 24 words), its seed with an
//! empty passphrase, and account `i`'s ed25519 key at `m/44'/540'/0'/0'/i'` (SLIP-0010), as
//! Spacemesh's wallets derive them, so a mnemonic from smapp or smcli opens the same accounts.

use anyhow::{Context, Result, bail};
use bip39::{Language, Mnemonic};
use spacemesh_core::account::{Address, Template, principal};
use spacemesh_core::tx::{SpawnArgs, TxKey};

use super::slip10::{ExtendedKey, account_path};

/// A new mnemonic of `words` words (12 or 24) from OS randomness.
pub(crate) fn new_mnemonic(words: usize) -> Result<Mnemonic> {
    let len = match words {
        12 => 16,
        24 => 32,
        n => bail!("--words {n}: a mnemonic has 12 or 24 words"),
    };
    let mut entropy = [0u8; 32];
    getrandom::fill(&mut entropy[..len]).context("drawing OS randomness for the mnemonic")?;
    Ok(Mnemonic::from_entropy_in(Language::English, &entropy[..len])?)
}

/// Reads a mnemonic typed by a person: words separated by any whitespace, any case.
pub(crate) fn parse_mnemonic(text: &str) -> Result<Mnemonic> {
    let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
    if !matches!(words.len(), 12 | 24) {
        bail!("a mnemonic has 12 or 24 words; this one has {}", words.len());
    }
    Mnemonic::parse_in(Language::English, words.join(" ")).map_err(|e| {
        anyhow::anyhow!("not a valid English BIP39 mnemonic ({e}); check the spelling and order")
    })
}

/// Account `index`'s secret key seed.
pub(crate) fn account_secret(mnemonic: &Mnemonic, index: u32) -> [u8; 32] {
    let seed = mnemonic.to_seed("");
    ExtendedKey::derive(&seed, &account_path(index)).key
}

/// Account `index`'s signing key.
pub(crate) fn account_key(mnemonic: &Mnemonic, index: u32) -> TxKey {
    TxKey::from_seed(account_secret(mnemonic, index))
}

/// The address of the wallet account of `public_key` (where coins to it go, spawned or not).
pub(crate) fn wallet_address(public_key: &[u8; 32]) -> Address {
    principal(Template::Wallet, &SpawnArgs::Wallet { public_key: *public_key }.encode())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABANDON: &str = "abandon abandon abandon abandon abandon abandon abandon abandon \
                           abandon abandon abandon about";

    /// BIP39's first English test vector: all-zero entropy, and its seed with passphrase
    /// "TREZOR"; and the same mnemonic's seed with the empty passphrase wallets use.
    #[test]
    fn bip39_vector() {
        let m = Mnemonic::from_entropy_in(Language::English, &[0; 16]).unwrap();
        assert_eq!(m.to_string(), ABANDON.split_whitespace().collect::<Vec<_>>().join(" "));
        assert_eq!(
            hex::encode(m.to_seed("TREZOR")),
            "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04"
        );
        assert_eq!(
            hex::encode(m.to_seed("")),
            "5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc19a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4"
        );
    }

    /// Typed mnemonics are read whatever the spacing and case; a wrong word, a wrong checksum
    /// or a wrong length is refused with a message that says so.
    #[test]
    fn parsing_typed_mnemonics() {
        let m = parse_mnemonic(&format!("  {}\n", ABANDON.to_uppercase())).unwrap();
        assert_eq!(m.to_entropy(), vec![0; 16]);
        let bad_checksum = ABANDON.replace("about", "abandon");
        assert!(parse_mnemonic(&bad_checksum).unwrap_err().to_string().contains("not a valid"));
        let bad_word = ABANDON.replace("about", "aboot");
        assert!(parse_mnemonic(&bad_word).is_err());
        assert!(parse_mnemonic("abandon about").unwrap_err().to_string().contains("12 or 24"));
    }

    /// New mnemonics have the asked length, differ from each other, and parse back.
    #[test]
    fn new_mnemonics() {
        let a = new_mnemonic(12).unwrap();
        let b = new_mnemonic(24).unwrap();
        assert_eq!((a.word_count(), b.word_count()), (12, 24));
        assert_ne!(a.to_string(), new_mnemonic(12).unwrap().to_string());
        assert_eq!(parse_mnemonic(&b.to_string()).unwrap(), b);
        assert!(new_mnemonic(15).is_err());
    }

    /// The golden accounts of the "abandon ... about" mnemonic: keys at m/44'/540'/0'/0'/i'
    /// and their wallet addresses on both networks. A change here changes every user's
    /// addresses.
    #[test]
    fn golden_accounts() {
        let m = parse_mnemonic(ABANDON).unwrap();
        let accounts: Vec<_> = (0..2)
            .map(|i| {
                let pk = account_key(&m, i).public_key();
                let a = wallet_address(&pk);
                serde_json::json!({
                    "index": i,
                    "public_key": hex::encode(pk),
                    "testnet": a.to_bech32("stest"),
                    "mainnet": a.to_bech32("sm"),
                })
            })
            .collect();
        insta::assert_json_snapshot!(accounts);
    }
}
