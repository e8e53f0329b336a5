//! The self-contained HTML page of `smesh sim run --report FILE.html`.

use serde_json::Value;

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Renders a run's JSON summary as one HTML page with no external resources.
pub(crate) fn report(j: &Value) -> String {
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
    let mut checks = String::new();
    if let Some(map) = j["checks"].as_object() {
        for (name, c) in map {
            let passed = c["passed"].as_bool().unwrap_or(false);
            checks += &format!(
                "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                if passed { "ok" } else { "fail" },
                esc(name),
                if passed { "passed" } else { "FAILED" },
                esc(c["detail"].as_str().unwrap_or(""))
            );
        }
    }
    let mut violations = String::new();
    for v in j["violations"].as_array().into_iter().flatten() {
        violations += &format!(
            "<tr><td>{}</td><td>{:.3}</td><td>{}</td><td>{}</td></tr>\n",
            esc(v["check"].as_str().unwrap_or("")),
            v["time_s"].as_f64().unwrap_or(0.0),
            esc(&v["node"].to_string()),
            esc(v["message"].as_str().unwrap_or(""))
        );
    }
    let mut stats = String::new();
    if let Some(map) = j["stats"].as_object() {
        for (k, v) in map {
            stats += &format!("<tr><th>{}</th><td>{}</td></tr>\n", esc(k), esc(&v.to_string()));
        }
    }
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>smesh run: {title}</title>\n<style>\
         body{{font-family:sans-serif;margin:2em;max-width:70em}}table{{border-collapse:collapse;margin-bottom:2em}}\
         td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}}\
         tr.ok td:nth-child(2){{color:#070}}tr.fail td:nth-child(2){{color:#b00;font-weight:bold}}</style></head>\n\
         <body><h1>{title}</h1>\n<h2>Run</h2><table>{rows}</table>\n<h2>Checks</h2>\
         <table><tr><th>check</th><th>result</th><th>detail</th></tr>{checks}</table>\n\
         <h2>Violations</h2><table><tr><th>check</th><th>time (s)</th><th>node</th><th>what</th></tr>{violations}</table>\n\
         <h2>Figures</h2><table>{stats}</table>\n</body></html>\n",
        title = esc(&format!("{} seed {}", j["scenario"].as_str().unwrap_or("?"), j["seed"])),
    )
}
