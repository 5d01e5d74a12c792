//! The malformed-input corpus: drill files and flag values a hostile or careless user could
//! give. Every case must exit 2 (invalid input) with a pointed first line, never panic, never
//! hang and never flood the terminal. No Docker is needed: the engine is made unreachable
//! (`DOCKER_HOST` names a socket that does not exist), so a check that came after contacting
//! the engine would show as exit 3.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The three top-level keys every drill needs.
const HEAD: &str = "name = \"d\"\ntitle = \"T\"\nproves = \"P.\"\n";

/// A step that is valid on its own.
const NOTE: &str = "[[steps]]\ntitle = \"n\"\nnote = \"x\"\n";

/// Output allowed for one mistake.
const FEW_KB: usize = 4 * 1024;

fn lab(args: &[&str], cwd: &Path) -> (Output, Duration) {
    lab_env(args, cwd, &[])
}

/// [`lab`] with more environment variables.
fn lab_env(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> (Output, Duration) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(args)
        .current_dir(cwd)
        .env("DOCKER_HOST", "unix:///nonexistent/h11-no-engine.sock")
        .env("LAB_CACHE_DIR", cwd.join("cache"))
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("the lab binary runs");
    (out, started.elapsed())
}

/// Asserts the common contract: exit 2, no panic, bounded output, and a first line that
/// starts with `prefix`.
#[track_caller]
fn assert_refused(what: &str, out: &Output, took: Duration, prefix: &str, max_bytes: usize) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr.lines().next().unwrap_or_default();
    let shown: String = stderr.chars().take(600).collect();
    let shown = format!("{:?} {shown}", out.status);
    assert_eq!(out.status.code(), Some(2), "{what}: {shown}");
    assert!(!stderr.contains("panicked"), "{what}: {shown}");
    assert!(
        out.stdout.len() + out.stderr.len() <= max_bytes,
        "{what}: {} bytes of output: {shown}",
        out.stdout.len() + out.stderr.len()
    );
    assert!(first.starts_with(prefix), "{what}: first line {first:?}");
    // A hang, not a figure: the timing figures are `lab bench --check-input`'s.
    assert!(took < Duration::from_secs(60), "{what} took {took:?}");
}

