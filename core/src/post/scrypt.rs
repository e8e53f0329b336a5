//! scrypt-jane as Spacemesh builds it: the ChaCha20/8 mix and PBKDF2-HMAC over the original
//! Keccak-512 (proofs.md section 1.2). This is not RFC 7914 scrypt, which mixes with Salsa20/8 and
//! hashes with SHA-256, so the two give different outputs for the same inputs.
//!
//! The algorithm:
//! 1. `B = PBKDF2-HMAC-Keccak512(password, salt, 1 iteration, 128·r·p bytes)`. The HMAC block is
//!    the Keccak-512 rate, 72 bytes.
//! 2. Each of the `p` chunks of `B` goes through ROMix with `N` chunks of scratch. A chunk is `2r`
//!    blocks of sixteen little-endian u32 words; the block function is ChaCha20/8 with the
//!    feed-forward addition; BlockMix puts even outputs in the first half and odd outputs in the
//!    second; Integerify is the first word of the last block, masked with `N − 1`.
//! 3. `out = PBKDF2-HMAC-Keccak512(password, B, 1 iteration, out.len())`.
//!
//! [`Scrypt`] owns the scratch memory (`128·r·N` bytes) so that computing many labels allocates
//! nothing after the first.

use sha3::{Digest, Keccak512};

use super::label::ScryptParams;

/// Words in one 64-byte block.
const BLOCK_WORDS: usize = 16;
/// Bytes in one 64-byte block.
const BLOCK_BYTES: usize = 64;
/// The HMAC block size: the Keccak-512 rate in bytes.
const HMAC_BLOCK: usize = 72;
/// Bytes in one Keccak-512 digest.
const DIGEST_BYTES: usize = 64;

type Block = [u32; BLOCK_WORDS];

/// Independent computations of the four-lane path.
pub const LANES: usize = 4;
/// One word of four lanes.
type W = [u32; LANES];
/// One block of four lanes, word-major.
type Block4 = [W; BLOCK_WORDS];
/// One r = 1 chunk (two blocks) of four lanes.
type Chunk4 = [Block4; 2];

/// One scrypt-jane instance with reusable scratch memory.
#[derive(Clone)]
pub struct Scrypt {
    params: ScryptParams,
    /// `N` chunks of `2r` blocks each.
    v: Vec<Block>,
    /// Two working chunks of `2r` blocks each (X, then Y).
    xy: Vec<Block>,
    /// The PBKDF2 output `B`: `p` chunks as bytes.
    b: Vec<u8>,
    /// Scratch of the four-lane path (r = p = 1): `N` two-block chunks of four lanes, allocated
    /// on first use.
    v4: Vec<Chunk4>,
}

impl std::fmt::Debug for Scrypt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scrypt").field("params", &self.params).finish_non_exhaustive()
    }
}

impl Scrypt {
    /// Allocates the scratch memory for `params` (`128·r·N` bytes plus `128·r·(p + 2)`).
    pub fn new(params: ScryptParams) -> Self {
        let blocks_per_chunk = 2 * params.r() as usize;
        Scrypt {
            params,
            v: vec![[0; BLOCK_WORDS]; params.n() as usize * blocks_per_chunk],
            xy: vec![[0; BLOCK_WORDS]; 2 * blocks_per_chunk],
            b: vec![0; blocks_per_chunk * BLOCK_BYTES * params.p() as usize],
            v4: Vec::new(),
        }
    }

    /// The parameters this instance computes with.
    pub fn params(&self) -> ScryptParams {
        self.params
    }

    /// Fills `out` with scrypt-jane of `password` and `salt`.
    pub fn hash(&mut self, password: &[u8], salt: &[u8], out: &mut [u8]) {
        let hmac = HmacKeccak512::new(password);
        hmac.pbkdf2_once(salt, &mut self.b);
        let chunk_bytes = 2 * self.params.r() as usize * BLOCK_BYTES;
        for c in 0..self.params.p() as usize {
            let chunk = &mut self.b[c * chunk_bytes..(c + 1) * chunk_bytes];
            romix(chunk, &mut self.xy, &mut self.v, self.params.n() as usize);
        }
        hmac.pbkdf2_once(&self.b, out);
    }

