use std::time::Duration;

use super::*;
use crate::drill::event::Target;
use crate::node::NodeId;

fn started(drill: &str, version: &str, steps: usize) -> Event {
    Event::DrillStarted {
        name: drill.into(),
        title: format!("{drill} title"),
        proves: "It proves.".into(),
        pg_version: version.into(),
        profile: "default".into(),
        steps,
    }
}

fn step(number: usize, title: &str, commands: &[&str]) -> Event {
    Event::StepStarted {
        number,
        title: title.into(),
        node: Some(Target::Node(NodeId::NODE1)),
        commands: commands.iter().map(|c| c.to_string()).collect(),
        at: number as f64,
    }
}

fn done(number: usize, outcome: Outcome, output: &str, secs: f64) -> Event {
    Event::StepFinished {
        number,
        outcome,
        output: output.into(),
        took: Duration::from_secs_f64(secs),
        optional: false,
    }
}

fn skipped(reason: &str) -> Outcome {
    Outcome::Skipped {
        reason: reason.into(),
    }
}

fn finished(passed: bool, secs: f64) -> Event {
    Event::DrillFinished {
        passed,
        stopped_at: None,
        took: Duration::from_secs_f64(secs),
    }
}

fn measure(name: &str, value: f64) -> Event {
    Event::Measure {
        name: name.into(),
        value,
        at: 9.0,
    }
}

fn crash(version: &str, log: &str, promote_secs: f64, promoted_at: f64) -> Vec<Event> {
    vec![
        started("node-crash-failover", version, 3),
        step(1, "kill the master", &["docker kill node1"]),
        Event::Fault {
            fault: crate::fault::Fault::NodeCrash,
            node: NodeId::NODE1,
            heal: false,
            at: 1.5,
        },
        done(1, Outcome::Passed, "", 0.2),
        step(2, "promote the slave", &["pg_ctl promote"]),
        Event::Role {
            node: NodeId::NODE2,
            role: crate::drill::event::Role::Primary,
            at: promoted_at,
        },
        done(2, Outcome::Passed, "server promoting", promote_secs),
        step(
            3,
            "the new master says so",
            &[
                "expect in the server log, in order:",
                "  /selected new timeline ID/",
            ],
        ),
        done(3, Outcome::Passed, log, 0.1),
        measure("rpo_rows", 0.0),
        measure("rpo_seconds", 0.0),
        finished(true, 30.0 + promote_secs),
    ]
}

fn corrupted(version: &str, old: bool) -> Vec<Event> {
    let (a, b) = if old {
        (
            Outcome::Passed,
            skipped("does not apply (`when = \"not previous-checkpoint\"`)"),
        )
    } else {
        (
            skipped("does not apply (`when = \"previous-checkpoint\"`)"),
            Outcome::Passed,
        )
    };
    let mut events = vec![
        started("wal-segment-corrupted-failover", version, 3),
        step(1, "the old master opens from its previous checkpoint", &[]),
        done(1, a, "", 0.5),
        step(2, "the old master refuses to start", &[]),
        done(2, b, "", 0.5),
        step(3, "count rows", &["SELECT count(*)"]),
    ];
    if old {
        events.push(done(3, Outcome::Passed, "100", 0.1));
        events.push(measure("rows_lost_by_restarted_master", 130.0));
        events.push(finished(true, 41.0));
    } else {
        events.push(done(
            3,
            Outcome::Failed {
                expected: "100".into(),
                seen: "99".into(),
            },
            "99",
            0.1,
        ));
        events.push(finished(false, 40.0));
    }
    events
}

/// Two drills on 9.3.5 and 15.18, and a third drill interrupted on 15.18.
pub(crate) fn suite() -> Suite {
    let run = |drill: &str, version: &str, exit: Option<i32>, events: Vec<Event>| SuiteRun {
        drill: drill.into(),
        version: version.into(),
        report_dir: (!events.is_empty()).then(|| format!("{version}/{drill}/20261129-110000")),
        exit,
        events,
        interrupted: false,
        seconds: None,
    };
    Suite {
        stamp: "20261129-110000".into(),
        drills: vec![
            "node-crash-failover".into(),
            "wal-segment-corrupted-failover".into(),
            "partition-heal".into(),
        ],
        versions: vec!["9.3.5".into(), "15.18".into()],
        runs: vec![
            run(
                "node-crash-failover",
                "9.3.5",
                Some(0),
                crash(
                    "9.3.5",
                    "2026-11-29 11:00:01.123 UTC [4242] LOG:  selected new timeline ID: 2",
                    1.2,
                    3.0,
                ),
            ),
            run(
                "node-crash-failover",
                "15.18",
                Some(0),
                crash(
                    "15.18",
                    "2026-11-29 11:03:07.456 UTC [77] LOG:  selected new timeline ID: 2\n\
                     2026-11-29 11:03:07.457 UTC [77] LOG:  archive recovery complete",
                    9.5,
                    10.5,
                ),
            ),
            run(
                "wal-segment-corrupted-failover",
                "9.3.5",
                Some(0),
                corrupted("9.3.5", true),
            ),
            run(
                "wal-segment-corrupted-failover",
                "15.18",
                Some(1),
                corrupted("15.18", false),
            ),
            run("partition-heal", "15.18", None, vec![]),
        ],
        shard: None,
    }
}