/// Drill files: name, contents, and the `line:col` and words of the first diagnostic.
fn file_cases() -> Vec<(&'static str, String, &'static str, &'static str)> {
    let h = HEAD;
    let n = NOTE;
    let step = |body: &str| format!("{h}[[steps]]\ntitle = \"s\"\n{body}");
    let action = |name: &str, with: &str| {
        step(&format!(
            "on = \"node1\"\naction = \"{name}\"\nwith = {{ {with} }}\n"
        ))
    };
    // Every step makes the same mistake: diagnostics must not grow with the file.
    let flood = |body: &str| {
        let mut text = format!("{h}{n}[[steps]]\ntitle = \"m\"\nmark = \"m0\"\n");
        let mut i = 0;
        while text.len() < 1_000_000 {
            text.push_str(&format!(
                "[[steps]]\ntitle = \"s{i}\"\ncapture = \"v{i}\"\non = \"node1\"\n{body}\n"
            ));
            i += 1;
        }
        text
    };
    vec![
        ("unclosed string", format!("{h}x = \"abc\n"), "4:", "invalid TOML"),
        ("duplicate key", format!("{h}name = \"e\"\n{n}"), "4:1:", "duplicate key `name`"),
        ("unknown top key", format!("{h}colour = 1\n{n}"), "4:1:", "unknown key `colour`"),
        ("deep dotted key", format!("{h}a.b.c.d.e.f = 1\n{n}"), "4:1:", "unknown key `a`"),
        ("deep dotted value", format!("{h}monitor.interval.x = 1\n{n}"), "4:9:", "`interval`"),
        ("nesting 100000 deep", format!("{h}x = {}{}\n", "[".repeat(100_000), "]".repeat(100_000)), "4:", "invalid TOML"),
        ("integer overflow", action("load", "seconds = 99999999999999999999"), "8:20:", "`seconds` must be"),
        ("wal disk overflow", format!("{h}[lab]\nwal_disk_size = \"8589934592g\"\n{n}"), "5:17:", "too large"),
        ("wal disk too small", format!("{h}[lab]\nwal_disk_size = \"1k\"\n{n}"), "5:17:", "too small"),
        ("duration overflow", step("sleep = \"99999999999999999999h\"\n"), "6:9:", "bad duration"),
        ("fractional duration", step("sleep = \"1.5m\"\n"), "6:9:", "bad duration"),
        ("zero monitor interval", format!("{h}monitor = {{ interval = \"0s\" }}\n{n}"), "4:24:", "longer than 0s"),
        ("zero timeout", step("on = \"node1\"\nrun = \"true\"\ntimeout = \"0s\"\n"), "8:11:", "longer than 0s"),
        ("unknown node", step("on = \"node3\"\nrun = \"true\"\n"), "6:6:", "unknown node `node3`"),
        ("huge node name", step(&format!("on = \"{}\"\nrun = \"true\"\n", "n".repeat(900_000))), "6:6:", "unknown node"),
        ("unknown action", step("on = \"node1\"\naction = \"explode\"\n"), "7:10:", "unknown action `explode`"),
        ("unknown fault", step("on = \"node1\"\nfault = \"meteor\"\n"), "7:9:", "unknown fault `meteor`"),
        ("unknown stop mode", action("stop", "mode = \"violent\""), "8:17:", "unknown stop mode"),
        ("promote on all", step("on = \"all\"\naction = \"promote\"\n"), "6:6:", "acts on one node"),
        ("no kind", step("on = \"node1\"\n"), "4:1:", "has no kind"),
        ("two kinds", step("on = \"node1\"\nrun = \"true\"\nsql = \"select 1\"\n"), "8:1:", "kind keys"),
        ("no title", format!("{h}[[steps]]\nnote = \"x\"\n"), "4:1:", "missing `title`"),
        ("no steps", h.to_string(), "1:1:", "missing `steps`"),
        ("empty steps", format!("{h}steps = []\n"), "4:9:", "at least one step"),
        ("steps a string", format!("{h}steps = \"x\"\n"), "4:9:", "must be an array"),
        ("steps a table", format!("{h}steps.a.b = 1\n"), "4:1:", "must be an array"),
        ("datetime title", format!("name = \"d\"\ntitle = 1979-05-27T07:32:00Z\nproves = \"P.\"\n{n}"), "2:9:", "must be a string"),
        ("bad drill name", format!("name = \"Bad Name\"\ntitle = \"T\"\nproves = \"P.\"\n{n}"), "1:8:", "bad name `Bad Name`"),
        ("exit code 300", step("on = \"node1\"\nrun = \"true\"\nexpect_exit = 300\n"), "8:15:", "exit code"),
        ("monitor code 7", step("on = \"node1\"\nexpect_monitor = [7]\n"), "7:19:", "pg_isready code"),
        ("two wait forms", step("on = \"node1\"\nwait = { pg_isready = 0, log = \"x\" }\n"), "7:", "exactly one of"),
        ("load seconds abc", action("load", "seconds = \"abc\""), "8:20:", "`seconds` must be"),
        ("clients 0", action("load", "seconds = 1, clients = 0"), "8:", "`clients`"),
        ("undefined variable", step("on = \"node1\"\nrun = \"echo ${nope}\"\n"), "7:13:", "undefined variable `${nope}`"),
        ("variable before capture", format!("{h}[[steps]]\ntitle = \"a\"\non = \"node1\"\nrun = \"echo ${{v}}\"\n[[steps]]\ntitle = \"b\"\non = \"node1\"\nrun = \"date\"\ncapture = \"v\"\n"), "7:13:", "before step 2 captures"),
        ("duplicate capture", format!("{h}[[steps]]\ntitle = \"a\"\non = \"node1\"\nrun = \"date\"\ncapture = \"v\"\n[[steps]]\ntitle = \"b\"\non = \"node1\"\nrun = \"date\"\ncapture = \"v\"\n"), "13:11:", "already captured"),
        ("duplicate id", format!("{h}[[steps]]\ntitle = \"a\"\nid = \"x\"\nnote = \"n\"\n[[steps]]\ntitle = \"b\"\nid = \"x\"\nnote = \"n\"\n"), "10:6:", "duplicate id"),
        ("unknown mark", step("on = \"node1\"\nexpect_log = [\"x\"]\nsince = \"nope\"\n"), "8:9:", "no mark is set"),
        ("mark set later", format!("{h}[[steps]]\ntitle = \"a\"\non = \"node1\"\nexpect_log = [\"x\"]\nsince = \"m\"\n[[steps]]\ntitle = \"b\"\nmark = \"m\"\n"), "8:9:", "set by step 2"),
        ("bad regex", step("on = \"node1\"\nexpect_log = [\"(\"]\n"), "7:15:", "bad regex"),
        ("huge regex", step("on = \"node1\"\nexpect_log = ['\\w{40}']\n"), "7:15:", "compiles to more than"),
        ("path outside the disks", action("local_backup", "to = \"/etc/backup\""), "8:15:", "outside the lab's disks"),
        ("path with a command", action("local_backup", "to = \"/disk3/x; touch /tmp/pwned\""), "8:15:", "contains `;`"),
        ("path with ..", action("local_backup", "to = \"/disk3/../etc\""), "8:15:", "`..` component"),
        ("move aside off the spare disk", action("move_aside", "to = \"/disk1/x\""), "8:15:", "spare disk"),
        ("profiles without default", format!("{h}[profiles.fast]\nx = 1\n{n}"), "4:2:", "none is called `default`"),
        ("profile value a table", format!("{h}[profiles.default.a.b]\nc = 1\n{n}"), "4:19:", "must be a string, a number or a boolean"),
        ("profiles disagree", format!("{h}[profiles.default]\nx = 1\n[profiles.seed]\ny = 1\n{n}"), "6:1:", "which profile `default` defines"),
        ("unknown with key", action("stop", "speed = 1"), "8:10:", "unknown parameter `speed`"),
        ("capture on all", step("on = \"all\"\nrun = \"date\"\ncapture = \"v\"\n"), "8:11:", "needs one node"),
        ("background with capture", step("on = \"node1\"\nrun = \"sleep 9\"\nbackground = true\ncapture = \"v\"\n"), "9:1:", "background command"),
        ("CRLF line endings", format!("{h}{n}").replace('\n', "\r\n") + "[[steps]]\r\ntitle = \"s\"\r\non = \"node9\"\r\nrun = \"true\"\r\n", "9:6:", "unknown node `node9`"),
        ("tab before a bad value", step("on =\t\"node3\"\nrun = \"true\"\n"), "6:6:", "unknown node"),
        ("multibyte before a bad value", "name = \"d\"\ntitle = \"データ\"\nproves = \"P.\"\n[[steps]]\ntitle = \"ステップ\"\non = \"node3\"\nrun = \"true\"\n".to_string(), "6:6:", "unknown node"),
        ("profile value injected into a path", format!("{h}[profiles.default]\ndir = \"x /disk1/data; touch /tmp/pwned\"\n[[steps]]\ntitle = \"b\"\non = \"node1\"\naction = \"local_backup\"\nwith = {{ to = \"/disk3/${{profile.dir}}\" }}\n"), "10:15:", "with profile `default`, path"),
        ("profile value of seconds not a number", format!("{h}[profiles.default]\nseconds = \"abc\"\n[[steps]]\ntitle = \"l\"\non = \"node1\"\naction = \"load\"\nwith = {{ seconds = \"${{profile.seconds}}\" }}\n"), "10:20:", "profile `default` makes \"abc\""),
        ("undefined variable in a title", format!("{h}[[steps]]\ntitle = \"move to /disk4/${{todya}}\"\nnote = \"x\"\n"), "5:25:", "undefined variable `${todya}`"),
        ("undefined variable in a note", step("note = \"see ${nope}\"\n"), "6:13:", "undefined variable `${nope}`"),
        ("heal of a fault without one", step("on = \"node1\"\nfault = \"truncate\"\nheal = true\n"), "8:8:", "has no heal"),
        ("ledger check without a ledger", step("on = \"node1\"\naction = \"ledger_check\"\n"), "7:10:", "start it in an earlier step"),
        ("base backup from the node itself", action("base_backup", "from = \"node1\""), "8:17:", "onto node1 itself"),
        ("promoting the primary", step("on = \"primary\"\naction = \"promote\"\n"), "7:10:", "node1 is the primary already"),
        ("promoting twice", format!("{h}[[steps]]\ntitle = \"a\"\non = \"node2\"\naction = \"promote\"\n[[steps]]\ntitle = \"b\"\non = \"node2\"\naction = \"promote\"\n"), "11:10:", "after step 1 (a promotion)"),
        ("standby when none is left", format!("{h}[[steps]]\ntitle = \"a\"\non = \"node2\"\naction = \"promote\"\n[[steps]]\ntitle = \"b\"\non = \"standby\"\nrun = \"true\"\n"), "10:6:", "no node is a standby here"),
        ("load seconds u64::MAX", action("load", "seconds = 18446744073709551615"), "8:20:", "`seconds` must be a number of seconds (1 to 86400)"),
        ("load seconds past a day", action("load", "seconds = 86401"), "8:20:", "`seconds` must be a number of seconds (1 to 86400)"),
        ("a profile value quoted by hand in a command", format!("{h}[profiles.default]\nx = \"a b\"\n[[steps]]\ntitle = \"r\"\non = \"node1\"\nrun = \"echo \\\"${{profile.x}}\\\"\"\n"), "9:7:", "the lab quotes a profile value or a captured value itself in a command"),
        ("a capture quoted by hand in SQL", step("on = \"node1\"\nsql = \"SELECT 1\"\ncapture = \"one\"\n[[steps]]\ntitle = \"q\"\non = \"node1\"\nsql = \"SELECT '${one}' = '1'\"\n"), "12:7:", "write `${one}` without the quotes"),
        ("a capture quoted by hand in wait.sql", step("on = \"node1\"\nsql = \"SELECT 1\"\ncapture = \"one\"\n[[steps]]\ntitle = \"q\"\non = \"node1\"\nwait = { sql = \"SELECT \\\"${one}\\\"\", equals = \"1\" }\n"), "12:16:", "itself in SQL (one literal)"),
        ("load seconds u64::MAX as a string", action("load", "seconds = \"18446744073709551615\""), "8:20:", "`seconds` must be a number of seconds (1 to 86400)"),
        ("load seconds mixing a profile value and a built-in", format!("{h}[profiles.default]\ns = \"1; touch /tmp/pwned; \"\n[[steps]]\ntitle = \"l\"\non = \"node1\"\naction = \"load\"\nwith = {{ seconds = \"${{profile.s}}${{pg.major}}\" }}\n"), "10:20:", "profile `default` makes"),
        ("load-with-ledger seconds not a number", format!("{h}[[steps]]\nuse = \"load-with-ledger\"\nwith = {{ node = \"node1\", seconds = \"1; touch /tmp/pwned\" }}\n"), "6:36:", "`seconds` must be"),
        ("load-with-ledger seconds past a day", format!("{h}[[steps]]\nuse = \"load-with-ledger\"\nwith = {{ node = \"node1\", seconds = 18446744073709551615 }}\n"), "6:36:", "`seconds` must be"),
        ("pitr target_time with a newline", action("pitr", "target_time = \"2020-01-01'\\narchive_command = 'touch /tmp/pwned\""), "8:", "`target_time` holds '\\n'"),
        ("pitr restore_command with a carriage return", action("pitr", "target_time = \"2020-01-01\", restore_command = \"cp %f %p\\rx\""), "8:", "`restore_command` holds '\\r'"),
        ("pitr target_time from a profile with a newline", format!("{h}[profiles.default]\nt = \"2020-01-01'\\narchive_command = 'x\"\n[[steps]]\ntitle = \"p\"\non = \"node1\"\naction = \"pitr\"\nwith = {{ target_time = \"${{profile.t}}\" }}\n"), "10:", "as profile `default` makes it"),
        ("step title with a newline", format!("{h}[[steps]]\ntitle = \"a\\n## 2. [node1] forged\"\nnote = \"x\"\n"), "5:9:", "`title` must be one line"),
        ("drill title with a newline", format!("name = \"d\"\ntitle = \"T\\n# forged\"\nproves = \"P.\"\n{n}"), "2:9:", "`title` must be one line"),
        ("sql db with a newline", step("on = \"node1\"\nsql = \"select 1\"\ndb = \"testdb\\n$ rm -rf /\"\n"), "8:6:", "`db` must be one line"),
        ("wait db with an escape character", step("on = \"node1\"\nwait = { sql = \"select 1\", equals = \"1\", db = \"t\\u001b[2J\" }\n"), "7:", "`db` must be one line"),
        ("NUL bytes", format!("{h}\0\0\0\n"), "4:", "invalid TOML"),
        ("empty file", String::new(), "1:1:", "missing `name`"),
        ("flood of undefined variables", flood("run = \"echo ${nope}\""), "", "undefined variable"),
        ("flood of unknown marks", flood("expect_log = [\"x\"]\nsince = \"nope\""), "", "unknown mark"),
        ("impossible when", step("note = \"x\"\nwhen = [\"sync\", \"not sync\"]\n"), "7:8:", "can never hold"),
        ("impossible when through a use", format!("{h}[procedures.p]\n[[procedures.p.steps]]\ntitle = \"a\"\nnote = \"x\"\nwhen = \"sync\"\n[[steps]]\nuse = \"p\"\nwhen = \"not sync\"\n"), "", "can never hold"),
        ("1 ms monitor interval", format!("{h}monitor = {{ interval = \"1ms\" }}\n{n}"), "4:24:", "must be from 100ms to 1h"),
        ("monitor interval of a day", format!("{h}monitor = {{ interval = \"24h\" }}\n{n}"), "4:24:", "must be from 100ms to 1h"),
        ("sleep of a million years", step("sleep = \"8760000000h\"\n"), "6:9:", "at most 24h"),
        ("timeout of a million years", step("on = \"node1\"\nrun = \"true\"\ntimeout = \"8760000000h\"\n"), "8:11:", "at most 24h"),
        ("duplicate measure", format!("{h}[[steps]]\ntitle = \"a\"\non = \"node1\"\nsql = \"select 1\"\nmeasure = \"m\"\n[[steps]]\ntitle = \"b\"\non = \"node1\"\nsql = \"select 2\"\nmeasure = \"m\"\n"), "13:11:", "duplicate measure `m`: step 1"),
        ("capture of a built-in variable", step("on = \"node1\"\nrun = \"date\"\ncapture = \"today\"\n"), "8:11:", "`today` is a built-in variable"),
        ("a mistake in a built-in procedure", format!("{h}[[steps]]\nuse = \"check-the-new-master\"\nwith = {{ node = \"node2\" }}\n"), "4:1:", "<built-in procedure check-the-new-master>"),
        ("a newline and ESC in a value", step("on = \"node1\\n1:1:1: error: forged\\u001b[2J\"\nrun = \"true\"\n"), "6:6:", "unknown node `node1\\n1:1:1: error: forged\\u{1b}[2J`"),
        ("procedures each using the next ten times", lab::scenario::generated::procedures_using_procedures(10), "", "procedures expand to more than"),
        ("a with value growing tenfold at each level", lab::scenario::generated::a_value_that_grows(10, 1000), "", "does a `with` value grow"),
        ("a 100-step procedure used 800 times", lab::scenario::generated::one_procedure_used_often(100, 800), "", "procedures expand to more than"),
        ("flood of distinct regexes", {
            let mut text = h.to_string();
            let mut i = 0;
            while text.len() < 1_000_000 {
                text.push_str(&format!("[[steps]]\ntitle = \"s\"\non = \"node1\"\nexpect_log = ['\\w{{5}}{i}']\n"));
                i += 1;
            }
            text
        }, "", "patterns together compile to more than"),
    ]
}

