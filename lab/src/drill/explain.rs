//! `lab drill explain` and `lab drill list` (pure): what a drill proves, which faults it
//! injects, what it asserts and where PostgreSQL versions differ, as plain text from the checked
//! [`Drill`]; and the table of built-in drills, fitted to a width.

use std::fmt::Write as _;

use crate::pg::{Dialect, NEWEST_MAJOR};
use crate::scenario::{Action, Drill, Step, StepKind, Template, WaitFor};
use crate::version::Major;

/// The width `explain` wraps its text to.
pub const EXPLAIN_WIDTH: usize = 80;

/// The most characters of `proves` a row of `lab drill list` shows.
const LIST_PROVES_CHARS: usize = 120;

/// `lab drill list`: one row per drill (its name and step count; what it proves, shortened,
/// and where the report describes it), arranged to fit `width` columns; names are never cut.
pub fn list(drills: &[Drill], width: u16) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_width(width)
        .set_header(["drill", "what it proves (where the report describes it)"]);
    let longest = drills.iter().map(|d| d.name.chars().count()).max();
    for d in drills {
        let source = d
            .source
            .as_ref()
            .map(|s| format!("\n({s})"))
            .unwrap_or_default();
        t.add_row([
            format!("{}\n{} steps", d.name, d.steps.len()),
            format!("{}{source}", shorten_words(&d.proves, LIST_PROVES_CHARS)),
        ]);
    }
    if let (Some(column), Some(longest)) = (t.column_mut(0), longest) {
        let cells = u16::try_from(longest).unwrap_or(u16::MAX);
        column.set_constraint(comfy_table::ColumnConstraint::LowerBoundary(
            comfy_table::Width::Fixed(cells),
        ));
    }
    format!("{t}\nlab drill explain NAME: what a drill proves, injects and checks\n")
}

