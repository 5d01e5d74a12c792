//! A suite's index: the drill × version table, the cross-version comparison of each drill, and
//! one `junit.xml` for the whole suite.
//!
//! Everything here is a pure function of the runs' recorded events (their typed `report.json`)
//! and how each run's process ended, so the index is golden-tested from small hand-made event
//! streams. [`crate::commands::suite`] runs the drills and writes what this renders.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::drill::event::{Event, Outcome};
use crate::drill::shard::Shard;
use crate::drill::summary::RunSummary;

/// Two durations of the same step differ when they are further apart than this many seconds…
pub const TOLERANCE_SECONDS: f64 = 5.0;
/// … and the longer is more than this many times the shorter.
pub const TOLERANCE_RATIO: f64 = 1.5;

/// How one drill × version run ended, as the suite reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunResult {
    /// Every step passed.
    Passed,
    /// An expectation did not hold (exit 1).
    Failed,
    /// Stopped on purpose (`q` in `--step` mode): not a failure.
    Stopped,
    /// The lab could not do its work, or the input was refused (exit 2 or 3).
    Error,
    /// The suite was interrupted before this run finished, or before it started.
    Interrupted,
}

impl RunResult {
    /// The word the index shows.
    pub fn word(self) -> &'static str {
        match self {
            RunResult::Passed => "PASSED",
            RunResult::Failed => "FAILED",
            RunResult::Stopped => "STOPPED",
            RunResult::Error => "ERROR",
            RunResult::Interrupted => "INTERRUPTED",
        }
    }

    fn mark(self) -> &'static str {
        match self {
            RunResult::Passed => "✔",
            RunResult::Stopped => "■",
            RunResult::Interrupted => "–",
            RunResult::Failed | RunResult::Error => "✘",
        }
    }

    fn class(self) -> &'static str {
        match self {
            RunResult::Passed => "pass",
            RunResult::Failed | RunResult::Error => "fail",
            RunResult::Stopped | RunResult::Interrupted => "other",
        }
    }
}

/// One drill run on one version, as the suite saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteRun {
    /// The drill's name.
    pub drill: String,
    /// The PostgreSQL release it ran on.
    pub version: String,
    /// The run directory, relative to the suite directory (none when the run wrote no reports).
    pub report_dir: Option<String>,
    /// The `lab drill run` process's exit code (none: killed by a signal, or never started).
    pub exit: Option<i32>,
    /// The run's recorded events (empty when it wrote no `report.json`).
    pub events: Vec<Event>,
    /// The suite was interrupted while this run was going (its lab removed on the way out).
    pub interrupted: bool,
    /// The whole run's wall time as the suite measured it (`up`, drill, reports, `down`).
    pub seconds: Option<f64>,
}

impl SuiteRun {
    /// How the run ended: from its events when it finished, else from its exit code.
    pub fn result(&self) -> RunResult {
        let finished = RunSummary::of(&self.events)
            .ending
            .map(|e| (e.passed, e.stopped_at));
        match (finished, self.exit) {
            (_, None) | (None, _) if self.interrupted => RunResult::Interrupted,
            (_, None) => RunResult::Interrupted,
            (Some((_, Some(_))), _) => RunResult::Stopped,
            (Some((true, None)), Some(0)) => RunResult::Passed,
            (_, Some(1)) => RunResult::Failed,
            _ => RunResult::Error,
        }
    }

    /// The drill's own time (the report's `drill_finished.took`).
    pub fn took(&self) -> Option<f64> {
        RunSummary::of(&self.events).ending.map(|e| e.took)
    }

    /// A measure the drill recorded (`rpo_rows`, …).
    pub fn measure(&self, name: &str) -> Option<f64> {
        RunSummary::of(&self.events).measure(name)
    }

    /// The first fault injected and the first node promoted after it: `(fault, node, seconds)`.
    pub fn fault_to_promoted(&self) -> Option<(String, String, f64)> {
        RunSummary::of(&self.events)
            .promotion
            .map(|p| (p.fault.to_string(), p.node.to_string(), p.after))
    }

