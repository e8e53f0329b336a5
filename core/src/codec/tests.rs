use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::types::{Hash32, LayerId};

#[derive(Debug, Clone, PartialEq)]
struct Sample {
    layer: LayerId,
    flag: bool,
    ids: BoundedVec<Hash32, 4>,
    note: Option<BoundedBytes<16>>,
    count: u64,
}
crate::impl_codec_struct!(Sample { layer, flag, ids, note, count });

fn sample() -> Sample {
    Sample {
        layer: LayerId(300),
        flag: true,
        ids: BoundedVec::new(vec![Hash32([1; 32]), Hash32([2; 32])]).unwrap(),
        note: Some(BoundedBytes::new(Bytes::from_static(b"hello")).unwrap()),
        count: 7,
    }
}

/// The compact encoding matches the SCALE reference vectors at every mode boundary.
#[test]
fn compact_reference_vectors() {
    let cases: &[(u64, &[u8])] = &[
        (0, &[0x00]),
        (1, &[0x04]),
        (63, &[0xfc]),
        (64, &[0x01, 0x01]),
        (16383, &[0xfd, 0xff]),
        (16384, &[0x02, 0x00, 0x01, 0x00]),
        (1_073_741_823, &[0xfe, 0xff, 0xff, 0xff]),
        (1_073_741_824, &[0x03, 0x00, 0x00, 0x00, 0x40]),
        (u64::MAX, &[0x13, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    ];
    for (v, enc) in cases {
        let mut out = Vec::new();
        encode_compact(*v, &mut out);
        assert_eq!(&out, enc, "encoding of {v}");
        assert_eq!(compact_len(*v), enc.len());
        assert_eq!(decode_exact::<Compact>(enc), Ok(Compact(*v)));
    }
}

/// A value written in a longer compact mode than needed is rejected, so encodings are unique.
#[test]
fn compact_rejects_non_canonical() {
    assert_eq!(decode_exact::<Compact>(&[0x05, 0x00]), Err(DecodeError::InvalidCompact));
    assert_eq!(
        decode_exact::<Compact>(&[0x06, 0x00, 0x00, 0x00]),
        Err(DecodeError::InvalidCompact)
    );
    assert_eq!(
        decode_exact::<Compact>(&[0x03, 0xff, 0xff, 0xff, 0x00]),
        Err(DecodeError::InvalidCompact)
    );
    // Big-integer mode claiming more than 8 bytes does not fit a u64.
    assert_eq!(
        decode_exact::<Compact>(&[0x17, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        Err(DecodeError::InvalidCompact)
    );
}

/// A struct round-trips and its golden encoding is stable.
#[test]
fn struct_golden_encoding() {
    let enc = sample().encode();
    insta::assert_snapshot!(hex(&enc));
    assert_eq!(decode_exact::<Sample>(&enc), Ok(sample()));
}

/// A declared length above a field's limit is a typed error, before any allocation.
#[test]
fn oversized_lengths_are_typed_errors() {
    let mut enc = Vec::new();
    LayerId(1).encode_to(&mut enc);
    false.encode_to(&mut enc);
    encode_compact(5, &mut enc); // ids: 5 > 4
    let err = decode_exact::<Sample>(&enc).unwrap_err();
    assert!(matches!(err, DecodeError::LengthOverLimit { len: 5, max: 4, .. }), "{err}");

    // A huge declared byte length fails on the limit, not on allocation or end of input.
    let mut enc = Vec::new();
    encode_compact(u64::MAX, &mut enc);
    let err = decode_exact::<BoundedBytes<16>>(&enc).unwrap_err();
    assert_eq!(err, DecodeError::LengthOverLimit { what: "bytes", len: u64::MAX, max: 16 });

    // Within the limit but longer than the input: end of input.
    let err = decode_exact::<BoundedBytes<16>>(&[0x28, 1, 2]).unwrap_err();
    assert_eq!(err, DecodeError::UnexpectedEnd { needed: 10, remaining: 2 });
}

/// Bad tags, bad bools and trailing bytes are typed errors.
#[test]
fn invalid_tags_and_trailing_bytes() {
    assert_eq!(decode_exact::<bool>(&[2]), Err(DecodeError::InvalidValue("bool")));
    assert_eq!(
        decode_exact::<Option<u8>>(&[7, 0]),
        Err(DecodeError::InvalidTag { what: "Option", tag: 7 })
    );
    assert_eq!(decode_exact::<u8>(&[1, 2]), Err(DecodeError::TrailingBytes(1)));
}

/// Byte fields decoded from shared bytes point into the input buffer (no copy).
#[test]
fn shared_decoding_is_zero_copy() {
    let enc = Bytes::from(sample().encode());
    let decoded: Sample = decode_shared(&enc).unwrap();
    let note = decoded.note.unwrap();
    let inner = note.bytes();
    let range = enc.as_ptr() as usize..enc.as_ptr() as usize + enc.len();
    assert!(range.contains(&(inner.as_ptr() as usize)));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

proptest! {
    /// Every u64 round-trips through the compact encoding with the predicted length.
    #[test]
    fn compact_round_trip(v in any::<u64>()) {
        let mut out = Vec::new();
        encode_compact(v, &mut out);
        prop_assert_eq!(out.len(), compact_len(v));
        prop_assert_eq!(decode_exact::<Compact>(&out), Ok(Compact(v)));
    }

    /// Arbitrary bytes never panic the decoder, and whatever decodes re-encodes to the same bytes.
    #[test]
    fn arbitrary_bytes_decode_canonically(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(v) = decode_exact::<Sample>(&bytes) {
            prop_assert_eq!(v.encode(), bytes);
        }
    }

    /// Arbitrary samples round-trip.
    #[test]
    fn sample_round_trip(layer in any::<u32>(), flag in any::<bool>(), n in 0usize..=4,
                         note in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..=16)),
                         count in any::<u64>()) {
        let s = Sample {
            layer: LayerId(layer),
            flag,
            ids: BoundedVec::new((0..n).map(|i| Hash32([i as u8; 32])).collect()).unwrap(),
            note: note.map(|n| BoundedBytes::new(Bytes::from(n)).unwrap()),
            count,
        };
        prop_assert_eq!(decode_exact::<Sample>(&s.encode()), Ok(s));
    }
}
