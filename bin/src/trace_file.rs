//! The trace file of `smesh sim run --trace FILE`: one JSON object per line, so that `jq` can
//! filter it, e.g. `jq -c 'select(.kind == "hare-output" and .layer == 21)' FILE`.
//!
//! A line is `{"i":INDEX,"t_us":TIME,"node":NODE,"kind":"KIND","fp":"FINGERPRINT"}`, plus
//! `"layer":L` or `"epoch":E` when the event names one. `node` is `null` for engine-wide records
//! (partitions, heals, link changes); `fp` is the record's 64-bit fingerprint in hex, the value
//! the digest folds.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use spacemesh_sim::NodeIdx;
use spacemesh_sim::trace::{TraceDetail, TraceRecord};

/// One line of the file (fields in this order).
#[derive(Debug, Serialize)]
struct Line {
    i: u64,
    t_us: u64,
    node: Option<u32>,
    kind: &'static str,
    fp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    layer: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    epoch: Option<u32>,
}

fn line(r: &TraceRecord) -> Line {
    Line {
        i: r.index,
        t_us: r.time.as_micros(),
        node: (r.node != NodeIdx::NONE).then_some(r.node.0),
        kind: r.kind,
        fp: format!("{:016x}", r.fingerprint),
        layer: match r.detail {
            Some(TraceDetail::Layer(l)) => Some(l),
            _ => None,
        },
        epoch: match r.detail {
            Some(TraceDetail::Epoch(e)) => Some(e),
            _ => None,
        },
    }
}

/// Writes `records` to `path`, one JSON object per line.
pub(crate) fn write(path: &Path, records: &[TraceRecord]) -> Result<()> {
    let file = std::fs::File::create(path)
        .with_context(|| format!("creating trace {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    for r in records {
        serde_json::to_writer(&mut out, &line(r))?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// The keys every line has, in order (for tests and docs).
#[cfg(test)]
const KEYS: [&str; 5] = ["i", "t_us", "node", "kind", "fp"];

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use spacemesh_sim::SimTime;

    use serde_json::Map;

    use super::*;

    // Lines parse as JSON with the documented keys; details and engine-wide nodes show as such.
    #[test]
    fn lines_parse() {
        let detail = Some(TraceDetail::Layer(21));
        let records = [
            TraceRecord {
                index: 0,
                time: SimTime(1_500),
                node: NodeIdx(3),
                kind: "hare-output",
                fingerprint: 0xab,
                detail,
            },
            TraceRecord {
                index: 1,
                time: SimTime(2_000),
                node: NodeIdx::NONE,
                kind: "heal",
                fingerprint: 7,
                detail: None,
            },
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.trace");
        write(&path, &records).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Map<String, Value>> =
            text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        for l in &lines {
            assert!(KEYS.iter().all(|k| l.contains_key(*k)), "{l:?}");
        }
        assert_eq!(lines[0]["fp"], "00000000000000ab");
        assert_eq!(lines[0]["layer"], 21);
        assert_eq!(lines[0]["node"], 3);
        assert_eq!(lines[1]["node"], Value::Null);
        assert!(!lines[1].contains_key("layer"));
        assert!(text.starts_with("{\"i\":0,\"t_us\":1500,\"node\":3,\"kind\":\"hare-output\","));
    }
}
