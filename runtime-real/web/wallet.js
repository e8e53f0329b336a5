// The web wallet: derives a key in the page, reads its account through AccountService.List,
// signs a self-spawn or a spend with the account's projected nonce, and submits it through
// TransactionService.SubmitTransaction.
import { b64hex, call, esc, num, showError } from "./api.js";
import {
  accountSeed, bech32Decode, bech32Encode, fromBase64, fromHex, hex, keyFromSeed, mnemonicSeed,
  parseSmh, selfSpawn, smh, spend, toBase64, walletAddress,
} from "./tx.js";

const el = (id) => document.getElementById(id);
let info = null;
let key = null;
let address = null;

async function network() {
  if (!info) {
    info = await call("NetworkService", "Info");
    el("network").textContent = `${info.hrp} · genesis ${b64hex(info.genesisId, 6)}`;
  }
  return info;
}

async function account() {
  const { accounts = [] } = await call("AccountService", "List", { addresses: [address], limit: "1" });
  const a = accounts[0] || {};
  const current = a.current || {};
  const projected = a.projected || {};
  el("balance").textContent = smh(current.balance);
  el("nonce").textContent = num(current.counter);
  el("projected").textContent = `${smh(projected.balance)}, nonce ${num(projected.counter)}`;
  el("template").textContent = a.template || "not spawned";
  el("as-of").textContent = num(current.layer);
  document.body.dataset.balance = String(current.balance || "0");
  document.body.dataset.nonce = String(num(current.counter));
  return { current, projected, spawned: Boolean(a.template) };
}

async function open() {
  const { hrp } = await network();
  const words = el("mnemonic").value.trim();
  const seedHex = el("seed").value.trim();
  let seed;
  if (words) {
    const index = Number(el("account-index").value);
    if (!Number.isInteger(index) || index < 0) throw new Error("the account is a whole number from 0");
    seed = await accountSeed(await mnemonicSeed(words), index);
  } else if (seedHex) {
    seed = fromHex(seedHex);
  } else {
    throw new Error("enter a mnemonic or a seed");
  }
  key = await keyFromSeed(seed);
  address = bech32Encode(hrp, walletAddress(key.publicKey));
  el("address").textContent = address;
  document.body.dataset.address = address;
  el("submit").disabled = false;
  const state = await account();
  el("kind").value = state.spawned ? "spend" : "spawn";
}

async function submit() {
  const { genesisId, hrp } = await network();
  const genesis = fromBase64(genesisId);
  const state = await account();
  const nonce = BigInt(state.projected.counter || 0);
  const gasPrice = BigInt(el("gas-price").value || "1");
  if (gasPrice < 1n) throw new Error("the gas price is at least 1");
  let raw;
  if (el("kind").value === "spawn") {
    raw = await selfSpawn(key, genesis, nonce, gasPrice);
  } else {
    const to = bech32Decode(el("to").value, hrp);
    raw = await spend(key, genesis, nonce, gasPrice, to, parseSmh(el("amount").value));
  }
  const out = el("submit-result");
  const r = await call("TransactionService", "SubmitTransaction", { transaction: toBase64(raw) });
  const status = r.status || {};
  if (status.code) {
    out.className = "result bad";
    out.textContent = `refused: ${status.message || "code " + status.code}`;
    document.body.dataset.submitted = "refused";
  } else {
    out.className = "result";
    out.innerHTML = `accepted: transaction <code id="tx-id">${esc(b64hex(r.txId))}</code> with nonce ${nonce}`;
    document.body.dataset.submitted = hex(fromBase64(r.txId));
  }
  await account();
}

function guard(f) {
  return async () => {
    try {
      showError("");
      await f();
    } catch (e) {
      showError(e.message);
    }
  };
}

el("open").addEventListener("click", guard(open));
el("submit").addEventListener("click", guard(submit));
setInterval(() => address && account().catch((e) => showError(e.message)), 3000);
network().catch((e) => showError(e.message));