    /// The first step that failed or could not be performed, with what was expected and seen.
    fn first_failure(&self) -> Option<String> {
        let steps = steps(&self.events);
        steps.iter().find_map(|s| match &s.outcome {
            Outcome::Failed { expected, seen } if !s.optional => Some(format!(
                "step {} ({}): expected {expected}; seen {seen}",
                s.number, s.title
            )),
            Outcome::Error { message } if !s.optional => {
                Some(format!("step {} ({}): {message}", s.number, s.title))
            }
            _ => None,
        })
    }

    fn exit_word(&self) -> String {
        match self.exit {
            Some(code) => format!("exit {code}"),
            None => "no exit code".into(),
        }
    }
}

/// A whole suite: what was asked and how each run went.
#[derive(Debug, Clone, PartialEq)]
pub struct Suite {
    /// When it started (the suite directory's name).
    pub stamp: String,
    /// The drills, in the order asked.
    pub drills: Vec<String>,
    /// The releases, in the order asked.
    pub versions: Vec<String>,
    /// Every run (at most one per drill and version).
    pub runs: Vec<SuiteRun>,
    /// The share of the suite these runs are (`--shard K/N`); none for a whole suite.
    pub shard: Option<Shard>,
}

impl Suite {
    /// The run of `drill` on `version`, if it was made.
    pub fn run(&self, drill: &str, version: &str) -> Option<&SuiteRun> {
        self.runs
            .iter()
            .find(|r| r.drill == drill && r.version == version)
    }

    fn count(&self, result: RunResult) -> usize {
        self.runs.iter().filter(|r| r.result() == result).count()
    }

    fn summary(&self) -> String {
        let mut parts = vec![format!(
            "{} drill(s) × {} version(s): {} passed",
            self.drills.len(),
            self.versions.len(),
            self.count(RunResult::Passed)
        )];
        for r in [
            RunResult::Failed,
            RunResult::Error,
            RunResult::Stopped,
            RunResult::Interrupted,
        ] {
            let n = self.count(r);
            if n > 0 {
                parts.push(format!("{n} {}", r.word().to_lowercase()));
            }
        }
        let missing = self.drills.len() * self.versions.len() - self.runs.len();
        if missing > 0 {
            parts.push(format!("{missing} {}", self.not_run()));
        }
        match self.shard {
            Some(shard) => format!("shard {shard}: {}", parts.join(", ")),
            None => parts.join(", "),
        }
    }

    /// What a cell without a run says: not run, or run by another shard.
    fn not_run(&self) -> &'static str {
        if self.shard.is_some() {
            "in other shards"
        } else {
            "not run"
        }
    }
}

/// One step of a run, reduced to what the comparison looks at.
#[derive(Debug, Clone)]
struct StepSeen {
    number: usize,
    title: String,
    outcome: Outcome,
    optional: bool,
    /// The log lines a log expectation matched, normalised (empty for other steps).
    log: Vec<String>,
    took: f64,
}

/// The steps of a run, in order, as the comparison sees them (read by [`RunSummary`]).
fn steps(events: &[Event]) -> Vec<StepSeen> {
    RunSummary::of(events)
        .steps
        .into_iter()
        .map(|v| {
            let outcome = v.outcome.cloned().unwrap_or(Outcome::Skipped {
                reason: "unfinished".into(),
            });
            let from_log = v
                .commands
                .first()
                .is_some_and(|c| c.starts_with("expect in the server log"));
            let log = if from_log && outcome.passed() {
                v.output.lines().map(normalise_log_line).collect()
            } else {
                Vec::new()
            };
            StepSeen {
                number: v.number,
                title: v.title.to_string(),
                outcome,
                optional: v.optional,
                log,
                took: v.took,
            }
        })
        .collect()
}

