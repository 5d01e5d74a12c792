//! Tests of procedures: expansion (parameters, `when`, nesting), the messages of every misuse
//! with both the use's and the definition's `file:line:col`, the built-in procedures, and the
//! rule that the built-in drills repeat no step block more than twice.

use crate::node::NodeId;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::*;

const HEAD: &str = "name = \"d\"\ntitle = \"T\"\nproves = \"P.\"\n";

/// Parses `HEAD` + `body` as `d.toml` and returns the diagnostics as printed.
fn diagnostics(body: &str) -> Vec<String> {
    match parse("d.toml", &format!("{HEAD}{body}")) {
        Ok(_) => Vec::new(),
        Err(diags) => diags.iter().map(ToString::to_string).collect(),
    }
}

/// A drill's own procedure: restart a node and wait until it answers.
const RESTART: &str = r#"[procedures.restart]
about = "restart a node"
params = { node = "the node", code = "what pg_isready says after" }

[[procedures.restart.steps]]
title = "restart ${node}"
on = "${node}"
run = "pg_ctl -m fast restart -w"

[[procedures.restart.steps]]
title = "${node} answers"
on = "${node}"
wait = { pg_isready = "${code}" }
when = "not sync"
"#;

#[test]
fn a_drills_own_procedure_expands_with_its_arguments() {
    let body = format!(
        "{RESTART}\n[[steps]]\ntitle = \"n\"\nnote = \"x\"\n\n[[steps]]\nuse = \"restart\"\nwith = {{ node = \"node2\", code = 0 }}\nwhen = \"literal-archive\"\n"
    );
    let drill = parse("d.toml", &format!("{HEAD}{body}")).unwrap_or_else(|d| panic!("{d:?}"));
    let titles: Vec<&str> = drill.steps.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles, ["n", "restart node2", "node2 answers"]);
    let restart = &drill.steps[1];
    assert_eq!(restart.index, 1);
    assert_eq!(restart.on, Some(NodeRef::Node(NodeId::NODE2)));
    // Steps from a use are on the use's line.
    assert_eq!(restart.line, 23);
    match &restart.kind {
        StepKind::Run { command, .. } => assert_eq!(command.raw, "pg_ctl -m fast restart -w"),
        other => panic!("{other:?}"),
    }
    // The integer passed whole keeps its type; the use's `when` is added to the step's own.
    assert_eq!(drill.steps[2].kind, StepKind::Wait(WaitFor::PgIsReady(0)));
    assert_eq!(
        drill.steps[1].when,
        [When::parse("literal-archive").unwrap()]
    );
    assert_eq!(
        drill.steps[2].when,
        [
            When::parse("not sync").unwrap(),
            When::parse("literal-archive").unwrap()
        ]
    );
}

