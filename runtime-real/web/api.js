// Calls to the node's JSON gateway: `POST /spacemesh.v2alpha1.<Service>/<Method>` with the
// canonical proto3 JSON mapping (64-bit integers as strings, bytes as base64, fields at their
// default value left out). Errors come back as `{code, message, details}`.

/** Calls `service`.`method` with `body`; resolves to the reply, rejects with the node's message. */
export async function call(service, method, body = {}) {
  const url = `/spacemesh.v2alpha1.${service}/${method}`;
  let res;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch (e) {
    throw new Error(`the node does not answer (${e.message})`);
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    throw new Error(`${url}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok) throw new Error(`${service}.${method}: ${json.message || "HTTP " + res.status}`);
  return json;
}

/** A proto3 JSON integer field (a number, a decimal string, or absent for 0) as a Number. */
export function num(v) {
  return v === undefined || v === null ? 0 : Number(v);
}

/** Base64 bytes as hex (the first `n` bytes when `n` is given, with an ellipsis). */
export function b64hex(v, n) {
  const s = atob(v || "");
  let out = "";
  const len = n ? Math.min(n, s.length) : s.length;
  for (let i = 0; i < len; i++) out += s.charCodeAt(i).toString(16).padStart(2, "0");
  return n && s.length > n ? out + "…" : out;
}

/** Text for the page: escapes what HTML would read as markup. */
export function esc(v) {
  return String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Shows `message` in the page's error line (or clears it). */
export function showError(message) {
  const el = document.getElementById("error");
  if (!el) return;
  el.textContent = message || "";
  el.hidden = !message;
}