/// A server log line without what changes from run to run: the prefix before the severity
/// (time, process id), WAL positions and numbers.
pub fn normalise_log_line(line: &str) -> String {
    use std::sync::LazyLock;
    static SEVERITY: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"\b(LOG|FATAL|PANIC|ERROR|WARNING|DETAIL|HINT|CONTEXT|STATEMENT):\s+")
            .expect("valid")
    });
    static LSN: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"\b[0-9A-F]+/[0-9A-F]+\b").expect("valid"));
    static SEGMENT: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"\b[0-9A-F]{24}\b").expect("valid"));
    static NUMBER: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"\d+").expect("valid"));
    let body = match SEVERITY.find(line) {
        Some(m) => format!("{} {}", m.as_str().trim_end(), &line[m.end()..]),
        None => line.trim().to_string(),
    };
    let body = SEGMENT.replace_all(&body, "<segment>");
    let body = LSN.replace_all(&body, "<lsn>");
    NUMBER.replace_all(&body, "N").into_owned()
}

/// How a step ended, in a word (a skip with its reason: "does not apply" differs by version).
fn outcome_word(o: &Outcome) -> String {
    match o {
        Outcome::Passed => "passed".into(),
        Outcome::Failed { .. } => "FAILED".into(),
        Outcome::Error { .. } => "ERROR".into(),
        Outcome::Skipped { reason } => format!("skipped: {reason}"),
    }
}

/// One way a step (or the run as a whole) behaved differently between versions.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// The step number (none: the run as a whole, e.g. a measure).
    pub step: Option<usize>,
    /// The step's title (or what is compared).
    pub what: String,
    /// What kind of difference: `outcome`, `log lines`, `time`, `measure`, `result`.
    pub kind: &'static str,
    /// What each version showed, in the suite's version order.
    pub seen: Vec<(String, String)>,
}

/// Whether two durations differ beyond the stated tolerance.
pub fn beyond_tolerance(a: f64, b: f64) -> bool {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    hi - lo > TOLERANCE_SECONDS && hi > lo * TOLERANCE_RATIO
}

/// What behaved differently between the versions `drill` ran on (runs with events only).
pub fn compare(suite: &Suite, drill: &str) -> Vec<Difference> {
    let runs: Vec<&SuiteRun> = suite
        .versions
        .iter()
        .filter_map(|v| suite.run(drill, v))
        .filter(|r| !r.events.is_empty())
        .collect();
    if runs.len() < 2 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let per_version = |f: &dyn Fn(&SuiteRun) -> String| -> Vec<(String, String)> {
        runs.iter().map(|r| (r.version.clone(), f(r))).collect()
    };
    let differ = |seen: &[(String, String)]| seen.iter().any(|(_, s)| *s != seen[0].1);
    let results = per_version(&|r| r.result().word().to_string());
    if differ(&results) {
        out.push(Difference {
            step: None,
            what: "the drill".into(),
            kind: "result",
            seen: results,
        });
    }
    let all_steps: Vec<Vec<StepSeen>> = runs.iter().map(|r| steps(&r.events)).collect();
    let numbers: BTreeSet<usize> = all_steps.iter().flatten().map(|s| s.number).collect();
    for n in numbers {
        let at: Vec<Option<&StepSeen>> = all_steps
            .iter()
            .map(|ss| ss.iter().find(|s| s.number == n))
            .collect();
        let title = at
            .iter()
            .flatten()
            .map(|s| s.title.clone())
            .find(|t| !t.is_empty())
            .unwrap_or_default();
        let show = |f: &dyn Fn(&StepSeen) -> String| -> Vec<(String, String)> {
            runs.iter()
                .zip(&at)
                .map(|(r, s)| (r.version.clone(), s.map(f).unwrap_or_else(|| "—".into())))
                .collect()
        };
        let outcomes = show(&|s| outcome_word(&s.outcome));
        if differ(&outcomes) {
            out.push(Difference {
                step: Some(n),
                what: title.clone(),
                kind: "outcome",
                seen: outcomes,
            });
            continue;
        }
        let logs = show(&|s| s.log.join("\n"));
        if differ(&logs) {
            out.push(Difference {
                step: Some(n),
                what: title.clone(),
                kind: "log lines",
                seen: logs,
            });
        }
        let times: Vec<f64> = at.iter().flatten().map(|s| s.took).collect();
        let (lo, hi) = times
            .iter()
            .fold((f64::MAX, 0.0f64), |(lo, hi), t| (lo.min(*t), hi.max(*t)));
        if times.len() == runs.len() && beyond_tolerance(lo, hi) {
            out.push(Difference {
                step: Some(n),
                what: title,
                kind: "time",
                seen: show(&|s| format!("{:.1} s", s.took)),
            });
        }
    }
    let measures: BTreeSet<String> = runs
        .iter()
        .flat_map(|r| {
            RunSummary::of(&r.events)
                .measures
                .into_iter()
                .map(|(name, _)| name.to_string())
        })
        .collect();
    for m in measures {
        let seen = per_version(&|r| {
            r.measure(&m)
                .map_or_else(|| "absent".into(), |v| format!("{v:.3}"))
        });
        let present: Vec<bool> = seen.iter().map(|(_, s)| s != "absent").collect();
        let values: Vec<f64> = runs.iter().filter_map(|r| r.measure(&m)).collect();
        let presence_differs = present.iter().any(|p| *p != present[0]);
        let value_differs = if m.ends_with("_seconds") {
            values.windows(2).any(|w| beyond_tolerance(w[0], w[1]))
        } else {
            values.windows(2).any(|w| w[0] != w[1])
        };
        if presence_differs || value_differs {
            out.push(Difference {
                step: None,
                what: m,
                kind: "measure",
                seen,
            });
        }
    }
    out
}

