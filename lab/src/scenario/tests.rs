//! Tests of drill parsing: bad files with their exact messages, a valid drill using every kind
//! and action, and template rendering.
//!
//! Inputs are inline so that each case reads next to its expected message; [`check`] is the one
//! helper every bad-input case goes through.

use crate::node::NodeId;
use std::time::Duration;

use super::*;
use crate::plan::User;

/// The top-level keys every case needs, three lines long.
const HEAD: &str = "name = \"d\"\ntitle = \"T\"\nproves = \"P.\"\n";

/// Parses `HEAD` + `body` as `d.toml` and returns the diagnostics as printed.
fn diagnostics(body: &str) -> Vec<String> {
    match parse("d.toml", &format!("{HEAD}{body}")) {
        Ok(_) => Vec::new(),
        Err(diags) => diags.iter().map(ToString::to_string).collect(),
    }
}

/// One bad input and every message it must produce, in order.
struct Bad {
    name: &'static str,
    body: &'static str,
    expected: &'static [&'static str],
}

const BAD: &[Bad] = &[
    Bad {
        name: "unknown top-level key",
        body: "colour = \"red\"\n[[steps]]\ntitle = \"n\"\nnote = \"x\"\n",
        expected: &[
            "d.toml:4:1: error: unknown key `colour`: expected one of name, title, proves, source, monitor, lab, profiles, procedures, steps",
        ],
    },
    Bad {
        name: "unknown step key",
        body: "[[steps]]\ntitle = \"r\"\non = \"node1\"\nrun = \"true\"\nusr = \"root\"\n",
        expected: &[
            "d.toml:8:1: error: unknown key `usr` in a `run` step: expected one of title, on, timeout, capture, id, optional, when, run, user, expect_exit, expect_output, background",
        ],
    },
    Bad {
        name: "key of another kind",
        body: "[[steps]]\ntitle = \"r\"\non = \"node1\"\nrun = \"true\"\ndb = \"testdb\"\n",
        expected: &[
            "d.toml:8:1: error: `db` does not apply to a `run` step: expected one of title, on, timeout, capture, id, optional, when, run, user, expect_exit, expect_output, background",
        ],
    },
    Bad {
        name: "two kind keys",
        body: "[[steps]]\ntitle = \"r\"\non = \"node1\"\nrun = \"true\"\nsql = \"select 1\"\n",
        expected: &[
            "d.toml:8:1: error: step 1 has 2 kind keys (run, sql): a step does exactly one thing, keep one",
        ],
    },
    Bad {
        name: "no kind key",
        body: "[[steps]]\ntitle = \"r\"\non = \"node1\"\n",
        expected: &[
            "d.toml:4:1: error: step 1 has no kind: add exactly one of run, sql, action, fault, wait, expect_log, expect_monitor, mark, sleep, note",
        ],
    },
    Bad {
        name: "misspelt kind key",
        body: "[[steps]]\ntitle = \"r\"\non = \"node1\"\nshel = \"ls\"\n",
        expected: &[
            "d.toml:7:1: error: unknown key `shel` in step 1, which has no kind: a step needs exactly one of run, sql, action, fault, wait, expect_log, expect_monitor, mark, sleep, note",
        ],
    },
    Bad {
        name: "unknown node",
        body: "[[steps]]\ntitle = \"r\"\non = \"node3\"\nrun = \"true\"\n",
        expected: &[
            "d.toml:6:6: error: unknown node `node3` for `on`: expected a node (node1, node2), a role (primary, standby) or all",
        ],
    },
    Bad {
        name: "all where one node is needed",
        body: "[[steps]]\ntitle = \"f\"\non = \"all\"\nfault = \"wal-permission\"\n",
        expected: &[
            "d.toml:6:6: error: `on` must name one node here, not `all`: expected a node (node1, node2) or a role (primary, standby)",
        ],
    },
    Bad {
        name: "all for an action other than start and stop",
        body: "[[steps]]\ntitle = \"p\"\non = \"all\"\naction = \"promote\"\n",
        expected: &[
            "d.toml:6:6: error: action `promote` acts on one node: `all` is allowed only for start, stop and set",
        ],
    },
    Bad {
        name: "missing on",
        body: "[[steps]]\ntitle = \"r\"\nrun = \"true\"\n",
        expected: &[
            "d.toml:4:1: error: a `run` step needs `on`: a node (node1, node2), a role (primary, standby) or all",
        ],
    },
    Bad {
        name: "on for a kind that acts on no node",
        body: "[[steps]]\ntitle = \"m\"\non = \"node1\"\nmark = \"m\"\n",
        expected: &[
            "d.toml:6:1: error: `on` does not apply to a `mark` step: expected one of title, id, optional, when, mark",
        ],
    },
    Bad {
        name: "unknown action",
        body: "[[steps]]\ntitle = \"p\"\non = \"node2\"\naction = \"promot\"\n",
        expected: &[
            "d.toml:7:10: error: unknown action `promot`: expected one of start, stop, promote, base_backup, local_backup, move_aside, link_wal, make_standby, pitr, load, copy_backup, ledger_start, ledger_retarget, ledger_check, set, rewind",
        ],
    },
    Bad {
        name: "unknown action parameter",
        body: "[[steps]]\ntitle = \"b\"\non = \"node1\"\naction = \"base_backup\"\nwith = { form = \"node2\" }\n",
        expected: &[
            "d.toml:8:8: error: action `base_backup` needs `from` in `with`: the node to copy, a node (node1, node2) or a role (primary, standby)",
            "d.toml:8:10: error: unknown parameter `form` for action `base_backup`: expected one of from, to, wal",
        ],
    },
    Bad {
        name: "parameter for an action that takes none",
        body: "[[steps]]\ntitle = \"p\"\non = \"node2\"\naction = \"start\"\nwith = { fast = true }\n",
        expected: &[
            "d.toml:8:10: error: action `start` takes no parameters, found `fast`",
        ],
    },
    Bad {
        name: "unknown stop mode",
        body: "[[steps]]\ntitle = \"s\"\non = \"node1\"\naction = \"stop\"\nwith = { mode = \"quick\" }\n",
        expected: &[
            "d.toml:8:17: error: unknown stop mode `quick` for `mode`: expected fast, smart or immediate",
        ],
    },
    Bad {
        name: "wrong type",
        body: "[[steps]]\ntitle = \"r\"\non = \"node1\"\nrun = \"true\"\ntimeout = 10\n",
        expected: &[
            "d.toml:8:11: error: `timeout` must be a duration string such as \"10s\", not an integer",
        ],
    },
    Bad {
        name: "bad duration",
        body: "[[steps]]\ntitle = \"r\"\non = \"node1\"\nrun = \"true\"\ntimeout = \"10 s\"\n",
        expected: &[
            "d.toml:8:11: error: bad duration `10 s`: use forms like 500ms, 10s, 5m, 1h",
        ],
    },
    Bad {
        name: "bad regex",
        body: "[[steps]]\ntitle = \"r\"\non = \"node1\"\nrun = \"true\"\nexpect_output = \"a(b\"\n",
        expected: &[
            "d.toml:8:17: error: bad regex `a(b` in `expect_output`: unclosed group",
        ],
    },
    Bad {
        name: "undefined variable",
        body: "[[steps]]\ntitle = \"r\"\non = \"node1\"\nrun = \"ls ${pg.wal} ${nope}\"\n",
        expected: &[
            "d.toml:7:11: error: undefined variable `${pg.wal}`; defined at this point: pg.wal_dir, pg.major, pg.log_dir, pg.lsn_diff, pg.replay_lsn (and 17 more)",
            "d.toml:7:21: error: undefined variable `${nope}`; defined at this point: node1.addr, node2.addr, pg.version, pg.replay_lsn, pg.current_lsn (and 17 more)",
        ],
    },
    Bad {
        name: "variable used before its capture",
        body: "[[steps]]\ntitle = \"a\"\non = \"node1\"\nrun = \"echo ${ts}\"\n\n[[steps]]\ntitle = \"b\"\non = \"node2\"\nsql = \"select now()\"\ncapture = \"ts\"\n",
        expected: &[
            "d.toml:7:13: error: variable `${ts}` is used before step 2 captures it; defined at this point: pg.replay_timestamp_function, today, standby.addr, pg.startup_failure, pg.lsn_diff (and 17 more)",
        ],
    },
    Bad {
        name: "variable used by the step capturing it",
        body: "[[steps]]\ntitle = \"a\"\non = \"node1\"\nrun = \"echo ${ts}\"\ncapture = \"ts\"\n",
        expected: &[
            "d.toml:7:13: error: variable `${ts}` is captured by this step, so only later steps can use it; defined at this point: pg.replay_timestamp_function, today, standby.addr, pg.startup_failure, pg.lsn_diff (and 17 more)",
        ],
    },
    Bad {
        name: "shell variable",
        body: "[[steps]]\ntitle = \"a\"\non = \"node1\"\nrun = \"ls ${PGDATA}\"\n",
        expected: &[
            "d.toml:7:11: error: undefined variable `${PGDATA}` (for a shell variable write `$${PGDATA}`); defined at this point: pg.wal_dir, pg.log_dir, pg.startup_failure, pg.replay_timestamp_function, pg.switch_wal (and 17 more)",
        ],
    },
    Bad {
        name: "unclosed reference",
        body: "[[steps]]\ntitle = \"a\"\non = \"node1\"\nrun = \"ls /disk2/${pg.wal_dir\"\n",
        expected: &[
            "d.toml:7:18: error: unclosed `${`: close it with `}`, or write `$$` for a literal `$`",
        ],
    },
    Bad {
        name: "undefined variable in a title",
        body: "[[steps]]\ntitle = \"at ${nope}\"\non = \"node1\"\nrun = \"true\"\n",
        expected: &[
            "d.toml:5:13: error: undefined variable `${nope}`; defined at this point: node1.addr, node2.addr, pg.version, pg.replay_lsn, pg.current_lsn (and 17 more)",
        ],
    },
    Bad {
        name: "reference in a string with escapes points at the string",
        body: "[[steps]]\ntitle = \"a\"\non = \"node1\"\nrun = \"printf \\\"${nope}\\\"\"\n",
        expected: &[
            "d.toml:7:7: error: undefined variable `${nope}`; defined at this point: node1.addr, node2.addr, pg.version, pg.replay_lsn, pg.current_lsn (and 17 more)",
        ],
    },
    Bad {
        name: "path outside the disks",
        body: "[[steps]]\ntitle = \"b\"\non = \"node1\"\naction = \"local_backup\"\nwith = { to = \"/etc/passwd\" }\n",
        expected: &[
            "d.toml:8:15: error: path `/etc/passwd` for `to` is outside the lab's disks: use an absolute path under /disk1/, /disk2/, /disk3/ or /disk4/",
        ],
    },
    Bad {
        name: "path escaping a disk",
        body: "[[steps]]\ntitle = \"b\"\non = \"node1\"\naction = \"copy_backup\"\nwith = { from = \"node2\", backup = \"/disk4/../etc\" }\n",
        expected: &[
            "d.toml:8:35: error: path `/disk4/../etc` for `backup` has a `..` component: paths must stay under /disk1/, /disk2/, /disk3/ or /disk4/",
        ],
    },
    Bad {
        name: "move_aside outside /disk4",
        body: "[[steps]]\ntitle = \"m\"\non = \"node1\"\naction = \"move_aside\"\nwith = { to = \"/disk3/broken\" }\n",
        expected: &[
            "d.toml:8:15: error: path `/disk3/broken` for `to` is not on the spare disk: move_aside puts things under /disk4/",
        ],
    },
    Bad {
        name: "missing action parameter",
        body: "[[steps]]\ntitle = \"m\"\non = \"node1\"\naction = \"make_standby\"\n",
        expected: &[
            "d.toml:7:10: error: action `make_standby` needs `of` in `with`: the primary to follow, a node (node1, node2) or a role (primary, standby)",
        ],
    },
    Bad {
        name: "duplicate id",
        body: "[[steps]]\nid = \"x\"\ntitle = \"a\"\nnote = \"a\"\n\n[[steps]]\nid = \"x\"\ntitle = \"b\"\nnote = \"b\"\n",
        expected: &[
            "d.toml:10:6: error: duplicate id `x`: step 1 already uses it",
        ],
    },
    Bad {
        name: "missing title",
        body: "[[steps]]\nnote = \"a\"\n",
        expected: &[
            "d.toml:4:1: error: missing `title` in step 1: every step needs one",
        ],
    },
    Bad {
        name: "since an unknown mark",
        body: "[[steps]]\ntitle = \"m\"\nmark = \"before\"\n\n[[steps]]\ntitle = \"l\"\non = \"node1\"\nexpect_log = [\"ready\"]\nsince = \"befor\"\n",
        expected: &[
            "d.toml:12:9: error: unknown mark `befor` for `since`; marks set before this step: before",
        ],
    },
    Bad {
        name: "since a later mark",
        body: "[[steps]]\ntitle = \"l\"\non = \"node1\"\nexpect_log = [\"ready\"]\nsince = \"after\"\n\n[[steps]]\ntitle = \"m\"\nmark = \"after\"\n",
        expected: &[
            "d.toml:8:9: error: mark `after` is set by step 2, after this one; no mark is set before this step",
        ],
    },
    Bad {
        name: "monitor code out of range",
        body: "[[steps]]\ntitle = \"e\"\non = \"node1\"\nexpect_monitor = [0, 3]\n",
        expected: &[
            "d.toml:7:22: error: `expect_monitor` must be a pg_isready code: 0 (accepting), 1 (rejecting) or 2 (no response), not 3",
        ],
    },
    Bad {
        name: "wait with two conditions",
        body: "[[steps]]\ntitle = \"w\"\non = \"node1\"\nwait = { pg_isready = 0, log = \"ready\" }\n",
        expected: &[
            "d.toml:7:26: error: `wait` takes exactly one of pg_isready, sql or log, found `pg_isready` and `log`",
        ],
    },
    Bad {
        name: "unknown fault",
        body: "[[steps]]\ntitle = \"f\"\non = \"node1\"\nfault = \"disk-full\"\n",
        expected: &[
            "d.toml:7:9: error: unknown fault `disk-full` for `fault`: expected node-crash, pg-binary-damaged, wal-permission, wal-full, data-area-damaged, wal-segment-corrupted, data-file-corrupted, truncate, drop-table, wrong-update or partition",
        ],
    },
    Bad {
        name: "profiles with different keys",
        body: "[profiles.default]\nload_seconds = 60\nscale = 1\n\n[profiles.long]\nload_seconds = 180\nclients = 4\n\n[[steps]]\ntitle = \"n\"\nnote = \"x\"\n",
        expected: &[
            "d.toml:8:1: error: profile `long` lacks `scale`, which profile `default` defines: every profile must define the same variables",
            "d.toml:10:1: error: profile `long` defines `clients`, which profile `default` does not: every profile must define the same variables",
        ],
    },
    Bad {
        name: "missing default profile",
        body: "[profiles.quick]\nload_seconds = 10\n\n[profiles.long]\nload_seconds = 180\n\n[[steps]]\ntitle = \"n\"\nnote = \"x\"\n",
        expected: &[
            "d.toml:4:2: error: profiles are defined but none is called `default`: found quick, long; add [profiles.default]",
        ],
    },
    Bad {
        name: "no steps",
        body: "source = \"report chapter 3, pp.21-44\"\n",
        expected: &[
            "d.toml:1:1: error: missing `steps`: a drill needs at least one [[steps]] table",
        ],
    },
    Bad {
        name: "invalid TOML",
        body: "[[steps]]\ntitle = \"n\nnote = \"x\"\n",
        expected: &[
            "d.toml:5:11: error: invalid TOML: invalid basic string, expected `\"`",
        ],
    },
    Bad {
        name: "three errors, all reported",
        body: "[[steps]]\ntitle = \"a\"\non = \"node9\"\nrun = \"true\"\ntimeout = \"soon\"\n\n[[steps]]\ntitle = \"b\"\nsleep = \"1s\"\nrun = \"true\"\n",
        expected: &[
            "d.toml:6:6: error: unknown node `node9` for `on`: expected a node (node1, node2), a role (primary, standby) or all",
            "d.toml:8:11: error: bad duration `soon`: use forms like 500ms, 10s, 5m, 1h",
            "d.toml:13:1: error: step 2 has 2 kind keys (sleep, run): a step does exactly one thing, keep one",
        ],
    },
    Bad {
        name: "capture on a kind that captures nothing",
        body: "[[steps]]\ntitle = \"p\"\non = \"node2\"\naction = \"promote\"\ncapture = \"x\"\n",
        expected: &[
            "d.toml:8:1: error: `capture` does not apply to an `action` step: expected one of title, on, timeout, id, optional, when, action, with",
        ],
    },
    Bad {
        name: "capture from a background command",
        body: "[[steps]]\ntitle = \"l\"\non = \"node1\"\nrun = \"pgbench -T 600 testdb\"\nbackground = true\ncapture = \"out\"\n",
        expected: &[
            "d.toml:9:1: error: `capture` does not apply to a background command: it runs until the drill ends and its exit is not checked",
        ],
    },
    Bad {
        name: "load seconds neither a number nor a variable",
        body: "[[steps]]\ntitle = \"l\"\non = \"primary\"\naction = \"load\"\nwith = { seconds = \"long\", clients = 0 }\n",
        expected: &[
            "d.toml:8:20: error: `seconds` must be a number of seconds (1 to 86400), or a string such as \"${profile.load_seconds}\", not \"long\"",
            "d.toml:8:38: error: `clients` must be a number of clients (1 to 1000), not 0",
        ],
    },
];

