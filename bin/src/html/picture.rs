//! The timeline picture: nodes (rows) by layers (columns), each cell coloured by what the node
//! did in the layer, partitions shaded across all rows, link and clock changes marked, and a
//! legend. Past [`ROWS_MAX`] nodes, rows are buckets of consecutive nodes and a bucket's cell
//! takes the most notable state of its nodes (the tooltip gives the counts).
//!
//! Runs of equal cells in a row are drawn as one rectangle, and per-cell tooltip text travels as
//! one JSON array per row, so a 1000-node run stays well under a few megabytes.

use std::fmt::Write as _;

use spacemesh_scenarios::timeline::{
    CERTIFIED, Cell, DOWN, EQUIVOCATED, STARTED, TimelineReport, UNSYNCED,
};

use super::esc;

/// Most rows drawn; more nodes are grouped into buckets.
pub(super) const ROWS_MAX: u32 = 200;
/// Left margin (row labels), pixels.
const LEFT: u32 = 84;
/// Top margin (layer axis and window labels), pixels.
const TOP: u32 = 44;
/// Width the cells aim to fill, pixels.
const WIDTH: u32 = 1400;

/// What a cell shows, least notable first (a bucket shows its most notable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum State {
    Idle,
    Unsynced,
    Empty,
    Output,
    VerifiedEmpty,
    VerifiedWithout,
    Verified,
    Malfeasance,
    Reverted,
    Down,
}

impl State {
    /// Every state, in legend order.
    pub(super) const ALL: [State; 10] = [
        State::Output,
        State::Empty,
        State::Verified,
        State::VerifiedEmpty,
        State::VerifiedWithout,
        State::Reverted,
        State::Malfeasance,
        State::Down,
        State::Unsynced,
        State::Idle,
    ];

    /// The CSS class of its cells.
    pub(super) fn class(self) -> &'static str {
        match self {
            State::Idle => "s0",
            State::Unsynced => "s1",
            State::Empty => "s2",
            State::Output => "s3",
            State::VerifiedEmpty => "s4",
            State::Verified => "s5",
            State::Malfeasance => "s6",
            State::Reverted => "s7",
            State::Down => "s8",
            State::VerifiedWithout => "s9",
        }
    }

    /// Its colour.
    pub(super) fn color(self) -> &'static str {
        match self {
            State::Idle => "#ececec",
            State::Unsynced => "#fdd49e",
            State::Empty => "#c6dbef",
            State::Output => "#4292c6",
            State::VerifiedEmpty => "#a1d99b",
            State::Verified => "#238b45",
            State::VerifiedWithout => "#d9b44a",
            State::Malfeasance => "#8c6bb1",
            State::Reverted => "#e31a1c",
            State::Down => "#404040",
        }
    }

    /// Its legend text.
    pub(super) fn label(self) -> &'static str {
        match self {
            State::Idle => "nothing yet",
            State::Unsynced => "not synced",
            State::Empty => "empty hare output",
            State::Output => "hare output (not verified)",
            State::VerifiedEmpty => "verified, empty hare output",
            State::Verified => "verified",
            State::VerifiedWithout => "verified, no hare output of its own",
            State::Malfeasance => "learned a malfeasance proof",
            State::Reverted => "reverted",
            State::Down => "node down (crashed or paused)",
        }
    }
}

/// The state a node's cell shows.
pub(super) fn state(c: &Cell) -> State {
    let empty = c.hare.is_some_and(|h| h.proposals == 0);
    if c.flags & DOWN != 0 {
        State::Down
    } else if c.reverts > 0 {
        State::Reverted
    } else if c.malfeasance > 0 {
        State::Malfeasance
    } else if c.verified_in.is_some() {
        match c.hare {
            None => State::VerifiedWithout,
            Some(_) if empty => State::VerifiedEmpty,
            Some(_) => State::Verified,
        }
    } else if c.hare.is_some() {
        if empty { State::Empty } else { State::Output }
    } else if c.flags & UNSYNCED != 0 {
        State::Unsynced
    } else {
        State::Idle
    }
}

/// Where things go.
#[derive(Debug, Clone, Copy)]
struct Layout {
    rows: u32,
    cols: u32,
    /// Nodes per row.
    bucket: u32,
    cw: u32,
    rh: u32,
}

impl Layout {
    fn new(t: &TimelineReport) -> Self {
        let bucket = t.nodes.div_ceil(ROWS_MAX).max(1);
        let rows = t.nodes.div_ceil(bucket);
        let cols = t.layers;
        let cw = (WIDTH / cols.max(1)).clamp(6, 24);
        let rh = (800 / rows.max(1)).clamp(3, 14);
        Layout { rows, cols, bucket, cw, rh }
    }

    fn x(&self, layer: f64) -> f64 {
        f64::from(LEFT) + layer * f64::from(self.cw)
    }

    fn nodes(&self, row: u32, t: &TimelineReport) -> std::ops::Range<u32> {
        row * self.bucket..((row + 1) * self.bucket).min(t.nodes)
    }

