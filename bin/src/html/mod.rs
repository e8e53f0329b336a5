//! The self-contained HTML page of `smesh sim run --report FILE.html`: one file with inline CSS,
//! SVG and a little JavaScript (tooltips), no external resources.
//!
//! The page shows, top to bottom: the verdict, the timeline picture (nodes by layers, see
//! [`picture`]), the checks and violations, the per-layer table ([`layers`]), and the run's
//! figures ([`tables`]). Without a timeline (a run recorded without one) the picture and the
//! per-layer table are left out.

mod assets;
mod layers;
mod picture;
mod tables;

use serde_json::Value;
use spacemesh_scenarios::timeline::TimelineReport;

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Renders a run's JSON summary and its timeline as one HTML page.
pub(crate) fn report(j: &Value, timeline: Option<&TimelineReport>) -> String {
    let title = esc(&format!("{} seed {}", j["scenario"].as_str().unwrap_or("?"), j["seed"]));
    let passed = j["passed"].as_bool().unwrap_or(false);
    let verdict = if passed {
        "<p class=\"verdict ok\">Every check passed.</p>".to_string()
    } else {
        format!(
            "<p class=\"verdict fail\">A check failed. Reproduce with <code>{}</code></p>",
            esc(j["repro"].as_str().unwrap_or(""))
        )
    };
    let mut body = format!("<h1>{title}</h1>\n{verdict}\n");
    if let Some(t) = timeline {
        body += "<h2>Timeline</h2>\n";
        body += &picture::render(t);
    }
    body += "<h2>Checks</h2>\n";
    body += &tables::checks(j);
    body += "<h2>Violations</h2>\n";
    body += &tables::violations(j);
    if let Some(t) = timeline {
        body += "<h2>Layers</h2>\n";
        body += &layers::table(t);
    }
    body += "<h2>Run</h2>\n";
    body += &tables::run(j);
    body += "<h2>Figures</h2>\n";
    body += &tables::stats(j);
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>smesh run: {title}</title>\n\
         <style>{style}</style></head>\n<body>\n{body}<script>{script}</script>\n</body></html>\n",
        style = assets::style(),
        script = assets::SCRIPT,
    )
}

#[cfg(test)]
mod tests;