#[test]
fn bad_files_get_exact_messages() {
    let mut failures = Vec::new();
    for case in BAD {
        let got = diagnostics(case.body);
        if got != case.expected {
            failures.push(format!("{}:\n{}\n", case.name, got.join("\n")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn top_level_keys_are_checked_without_a_head() {
    let text = "name = \"Fail Over\"\nproves = \" \"\nmonitor = { interval = \"0s\", every = 1 }\nsteps = []\n";
    let got: Vec<String> = parse("top.toml", text)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        got,
        [
            "top.toml:1:1: error: missing `title`: a one-line title for reports",
            "top.toml:1:8: error: bad name `Fail Over`: use lowercase letters, digits and - (at most 200)",
            "top.toml:2:10: error: `proves` must not be empty",
            "top.toml:3:24: error: `interval` must be longer than 0s",
            "top.toml:3:30: error: unknown key `every` in `monitor`: expected interval or after_fault",
            "top.toml:4:9: error: a drill needs at least one step",
        ]
    );
}

#[test]
fn a_monitor_can_sample_faster_after_a_fault() {
    let steps = "[[steps]]\ntitle = \"n\"\nnote = \"x\"\n";
    let drill = parse(
        "d.toml",
        &format!("{HEAD}monitor = {{ interval = \"1s\", after_fault = \"100ms\" }}\n{steps}"),
    )
    .unwrap();
    assert_eq!(drill.monitor, Some(Duration::from_secs(1)));
    assert_eq!(drill.monitor_after_fault, Some(Duration::from_millis(100)));
    let drill = parse("d.toml", &format!("{HEAD}monitor = {{}}\n{steps}")).unwrap();
    assert_eq!(drill.monitor_after_fault, None);
    assert_eq!(
        diagnostics(&format!("monitor = {{ after_fault = \"10ms\" }}\n{steps}")),
        ["d.toml:4:27: error: `after_fault` must be from 100ms to 1h (as `lab monitor --interval` takes it), not 10ms"]
    );
}

#[test]
fn a_set_action_takes_settings_and_how_to_apply_them() {
    let step = |with: &str| {
        format!("{HEAD}[[steps]]\ntitle = \"s\"\non = \"all\"\naction = \"set\"\nwith = {with}\n")
    };
    let drill = parse(
        "d.toml",
        &step("{ settings = { work_mem = \"8MB\", hot_standby_feedback = true }, apply = \"restart\" }"),
    )
    .unwrap();
    let StepKind::Action(action) = &drill.steps[0].kind else {
        panic!("{:?}", drill.steps[0].kind)
    };
    let Action::Set { settings, apply } = action else {
        panic!("{action:?}")
    };
    assert_eq!(*apply, Apply::Restart);
    assert_eq!(settings[1].value, "on");
    let drill = parse("d.toml", &step("{ settings = { work_mem = 1 } }")).unwrap();
    assert!(matches!(
        &drill.steps[0].kind,
        StepKind::Action(Action::Set {
            apply: Apply::Reload,
            ..
        })
    ));
    for (with, says) in [
        (
            "{ apply = \"reload\" }",
            "action `set` needs `settings` in `with`",
        ),
        (
            "{ settings = { port = 1 } }",
            "`port` is set by the lab itself",
        ),
        ("{ settings = { a = 1 }, apply = \"later\" }", "apply"),
    ] {
        let text = step(with);
        let d = super::parse("d.toml", &text).unwrap_err();
        let all: Vec<String> = d.iter().map(ToString::to_string).collect();
        assert!(all.iter().any(|m| m.contains(says)), "{with}: {all:?}");
    }
}

#[test]
fn a_drill_says_what_its_lab_needs() {
    let steps = "[[steps]]\ntitle = \"n\"\nnote = \"x\"\n";
    let drill = parse(
        "d.toml",
        &format!("{HEAD}[lab]\nwal_disk_size = \"256m\"\n{steps}"),
    )
    .unwrap();
    assert_eq!(drill.lab.wal_disk_size, Some(256 << 20));
    let drill = parse("d.toml", &format!("{HEAD}{steps}")).unwrap();
    assert_eq!(drill.lab, LabNeeds::default());
    assert_eq!(
        diagnostics(&format!(
            "[lab]\nwal_disk_size = \"1m\"\nwal_size = 3\n{steps}"
        )),
        [
            "d.toml:5:17: error: `wal_disk_size`: `1m` is too small for a WAL disk: give at least 64m",
            "d.toml:6:1: error: unknown key `wal_size` in `lab`: expected wal_disk_size or settings or data_checksums",
        ]
    );
    let drill = parse(
        "d.toml",
        &format!("{HEAD}[lab]\ndata_checksums = true\nsettings = {{ Max_Prepared_Transactions = 10, hot_standby_feedback = true, application_name = \"it's # x\" }}\n{steps}"),
    )
    .unwrap();
    assert!(drill.lab.data_checksums);
    let pairs: Vec<(&str, &str)> = drill
        .lab
        .settings
        .iter()
        .map(|s| (s.name.as_str(), s.value.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("max_prepared_transactions", "10"),
            ("hot_standby_feedback", "on"),
            ("application_name", "it's # x")
        ]
    );
    assert_eq!(
        diagnostics(&format!(
            "[lab]\nsettings = {{ port = 5433, \"a b\" = 1, work_mem = [1], x = \"a\\nb\" }}\n{steps}"
        )),
        [
            "d.toml:5:14: error: `settings`: `port` is set by the lab itself: the lab's layout (/disk1/data, port 5432, the pair's addresses) is the document's, and its steps, checks and connections depend on it",
            "d.toml:5:27: error: `settings`: `a b` is not a setting's name: letters, digits and `_` (a custom setting: `class.name`), starting with a letter or `_`, at most 63 characters",
            "d.toml:5:49: error: `settings`: a setting's value is a string, a number or a boolean, not an array",
            "d.toml:5:54: error: `settings`: x \"a\\nb\" holds a control character ('\\n'), which cannot be written in a configuration file",
        ]
    );
    assert_eq!(
        diagnostics(&format!("lab = 3\n{steps}")),
        ["d.toml:4:7: error: `lab` must be a table such as [lab] wal_disk_size = \"256m\", not an integer"]
    );
}

#[test]
fn files_over_one_mib_are_refused_at_1_1() {
    assert_eq!(
        too_big(52 << 20),
        "the file is 52.0 MiB (54525952 bytes): drill files are limited to 1 MiB (1048576 bytes)"
    );
    let text = format!("{HEAD}# {}\n", "x".repeat(MAX_FILE_BYTES));
    let got = parse("big.toml", &text).unwrap_err();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].to_string(),
        format!(
            "big.toml:1:1: error: the file is 1.0 MiB ({} bytes): drill files are limited to 1 MiB (1048576 bytes)",
            text.len()
        )
    );
    // Exactly 1 MiB is accepted as far as size goes.
    let text = format!("{HEAD}[[steps]]\ntitle = \"n\"\nnote = \"x\"\n");
    let padded = format!("{text}{}\n", "#".repeat(MAX_FILE_BYTES - text.len() - 1));
    assert_eq!(padded.len(), MAX_FILE_BYTES);
    assert!(parse("big.toml", &padded).is_ok());
}

#[test]
fn columns_count_characters_not_bytes() {
    // `;` is the 15th character of the line but its 16th byte.
    let got = diagnostics("source = \"§3\" ; colour = 1\n");
    assert_eq!(
        got,
        ["d.toml:4:15: error: invalid TOML: unexpected key or value, expected newline, `#`"]
    );
}

/// The document's chapter 3 and 4 procedures, compressed: every kind and every action.
const VALID: &str = r#"
name = "failover-and-back"
title = "Promote the standby when the primary's WAL disk fails, then switch back"
proves = "A WAL-disk failure takes the primary down. Promoting the standby keeps the data."
source = "report chapter 3, pp.21-44"

[monitor]
interval = "500ms"

[profiles.default]
load_seconds = 30
scale = 1

[profiles.long]
load_seconds = "180"
scale = 10

[[steps]]
title = "Load in the background"
on = "primary"
run = "pgbench -T ${profile.load_seconds} testdb"
background = true
expect_exit = "any"

[[steps]]
id = "before"
title = "Before the fault"
mark = "before"

[[steps]]
title = "WAL disk fails"
on = "node1"
fault = "wal-permission"
timeout = "1m30s"

[[steps]]
title = "The primary goes down"
on = "node1"
wait = { pg_isready = 2 }
timeout = "5m"

[[steps]]
title = "Log says why"
on = "node1"
expect_log = ['could not create file "${pg.wal_dir}/xlogtemp\.\d+": Permission denied', '${pg.startup_failure}']
since = "before"

[[steps]]
title = "Monitor saw 0, 1, 2"
on = "node2"
expect_monitor = [0, 1, 2]
of = "node1"
since = "before"

[[steps]]
title = "Stop the old primary"
on = "node1"
action = "stop"
with = { mode = "fast", fallback = "immediate" }
optional = true

[[steps]]
title = "Last replayed transaction"
on = "node2"
sql = "select ${pg.replay_timestamp_function}()"
capture = "replayed"

[[steps]]
title = "Promote"
on = "node2"
action = "promote"

[[steps]]
title = "Promoted"
on = "node2"
wait = { sql = "select pg_is_in_recovery()", equals = "f" }

[[steps]]
title = "Back up the new primary"
on = "node2"
action = "local_backup"
with = { to = "/disk3/backup/data" }

[[steps]]
title = "Move the broken dirs aside"
on = "node1"
action = "move_aside"
with = { to = "/disk4/broken/${today}", what = ["data", "wal"] }

[[steps]]
title = "Base backup from the new primary"
on = "node1"
action = "base_backup"
with = { from = "node2", wal = true }

[[steps]]
title = "Relink the WAL"
on = "node1"
action = "link_wal"

[[steps]]
title = "Follow"
on = "node1"
action = "make_standby"
with = { of = "primary", timeline = "latest" }

[[steps]]
title = "Streaming"
on = "node1"
wait = { log = 'started streaming WAL from primary at \S+ on timeline 2' }

[[steps]]
title = "Load"
on = "primary"
action = "load"
with = { seconds = "${profile.load_seconds}", clients = 4 }

[[steps]]
title = "Replica caught up"
on = "standby"
sql = "select count(*) > 0 from pg_stat_replication"
db = "testdb"
expect = "t"

[[steps]]
title = "Replay timestamp moved"
on = "node1"
run = "psql -Atc 'select ${pg.replay_timestamp_function}() > $$ts$$' -v ts=${replayed}"
user = "root"
expect_exit = "any"
expect_output = '^t$'
timeout = "10s"

[[steps]]
title = "Start both"
on = "all"
action = "start"

[[steps]]
title = "Restore the backup"
on = "node1"
action = "copy_backup"
with = { from = "node2", backup = "/disk3/backup/${today}/data" }

[[steps]]
title = "Recover to before the mistake"
on = "node1"
action = "pitr"
with = { target_time = "${replayed}", restore_command = "cp /disk3/archive/%f \"%p\"" }

[[steps]]
title = "Give the monitor time"
sleep = "2s"

[[steps]]
title = "Explain"
note = "The document records this by hand."
[[steps]]
title = "Start the ledger"
on = "primary"
action = "ledger_start"

[[steps]]
title = "Point it at the other node"
on = "node2"
action = "ledger_retarget"

[[steps]]
title = "Check the ledger"
on = "node2"
action = "ledger_check"
with = { max_lost = 0 }

[[steps]]
title = "Keep more WAL for the standbys"
on = "all"
action = "set"
with = { settings = { hot_standby_feedback = true }, apply = "reload" }

[[steps]]
title = "Rewind the old master"
when = "rewind"
on = "node1"
action = "rewind"
with = { from = "node2" }
"#;

#[test]
fn a_valid_drill_parses_into_the_expected_structure() {
    let drill = valid_drill();
    assert_eq!(drill.name, "failover-and-back");
    assert_eq!(drill.source.as_deref(), Some("report chapter 3, pp.21-44"));
    assert_eq!(drill.monitor, Some(Duration::from_millis(500)));
    assert_eq!(drill.profiles["default"]["load_seconds"], "30");
    assert_eq!(drill.profiles["long"]["load_seconds"], "180");
    assert_eq!(drill.steps.len(), 29);
    let kinds: Vec<&str> = drill.steps.iter().map(|s| s.kind.key()).collect();
    for kind in KINDS {
        assert!(kinds.contains(kind), "no {kind} step");
    }
    let actions: Vec<&str> = drill
        .steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::Action(a) => Some(a.name()),
            _ => None,
        })
        .collect();
    for action in ACTIONS {
        assert!(actions.contains(action), "no {action} action");
    }
}

