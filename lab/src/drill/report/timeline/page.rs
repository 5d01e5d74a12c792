//! The page of `report.html`, rendered with maud from a [`Timeline`]: header, the SVG timeline,
//! the RTO phases, the measures, the steps and a legend. maud escapes every value spliced in;
//! SVG elements are always closed explicitly (`<line …></line>`), as HTML's parser treats an
//! unclosed one in foreign content as the parent of what follows.

use std::fmt;

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::{
    LagSeries, Ledger, LedgerPoint, NodeLane, Readiness, Rto, StepMark, Timeline, GAP_MIN,
};
use crate::drill::event::{Outcome, Role};

/// Width of the plot area (the time axis), in pixels.
pub(super) const PLOT_W: f64 = 1000.0;
/// Width of the lane-label column left of the plot.
pub(super) const LEFT: f64 = 120.0;
/// Room right of the plot (for the last tick label and fault labels).
const RIGHT: f64 = 40.0;
/// Height of a node lane, and the space between lanes.
const LANE_H: f64 = 40.0;
const LANE_GAP: f64 = 6.0;
/// Heights of the ledger and lag lanes.
const LEDGER_H: f64 = 84.0;
const LAG_H: f64 = 70.0;
/// Rows available for step numbers and fault labels before they overlap.
const STEP_ROWS: usize = 3;
const FAULT_ROWS: usize = 4;
/// Lag samples further apart than this (seconds) are not joined by a line.
const LAG_BREAK: f64 = 5.0;
/// Colours of the lag lines, one per standby in turn.
const LAG_COLOURS: &[&str] = &["#7b3fa0", "#0f8b8d", "#c05621", "#2b6cb0", "#8a6d1f"];
/// A line break between elements, so the page reads (and diffs) line by line.
const NL: PreEscaped<&str> = PreEscaped("\n");

/// A number with one decimal, never `-0.0`.
pub(super) struct F(pub(super) f64);

impl fmt::Display for F {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = (self.0 * 10.0).round() / 10.0;
        write!(f, "{:.1}", if v == 0.0 { 0.0 } else { v })
    }
}

impl Readiness {
    fn class(self) -> &'static str {
        match self {
            Readiness::Unknown => "ru",
            Readiness::Accepting => "r0",
            Readiness::Rejecting => "r1",
            Readiness::NoResponse => "r2",
        }
    }
}

/// The status word and CSS class of a step.
fn status(s: &StepMark) -> (&'static str, &'static str) {
    match &s.outcome {
        Some(Outcome::Passed) => ("passed", "ok"),
        Some(Outcome::Failed { .. }) => ("FAILED", "bad"),
        Some(Outcome::Error { .. }) => ("ERROR", "bad"),
        Some(Outcome::Skipped { .. }) => ("skipped", "skip"),
        None => ("unfinished", "skip"),
    }
}

/// The spacing of the time axis' ticks (seconds): at most a dozen ticks.
pub(super) fn tick_step(end: f64) -> f64 {
    const STEPS: &[f64] = &[
        1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0,
    ];
    STEPS
        .iter()
        .copied()
        .find(|s| end / s <= 12.0)
        .unwrap_or_else(|| (end / 12.0 / 3600.0).ceil() * 3600.0)
}

/// A tick's label: seconds for short drills, minutes (and hours) for long ones.
pub(super) fn tick_label(t: f64, step: f64) -> String {
    let t = t.round() as u64;
    if step < 60.0 {
        format!("{t}s")
    } else if t >= 3600 {
        match (t / 3600, t % 3600 / 60) {
            (h, 0) => format!("{h}h"),
            (h, m) => format!("{h}h{m:02}m"),
        }
    } else {
        format!("{}m", t / 60)
    }
}
/// Greedily spreads labels (`(left, right)` in pixels, in drawing order) over at most `max`
/// rows so that they do not overlap; returns each label's row and the number of rows used.
fn label_rows(spans: &[(f64, f64)], max: usize) -> (Vec<usize>, usize) {
    let mut ends: Vec<f64> = Vec::new();
    let rows = spans
        .iter()
        .map(|&(left, right)| {
            let row = match ends.iter().position(|&e| e + 4.0 <= left) {
                Some(r) => r,
                None if ends.len() < max => {
                    ends.push(f64::NEG_INFINITY);
                    ends.len() - 1
                }
                None => (0..ends.len())
                    .min_by(|&a, &b| ends[a].total_cmp(&ends[b]))
                    .unwrap_or(0),
            };
            ends[row] = right;
            row
        })
        .collect();
    (rows, ends.len())
}

/// A rough text width for the 11 px sans-serif labels.
fn text_w(s: &str) -> f64 {
    s.chars().count() as f64 * 6.4
}