#[test]
fn malformed_drill_files_are_refused_with_a_location() {
    let dir = tempfile::tempdir().unwrap();
    let cases = file_cases();
    let mut failures = Vec::new();
    for (i, (what, text, at, words)) in cases.iter().enumerate() {
        let name = format!("case{i}.toml");
        std::fs::write(dir.path().join(&name), text).unwrap();
        let (out, took) = lab(&["drill", "check", &name], dir.path());
        if took > Duration::from_secs(1) {
            eprintln!("{what}: {took:?}");
        }
        let flood = what.starts_with("flood");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let first = stderr.lines().next().unwrap_or_default().to_string();
        let result = std::panic::catch_unwind(|| {
            let limit = if flood { 64 * 1024 } else { FEW_KB };
            assert_refused(what, &out, took, &format!("{name}:{at}"), limit);
            assert!(
                first.contains(": error: ") && stderr.contains(words),
                "{what}: expected {words:?} in {first:?}"
            );
            // A value's newline cannot start a line, nor its ESC reach the terminal.
            assert!(
                stderr.lines().all(|l| l.starts_with(&format!("{name}:")))
                    && !stderr.contains('\x1b'),
                "{what}: a line not of this file, or an ESC: {stderr}"
            );
        });
        if result.is_err() {
            failures.push(format!("{what}: {first}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The generated worst files of `lab bench --check-input`: refused (or, the valid ones,
/// checked and printed as a runbook) in bounded time, output and memory, never a panic.
#[test]
fn the_worst_generated_files_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (what, text, valid)) in lab::bench::input::worst_files().into_iter().enumerate() {
        let name = format!("worst{i}.toml");
        std::fs::write(dir.path().join(&name), &text).unwrap();
        let (out, took) = lab(&["drill", "check", &name], dir.path());
        if valid {
            assert_eq!(out.status.code(), Some(0), "{what}: {out:?}");
            let (book, took) = lab(&["drill", "runbook", &name], dir.path());
            assert_eq!(book.status.code(), Some(0), "{what}");
            let max = lab::drill::runbook::RUNBOOK_BYTES_PER_FILE_BYTE * text.len()
                + lab::drill::runbook::RUNBOOK_BASE_BYTES;
            assert!(
                book.stdout.len() <= max,
                "{what}: {} bytes",
                book.stdout.len()
            );
            assert!(
                took < Duration::from_secs(60),
                "{what}: runbook took {took:?}"
            );
            continue;
        }
        assert_refused(what, &out, took, &format!("{name}:"), 64 * 1024);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or_default();
        let place: Vec<&str> = first.splitn(4, ':').collect();
        assert!(
            place.len() == 4
                && place[1].parse::<usize>().is_ok()
                && place[2].parse::<usize>().is_ok()
                && place[3].starts_with(" error: "),
            "{what}: {first}"
        );
    }
}

#[test]
fn what_is_not_a_drill_file_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.toml");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let big = dir.path().join("big.toml");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(52 << 20).unwrap();
    let bad_utf8 = dir.path().join("latin1.toml");
    std::fs::write(&bad_utf8, b"name = \"d\"\ntitle = \"caf\xe9\"\n").unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for (path, first) in [
        (
            fifo.to_str().unwrap(),
            "fifo.toml:1:1: error: this is a FIFO",
        ),
        (
            empty.to_str().unwrap(),
            "empty:1:1: error: a directory with no drill file (*.toml) in it",
        ),
        ("/dev/zero", "/dev/zero:1:1: error: this is a device"),
        (
            big.to_str().unwrap(),
            "big.toml:1:1: error: the file is 52.0 MiB",
        ),
        (
            bad_utf8.to_str().unwrap(),
            "latin1.toml:2:13: error: the file is not UTF-8 text: invalid byte 0xe9",
        ),
    ] {
        let (out, took) = lab(&["drill", "check", path], dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_refused(path, &out, took, "", FEW_KB);
        assert!(stderr.lines().next().unwrap().contains(first), "{stderr}");
    }
}

#[test]
fn a_directory_is_checked_file_by_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.toml"), format!("{HEAD}{NOTE}")).unwrap();
    std::fs::write(
        dir.path().join("b.toml"),
        format!("{HEAD}colour = 1\n{NOTE}"),
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a drill").unwrap();
    let (out, took) = lab(&["drill", "check", "."], dir.path());
    assert_refused("a directory", &out, took, "./b.toml:4:1:", FEW_KB);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.trim(), "./a.toml: ok (1 steps)");
}

#[test]
fn a_builtin_name_shadowing_a_file_says_which_was_used() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("partition-heal"), "not toml").unwrap();
    let (out, _) = lab(&["drill", "check", "partition-heal"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`partition-heal` is the built-in drill")
            && stderr.contains("./partition-heal"),
        "{stderr}"
    );
    let (out, took) = lab(&["drill", "check", "./partition-heal"], dir.path());
    assert_refused("./name", &out, took, "./partition-heal:1:5: error:", FEW_KB);
}

#[test]
fn bad_flags_are_refused_before_the_engine_is_contacted() {
    let dir = tempfile::tempdir().unwrap();
    let tardir = dir.path().join("postgresql-9.3.5.tar.bz2");
    std::fs::create_dir(&tardir).unwrap();
    let fake = dir.path().join("postgresql-9.3.5.tar.gz");
    std::fs::write(&fake, "not gzip").unwrap();
    let (tardir, fake) = (tardir.to_str().unwrap(), fake.to_str().unwrap());
    let long = "x".repeat(100_000);
    // Arguments split at spaces; LONG, TARDIR and FAKE stand for the values above.
    let cases: &[(&str, &str)] = &[
        ("up --scale 0", "--scale"),
        ("up --scale -1", "unexpected argument"),
        ("up --check-seconds 0", "--check-seconds"),
        ("up --publish 0", "1 to 65534"),
        ("up --publish 65535", "1 to 65534"),
        ("up --subnet 8.8.8.0/24", "not a private network"),
        ("up --subnet 127.0.0.0/24", "not a private network"),
        ("up --subnet 224.0.0.0/24", "not a private network"),
        ("up --subnet 300.1.1.0/24", "expected an IPv4 network"),
        ("up --subnet 172.16.3.0/25", "/8 to /24"),
        ("up --pg-version 9.3.99", "9.3's final release is 9.3.25"),
        ("up --pg-version 9.9", "supports PostgreSQL 9.3 to"),
        ("up --pg-version 99", "supports PostgreSQL 9.3 to"),
        ("up --pg-version 8.4", "supports PostgreSQL 9.3 to"),
        ("up --pg-version LONG", "not a PostgreSQL version"),
        ("up --pg-tarball /nonexistent", "No such file"),
        ("up --pg-tarball /etc/passwd", "not a source tarball"),
        ("up --pg-tarball TARDIR", "not a regular file"),
        ("up --pg-tarball FAKE", "not gz data"),
        ("up --wal-disk-size 8589934592g", "too large"),
        ("up --set port=5433", "`port` is set by the lab itself"),
        ("up --set logging_collector=off", "log assertions"),
        ("up --set 1x=1", "is not a setting's name"),
        ("up --set work_mem", "expected NAME=VALUE"),
        ("up --set data_checksums=on", "--data-checksums"),
        ("up --name Bad_Name", "lab name"),
        ("up --name LONG", "lab name"),
        ("psql node3", "unknown node `node3`"),
        ("shell node3", "unknown node `node3`"),
        ("logs node3", "unknown node `node3`"),
        ("exec node3 -- true", "unknown node `node3`"),
        ("fault inject node-crash --node node3", "unknown node"),
        ("fault inject meteor --node node1", "unknown fault `meteor`"),
        ("fault heal LONG --node node1", "unknown fault"),
        ("monitor --interval 1e300", "0.1 to 3600"),
        ("monitor --interval 1e-300", "0.1 to 3600"),
        ("monitor --interval NaN", "0.1 to 3600"),
        ("monitor --count 0", "--count"),
        ("drill run failover-switchback --scale 0", "--scale"),
        (
            "drill run failover-switchback --profile nope",
            "no profile `nope`",
        ),
        ("drill run no-such-drill", "neither a built-in drill"),
        ("drill explain no-such-drill", "neither a built-in drill"),
        ("man --dir FAKE", "cannot write the man pages there"),
        (
            "drill runbook failover-switchback --pg-version 8.4",
            "supports PostgreSQL 9.3 to",
        ),
        (
            "drill runbook failover-switchback --pg-version 9.3.99",
            "9.3.25",
        ),
        (
            "images build --pg-version 9.9",
            "supports PostgreSQL 9.3 to",
        ),
        ("bench --pg-version 18", "supports PostgreSQL 9.3 to"),
        ("status --name UPPER", "lab name"),
        ("down --name a/b", "lab name"),
    ];
    assert!(cases.len() >= 40);
    for (line, words) in cases {
        let args: Vec<&str> = line
            .split(' ')
            .map(|a| match a {
                "LONG" => long.as_str(),
                "TARDIR" => tardir,
                "FAKE" => fake,
                other => other,
            })
            .collect();
        let (out, took) = lab(&args, dir.path());
        assert_refused(line, &out, took, "error:", FEW_KB);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(words),
            "{line}: expected {words:?} in {stderr}"
        );
    }
}