/// The valid drill, parsed (its diagnostics shown if it is not).
fn valid_drill() -> Drill {
    super::parse_valid("valid.toml", VALID)
}

#[test]
fn a_valid_drills_steps_parse_as_written() {
    let drill = valid_drill();
    let s = &drill.steps;
    assert_eq!((s[0].index, s[0].line), (0, 18));
    assert_eq!(s[0].on, Some(NodeRef::Primary));
    assert!(matches!(
        &s[0].kind,
        StepKind::Run {
            background: true,
            user: User::Postgres,
            expect_exit: None,
            ..
        }
    ));
    assert_eq!(s[1].id.as_deref(), Some("before"));
    assert_eq!(s[1].kind, StepKind::Mark("before".into()));
    assert_eq!(s[1].on, None);
    assert_eq!(s[1].effective_timeout(), None);
    assert_eq!(
        s[2].kind,
        StepKind::Fault {
            fault: crate::fault::Fault::WalPermission,
            heal: false
        }
    );
    assert_eq!(s[2].timeout, Some(Duration::from_secs(90)));
    assert_eq!(s[3].kind, StepKind::Wait(WaitFor::PgIsReady(2)));
    let StepKind::ExpectLog { lines, since } = &s[4].kind else {
        panic!("{:?}", s[4].kind)
    };
    assert_eq!(since.as_deref(), Some("before"));
    assert_eq!(
        lines[0].parts,
        [
            Part::Lit("could not create file \"".into()),
            Part::Var("pg.wal_dir".into()),
            Part::Lit("/xlogtemp\\.\\d+\": Permission denied".into()),
        ]
    );
    assert_eq!(
        s[5].kind,
        StepKind::ExpectMonitor {
            codes: vec![0, 1, 2],
            since: Some("before".into()),
            of: Some(NodeRef::Node(NodeId::NODE1)),
        }
    );
    assert_eq!(
        s[6].kind,
        StepKind::Action(Action::Stop {
            mode: StopMode::Fast,
            fallback: Some(StopMode::Immediate)
        })
    );
    assert!(s[6].optional);
    assert_eq!(s[6].effective_timeout(), Some(Duration::from_secs(300)));
    assert_eq!(s[7].capture.as_deref(), Some("replayed"));
    assert!(matches!(&s[7].kind, StepKind::Sql { db, expect: None, .. } if db == "postgres"));
    let StepKind::Wait(WaitFor::Sql { equals, db, .. }) = &s[9].kind else {
        panic!("{:?}", s[9].kind)
    };
    assert_eq!((equals.raw.as_str(), db.as_str()), ("f", "postgres"));
    assert_eq!(s[9].effective_timeout(), Some(Duration::from_secs(60)));
    let StepKind::Action(Action::MoveAside { to, what }) = &s[11].kind else {
        panic!("{:?}", s[11].kind)
    };
    assert_eq!(to.raw, "/disk4/broken/${today}");
    assert_eq!(what, &[Area::Data, Area::Wal]);
    assert_eq!(
        s[12].kind,
        StepKind::Action(Action::BaseBackup {
            from: NodeRef::Node(NodeId::NODE2),
            to: Template::literal("/disk1/data"),
            wal: true
        })
    );
    assert_eq!(
        s[14].kind,
        StepKind::Action(Action::MakeStandby {
            of: NodeRef::Primary,
            latest_timeline: true,
            restore: None,
            apply_delay: None
        })
    );
    let StepKind::Action(Action::Load {
        seconds, clients, ..
    }) = &s[16].kind
    else {
        panic!("{:?}", s[16].kind)
    };
    assert_eq!(
        (seconds.raw.as_str(), *clients),
        ("${profile.load_seconds}", 4)
    );
    assert_eq!(s[17].on, Some(NodeRef::Standby));
    let StepKind::Run {
        command,
        user,
        expect_exit,
        expect_output,
        ..
    } = &s[18].kind
    else {
        panic!("{:?}", s[18].kind)
    };
    assert_eq!(
        command.render(&|name| Some(format!("<{name}>"))).unwrap(),
        "psql -Atc 'select <pg.replay_timestamp_function>() > $ts$' -v ts=<replayed>"
    );
    assert_eq!((*user, *expect_exit), (User::Root, None));
    assert_eq!(expect_output.as_ref().map(|t| t.raw.as_str()), Some("^t$"));
    assert_eq!(s[19].on, Some(NodeRef::All));
    let StepKind::Action(Action::Pitr {
        recovery,
        restore_command,
    }) = &s[21].kind
    else {
        panic!("{:?}", s[21].kind)
    };
    let crate::pg::RecoveryTarget::Time(target_time) = &recovery.target else {
        panic!("{recovery:?}")
    };
    assert_eq!(target_time.parts, [Part::Var("replayed".into())]);
    assert_eq!(
        restore_command.as_ref().map(|t| t.raw.as_str()),
        Some("cp /disk3/archive/%f \"%p\"")
    );
    assert_eq!(s[22].kind, StepKind::Sleep(Duration::from_secs(2)));
    assert_eq!(
        s[23].kind,
        StepKind::Note("The document records this by hand.".into())
    );
}

