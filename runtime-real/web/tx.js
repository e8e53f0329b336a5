// Wallet keys, addresses and transactions in the browser, compatible with `smesh wallet` and
// go-spacemesh's genvm: BIP39 seed (PBKDF2-HMAC-SHA512, empty passphrase), SLIP-0010 ed25519
// keys at m/44'/540'/0'/0'/i', the wallet template's principal (BLAKE3 of template address and
// public key, last 20 bytes under 4 zero bytes), bech32 (BIP-173), SCALE compact integers, and
// signatures over genesis id || unsigned transaction. Everything runs on WebCrypto (Ed25519,
// HMAC, PBKDF2); BLAKE3 and bech32 are written out here because WebCrypto has neither.
// Key material never leaves the page: only signed transactions are sent to the node.

const subtle = globalThis.crypto.subtle;
const enc = new TextEncoder();

// ---- bytes ----

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(text) {
  const t = text.trim().replace(/^0x/, "");
  if (t.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(t)) throw new Error("not hex: " + text);
  const out = new Uint8Array(t.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(t.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toBase64(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

export function fromBase64(text) {
  const s = atob(text || "");
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---- BLAKE3 (one chunk: inputs up to 1024 bytes, which is all an address needs) ----

const IV = [
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];
const PERMUTE = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];
const CHUNK_START = 1;
const CHUNK_END = 2;
const ROOT = 8;

function rotr(x, n) {
  return (x >>> n) | (x << (32 - n));
}

function g(s, a, b, c, d, x, y) {
  s[a] = (s[a] + s[b] + x) | 0;
  s[d] = rotr(s[d] ^ s[a], 16);
  s[c] = (s[c] + s[d]) | 0;
  s[b] = rotr(s[b] ^ s[c], 12);
  s[a] = (s[a] + s[b] + y) | 0;
  s[d] = rotr(s[d] ^ s[a], 8);
  s[c] = (s[c] + s[d]) | 0;
  s[b] = rotr(s[b] ^ s[c], 7);
}

function compress(cv, words, blockLen, flags) {
  const s = [...cv, IV[0], IV[1], IV[2], IV[3], 0, 0, blockLen, flags];
  let m = words;
  for (let round = 0; round < 7; round++) {
    g(s, 0, 4, 8, 12, m[0], m[1]);
    g(s, 1, 5, 9, 13, m[2], m[3]);
    g(s, 2, 6, 10, 14, m[4], m[5]);
    g(s, 3, 7, 11, 15, m[6], m[7]);
    g(s, 0, 5, 10, 15, m[8], m[9]);
    g(s, 1, 6, 11, 12, m[10], m[11]);
    g(s, 2, 7, 8, 13, m[12], m[13]);
    g(s, 3, 4, 9, 14, m[14], m[15]);
    m = PERMUTE.map((i) => m[i]);
  }
  return s.slice(0, 8).map((v, i) => (v ^ s[i + 8]) >>> 0);
}

/** BLAKE3 of `input` (at most 1024 bytes), 32 bytes. */
export function blake3(input) {
  if (input.length > 1024) throw new Error("blake3 here hashes one chunk (1024 bytes) at most");
  let cv = IV.slice();
  const blocks = Math.max(1, Math.ceil(input.length / 64));
  for (let b = 0; b < blocks; b++) {
    const block = new Uint8Array(64);
    const part = input.subarray(b * 64, b * 64 + 64);
    block.set(part);
    const words = [];
    for (let i = 0; i < 16; i++) {
      words.push(
        block[4 * i] | (block[4 * i + 1] << 8) | (block[4 * i + 2] << 16) | (block[4 * i + 3] << 24),
      );
    }
    let flags = 0;
    if (b === 0) flags |= CHUNK_START;
    if (b === blocks - 1) flags |= CHUNK_END | ROOT;
    cv = compress(cv, words, part.length, flags);
  }
  const out = new Uint8Array(32);
  cv.forEach((w, i) => {
    out[4 * i] = w & 0xff;
    out[4 * i + 1] = (w >>> 8) & 0xff;
    out[4 * i + 2] = (w >>> 16) & 0xff;
    out[4 * i + 3] = (w >>> 24) & 0xff;
  });
  return out;
}

// ---- bech32 (BIP-173) ----

const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values) {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GEN[i];
  }
  return chk >>> 0;
}

function hrpExpand(hrp) {
  const out = [];
  for (const c of hrp) out.push(c.charCodeAt(0) >> 5);
  out.push(0);
  for (const c of hrp) out.push(c.charCodeAt(0) & 31);
  return out;
}

function convertBits(data, from, to, pad) {
  let acc = 0;
  let bits = 0;
  const out = [];
  const max = (1 << to) - 1;
  for (const v of data) {
    acc = (acc << from) | v;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & max);
    }
  }
  if (pad && bits > 0) out.push((acc << (to - bits)) & max);
  else if (!pad && (bits >= from || ((acc << (to - bits)) & max))) throw new Error("bad padding");
  return out;
}