    /// Four independent hashes with one salt, computed together: with r = p = 1 the four ROMix
    /// runs share each instruction (four lanes of a vector) and overlap their memory reads.
    /// Other parameters fall back to four calls of [`Scrypt::hash`].
    pub fn hash4(&mut self, passwords: [&[u8]; LANES], salt: &[u8], outs: [&mut [u8]; LANES]) {
        if self.params.r() != 1 || self.params.p() != 1 {
            for (pw, out) in passwords.into_iter().zip(outs) {
                self.hash(pw, salt, out);
            }
            return;
        }
        let n = self.params.n() as usize;
        if self.v4.len() != n {
            self.v4 = vec![[[[0; LANES]; BLOCK_WORDS]; 2]; n];
        }
        let hmacs = passwords.map(HmacKeccak512::new);
        let mut x: Chunk4 = [[[0; LANES]; BLOCK_WORDS]; 2];
        let mut b = [0u8; 2 * BLOCK_BYTES];
        for (lane, hmac) in hmacs.iter().enumerate() {
            hmac.pbkdf2_once(salt, &mut b);
            for (k, word) in b.chunks_exact(4).enumerate() {
                x[k / BLOCK_WORDS][k % BLOCK_WORDS][lane] =
                    u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
            }
        }
        romix4(&mut x, &mut self.v4);
        for ((lane, hmac), out) in hmacs.iter().enumerate().zip(outs) {
            for (k, word) in b.chunks_exact_mut(4).enumerate() {
                word.copy_from_slice(&x[k / BLOCK_WORDS][k % BLOCK_WORDS][lane].to_le_bytes());
            }
            hmac.pbkdf2_once(&b, out);
        }
    }
}

/// ROMix with r = 1 over four lanes at once.
fn romix4(x: &mut Chunk4, v: &mut [Chunk4]) {
    let n = v.len();
    let mut y: Chunk4 = *x;
    for i in (0..n).step_by(2) {
        v[i] = *x;
        block_mix4(&mut y, x);
        v[i + 1] = y;
        block_mix4(x, &y);
    }
    let mask = n - 1;
    for _ in (0..n).step_by(2) {
        xor_gather(x, v, mask);
        block_mix4(&mut y, x);
        xor_gather(&mut y, v, mask);
        block_mix4(x, &y);
    }
}

/// `x ^= V[j]` where each lane has its own `j`: Integerify of that lane of `x`.
#[inline(always)]
fn xor_gather(x: &mut Chunk4, v: &[Chunk4], mask: usize) {
    let j: [usize; LANES] = std::array::from_fn(|l| x[1][0][l] as usize & mask);
    for (blk, xb) in x.iter_mut().enumerate() {
        for (w, xw) in xb.iter_mut().enumerate() {
            for l in 0..LANES {
                xw[l] ^= v[j[l]][blk][w][l];
            }
        }
    }
}

/// BlockMix with r = 1 over four lanes: `out = BlockMix(input)`.
#[inline(always)]
fn block_mix4(out: &mut Chunk4, input: &Chunk4) {
    let mut t = input[1];
    xor4(&mut t, &input[0]);
    chacha8_core4(&mut t);
    out[0] = t;
    xor4(&mut t, &input[1]);
    chacha8_core4(&mut t);
    out[1] = t;
}

#[inline(always)]
fn xor4(x: &mut Block4, y: &Block4) {
    for (a, b) in x.iter_mut().zip(y) {
        for l in 0..LANES {
            a[l] ^= b[l];
        }
    }
}