#[test]
fn expect_monitor_without_a_monitor_table_turns_the_monitor_on() {
    let body = "[[steps]]\ntitle = \"e\"\non = \"node1\"\nexpect_monitor = [0]\n";
    let drill = parse("d.toml", &format!("{HEAD}{body}")).unwrap();
    assert_eq!(drill.monitor, Some(DEFAULT_MONITOR_INTERVAL));
    let body = "[[steps]]\ntitle = \"n\"\nnote = \"x\"\n";
    let drill = parse("d.toml", &format!("{HEAD}{body}")).unwrap();
    assert_eq!(drill.monitor, None);
}

#[test]
fn templates_render_dollars_and_variables() {
    let t = Template::parse("cost $$5, $? and ${a}/${b.c}$").unwrap();
    assert_eq!(
        t.parts,
        [
            Part::Lit("cost $5, $? and ".into()),
            Part::Var("a".into()),
            Part::Lit("/".into()),
            Part::Var("b.c".into()),
            Part::Lit("$".into()),
        ]
    );
    assert_eq!(t.variables().collect::<Vec<_>>(), ["a", "b.c"]);
    let vars = |name: &str| match name {
        "a" => Some("x.y".to_string()),
        "b.c" => Some(String::new()),
        _ => None,
    };
    assert_eq!(t.render(&vars).unwrap(), "cost $5, $? and x.y/$");
    assert_eq!(t.render_regex(&vars).unwrap(), "cost $5, $? and x\\.y/$");
    assert_eq!(t.to_string(), "cost $$5, $? and ${a}/${b.c}$");
}

