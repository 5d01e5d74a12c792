//! The terminal's line for each event as it happens (`lab drill run`'s live output): the one
//! reader of the events besides [`crate::drill::summary`], since it shows one event at a time
//! and folds nothing.

use crate::drill::event::{result_word, Event, Outcome};

/// Prints an event as it happens.
pub fn print(e: &Event) {
    match e {
        Event::DrillStarted {
            name,
            title,
            pg_version,
            profile,
            steps,
            ..
        } => {
            eprintln!("drill {name}: {title}\n  PostgreSQL {pg_version}, profile {profile}, {steps} steps");
        }
        Event::StepStarted {
            number,
            title,
            node,
            ..
        } => {
            eprintln!(
                "▶ {number:>2}. [{}] {title}",
                node.map_or_else(|| "-".into(), |n| n.to_string())
            );
        }
        Event::StepFinished {
            number,
            outcome,
            took,
            optional,
            ..
        } => {
            let secs = took.as_secs_f64();
            match outcome {
                Outcome::Passed => eprintln!("  ✔ {number:>2}. passed ({secs:.1}s)"),
                Outcome::Failed { expected, seen } => eprintln!(
                    "  ✘ {number:>2}. FAILED{} ({secs:.1}s)\n      expected: {}\n      seen:     {}",
                    if *optional { " (optional)" } else { "" },
                    expected,
                    seen.replace('\n', "\n                ")
                ),
                Outcome::Error { message } => eprintln!("  ✘ {number:>2}. ERROR ({secs:.1}s): {message}"),
                Outcome::Skipped { reason } => eprintln!("  - {number:>2}. skipped: {reason}"),
            }
        }
        Event::Fault {
            fault,
            node,
            heal,
            at,
        } => {
            eprintln!(
                "  ⚡ {at:.1}s {} {fault} on {node}",
                if *heal { "healed" } else { "injected" }
            );
        }
        Event::Readiness { node, code, at } => eprintln!("  ◷ {at:.1}s pg_isready {node}: {code}"),
        Event::Role { node, role, at } => eprintln!("  ⇄ {at:.1}s {node} is now {role}"),
        Event::Measure { name, value, .. } => eprintln!("  ∑ {name} = {value:.3}"),
        Event::Performed {
            number, by, tries, ..
        } => eprintln!(
            "  ✋ {number:>2}. performed by the {}{}",
            by.as_str(),
            if *tries > 0 {
                format!(" ({tries} check(s) by the lab)")
            } else {
                String::new()
            }
        ),
        Event::LedgerSample { .. } | Event::Lag { .. } => {}
        Event::DrillFinished {
            passed,
            stopped_at,
            took,
        } => eprintln!(
            "drill {}{} in {:.1}s",
            result_word(*passed, *stopped_at),
            stopped_at
                .map(|n| format!(" at step {n} (by the user)"))
                .unwrap_or_default(),
            took.as_secs_f64()
        ),
    }
}
