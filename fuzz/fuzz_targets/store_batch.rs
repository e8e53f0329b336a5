//! Persisted batches read back from disk.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spacemesh_core::codec::{Encode, decode_exact};
use spacemesh_core::store::{Batch, Snapshot};

fuzz_target!(|data: &[u8]| {
    if let Ok(batch) = decode_exact::<Batch>(data) {
        assert_eq!(batch.encode(), data, "decoding must be canonical");
        batch.apply_to(&mut Snapshot::new());
    }
});
