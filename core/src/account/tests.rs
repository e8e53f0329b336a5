use super::*;
use crate::codec::decode_exact;
use proptest::prelude::*;

fn sample() -> Address {
    principal(Template::Wallet, &[7; 32])
}

/// Addresses read back from their bech32 text, only under their own network's prefix.
#[test]
fn bech32_round_trip_and_network() {
    let a = sample();
    let text = a.to_bech32(HRP_MAINNET);
    assert!(text.starts_with("sm1"), "{text}");
    assert_eq!(Address::from_bech32(&text, HRP_MAINNET), Ok(a));
    assert_eq!(Address::from_bech32(&text.to_uppercase(), HRP_MAINNET), Ok(a));
    assert!(matches!(
        Address::from_bech32(&text, HRP_TESTNET),
        Err(AddressError::WrongNetwork { .. })
    ));
    let test = a.to_bech32(HRP_TESTNET);
    assert_eq!(Address::from_bech32(&test, HRP_TESTNET), Ok(a));
}

/// A changed character, a wrong length and non-zero reserved bytes are refused.
#[test]
fn bad_text_is_refused() {
    let text = sample().to_bech32(HRP_MAINNET);
    let mut chars: Vec<char> = text.chars().collect();
    let last = chars.len() - 3;
    chars[last] = if chars[last] == 'q' { 'p' } else { 'q' };
    let typo: String = chars.into_iter().collect();
    assert!(matches!(Address::from_bech32(&typo, HRP_MAINNET), Err(AddressError::Bech32(_))));
    let hrp = Hrp::parse(HRP_MAINNET).unwrap();
    let short = bech32::encode::<Bech32>(hrp, &[0u8; 20]).unwrap();
    assert_eq!(Address::from_bech32(&short, HRP_MAINNET), Err(AddressError::WrongLength(20)));
    let reserved = bech32::encode::<Bech32>(hrp, &[1u8; 24]).unwrap();
    assert_eq!(Address::from_bech32(&reserved, HRP_MAINNET), Err(AddressError::Reserved));
    // A bech32m checksum is not a bech32 one.
    let m = bech32::encode::<bech32::Bech32m>(hrp, &sample().0).unwrap();
    assert!(matches!(Address::from_bech32(&m, HRP_MAINNET), Err(AddressError::Bech32(_))));
}

/// Template addresses end in their number; principals keep the reserved bytes zero and depend
/// on both the template and the arguments.
#[test]
fn templates_and_principals() {
    for t in Template::ALL {
        assert_eq!(Template::at(&t.address()), Some(t));
        assert_eq!(t.address().0[23], t as u8);
    }
    assert_eq!(Template::at(&Address::default()), None);
    let a = principal(Template::Wallet, &[1; 32]);
    assert_eq!(&a.0[..4], &[0; 4]);
    assert_ne!(a, principal(Template::Multisig, &[1; 32]));
    assert_ne!(a, principal(Template::Wallet, &[2; 32]));
    let mut h = blake3::Hasher::new();
    h.update(&Template::Wallet.address().0);
    h.update(&[1; 32]);
    assert_eq!(&a.0[4..], &h.finalize().as_bytes()[12..]);
}

proptest! {
    /// Any address with zero reserved bytes survives bech32 and the codec.
    #[test]
    fn any_address_round_trips(tail in proptest::array::uniform20(any::<u8>())) {
        let mut bytes = [0u8; 24];
        bytes[4..].copy_from_slice(&tail);
        let a = Address(bytes);
        prop_assert_eq!(Address::from_bech32(&a.to_bech32(HRP_TESTNET), HRP_TESTNET), Ok(a));
        prop_assert_eq!(decode_exact::<Address>(&a.encode()), Ok(a));
    }
}
