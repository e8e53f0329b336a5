//! The page's inline CSS and JavaScript.

use std::fmt::Write as _;

use super::picture::State;

/// The stylesheet; cell colours come from [`State`], the one place they are defined.
pub(super) fn style() -> String {
    let mut s = String::from(
        "body{font-family:sans-serif;margin:1.5em;color:#222}\
         table{border-collapse:collapse;margin-bottom:2em}\
         td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}\
         table.layers td{text-align:right}tr.warn{background:#fff0f0}\
         tr.ok td:nth-child(2){color:#070}tr.fail td:nth-child(2){color:#b00;font-weight:bold}\
         .verdict{font-size:1.2em;font-weight:bold}.verdict.ok{color:#070}.verdict.fail{color:#b00}\
         .scroll{overflow-x:auto}.note{color:#555;font-size:.9em}\
         .legend span{display:inline-block;margin:0 1.2em .3em 0;font-size:.9em}\
         .sw{display:inline-block;width:1em;height:1em;vertical-align:middle;margin-right:.35em;border:1px solid #999}\
         .net-sw{background:rgba(255,140,0,.3);border:1px dashed #e67e00}\
         .marker-sw{width:0;border:none;border-left:2px dashed #7a5a00}\
         svg text{font-size:11px;font-family:sans-serif}.ax{fill:#444}.wl{fill:#7a3f00;font-weight:bold}\
         line.tick{stroke:#fff;stroke-width:1;opacity:.6}\
         rect.net{fill:rgba(255,140,0,.28);stroke:#e67e00;stroke-dasharray:4 3;stroke-width:1.5}\
         line.marker{stroke:#7a5a00;stroke-width:1.5;stroke-dasharray:3 3}\
         .tip{position:fixed;display:none;background:#fffbe6;border:1px solid #aaa;padding:.3em .5em;\
         font-size:.85em;pointer-events:none;max-width:40em;box-shadow:1px 1px 4px #0003}",
    );
    s += "svg{background:#ececec}";
    for st in State::ALL {
        let _ = write!(s, ".{}{{fill:{}}}", st.class(), st.color());
    }
    s
}

/// Tooltips over the timeline, and a marker on the root element that the browser test reads to
/// know the script ran: `data-timeline="ROWSxCOLS"` counted from the DOM.
pub(super) const SCRIPT: &str = r#"
(function () {
  var svg = document.getElementById('timeline');
  if (!svg) { return; }
  var data = JSON.parse(document.getElementById('timeline-data').textContent);
  var d = svg.dataset, left = +d.left, top = +d.top, cw = +d.cw, rh = +d.rh, cols = +d.cols;
  var tip = document.getElementById('tip');
  svg.addEventListener('mousemove', function (e) {
    var box = svg.getBoundingClientRect();
    var sx = svg.viewBox.baseVal.width / box.width, sy = svg.viewBox.baseVal.height / box.height;
    var col = Math.floor(((e.clientX - box.left) * sx - left) / cw);
    var row = Math.floor(((e.clientY - box.top) * sy - top) / rh);
    if (row < 0 || col < 0 || row >= data.length || col >= cols) { tip.style.display = 'none'; return; }
    tip.textContent = data[row].l + ', layer ' + col + ': ' + (data[row].c[col] || 'nothing recorded');
    tip.style.left = (e.clientX + 14) + 'px';
    tip.style.top = (e.clientY + 14) + 'px';
    tip.style.display = 'block';
  });
  svg.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
  var rows = svg.querySelectorAll('g.row').length;
  document.documentElement.dataset.timeline = rows + 'x' + cols;
})();
"#;
