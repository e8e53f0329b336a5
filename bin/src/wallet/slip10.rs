//! SLIP-0010 key derivation for ed25519: a master key from a seed, then hardened children only
//! (ed25519 has no public derivation). Spacemesh wallets (smapp, smcli) derive account `i` at
//! `m/44'/540'/0'/0'/i'` from the BIP39 seed with an empty passphrase.

use hmac::{Hmac, Mac};
use sha2::Sha512;

/// The HMAC key of the master key for ed25519 (SLIP-0010, "Master key generation").
const CURVE_KEY: &[u8] = b"ed25519 seed";
/// Indexes at or above this are hardened.
pub(crate) const HARDENED: u32 = 0x8000_0000;
/// BIP44 purpose.
const PURPOSE: u32 = 44;
/// Spacemesh's SLIP-0044 coin type.
pub(crate) const COIN_TYPE: u32 = 540;

/// A private key and its chain code.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ExtendedKey {
    /// The ed25519 secret seed.
    pub(crate) key: [u8; 32],
    /// The chain code.
    pub(crate) chain_code: [u8; 32],
}

impl std::fmt::Debug for ExtendedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.write_str("ExtendedKey(..)")
    }
}

fn hmac_sha512(key: &[u8], parts: &[&[u8]]) -> ExtendedKey {
    let mut mac = Hmac::<Sha512>::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        mac.update(p);
    }
    let out = mac.finalize().into_bytes();
    let mut k = ExtendedKey { key: [0; 32], chain_code: [0; 32] };
    k.key.copy_from_slice(&out[..32]);
    k.chain_code.copy_from_slice(&out[32..]);
    k
}

impl ExtendedKey {
    /// The master key of `seed`.
    pub(crate) fn master(seed: &[u8]) -> ExtendedKey {
        hmac_sha512(CURVE_KEY, &[seed])
    }

    /// The hardened child `index` (the hardened bit is set here; `index` must be below it).
    pub(crate) fn child(&self, index: u32) -> ExtendedKey {
        assert!(index < HARDENED, "child index {index} already has the hardened bit");
        let i = (index | HARDENED).to_be_bytes();
        hmac_sha512(&self.chain_code, &[&[0u8], &self.key, &i])
    }

    /// The key at `path` (hardened indexes without their bit) below the master key of `seed`.
    pub(crate) fn derive(seed: &[u8], path: &[u32]) -> ExtendedKey {
        path.iter().fold(ExtendedKey::master(seed), |k, i| k.child(*i))
    }
}

/// The path of Spacemesh wallet account `index`: m/44'/540'/0'/0'/index'.
pub(crate) fn account_path(index: u32) -> [u32; 5] {
    [PURPOSE, COIN_TYPE, 0, 0, index]
}