#[test]
fn rendering_a_missing_variable_names_it() {
    let t = Template::parse("echo ${a} ${zz}").unwrap();
    let vars = |name: &str| (name == "a").then(|| "1".to_string());
    let e = t.render(&vars).unwrap_err();
    assert_eq!(e, Unbound("zz".to_string()));
    assert_eq!(e.to_string(), "variable `${zz}` has no value");
}

#[test]
fn template_syntax_errors() {
    assert_eq!(
        Template::parse("echo ${a").map_err(|e| e.to_string()),
        Err("unclosed `${`: close it with `}`, or write `$$` for a literal `$`".to_string())
    );
    assert_eq!(Template::parse("echo ${a").unwrap_err().offset(), 5);
    assert_eq!(
        Template::parse("x ${} y").map_err(|e| e.to_string()),
        Err(
            "bad variable reference `${}`: a name is letters, digits, `_` and `.`; write `$$` \
             for a literal `$`"
                .to_string()
        )
    );
}

#[test]
fn literal_templates_round_trip() {
    let t = Template::literal("a $b");
    assert_eq!(t.raw, "a $$b");
    assert_eq!(Template::parse(&t.raw).unwrap(), t);
    assert_eq!(t.render(&|_| None).unwrap(), "a $b");
}

/// A `pitr` step on node1 with this `with` table.
fn pitr_step(with: &str) -> String {
    format!(
        "[[steps]]\ntitle = \"recover\"\non = \"node1\"\naction = \"pitr\"\nwith = {{ {with} }}\n"
    )
}

