//! Write-ahead log segments recovered after a crash: torn, corrupt or arbitrary bytes give a
//! snapshot or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spacemesh_runtime_sim::read_log;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let (a, b) = data.split_at(split);
    let _ = read_log([("wal/0", a), ("wal/1", b)].into_iter());
});