    fn label(&self, row: u32, t: &TimelineReport) -> String {
        let n = self.nodes(row, t);
        if n.len() == 1 {
            format!("node {}", n.start)
        } else {
            format!("nodes {}-{}", n.start, n.end - 1)
        }
    }
}

/// The picture, its legend and its tooltip data.
pub(super) fn render(t: &TimelineReport) -> String {
    let l = Layout::new(t);
    let width = LEFT + l.cols * l.cw + 8;
    let height = TOP + l.rows * l.rh + 4;
    let mut svg = format!(
        "<div class=\"scroll\"><svg id=\"timeline\" \
         width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         data-rows=\"{}\" data-cols=\"{}\" data-bucket=\"{}\" data-left=\"{LEFT}\" \
         data-top=\"{TOP}\" data-cw=\"{}\" data-rh=\"{}\">\n",
        l.rows, l.cols, l.bucket, l.cw, l.rh
    );
    axis(&mut svg, &l, t);
    for row in 0..l.rows {
        cells(&mut svg, &l, t, row);
    }
    windows(&mut svg, &l, t);
    svg += "</svg></div>\n<div id=\"tip\" class=\"tip\"></div>\n";
    let note = if l.bucket > 1 {
        format!(
            "<p class=\"note\">{} nodes in {} rows of {}: a row shows the most notable state of its nodes (hover for counts).</p>\n",
            t.nodes, l.rows, l.bucket
        )
    } else {
        String::new()
    };
    let data = tooltip_data(t, &l).replace("</", "<\\/");
    format!(
        "{}{note}{svg}<script id=\"timeline-data\" type=\"application/json\">{data}</script>\n",
        legend(t)
    )
}

/// Layer numbers along the top and row labels down the left.
fn axis(svg: &mut String, l: &Layout, t: &TimelineReport) {
    let tick = [1, 2, 5, 10, 20, 50].into_iter().find(|k| k * l.cw >= 28).unwrap_or(100);
    for layer in (0..l.cols).step_by(tick as usize) {
        let x = l.x(f64::from(layer));
        let _ = writeln!(
            svg,
            "<text class=\"ax\" x=\"{x}\" y=\"{}\">{layer}</text><line class=\"tick\" x1=\"{x}\" x2=\"{x}\" y1=\"{}\" y2=\"{}\"/>",
            TOP - 22,
            TOP - 4,
            TOP + l.rows * l.rh
        );
    }
    let _ = writeln!(svg, "<text class=\"ax\" x=\"2\" y=\"{}\">layer</text>", TOP - 22);
    let every = (12 / l.rh).max(1).next_power_of_two();
    for row in (0..l.rows).step_by(every as usize) {
        let y = TOP + row * l.rh + l.rh;
        let _ = writeln!(
            svg,
            "<text class=\"ax\" x=\"{}\" y=\"{y}\" text-anchor=\"end\">{}</text>",
            LEFT - 4,
            l.nodes(row, t).start
        );
    }
}

/// One row: runs of equal states as single rectangles.
fn cells(svg: &mut String, l: &Layout, t: &TimelineReport, row: u32) {
    let y = TOP + row * l.rh;
    let _ = write!(svg, "<g class=\"row\" data-row=\"{row}\">");
    let states: Vec<State> = (0..l.cols)
        .map(|layer| l.nodes(row, t).map(|n| state(t.cell(n, layer))).max().unwrap_or(State::Idle))
        .collect();
    let mut start = 0;
    for layer in 1..=states.len() {
        if layer < states.len() && states[layer] == states[start] {
            continue;
        }
        if states[start] != State::Idle {
            let _ = write!(
                svg,
                "<rect class=\"{}\" x=\"{}\" y=\"{y}\" width=\"{}\" height=\"{}\"/>",
                states[start].class(),
                LEFT + start as u32 * l.cw,
                (layer - start) as u32 * l.cw,
                l.rh
            );
        }
        start = layer;
    }
    svg.push_str("</g>\n");
}

/// Partitions as shaded bands across every row, other faults as marked lines.
fn windows(svg: &mut String, l: &Layout, t: &TimelineReport) {
    let bottom = TOP + l.rows * l.rh;
    for w in &t.net_windows {
        let (from, to) = (w.from_s / t.layer_seconds, w.to_s / t.layer_seconds);
        let (x0, x1) = (l.x(from), l.x(to));
        let _ = write!(
            svg,
            "<rect class=\"net {kind}\" data-from-layer=\"{from}\" data-to-layer=\"{to}\" x=\"{x0}\" y=\"{TOP}\" width=\"{}\" height=\"{}\"><title>{kind} {detail}, {:.0}-{:.0} s</title></rect>\n\
             <text class=\"wl\" x=\"{x0}\" y=\"{}\">{kind} {detail}</text>\n",
            x1 - x0,
            bottom - TOP,
            w.from_s,
            w.to_s,
            TOP - 8,
            kind = w.kind,
            detail = esc(&w.detail),
        );
    }
    for m in &t.markers {
        let x = l.x(m.at_s / t.layer_seconds);
        let who = m.node.map(|n| format!(" node {n}")).unwrap_or_default();
        let _ = writeln!(
            svg,
            "<line class=\"marker\" x1=\"{x}\" x2=\"{x}\" y1=\"{}\" y2=\"{bottom}\"><title>{}{who} at {:.1} s</title></line>\
             <text class=\"wl\" x=\"{x}\" y=\"{}\">{}</text>",
            TOP - 14,
            m.kind,
            m.at_s,
            TOP - 8,
            m.kind
        );
    }
}

