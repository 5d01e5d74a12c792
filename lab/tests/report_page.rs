//! report.html in a real browser, without Docker: a page rendered from a hand-made event
//! stream (a failover with a ledger, replay lag and RTO phases) opens in headless Chromium
//! without console messages or broken links, and its timeline has every lane.

mod support;

use std::time::Duration;

use lab::drill::event::{Event, Outcome, Role};
use support::browser::{check_page, keep_screenshot, report_expectations, Expect, LAG_LANES};

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
            node: Some(lab::drill::event::Target::Node(node.parse().unwrap())),
            commands: vec![format!("echo step {number} <&> 'quoted'")],
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

fn readiness(node: &str, code: u8, at: f64) -> Event {
    Event::Readiness {
        node: node.parse().unwrap(),
        code,
        at,
    }
}

/// node1 (the master) crashes at 6 s, is seen down at 7.5 s, node2 is promoted at 12 s and
/// the ledger's writes resume at 13.4 s; one check fails.
fn failover() -> Vec<Event> {
    let mut e = vec![Event::DrillStarted {
        name: "node-crash-failover".into(),
        title: "The master's server crashes <under load>".into(),
        proves: "The slave is promoted & no acknowledged row is lost.".into(),
        pg_version: "15.18".into(),
        profile: "default".into(),
        steps: 4,
    }];
    e.push(Event::Role {
        node: "node1".parse().unwrap(),
        role: Role::Primary,
        at: 0.2,
    });
    e.push(readiness("node1", 0, 0.5));
    e.push(readiness("node2", 0, 0.5));
    e.extend(step(
        1,
        "start the ledger",
        "node1",
        0.3,
        0.4,
        Outcome::Passed,
    ));
    e.extend(step(
        2,
        "crash the master",
        "node1",
        5.8,
        0.3,
        Outcome::Passed,
    ));
    e.push(Event::Fault {
        fault: lab::fault::Fault::NodeCrash,
        node: "node1".parse().unwrap(),
        heal: false,
        at: 6.0,
    });
    e.push(readiness("node1", 2, 7.5));
    e.extend(step(
        3,
        "promote the slave",
        "node2",
        10.0,
        2.2,
        Outcome::Passed,
    ));
    e.push(Event::Role {
        node: "node2".parse().unwrap(),
        role: Role::Primary,
        at: 12.0,
    });
    for i in 0..=20 {
        let at = i as f64;
        let acked = match at {
            a if a <= 6.0 => (a * 20.0) as u64,
            a if a < 14.0 => 120,
            a => 120 + ((a - 13.0) * 20.0) as u64,
        };
        e.push(Event::LedgerSample {
            acked,
            failed: if at > 6.0 { 3 } else { 0 },
            at,
        });
    }
    for (at, s, bytes) in [(1.0, 0.1, 0), (3.0, 0.2, 16_384), (5.0, 0.1, 0)] {
        e.push(Event::Lag {
            node: "node2".parse().unwrap(),
            seconds: s,
            bytes: Some(bytes),
            at,
        });
    }
    e.extend(step(
        4,
        "check the ledger",
        "node2",
        19.0,
        0.5,
        Outcome::Failed {
            expected: "0 rows lost".into(),
            seen: "2 rows lost".into(),
        },
    ));
    for (name, value) in [
        ("rpo_rows", 2.0),
        ("rto_detection_seconds", 1.5),
        ("rto_promoted_seconds", 6.0),
        ("rto_first_write_seconds", 7.4),
    ] {
        e.push(Event::Measure {
            name: name.into(),
            value,
            at: 19.5,
        });
    }
    e.push(Event::DrillFinished {
        passed: false,
        stopped_at: None,
        took: Duration::from_secs_f64(20.0),
    });
    e
}

#[test]
fn a_report_from_hand_made_events_renders_in_chromium_with_every_lane() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, lab::drill::report::timeline::html(&failover())).unwrap();
    let mut expect = report_expectations(
        &["node1", "node2"],
        &["ledger", LAG_LANES[0], LAG_LANES[1]],
        4,
    );
    expect.push(Expect::exactly("tr.bad", 1));
    // The RTO phases drawn as one bar: detection, promotion, first acknowledged write.
    expect.push(Expect::exactly(
        "section.rto > svg[aria-label=\"RTO phases\"] > g[data-phase] > rect.ph",
        3,
    ));
    let shot = dir.path().join("screenshot.png");
    let rendered = check_page(&page, &expect, &shot, (1280, 1000));
    // Text the page escapes is shown as text, never parsed as markup.
    assert!(
        rendered
            .dom
            .contains("The master's server crashes &lt;under load&gt;"),
        "{}",
        rendered.dom
    );
    keep_screenshot(&shot, "report-from-hand-made-events");
}

/// The check itself can fail: a page whose step row's `<g>` is left unclosed nests the lanes
/// inside it, a script logs to the console, and a link points nowhere.
#[test]
fn a_broken_page_fails_the_browser_check() {
    let dir = tempfile::tempdir().unwrap();
    let good = lab::drill::report::timeline::html(&failover());
    let broken = good
        .replacen(
            "</g>\n<g data-lane=\"node1\">",
            "<g data-lane=\"node1\">",
            1,
        )
        .replacen(
            "</body>",
            "<script>console.error('boom')</script><a href=\"gone.html\">x</a></body>",
            1,
        );
    let page = dir.path().join("report.html");
    std::fs::write(&page, broken).unwrap();
    let expect = report_expectations(
        &["node1", "node2"],
        &["ledger", LAG_LANES[0], LAG_LANES[1]],
        4,
    );
    let shot = dir.path().join("screenshot.png");
    let failure = std::panic::catch_unwind(|| check_page(&page, &expect, &shot, (800, 600)))
        .expect_err("a broken page must fail the check");
    let message = failure
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    for want in [
        "console message: \"boom\"",
        "broken link: gone.html",
        "> g[data-lane]\": 0 element(s), expected 5",
    ] {
        assert!(message.contains(want), "{want:?} not in: {message}");
    }
}
