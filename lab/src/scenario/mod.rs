//! Drill files: TOML that DBAs read and write, parsed and validated into a [`Drill`].
//!
//! A drill rehearses one of the document's failure/recovery procedures as a list of steps
//! (commands, SQL, built-in actions, faults, waits, expectations on server logs and on the
//! readiness monitor). Reading one is done in two stages, like ripgrep's low-level and
//! high-level arguments:
//!
//! 1. the text is parsed into a spanned TOML document and walked by hand (`check.rs`), which
//!    checks every key, type, name, path, regex and variable reference and collects *every*
//!    error as a [`Diagnostic`] at the `file:line:col` of the offending key or value, with the
//!    valid choices listed;
//! 2. only a file without errors becomes a [`Drill`] (`model.rs`), typed so that the runner has
//!    nothing left to check but what a run alone can tell.
//!
//! Strings in steps may refer to variables as `${name}` ([`Template`], `template.rs`): the
//! [`BUILTIN_VARIABLES`], `profile.KEY` for each key of `[profiles.*]`, and the `capture` of
//! any earlier step. Whether a name is defined is decided here, once, from the step's position;
//! values are supplied when the runner renders the template.
//!
//! Architecture invariant: this module does no I/O. It gets the file's name and text and
//! returns data, so every message can be tested exactly (see `tests.rs`).

mod check;
mod duration;
#[cfg(test)]
mod fuzz;
pub mod generated;
mod model;
#[cfg(test)]
mod procedure_tests;
mod roles;
mod schema;
mod sources;
mod spec;
#[cfg(test)]
mod spec_tests;
mod template;
#[cfg(test)]
mod tests;

use std::fmt;

pub use check::BUILTIN_PROCEDURES;
pub use duration::{parse_duration, parse_wal_disk_size, BadDuration, BadSize};
pub use model::{
    Action, ActionKind, Apply, Area, Condition, Drill, Kind, LabNeeds, LedgerAction, NodeRef,
    Performed, PromoteMethod, RoleChange, Step, StepKind, StopMode, WaitFor, When, ACTIONS,
    BUILTIN_VARIABLES, DEFAULT_MONITOR_INTERVAL, FAULTS, FAULT_WATCH, KINDS, LOAD_SECONDS,
    MAX_MONITOR_INTERVAL, MAX_STEP_DURATION, MIN_MONITOR_INTERVAL, NODES, ROLES,
};
pub use roles::primary_after;
pub use schema::{drill_schema, SCHEMA_ID};
pub use template::{Part, Template, TemplateError, Unbound};

/// The largest drill file accepted, in bytes (1 MiB): a drill is a page or two of TOML, and a
/// bigger file is a mistake (a log or a dump passed by accident).
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// What is wrong with a path a drill's values made (`None`: nothing), by the rule its
/// literal text was checked with: under the lab's disks (under /disk4/ when `spare_only`),
/// no `..`, plain path characters only.
pub fn path_problem(path: &str, spare_only: bool) -> Option<String> {
    check::path_problem("path", &crate::text::shorten(path, 80), path, spare_only)
}

/// The message for a file of `bytes` over [`MAX_FILE_BYTES`]: its size as people read sizes.
pub fn too_big(bytes: u64) -> String {
    format!(
        "the file is {} ({bytes} bytes): drill files are limited to 1 MiB ({MAX_FILE_BYTES} bytes)",
        bytesize::ByteSize::b(bytes).display().iec()
    )
}

/// One problem in a drill file, at a 1-based line and column (in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file's name as given to [`parse`].
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub col: usize,
    /// What is wrong and what would be valid, lowercase, no trailing period.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    /// One line: the file's name and the message have their control characters escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::text::escape;
        write!(
            f,
            "{}:{}:{}: error: {}",
            escape(&self.file),
            self.line,
            self.col,
            escape(&self.message)
        )
    }
}

impl std::error::Error for Diagnostic {}

/// Parses and validates the drill in `text`; `file_name` is only used in diagnostics.
///
/// On error, returns every problem found, ordered by position. A file over
/// [`MAX_FILE_BYTES`] gets one diagnostic at 1:1; a file that is not valid TOML gets one, for
/// its first syntax error (its structure is not checked until it parses).
pub fn parse(file_name: &str, text: &str) -> Result<Drill, Vec<Diagnostic>> {
    check::check(file_name, text)
}

/// What a valid drill asks of a release it does not have (a `pitr` to an LSN on 9.3), each at
/// its step's line in `file`: a step that needs a release's [`Condition`] must say so in its
/// `when` (then it is skipped where the condition does not hold), or the drill is refused for
/// that release. A step whose `when` names a condition the release does not meet is skipped
/// there, so nothing it does is asked of that release (a `set` of `max_replication_slots`
/// under `when = "slots"` passes on 9.3). `lab drill check --pg-version`, `run` and `runbook`
/// ask it.
pub fn check_release(drill: &Drill, file: &str, dialect: &crate::pg::Dialect) -> Vec<Diagnostic> {
    let diagnostic = |line: usize, message: String| Diagnostic {
        file: file.to_string(),
        line,
        col: 1,
        message,
    };
    // The `[lab]` table's settings (its line is not kept: the file's first line stands for it).
    let mut found: Vec<Diagnostic> = drill
        .lab
        .settings
        .iter()
        .filter_map(|s| crate::pg::check_setting(dialect, s).err())
        .map(|e| diagnostic(1, format!("[lab] settings: {e}")))
        .collect();
    let skipped = |when: &When| when.condition.for_release(dialect) == Some(!when.holds);
    for step in &drill.steps {
        let Some(action) = step.kind.action() else {
            continue;
        };
        if step.when.iter().any(skipped) {
            continue;
        }
        if let Action::Set { settings, .. } = action {
            found.extend(
                settings
                    .iter()
                    .filter_map(|s| crate::pg::check_setting(dialect, s).err())
                    .map(|e| {
                        diagnostic(
                            step.line,
                            format!("step {} ({}): {e}", step.index + 1, step.title),
                        )
                    }),
            );
        }
        for needed in action.needs() {
            let guarded = step.when.iter().any(|w| w.condition == needed && w.holds);
            if guarded || needed.for_release(dialect) != Some(false) {
                continue;
            }
            found.push(Diagnostic {
                file: file.to_string(),
                line: step.line,
                col: 1,
                message: format!(
                    "step {} ({}): PostgreSQL {} cannot perform this `{}`: {}; add \
                     `when = \"{}\"` to skip the step on releases without it",
                    step.index + 1,
                    step.title,
                    dialect.major(),
                    action.name(),
                    needed.describe(false),
                    needed.as_str()
                ),
            });
        }
    }
    found
}

/// A drill parsed from text that must be valid, for tests: its diagnostics are the panic.
#[cfg(test)]
pub(crate) fn parse_valid(file: &str, text: &str) -> Drill {
    parse(file, text).unwrap_or_else(|diags| {
        panic!(
            "{}",
            diags
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}
