//! Reporters: the same recorded events as live terminal lines ([`live`]), `report.md` shaped
//! like the document (per step: what, where, commands, output excerpt, expected vs seen,
//! duration), `report.json` (the events themselves) and `junit.xml`, written with each node's
//! server log under `runs/<drill>/<timestamp>/`, with a `latest` link beside it; `report.html`
//! is [`timeline`], and a suite's index and `junit.xml` are [`suite_index`].

pub mod live;
pub mod suite_index;
pub mod timeline;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::event::{result_word, Event, Outcome};
use super::summary::{FaultAt, Incident, Reading, RunSummary};
use crate::node::NodeId;

/// `report.md`: the run as a runbook with its evidence.
pub fn markdown(events: &[Event]) -> String {
    let run = RunSummary::of(events);
    let mut md = String::new();
    if let Some(h) = run.header {
        let _ = writeln!(
            md,
            "# {}\n\n`{}` on PostgreSQL {}, profile `{}`.\n\n**What it proves.** {}\n",
            h.title, h.name, h.pg_version, h.profile, h.proves
        );
    }
    if let Some(end) = run.ending {
        let _ = writeln!(
            md,
            "**Result: {}** in {:.1} s.{}\n",
            result_word(end.passed, end.stopped_at),
            end.took,
            end.stopped_at
                .map(|n| stopped_note(&run, n))
                .unwrap_or_default()
        );
    }
    let incidents: Vec<String> = run
        .incidents
        .iter()
        .map(|i| match i {
            Incident::Fault(FaultAt {
                fault,
                node,
                heal,
                at,
            }) => format!(
                "- {at:.1} s: {} `{fault}` on {node}",
                if *heal { "healed" } else { "injected" }
            ),
            Incident::Readiness(Reading { node, code, at }) => {
                format!("- {at:.1} s: pg_isready on {node} → {code}")
            }
        })
        .collect();
    if !incidents.is_empty() {
        let _ = writeln!(
            md,
            "## Timeline of faults and readiness\n\n{}\n",
            incidents.join("\n")
        );
    }
    let measures: Vec<String> = run
        .measures
        .iter()
        .map(|(name, value)| format!("| {name} | {value:.3} |"))
        .collect();
    if !measures.is_empty() {
        let _ = writeln!(
            md,
            "## What the failure cost\n\n| measure | value |\n|---|---|\n{}\n",
            measures.join("\n")
        );
    }
    md.push_str(&hands_on(&run));
    let _ = writeln!(md, "## Steps\n");
    for s in &run.steps {
        let status = match s.outcome {
            Some(Outcome::Passed) => "✔ passed",
            Some(Outcome::Failed { .. }) => "✘ FAILED",
            Some(Outcome::Error { .. }) => "✘ ERROR",
            Some(Outcome::Skipped { .. }) => "– skipped",
            None => "? unfinished",
        };
        let _ = writeln!(
            md,
            "### {}. {} — {}\n\nOn **{}**, {:.1} s, {status}.\n",
            s.number,
            s.title,
            status,
            s.node
                .map_or_else(|| "the runner".into(), |n| n.to_string()),
            s.took
        );
        if let Some(p) = s.performed {
            let _ = writeln!(
                md,
                "Performed by the {}{}.\n",
                p.by.as_str(),
                tries_text(p.tries)
            );
            for w in p.wrong {
                let _ = writeln!(md, "- not yet: {}", cell(w));
            }
            if !p.wrong.is_empty() {
                md.push('\n');
            }
        }
        if !s.commands.is_empty() {
            let _ = writeln!(md, "```\n{}\n```\n", s.commands.join("\n"));
        }
        match s.outcome {
            Some(Outcome::Failed { expected, seen }) => {
                let _ = writeln!(
                    md,
                    "| expected | seen |\n|---|---|\n| {} | {} |\n",
                    cell(expected),
                    cell(seen)
                );
            }
            Some(Outcome::Error { message }) => {
                let _ = writeln!(md, "Error: {}\n", message);
            }
            Some(Outcome::Skipped { reason }) => {
                let _ = writeln!(md, "Skipped: {reason}\n");
            }
            _ => {}
        }
        if !s.output.trim().is_empty() {
            let _ = writeln!(
                md,
                "<details><summary>output</summary>\n\n```\n{}\n```\n</details>\n",
                s.output
            );
        }
    }
    md
}