#[test]
fn flags_checked_together_or_against_the_machine_are_refused_before_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = d.join("a-file");
    std::fs::write(&file, "x").unwrap();
    std::fs::create_dir(d.join("t")).unwrap();
    let tarball = d.join("t/postgresql-9.3.5.tar.bz2");
    std::fs::write(&tarball, b"BZh91AY&SY").unwrap();
    let long_name = d.join("long.toml");
    std::fs::write(
        &long_name,
        format!(
            "name = \"{}\"\ntitle = \"T\"\nproves = \"P.\"\n{NOTE}",
            "d".repeat(300)
        ),
    )
    .unwrap();
    let (file, tarball, long_name) = (
        file.to_str().unwrap(),
        tarball.to_str().unwrap(),
        long_name.to_str().unwrap(),
    );
    // Arguments split at spaces; FILE, TARBALL, TDIR (the tarball's directory), LONGNAME, BASE_NL
    // and ARG_NL stand for values.
    let cases: &[(&str, &str)] = &[
        (
            "drill run failover-switchback --runs-dir FILE",
            "--runs-dir",
        ),
        (
            "drill run failover-switchback --runs-dir /proc",
            "nothing can be created in /proc",
        ),
        (
            "drill run failover-switchback --runs-dir FILE/x",
            "not a directory",
        ),
        (
            "drill run failover-switchback partition-heal --runs-dir /proc",
            "--runs-dir",
        ),
        (
            "up --set wal_keep_size=1GB --pg-version 9.3.5",
            "`wal_keep_size` does not exist in PostgreSQL 9.3: it was introduced in 13",
        ),
        (
            "up --set wal_keep_segments=64 --pg-version 15",
            "it was removed in 13 (use wal_keep_size)",
        ),
        (
            "drill run failover-switchback --set max_replication_slots=2 --pg-version 9.3.5",
            "introduced in 9.4",
        ),
        ("up --cache-dir FILE", "--cache-dir"),
        ("images build --cache-dir FILE", "--cache-dir"),
        ("doctor --cache-dir FILE", "--cache-dir"),
        ("bench --cache-dir FILE", "--cache-dir"),
        (
            "up --pg-tarball TARBALL --pg-version 15",
            "--pg-version asks for 15",
        ),
        (
            "images build --pg-tarball TARBALL --pg-version 9.3.25",
            "its name says PostgreSQL 9.3.5",
        ),
        (
            "drill run failover-switchback --pg-tarball TARBALL --pg-version 15",
            "--pg-tarball",
        ),
        (
            "drill run failover-switchback --pg-tarball TARBALL --pg-version 15,17",
            "none of the suite's versions",
        ),
        (
            "drill run failover-switchback --pg-version 9.3,9.3.25",
            "both PostgreSQL 9.3.25",
        ),
        (
            "drill run failover-switchback --pg-version 15,15.18",
            "may be the same release",
        ),
        ("up --base BASE_NL", "control character"),
        ("up --base alpine:3", "cannot tell how to install packages"),
        ("up --base Rocky:9", "not an image reference"),
        ("up --configure-arg ARG_NL", "--configure-arg"),
        ("up --debian-suite ../../x", "--debian-suite"),
        ("doctor --debian-suite ../../x", "plain name"),
        (
            "up --debian-mirror ftp://mirror.example.invalid/debian",
            "not ftp",
        ),
        (
            "up --debian-mirror http://mirror.example.invalid/debian?x=1",
            "query",
        ),
        ("doctor --debian-mirror mirror", "not a URL"),
        ("up --pg-source-site http://", "--pg-source-site"),
        (
            "doctor --pg-source-site https://a.example.invalid/x#y",
            "fragment",
        ),
        ("up --subnet 010.0.0.0/24", "without leading zeros"),
        ("up --subnet 172.16.3.7/24", "host bits are set"),
        (
            "drill run failover-switchback --subnet 010.0.0.0/24",
            "--subnet",
        ),
        ("drill run --all --shard 0/3", "--shard `0/3`: expected K/N"),
        ("drill run --all --shard 4/3", "1 ≤ K ≤ N ≤ 64"),
        ("drill run --all --shard 1/65", "1 ≤ K ≤ N ≤ 64"),
        ("drill run --all --shard 2", "expected K/N"),
        (
            "drill run partition-heal --pg-version 15 --shard 2/2",
            "leaves this shard nothing",
        ),
        (
            "drill run --all --shard 1/2 --timings /nonexistent/timings.json",
            "--timings /nonexistent/timings.json",
        ),
        ("drill run --all --shard 1/2 --timings FILE", "--timings"),
        ("drill merge /nonexistent/shards", "not a directory"),
        ("drill merge TDIR", "no suite record"),
        ("drill run LONGNAME", "(at most 200)"),
        ("drill run LONGNAME partition-heal", "(at most 200)"),
        ("drill check LONGNAME", "(at most 200)"),
        (
            "images load /dev/zero",
            "a character device, not a regular file",
        ),
        ("images load /nonexistent/x.tar.zst", "No such file"),
        ("images load /tmp", "a directory, not a regular file"),
    ];
    for (line, words) in cases {
        let args: Vec<&str> = line
            .split(' ')
            .map(|a| match a {
                "FILE" => file.to_string(),
                "FILE/x" => format!("{file}/x"),
                "TARBALL" => tarball.to_string(),
                "TDIR" => d.join("t").display().to_string(),
                "LONGNAME" => long_name.to_string(),
                "BASE_NL" => "rockylinux:9\nRUN touch /pwned".to_string(),
                "ARG_NL" => "--with-openssl\nRUN touch /pwned".to_string(),
                other => other.to_string(),
            })
            .map(|a| &*Box::leak(a.into_boxed_str()))
            .collect();
        let (out, took) = lab(&args, d);
        // A drill file's mistakes are located in it.
        let prefix = if line.contains("LONGNAME") {
            long_name
        } else {
            "error:"
        };
        assert_refused(line, &out, took, prefix, FEW_KB);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            stderr.contains(words),
            "{line}: expected {words:?} in {stderr}"
        );
        assert!(!first.contains("/pwned\n"), "{line}: {first}");
        assert!(
            !d.join("runs").exists(),
            "{line}: a refused run made its runs directory"
        );
    }
}

