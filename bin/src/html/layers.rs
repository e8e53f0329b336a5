//! The per-layer table: for each layer, how many nodes had a hare output (and how many an empty
//! one), how many verified it and how late, reverts, and whether the nodes that applied it agree
//! on its block and state hash.

use std::fmt::Write as _;

use spacemesh_scenarios::timeline::{LayerSummary, TimelineReport};

/// The table; rows where nodes reverted or disagree are highlighted, quiet layers left out.
pub(super) fn table(t: &TimelineReport) -> String {
    let mut s = String::from(
        "<table class=\"layers\"><tr><th>layer</th><th>hare outputs</th><th>empty outputs</th>\
         <th>max iteration</th><th>verified by</th><th>verified after (median / max layers)</th>\
         <th>reverted at</th><th>applied by</th><th>block + state agreement</th>\
         <th>certified by</th><th>malfeasance proofs learned</th><th>nodes down</th></tr>\n",
    );
    let quiet = |l: &LayerSummary| *l == LayerSummary { layer: l.layer, ..LayerSummary::default() };
    for l in t.per_layer.iter().filter(|l| !quiet(l)) {
        row(&mut s, l, t.nodes);
    }
    s += "</table>\n<p class=\"note\">Layers in which nothing was recorded are left out.</p>\n";
    s
}

fn row(s: &mut String, l: &LayerSummary, nodes: u32) {
    let class = if l.reverted > 0 || l.distinct > 1 { " class=\"warn\"" } else { "" };
    let lag = match (l.lag_median, l.lag_max) {
        (Some(m), Some(x)) => format!("{m} / {x}"),
        _ => String::new(),
    };
    let agreement = match l.distinct {
        0 => String::new(),
        1 => format!("all {}", l.applied),
        d => format!("{} of {} ({d} versions)", l.agreeing, l.applied),
    };
    let _ = writeln!(
        s,
        "<tr{class}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{lag}</td><td>{}</td>\
         <td>{}</td><td>{agreement}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        l.layer,
        blank(l.outputs),
        blank(l.empty),
        if l.outputs + l.empty > 0 { l.iteration_max.to_string() } else { String::new() },
        fraction(l.verified, nodes),
        blank(l.reverted),
        blank(l.applied),
        blank(l.certified),
        blank(l.malfeasance),
        blank(l.down),
    );
}

/// Zero as an empty cell, so that what happened stands out.
fn blank(n: u32) -> String {
    if n == 0 { String::new() } else { n.to_string() }
}

fn fraction(n: u32, of: u32) -> String {
    if n == 0 { String::new() } else { format!("{n} / {of}") }
}