/// ChaCha20/8 on four independent states held word-major, so that each step is one four-lane
/// vector operation.
#[inline(always)]
fn chacha8_core4(state: &mut Block4) {
    #[inline(always)]
    fn add(a: W, b: W) -> W {
        [
            a[0].wrapping_add(b[0]),
            a[1].wrapping_add(b[1]),
            a[2].wrapping_add(b[2]),
            a[3].wrapping_add(b[3]),
        ]
    }
    #[inline(always)]
    fn xor_rot(a: W, b: W, n: u32) -> W {
        let t = [a[0] ^ b[0], a[1] ^ b[1], a[2] ^ b[2], a[3] ^ b[3]];
        [t[0].rotate_left(n), t[1].rotate_left(n), t[2].rotate_left(n), t[3].rotate_left(n)]
    }
    let mut x = *state;
    macro_rules! q {
        ($a:expr, $b:expr, $c:expr, $d:expr) => {
            x[$a] = add(x[$a], x[$b]);
            x[$d] = xor_rot(x[$d], x[$a], 16);
            x[$c] = add(x[$c], x[$d]);
            x[$b] = xor_rot(x[$b], x[$c], 12);
            x[$a] = add(x[$a], x[$b]);
            x[$d] = xor_rot(x[$d], x[$a], 8);
            x[$c] = add(x[$c], x[$d]);
            x[$b] = xor_rot(x[$b], x[$c], 7);
        };
    }
    for _ in 0..4 {
        q!(0, 4, 8, 12);
        q!(1, 5, 9, 13);
        q!(2, 6, 10, 14);
        q!(3, 7, 11, 15);
        q!(0, 5, 10, 15);
        q!(1, 6, 11, 12);
        q!(2, 7, 8, 13);
        q!(3, 4, 9, 14);
    }
    for (s, v) in state.iter_mut().zip(x) {
        *s = add(*s, v);
    }
}