export function bech32Encode(hrp, bytes) {
  const data = convertBits(bytes, 8, 5, true);
  const mod = polymod([...hrpExpand(hrp), ...data, 0, 0, 0, 0, 0, 0]) ^ 1;
  const check = [];
  for (let i = 0; i < 6; i++) check.push((mod >>> (5 * (5 - i))) & 31);
  return hrp + "1" + [...data, ...check].map((d) => CHARSET[d]).join("");
}

/** The 24 address bytes of bech32 `text` of network `hrp`; throws a message that says why not. */
export function bech32Decode(text, hrp) {
  const t = text.trim();
  if (t !== t.toLowerCase() && t !== t.toUpperCase()) throw new Error("mixed case in address");
  const lower = t.toLowerCase();
  const sep = lower.lastIndexOf("1");
  if (sep < 1 || lower.length - sep < 7) throw new Error("not a bech32 address");
  const prefix = lower.slice(0, sep);
  if (prefix !== hrp) throw new Error(`address of network "${prefix}", this network is "${hrp}"`);
  const data = [];
  for (const c of lower.slice(sep + 1)) {
    const d = CHARSET.indexOf(c);
    if (d < 0) throw new Error(`character "${c}" is not bech32`);
    data.push(d);
  }
  if (polymod([...hrpExpand(prefix), ...data]) !== 1) throw new Error("address checksum is wrong");
  const bytes = convertBits(data.slice(0, -6), 5, 8, false);
  if (bytes.length !== 24) throw new Error("an address is 24 bytes");
  return new Uint8Array(bytes);
}

// ---- SCALE compact integers ----

export function compact(value) {
  const v = BigInt(value);
  if (v < 0n || v >= 1n << 64n) throw new Error("compact integers here are u64");
  if (v < 1n << 6n) return new Uint8Array([Number(v << 2n)]);
  if (v < 1n << 14n) {
    const x = Number((v << 2n) | 1n);
    return new Uint8Array([x & 0xff, x >> 8]);
  }
  if (v < 1n << 30n) {
    const x = (v << 2n) | 2n;
    return new Uint8Array([0, 1, 2, 3].map((i) => Number((x >> BigInt(8 * i)) & 0xffn)));
  }
  const le = [];
  let rest = v;
  while (rest > 0n) {
    le.push(Number(rest & 0xffn));
    rest >>= 8n;
  }
  return new Uint8Array([((le.length - 4) << 2) | 3, ...le]);
}

// ---- keys ----

const HARDENED = 0x80000000;
const PKCS8_ED25519 = fromHex("302e020100300506032b657004220420");

async function hmacSha512(key, data) {
  const k = await subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-512" }, false, ["sign"]);
  return new Uint8Array(await subtle.sign("HMAC", k, data));
}

/** The BIP39 seed of `mnemonic` (words as typed; the checksum is not checked here). */
export async function mnemonicSeed(mnemonic) {
  const words = mnemonic.trim().toLowerCase().split(/\s+/).join(" ").normalize("NFKD");
  if (![12, 15, 18, 21, 24].includes(words.split(" ").length)) {
    throw new Error("a mnemonic has 12, 15, 18, 21 or 24 words");
  }
  const key = await subtle.importKey("raw", enc.encode(words), "PBKDF2", false, ["deriveBits"]);
  const bits = await subtle.deriveBits(
    { name: "PBKDF2", salt: enc.encode("mnemonic"), iterations: 2048, hash: "SHA-512" },
    key,
    512,
  );
  return new Uint8Array(bits);
}