#[test]
fn pitr_takes_exactly_one_target() {
    assert_eq!(
        diagnostics(&pitr_step("restore_command = \"cp\"")),
        ["d.toml:8:8: error: action `pitr` needs one recovery target in `with`: target_time, target_name, target_xid, target_lsn or target (= \"immediate\")"]
    );
    assert_eq!(
        diagnostics(&pitr_step("target_time = \"2024-01-01\", target_name = \"p\"")),
        ["d.toml:8:38: error: action `pitr` takes exactly one recovery target, found `target_time` and `target_name`: one of target_time, target_name, target_xid, target_lsn, target is the point where recovery stops"]
    );
    let immediate = diagnostics(&pitr_step("target = \"now\""));
    assert!(
        immediate[0].contains("unknown recovery target `now` for `target`: expected immediate"),
        "{immediate:?}"
    );
    let inclusive = diagnostics(&pitr_step("target_name = \"p\", inclusive = false"));
    assert!(inclusive[0].contains("`inclusive` (recovery_target_inclusive) applies to target_time, target_xid and target_lsn, not to `target_name`"), "{inclusive:?}");
    let action = diagnostics(&pitr_step("target_xid = \"1\", at_target = \"stop\""));
    assert!(
        action[0].contains(
            "unknown end action `stop` for `at_target`: expected pause, promote or shutdown"
        ),
        "{action:?}"
    );
    let newline = diagnostics(&pitr_step(
        "target_name = \"p\\nrecovery_target_action = 'shutdown'\"",
    ));
    assert!(
        newline[0].contains("`target_name` holds '\\n'"),
        "{newline:?}"
    );
    for with in [
        "target_name = \"before_error\"",
        "target_xid = \"${xid}\", inclusive = false, at_target = \"pause\"",
        "target_lsn = \"0/3000060\", at_target = \"shutdown\"",
        "target = \"immediate\", at_target = \"promote\"",
    ] {
        let text = format!(
            "[[steps]]\ntitle = \"x\"\non = \"node1\"\nsql = \"SELECT 1\"\ncapture = \"xid\"\n{}",
            pitr_step(with)
        );
        assert_eq!(diagnostics(&text), Vec::<String>::new(), "{with}");
    }
}

