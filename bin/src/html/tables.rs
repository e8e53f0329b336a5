//! The report's tables from the run's JSON summary: run figures, checks, violations, stats.

use serde_json::Value;

use super::esc;

/// The run's headline figures.
pub(super) fn run(j: &Value) -> String {
    let mut rows = String::new();
    for key in [
        "scenario",
        "seed",
        "nodes",
        "layers",
        "sim_seconds",
        "wall_seconds",
        "speed",
        "events",
        "events_per_second",
        "peak_rss_bytes",
        "digest",
        "repro",
    ] {
        rows += &format!("<tr><th>{key}</th><td>{}</td></tr>\n", esc(&j[key].to_string()));
    }
    format!("<table>{rows}</table>\n")
}

/// Every check with its verdict and detail.
pub(super) fn checks(j: &Value) -> String {
    let mut rows = String::new();
    for (name, c) in j["checks"].as_object().into_iter().flatten() {
        let passed = c["passed"].as_bool().unwrap_or(false);
        rows += &format!(
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            if passed { "ok" } else { "fail" },
            esc(name),
            if passed { "passed" } else { "FAILED" },
            esc(c["detail"].as_str().unwrap_or(""))
        );
    }
    format!(
        "<table class=\"checks\"><tr><th>check</th><th>result</th><th>detail</th></tr>\n{rows}</table>\n"
    )
}

/// The violations found (the first few per check).
pub(super) fn violations(j: &Value) -> String {
    let list = j["violations"].as_array().map(Vec::as_slice).unwrap_or_default();
    if list.is_empty() {
        return "<p>None.</p>\n".to_string();
    }
    let mut rows = String::new();
    for v in list {
        rows += &format!(
            "<tr><td>{}</td><td>{:.3}</td><td>{}</td><td>{}</td></tr>\n",
            esc(v["check"].as_str().unwrap_or("")),
            v["time_s"].as_f64().unwrap_or(0.0),
            esc(&v["node"].to_string()),
            esc(v["message"].as_str().unwrap_or(""))
        );
    }
    format!(
        "<table><tr><th>check</th><th>time (s)</th><th>node</th><th>what</th></tr>\n{rows}</table>\n"
    )
}

/// The scenario's figures.
pub(super) fn stats(j: &Value) -> String {
    let mut rows = String::new();
    for (k, v) in j["stats"].as_object().into_iter().flatten() {
        rows += &format!("<tr><th>{}</th><td>{}</td></tr>\n", esc(k), esc(&v.to_string()));
    }
    format!("<table>{rows}</table>\n")
}