/// ", after 2 checks" (nothing when the lab never checked a DBA's attempt).
fn tries_text(tries: u32) -> String {
    match tries {
        0 => String::new(),
        1 => ", checked once".into(),
        n => format!(", after {n} checks"),
    }
}

/// The hands-on rehearsal's summary (none in other runs): each step offered to the DBA, who
/// performed it, how long it took, the checks and what was wrong before it was right.
fn hands_on(run: &RunSummary) -> String {
    let rows: Vec<String> = run
        .steps
        .iter()
        .filter_map(|s| {
            let p = s.performed?;
            let wrong = if p.wrong.is_empty() {
                "–".to_string()
            } else {
                p.wrong
                    .iter()
                    .map(|w| cell(w))
                    .collect::<Vec<_>>()
                    .join(" <br> ")
            };
            let status = match s.outcome {
                Some(Outcome::Passed) => "passed",
                Some(Outcome::Skipped { .. }) => "skipped",
                Some(_) => "FAILED",
                None => "unfinished",
            };
            Some(format!(
                "| {} | {} | {} | {} | {:.1} s | {} | {status} | {wrong} |",
                s.number,
                s.title.replace('|', "\\|"),
                s.node.map_or_else(|| "-".into(), |n| n.to_string()),
                p.by.as_str(),
                s.took,
                p.tries,
            ))
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "## Hands-on rehearsal\n\nWho performed each step offered to the DBA, how long it took \
         (from the prompt to the passing check), how many times the lab checked, and what each \
         failed check found.\n\n| step | title | node | by | time | checks | result | what was \
         wrong before it was right |\n|---|---|---|---|---|---|---|---|\n{}\n\n",
        rows.join("\n")
    )
}

fn cell(s: &str) -> String {
    format!("`{}`", s.replace('|', "\\|").replace('\n', "` <br> `"))
}

/// What a stopped run did: where it was stopped and which steps ran before.
fn stopped_note(run: &RunSummary, at: usize) -> String {
    let done = run
        .steps
        .iter()
        .filter(|s| s.number < at && !matches!(s.outcome, Some(Outcome::Skipped { .. }) | None))
        .count();
    format!(
        " Stopped on purpose before step {at} (`q` in `--step` mode), not failed: {done} step(s) \
         had run; the steps from {at} on were not run."
    )
}

/// `junit.xml`: one test case per step.
pub fn junit(events: &[Event]) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let run = RunSummary::of(events);
    let name = run.header.map_or("drill", |h| h.name).to_string();
    let mut suite = TestSuite::new(name.clone());
    for s in &run.steps {
        let status = match s.outcome {
            Some(Outcome::Passed) => TestCaseStatus::success(),
            Some(Outcome::Failed { expected, seen }) => {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                st.set_message(format!("expected: {expected}; seen: {seen}"));
                st
            }
            Some(Outcome::Error { message }) => {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
                st.set_message(message.clone());
                st
            }
            Some(Outcome::Skipped { reason }) => {
                let mut st = TestCaseStatus::skipped();
                st.set_message(reason.clone());
                st
            }
            None => TestCaseStatus::skipped(),
        };
        let mut case = TestCase::new(format!("{:02}. {}", s.number, s.title), status);
        case.set_classname(format!(
            "{name}.{}",
            s.node.map_or_else(|| "runner".into(), |n| n.to_string())
        ));
        case.set_time(std::time::Duration::from_secs_f64(s.took));
        if let Some(p) = s.performed {
            // In system-out: the JUnit schema gives a test case no properties.
            let mut text = format!("performed by the {}{}", p.by.as_str(), tries_text(p.tries));
            for w in p.wrong {
                text.push_str(&format!("\nnot yet: {w}"));
            }
            case.set_system_out(text);
        }
        suite.add_test_case(case);
    }
    let stopped_at = run.ending.and_then(|e| e.stopped_at);
    if let Some(at) = stopped_at {
        suite.add_property(quick_junit::Property::new("result", "stopped"));
        suite.add_property(quick_junit::Property::new(
            "stopped_at_step",
            at.to_string(),
        ));
    }
    let mut report = Report::new(format!("lab drill {name}"));
    report.add_test_suite(suite);
    report.to_string().unwrap_or_default()
}

