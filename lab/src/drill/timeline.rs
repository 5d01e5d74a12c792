//! `report.html`: a drill run as one self-contained page that shows the incident at a glance.
//!
//! The page has a header (drill, PostgreSQL release, profile, result, what it proves), an inline
//! SVG timeline, a table of the steps and a legend; no scripts and no external assets. The
//! timeline has one lane per node (its pg_isready state as coloured bands, its role changes as
//! markers), fault and heal markers across every lane, step ticks along the top, the ledger
//! writer's progress (with its stalls shaded and its failed writes marked) and, when the monitor
//! measured it, each standby's replay lag.
//!
//! It is built in two stages: [`model`] reduces the recorded events to a [`Timeline`] (pure, and
//! unit-tested), and [`html`] renders that model. Every number is printed with fixed decimals, so
//! the same events always give the same bytes.

use std::fmt::{self, Write as _};

use super::event::{Event, Outcome};

/// Width of the plot area (the time axis), in pixels.
const PLOT_W: f64 = 1000.0;
/// Width of the lane-label column left of the plot.
const LEFT: f64 = 120.0;
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
/// Ledger stalls longer than this (seconds without an acknowledged write) are shaded.
pub const GAP_MIN: f64 = 1.0;
/// Lag samples further apart than this (seconds) are not joined by a line.
const LAG_BREAK: f64 = 5.0;
/// Colours of the lag lines, one per standby in turn.
const LAG_COLOURS: &[&str] = &["#7b3fa0", "#0f8b8d", "#c05621", "#2b6cb0", "#8a6d1f"];

/// A node's state according to `pg_isready`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// No reading yet (or pg_isready could not even try: code 3).
    Unknown,
    /// Code 0: accepting connections.
    Accepting,
    /// Code 1: rejecting connections (starting up or shutting down).
    Rejecting,
    /// Code 2: no response.
    NoResponse,
}

impl Readiness {
    /// The state for a pg_isready exit code.
    pub fn from_code(code: u8) -> Self {
        match code {
            0 => Readiness::Accepting,
            1 => Readiness::Rejecting,
            2 => Readiness::NoResponse,
            _ => Readiness::Unknown,
        }
    }

    /// How the legend and the hover titles name it.
    pub fn label(self) -> &'static str {
        match self {
            Readiness::Unknown => "unknown",
            Readiness::Accepting => "accepting",
            Readiness::Rejecting => "rejecting",
            Readiness::NoResponse => "no response",
        }
    }

    fn class(self) -> &'static str {
        match self {
            Readiness::Unknown => "ru",
            Readiness::Accepting => "r0",
            Readiness::Rejecting => "r1",
            Readiness::NoResponse => "r2",
        }
    }
}

/// A stretch of time during which a node kept one readiness state.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// Seconds since the drill started.
    pub start: f64,
    /// Seconds since the drill started (exclusive).
    pub end: f64,
    /// The state.
    pub state: Readiness,
}

/// A node taking a role.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleMark {
    /// Seconds since the drill started.
    pub at: f64,
    /// `primary` or `standby`.
    pub role: String,
}

/// One node's lane.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeLane {
    /// The node.
    pub node: String,
    /// Its readiness, covering the whole drill without overlaps.
    pub bands: Vec<Band>,
    /// Its role changes, in time order.
    pub roles: Vec<RoleMark>,
}

/// A fault injected or healed.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultMark {
    /// Seconds since the drill started.
    pub at: f64,
    /// The fault.
    pub name: String,
    /// The node.
    pub node: String,
    /// Healed rather than injected.
    pub heal: bool,
}

/// A step, as its start and end events describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepMark {
    /// 1-based step number.
    pub number: usize,
    /// Its title.
    pub title: String,
    /// The node it acted on.
    pub node: Option<String>,
    /// Seconds since the drill started.
    pub start: f64,
    /// How long it took, once finished.
    pub took: Option<f64>,
    /// How it ended, once finished.
    pub outcome: Option<Outcome>,
    /// Whether a failure is tolerated.
    pub optional: bool,
}

impl StepMark {
    /// Whether it failed or could not be performed.
    pub fn bad(&self) -> bool {
        matches!(
            self.outcome,
            Some(Outcome::Failed { .. } | Outcome::Error { .. })
        )
    }
}

/// One sample of the ledger writer's progress.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LedgerPoint {
    /// Seconds since the drill started.
    pub at: f64,
    /// Writes acknowledged so far.
    pub acked: u64,
    /// Writes failed so far.
    pub failed: u64,
}

/// A stretch without any acknowledged write (between two samples that show the same count).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gap {
    /// The first sample showing the stalled count.
    pub start: f64,
    /// The last sample showing it.
    pub end: f64,
}

/// Writes that failed since the previous sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FailMark {
    /// The sample that showed them.
    pub at: f64,
    /// How many failed since the previous sample.
    pub new: u64,
    /// How many failed so far.
    pub total: u64,
}

/// The ledger lane.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ledger {
    /// The samples, in time order.
    pub points: Vec<LedgerPoint>,
    /// Stalls longer than [`GAP_MIN`].
    pub gaps: Vec<Gap>,
    /// Where failed writes appeared.
    pub failures: Vec<FailMark>,
}

/// One standby's replay lag over time.
#[derive(Debug, Clone, PartialEq)]
pub struct LagSeries {
    /// The standby.
    pub node: String,
    /// `(seconds since the drill started, lag in seconds)`, in time order.
    pub points: Vec<(f64, f64)>,
}

/// What the header says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Header {
    /// The drill's name.
    pub name: String,
    /// Its title.
    pub title: String,
    /// What it proves.
    pub proves: String,
    /// The PostgreSQL release.
    pub pg_version: String,
    /// The profile.
    pub profile: String,
    /// Whether it passed, once finished.
    pub passed: Option<bool>,
    /// The step at which the user stopped the drill.
    pub stopped_at: Option<usize>,
    /// Seconds it took, once finished.
    pub took: Option<f64>,
}