#[test]
fn a_target_the_release_lacks_is_refused_for_it_unless_the_step_says_when() {
    let dialect = |v: &str| {
        crate::pg::Dialect::for_major(v.parse::<crate::version::PgVersion>().unwrap().major)
    };
    let lsn = parse_valid(
        "d.toml",
        &format!("{HEAD}{}", pitr_step("target_lsn = \"0/3000060\"")),
    );
    assert_eq!(check_release(&lsn, "d.toml", &dialect("15")), []);
    let on_93: Vec<String> = check_release(&lsn, "d.toml", &dialect("9.3.5"))
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        on_93,
        ["d.toml:4:1: error: step 1 (recover): PostgreSQL 9.3 cannot perform this `pitr`: this release has no recovery_target_lsn (it came in 10); add `when = \"target-lsn\"` to skip the step on releases without it"]
    );
    let guarded = format!(
        "{HEAD}{}when = \"target-lsn\"\n",
        pitr_step("target_lsn = \"0/3000060\"")
    );
    assert_eq!(
        check_release(&parse_valid("d.toml", &guarded), "d.toml", &dialect("9.3")),
        []
    );
    let both = parse_valid(
        "d.toml",
        &format!(
            "{HEAD}{}",
            pitr_step("target = \"immediate\", at_target = \"shutdown\"")
        ),
    );
    assert_eq!(check_release(&both, "d.toml", &dialect("9.3")).len(), 2);
    assert_eq!(check_release(&both, "d.toml", &dialect("9.4")).len(), 1);
    assert_eq!(check_release(&both, "d.toml", &dialect("9.5")), []);
}

#[test]
fn a_rewind_is_refused_before_pg_rewind_unless_the_step_says_when() {
    let dialect = |v: &str| {
        crate::pg::Dialect::for_major(v.parse::<crate::version::PgVersion>().unwrap().major)
    };
    let step = "[[steps]]\ntitle = \"rejoin\"\non = \"node1\"\naction = \"rewind\"\nwith = { from = \"node2\" }\n";
    let bare = parse_valid("d.toml", &format!("{HEAD}{step}"));
    let StepKind::Action(Action::Rewind { from }) = &bare.steps[0].kind else {
        panic!("{:?}", bare.steps[0].kind)
    };
    assert_eq!(from, &NodeRef::Node(crate::node::NodeId::NODE2));
    let on_93: Vec<String> = check_release(&bare, "d.toml", &dialect("9.3.5"))
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        on_93,
        ["d.toml:4:1: error: step 1 (rejoin): PostgreSQL 9.3 cannot perform this `rewind`: this release has no pg_rewind (it came in 9.5); add `when = \"rewind\"` to skip the step on releases without it"]
    );
    assert_eq!(check_release(&bare, "d.toml", &dialect("9.4")).len(), 1);
    for v in ["9.5", "12", "15"] {
        assert_eq!(check_release(&bare, "d.toml", &dialect(v)), [], "{v}");
    }
    let guarded = parse_valid("d.toml", &format!("{HEAD}{step}when = \"rewind\"\n"));
    assert_eq!(check_release(&guarded, "d.toml", &dialect("9.3.5")), []);
    // `not rewind` does not guard it: the step would run where pg_rewind is missing.
    let inverted = parse_valid("d.toml", &format!("{HEAD}{step}when = \"not rewind\"\n"));
    assert_eq!(
        check_release(&inverted, "d.toml", &dialect("9.3.5")).len(),
        1
    );
}