#[test]
fn misuses_name_the_use_and_the_definition() {
    let cases: &[(&str, String, &[&str])] = &[
        (
            "unknown procedure",
            "[[steps]]\nuse = \"promote-the-slav\"\n".to_string(),
            &["d.toml:5:7: error: unknown procedure `promote-the-slav`: expected one of promote-the-slave, rebuild-the-old-master, rebuild-as-slave, fence-the-master, fail-over-with-ledger (and 6 more)"],
        ),
        (
            "missing parameter",
            format!("{RESTART}\n[[steps]]\nuse = \"restart\"\nwith = {{ node = \"node1\" }}\n"),
            &["d.toml:21:8: error: procedure `restart` needs `code` in `with`: what pg_isready says after (declared at d.toml:6:31)"],
        ),
        (
            "extra parameter",
            format!("{RESTART}\n[[steps]]\nuse = \"restart\"\nwith = {{ node = \"node1\", code = 0, fast = true }}\n"),
            &["d.toml:21:36: error: unknown parameter `fast` for procedure `restart` (defined at d.toml:4:13): expected one of node, code"],
        ),
        (
            "a key a use step does not take",
            format!("{RESTART}\n[[steps]]\nuse = \"restart\"\nwith = {{ node = \"node1\", code = 0 }}\ntitle = \"again\"\n"),
            &["d.toml:22:1: error: `title` does not apply to a `use` step (its procedure's steps have their own): expected one of use, with, when"],
        ),
        (
            "a bad value passed in, reported where it is written",
            format!("{RESTART}\n[[steps]]\nuse = \"restart\"\nwith = {{ node = \"node3\", code = 0 }}\n"),
            // Both steps of the procedure take it as `on`: said once.
            &["d.toml:21:17: error: unknown node `node3` for `on`: expected a node (node1, node2), a role (primary, standby) or all; in procedure `restart` (defined at d.toml:4:13) used at d.toml:19:1"],
        ),
        (
            "a bad step inside a procedure, reported where it is defined",
            "[procedures.p]\n[[procedures.p.steps]]\ntitle = \"x\"\non = \"node1\"\nrun = \"true\"\nusr = \"root\"\n\n[[steps]]\nuse = \"p\"\n".to_string(),
            &["d.toml:9:1: error: unknown key `usr` in a `run` step: expected one of title, on, timeout, capture, id, optional, when, run, user, expect_exit, expect_output, background; in procedure `p` (defined at d.toml:4:13) used at d.toml:11:1"],
        ),
        (
            "recursion",
            "[procedures.a]\n[[procedures.a.steps]]\nuse = \"b\"\n\n[procedures.b]\n[[procedures.b.steps]]\nuse = \"a\"\n\n[[steps]]\nuse = \"a\"\n".to_string(),
            &["d.toml:10:7: error: procedure `a` uses itself (a → b → a): a procedure cannot use itself, directly or through another; in procedure `b` (defined at d.toml:8:13) used at d.toml:5:1, in procedure `a` (defined at d.toml:4:13) used at d.toml:12:1"],
        ),
        (
            "an unused parameter",
            "[procedures.p]\nparams = { node = \"n\" }\n[[procedures.p.steps]]\ntitle = \"x\"\nnote = \"x\"\n\n[[steps]]\nuse = \"p\"\n".to_string(),
            &["d.toml:5:12: error: parameter `node` of procedure `p` is not used by its steps: use it as ${node} or remove it"],
        ),
        (
            "an unused procedure",
            "[procedures.p]\n[[procedures.p.steps]]\ntitle = \"x\"\nnote = \"x\"\n\n[[steps]]\ntitle = \"n\"\nnote = \"x\"\n".to_string(),
            &["d.toml:4:13: error: procedure `p` is not used by any step: use it (`use = \"p\"`) or remove it"],
        ),
        (
            "a procedure named as a built-in one",
            "[procedures.inject]\n[[procedures.inject.steps]]\ntitle = \"x\"\nnote = \"x\"\n\n[[steps]]\nuse = \"inject\"\n".to_string(),
            &["d.toml:4:13: error: procedure `inject` is built in: give yours another name"],
        ),
    ];
    let mut failures = Vec::new();
    for (name, body, expected) in cases {
        let got = diagnostics(body);
        if got != *expected {
            failures.push(format!("{name}:\n{}\n", got.join("\n")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A mistake in a built-in procedure's step is placed at its use in the drill file (the
/// procedure's file is not on disk) and says where in `<built-in procedure NAME>` it is.
#[test]
fn a_mistake_in_a_built_in_procedure_step_is_placed_at_its_use() {
    // `acked` is captured by load-with-ledger; without it, check-the-new-master cannot use it.
    // ... nor refer to the mark `promote` that promote-the-slave sets.
    let got =
        diagnostics("[[steps]]\nuse = \"check-the-new-master\"\nwith = { node = \"node2\" }\n");
    let p = "<built-in procedure check-the-new-master>";
    let note = format!("; in {p} used at d.toml:4:1");
    assert_eq!(
        got,
        [
            format!("d.toml:4:1: error: unknown mark `promote` for `since`; no mark is set before this step (at {p}:7:9){note}"),
            format!("d.toml:4:1: error: undefined variable `${{acked}}`; defined at this point: pg.wal_dir, primary.addr, standby.addr, pg.current_lsn, lab.sync_state (and 17 more) (at {p}:13:27){note}"),
        ]
    );
}

#[test]
fn every_built_in_procedure_reads_and_is_listed() {
    let dir = scenarios().join("procedures");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("scenarios/procedures/")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| {
            p.file_stem()
                .expect("a name")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    let mut listed: Vec<String> = BUILTIN_PROCEDURES
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    listed.sort();
    assert_eq!(files, listed);
    for (name, text) in BUILTIN_PROCEDURES {
        let from_disk = std::fs::read_to_string(dir.join(format!("{name}.toml"))).expect("read");
        assert_eq!(&from_disk, text, "{name}");
    }
}

fn scenarios() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// Every `[[steps]]` table (of a drill or a procedure) in the TOML files under `dir`, with
/// whitespace normalised and comment lines left out, and where each is: `use` steps excepted
/// (a use names a procedure; it is not a copy of its steps).
fn step_blocks(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut blocks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut files = vec![dir.to_path_buf()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("a directory") {
                files.push(entry.expect("an entry").path());
            }
            continue;
        }
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        let mut current: Option<(usize, Vec<&str>)> = None;
        let mut finish = |block: Option<(usize, Vec<&str>)>| {
            if let Some((line, lines)) = block {
                let text = lines.join(" ");
                let normal = text.split_whitespace().collect::<Vec<_>>().join(" ");
                if !lines.iter().any(|l| l.trim_start().starts_with("use =")) {
                    let place = format!("{}:{line}", path.display());
                    blocks.entry(normal).or_default().push(place);
                }
            }
        };
        for (i, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.starts_with('[') && !trimmed.starts_with("[ ") {
                finish(current.take());
                if trimmed.starts_with("[[") && trimmed.ends_with("steps]]") {
                    current = Some((i + 1, Vec::new()));
                }
            } else if let Some((_, lines)) = current.as_mut() {
                if !trimmed.starts_with('#') {
                    lines.push(line);
                }
            }
        }
        finish(current.take());
    }
    blocks
}

/// Step blocks written more than twice under `dir`.
fn repeated(dir: &Path) -> Vec<(String, Vec<String>)> {
    step_blocks(dir)
        .into_iter()
        .filter(|(_, places)| places.len() > 2)
        .collect()
}

#[test]
fn no_step_block_is_written_more_than_twice_in_scenarios() {
    let found = repeated(&scenarios());
    assert!(
        found.is_empty(),
        "these step blocks are written more than twice: make them procedures\n{found:#?}"
    );
    // The rule sees repeats: a block written three times is found.
    let dir = std::env::temp_dir().join(format!("pglab-blocks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let block = "[[steps]]\ntitle = \"mark the fault\"\nmark = \"fault\"\n";
    for (i, spacing) in ["", "  ", "\n# a comment\n"].iter().enumerate() {
        let text = format!(
            "name = \"d{i}\"\n{}{spacing}",
            block.replace(" = ", &format!("{spacing} = "))
        );
        std::fs::write(dir.join(format!("d{i}.toml")), text).expect("written");
    }
    let found = repeated(&dir);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].0, "title = \"mark the fault\" mark = \"fault\"");
}

/// The built-in `inject` can be used more than once: its mark `fault` moves to the latest use.
/// A drill's own mark set twice is still refused.
#[test]
fn inject_can_be_used_twice() {
    let inject = |node: &str| {
        format!(
            "[[steps]]\nuse = \"inject\"\nwith = {{ fault = \"node-crash\", node = \"{node}\", title = \"t\" }}\n"
        )
    };
    let body = format!(
        "{}{}[[steps]]\ntitle = \"l\"\non = \"node1\"\nexpect_log = [\"x\"]\nsince = \"fault\"\n",
        inject("node1"),
        inject("node2")
    );
    let drill = parse("d.toml", &format!("{HEAD}{body}")).unwrap_or_else(|d| panic!("{d:?}"));
    assert_eq!(drill.steps.len(), 5);
    let twice = "[[steps]]\ntitle = \"a\"\nmark = \"m\"\n[[steps]]\ntitle = \"b\"\nmark = \"m\"\n";
    assert_eq!(
        diagnostics(twice),
        ["d.toml:9:8: error: mark `m` is already set by step 1"]
    );
}

/// Procedures that multiply their steps, or a value that grows at each level, are stopped by
/// the expansion budget at the use that goes over it, quickly.
#[test]
fn expansion_has_a_budget() {
    use super::generated::{
        a_value_that_grows, one_procedure_used_often, procedures_using_procedures,
    };
    let started = std::time::Instant::now();
    for (what, text) in [
        ("tenfold", procedures_using_procedures(10)),
        ("growing", a_value_that_grows(10, 1000)),
        ("often", one_procedure_used_often(100, 800)),
    ] {
        let diags = parse("d.toml", &text).expect_err(what);
        assert_eq!(diags.len(), 1, "{what}: {diags:?}");
        let shown = diags[0].to_string();
        assert!(
            shown.contains("error: procedures expand to more than"),
            "{what}: {shown}"
        );
    }
    // Within the budget: 100 steps used 20 times.
    assert!(parse("d.toml", &one_procedure_used_often(100, 20)).is_ok());
    // Steps are counted too: a file large enough for the bytes still stops at 10,000 steps.
    let mut padded = one_procedure_used_often(1, 10_001);
    padded.push_str(&format!("# {}\n", "p".repeat(600_000)));
    let diags = parse("d.toml", &padded).expect_err("steps");
    assert!(
        diags[0]
            .message
            .starts_with("procedures expand to more than 10000 steps"),
        "{}",
        diags[0]
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

/// A procedure that captures, used twice: the second use captures again (its later steps see
/// the new value); a drill's own step may not capture the same name, before or after.
#[test]
fn a_procedure_used_twice_captures_again_and_only_it_may() {
    let capturing = r#"[procedures.where]
about = "where the WAL is"
params = { node = "the node" }

[[procedures.where.steps]]
title = "the WAL position on ${node}"
on = "${node}"
sql = "SELECT 1"
capture = "position"

[[procedures.where.steps]]
title = "use it on ${node}"
on = "${node}"
sql = "SELECT ${position}"
"#;
    let twice = format!(
        "{capturing}\n[[steps]]\nuse = \"where\"\nwith = {{ node = \"node1\" }}\n\n[[steps]]\nuse = \"where\"\nwith = {{ node = \"node2\" }}\n"
    );
    assert_eq!(diagnostics(&twice), Vec::<String>::new());
    let mine_after = format!(
        "{twice}\n[[steps]]\ntitle = \"mine\"\non = \"node1\"\nsql = \"SELECT 2\"\ncapture = \"position\"\n"
    );
    assert_eq!(
        diagnostics(&mine_after),
        ["d.toml:31:11: error: variable `position` is already captured by step 1"]
    );
    let mine_before = format!(
        "{capturing}\n[[steps]]\ntitle = \"mine\"\non = \"node1\"\nsql = \"SELECT 2\"\ncapture = \"position\"\n\n[[steps]]\nuse = \"where\"\nwith = {{ node = \"node1\" }}\n"
    );
    assert_eq!(
        diagnostics(&mine_before).len(),
        1,
        "{:?}",
        diagnostics(&mine_before)
    );
}
