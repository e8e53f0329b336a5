//! The mesh's stored values, read back from a disk that may be damaged: layer records and
//! accounts. Never panics; what decodes re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spacemesh_core::codec::{Encode, decode_exact};
use spacemesh_core::mesh::LayerRecord;
use spacemesh_core::state::Account;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = decode_exact::<LayerRecord>(data) {
        assert_eq!(record.encode(), data);
    }
    if let Ok(account) = decode_exact::<Account>(data) {
        assert_eq!(account.encode(), data);
    }
});
