//! `lab drill runbook` through the binary (no Docker): its flags reach the printed runbook.

use std::path::PathBuf;
use std::process::Command;

fn runbook(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(["drill", "runbook"])
        .args(args)
        .output()
        .expect("lab runs");
    assert!(
        out.status.success(),
        "lab drill runbook {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/runbooks")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_literal_commands_and_the_seed_profile_print_the_documents_runbook() {
    for drill in ["failover-switchback", "pitr-from-standby-backup"] {
        assert_eq!(
            runbook(&[
                drill,
                "--pg-version",
                "9.3.25",
                "--archive-command",
                "literal",
                "--restore-command",
                "literal",
                "--profile",
                "seed",
            ]),
            fixture(&format!("{drill}-9.3.25-document.txt")),
            "{drill}"
        );
    }
}

#[test]
fn without_flags_the_runbook_is_the_labs() {
    assert_eq!(
        runbook(&["pitr-from-standby-backup"]),
        fixture("pitr-from-standby-backup-9.3.25.txt")
    );
    let book = runbook(&["pitr-from-standby-backup", "--archive-command", "literal"]);
    assert!(book
        .contains("archive_command = 'test ! -f /disk3/archive/%f && cp %p /disk3/archive/%f'\n"));
    assert!(book.contains("scp -o ConnectTimeout=2 172.16.3.101:/disk3/archive/%f"));
    assert!(book.contains("pgbench -i -s 1 testdb"));
}

/// `lab drill ARGS…`, which must succeed; its output.
fn drill(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_lab"))
        .arg("drill")
        .args(args)
        .output()
        .expect("lab runs");
    assert!(
        out.status.success(),
        "lab drill {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn drill_list_fits_80_columns_when_not_a_terminal_and_cites_the_report() {
    let table = drill(&["list"]);
    for line in table.lines() {
        assert!(line.chars().count() <= 80, "{line}");
    }
    assert!(table.contains("report chapter 3, pp.21-44"), "{table}");
    assert!(!table.contains("SEED-GUIDE"), "{table}");
}

#[test]
fn drill_explain_takes_a_name_or_a_file() {
    let by_name = drill(&["explain", "partition-heal"]);
    assert!(by_name.starts_with("partition-heal: "), "{by_name}");
    assert!(by_name.contains("injects partition"), "{by_name}");
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/partition-heal.toml");
    assert_eq!(drill(&["explain", file.to_str().expect("UTF-8")]), by_name);
}

/// The README's "Your own drill" example is `fixtures/drills/my-first-failover.toml` word for
/// word (which `every_drill_e2e` runs), and it checks.
#[test]
fn the_readmes_first_drill_is_the_fixture_and_checks() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let section = readme
        .split_once("### Your own drill")
        .expect("a \"Your own drill\" section")
        .1;
    let block = section
        .split_once("```toml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a toml block")
        .0;
    let fixture = root.join("fixtures/drills/my-first-failover.toml");
    assert_eq!(
        block,
        std::fs::read_to_string(&fixture).expect("the fixture")
    );
    drill(&["check", fixture.to_str().expect("UTF-8")]);
}
