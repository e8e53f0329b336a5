//! What a connected peer's bytes go through in the real transport: the frame reader, on raw
//! bytes (almost all fail decryption) and on chunks sealed with the session's key (which reach
//! the framing rules), and the auth message check. Never panics; a frame is never longer than
//! the limit; sealed frames that are read back re-seal to chunks that read back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spacemesh_runtime_real::transport::fuzzing;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let frame_max = 1 + usize::from(mode >> 2) * 64;
    match mode & 3 {
        0 => {
            let _ = fuzzing::read_raw(rest, frame_max);
        }
        1 => {
            // Chunks separated by 0xff bytes (a chunk may be empty).
            let chunks: Vec<&[u8]> = rest.split(|b| *b == 0xff).collect();
            let (frames, _) = fuzzing::read_sealed(&chunks, frame_max);
            // Re-framed as one header chunk per frame, every frame reads back the same.
            let wire: Vec<Vec<u8>> = frames
                .iter()
                .map(|f| [&(f.len() as u32).to_be_bytes()[..], f].concat())
                .collect();
            let refs: Vec<&[u8]> = wire.iter().map(Vec::as_slice).collect();
            let (again, _) = fuzzing::read_sealed(&refs, frame_max);
            assert_eq!(again, frames);
        }
        _ => {
            let (auth, hash) = rest.split_at(rest.len().min(98));
            let _ = fuzzing::check_auth(auth, hash);
        }
    }
});
