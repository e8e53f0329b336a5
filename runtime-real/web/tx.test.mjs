// The wallet page's transaction code against the project's golden vectors (core's
// tests/tx_encodings.rs snapshot and the `smesh wallet` golden accounts): run with
// `node --test runtime-real/web/`.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  accountSeed, bech32Decode, bech32Encode, blake3, compact, fromHex, hex, keyFromSeed,
  mnemonicSeed, parseSmh, selfSpawn, smh, spend, walletAddress,
} from "./tx.js";

const GENESIS = new Uint8Array(20).fill(0x11);
const ABANDON = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

test("blake3 matches the reference vectors", () => {
  assert.equal(hex(blake3(new Uint8Array())), "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
  assert.equal(hex(blake3(new TextEncoder().encode("abc"))), "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85");
  // 251 bytes of the official test input pattern (i % 251), several blocks of one chunk.
  const input = Uint8Array.from({ length: 1023 }, (_, i) => i % 251);
  assert.equal(hex(blake3(input)), "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11");
});

test("compact integers follow SCALE", () => {
  assert.equal(hex(compact(0)), "00");
  assert.equal(hex(compact(1)), "04");
  assert.equal(hex(compact(16)), "40");
  assert.equal(hex(compact(63)), "fc");
  assert.equal(hex(compact(64)), "0101");
  assert.equal(hex(compact(16383)), "fdff");
  assert.equal(hex(compact(16384)), "02000100");
  assert.equal(hex(compact(1500000000)), "03002f6859");
  assert.equal(hex(compact(2n ** 64n - 1n)), "13ffffffffffffffff");
});

test("the wallet's golden transactions, byte for byte", async () => {
  const key = await keyFromSeed(new Uint8Array(32).fill(1));
  const address = walletAddress(key.publicKey);
  assert.equal(bech32Encode("sm", address), "sm1qqqqqq8hmtthn74v8jsjwafczvp26ygyakx0tmc4q78t8");
  assert.equal(bech32Encode("stest", address), "stest1qqqqqq8hmtthn74v8jsjwafczvp26ygyakx0tmcg48l97");
  assert.equal(
    hex(await selfSpawn(key, GENESIS, 0, 1)),
    "0000000000f7dad779faac3ca12775381302ad1104ed8cf5ef0000000000000000000000000000000000000000000000000100048a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c93e2217a13942f7bc6b7b756ee15e6120c5978358b6a9fd4e94aa38e42fe9e0c594a94789467e15e1ff8af0c0899cd8ecc98029b90dd4995062bfa30410c3201",
  );
  assert.equal(
    hex(await spend(key, GENESIS, 1, 2, new Uint8Array(24).fill(0x22), 1500000000n)),
    "0000000000f7dad779faac3ca12775381302ad1104ed8cf5ef40040822222222222222222222222222222222222222222222222203002f6859aca400c7fc6dbb26d0912d4f7f4c38c5fa7a1107a7a7e4937aa7001a5985648641924a1d1fad54d51358edfbd3eda43de5ecd8e66990e2ed6e6bd9cf22a19803",
  );
});

test("mnemonic accounts match smesh wallet's golden accounts", async () => {
  const seed = await mnemonicSeed(ABANDON);
  const k0 = await keyFromSeed(await accountSeed(seed, 0));
  assert.equal(hex(k0.publicKey), "f628d5733ba18640769ea46a24000be53a42fbfef0cd2c826044bbc640d119e2");
  assert.equal(bech32Encode("stest", walletAddress(k0.publicKey)), "stest1qqqqqqqlgfpwap59jlwmre4p9xrlk8fenfnlsrq3gky2c");
  const k1 = await keyFromSeed(await accountSeed(seed, 1));
  assert.equal(bech32Encode("sm", walletAddress(k1.publicKey)), "sm1qqqqqqxqxytaxnaf7lgen7erm8qmu53nyucdrncw492c8");
  await assert.rejects(mnemonicSeed("abandon about"), /12, 15, 18, 21 or 24 words/);
});

test("addresses and amounts: round trips and clear refusals", () => {
  const a = fromHex("00000000f7dad779faac3ca12775381302ad1104ed8cf5ef");
  assert.deepEqual(bech32Decode(bech32Encode("stest", a), "stest"), a);
  assert.throws(() => bech32Decode(bech32Encode("sm", a), "stest"), /network "sm"/);
  const text = bech32Encode("stest", a);
  assert.throws(() => bech32Decode(text.slice(0, -1) + (text.endsWith("q") ? "p" : "q"), "stest"), /checksum/);
  assert.equal(parseSmh("1.5"), 1500000000n);
  assert.equal(parseSmh("2 smh"), 2000000000n);
  assert.throws(() => parseSmh("1.2345678901"), /not an amount/);
  assert.equal(smh("1500000000"), "1.5 SMH");
  assert.equal(smh("0"), "0 SMH");
});
