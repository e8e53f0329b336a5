// The network dashboard: polls the node's JSON gateway every two seconds and draws what it
// answers. Nothing here is cached across reloads; epochs that are over are fetched once.
import { b64hex, call, esc, num, showError } from "./api.js";

const POLL_MS = 2000;
const TIMELINE_LAYERS = 80;
const EPOCH_BARS = 8;
const PAGE = 100;

let info = null;
const epochWeights = new Map(); // target epoch -> {count, weight}, for epochs that are over

const el = (id) => document.getElementById(id);

function syncText(status) {
  return (
    {
      SYNC_STATUS_OFFLINE: "offline",
      SYNC_STATUS_SYNCING: "syncing",
      SYNC_STATUS_SYNCED: "synced",
    }[status] || "unknown"
  );
}

async function activations(publishEpoch) {
  let count = 0;
  let weight = 0n;
  for (let offset = 0; ; offset += PAGE) {
    const r = await call("ActivationService", "List", {
      startEpoch: publishEpoch,
      endEpoch: publishEpoch,
      offset: String(offset),
      limit: String(PAGE),
    });
    const list = r.activations || [];
    count += list.length;
    for (const a of list) weight += BigInt(a.weight || 0);
    if (list.length < PAGE) return { count, weight };
  }
}

/** ATX count and weight of the active set of each target epoch up to `epoch`. */
async function weights(epoch) {
  const out = [];
  for (let target = Math.max(1, epoch - EPOCH_BARS + 1); target <= epoch + 1; target++) {
    let w = epochWeights.get(target);
    if (!w) {
      w = await activations(target - 1);
      // ATXs for a target epoch keep arriving until it starts; after that the count is final.
      if (target < epoch) epochWeights.set(target, w);
    }
    out.push({ target, ...w });
  }
  return out;
}

function drawTimeline(layers, current, applied) {
  const svg = el("timeline");
  const width = svg.clientWidth || 900;
  const first = Math.max(0, current - TIMELINE_LAYERS + 1);
  const n = current - first + 1;
  const w = width / TIMELINE_LAYERS;
  const byNumber = new Map(layers.map((l) => [num(l.number), l]));
  let cells = "";
  for (let i = 0; i < n; i++) {
    const layer = first + i;
    const l = byNumber.get(layer);
    const status = l ? l.status : undefined;
    const cls =
      status === "LAYER_STATUS_VERIFIED"
        ? "verified"
        : l && layer <= applied
          ? "applied"
          : layer <= num(info.effectiveGenesisLayer)
            ? "genesis"
            : "pending";
    const fill = {
      verified: "var(--accent)",
      applied: "var(--applied)",
      genesis: "var(--panel-dark)",
      pending: "var(--pending)",
    }[cls];
    const hash = l && l.stateHash ? b64hex(l.stateHash, 8) : "";
    cells +=
      `<rect class="layer ${cls}" data-layer="${layer}" x="${(i * w).toFixed(1)}" y="10" ` +
      `width="${Math.max(1, w - 1).toFixed(1)}" height="50" fill="${fill}">` +
      `<title>layer ${layer}: ${cls}${hash ? " · state " + hash : ""}</title></rect>`;
    if (layer % 10 === 0) cells += `<text x="${(i * w).toFixed(1)}" y="76">${layer}</text>`;
  }
  svg.innerHTML = cells;
  svg.dataset.layers = String(n);
}

function drawWeights(list) {
  const svg = el("weights");
  const width = svg.clientWidth || 420;
  const max = list.reduce((m, e) => (e.weight > m ? e.weight : m), 1n);
  const bw = width / Math.max(list.length, 1);
  let bars = "";
  list.forEach((e, i) => {
    const h = Number((e.weight * 110n) / max);
    bars +=
      `<rect data-epoch="${e.target}" x="${(i * bw + 4).toFixed(1)}" y="${130 - h}" width="${(bw - 8).toFixed(1)}" ` +
      `height="${h}" fill="var(--applied)"><title>epoch ${e.target}: ${e.count} ATXs, weight ${e.weight}</title></rect>` +
      `<text x="${(i * bw + 4).toFixed(1)}" y="145">e${e.target}</text>` +
      `<text x="${(i * bw + 4).toFixed(1)}" y="${125 - h}">${e.count}</text>`;
  });
  svg.innerHTML = bars;
}