/// The table cell of one run: result, duration, RPO, fault → promoted.
fn cell_facts(run: &SuiteRun) -> Vec<String> {
    let result = run.result();
    let mut facts = vec![format!("{} {}", result.mark(), result.word())];
    if matches!(result, RunResult::Error | RunResult::Interrupted) {
        facts.push(run.exit_word());
    }
    if let Some(t) = run.took() {
        facts.push(format!("{t:.1} s"));
    }
    if let Some(rows) = run.measure("rpo_rows") {
        let secs = run
            .measure("rpo_seconds")
            .map(|s| format!(", {s:.2} s"))
            .unwrap_or_default();
        facts.push(format!("RPO {rows:.0} rows{secs}"));
    }
    if let Some((fault, node, secs)) = run.fault_to_promoted() {
        facts.push(format!("{fault} → {node} promoted in {secs:.1} s"));
    }
    facts
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', "<br>")
}

/// The tolerance in words, as the index states it.
pub fn tolerance_words() -> String {
    format!(
        "a step's or a measure's time differs when the two are more than {TOLERANCE_SECONDS:.0} s \
         apart and the longer is more than {TOLERANCE_RATIO}× the shorter; log lines are compared \
         without their prefix (time, process id), WAL positions and numbers"
    )
}

/// `index.md`.
pub fn markdown(suite: &Suite) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Drill suite {}\n\n{}.\n\n## Results\n",
        suite.stamp,
        suite.summary()
    );
    let _ = writeln!(md, "| drill | {} |", suite.versions.join(" | "));
    let _ = writeln!(md, "|---|{}", "---|".repeat(suite.versions.len()));
    for d in &suite.drills {
        let cells: Vec<String> = suite
            .versions
            .iter()
            .map(|v| match suite.run(d, v) {
                Some(run) => {
                    let facts = md_cell(&cell_facts(run).join(" · "));
                    match &run.report_dir {
                        Some(dir) => format!("{facts} · [report]({dir}/report.md)"),
                        None => facts,
                    }
                }
                None => suite.not_run().into(),
            })
            .collect();
        let _ = writeln!(md, "| `{d}` | {} |", cells.join(" | "));
    }
    let failures: Vec<String> = suite
        .runs
        .iter()
        .filter_map(|r| {
            r.first_failure()
                .map(|f| format!("- `{}` on {}: {}", r.drill, r.version, md_cell(&f)))
        })
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(md, "\n## Failures\n\n{}", failures.join("\n"));
    }
    let _ = writeln!(
        md,
        "\n## What differs between versions\n\nPer drill, the steps that behaved differently \
         (outcome, the log lines matched, time) and the measures that differ; {}.",
        tolerance_words()
    );
    for d in &suite.drills {
        let _ = writeln!(md, "\n### `{d}`\n");
        let ran = suite
            .versions
            .iter()
            .filter(|v| suite.run(d, v).is_some_and(|r| !r.events.is_empty()))
            .count();
        if ran < 2 {
            let _ = writeln!(md, "Ran on fewer than two versions: nothing to compare.");
            continue;
        }
        let diffs = compare(suite, d);
        if diffs.is_empty() {
            let _ = writeln!(md, "Every step behaved the same on every version.");
            continue;
        }
        let versions: Vec<&String> = diffs[0].seen.iter().map(|(v, _)| v).collect();
        let _ = writeln!(
            md,
            "| step | what differs | {} |\n|---|---|{}",
            versions
                .iter()
                .map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(" | "),
            "---|".repeat(versions.len())
        );
        for diff in &diffs {
            let step = match diff.step {
                Some(n) => format!("{n}. {}", md_cell(&diff.what)),
                None => format!("`{}`", diff.what),
            };
            let seen: Vec<String> = diff.seen.iter().map(|(_, s)| md_cell(s)).collect();
            let _ = writeln!(md, "| {step} | {} | {} |", diff.kind, seen.join(" | "));
        }
    }
    md
}