/// Everything the page draws, computed from the events.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// The header.
    pub header: Header,
    /// The end of the time axis (seconds; the drill's duration, or its last event).
    pub end: f64,
    /// One lane per node, in natural name order.
    pub lanes: Vec<NodeLane>,
    /// Faults and heals, in time order.
    pub faults: Vec<FaultMark>,
    /// Steps, in the order they started.
    pub steps: Vec<StepMark>,
    /// The ledger lane (empty when the drill ran no ledger writer).
    pub ledger: Ledger,
    /// One lag series per standby, in natural name order.
    pub lag: Vec<LagSeries>,
    /// The figures the drill measured (`rpo_rows`, `rows_lost_by_restarted_master`, …), in
    /// the order they were measured.
    pub measures: Vec<(String, f64)>,
}

/// Reduces a drill's events to what the page draws.
pub fn model(events: &[Event]) -> Timeline {
    let mut header = Header::default();
    let mut steps: Vec<StepMark> = Vec::new();
    let mut faults = Vec::new();
    let mut readings: Vec<(&str, f64, u8)> = Vec::new();
    let mut roles: Vec<(&str, RoleMark)> = Vec::new();
    let mut points = Vec::new();
    let mut lag: Vec<LagSeries> = Vec::new();
    let mut measures = Vec::new();
    let mut end: f64 = 0.0;
    for e in events {
        match e {
            Event::DrillStarted {
                name,
                title,
                proves,
                pg_version,
                profile,
                ..
            } => {
                header.name.clone_from(name);
                header.title.clone_from(title);
                header.proves.clone_from(proves);
                header.pg_version.clone_from(pg_version);
                header.profile.clone_from(profile);
            }
            Event::StepStarted {
                number,
                title,
                node,
                at,
                ..
            } => {
                end = end.max(*at);
                steps.push(StepMark {
                    number: *number,
                    title: title.clone(),
                    node: node.clone(),
                    start: *at,
                    took: None,
                    outcome: None,
                    optional: false,
                });
            }
            Event::StepFinished {
                number,
                outcome,
                took,
                optional,
                ..
            } => {
                if let Some(s) = steps.iter_mut().rev().find(|s| s.number == *number) {
                    s.took = Some(took.as_secs_f64());
                    s.outcome = Some(outcome.clone());
                    s.optional = *optional;
                    end = end.max(s.start + took.as_secs_f64());
                }
            }
            Event::Fault {
                name,
                node,
                heal,
                at,
            } => {
                end = end.max(*at);
                faults.push(FaultMark {
                    at: *at,
                    name: name.clone(),
                    node: node.clone(),
                    heal: *heal,
                });
            }
            Event::Readiness { node, code, at } => {
                end = end.max(*at);
                readings.push((node, *at, *code));
            }
            Event::Role { node, role, at } => {
                end = end.max(*at);
                roles.push((
                    node,
                    RoleMark {
                        at: *at,
                        role: role.clone(),
                    },
                ));
            }
            Event::Measure { name, value, at } => {
                end = end.max(*at);
                measures.push((name.clone(), *value));
            }
            Event::LedgerSample { acked, failed, at } => {
                end = end.max(*at);
                points.push(LedgerPoint {
                    at: *at,
                    acked: *acked,
                    failed: *failed,
                });
            }
            Event::Lag { node, seconds, at } => {
                end = end.max(*at);
                match lag.iter_mut().find(|s| s.node == *node) {
                    Some(s) => s.points.push((*at, *seconds)),
                    None => lag.push(LagSeries {
                        node: node.clone(),
                        points: vec![(*at, *seconds)],
                    }),
                }
            }
            Event::DrillFinished {
                passed,
                stopped_at,
                took,
            } => {
                header.passed = Some(*passed);
                header.stopped_at = *stopped_at;
                header.took = Some(took.as_secs_f64());
                end = end.max(took.as_secs_f64());
            }
        }
    }
    if end.is_nan() || end <= 0.0 {
        end = 1.0;
    }

    let mut nodes: Vec<&str> = readings
        .iter()
        .map(|r| r.0)
        .chain(roles.iter().map(|r| r.0))
        .chain(faults.iter().map(|f| f.node.as_str()))
        .collect();
    nodes.sort_by(|a, b| natural(a).cmp(&natural(b)));
    nodes.dedup();
    let lanes = nodes
        .into_iter()
        .map(|node| {
            let mine: Vec<(f64, u8)> = readings
                .iter()
                .filter(|r| r.0 == node)
                .map(|r| (r.1, r.2))
                .collect();
            let mut node_roles: Vec<RoleMark> = roles
                .iter()
                .filter(|r| r.0 == node)
                .map(|r| r.1.clone())
                .collect();
            node_roles.sort_by(|a, b| a.at.total_cmp(&b.at));
            NodeLane {
                node: node.to_string(),
                bands: readiness_bands(&mine, end),
                roles: node_roles,
            }
        })
        .collect();

    faults.sort_by(|a, b| a.at.total_cmp(&b.at));
    points.sort_by(|a, b| a.at.total_cmp(&b.at));
    for s in &mut lag {
        s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    lag.sort_by(|a, b| natural(&a.node).cmp(&natural(&b.node)));
    Timeline {
        header,
        end,
        lanes,
        faults,
        steps,
        ledger: Ledger {
            gaps: ledger_gaps(&points),
            failures: ledger_failures(&points),
            points,
        },
        lag,
        measures,
    }
}

/// A sort key that puts `node2` before `node10`.
fn natural(name: &str) -> (&str, u64, &str) {
    let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (prefix, number) = name.split_at(name.len() - digits);
    (prefix, number.parse().unwrap_or(0), name)
}

/// Turns a node's readiness readings (`(seconds, pg_isready code)`) into bands covering
/// `0..end`: unknown before the first reading, then each state until the next different one.
pub fn readiness_bands(readings: &[(f64, u8)], end: f64) -> Vec<Band> {
    let mut sorted = readings.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut bands: Vec<Band> = Vec::new();
    let mut push = |start: f64, stop: f64, state: Readiness| {
        if stop <= start {
            return;
        }
        match bands.last_mut() {
            Some(last) if last.state == state && last.end == start => last.end = stop,
            _ => bands.push(Band {
                start,
                end: stop,
                state,
            }),
        }
    };
    let (mut since, mut state) = (0.0, Readiness::Unknown);
    for (at, code) in sorted {
        let at = at.clamp(0.0, end);
        let next = Readiness::from_code(code);
        if next != state {
            push(since, at, state);
            (since, state) = (at, next);
        }
    }
    push(since, end, state);
    bands
}

/// The stalls of the ledger writer: runs of samples (in time order) showing the same
/// acknowledged count for longer than [`GAP_MIN`] seconds.
pub fn ledger_gaps(points: &[LedgerPoint]) -> Vec<Gap> {
    let mut gaps = Vec::new();
    let mut i = 0;
    while i < points.len() {
        let mut j = i;
        while j + 1 < points.len() && points[j + 1].acked <= points[i].acked {
            j += 1;
        }
        if points[j].at - points[i].at > GAP_MIN {
            gaps.push(Gap {
                start: points[i].at,
                end: points[j].at,
            });
        }
        i = j + 1;
    }
    gaps
}

/// The samples (in time order) at which the failed count grew.
pub fn ledger_failures(points: &[LedgerPoint]) -> Vec<FailMark> {
    let mut before = 0;
    let mut marks = Vec::new();
    for p in points {
        if p.failed > before {
            marks.push(FailMark {
                at: p.at,
                new: p.failed - before,
                total: p.failed,
            });
        }
        before = before.max(p.failed);
    }
    marks
}

/// `report.html`: the run as one self-contained page (inline CSS and SVG, no scripts).
pub fn html(events: &[Event]) -> String {
    let mut out = String::new();
    page(&model(events), &mut out).expect("writing to a String cannot fail");
    out
}

/// A number with one decimal, never `-0.0`.
struct F(f64);

impl fmt::Display for F {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = (self.0 * 10.0).round() / 10.0;
        write!(f, "{:.1}", if v == 0.0 { 0.0 } else { v })
    }
}