async function refresh() {
  if (!info) {
    info = await call("NetworkService", "Info");
    el("network").textContent =
      `${info.hrp || "?"} · genesis ${b64hex(info.genesisId, 6)} · layers of ${info.layerDuration || "?"}` +
      ` · ${num(info.layersPerEpoch)} per epoch`;
  }
  const lpe = Math.max(1, num(info.layersPerEpoch));
  const status = await call("NodeService", "Status");
  const current = num(status.currentLayer);
  const applied = num(status.appliedLayer);
  const epoch = Math.floor(current / lpe);
  el("current-layer").textContent = current;
  el("current-epoch").textContent = epoch;
  el("sync").textContent = syncText(status.status);
  el("applied-layer").textContent = applied;
  el("processed-layer").textContent = num(status.processedLayer);
  el("peers").textContent = num(status.connectedPeers);
  document.body.dataset.currentLayer = String(current);
  document.body.dataset.appliedLayer = String(applied);

  const first = Math.max(0, current - TIMELINE_LAYERS + 1);
  const { layers = [] } = await call("LayerService", "List", {
    startLayer: first,
    endLayer: current,
    limit: String(TIMELINE_LAYERS),
  });
  drawTimeline(layers, current, applied);
  el("layers").innerHTML = layers
    .slice()
    .sort((a, b) => num(b.number) - num(a.number))
    .slice(0, 12)
    .map((l) => {
      const verified = l.status === "LAYER_STATUS_VERIFIED";
      return (
        `<tr><td>${num(l.number)}</td><td class="${verified ? "verified" : "applied"}">` +
        `${verified ? "verified" : "applied"}</td><td><code>${b64hex(l.stateHash, 8)}</code></td>` +
        `<td><code>${l.block ? b64hex(l.block.id, 8) : "–"}</code></td></tr>`
      );
    })
    .join("");

  await section("weights-note", async () => {
    const epochs = await weights(epoch);
    const now = epochs.find((e) => e.target === epoch) || { count: 0, weight: 0n };
    el("active-size").textContent = now.count;
    el("active-weight").textContent = now.weight.toString();
    drawWeights(epochs);
  });

  await section("rewards-note", async () => {
    const { rewards = [] } = await call("RewardService", "List", {
      startLayer: Math.max(0, current - 50),
      endLayer: current,
      limit: "12",
      sortOrder: "DESC",
    });
    el("rewards").innerHTML = rewards
      .map(
        (r) =>
          `<tr><td>${num(r.layer)}</td><td><code>${esc(r.coinbase || "")}</code></td>` +
          `<td>${(num(r.total) / 1e9).toFixed(3)} SMH</td></tr>`,
      )
      .join("");
  });

  await section("malfeasance-note", async () => {
    const { proofs = [] } = await call("MalfeasanceService", "List", { limit: "50" });
    el("malfeasance").innerHTML = proofs.length
      ? proofs
          .map(
            (p) =>
              `<tr><td><code>${b64hex(p.smesher, 8)}</code></td>` +
              `<td>${esc((p.domain || "").replace("DOMAIN_", "").toLowerCase())}</td><td>${num(p.type)}</td></tr>`,
          )
          .join("")
      : `<tr><td colspan="3" class="muted">no identity proven malicious</td></tr>`;
  });
}

/** Runs one panel's update; its failure shows in the panel's note and spares the others. */
async function section(noteId, update) {
  const note = el(noteId);
  try {
    await update();
    note.textContent = "";
  } catch (e) {
    note.textContent = e.message;
  }
}

async function loop() {
  try {
    await refresh();
    showError("");
  } catch (e) {
    showError(e.message);
  }
  setTimeout(loop, POLL_MS);
}

loop();