/// The path as text, for display.
pub(crate) fn path_text(path: &[u32]) -> String {
    let mut s = String::from("m");
    for i in path {
        s.push_str(&format!("/{i}'"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s).expect("test vectors are hex")
    }

    fn check(seed: &str, vectors: &[(&[u32], &str, &str, &str)]) {
        for (path, chain, private, public) in vectors {
            let k = ExtendedKey::derive(&unhex(seed), path);
            assert_eq!(hex::encode(k.chain_code), *chain, "chain code at {}", path_text(path));
            assert_eq!(hex::encode(k.key), *private, "private key at {}", path_text(path));
            // SLIP-0010 prints ed25519 public keys with a 0x00 prefix.
            let pk = ed25519_dalek::SigningKey::from_bytes(&k.key).verifying_key().to_bytes();
            assert_eq!(format!("00{}", hex::encode(pk)), *public, "public at {}", path_text(path));
        }
    }

    /// SLIP-0010's published "Test vector 1 for ed25519", every level of the chain.
    #[test]
    fn slip10_ed25519_vector_1() {
        check(
            "000102030405060708090a0b0c0d0e0f",
            &[
                (
                    &[],
                    "90046a93de5380a72b5e45010748567d5ea02bbf6522f979e05c0d8d8ca9fffb",
                    "2b4be7f19ee27bbf30c667b642d5f4aa69fd169872f8fc3059c08ebae2eb19e7",
                    "00a4b2856bfec510abab89753fac1ac0e1112364e7d250545963f135f2a33188ed",
                ),
                (
                    &[0],
                    "8b59aa11380b624e81507a27fedda59fea6d0b779a778918a2fd3590e16e9c69",
                    "68e0fe46dfb67e368c75379acec591dad19df3cde26e63b93a8e704f1dade7a3",
                    "008c8a13df77a28f3445213a0f432fde644acaa215fc72dcdf300d5efaa85d350c",
                ),
                (
                    &[0, 1],
                    "a320425f77d1b5c2505a6b1b27382b37368ee640e3557c315416801243552f14",
                    "b1d0bad404bf35da785a64ca1ac54b2617211d2777696fbffaf208f746ae84f2",
                    "001932a5270f335bed617d5b935c80aedb1a35bd9fc1e31acafd5372c30f5c1187",
                ),
                (
                    &[0, 1, 2],
                    "2e69929e00b5ab250f49c3fb1c12f252de4fed2c1db88387094a0f8c4c9ccd6c",
                    "92a5b23c0b8a99e37d07df3fb9966917f5d06e02ddbd909c7e184371463e9fc9",
                    "00ae98736566d30ed0e9d2f4486a64bc95740d89c7db33f52121f8ea8f76ff0fc1",
                ),
                (
                    &[0, 1, 2, 2],
                    "8f6d87f93d750e0efccda017d662a1b31a266e4a6f5993b15f5c1f07f74dd5cc",
                    "30d1dc7e5fc04c31219ab25a27ae00b50f6fd66622f6e9c913253d6511d1e662",
                    "008abae2d66361c879b900d204ad2cc4984fa2aa344dd7ddc46007329ac76c429c",
                ),
                (
                    &[0, 1, 2, 2, 1_000_000_000],
                    "68789923a0cac2cd5a29172a475fe9e0fb14cd6adb5ad98a3fa70333e7afa230",
                    "8f94d394a8e8fd6b1bc2f3f49f5c47e385281d5c17e65324b0f62483e37e8793",
                    "003c24da049451555d51a7014a37337aa4e12d41e485abccfa46b47dfb2af54b7a",
                ),
            ],
        );
    }

    /// SLIP-0010's published "Test vector 2 for ed25519" (a 64-byte seed, indexes up to
    /// 2^31 - 1).
    #[test]
    fn slip10_ed25519_vector_2() {
        check(
            "fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a29f9c999693908d8a8784817e7b7875726f6c696663605d5a5754514e4b484542",
            &[
                (
                    &[],
                    "ef70a74db9c3a5af931b5fe73ed8e1a53464133654fd55e7a66f8570b8e33c3b",
                    "171cb88b1b3c1db25add599712e36245d75bc65a1a5c9e18d76f9f2b1eab4012",
                    "008fe9693f8fa62a4305a140b9764c5ee01e455963744fe18204b4fb948249308a",
                ),
                (
                    &[0, 2_147_483_647],
                    "138f0b2551bcafeca6ff2aa88ba8ed0ed8de070841f0c4ef0165df8181eaad7f",
                    "ea4f5bfe8694d8bb74b7b59404632fd5968b774ed545e810de9c32a4fb4192f4",
                    "005ba3b9ac6e90e83effcd25ac4e58a1365a9e35a3d3ae5eb07b9e4d90bcf7506d",
                ),
                (
                    &[0, 2_147_483_647, 1, 2_147_483_646, 2],
                    "5d70af781f3a37b829f0d060924d5e960bdc02e85423494afc0b1a41bbe196d4",
                    "551d333177df541ad876a60ea71f00447931c0a9da16f227c11ea080d7391b8d",
                    "0047150c75db263559a70d5778bf36abbab30fb061ad69f69ece61a72b0cfa4fc0",
                ),
            ],
        );
    }

    /// The Spacemesh account path is the BIP44 shape with coin type 540, all hardened.
    #[test]
    fn spacemesh_path() {
        assert_eq!(path_text(&account_path(3)), "m/44'/540'/0'/0'/3'");
    }
}