#[test]
fn an_empty_flag_variable_means_not_set_and_a_bad_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let file = file.to_str().unwrap();
    // Empty (as a CI template leaves it when its variable is not defined): the next check
    // speaks, not the mirror's.
    let empty = [
        ("LAB_DEBIAN_MIRROR", ""),
        ("LAB_DEBIAN_SUITE", ""),
        ("LAB_PG_SOURCE_SITE", ""),
    ];
    let (out, took) = lab_env(&["up", "--cache-dir", file], dir.path(), &empty);
    assert_refused("empty variables", &out, took, "error: --cache-dir", FEW_KB);
    for (var, value, words) in [
        (
            "LAB_DEBIAN_MIRROR",
            "ftp://mirror.example.invalid/",
            "--debian-mirror",
        ),
        ("LAB_DEBIAN_SUITE", "../../x", "--debian-suite"),
        (
            "LAB_PG_SOURCE_SITE",
            "gopher://x.example.invalid/",
            "--pg-source-site",
        ),
        ("LAB_CACHE_DIR", file, "--cache-dir"),
    ] {
        let (out, took) = lab_env(&["up"], dir.path(), &[(var, value)]);
        assert_refused(var, &out, took, "error:", FEW_KB);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(words), "{var}: {stderr}");
    }
}