/// Masks passwords in report text: `password=…` in connection strings, `PASSWORD '…'` in SQL,
/// and the password field of `.pgpass` lines.
pub fn mask_secrets(text: &str) -> String {
    use std::sync::LazyLock;
    static PATTERNS: LazyLock<[(regex::Regex, &str); 3]> = LazyLock::new(|| {
        [
            (
                regex::Regex::new(r"(?i)(password=)[^\s'\\]+").expect("valid"),
                "${1}***",
            ),
            (
                regex::Regex::new(r"(?i)(PASSWORD\s+')[^']*(')").expect("valid"),
                "${1}***${2}",
            ),
            (
                regex::Regex::new(r"(\*:\*:\*:[^:\s']+:)[^\s']+").expect("valid"),
                "${1}***",
            ),
        ]
    });
    let mut out = text.to_string();
    for (re, with) in PATTERNS.iter() {
        out = re.replace_all(&out, *with).into_owned();
    }
    out
}

/// Writes every report and the node logs into `base/<drill>/<timestamp>/` and points
/// `base/<drill>/latest` at it, with passwords masked unless `show_secrets`. Returns the run
/// directory.
pub fn write_run(
    base: &Path,
    drill: &str,
    stamp: &str,
    events: &[Event],
    logs: &[(NodeId, String)],
    show_secrets: bool,
) -> std::io::Result<PathBuf> {
    let secret = |text: String| {
        if show_secrets {
            text
        } else {
            mask_secrets(&text)
        }
    };
    let dir = base.join(drill).join(stamp);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("report.md"), secret(markdown(events)))?;
    std::fs::write(dir.join("report.html"), secret(timeline::html(events)))?;
    std::fs::write(
        dir.join("report.json"),
        secret(
            serde_json::to_string_pretty(&super::event::RunReport {
                events: events.to_vec(),
            })
            .expect("events serialise"),
        ),
    )?;
    std::fs::write(dir.join("junit.xml"), secret(junit(events)))?;
    for (node, text) in logs {
        std::fs::write(dir.join(format!("{node}.log")), secret(text.clone()))?;
    }
    let latest = base.join(drill).join("latest");
    let _ = std::fs::remove_file(&latest);
    std::os::unix::fs::symlink(stamp, &latest)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::event::{Role, Target};
    use std::time::Duration;

    fn started(
        number: usize,
        title: &str,
        node: Option<&str>,
        commands: &[&str],
        at: f64,
    ) -> Event {
        Event::StepStarted {
            number,
            title: title.into(),
            node: node.map(|n| match n {
                "all" => Target::All,
                n => Target::Node(n.parse().unwrap()),
            }),
            commands: commands.iter().map(|c| c.to_string()).collect(),
            at,
        }
    }

    fn finished(number: usize, outcome: Outcome, output: &str, millis: u64) -> Event {
        Event::StepFinished {
            number,
            outcome,
            output: output.into(),
            took: Duration::from_millis(millis),
            optional: false,
        }
    }

    /// A failover drill's events: one step of each outcome, a fault, readiness and measures.
    fn fixed_run() -> Vec<Event> {
        vec![
            Event::DrillStarted {
                name: "node-crash-failover".into(),
                title: "The master's server crashes".into(),
                proves: "The slave is promoted and no acknowledged row is lost.".into(),
                pg_version: "15.18".into(),
                profile: "default".into(),
                steps: 5,
            },
            started(
                1,
                "crash the master",
                Some("node1"),
                &["kill -9 $(head -1 /disk1/data/postmaster.pid)"],
                0.5,
            ),
            Event::Fault {
                fault: crate::fault::Fault::NodeCrash,
                node: NodeId::NODE1,
                heal: false,
                at: 0.6,
            },
            finished(1, Outcome::Passed, "", 250),
            Event::Readiness {
                node: NodeId::NODE1,
                code: 2,
                at: 1.2,
            },
            started(
                2,
                "promote the slave",
                Some("node2"),
                &["pg_ctl promote -D /disk1/data"],
                1.5,
            ),
            Event::Role {
                node: NodeId::NODE2,
                role: Role::Primary,
                at: 2.9,
            },
            finished(2, Outcome::Passed, "server promoting", 1400),
            started(
                3,
                "count rows | on the new master",
                Some("node2"),
                &["SELECT count(*) FROM pgbench_history"],
                3.0,
            ),
            finished(
                3,
                Outcome::Failed {
                    expected: "42".into(),
                    seen: "41\nrows".into(),
                },
                "41",
                100,
            ),
            started(4, "write on the old master", Some("node1"), &[], 3.2),
            finished(
                4,
                Outcome::Error {
                    message: "node1: connection refused".into(),
                },
                "",
                0,
            ),
            started(5, "synchronous only", None, &[], 3.3),
            finished(
                5,
                Outcome::Skipped {
                    reason: "the lab is asynchronous".into(),
                },
                "",
                0,
            ),
            Event::Measure {
                name: "rpo_rows".into(),
                value: 0.0,
                at: 3.4,
            },
            Event::Measure {
                name: "rto_promoted_seconds".into(),
                value: 2.3,
                at: 3.4,
            },
            Event::DrillFinished {
                passed: false,
                stopped_at: None,
                took: Duration::from_millis(3456),
            },
        ]
    }

    /// The first half of [`stopped_hands_on_run`]: up to the optional check after the promotion.
    fn until_the_check() -> Vec<Event> {
        vec![
            Event::DrillStarted {
                name: "failover-switchback".into(),
                title: "Failover & switchback <by hand>".into(),
                proves: "The DBA can promote the slave; no acknowledged row is lost.".into(),
                pg_version: "9.3.5".into(),
                profile: "seed".into(),
                steps: 7,
            },
            Event::Role {
                node: NodeId::NODE1,
                role: Role::Primary,
                at: 0.1,
            },
            Event::Role {
                node: NodeId::NODE2,
                role: Role::Standby,
                at: 0.2,
            },
            Event::Readiness {
                node: NodeId::NODE1,
                code: 0,
                at: 0.4,
            },
            Event::Readiness {
                node: NodeId::NODE2,
                code: 0,
                at: 0.5,
            },
            started(1, "start the ledger", Some("node1"), &[], 0.3),
            finished(1, Outcome::Passed, "writing to node1 (172.16.3.101)", 200),
            started(
                2,
                "crash the master",
                Some("node1"),
                &["kill -9 $(head -1 /disk1/data/postmaster.pid)"],
                2.8,
            ),
            Event::Fault {
                fault: crate::fault::Fault::NodeCrash,
                node: NodeId::NODE1,
                heal: false,
                at: 3.0,
            },
            finished(2, Outcome::Passed, "", 300),
            Event::Readiness {
                node: NodeId::NODE1,
                code: 2,
                at: 3.6,
            },
            started(
                3,
                "promote the slave",
                Some("node2"),
                &["pg_ctl promote -D /disk1/data"],
                4.0,
            ),
            Event::Role {
                node: NodeId::NODE2,
                role: Role::Primary,
                at: 7.4,
            },
            Event::Performed {
                number: 3,
                by: crate::drill::event::Performer::Dba,
                tries: 2,
                wrong: vec![
                    "expected pg_is_in_recovery() = f; there is: t".into(),
                    "still | in recovery\nsecond line".into(),
                ],
                at: 7.5,
            },
            finished(3, Outcome::Passed, "server promoting", 3500),
            started(4, "count rows | on the new master", Some("node2"), &[], 7.6),
            Event::Performed {
                number: 4,
                by: crate::drill::event::Performer::Lab,
                tries: 0,
                wrong: vec![],
                at: 7.6,
            },
            Event::StepFinished {
                number: 4,
                outcome: Outcome::Failed {
                    expected: "42".into(),
                    seen: "41\nrows".into(),
                },
                output: "41".into(),
                took: Duration::from_millis(100),
                optional: true,
            },
        ]
    }

    /// A stopped hands-on rehearsal with one event of every kind (a step the DBA performed
    /// after two checks, an optional failure, an error, a step left unfinished, a heal, the
    /// ledger, replay lag, RTO phases, a password to mask).
    fn stopped_hands_on_run() -> Vec<Event> {
        let mut e = until_the_check();
        for i in 0..=12u64 {
            let at = i as f64;
            let acked = match i {
                0..=3 => i * 20,
                4..=8 => 60,
                _ => 60 + (i - 8) * 25,
            };
            let failed = match i {
                0..=4 => 0,
                5 | 6 => 2,
                _ => 3,
            };
            e.push(Event::LedgerSample { acked, failed, at });
        }
        // node1 rebuilt at 11.5 s: no primary listed it yet, so no bytes.
        for (node, seconds, bytes, at) in [
            ("node2", 0.1, Some(0), 1.0),
            ("node2", 0.3, Some(24_576), 2.0),
            ("node1", 0.7, None, 11.5),
        ] {
            e.push(Event::Lag {
                node: node.parse().unwrap(),
                seconds,
                bytes,
                at,
            });
        }
        for (name, value) in [
            ("ledger_acked", 160.0),
            ("rpo_rows", 0.0),
            ("rto_detection_seconds", 0.6),
            ("rto_promoted_seconds", 4.4),
            ("rto_first_write_seconds", 6.0),
            ("lab_overhead_promote_to_first_write_seconds", 1.6),
        ] {
            e.push(Event::Measure {
                name: name.into(),
                value,
                at: 8.0,
            });
        }
        e.extend([
            started(5, "write on the old master", Some("node1"), &[], 8.2),
            finished(
                5,
                Outcome::Error {
                    message: "node1: connection refused".into(),
                },
                "",
                0,
            ),
            Event::Fault {
                fault: crate::fault::Fault::NodeCrash,
                node: NodeId::NODE1,
                heal: true,
                at: 9.0,
            },
            Event::Readiness {
                node: NodeId::NODE1,
                code: 1,
                at: 9.8,
            },
            Event::Readiness {
                node: NodeId::NODE1,
                code: 0,
                at: 10.5,
            },
            started(
                6,
                "rebuild node1",
                Some("node1"),
                &["psql -c \"CREATE ROLE lab LOGIN PASSWORD 'f00d';\""],
                11.0,
            ),
            started(7, "synchronous only", None, &[], 12.0),
            finished(
                7,
                Outcome::Skipped {
                    reason: "the drill was stopped".into(),
                },
                "",
                0,
            ),
            Event::DrillFinished {
                passed: false,
                stopped_at: Some(7),
                took: Duration::from_millis(12500),
            },
        ]);
        e
    }

    /// Every file `write_run` writes for a run (the reports and the node logs), byte for byte.
    #[test]
    fn every_report_of_a_stopped_hands_on_run_matches_its_golden() {
        let base = tempfile::tempdir().unwrap();
        let logs = [
            (
                NodeId::NODE1,
                "LOG:  primary_conninfo = 'host=172.16.3.102 password=repuser'\n".to_string(),
            ),
            (NodeId::NODE2, "LOG:  ready\n".to_string()),
        ];
        let dir = write_run(
            base.path(),
            "failover-switchback",
            "20261129-110000",
            &stopped_hands_on_run(),
            &logs,
            false,
        )
        .unwrap();
        for file in [
            "report.md",
            "report.json",
            "junit.xml",
            "report.html",
            "node1.log",
            "node2.log",
        ] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            crate::golden::assert_golden(&format!("report/stopped-hands-on/{file}"), &text);
        }
    }

    #[test]
    fn report_md_of_a_fixed_run() {
        insta::assert_snapshot!(markdown(&fixed_run()));
    }

    #[test]
    fn junit_xml_of_a_fixed_run() {
        insta::assert_snapshot!(junit(&fixed_run()));
    }

    #[test]
    fn passwords_are_masked() {
        let text =
            "primary_conninfo = 'host=172.16.3.101 port=5432 user=repuser password=repuser'\n\
                    psql -c \"CREATE ROLE lab LOGIN SUPERUSER PASSWORD 'f00d';\"\n\
                    $ echo '*:*:*:repuser:repuser' > ~/.pgpass";
        let masked = mask_secrets(text);
        assert!(
            !masked.contains("password=repuser") && masked.contains("password=***'"),
            "{masked}"
        );
        assert!(
            masked.contains("PASSWORD '***'") && !masked.contains("f00d"),
            "{masked}"
        );
        assert!(masked.contains("'*:*:*:repuser:***'"), "{masked}");
        assert!(masked.contains("user=repuser"), "user names stay: {masked}");
    }
}