#[test]
fn a_rewind_needs_another_node_to_rewind_from() {
    let step = |with: &str| {
        format!("[[steps]]\ntitle = \"r\"\non = \"node1\"\naction = \"rewind\"\n{with}")
    };
    assert_eq!(
        diagnostics(&step("")),
        ["d.toml:7:10: error: action `rewind` needs `from` in `with`: the running node to rewind from, a node (node1, node2) or a role (primary, standby)"]
    );
    let itself = diagnostics(&step("with = { from = \"node1\" }\n"));
    assert_eq!(itself.len(), 1, "{itself:?}");
    assert!(
        itself[0].contains("a rewind of node1 from node1 itself (as the lab starts): `from` must be the other node"),
        "{itself:?}"
    );
    assert!(
        diagnostics(&step("with = { from = \"node2\", to = \"/disk1/x\" }\n"))[0]
            .contains("unknown parameter `to` for action `rewind`: expected one of from")
    );
}

#[test]
fn settings_the_release_lacks_are_refused_for_it() {
    let dialect = |v: &str| {
        crate::pg::Dialect::for_major(v.parse::<crate::version::PgVersion>().unwrap().major)
    };
    let text = format!(
        "{HEAD}[lab]\nsettings = {{ wal_keep_size = \"1GB\" }}\n\n[[steps]]\ntitle = \"slots\"\non = \"all\"\naction = \"set\"\nwith = {{ settings = {{ max_replication_slots = 2 }} }}\n"
    );
    let drill = parse_valid("d.toml", &text);
    let on_93: Vec<String> = check_release(&drill, "d.toml", &dialect("9.3.5"))
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(on_93.len(), 2, "{on_93:?}");
    assert!(
        on_93[0].starts_with("d.toml:1:1: error: [lab] settings: ") && on_93[0].contains("13"),
        "{on_93:?}"
    );
    assert!(
        on_93[1].contains("step 1 (slots): ") && on_93[1].contains("9.4"),
        "{on_93:?}"
    );
    assert_eq!(check_release(&drill, "d.toml", &dialect("15")), []);
}

#[test]
fn a_trigger_file_promotion_is_refused_where_the_release_has_none_unless_the_step_says_when() {
    let dialect = |v: &str| {
        crate::pg::Dialect::for_major(v.parse::<crate::version::PgVersion>().unwrap().major)
    };
    let step = "[[steps]]\ntitle = \"promote\"\non = \"node2\"\naction = \"promote\"\nwith = { method = \"trigger_file\" }\n";
    let drill = parse_valid("d.toml", &format!("{HEAD}{step}"));
    assert_eq!(check_release(&drill, "d.toml", &dialect("9.3.5")), []);
    assert_eq!(check_release(&drill, "d.toml", &dialect("15")), []);
    let on_17: Vec<String> = check_release(&drill, "d.toml", &dialect("17"))
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(on_17.len(), 1, "{on_17:?}");
    assert!(
        on_17[0].contains("promote_trigger_file was removed in 16"),
        "{on_17:?}"
    );
    assert!(on_17[0].contains("when = \"trigger-file\""), "{on_17:?}");
    let guarded = parse_valid("d.toml", &format!("{HEAD}{step}when = \"trigger-file\"\n"));
    assert_eq!(check_release(&guarded, "d.toml", &dialect("17")), []);
    assert_eq!(
        diagnostics(&step.replace("trigger_file", "signal")),
        ["d.toml:8:19: error: unknown promotion method `signal` for `method`: expected pg_ctl or trigger_file"]
    );
}

/// Two steps in a row with opposite `when`s are alternatives: the second is checked against the
/// roles before the first, so both may promote the same standby.
#[test]
fn opposite_whens_in_a_row_are_alternatives_for_the_roles() {
    let promote = |when: &str| {
        format!(
            "[[steps]]\ntitle = \"p\"\non = \"node2\"\naction = \"promote\"\nwhen = \"{when}\"\n\n"
        )
    };
    let pair = format!("{}{}", promote("sync"), promote("not sync"));
    assert_eq!(diagnostics(&pair), Vec::<String>::new());
    let same = format!("{}{}", promote("sync"), promote("sync"));
    assert_eq!(diagnostics(&same).len(), 1, "{:?}", diagnostics(&same));
}

#[test]
fn a_delayed_standby_needs_apply_delay_and_a_skipped_step_asks_nothing_of_the_release() {
    let dialect = |v: &str| {
        crate::pg::Dialect::for_major(v.parse::<crate::version::PgVersion>().unwrap().major)
    };
    let delayed = |when: &str| {
        format!(
            "{HEAD}[[steps]]\ntitle = \"delay\"\non = \"node2\"\naction = \"make_standby\"\nwith = {{ of = \"node1\", apply_delay = \"1h\" }}\n{when}\n\
             [[steps]]\ntitle = \"slots\"\non = \"node1\"\naction = \"set\"\nwith = {{ settings = {{ max_replication_slots = 2 }}, apply = \"restart\" }}\n{}\n",
            when.replace("apply-delay", "slots")
        )
    };
    let bare = parse_valid("d.toml", &delayed(""));
    let StepKind::Action(Action::MakeStandby { apply_delay, .. }) = &bare.steps[0].kind else {
        panic!("{:?}", bare.steps[0]);
    };
    assert_eq!(*apply_delay, Some(std::time::Duration::from_secs(3600)));
    let on_93: Vec<String> = check_release(&bare, "d.toml", &dialect("9.3.5"))
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(on_93.len(), 2, "{on_93:?}");
    assert_eq!(
        on_93[0],
        "d.toml:4:1: error: step 1 (delay): PostgreSQL 9.3 cannot perform this `make_standby`: this release cannot delay a standby's replay: no recovery_min_apply_delay (it came in 9.4); add `when = \"apply-delay\"` to skip the step on releases without it"
    );
    assert!(on_93[1].contains("max_replication_slots") && on_93[1].contains("9.4"));
    for v in ["9.4", "11", "15"] {
        assert_eq!(check_release(&bare, "d.toml", &dialect(v)), [], "{v}");
    }
    let guarded = parse_valid("d.toml", &delayed("when = \"apply-delay\""));
    assert_eq!(check_release(&guarded, "d.toml", &dialect("9.3")), []);
    assert_eq!(
        diagnostics(
            "[[steps]]\ntitle = \"d\"\non = \"node2\"\naction = \"make_standby\"\nwith = { of = \"node1\", apply_delay = \"0s\" }\n"
        ),
        ["d.toml:8:38: error: `apply_delay` must be longer than 0s"]
    );
}