/// HTML-escapes text for element content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
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
fn tick_step(end: f64) -> f64 {
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
fn tick_label(t: f64, step: f64) -> String {
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
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
tr.bad td{background:#fdf0f0}
td .ok{color:#2e7d3a;font-weight:600}td .bad{color:#c0262d;font-weight:700}td .skip{color:#6b7480}
.detail div{margin:1px 0}.detail code{white-space:pre-wrap}.k{display:inline-block;width:64px;color:#6b7480}
.legend{display:flex;flex-wrap:wrap;gap:6px 22px;padding:0;margin:0;list-style:none}
.legend li{display:flex;align-items:center;gap:6px}
.sw{display:inline-block;width:22px;height:12px;border-radius:2px}
.vl{display:inline-block;width:0;height:16px;border-left:2px solid #1b1f24}.vl.dash{border-left-style:dashed}
";

fn page(t: &Timeline, out: &mut String) -> fmt::Result {
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
    writeln!(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width\">")?;
    writeln!(
        out,
        "<title>{} — {result}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n<header>\n<h1>{}</h1>",
        esc(title),
        esc(title)
    )?;
    write!(out, "<p class=\"meta\">")?;
    if !h.name.is_empty() {
        write!(out, "<code>{}</code> · ", esc(&h.name))?;
    }
    if !h.pg_version.is_empty() {
        write!(out, "PostgreSQL {} · ", esc(&h.pg_version))?;
    }
    if !h.profile.is_empty() {
        write!(out, "profile <code>{}</code> · ", esc(&h.profile))?;
    }
    write!(out, "<span class=\"badge {badge}\">{result}</span>")?;
    if let Some(took) = h.took {
        write!(out, " in {} s", F(took))?;
    }
    writeln!(out, "</p>")?;
    if !h.proves.is_empty() {
        writeln!(
            out,
            "<p class=\"proves\"><strong>What it proves.</strong> {}</p>",
            esc(&h.proves)
        )?;
    }
    writeln!(out, "</header>\n<section>\n<h2>Timeline</h2>")?;
    svg(t, out)?;
    writeln!(out, "</section>")?;
    measure_table(t, out)?;
    step_table(t, out)?;
    legend(t, out)?;
    writeln!(out, "</body>\n</html>")
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
    /// Top of the lag lane, if drawn.
    lag_top: Option<f64>,
    /// Bottom of the last lane.
    lanes_bottom: f64,
}

fn svg(t: &Timeline, out: &mut String) -> fmt::Result {
    let x = |s: f64| LEFT + s.clamp(0.0, t.end) / t.end * PLOT_W;
    let right_edge = LEFT + PLOT_W + RIGHT;

    // Label rows for step numbers and fault names.
    let step_spans: Vec<(f64, f64)> = t
        .steps
        .iter()
        .map(|s| {
            let left = x(s.start) - 2.0;
            (left, left + text_w(&s.number.to_string()))
        })
        .collect();
    let (step_row, step_rows) = label_rows(&step_spans, STEP_ROWS);
    let fault_text: Vec<String> = t
        .faults
        .iter()
        .map(|f| {
            if f.heal {
                format!("healed {} on {}", f.name, f.node)
            } else {
                format!("{} on {}", f.name, f.node)
            }
        })
        .collect();
    // A label goes right of its line, or left of it when it would leave the picture.
    let fault_spans: Vec<(f64, f64, bool)> = t
        .faults
        .iter()
        .zip(&fault_text)
        .map(|(f, text)| {
            let (at, w) = (x(f.at), text_w(text));
            if at + 4.0 + w > right_edge {
                (at - 4.0 - w, at - 4.0, true)
            } else {
                (at + 4.0, at + 4.0 + w, false)
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..fault_spans.len()).collect();
    order.sort_by(|&a, &b| fault_spans[a].0.total_cmp(&fault_spans[b].0));
    let (sorted_rows, fault_rows) = label_rows(
        &order
            .iter()
            .map(|&i| (fault_spans[i].0, fault_spans[i].1))
            .collect::<Vec<_>>(),
        FAULT_ROWS,
    );
    let mut fault_row = vec![0; fault_spans.len()];
    for (k, &i) in order.iter().enumerate() {
        fault_row[i] = sorted_rows[k];
    }

    let step_line = 6.0 + step_rows.max(1) as f64 * 12.0 + 4.0;
    let fault_base = step_line + 18.0;
    let lanes_top = step_line + 10.0 + fault_rows as f64 * 13.0 + 4.0;
    let mut y = lanes_top + t.lanes.len() as f64 * (LANE_H + LANE_GAP);
    let ledger_top = (!t.ledger.points.is_empty()).then(|| {
        let top = y + 4.0;
        y = top + LEDGER_H + LANE_GAP;
        top
    });
    let lag_top = (!t.lag.is_empty()).then(|| {
        let top = y + 4.0;
        y = top + LAG_H + LANE_GAP;
        top
    });
    let l = Layout {
        step_line,
        fault_base,
        lanes_top,
        ledger_top,
        lag_top,
        lanes_bottom: y - LANE_GAP,
    };
    let height = l.lanes_bottom + 30.0;
    writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"drill timeline\">",
        F(right_edge),
        F(height),
        F(right_edge),
        F(height)
    )?;

    // Grid and time axis.
    let tick = tick_step(t.end);
    let ticks: Vec<f64> = (0..)
        .map(|i| i as f64 * tick)
        .take_while(|s| *s <= t.end + 1e-9)
        .collect();
    writeln!(out, "<g>")?;
    for &s in &ticks {
        writeln!(
            out,
            "<line class=\"grid\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>",
            F(x(s)),
            F(l.lanes_top),
            F(l.lanes_bottom)
        )?;
    }
    writeln!(
        out,
        "<line class=\"axis\" x1=\"{}\" y1=\"{2}\" x2=\"{}\" y2=\"{2}\"/>",
        F(LEFT),
        F(LEFT + PLOT_W),
        F(l.lanes_bottom + 2.0)
    )?;
    for &s in &ticks {
        writeln!(
            out,
            "<line class=\"axis\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/><text x=\"{0}\" y=\"{3}\" text-anchor=\"middle\" class=\"dim\">{4}</text>",
            F(x(s)),
            F(l.lanes_bottom + 2.0),
            F(l.lanes_bottom + 6.0),
            F(l.lanes_bottom + 18.0),
            tick_label(s, tick)
        )?;
    }
    writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"dim\">time since start</text>\n</g>",
        F(LEFT - 18.0),
        F(l.lanes_bottom + 18.0)
    )?;

    steps_row(t, &l, &step_row, &x, out)?;
    for (i, lane) in t.lanes.iter().enumerate() {
        node_lane(
            lane,
            l.lanes_top + i as f64 * (LANE_H + LANE_GAP),
            t.end,
            &x,
            out,
        )?;
    }
    if let Some(top) = l.ledger_top {
        ledger_lane(&t.ledger, top, &x, out)?;
    }
    if let Some(top) = l.lag_top {
        lag_lane(&t.lag, top, &x, out)?;
    }

    // Faults last, so that their lines cross every lane.
    writeln!(out, "<g>")?;
    for (i, f) in t.faults.iter().enumerate() {
        let at = x(f.at);
        let base = l.fault_base + fault_row[i] as f64 * 13.0;
        let (_, _, flip) = fault_spans[i];
        writeln!(
            out,
            "<g><title>{what} {name} on {node} at {at_s} s</title><line class=\"{class}\" x1=\"{x}\" y1=\"{y1}\" x2=\"{x}\" y2=\"{y2}\"/><text x=\"{tx}\" y=\"{base}\" text-anchor=\"{anchor}\" class=\"fault-l\">{label}</text></g>",
            what = if f.heal { "healed" } else { "injected" },
            name = esc(&f.name),
            node = esc(&f.node),
            at_s = F(f.at),
            class = if f.heal { "heal" } else { "fault" },
            x = F(at),
            y1 = F(base - 9.0),
            y2 = F(l.lanes_bottom),
            tx = F(if flip { at - 4.0 } else { at + 4.0 }),
            base = F(base),
            anchor = if flip { "end" } else { "start" },
            label = esc(&fault_text[i]),
        )?;
    }
    writeln!(out, "</g>\n</svg>")
}

fn steps_row(
    t: &Timeline,
    l: &Layout,
    rows: &[usize],
    x: &impl Fn(f64) -> f64,
    out: &mut String,
) -> fmt::Result {
    writeln!(
        out,
        "<g>\n<text x=\"10\" y=\"{}\" class=\"dim\">steps</text>",
        F(l.step_line + 3.0)
    )?;
    for (s, row) in t.steps.iter().zip(rows) {
        let (word, _) = status(s);
        let bad = if s.bad() { " bad" } else { "" };
        let x0 = x(s.start);
        let x1 = x(s.start + s.took.unwrap_or(0.0)).max(x0 + 1.5);
        let mut hover = format!("{}. {}", s.number, esc(&s.title));
        if let Some(node) = &s.node {
            let _ = write!(hover, " [{}]", esc(node));
        }
        let _ = write!(hover, " — {word}");
        if s.optional && s.bad() {
            hover.push_str(" (optional)");
        }
        let _ = write!(hover, ", {} s", F(s.start));
        if let Some(took) = s.took {
            let _ = write!(hover, " + {} s", F(took));
        }
        writeln!(
            out,
            "<g><title>{hover}</title><rect class=\"step{bad}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"3.0\"/><line class=\"step-tick{bad}\" x1=\"{0}\" y1=\"{}\" x2=\"{0}\" y2=\"{}\"/><text x=\"{0}\" y=\"{}\" class=\"{}\">{}</text></g>",
            F(x0),
            F(l.step_line - 1.5),
            F(x1 - x0),
            F(l.step_line - 4.0),
            F(l.step_line + 5.0),
            F(l.step_line - 6.0 - *row as f64 * 12.0),
            if s.bad() { "bad" } else { "dim" },
            s.number
        )?;
    }
    writeln!(out, "</g>")
}

fn node_lane(
    lane: &NodeLane,
    top: f64,
    end: f64,
    x: &impl Fn(f64) -> f64,
    out: &mut String,
) -> fmt::Result {
    let node = esc(&lane.node);
    writeln!(
        out,
        "<g>\n<text x=\"10\" y=\"{}\" class=\"name\">{node}</text>\n<text x=\"10\" y=\"{}\" class=\"dim\">pg_isready</text>",
        F(top + 24.0),
        F(top + 36.0)
    )?;
    let (band_top, band_h) = (top + 14.0, 22.0);
    for b in &lane.bands {
        writeln!(
            out,
            "<rect class=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{node}: {} from {} s to {} s</title></rect>",
            b.state.class(),
            F(x(b.start)),
            F(band_top),
            F(x(b.end.min(end)) - x(b.start)),
            F(band_h),
            b.state.label(),
            F(b.start),
            F(b.end)
        )?;
    }
    for r in &lane.roles {
        let at = x(r.at);
        let class = match r.role.as_str() {
            "primary" => "role-primary",
            "standby" => "role-standby",
            _ => "dim",
        };
        writeln!(
            out,
            "<g><title>{node} became {role} at {at_s} s</title><line class=\"role\" x1=\"{x}\" y1=\"{tip}\" x2=\"{x}\" y2=\"{bottom}\"/><path class=\"{class}\" d=\"M{l} {top}L{r} {top}L{x} {tip}Z\"/><text x=\"{tx}\" y=\"{ty}\" class=\"{class}\">{role}</text></g>",
            role = esc(&r.role),
            at_s = F(r.at),
            x = F(at),
            tip = F(top + 8.0),
            bottom = F(band_top + band_h),
            l = F(at - 4.5),
            r = F(at + 4.5),
            top = F(top + 2.0),
            tx = F(at + 7.0),
            ty = F(top + 10.0),
        )?;
    }
    writeln!(out, "</g>")
}

fn ledger_lane(
    ledger: &Ledger,
    top: f64,
    x: &impl Fn(f64) -> f64,
    out: &mut String,
) -> fmt::Result {
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
    writeln!(
        out,
        "<g>\n<rect class=\"lane\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>",
        F(LEFT),
        F(top),
        F(PLOT_W),
        F(LEDGER_H)
    )?;
    writeln!(
        out,
        "<text x=\"10\" y=\"{}\" class=\"name\">ledger</text>\n<text x=\"10\" y=\"{}\" class=\"dim\">acked: {}</text>\n<text x=\"10\" y=\"{}\" class=\"dim\">failed: {}</text>",
        F(top + 30.0),
        F(top + 44.0),
        last.acked,
        F(top + 56.0),
        last.failed
    )?;
    writeln!(
        out,
        "<text x=\"{0}\" y=\"{1}\" text-anchor=\"end\" class=\"dim\">{2}</text>\n<text x=\"{0}\" y=\"{3}\" text-anchor=\"end\" class=\"dim\">0</text>",
        F(LEFT - 6.0),
        F(y0 + 4.0),
        max,
        F(y1 + 3.0)
    )?;
    for g in &ledger.gaps {
        writeln!(
            out,
            "<rect class=\"gap\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>no acknowledged write for {} s ({} s to {} s)</title></rect>",
            F(x(g.start)),
            F(top),
            F(x(g.end) - x(g.start)),
            F(LEDGER_H),
            F(g.end - g.start),
            F(g.start),
            F(g.end)
        )?;
    }
    let pts: Vec<String> = ledger
        .points
        .iter()
        .map(|p| format!("{},{}", F(x(p.at)), F(y(p.acked))))
        .collect();
    writeln!(
        out,
        "<polyline class=\"acked\" points=\"{}\"><title>acknowledged writes</title></polyline>",
        pts.join(" ")
    )?;
    for f in &ledger.failures {
        let (cx, cy) = (x(f.at), y1 + 4.0);
        writeln!(
            out,
            "<g><title>{new} failed write{plural} by {at} s ({total} so far)</title><path class=\"failw\" d=\"M{l} {t}L{r} {b}M{l} {b}L{r} {t}\"/></g>",
            new = f.new,
            plural = if f.new == 1 { "" } else { "s" },
            at = F(f.at),
            total = f.total,
            l = F(cx - 3.5),
            r = F(cx + 3.5),
            t = F(cy - 3.5),
            b = F(cy + 3.5),
        )?;
    }
    writeln!(out, "</g>")
}

fn lag_lane(lag: &[LagSeries], top: f64, x: &impl Fn(f64) -> f64, out: &mut String) -> fmt::Result {
    let (y0, y1) = (top + 18.0, top + LAG_H - 6.0);
    let max = lag
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(1.0_f64, f64::max);
    let y = |v: f64| y1 - v.max(0.0) / max * (y1 - y0);
    writeln!(
        out,
        "<g>\n<rect class=\"lane\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>",
        F(LEFT),
        F(top),
        F(PLOT_W),
        F(LAG_H)
    )?;
    writeln!(
        out,
        "<text x=\"10\" y=\"{}\" class=\"name\">replay lag</text>\n<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"dim\">{} s</text>\n<text x=\"{1}\" y=\"{}\" text-anchor=\"end\" class=\"dim\">0</text>",
        F(top + 34.0),
        F(LEFT - 6.0),
        F(y0 + 4.0),
        F(max),
        F(y1 + 3.0)
    )?;
    let mut key_x = LEFT + 8.0;
    for (i, s) in lag.iter().enumerate() {
        let colour = LAG_COLOURS[i % LAG_COLOURS.len()];
        let node = esc(&s.node);
        // Samples far apart (the node was not a standby in between) are not joined.
        let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
        for &p in &s.points {
            match runs.last_mut() {
                Some(run) if run.last().is_some_and(|q| p.0 - q.0 <= LAG_BREAK) => run.push(p),
                _ => runs.push(vec![p]),
            }
        }
        writeln!(out, "<g><title>replay lag of {node}</title>")?;
        for run in &runs {
            let pts: Vec<String> = run
                .iter()
                .map(|p| format!("{},{}", F(x(p.0)), F(y(p.1))))
                .collect();
            if run.len() > 1 {
                writeln!(
                    out,
                    "<polyline class=\"lag\" stroke=\"{colour}\" points=\"{}\"/>",
                    pts.join(" ")
                )?;
            } else {
                writeln!(
                    out,
                    "<circle fill=\"{colour}\" cx=\"{}\" cy=\"{}\" r=\"2.5\"/>",
                    F(x(run[0].0)),
                    F(y(run[0].1))
                )?;
            }
        }
        writeln!(
            out,
            "</g>\n<line stroke=\"{colour}\" stroke-width=\"2.5\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{1}\"/><text x=\"{}\" y=\"{}\">{node}</text>",
            F(key_x),
            F(top + 9.0),
            F(key_x + 14.0),
            F(key_x + 18.0),
            F(top + 13.0)
        )?;
        key_x += 30.0 + text_w(&s.node);
    }
    writeln!(out, "</g>")
}

fn measure_table(t: &Timeline, out: &mut String) -> fmt::Result {
    if t.measures.is_empty() {
        return Ok(());
    }
    writeln!(out, "<section>\n<h2>Measures</h2>\n<table>\n<thead><tr><th>measure</th><th>value</th></tr></thead>\n<tbody>")?;
    for (name, value) in &t.measures {
        writeln!(
            out,
            "<tr><td><code>{}</code></td><td class=\"num\">{value:.3}</td></tr>",
            esc(name)
        )?;
    }
    writeln!(out, "</tbody>\n</table>\n</section>")
}

fn step_table(t: &Timeline, out: &mut String) -> fmt::Result {
    if t.steps.is_empty() {
        return Ok(());
    }
    writeln!(out, "<section>\n<h2>Steps</h2>\n<table>\n<thead><tr><th>#</th><th>node</th><th>step</th><th>outcome</th><th>at</th><th>took</th><th>details</th></tr></thead>\n<tbody>")?;
    for s in &t.steps {
        let (word, class) = status(s);
        let optional = if s.optional && s.bad() {
            " <span class=\"skip\">(optional)</span>"
        } else {
            ""
        };
        let took = s.took.map(|d| format!("{} s", F(d))).unwrap_or_default();
        let detail = match &s.outcome {
            Some(Outcome::Failed { expected, seen }) => format!(
                "<div><span class=\"k\">expected</span><code>{}</code></div><div><span class=\"k\">seen</span><code>{}</code></div>",
                esc(expected),
                esc(seen)
            ),
            Some(Outcome::Error { message }) => format!("<code>{}</code>", esc(message)),
            Some(Outcome::Skipped { reason }) => esc(reason),
            _ => String::new(),
        };
        writeln!(
            out,
            "<tr{}><td class=\"num\">{}</td><td>{}</td><td>{}</td><td><span class=\"{class}\">{word}</span>{optional}</td><td class=\"num\">{} s</td><td class=\"num\">{took}</td><td class=\"detail\">{detail}</td></tr>",
            if s.bad() { " class=\"bad\"" } else { "" },
            s.number,
            esc(s.node.as_deref().unwrap_or("runner")),
            esc(&s.title),
            F(s.start)
        )?;
    }
    writeln!(out, "</tbody>\n</table>\n</section>")
}

fn legend(t: &Timeline, out: &mut String) -> fmt::Result {
    writeln!(out, "<section>\n<h2>Legend</h2>\n<ul class=\"legend\">")?;
    for (state, colour) in [
        (Readiness::Accepting, "#2e9e44"),
        (Readiness::Rejecting, "#f0a202"),
        (Readiness::NoResponse, "#d1343a"),
        (Readiness::Unknown, "#c5cad1"),
    ] {
        let code = match state {
            Readiness::Accepting => " (pg_isready 0)",
            Readiness::Rejecting => " (1)",
            Readiness::NoResponse => " (2)",
            Readiness::Unknown => " (no reading yet)",
        };
        writeln!(
            out,
            "<li><span class=\"sw\" style=\"background:{colour}\"></span>{}{code}</li>",
            state.label()
        )?;
    }
    writeln!(out, "<li><span style=\"color:#1d3f8f;font-weight:700\">▼ primary</span> / <span style=\"color:#6a4fa3;font-weight:700\">▼ standby</span> role taken</li>")?;
    writeln!(out, "<li><span class=\"vl\"></span>fault injected</li>\n<li><span class=\"vl dash\"></span>fault healed</li>")?;
    writeln!(out, "<li><span class=\"sw\" style=\"background:#9aa3ad;height:4px\"></span>step (number above; hover for details)</li>\n<li><span class=\"sw\" style=\"background:#d1343a;height:4px\"></span>failed step</li>")?;
    if !t.ledger.points.is_empty() {
        writeln!(out, "<li><span class=\"sw\" style=\"background:#1d6fb8;height:3px\"></span>acknowledged writes</li>\n<li><span class=\"sw\" style=\"background:rgba(240,162,2,.25)\"></span>no acknowledged write for over {} s</li>\n<li><span style=\"color:#d1343a;font-weight:700\">✕</span> failed writes</li>", F(GAP_MIN))?;
    }
    if !t.lag.is_empty() {
        writeln!(
            out,
            "<li>replay lag: seconds since the standby's last replayed transaction</li>"
        )?;
    }
    writeln!(out, "</ul>\n</section>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn readiness(node: &str, code: u8, at: f64) -> Event {
        Event::Readiness {
            node: node.into(),
            code,
            at,
        }
    }

    fn role(node: &str, role: &str, at: f64) -> Event {
        Event::Role {
            node: node.into(),
            role: role.into(),
            at,
        }
    }

    fn sample(at: f64, acked: u64, failed: u64) -> Event {
        Event::LedgerSample { acked, failed, at }
    }

    fn lag(node: &str, seconds: f64, at: f64) -> Event {
        Event::Lag {
            node: node.into(),
            seconds,
            at,
        }
    }

    fn fault(name: &str, node: &str, heal: bool, at: f64) -> Event {
        Event::Fault {
            name: name.into(),
            node: node.into(),
            heal,
            at,
        }
    }

    fn step(
        number: usize,
        title: &str,
        node: &str,
        at: f64,
        took: f64,
        outcome: Outcome,
    ) -> [Event; 2] {
        [
            Event::StepStarted {
                number,
                title: title.into(),
                node: Some(node.into()),
                commands: vec![],
                at,
            },
            Event::StepFinished {
                number,
                outcome,
                output: String::new(),
                took: Duration::from_secs_f64(took),
                optional: false,
            },
        ]
    }

    fn band(start: f64, end: f64, state: Readiness) -> Band {
        Band { start, end, state }
    }

    #[test]
    fn readiness_becomes_bands_from_zero_to_the_end() {
        use Readiness::*;
        let bands = readiness_bands(&[(0.5, 0), (4.3, 1), (6.0, 2), (6.0, 2), (29.0, 0)], 34.2);
        assert_eq!(
            bands,
            vec![
                band(0.0, 0.5, Unknown),
                band(0.5, 4.3, Accepting),
                band(4.3, 6.0, Rejecting),
                band(6.0, 29.0, NoResponse),
                band(29.0, 34.2, Accepting),
            ]
        );
        // Unsorted readings, a repeat, and a reading at 0 (no unknown band).
        let bands = readiness_bands(&[(3.0, 2), (0.0, 0), (2.0, 0), (5.0, 2)], 10.0);
        assert_eq!(
            bands,
            vec![band(0.0, 3.0, Accepting), band(3.0, 10.0, NoResponse)]
        );
        // Code 3 (no attempt) is unknown; two readings at once: the later one wins.
        let bands = readiness_bands(&[(1.0, 0), (2.0, 3), (4.0, 1), (4.0, 0)], 5.0);
        assert_eq!(
            bands,
            vec![
                band(0.0, 1.0, Unknown),
                band(1.0, 2.0, Accepting),
                band(2.0, 4.0, Unknown),
                band(4.0, 5.0, Accepting),
            ]
        );
        assert_eq!(readiness_bands(&[], 7.0), vec![band(0.0, 7.0, Unknown)]);
    }

    #[test]
    fn lanes_hold_bands_and_role_markers_in_natural_node_order() {
        let t = model(&[
            readiness("node10", 0, 1.0),
            role("node2", "primary", 20.0),
            readiness("node2", 0, 0.6),
            role("node2", "standby", 0.8),
            readiness("node1", 0, 0.5),
            Event::DrillFinished {
                passed: true,
                stopped_at: None,
                took: Duration::from_secs(30),
            },
        ]);
        assert_eq!(t.end, 30.0);
        let names: Vec<&str> = t.lanes.iter().map(|l| l.node.as_str()).collect();
        assert_eq!(names, ["node1", "node2", "node10"]);
        let node2 = &t.lanes[1];
        assert_eq!(
            node2.roles,
            vec![
                RoleMark {
                    at: 0.8,
                    role: "standby".into()
                },
                RoleMark {
                    at: 20.0,
                    role: "primary".into()
                },
            ]
        );
        assert_eq!(node2.bands.last().unwrap().end, 30.0);
        assert!(t.lanes[0].roles.is_empty());
    }

    #[test]
    fn ledger_stalls_longer_than_a_second_are_gaps() {
        let points: Vec<LedgerPoint> = [
            (0.0, 0, 0),
            (1.0, 10, 0),
            (2.0, 20, 0),
            (3.0, 20, 1), // stalled for 1 s only: not a gap
            (4.0, 30, 1),
            (5.0, 30, 1),
            (6.0, 30, 3),
            (7.5, 30, 3),
            (8.0, 45, 3),
            (9.0, 60, 3),
            (10.0, 60, 3),
            (12.0, 60, 3), // still stalled at the end
        ]
        .into_iter()
        .map(|(at, acked, failed)| LedgerPoint { at, acked, failed })
        .collect();
        assert_eq!(
            ledger_gaps(&points),
            vec![
                Gap {
                    start: 4.0,
                    end: 7.5
                },
                Gap {
                    start: 9.0,
                    end: 12.0
                }
            ]
        );
        assert_eq!(
            ledger_failures(&points),
            vec![
                FailMark {
                    at: 3.0,
                    new: 1,
                    total: 1
                },
                FailMark {
                    at: 6.0,
                    new: 2,
                    total: 3
                }
            ]
        );
        assert!(ledger_gaps(&[]).is_empty());
    }

    #[test]
    fn ticks_suit_the_length_of_the_drill() {
        assert_eq!(tick_step(8.0), 1.0);
        assert_eq!(tick_step(34.2), 5.0);
        assert_eq!(tick_step(100.0), 10.0);
        assert_eq!(tick_step(300.0), 30.0);
        assert_eq!(tick_step(700.0), 60.0);
        assert_eq!(tick_label(90.0, 30.0), "90s");
        assert_eq!(tick_label(120.0, 60.0), "2m");
        assert_eq!(tick_label(5400.0, 900.0), "1h30m");
    }

    #[test]
    fn measures_are_listed_in_the_order_they_were_taken() {
        let events = vec![
            Event::Measure {
                name: "rows_lost_by_restarted_master".into(),
                value: 104.0,
                at: 3.0,
            },
            Event::Measure {
                name: "rpo_rows".into(),
                value: 0.0,
                at: 4.0,
            },
        ];
        let t = model(&events);
        assert_eq!(
            t.measures,
            vec![
                ("rows_lost_by_restarted_master".to_string(), 104.0),
                ("rpo_rows".to_string(), 0.0)
            ]
        );
        let page = html(&events);
        let lost = page
            .find("<code>rows_lost_by_restarted_master</code></td><td class=\"num\">104.000")
            .expect("the measure is in the page");
        assert!(lost < page.find("<code>rpo_rows</code>").unwrap());
        assert!(!html(&[]).contains("<h2>Measures</h2>"));
    }

    #[test]
    fn text_is_escaped() {
        let mut events = vec![
            Event::DrillStarted {
                name: "x<y".into(),
                title: "A & B".into(),
                proves: "'quoted'".into(),
                pg_version: "15".into(),
                profile: "default".into(),
                steps: 1,
            },
            readiness("<node>", 0, 1.0),
            fault("a\"b", "<node>", false, 2.0),
        ];
        events.extend(step(
            1,
            "Check <b>\"a\" & 'b'</b>",
            "<node>",
            0.0,
            1.0,
            Outcome::Failed {
                expected: "<1>".into(),
                seen: "</td>".into(),
            },
        ));
        let page = html(&events);
        assert!(page.contains("Check &lt;b&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/b&gt;"));
        assert!(!page.contains("<b>"));
        assert!(!page.contains("<node>"));
        assert!(!page.contains("</td>\"") && page.contains("&lt;/td&gt;"));
        assert!(page.contains("A &amp; B") && page.contains("x&lt;y"));
        assert!(page.contains("a&quot;b on &lt;node&gt;"));
    }

    /// A failover: node1 crashes at 4 s, node2 is promoted at 20 s, writes stall between,
    /// one check fails, node1 comes back as a standby.
    fn failover() -> Vec<Event> {
        let mut e = vec![Event::DrillStarted {
            name: "failover-switchback".into(),
            title: "Failover to the standby, then switch back".into(),
            proves: "When the primary crashes, the standby can be promoted without losing an \
                     acknowledged write, and the old primary can rejoin as a standby."
                .into(),
            pg_version: "15.18".into(),
            profile: "default".into(),
            steps: 7,
        }];
        e.push(role("node1", "primary", 0.3));
        e.push(role("node2", "standby", 0.4));
        e.push(readiness("node1", 0, 0.5));
        e.push(readiness("node2", 0, 0.6));
        e.extend(step(
            1,
            "Check that the standby is streaming",
            "node1",
            0.0,
            1.2,
            Outcome::Passed,
        ));
        e.extend(step(
            2,
            "Crash the primary",
            "node1",
            3.8,
            0.4,
            Outcome::Passed,
        ));
        e.push(fault("node-crash", "node1", false, 4.0));
        e.push(readiness("node1", 1, 4.3));
        e.push(readiness("node1", 2, 6.0));
        e.extend(step(
            3,
            "The standby stays read-only",
            "node2",
            5.0,
            3.0,
            Outcome::Passed,
        ));
        e.extend(step(
            4,
            "Promote node2",
            "node2",
            19.0,
            1.4,
            Outcome::Passed,
        ));
        e.push(role("node2", "primary", 20.0));
        e.extend(step(
            5,
            "Writes resume within 5 s of the promotion",
            "node2",
            20.5,
            4.6,
            Outcome::Failed {
                expected: "an acknowledged write < 5 s after promotion".into(),
                seen: "no acknowledged write 5.0 s after promotion".into(),
            },
        ));
        e.push(fault("node-crash", "node1", true, 25.0));
        e.push(readiness("node1", 1, 28.0));
        e.extend(step(
            6,
            "Rebuild node1 as a standby of node2",
            "node1",
            25.2,
            6.0,
            Outcome::Passed,
        ));
        e.push(role("node1", "standby", 30.5));
        e.push(readiness("node1", 0, 31.0));
        e.extend(step(
            7,
            "Check that node1 replays from node2",
            "node1",
            31.5,
            1.0,
            Outcome::Passed,
        ));
        for i in 0..=17 {
            let at = i as f64 * 2.0;
            let acked = match at {
                a if a <= 4.0 => (a * 10.0) as u64,
                a if a < 30.0 => 40,
                a => 40 + ((a - 28.0) * 12.0) as u64,
            };
            let failed = match at {
                a if a < 6.0 => 0,
                a if a < 30.0 => ((a - 4.0) / 4.0) as u64,
                _ => 6,
            };
            e.push(sample(at, acked, failed));
        }
        for (at, s) in [(1.0, 0.1), (3.0, 0.3)] {
            e.push(lag("node2", s, at));
        }
        for at in [6.0, 10.0, 14.0, 18.0] {
            e.push(lag("node2", at - 4.0, at));
        }
        e.push(lag("node1", 2.5, 31.0));
        e.push(lag("node1", 0.4, 33.0));
        e.push(Event::DrillFinished {
            passed: false,
            stopped_at: None,
            took: Duration::from_secs_f64(34.2),
        });
        e
    }

    #[test]
    fn failover_model() {
        let t = model(&failover());
        assert_eq!(t.end, 34.2);
        assert_eq!(
            t.ledger.gaps,
            vec![Gap {
                start: 4.0,
                end: 28.0
            }]
        );
        assert_eq!(t.ledger.failures.len(), 6);
        let states: Vec<Readiness> = t.lanes[0].bands.iter().map(|b| b.state).collect();
        use Readiness::*;
        assert_eq!(
            states,
            [Unknown, Accepting, Rejecting, NoResponse, Rejecting, Accepting]
        );
        assert_eq!(t.lag.len(), 2);
        assert!(t.steps[4].bad() && !t.steps[3].bad());
    }

    #[test]
    fn failover_matches_the_golden_file() {
        crate::golden::assert_golden("timeline/failover.html", &html(&failover()));
    }
}