/** The ed25519 seed of account `index` (m/44'/540'/0'/0'/index', SLIP-0010). */
export async function accountSeed(bip39Seed, index) {
  let i = await hmacSha512(enc.encode("ed25519 seed"), bip39Seed);
  for (const n of [44, 540, 0, 0, index]) {
    const ser = new Uint8Array(4);
    new DataView(ser.buffer).setUint32(0, (n | HARDENED) >>> 0);
    i = await hmacSha512(i.subarray(32), concat(new Uint8Array([0]), i.subarray(0, 32), ser));
  }
  return i.subarray(0, 32);
}

/** A signing key from a 32-byte ed25519 seed: `{ publicKey, sign(bytes) }`. */
export async function keyFromSeed(seed) {
  if (seed.length !== 32) throw new Error("an ed25519 seed is 32 bytes");
  const key = await subtle.importKey("pkcs8", concat(PKCS8_ED25519, seed), { name: "Ed25519" }, true, [
    "sign",
  ]);
  const jwk = await subtle.exportKey("jwk", key);
  const publicKey = fromBase64(jwk.x.replace(/-/g, "+").replace(/_/g, "/") + "=");
  return {
    publicKey,
    sign: async (bytes) => new Uint8Array(await subtle.sign({ name: "Ed25519" }, key, bytes)),
  };
}

// ---- the wallet template ----

const TEMPLATE_WALLET = 1;
const METHOD_SPAWN = 0;
const METHOD_SPEND = 16;

function templateAddress(template) {
  const a = new Uint8Array(24);
  a[23] = template;
  return a;
}

/** The wallet account address (24 bytes) of an ed25519 public key. */
export function walletAddress(publicKey) {
  const hash = blake3(concat(templateAddress(TEMPLATE_WALLET), publicKey));
  return concat(new Uint8Array(4), hash.subarray(12));
}

async function signed(key, genesisId, unsigned) {
  const sig = await key.sign(concat(genesisId, unsigned));
  return concat(unsigned, sig);
}

/** The wallet's self-spawn, signed: its first transaction. */
export async function selfSpawn(key, genesisId, nonce, gasPrice) {
  const unsigned = concat(
    compact(0),
    walletAddress(key.publicKey),
    compact(METHOD_SPAWN),
    templateAddress(TEMPLATE_WALLET),
    compact(nonce),
    compact(gasPrice),
    key.publicKey,
  );
  return signed(key, genesisId, unsigned);
}

/** A spend of `amount` smidge to `destination` (24 bytes), signed. */
export async function spend(key, genesisId, nonce, gasPrice, destination, amount) {
  const unsigned = concat(
    compact(0),
    walletAddress(key.publicKey),
    compact(METHOD_SPEND),
    compact(nonce),
    compact(gasPrice),
    destination,
    compact(amount),
  );
  return signed(key, genesisId, unsigned);
}

/** Smidge (a decimal string or BigInt) as SMH text: 1 SMH = 10^9 smidge. */
export function smh(smidge) {
  const v = BigInt(smidge || 0);
  const whole = v / 1000000000n;
  const frac = (v % 1000000000n).toString().padStart(9, "0").replace(/0+$/, "");
  return frac ? `${whole}.${frac} SMH` : `${whole} SMH`;
}

/** SMH text ("1.5", "2") as smidge, a BigInt; throws a message that says what to fix. */
export function parseSmh(text) {
  const m = /^\s*(\d+)(?:\.(\d{1,9}))?\s*(?:smh)?\s*$/i.exec(text);
  if (!m) throw new Error(`"${text}" is not an amount in SMH (for example 1.5)`);
  return BigInt(m[1]) * 1000000000n + BigInt((m[2] || "").padEnd(9, "0"));
}