/// `index.html`: the same as `index.md`, as one self-contained page (no scripts).
pub fn html(suite: &Suite) -> String {
    use maud::{html, DOCTYPE};
    let title = format!("Drill suite {}", suite.stamp);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) }
                style { (STYLE) }
            }
            body {
                h1 { (title) }
                p.summary { (suite.summary()) "." }
                h2 { "Results" }
                table.matrix {
                    thead { tr { th { "drill" } @for v in &suite.versions { th { (v) } } } }
                    tbody {
                        @for d in &suite.drills {
                            tr {
                                th { code { (d) } }
                                @for v in &suite.versions {
                                    @match suite.run(d, v) {
                                        Some(run) => td class=(run.result().class()) {
                                            @for fact in cell_facts(run) { div { (fact) } }
                                            @if let Some(dir) = &run.report_dir {
                                                a href={ (dir) "/report.html" } { "report" }
                                                " · "
                                                a href={ (dir) "/report.md" } { "report.md" }
                                            }
                                        },
                                        None => td.other { (suite.not_run()) },
                                    }
                                }
                            }
                        }
                    }
                }
                h2 { "Drill time per version" }
                (durations(suite))
                h2 { "What differs between versions" }
                p { "Per drill, the steps that behaved differently (outcome, the log lines matched, time) and the measures that differ; " (tolerance_words()) "." }
                @for d in &suite.drills {
                    h3 { code { (d) } }
                    @let diffs = compare(suite, d);
                    @if diffs.is_empty() {
                        p { "No difference (or fewer than two versions ran it)." }
                    } @else {
                        table.diff {
                            thead { tr {
                                th { "step" } th { "what differs" }
                                @for (v, _) in &diffs[0].seen { th { (v) } }
                            } }
                            tbody {
                                @for diff in &diffs {
                                    tr {
                                        td { @if let Some(n) = diff.step { (n) ". " (diff.what) } @else { code { (diff.what) } } }
                                        td { (diff.kind) }
                                        @for (_, s) in &diff.seen { td { pre { (s) } } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page.into_string()
}

/// Geometry of the drill-time chart: label column, bar area, one bar's height and gap.
const CHART_LABEL: f64 = 260.0;
const CHART_BARS: f64 = 560.0;
const CHART_BAR: f64 = 16.0;
const CHART_GAP: f64 = 10.0;

/// The drill time of every run as a bar chart (one group per drill, one bar per version that
/// has a time, coloured by its result), so the slow drills and the versions that differ stand
/// out before the table is read. Pure over the suite; no scripts.
fn durations(suite: &Suite) -> maud::Markup {
    use maud::html;
    let longest = suite
        .runs
        .iter()
        .filter_map(SuiteRun::took)
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let per_drill = suite.versions.len() as f64 * CHART_BAR + CHART_GAP;
    let height = suite.drills.len() as f64 * per_drill + CHART_GAP;
    let width = CHART_LABEL + CHART_BARS + 120.0;
    html! {
        svg.durations xmlns="http://www.w3.org/2000/svg" role="img"
            aria-label="drill time per version" width=(width) height=(height)
            viewBox={ "0 0 " (width) " " (height) } {
            @for (i, drill) in suite.drills.iter().enumerate() {
                @let top = CHART_GAP + i as f64 * per_drill;
                g data-drill=(drill) {
                    text.name x="0" y=(top + CHART_BAR) { (drill) }
                    @for (j, version) in suite.versions.iter().enumerate() {
                        @if let Some(run) = suite.run(drill, version) {
                            @if let Some(took) = run.took() {
                                @let y = top + j as f64 * CHART_BAR;
                                @let w = (took / longest * CHART_BARS).max(1.0);
                                rect class=(run.result().class()) data-version=(version)
                                    x=(CHART_LABEL) y=(y + 1.0) width=(format!("{w:.1}"))
                                    height=(CHART_BAR - 2.0) {
                                    title { (drill) " on " (version) ": " (format!("{took:.1}")) " s, " (run.result().word()) }
                                }
                                text.value x=(format!("{:.1}", CHART_LABEL + w + 4.0)) y=(y + CHART_BAR - 4.0) {
                                    (version) " " (format!("{took:.1}")) " s"
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:80em}\
svg.durations text{font-size:12px}svg.durations text.value{fill:#444}\
svg.durations rect.pass{fill:#5a9e6f}svg.durations rect.fail{fill:#c5483c}\
svg.durations rect.other{fill:#9aa0a6}\
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.4em;\
vertical-align:top;text-align:left}td.pass{background:#e6f4ea}td.fail{background:#fce8e6}\
td.other{background:#f1f3f4}pre{margin:0;white-space:pre-wrap;font-size:.85em}";

/// The suite's `junit.xml`: one test suite per version, one test case per drill on it.
pub fn junit(suite: &Suite) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new(format!("lab drill suite {}", suite.stamp));
    for v in &suite.versions {
        let mut ts = TestSuite::new(format!("PostgreSQL {v}"));
        for d in &suite.drills {
            let Some(run) = suite.run(d, v) else {
                let mut st = TestCaseStatus::skipped();
                st.set_message(suite.not_run());
                let mut case = TestCase::new(d.clone(), st);
                case.set_classname(format!("pg{v}"));
                ts.add_test_case(case);
                continue;
            };
            let detail = run.first_failure().unwrap_or_default();
            let status = match run.result() {
                RunResult::Passed => TestCaseStatus::success(),
                RunResult::Failed => {
                    let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    st.set_message(detail);
                    st
                }
                RunResult::Error => {
                    let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
                    st.set_message(format!("{}: {detail}", run.exit_word()));
                    st
                }
                r @ (RunResult::Stopped | RunResult::Interrupted) => {
                    let mut st = TestCaseStatus::skipped();
                    st.set_message(r.word().to_lowercase());
                    st
                }
            };
            let mut case = TestCase::new(d.clone(), status);
            case.set_classname(format!("pg{v}"));
            if let Some(t) = run.took() {
                case.set_time(std::time::Duration::from_secs_f64(t));
            }
            if let Some(dir) = &run.report_dir {
                case.set_system_out(format!("{dir}/report.md"));
            }
            ts.add_test_case(case);
        }
        report.add_test_suite(ts);
    }
    report.to_string().unwrap_or_default()
}

#[cfg(test)]
#[path = "suite_index_tests.rs"]
pub(crate) mod tests;