#[test]
fn index_md_of_a_small_suite() {
    insta::assert_snapshot!(markdown(&suite()));
}

#[test]
fn index_html_of_a_small_suite() {
    insta::assert_snapshot!(html(&suite()));
}

#[test]
fn the_drill_time_chart_has_a_bar_per_timed_run_and_the_longest_fills_it() {
    let suite = suite();
    let chart = durations(&suite).into_string();
    let timed = suite.runs.iter().filter(|r| r.took().is_some()).count();
    assert!(timed > 0);
    assert_eq!(chart.matches("<rect ").count(), timed, "{chart}");
    assert_eq!(chart.matches("<g data-drill=").count(), suite.drills.len());
    let full = format!("width=\"{CHART_BARS:.1}\"");
    assert_eq!(
        chart.matches(&full).count(),
        1,
        "one bar is the longest: {chart}"
    );
}

#[test]
fn junit_xml_of_a_small_suite() {
    insta::assert_snapshot!(junit(&suite()));
}

#[test]
fn results_come_from_events_and_exit_codes() {
    let s = suite();
    let result = |d: &str, v: &str| s.run(d, v).unwrap().result();
    assert_eq!(result("node-crash-failover", "9.3.5"), RunResult::Passed);
    assert_eq!(
        result("wal-segment-corrupted-failover", "15.18"),
        RunResult::Failed
    );
    assert_eq!(result("partition-heal", "15.18"), RunResult::Interrupted);
    let lab_failed = SuiteRun {
        exit: Some(3),
        events: vec![],
        ..s.runs[0].clone()
    };
    assert_eq!(lab_failed.result(), RunResult::Error);
    // A passing report with a non-zero exit (the lab could not be removed) is not a pass.
    let not_removed = SuiteRun {
        exit: Some(3),
        ..s.runs[0].clone()
    };
    assert_eq!(not_removed.result(), RunResult::Error);
    // Stopped by the suite's Ctrl-C before it finished: interrupted, whatever its exit code.
    let stopped = SuiteRun {
        exit: Some(3),
        events: vec![],
        interrupted: true,
        ..s.runs[0].clone()
    };
    assert_eq!(stopped.result(), RunResult::Interrupted);
}

#[test]
fn the_comparison_names_what_differs_and_nothing_else() {
    let s = suite();
    let crash = compare(&s, "node-crash-failover");
    let kinds: Vec<(Option<usize>, &str)> = crash.iter().map(|d| (d.step, d.kind)).collect();
    // The promotion took 1.2 s against 9.5 s (beyond the tolerance); the matched log lines
    // differ by a line; step 1 and the RPO are the same.
    assert_eq!(kinds, [(Some(2), "time"), (Some(3), "log lines")]);
    let corrupted = compare(&s, "wal-segment-corrupted-failover");
    let kinds: Vec<(Option<usize>, &str)> = corrupted.iter().map(|d| (d.step, d.kind)).collect();
    assert_eq!(
        kinds,
        [
            (None, "result"),
            (Some(1), "outcome"),
            (Some(2), "outcome"),
            (Some(3), "outcome"),
            (None, "measure")
        ]
    );
    assert!(compare(&s, "partition-heal").is_empty());
}

#[test]
fn log_lines_lose_what_changes_between_runs() {
    assert_eq!(
        normalise_log_line(
            "2026-11-29 11:00:01.123 UTC [4242] LOG:  redo starts at 0/3000028 in 000000010000000000000003"
        ),
        "LOG: redo starts at <lsn> in <segment>"
    );
    assert_eq!(
        normalise_log_line("< 2026-11-29 > FATAL:  could not create file \"pg_xlog/xlogtemp.123\""),
        "FATAL: could not create file \"pg_xlog/xlogtemp.N\""
    );
}

#[test]
fn the_tolerance_needs_both_seconds_and_ratio() {
    assert!(!beyond_tolerance(1.0, 5.9), "under 5 s apart");
    assert!(!beyond_tolerance(20.0, 29.0), "under 1.5×");
    assert!(beyond_tolerance(1.2, 9.5));
    assert!(beyond_tolerance(31.0, 20.0));
}

/// Validates `xml` against the JUnit schema (`fixtures/junit/junit.xsd`) with xmllint.
pub fn validate_junit(xml: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let file = dir.path().join("junit.xml");
    std::fs::write(&file, xml).map_err(|e| e.to_string())?;
    let xsd = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/junit/junit.xsd");
    let out = std::process::Command::new("xmllint")
        .args(["--noout", "--schema", xsd])
        .arg(&file)
        .output()
        .map_err(|e| format!("xmllint (Debian's libxml2-utils; test.sh installs it): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn the_suite_junit_is_valid_against_the_junit_schema_and_the_schema_can_fail() {
    let xml = junit(&suite());
    validate_junit(&xml).unwrap();
    let bad = xml.replacen("<testcase ", "<testcase bogus=\"1\" ", 1);
    assert!(validate_junit(&bad).is_err(), "an unknown attribute passes");
    let bad = xml.replacen(" tests=\"3\"", " tests=\"three\"", 1);
    assert!(validate_junit(&bad).is_err(), "a non-numeric count passes");
}