/// `text` on one line, cut at a word boundary to at most `max` characters (with `…`).
fn shorten_words(text: &str, max: usize) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = String::new();
    for w in &words {
        let len = out.chars().count() + w.chars().count() + usize::from(!out.is_empty());
        if len + 1 > max {
            out.push('…');
            return out;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// `lab drill explain`: the drill described, each line at most [`EXPLAIN_WIDTH`] columns (a
/// pattern longer than a line is kept whole on a line of its own).
pub fn explain(drill: &Drill) -> String {
    let mut out = String::new();
    para(&mut out, "", &format!("{}: {}", drill.name, drill.title));
    if let Some(source) = &drill.source {
        para(&mut out, "", &format!("Source: {source}"));
    }
    out.push_str("\nWhat it proves\n");
    para(&mut out, "  ", &drill.proves);
    profiles(&mut out, drill);
    section(&mut out, "Faults injected", &faults(drill), "none");
    section(&mut out, "What it asserts", &asserts(drill), "nothing");
    section(
        &mut out,
        "Where versions differ",
        &versions(drill),
        "no step depends on the release or the lab's mode",
    );
    out
}

/// A heading and its items, or `empty` when there are none.
fn section(out: &mut String, heading: &str, items: &[String], empty: &str) {
    let _ = writeln!(out, "\n{heading}");
    if items.is_empty() {
        let _ = writeln!(out, "  {empty}");
    }
    for item in items {
        out.push_str(item);
    }
}

/// The profiles and their values.
fn profiles(out: &mut String, drill: &Drill) {
    if drill.profiles.is_empty() {
        return;
    }
    out.push_str("\nProfiles (--profile)\n");
    for (name, values) in &drill.profiles {
        let values: Vec<String> = values.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        let text = if values.is_empty() {
            name.clone()
        } else {
            format!("{name}: {}", values.join(", "))
        };
        para(out, "  ", &text);
    }
}

/// `step N (node)`, the start of every item.
fn at(step: &Step) -> String {
    match &step.on {
        Some(on) => format!("step {} on {on}", step.index + 1),
        None => format!("step {}", step.index + 1),
    }
}

/// Every fault step, injection or heal.
fn faults(drill: &Drill) -> Vec<String> {
    let mut items = Vec::new();
    for step in &drill.steps {
        if let StepKind::Fault { fault, heal } = &step.kind {
            let verb = if *heal { "heals" } else { "injects" };
            let mut text = format!("{}: {verb} {fault} ({})", at(step), fault.what());
            when_suffix(&mut text, step);
            items.push(item(&text));
        }
    }
    items
}

/// ` (only when …)` for a step with conditions.
fn when_suffix(text: &mut String, step: &Step) {
    if !step.when.is_empty() {
        let w: Vec<String> = step.when.iter().map(ToString::to_string).collect();
        let _ = write!(text, " [when {}]", w.join(", "));
    }
}

/// Every expectation: log lines, SQL results, the monitor, waits, commands' exits and
/// outputs, the ledger.
fn asserts(drill: &Drill) -> Vec<String> {
    let mut items = Vec::new();
    for step in &drill.steps {
        let Some((what, lines)) = assertion(step) else {
            continue;
        };
        let mut text = format!("{} ({}): {what}", at(step), step.title);
        if step.optional {
            text.push_str(" (optional)");
        }
        when_suffix(&mut text, step);
        let mut s = item(&text);
        for line in lines {
            s.push_str(&detail(&line));
        }
        items.push(s);
    }
    items
}

/// What a step asserts, and the patterns or values it checks, one per line.
fn assertion(step: &Step) -> Option<(String, Vec<String>)> {
    let since = |m: &Option<String>| m.as_ref().map(|m| format!(" since mark {m}"));
    Some(match &step.kind {
        StepKind::ExpectLog { lines, since: s } => (
            format!(
                "the server log shows{}",
                since(s).unwrap_or_else(|| " (since the start)".into())
            ),
            lines.iter().map(|l| l.raw.clone()).collect(),
        ),
        StepKind::ExpectMonitor {
            codes,
            since: s,
            of,
        } => {
            let codes: Vec<String> = codes.iter().map(u8::to_string).collect();
            let of = of
                .as_ref()
                .or(step.on.as_ref())
                .map_or(String::new(), |n| format!(" of {n}"));
            (
                format!(
                    "the monitor saw pg_isready{of} go {}{}",
                    codes.join(" → "),
                    since(s).unwrap_or_default()
                ),
                Vec::new(),
            )
        }
        StepKind::Sql {
            sql,
            expect: Some(e),
            ..
        } => (format!("SQL returns `{}`", e.raw), vec![sql.raw.clone()]),
        StepKind::Sql {
            sql,
            measure: Some(m),
            ..
        } => (format!("SQL measures {m}"), vec![sql.raw.clone()]),
        StepKind::Run {
            command,
            expect_exit,
            expect_output,
            background: false,
            ..
        } => {
            let mut what = Vec::new();
            if let Some(code) = expect_exit.filter(|c| *c != 0) {
                what.push(format!("exits {code}"));
            }
            if let Some(o) = expect_output {
                what.push(format!("prints /{}/", o.raw));
            }
            if what.is_empty() {
                return None;
            }
            (
                format!("the command {}", what.join(" and ")),
                vec![command.raw.clone()],
            )
        }
        StepKind::Wait(w) => (wait(w), wait_lines(w)),
        StepKind::Action(Action::LedgerCheck { max_lost }) => (ledger(*max_lost), Vec::new()),
        // What asserts nothing of its own (an action's checks are the runner's postconditions).
        StepKind::Sql { .. }
        | StepKind::Run { .. }
        | StepKind::Action(_)
        | StepKind::Fault { .. }
        | StepKind::Mark(_)
        | StepKind::Sleep(_)
        | StepKind::Note(_) => return None,
    })
}

fn wait(w: &WaitFor) -> String {
    match w {
        WaitFor::PgIsReady(code) => format!("waits until pg_isready returns {code}"),
        WaitFor::Sql { equals, .. } => format!("waits until SQL returns `{}`", equals.raw),
        WaitFor::Log { since, .. } => match since {
            Some(m) => format!("waits for a log line since mark {m}"),
            None => "waits for a log line".into(),
        },
    }
}

fn wait_lines(w: &WaitFor) -> Vec<String> {
    match w {
        WaitFor::PgIsReady(_) => Vec::new(),
        WaitFor::Sql { sql, .. } => vec![sql.raw.clone()],
        WaitFor::Log { pattern, .. } => vec![pattern.raw.clone()],
    }
}

fn ledger(max_lost: Option<u64>) -> String {
    let limit = match max_lost {
        Some(0) => "no acknowledged row lost".to_string(),
        Some(n) => format!("at most {n} acknowledged rows lost"),
        None => "no limit asynchronously, none lost synchronously".to_string(),
    };
    format!("the ledger: RPO ({limit}), unacknowledged rows, duplicates, RTO phases")
}

/// Steps with `when` conditions, and the `${pg.*}` variables with their spelling per major.
fn versions(drill: &Drill) -> Vec<String> {
    let mut items = Vec::new();
    for step in drill.steps.iter().filter(|s| !s.when.is_empty()) {
        let w: Vec<&str> = step
            .when
            .iter()
            .map(|w| w.condition.describe(w.holds))
            .collect();
        items.push(item(&format!(
            "{} ({}) runs only when {}",
            at(step),
            step.title,
            w.join(", and ")
        )));
    }
    items.extend(
        drill
            .steps
            .iter()
            .filter_map(rewind_by_release)
            .map(|t| item(&t)),
    );
    for (var, steps) in pg_variables(drill) {
        let spellings = spellings(&var);
        if spellings.len() < 2 {
            continue;
        }
        let numbers: Vec<String> = steps.iter().map(ToString::to_string).collect();
        let steps = if numbers.len() == 1 { "step" } else { "steps" };
        let mut s = item(&format!("${{{var}}} ({steps} {}):", numbers.join(", ")));
        for (value, range) in spellings {
            s.push_str(&detail(&format!("{range}: {value}")));
        }
        items.push(s);
    }
    items
}

/// How a `rewind` step is done per release, from the dialect: which major has pg_rewind, and
/// from which pg_rewind finishes a crashed server's recovery itself (before, the lab does it in
/// single-user mode first).
fn rewind_by_release(step: &Step) -> Option<String> {
    let Some(Action::Rewind { .. }) = step.kind.action() else {
        return None;
    };
    let first = |holds: fn(&Dialect) -> bool| {
        majors()
            .into_iter()
            .find(|m| holds(&Dialect::for_major(*m)))
            .map_or_else(|| "no release".to_string(), |m| m.to_string())
    };
    let (has, recovers) = (
        first(Dialect::has_pg_rewind),
        first(Dialect::rewind_recovers_crashed_target),
    );
    Some(format!(
        "{} ({}) runs pg_rewind, which exists from {has}; before {recovers} a server that \
         crashed first finishes its recovery in single-user mode keeping its WAL files \
         (pg_rewind wants it shut down cleanly), from {recovers} pg_rewind does that itself and \
         fetches the WAL files that recovery recycled from the node's archive \
         (--restore-target-wal)",
        at(step),
        step.title
    ))
}

/// The `pg.*` variables a drill uses, each with the (1-based) steps that use it, in first use.
fn pg_variables(drill: &Drill) -> Vec<(String, Vec<usize>)> {
    let mut found: Vec<(String, Vec<usize>)> = Vec::new();
    for step in &drill.steps {
        // A title is a template too (checked, kept as text).
        let title = Template::parse(&step.title).ok();
        for t in templates(step).into_iter().chain(title.as_ref()) {
            for var in t.variables().filter(|v| v.starts_with("pg.")) {
                match found.iter_mut().find(|(v, _)| v == var) {
                    Some((_, steps)) if steps.last() == Some(&(step.index + 1)) => {}
                    Some((_, steps)) => steps.push(step.index + 1),
                    None => found.push((var.to_string(), vec![step.index + 1])),
                }
            }
        }
    }
    found
}

/// Every template of a step (title included).
fn templates(step: &Step) -> Vec<&Template> {
    let mut t = Vec::new();
    match &step.kind {
        StepKind::Run {
            command,
            expect_output,
            ..
        } => {
            t.push(command);
            t.extend(expect_output);
        }
        StepKind::Sql { sql, expect, .. } => {
            t.push(sql);
            t.extend(expect);
        }
        StepKind::ExpectLog { lines, .. } => t.extend(lines),
        StepKind::Wait(WaitFor::Sql { sql, equals, .. }) => t.extend([sql, equals]),
        StepKind::Wait(WaitFor::Log { pattern, .. }) => t.push(pattern),
        StepKind::Action(a) => t.extend(action_templates(a)),
        StepKind::Wait(WaitFor::PgIsReady(_))
        | StepKind::Fault { .. }
        | StepKind::ExpectMonitor { .. }
        | StepKind::Mark(_)
        | StepKind::Sleep(_)
        | StepKind::Note(_) => {}
    }
    t
}

fn action_templates(a: &Action) -> Vec<&Template> {
    match a {
        Action::BaseBackup { to, .. } | Action::LocalBackup { to } => vec![to],
        Action::MoveAside { to, .. } => vec![to],
        Action::Pitr {
            recovery,
            restore_command,
        } => {
            let mut t: Vec<&Template> = recovery.target.value().into_iter().collect();
            t.extend(restore_command);
            t
        }
        Action::Load { seconds, .. } => vec![seconds],
        Action::CopyBackup { backup, to, .. } => vec![backup, to],
        Action::Start
        | Action::Stop { .. }
        | Action::Promote { .. }
        | Action::LinkWal
        | Action::MakeStandby { .. }
        | Action::LedgerStart
        | Action::LedgerRetarget
        | Action::LedgerCheck { .. }
        | Action::Set { .. }
        | Action::Rewind { .. } => Vec::new(),
    }
}

/// Every supported major, oldest first.
fn majors() -> Vec<Major> {
    let legacy = (3..=6).map(|second| Major { first: 9, second });
    let modern = (10..=NEWEST_MAJOR.first).map(|first| Major { first, second: 0 });
    legacy.chain(modern).collect()
}

/// A `pg.*` variable's value per range of majors (`9.3 to 9.6`), oldest first; one entry when
/// every major spells it alike. `pg.version` and `pg.major` are the release itself.
fn spellings(var: &str) -> Vec<(String, String)> {
    if matches!(var, "pg.version" | "pg.major") {
        return vec![("the release under test".into(), "every major".into())];
    }
    let mut runs: Vec<(String, Major, Major)> = Vec::new();
    for major in majors() {
        let vars = super::render::builtin_vars(
            &Dialect::for_major(major),
            &crate::pg::Topology::default(),
            "",
            "",
        );
        let value = vars.get(var).cloned().unwrap_or_default();
        match runs.last_mut() {
            Some((v, _, last)) if *v == value => *last = major,
            _ => runs.push((value, major, major)),
        }
    }
    runs.into_iter()
        .map(|(value, first, last)| {
            let range = if first == last {
                first.to_string()
            } else {
                format!("{first} to {last}")
            };
            (value, range)
        })
        .collect()
}

/// An item: `  - text`, wrapped.
fn item(text: &str) -> String {
    let mut s = String::new();
    wrap_into(&mut s, "  - ", "    ", text);
    s
}

/// A detail under an item: a pattern, a query, a value, wrapped deeper.
fn detail(text: &str) -> String {
    let mut s = String::new();
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    wrap_into(&mut s, "      ", "        ", &one_line);
    s
}

/// A paragraph, wrapped, every line with `indent`.
fn para(out: &mut String, indent: &str, text: &str) {
    wrap_into(out, indent, indent, text);
}

/// Wraps `text` at spaces to [`EXPLAIN_WIDTH`] columns: the first line after `first`, the
/// others after `rest`. A word longer than a line stays whole.
fn wrap_into(out: &mut String, first: &str, rest: &str, text: &str) {
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        let fits = line.chars().count() + 1 + word.chars().count() <= EXPLAIN_WIDTH;
        if !empty && !fits {
            out.push_str(line.trim_end());
            out.push('\n');
            line = rest.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin(name: &str) -> Drill {
        super::super::load(name).expect("a valid built-in drill")
    }

    #[test]
    fn explain_says_what_failover_switchback_proves_injects_and_asserts() {
        let text = explain(&builtin("failover-switchback"));
        // Phrases may be wrapped over two lines.
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for expected in [
            "failover-switchback: Failover by promoting the slave, rebuild, switch back",
            "Source: report chapter 3, pp.21-44",
            "What it proves",
            "Faults injected",
            "injects wal-permission",
            "What it asserts",
            "the server log shows",
            "the monitor saw pg_isready of node1 go 0 → 2",
            "Where versions differ",
            "${pg.wal_dir}",
            "9.3 to 9.6: pg_xlog",
            &format!("10 to {NEWEST_MAJOR}: pg_wal"),
            "${pg.wal_dir} (steps 6, 10)",
        ] {
            assert!(flat.contains(expected), "no {expected:?} in:\n{text}");
        }
    }

    #[test]
    fn explain_names_the_steps_that_run_under_a_condition() {
        let text = explain(&builtin("archive-only-catchup"));
        assert!(
            text.contains("runs only when the lab replicates synchronously"),
            "{text}"
        );
    }

    #[test]
    fn explain_says_how_each_release_rewinds() {
        let text = explain(&builtin("rewind-rejoin"));
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for expected in [
            "(rewind node1 to node2's timeline) runs only when this release has pg_rewind (9.5 and later)",
            "(rewind node1 to node2's timeline) runs pg_rewind, which exists from 9.5; before 13 a server that crashed first finishes its recovery in single-user mode",
            "from 13 pg_rewind does that itself",
            "SQL measures rewind_seconds",
            "SQL measures rebuild_seconds",
        ] {
            assert!(flat.contains(expected), "no {expected:?} in:\n{text}");
        }
    }

    #[test]
    fn explain_names_the_ledger_check() {
        let text = explain(&builtin("node-crash-failover"));
        assert!(text.contains("the ledger: RPO"), "{text}");
        assert!(text.contains("injects node-crash"), "{text}");
    }

    #[test]
    fn every_built_in_explanation_fits_80_columns() {
        for (name, _) in super::super::BUILTIN {
            let text = explain(&builtin(name));
            for line in text.lines() {
                // A single word longer than a line (a long pattern) is kept whole.
                let words = line.split_whitespace().count();
                assert!(
                    line.chars().count() <= EXPLAIN_WIDTH || words == 1,
                    "{name}: {} columns: {line}",
                    line.chars().count()
                );
            }
        }
    }

    #[test]
    fn the_list_fits_80_columns_and_shows_what_each_drill_proves() {
        let drills: Vec<Drill> = super::super::BUILTIN
            .iter()
            .map(|(n, _)| builtin(n))
            .collect();
        let table = list(&drills, 80);
        for line in table.lines() {
            assert!(
                line.chars().count() <= 80,
                "{} columns: {line}",
                line.chars().count()
            );
        }
        assert!(table.contains("report chapter"), "{table}");
        assert!(!table.contains("SEED-GUIDE"), "{table}");
        assert!(
            table.contains("as the document describes;"),
            "proves shown: {table}"
        );
    }

    #[test]
    fn words_are_shortened_at_a_boundary() {
        assert_eq!(shorten_words("one two three", 9), "one two…");
        assert_eq!(shorten_words("one  two\nthree", 40), "one two three");
    }

    #[test]
    fn wrapping_keeps_indentation() {
        let mut s = String::new();
        wrap_into(&mut s, "  - ", "    ", &"word ".repeat(40));
        assert!(s.lines().count() > 1);
        assert!(s.lines().skip(1).all(|l| l.starts_with("    word")));
    }
}