const CSS: &str = "\
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1b1f24;margin:24px auto;max-width:1200px;padding:0 12px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f2f4f7;padding:1px 4px;border-radius:3px}
.meta{color:#4a5563;margin:0 0 8px}
.proves{max-width:900px;margin:0}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:700;color:#fff}
.badge.pass{background:#2e9e44}.badge.fail{background:#d1343a}.badge.none{background:#7b8490}
svg{display:block;font:11px system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}
svg text{fill:#1b1f24}
.r0{fill:#2e9e44}.r1{fill:#f0a202}.r2{fill:#d1343a}.ru{fill:#c5cad1}
.lane{fill:#fafbfc;stroke:#d5d9de}
.grid{stroke:#e3e6ea}
.axis{stroke:#8a939e}
svg text.dim{fill:#6b7480;font-size:10px}
svg text.name{font-weight:700;font-size:12px}
.role{stroke:#10213f;stroke-width:2}
.role-primary{fill:#1d3f8f}.role-standby{fill:#6a4fa3}
svg text.role-primary,svg text.role-standby{font-weight:700;font-size:10.5px}
svg text.role-primary{fill:#1d3f8f}svg text.role-standby{fill:#6a4fa3}
.fault{stroke:#1b1f24;stroke-width:1.5}.heal{stroke:#1b1f24;stroke-width:1.5;stroke-dasharray:5 3}
svg text.fault-l{font-weight:600}
.step{fill:#9aa3ad}.step-tick{stroke:#6b7480}
.step.bad{fill:#d1343a}.step-tick.bad{stroke:#d1343a}svg text.bad{fill:#d1343a;font-weight:700}
.gap{fill:#f0a202;fill-opacity:.2}
.acked{fill:none;stroke:#1d6fb8;stroke-width:2;stroke-linejoin:round}
.failw{stroke:#d1343a;stroke-width:2}
.lag{fill:none;stroke-width:1.8;stroke-linejoin:round}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #e3e6ea;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f5f6f8;font-weight:600}
td.num,th.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
tr.bad td{background:#fdf0f0}
td .ok{color:#2e7d3a;font-weight:600}td .bad{color:#c0262d;font-weight:700}td .skip{color:#6b7480}
.detail div{margin:1px 0}.detail code{white-space:pre-wrap}.k{display:inline-block;width:64px;color:#6b7480}
.legend{display:flex;flex-wrap:wrap;gap:6px 22px;padding:0;margin:0;list-style:none}
.legend li{display:flex;align-items:center;gap:6px}
.sw{display:inline-block;width:22px;height:12px;border-radius:2px}
.vl{display:inline-block;width:0;height:16px;border-left:2px solid #1b1f24}.vl.dash{border-left-style:dashed}
table.measures{width:auto;min-width:360px}table.measures td.num{padding-left:40px}
.ph{stroke:#fff;stroke-width:1}.p-detect{fill:#f0a202}.p-promote{fill:#d1343a}.p-write{fill:#1d6fb8}
";

/// The whole page.
pub(super) fn page(t: &Timeline) -> Markup {
    let h = &t.header;
    let title = if h.title.is_empty() {
        "Drill run"
    } else {
        &h.title
    };
    let (result, badge) = match h.passed {
        Some(_) if h.stopped_at.is_some() => ("STOPPED", "none"),
        Some(true) => ("PASSED", "pass"),
        Some(false) => ("FAILED", "fail"),
        None => ("UNFINISHED", "none"),
    };
    html! {
        (DOCTYPE) (NL)
        html lang="en" {
            (NL)
            head {
                (NL) meta charset="utf-8"; (NL)
                meta name="viewport" content="width=device-width"; (NL)
                title { (title) " — " (result) } (NL)
                style { (NL) (PreEscaped(CSS)) } (NL)
            }
            (NL)
            body {
                (NL)
                header {
                    (NL) h1 { (title) } (NL)
                    p.meta {
                        @if !h.name.is_empty() { code { (h.name) } " · " }
                        @if !h.pg_version.is_empty() { "PostgreSQL " (h.pg_version) " · " }
                        @if !h.profile.is_empty() { "profile " code { (h.profile) } " · " }
                        span class={ "badge " (badge) } { (result) }
                        @if let Some(took) = h.took { " in " (F(took)) " s" }
                    }
                    (NL)
                    @if !h.proves.is_empty() {
                        p.proves { strong { "What it proves." } " " (h.proves) } (NL)
                    }
                }
                (NL)
                section { (NL) h2 { "Timeline" } (NL) (svg(t)) (NL) } (NL)
                @if let Some(rto) = &t.rto {
                    section.rto {
                        (NL) h2 { "Recovery time" } (NL)
                        p.meta { "Each phase of the outage, in seconds after the fault was injected." }
                        (NL) (rto_svg(rto)) (NL)
                    }
                    (NL)
                }
                (measure_table(t))
                (step_table(t))
                (legend(t))
            }
            (NL)
        }
        (NL)
    }
}

/// One phase of the RTO bar: from the end of the previous phase (or the fault) to its own.
#[derive(Debug, Clone, PartialEq)]
struct Phase {
    name: &'static str,
    class: &'static str,
    from: f64,
    to: f64,
}

/// The phases the run reached, in order; a phase measured before the one preceding it (which
/// the runner does not do) is left out rather than drawn backwards.
fn phases(r: &Rto) -> Vec<Phase> {
    let mut from = 0.0;
    let mut out = Vec::new();
    for (name, class, at) in [
        ("detection", "p-detect", r.detection),
        ("promotion", "p-promote", r.promoted),
        ("first acknowledged write", "p-write", r.first_write),
    ] {
        if let Some(to) = at.filter(|to| *to >= from) {
            out.push(Phase {
                name,
                class,
                from,
                to,
            });
            from = to;
        }
    }
    out
}

/// The RTO phases as one bar over the seconds after the fault: detection, promotion and the
/// first acknowledged write side by side, fencing as a dashed mark, each labelled with its
/// length below and its end above.
pub(super) fn rto_svg(r: &Rto) -> Markup {
    let phases = phases(r);
    let total = phases
        .last()
        .map(|p| p.to)
        .into_iter()
        .chain(r.fenced)
        .fold(0.0_f64, f64::max);
    let total = if total > 0.0 { total } else { 1.0 };
    let x = |s: f64| LEFT + s.clamp(0.0, total) / total * PLOT_W;
    let (bar_top, bar_h) = (22.0, 20.0);
    let labels: Vec<String> = phases
        .iter()
        .map(|p| format!("{} {} s", p.name, F(p.to - p.from)))
        .collect();
    let spans: Vec<(f64, f64)> = phases
        .iter()
        .zip(&labels)
        .map(|(p, l)| {
            let mid = (x(p.from) + x(p.to)) / 2.0;
            let w = text_w(l);
            let left = (mid - w / 2.0).clamp(LEFT, LEFT + PLOT_W - w);
            (left, left + w)
        })
        .collect();
    let (rows, used) = label_rows(&spans, 3);
    // Each phase's end above the bar, unless it would run into the label before it.
    let mut last_right = LEFT + text_w("0 s");
    let show_end: Vec<bool> = phases
        .iter()
        .map(|p| {
            let fits = x(p.to) - text_w(&format!("{} s", F(p.to))) >= last_right + 4.0;
            if fits {
                last_right = x(p.to);
            }
            fits
        })
        .collect();
    let label_y = bar_top + bar_h + 14.0;
    let height = label_y + used.max(1) as f64 * 13.0;
    let right_edge = LEFT + PLOT_W + RIGHT;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(F(right_edge)) height=(F(height))
            viewBox={ "0 0 " (F(right_edge)) " " (F(height)) } role="img"
            aria-label="RTO phases" {
            (NL)
            text x="10" y=(F(bar_top + 10.0)) class="name" { "RTO" } (NL)
            text x="10" y=(F(bar_top + 22.0)) class="dim" { "after the fault" } (NL)
            text x=(F(LEFT)) y=(F(bar_top - 6.0)) text-anchor="start" class="dim" { "0 s" } (NL)
            @for (i, p) in phases.iter().enumerate() {
                g data-phase=(p.name) {
                    title {
                        (p.name) ": " (F(p.from)) " s to " (F(p.to)) " s after the fault ("
                        (F(p.to - p.from)) " s)"
                    }
                    rect class={ "ph " (p.class) } x=(F(x(p.from))) y=(F(bar_top))
                        width=(F((x(p.to) - x(p.from)).max(1.5))) height=(F(bar_h)) {}
                    text x=(F(spans[i].0)) y=(F(label_y + rows[i] as f64 * 13.0)) { (labels[i]) }
                    @if show_end[i] {
                        text x=(F(x(p.to))) y=(F(bar_top - 6.0)) text-anchor="end" class="dim" {
                            (F(p.to)) " s"
                        }
                    }
                }
                (NL)
            }
            @if let Some(at) = r.fenced {
                g data-phase="fenced" {
                    title { "the old primary fenced " (F(at)) " s after the fault" }
                    line.heal x1=(F(x(at))) y1=(F(bar_top - 4.0)) x2=(F(x(at)))
                        y2=(F(bar_top + bar_h + 4.0)) {}
                }
                (NL)
            }
        }
    }
}

/// Vertical positions of the SVG's parts.
struct Layout {
    /// Baseline of the step bars.
    step_line: f64,
    /// Baseline of the first row of fault labels.
    fault_base: f64,
    /// Top of the first lane.
    lanes_top: f64,
    /// Top of the ledger lane, if drawn.
    ledger_top: Option<f64>,
    /// Top of the replay lag lane (bytes behind the primary), if drawn.
    lag_bytes_top: Option<f64>,
    /// Top of the lane of seconds since the last replayed commit, if drawn.
    lag_top: Option<f64>,
    /// Bottom of the last lane.
    lanes_bottom: f64,
}

/// Where the fault labels go: each label's text, its row, and whether it is drawn left of its
/// line (when right of it would leave the picture).
struct FaultLabels {
    text: Vec<String>,
    row: Vec<usize>,
    flip: Vec<bool>,
    rows: usize,
}

fn fault_labels(t: &Timeline, x: &impl Fn(f64) -> f64) -> FaultLabels {
    let right_edge = LEFT + PLOT_W + RIGHT;
    let text: Vec<String> = t
        .faults
        .iter()
        .map(|f| {
            if f.heal {
                format!("healed {} on {}", f.fault, f.node)
            } else {
                format!("{} on {}", f.fault, f.node)
            }
        })
        .collect();
    let spans: Vec<(f64, f64, bool)> = t
        .faults
        .iter()
        .zip(&text)
        .map(|(f, text)| {
            let (at, w) = (x(f.at), text_w(text));
            if at + 4.0 + w > right_edge {
                (at - 4.0 - w, at - 4.0, true)
            } else {
                (at + 4.0, at + 4.0 + w, false)
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..spans.len()).collect();
    order.sort_by(|&a, &b| spans[a].0.total_cmp(&spans[b].0));
    let (sorted_rows, rows) = label_rows(
        &order
            .iter()
            .map(|&i| (spans[i].0, spans[i].1))
            .collect::<Vec<_>>(),
        FAULT_ROWS,
    );
    let mut row = vec![0; spans.len()];
    for (k, &i) in order.iter().enumerate() {
        row[i] = sorted_rows[k];
    }
    FaultLabels {
        text,
        row,
        flip: spans.iter().map(|s| s.2).collect(),
        rows,
    }
}

fn layout(t: &Timeline, step_rows: usize, fault_rows: usize) -> Layout {
    let step_line = 6.0 + step_rows.max(1) as f64 * 12.0 + 4.0;
    let fault_base = step_line + 18.0;
    let lanes_top = step_line + 10.0 + fault_rows as f64 * 13.0 + 4.0;
    let mut y = lanes_top + t.lanes.len() as f64 * (LANE_H + LANE_GAP);
    let ledger_top = (!t.ledger.points.is_empty()).then(|| {
        let top = y + 4.0;
        y = top + LEDGER_H + LANE_GAP;
        top
    });
    let lag_bytes_top = LagSeries::any_bytes(&t.lag).then(|| {
        let top = y + 4.0;
        y = top + LAG_H + LANE_GAP;
        top
    });
    let lag_top = (!t.lag.is_empty()).then(|| {
        let top = y + 4.0;
        y = top + LAG_H + LANE_GAP;
        top
    });
    Layout {
        step_line,
        fault_base,
        lanes_top,
        ledger_top,
        lag_bytes_top,
        lag_top,
        lanes_bottom: y - LANE_GAP,
    }
}

/// The timeline: one `<g data-lane=…>` per lane (each node, then the ledger, the replay lag in
/// bytes and the seconds since the last replayed commit when drawn), under the step row and
/// over the time axis, crossed by the faults.
fn svg(t: &Timeline) -> Markup {
    let x = |s: f64| LEFT + s.clamp(0.0, t.end) / t.end * PLOT_W;
    let right_edge = LEFT + PLOT_W + RIGHT;
    let step_spans: Vec<(f64, f64)> = t
        .steps
        .iter()
        .map(|s| {
            let left = x(s.start) - 2.0;
            (left, left + text_w(&s.number.to_string()))
        })
        .collect();
    let (rows, step_rows) = label_rows(&step_spans, STEP_ROWS);
    // A step number that would overlap another in its row is left out (its hover tells it),
    // unless the step failed.
    let mut shown_right = vec![f64::NEG_INFINITY; step_rows.max(1)];
    let step_row: Vec<Option<usize>> = rows
        .iter()
        .zip(&step_spans)
        .zip(&t.steps)
        .map(|((&row, &(left, right)), s)| {
            (left >= shown_right[row] + 2.0 || s.bad()).then(|| {
                shown_right[row] = right;
                row
            })
        })
        .collect();
    let faults = fault_labels(t, &x);
    let l = layout(t, step_rows, faults.rows);
    let height = l.lanes_bottom + 30.0;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(F(right_edge)) height=(F(height))
            viewBox={ "0 0 " (F(right_edge)) " " (F(height)) } role="img"
            aria-label="drill timeline" {
            (NL)
            (axis(t, &l, &x))
            (steps_row(t, &l, &step_row, &x))
            @for (i, lane) in t.lanes.iter().enumerate() {
                (node_lane(lane, l.lanes_top + i as f64 * (LANE_H + LANE_GAP), t.end, &x))
            }
            @if let Some(top) = l.ledger_top { (ledger_lane(&t.ledger, top, &x)) }
            @if let Some(top) = l.lag_bytes_top { (lag_lane(&t.lag, LagLane::Bytes, top, &x)) }
            @if let Some(top) = l.lag_top { (lag_lane(&t.lag, LagLane::Seconds, top, &x)) }
            // Faults last, so that their lines cross every lane.
            g {
                (NL)
                @for (i, f) in t.faults.iter().enumerate() {
                    @let at = x(f.at);
                    @let base = l.fault_base + faults.row[i] as f64 * 13.0;
                    @let flip = faults.flip[i];
                    g {
                        title {
                            (if f.heal { "healed" } else { "injected" }) " " (f.fault.name()) " on "
                            (f.node) " at " (F(f.at)) " s"
                        }
                        line class=(if f.heal { "heal" } else { "fault" }) x1=(F(at))
                            y1=(F(base - 9.0)) x2=(F(at)) y2=(F(l.lanes_bottom)) {}
                        text x=(F(if flip { at - 4.0 } else { at + 4.0 })) y=(F(base))
                            text-anchor=(if flip { "end" } else { "start" }) class="fault-l" {
                            (faults.text[i])
                        }
                    }
                    (NL)
                }
            }
            (NL)
        }
    }
}

/// The grid and the time axis.
fn axis(t: &Timeline, l: &Layout, x: &impl Fn(f64) -> f64) -> Markup {
    let tick = tick_step(t.end);
    let ticks: Vec<f64> = (0..)
        .map(|i| i as f64 * tick)
        .take_while(|s| *s <= t.end + 1e-9)
        .collect();
    let axis_y = l.lanes_bottom + 2.0;
    html! {
        g {
            (NL)
            @for &s in &ticks {
                line.grid x1=(F(x(s))) y1=(F(l.lanes_top)) x2=(F(x(s))) y2=(F(l.lanes_bottom)) {}
                (NL)
            }
            line.axis x1=(F(LEFT)) y1=(F(axis_y)) x2=(F(LEFT + PLOT_W)) y2=(F(axis_y)) {}
            (NL)
            @for &s in &ticks {
                line.axis x1=(F(x(s))) y1=(F(axis_y)) x2=(F(x(s))) y2=(F(l.lanes_bottom + 6.0)) {}
                text x=(F(x(s))) y=(F(l.lanes_bottom + 18.0)) text-anchor="middle" class="dim" {
                    (tick_label(s, tick))
                }
                (NL)
            }
            text x=(F(LEFT - 18.0)) y=(F(l.lanes_bottom + 18.0)) text-anchor="end" class="dim" {
                "time since start"
            }
            (NL)
        }
        (NL)
    }
}

fn steps_row(t: &Timeline, l: &Layout, rows: &[Option<usize>], x: &impl Fn(f64) -> f64) -> Markup {
    html! {
        g {
            (NL)
            text x="10" y=(F(l.step_line + 3.0)) class="dim" { "steps" }
            (NL)
            @for (s, row) in t.steps.iter().zip(rows) {
                @let x0 = x(s.start);
                @let x1 = x(s.start + s.took.unwrap_or(0.0)).max(x0 + 1.5);
                g {
                    title { (step_hover(s)) }
                    rect.step.bad[s.bad()] x=(F(x0)) y=(F(l.step_line - 1.5)) width=(F(x1 - x0))
                        height="3.0" {}
                    line.step-tick.bad[s.bad()] x1=(F(x0)) y1=(F(l.step_line - 4.0)) x2=(F(x0))
                        y2=(F(l.step_line + 5.0)) {}
                    @if let Some(row) = row {
                        text x=(F(x0)) y=(F(l.step_line - 6.0 - *row as f64 * 12.0))
                            class=(if s.bad() { "bad" } else { "dim" }) { (s.number) }
                    }
                }
                (NL)
            }
        }
        (NL)
    }
}

/// A step's hover text: number, title, node, outcome, start and duration.
fn step_hover(s: &StepMark) -> String {
    let (word, _) = status(s);
    let mut hover = format!("{}. {}", s.number, s.title);
    if let Some(node) = &s.node {
        hover.push_str(&format!(" [{node}]"));
    }
    hover.push_str(&format!(" — {word}"));
    if let Some((by, tries)) = s.performed {
        hover.push_str(&format!(" by the {} ({tries} check(s))", by.as_str()));
    }
    if s.optional && s.bad() {
        hover.push_str(" (optional)");
    }
    hover.push_str(&format!(", {} s", F(s.start)));
    if let Some(took) = s.took {
        hover.push_str(&format!(" + {} s", F(took)));
    }
    hover
}

fn node_lane(lane: &NodeLane, top: f64, end: f64, x: &impl Fn(f64) -> f64) -> Markup {
    let node = &lane.node;
    let (band_top, band_h) = (top + 14.0, 22.0);
    html! {
        g data-lane=(node) {
            (NL)
            text x="10" y=(F(top + 24.0)) class="name" { (node) }
            (NL)
            text x="10" y=(F(top + 36.0)) class="dim" { "pg_isready" }
            (NL)
            @for b in &lane.bands {
                rect class=(b.state.class()) x=(F(x(b.start))) y=(F(band_top))
                    width=(F(x(b.end.min(end)) - x(b.start))) height=(F(band_h)) {
                    title {
                        (node) ": " (b.state.label()) " from " (F(b.start)) " s to " (F(b.end))
                        " s"
                    }
                }
                (NL)
            }
            @for r in &lane.roles {
                @let at = x(r.at);
                @let class = match r.role {
                    Role::Primary => "role-primary",
                    Role::Standby => "role-standby",
                };
                g {
                    title { (node) " became " (r.role) " at " (F(r.at)) " s" }
                    line.role x1=(F(at)) y1=(F(top + 8.0)) x2=(F(at)) y2=(F(band_top + band_h)) {}
                    path class=(class) d={
                        "M" (F(at - 4.5)) " " (F(top + 2.0)) "L" (F(at + 4.5)) " " (F(top + 2.0))
                        "L" (F(at)) " " (F(top + 8.0)) "Z"
                    } {}
                    text x=(F(at + 7.0)) y=(F(top + 10.0)) class=(class) { (r.role) }
                }
                (NL)
            }
        }
        (NL)
    }
}

/// A plotted lane's background and its name in the label column.
fn lane_frame(top: f64, height: f64, name_y: f64, name: &str) -> Markup {
    html! {
        rect.lane x=(F(LEFT)) y=(F(top)) width=(F(PLOT_W)) height=(F(height)) {}
        (NL)
        text x="10" y=(F(name_y)) class="name" { (name) } (NL)
    }
}

/// A plotted lane's vertical scale: its maximum at `y0`, 0 at `y1`.
fn y_scale(y0: f64, y1: f64, max: &str) -> Markup {
    html! {
        text x=(F(LEFT - 6.0)) y=(F(y0 + 4.0)) text-anchor="end" class="dim" { (max) } (NL)
        text x=(F(LEFT - 6.0)) y=(F(y1 + 3.0)) text-anchor="end" class="dim" { "0" } (NL)
    }
}

fn ledger_lane(ledger: &Ledger, top: f64, x: &impl Fn(f64) -> f64) -> Markup {
    let (y0, y1) = (top + 10.0, top + LEDGER_H - 10.0);
    let max = ledger
        .points
        .iter()
        .map(|p| p.acked)
        .max()
        .unwrap_or(0)
        .max(1);
    let y = |v: u64| y1 - v as f64 / max as f64 * (y1 - y0);
    let last = ledger.points.last().copied().unwrap_or(LedgerPoint {
        at: 0.0,
        acked: 0,
        failed: 0,
    });
    let points: Vec<String> = ledger
        .points
        .iter()
        .map(|p| format!("{},{}", F(x(p.at)), F(y(p.acked))))
        .collect();
    html! {
        g data-lane="ledger" {
            (NL)
            (lane_frame(top, LEDGER_H, top + 30.0, "ledger"))
            text x="10" y=(F(top + 44.0)) class="dim" { "acked: " (last.acked) } (NL)
            text x="10" y=(F(top + 56.0)) class="dim" { "failed: " (last.failed) } (NL)
            (y_scale(y0, y1, &max.to_string()))
            @for g in &ledger.gaps {
                rect.gap x=(F(x(g.start))) y=(F(top)) width=(F(x(g.end) - x(g.start)))
                    height=(F(LEDGER_H)) {
                    title {
                        "no acknowledged write for " (F(g.end - g.start)) " s (" (F(g.start))
                        " s to " (F(g.end)) " s)"
                    }
                }
                (NL)
            }
            polyline.acked points=(points.join(" ")) { title { "acknowledged writes" } }
            (NL)
            @for f in &ledger.failures {
                @let (cx, cy) = (x(f.at), y1 + 4.0);
                @let (l, r, t, b) = (F(cx - 3.5), F(cx + 3.5), F(cy - 3.5), F(cy + 3.5));
                g {
                    title {
                        (f.new) " failed write" (if f.new == 1 { "" } else { "s" }) " by "
                        (F(f.at)) " s (" (f.total) " so far)"
                    }
                    path.failw d={
                        "M" (l) " " (t) "L" (r) " " (b) "M" (l) " " (b) "L" (r) " " (t)
                    } {}
                }
                (NL)
            }
        }
        (NL)
    }
}

/// A plotted point: `(seconds since the drill started, value)`.
type Point = (f64, f64);

/// The two lanes of a standby's lag.
#[derive(Clone, Copy)]
enum LagLane {
    /// The replay lag: bytes behind the primary.
    Bytes,
    /// Seconds since the last replayed commit.
    Seconds,
}

impl LagLane {
    /// The lane's name (its label and `data-lane`).
    fn name(self) -> &'static str {
        match self {
            LagLane::Bytes => "replay lag",
            LagLane::Seconds => "last commit",
        }
    }

    /// What the lane plots, in two short lines under its name.
    fn notes(self) -> [&'static str; 2] {
        match self {
            LagLane::Bytes => ["bytes behind", "the primary"],
            LagLane::Seconds => ["seconds since", "it was replayed"],
        }
    }

    /// A standby's points in this lane.
    fn points(self, s: &LagSeries) -> &[Point] {
        match self {
            LagLane::Bytes => &s.bytes,
            LagLane::Seconds => &s.points,
        }
    }

    /// A value on the lane's scale.
    fn value(self, v: f64) -> String {
        match self {
            LagLane::Bytes => crate::pg::lag::bytes_text(v as u64),
            LagLane::Seconds => format!("{} s", F(v)),
        }
    }

    /// What a standby's line is, on hover.
    fn title(self, node: crate::node::NodeId) -> String {
        match self {
            LagLane::Bytes => format!("replay lag of {node}: bytes behind the primary"),
            LagLane::Seconds => format!("seconds since {node}'s last replayed commit"),
        }
    }
}

fn lag_lane(all: &[LagSeries], lane: LagLane, top: f64, x: &impl Fn(f64) -> f64) -> Markup {
    let (y0, y1) = (top + 18.0, top + LAG_H - 6.0);
    // The standbys with points in this lane, each in its colour in every lane.
    let lag: Vec<(&str, &LagSeries, &[Point])> = all
        .iter()
        .enumerate()
        .map(|(i, s)| (LAG_COLOURS[i % LAG_COLOURS.len()], s, lane.points(s)))
        .filter(|(_, _, points)| !points.is_empty())
        .collect();
    let max = lag
        .iter()
        .flat_map(|(_, _, points)| points.iter().map(|p| p.1))
        .fold(1.0_f64, f64::max);
    let y = |v: f64| y1 - v.max(0.0) / max * (y1 - y0);
    // Where each standby's key goes, left to right.
    let key_x: Vec<f64> = lag
        .iter()
        .scan(LEFT + 8.0, |next, (_, s, _)| {
            let here = *next;
            *next += 30.0 + text_w(&s.node.name());
            Some(here)
        })
        .collect();
    html! {
        g data-lane=(lane.name()) {
            (NL)
            (lane_frame(top, LAG_H, top + 34.0, lane.name()))
            @for (k, note) in lane.notes().iter().enumerate() {
                text x="10" y=(F(top + 46.0 + k as f64 * 11.0)) class="dim" { (note) } (NL)
            }
            (y_scale(y0, y1, &lane.value(max)))
            @for (i, (colour, s, points)) in lag.iter().enumerate() {
                g {
                    title { (lane.title(s.node)) }
                    (NL)
                    @for run in lag_runs(points) {
                        @if run.len() > 1 {
                            polyline.lag stroke=(colour) points=(run
                                .iter()
                                .map(|p| format!("{},{}", F(x(p.0)), F(y(p.1))))
                                .collect::<Vec<_>>()
                                .join(" ")) {}
                        } @else {
                            circle fill=(colour) cx=(F(x(run[0].0))) cy=(F(y(run[0].1))) r="2.5" {}
                        }
                        (NL)
                    }
                }
                (NL)
                line stroke=(colour) stroke-width="2.5" x1=(F(key_x[i])) y1=(F(top + 9.0))
                    x2=(F(key_x[i] + 14.0)) y2=(F(top + 9.0)) {}
                text x=(F(key_x[i] + 18.0)) y=(F(top + 13.0)) { (s.node) }
                (NL)
            }
        }
        (NL)
    }
}

/// A standby's samples split where they are far apart (the node was not a standby in between),
/// so that those are not joined.
fn lag_runs(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    for &p in points {
        match runs.last_mut() {
            Some(run) if run.last().is_some_and(|q| p.0 - q.0 <= LAG_BREAK) => run.push(p),
            _ => runs.push(vec![p]),
        }
    }
    runs
}

fn measure_table(t: &Timeline) -> Markup {
    html! {
        @if !t.measures.is_empty() {
            section {
                (NL) h2 { "Measures" } (NL)
                table.measures {
                    (NL)
                    thead { tr { th { "measure" } th.num { "value" } } } (NL)
                    tbody {
                        (NL)
                        @for (name, value) in &t.measures {
                            tr { td { code { (name) } } td.num { (format!("{value:.3}")) } } (NL)
                        }
                    }
                    (NL)
                }
                (NL)
            }
            (NL)
        }
    }
}

fn step_table(t: &Timeline) -> Markup {
    html! {
        @if !t.steps.is_empty() {
            section {
                (NL) h2 { "Steps" } (NL)
                table {
                    (NL)
                    thead {
                        tr {
                            th.num { "#" } th { "node" } th { "step" } th { "outcome" }
                            th.num { "at" } th.num { "took" } th { "details" }
                        }
                    }
                    (NL)
                    tbody {
                        (NL)
                        @for s in &t.steps { (step_row(s)) (NL) }
                    }
                    (NL)
                }
                (NL)
            }
            (NL)
        }
    }
}

fn step_row(s: &StepMark) -> Markup {
    let (word, class) = status(s);
    html! {
        tr class=[s.bad().then_some("bad")] {
            td.num { (s.number) }
            td { (s.node.map_or_else(|| "runner".into(), |n| n.to_string())) }
            td { (s.title) }
            td {
                span class=(class) { (word) }
                @if s.optional && s.bad() { " " span.skip { "(optional)" } }
                @if let Some((by, tries)) = s.performed {
                    " " span.dim { "by the " (by.as_str()) ", " (tries) " check(s)" }
                }
            }
            td.num { (F(s.start)) " s" }
            td.num { @if let Some(took) = s.took { (F(took)) " s" } }
            td.detail {
                @match &s.outcome {
                    Some(Outcome::Failed { expected, seen }) => {
                        div { span.k { "expected" } code { (expected) } }
                        div { span.k { "seen" } code { (seen) } }
                    }
                    Some(Outcome::Error { message }) => code { (message) },
                    Some(Outcome::Skipped { reason }) => (reason),
                    _ => {}
                }
            }
        }
    }
}

fn legend(t: &Timeline) -> Markup {
    html! {
        section {
            (NL) h2 { "Legend" } (NL)
            ul.legend {
                (NL)
                @for (state, colour, code) in [
                    (Readiness::Accepting, "#2e9e44", " (pg_isready 0)"),
                    (Readiness::Rejecting, "#f0a202", " (1)"),
                    (Readiness::NoResponse, "#d1343a", " (2)"),
                    (Readiness::Unknown, "#c5cad1", " (no reading yet)"),
                ] {
                    li { span.sw style={ "background:" (colour) } {} (state.label()) (code) } (NL)
                }
                li {
                    span style="color:#1d3f8f;font-weight:700" { "▼ primary" } " / "
                    span style="color:#6a4fa3;font-weight:700" { "▼ standby" } " role taken"
                }
                (NL)
                li { span.vl {} "fault injected" } (NL)
                li { span.vl.dash {} "fault healed" } (NL)
                li {
                    span.sw style="background:#9aa3ad;height:4px" {}
                    "step (number above; hover for details)"
                }
                (NL)
                li { span.sw style="background:#d1343a;height:4px" {} "failed step" } (NL)
                @if !t.ledger.points.is_empty() {
                    li { span.sw style="background:#1d6fb8;height:3px" {} "acknowledged writes" }
                    (NL)
                    li {
                        span.sw style="background:rgba(240,162,2,.25)" {}
                        "no acknowledged write for over " (F(GAP_MIN)) " s"
                    }
                    (NL)
                    li { span style="color:#d1343a;font-weight:700" { "✕" } " failed writes" }
                    (NL)
                }
                @if LagSeries::any_bytes(&t.lag) {
                    li {
                        "replay lag: bytes of WAL the primary has written that the standby has \
                         not replayed (the primary's pg_stat_replication)"
                    }
                    (NL)
                }
                @if !t.lag.is_empty() {
                    li {
                        "last commit: seconds since the standby's last replayed transaction \
                         (it grows while the primary is idle)"
                    }
                    (NL)
                }
            }
            (NL)
        }
        (NL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rto_phases_follow_each_other_from_the_fault() {
        let r = Rto {
            detection: Some(1.5),
            fenced: Some(2.0),
            promoted: Some(6.0),
            first_write: Some(7.4),
        };
        let got: Vec<(&str, f64, f64)> =
            phases(&r).iter().map(|p| (p.name, p.from, p.to)).collect();
        assert_eq!(
            got,
            [
                ("detection", 0.0, 1.5),
                ("promotion", 1.5, 6.0),
                ("first acknowledged write", 6.0, 7.4)
            ]
        );
        // No detection measured: promotion starts at the fault; writes that never resumed
        // draw no phase.
        let r = Rto {
            promoted: Some(3.0),
            ..Rto::default()
        };
        let got: Vec<(&str, f64, f64)> =
            phases(&r).iter().map(|p| (p.name, p.from, p.to)).collect();
        assert_eq!(got, [("promotion", 0.0, 3.0)]);
    }

    #[test]
    fn crowded_step_numbers_are_left_out_rather_than_overlapped() {
        use crate::drill::event::Event;
        let mut events = Vec::new();
        for n in 1..=10 {
            let at = 50.0 + n as f64 * 0.1;
            events.push(Event::StepStarted {
                number: n,
                title: format!("step {n}"),
                node: None,
                commands: vec![],
                at,
            });
            events.push(Event::StepFinished {
                number: n,
                outcome: if n == 10 {
                    Outcome::Error {
                        message: "x".into(),
                    }
                } else {
                    Outcome::Passed
                },
                output: String::new(),
                took: std::time::Duration::from_millis(50),
                optional: false,
            });
        }
        events.push(Event::DrillFinished {
            passed: false,
            stopped_at: None,
            took: std::time::Duration::from_secs(100),
        });
        let run = crate::drill::summary::RunSummary::of(&events);
        let svg = svg(&super::super::model(&run)).into_string();
        let numbers = regex::Regex::new(r#"class="(dim|bad)">(\d+)</text>"#).unwrap();
        let shown: Vec<&str> = numbers
            .captures_iter(&svg)
            .map(|c| c.get(2).unwrap().as_str())
            .collect();
        // Three rows fit three numbers at one spot; the failed step's is always shown.
        assert_eq!(shown, ["1", "2", "3", "10"], "{svg}");
        assert_eq!(
            svg.matches("<title>").count(),
            10,
            "every step keeps its hover"
        );
    }

    #[test]
    fn rto_bar_of_a_failover() {
        let r = Rto {
            detection: Some(1.5),
            fenced: Some(2.0),
            promoted: Some(6.0),
            first_write: Some(6.3),
        };
        insta::assert_snapshot!(rto_svg(&r).into_string());
    }
}
