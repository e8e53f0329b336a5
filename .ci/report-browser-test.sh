#!/usr/bin/env bash
# The HTML report in a real browser: runs partition-heal (60 nodes, seed 1) with --report, loads
# the page in headless Chromium, and checks after the page's script ran that the timeline has a
# row per node and a column per layer the run reached, and that the partition (layers 20-24) is
# shaded. Saves a screenshot for people to look at.
#
# Usage: .ci/report-browser-test.sh PATH/TO/smesh [OUT_DIR]   (OUT_DIR defaults to a temp dir)
# Needs chromium (Debian package `chromium`); installs it with apt-get when missing.
set -euo pipefail
smesh=${1:?usage: $0 PATH/TO/smesh [OUT_DIR]}
out=${2:-$(mktemp -d)}
mkdir -p "$out"
start=$(date +%s)

if ! command -v chromium >/dev/null 2>&1; then
    echo "installing chromium"
    apt-get install -y chromium chromium-driver >/dev/null 2>&1 \
        || { apt-get update >/dev/null && apt-get install -y chromium chromium-driver >/dev/null; }
fi

"$smesh" sim run --scenario partition-heal --nodes 60 --seed 1 \
    --report "$out/r.html" --json >"$out/r.json"

# Chromium itself sometimes dies from a signal (CI saw a segfault once, with the page fine in every
# other run). A crash is retried twice with a fresh profile and said so; any other failure (the
# timeout, a bad exit, a wrong page) is not retried. --disable-dev-shm-usage keeps its shared
# memory in /tmp: a container's /dev/shm is often 64 MB, a known cause of such crashes.
profiles=()
trap 'rm -rf "${profiles[@]}"' EXIT
browse() {
    local attempt rc profile
    for attempt in 1 2 3; do
        profile=$(mktemp -d)
        profiles+=("$profile")
        rc=0
        timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
            --disable-background-networking --disable-component-update --disable-sync \
            --disable-dev-shm-usage --user-data-dir="$profile" "$@" "file://$out/r.html" \
            2>"$out/chromium.log" || rc=$?
        if [ "$rc" -eq 0 ]; then return 0; fi
        echo "chromium $* exited with $rc (attempt $attempt of 3); its log ends:" >&2
        tail -n 5 "$out/chromium.log" >&2
        # 124 is timeout's own code; below 128 Chromium exited on its own: neither is a crash.
        if [ "$rc" -eq 124 ] || [ "$rc" -lt 128 ]; then return "$rc"; fi
    done
    return "$rc"
}
browse --dump-dom >"$out/r.dom"
browse --screenshot="$out/r.png" --window-size=1600,1200 >/dev/null

python3 - "$out/r.json" "$out/r.dom" <<'PY'
import json, math, re, sys
run = json.load(open(sys.argv[1]))
dom = open(sys.argv[2]).read()
nodes = run["nodes"]
cols = math.ceil(run["sim_seconds"] / 10)
mark = re.search(r'<html[^>]* data-timeline="(\d+)x(\d+)"', dom)
assert mark, "the page's script did not run (no data-timeline on <html>)"
assert (int(mark[1]), int(mark[2])) == (nodes, cols), f"script counted {mark[1]}x{mark[2]}, want {nodes}x{cols}"
rows = len(re.findall(r'<g class="row" data-row="\d+">', dom))
assert rows == nodes, f"{rows} timeline rows, want {nodes}"
svg = re.search(r'<svg id="timeline"[^>]*data-rows="(\d+)" data-cols="(\d+)"', dom)
assert svg and (int(svg[1]), int(svg[2])) == (nodes, cols), f"svg says {svg and svg.groups()}"
bands = re.findall(r'<rect class="net partition" data-from-layer="([\d.]+)" data-to-layer="([\d.]+)"', dom)
assert [(float(a), float(b)) for a, b in bands] == [(20.0, 24.0)], f"partition bands {bands}"
assert 'class="s5"' in dom, "no verified cells"
print(f"browser: {rows} rows x {cols} layers, partition shaded over layers 20-24, script ran")
PY
[ -s "$out/r.png" ] || { echo "no screenshot" >&2; exit 1; }
echo "report $(stat -c %s "$out/r.html") bytes; screenshot $out/r.png ($(( $(date +%s) - start ))s)"