/// The legend: every state's colour, and the window styles.
fn legend(t: &TimelineReport) -> String {
    let mut s = String::from("<div class=\"legend\">");
    for st in State::ALL {
        let _ = write!(
            s,
            "<span><i class=\"sw\" style=\"background:{}\"></i>{}</span>",
            st.color(),
            st.label()
        );
    }
    s += "<span><i class=\"sw net-sw\"></i>partition (network split until the heal)</span>";
    s += "<span><i class=\"sw marker-sw\"></i>link / clock change</span>";
    let _ = write!(
        s,
        "</div>\n<p class=\"note\">{} nodes, layers 0-{} ({} s each); run ends at {:.0} s. A cell takes the most notable of: down, reverted, malfeasance proof, verified, hare output, not synced.</p>\n",
        t.nodes,
        t.layers.saturating_sub(1),
        t.layer_seconds,
        t.end_s
    );
    s
}

/// Tooltip text of every row and cell, as JSON: `[{"l": label, "c": [text per layer]}]`.
fn tooltip_data(t: &TimelineReport, l: &Layout) -> String {
    let majority: Vec<Option<u32>> = (0..l.cols).map(|layer| majority_pair(t, layer)).collect();
    let rows: Vec<serde_json::Value> = (0..l.rows)
        .map(|row| {
            let nodes = l.nodes(row, t);
            let texts: Vec<String> = (0..l.cols)
                .map(|layer| {
                    if nodes.len() == 1 {
                        node_text(t, nodes.start, layer, majority[layer as usize])
                    } else {
                        bucket_text(t, nodes.clone(), layer)
                    }
                })
                .collect();
            serde_json::json!({ "l": l.label(row, t), "c": texts })
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// What one node did in one layer, in a short phrase.
pub(super) fn node_text(
    t: &TimelineReport,
    node: u32,
    layer: u32,
    majority: Option<u32>,
) -> String {
    let c = t.cell(node, layer);
    let mut parts = Vec::new();
    match c.hare {
        Some(h) if h.proposals == 0 => {
            parts.push(format!("empty hare output (iteration {})", h.iteration))
        }
        Some(h) => {
            parts.push(format!("hare output {} proposals (iteration {})", h.proposals, h.iteration))
        }
        None => {}
    }
    if let Some(v) = c.verified_in {
        parts.push(format!("verified in layer {v} (+{})", u32::from(v).saturating_sub(layer)));
    }
    if let Some(a) = c.applied {
        parts.push(if majority == Some(a) {
            "applied (as most)".into()
        } else {
            "applied a minority block/state".into()
        });
    }
    if c.reverts > 0 {
        parts.push(format!("reverted {}x", c.reverts));
    }
    if c.malfeasance > 0 {
        parts.push(format!("{} malfeasance proofs", c.malfeasance));
    }
    for (flag, text) in [
        (DOWN, "down"),
        (UNSYNCED, "not synced"),
        (STARTED, "(re)started"),
        (CERTIFIED, "certified"),
        (EQUIVOCATED, "equivocated"),
    ] {
        if c.flags & flag != 0 {
            parts.push(text.into());
        }
    }
    parts.join(", ")
}

/// The (block, state) fingerprint most nodes applied in `layer`.
fn majority_pair(t: &TimelineReport, layer: u32) -> Option<u32> {
    let mut counts = std::collections::BTreeMap::new();
    for n in 0..t.nodes {
        if let Some(a) = t.cell(n, layer).applied {
            *counts.entry(a).or_insert(0u32) += 1;
        }
    }
    counts.into_iter().max_by_key(|(_, c)| *c).map(|(a, _)| a)
}

/// Counts of the states of a bucket's nodes in one layer.
fn bucket_text(t: &TimelineReport, nodes: std::ops::Range<u32>, layer: u32) -> String {
    let mut counts = [0u32; State::ALL.len()];
    for n in nodes {
        counts[state(t.cell(n, layer)) as usize] += 1;
    }
    State::ALL
        .iter()
        .filter(|s| counts[**s as usize] > 0 && **s != State::Idle)
        .map(|s| format!("{} {}", counts[*s as usize], s.label()))
        .collect::<Vec<_>>()
        .join(", ")
}