/// Runs ROMix over one chunk given as bytes, in place.
fn romix(chunk: &mut [u8], xy: &mut [Block], v: &mut [Block], n: usize) {
    let bpc = xy.len() / 2;
    let (x, y) = xy.split_at_mut(bpc);
    for (block, bytes) in x.iter_mut().zip(chunk.chunks_exact(BLOCK_BYTES)) {
        for (w, b) in block.iter_mut().zip(bytes.chunks_exact(4)) {
            *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
    }
    // Fill V sequentially: V_i = X, X = BlockMix(X). Two steps per iteration keep X in `x`.
    for i in (0..n).step_by(2) {
        v[i * bpc..(i + 1) * bpc].copy_from_slice(x);
        block_mix(y, x, None);
        v[(i + 1) * bpc..(i + 2) * bpc].copy_from_slice(y);
        block_mix(x, y, None);
    }
    // N random read-mixes, again two per iteration.
    let mask = n - 1;
    for _ in (0..n).step_by(2) {
        let j = x[bpc - 1][0] as usize & mask;
        block_mix(y, x, Some(&v[j * bpc..(j + 1) * bpc]));
        let j = y[bpc - 1][0] as usize & mask;
        block_mix(x, y, Some(&v[j * bpc..(j + 1) * bpc]));
    }
    for (block, bytes) in x.iter().zip(chunk.chunks_exact_mut(BLOCK_BYTES)) {
        for (w, b) in block.iter().zip(bytes.chunks_exact_mut(4)) {
            b.copy_from_slice(&w.to_le_bytes());
        }
    }
}

/// scrypt BlockMix with ChaCha20/8: `out = BlockMix(input ^ xor)`.
#[inline(always)]
fn block_mix(out: &mut [Block], input: &[Block], xor: Option<&[Block]>) {
    let bpc = input.len();
    let r = bpc / 2;
    let mut x = input[bpc - 1];
    if let Some(xor) = xor {
        xor_into(&mut x, &xor[bpc - 1]);
    }
    for i in 0..bpc {
        xor_into(&mut x, &input[i]);
        if let Some(xor) = xor {
            xor_into(&mut x, &xor[i]);
        }
        chacha8_core(&mut x);
        out[i / 2 + (i % 2) * r] = x;
    }
}

#[inline(always)]
fn xor_into(x: &mut Block, y: &Block) {
    for (a, b) in x.iter_mut().zip(y) {
        *a ^= b;
    }
}

/// ChaCha20/8 on a 16-word state: four double rounds (columns, then diagonals) and the
/// feed-forward addition. Exposed for benchmarks (the compute floor of a label).
pub fn chacha20_8(state: &mut [u32; 16]) {
    chacha8_core(state);
}

/// ChaCha20/8: four double rounds (columns, then diagonals) and the feed-forward addition.
#[inline(always)]
fn chacha8_core(state: &mut Block) {
    let mut x = *state;
    macro_rules! q {
        ($a:expr, $b:expr, $c:expr, $d:expr) => {
            x[$a] = x[$a].wrapping_add(x[$b]);
            x[$d] = (x[$d] ^ x[$a]).rotate_left(16);
            x[$c] = x[$c].wrapping_add(x[$d]);
            x[$b] = (x[$b] ^ x[$c]).rotate_left(12);
            x[$a] = x[$a].wrapping_add(x[$b]);
            x[$d] = (x[$d] ^ x[$a]).rotate_left(8);
            x[$c] = x[$c].wrapping_add(x[$d]);
            x[$b] = (x[$b] ^ x[$c]).rotate_left(7);
        };
    }
    for _ in 0..4 {
        q!(0, 4, 8, 12);
        q!(1, 5, 9, 13);
        q!(2, 6, 10, 14);
        q!(3, 7, 11, 15);
        q!(0, 5, 10, 15);
        q!(1, 6, 11, 12);
        q!(2, 7, 8, 13);
        q!(3, 4, 9, 14);
    }
    for (s, v) in state.iter_mut().zip(x) {
        *s = s.wrapping_add(v);
    }
}

/// HMAC over Keccak-512 with the 72-byte rate as block size, the key pads already absorbed.
#[derive(Clone)]
struct HmacKeccak512 {
    inner: Keccak512,
    outer: Keccak512,
}

impl HmacKeccak512 {
    fn new(key: &[u8]) -> Self {
        let mut pad = [0u8; HMAC_BLOCK];
        if key.len() <= HMAC_BLOCK {
            pad[..key.len()].copy_from_slice(key);
        } else {
            pad[..DIGEST_BYTES].copy_from_slice(&Keccak512::digest(key));
        }
        let mut inner = Keccak512::new();
        let mut outer = Keccak512::new();
        inner.update(pad.map(|b| b ^ 0x36));
        outer.update(pad.map(|b| b ^ 0x5c));
        HmacKeccak512 { inner, outer }
    }

    /// PBKDF2 with one iteration: block `i` (from 1) is `HMAC(salt ‖ BE32(i))`.
    fn pbkdf2_once(&self, salt: &[u8], out: &mut [u8]) {
        for (i, chunk) in out.chunks_mut(DIGEST_BYTES).enumerate() {
            let mut inner = self.inner.clone();
            inner.update(salt);
            inner.update((i as u32 + 1).to_be_bytes());
            let mut outer = self.outer.clone();
            outer.update(inner.finalize());
            chunk.copy_from_slice(&outer.finalize()[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The reference ChaCha20/8 core as sixteen scalar words, to check the row form against.
    fn chacha8_scalar(state: &mut Block) {
        let mut x = *state;
        let q = |x: &mut Block, a: usize, b: usize, c: usize, d: usize| {
            x[a] = x[a].wrapping_add(x[b]);
            x[d] = (x[d] ^ x[a]).rotate_left(16);
            x[c] = x[c].wrapping_add(x[d]);
            x[b] = (x[b] ^ x[c]).rotate_left(12);
            x[a] = x[a].wrapping_add(x[b]);
            x[d] = (x[d] ^ x[a]).rotate_left(8);
            x[c] = x[c].wrapping_add(x[d]);
            x[b] = (x[b] ^ x[c]).rotate_left(7);
        };
        for _ in 0..4 {
            q(&mut x, 0, 4, 8, 12);
            q(&mut x, 1, 5, 9, 13);
            q(&mut x, 2, 6, 10, 14);
            q(&mut x, 3, 7, 11, 15);
            q(&mut x, 0, 5, 10, 15);
            q(&mut x, 1, 6, 11, 12);
            q(&mut x, 2, 7, 8, 13);
            q(&mut x, 3, 4, 9, 14);
        }
        for (s, v) in state.iter_mut().zip(x) {
            *s = s.wrapping_add(v);
        }
    }

    /// The ChaCha core equals the textbook one, and each lane of the four-lane core equals it.
    #[test]
    fn chacha_cores_match_textbook() {
        let mut a: Block = std::array::from_fn(|i| (i as u32).wrapping_mul(0x9e37_79b9) ^ 0x55);
        for _ in 0..100 {
            let mut b = a;
            let mut lanes: Block4 =
                std::array::from_fn(|w| std::array::from_fn(|l| a[w] ^ l as u32));
            let inputs: [Block; LANES] = std::array::from_fn(|l| a.map(|w| w ^ l as u32));
            chacha8_scalar(&mut a);
            chacha8_core(&mut b);
            assert_eq!(a, b);
            chacha8_core4(&mut lanes);
            for (l, mut input) in inputs.into_iter().enumerate() {
                chacha8_core(&mut input);
                assert_eq!(lanes.map(|w| w[l]), input);
            }
        }
    }

    /// scrypt-jane's mix self-test (`scrypt_test_mix`): BlockMix with r = 2 over words whose
    /// four bytes all equal the word's position; the last 16 bytes of the output are fixed.
    #[test]
    fn scrypt_jane_mix_self_test() {
        let input: Vec<Block> = (0..4)
            .map(|blk| std::array::from_fn(|w| u32::from_le_bytes([(blk * 16 + w) as u8; 4])))
            .collect();
        let mut out = vec![[0u32; BLOCK_WORDS]; 4];
        block_mix(&mut out, &input, None);
        let tail: Vec<u8> = out[3][12..].iter().flat_map(|w| w.to_le_bytes()).collect();
        assert_eq!(hex(&tail), "482b2db8a1332273cd16c4b4b07fb18a");
    }

    /// scrypt-jane's power-on self-test vectors for the ChaCha20/8 + Keccak-512 build
    /// (`scrypt-jane-test-vectors.h`): ("", "", N = 16, r = 1, p = 1) and
    /// ("password", "NaCl", N = 1024, r = 8, p = 16), 64 bytes each.
    #[test]
    fn scrypt_jane_self_test_vectors() {
        let cases: [(&str, &str, u32, u32, u32, &str); 2] = [
            (
                "",
                "",
                16,
                1,
                1,
                "77cb70bfaed44c5bbcd3ec8a82438db37f1ffb7036324da6b7133777300c3cfb\
                 2c208f2af4474d698eae2dadba35e92fe6997af8cf7078bb0c7264958b36773d",
            ),
            (
                "password",
                "NaCl",
                1024,
                8,
                16,
                "c643171687095f12ed21e2b4ad55a1a149509070ab81837acddf235219c0a2d8\
                 8e98ebf037abadfd1c0497184285f74b182c55d3a9e689fb580ab237b9f8fbc5",
            ),
        ];
        for (pw, salt, n, r, p, want) in cases {
            let params = ScryptParams::new(n, r, p).expect("valid params");
            let mut out = [0u8; 64];
            Scrypt::new(params).hash(pw.as_bytes(), salt.as_bytes(), &mut out);
            assert_eq!(hex(&out), want, "scrypt-jane vector N={n} r={r} p={p}");
        }
    }

    /// The four-lane path gives the same outputs as four single hashes, for r = p = 1 and for
    /// the fallback.
    #[test]
    fn hash4_matches_single() {
        for (n, r, p) in [(2, 1, 1), (64, 1, 1), (16, 2, 1)] {
            let params = ScryptParams::new(n, r, p).expect("valid");
            let mut scrypt = Scrypt::new(params);
            let pws: [[u8; 72]; LANES] = std::array::from_fn(|l| [l as u8 * 3 + 1; 72]);
            let mut got = [[0u8; 32]; LANES];
            let [a, b, c, d] = &mut got;
            scrypt.hash4(pws.each_ref().map(|p| p.as_slice()), b"s", [a, b, c, d]);
            for (pw, out) in pws.iter().zip(got) {
                let mut want = [0u8; 32];
                Scrypt::new(params).hash(pw, b"s", &mut want);
                assert_eq!(out, want, "N={n} r={r} p={p}");
            }
        }
    }

    /// A long password (over the 72-byte HMAC block) is hashed first, and reusing scratch memory
    /// gives the same output as a fresh instance.
    #[test]
    fn long_password_and_scratch_reuse() {
        let params = ScryptParams::new(4, 2, 2).expect("valid params");
        let long = [7u8; 100];
        let mut fresh = [0u8; 32];
        Scrypt::new(params).hash(&long, b"salt", &mut fresh);
        let mut reused = Scrypt::new(params);
        let mut first = [0u8; 32];
        reused.hash(b"other", b"", &mut first);
        let mut second = [0u8; 32];
        reused.hash(&long, b"salt", &mut second);
        assert_eq!(fresh, second);
        assert_ne!(first, second);
        // The HMAC of a long key equals the HMAC of its digest used as a key.
        let mut via_digest = [0u8; 32];
        Scrypt::new(params).hash(&Keccak512::digest(long), b"salt", &mut via_digest);
        assert_eq!(fresh, via_digest);
    }
}
