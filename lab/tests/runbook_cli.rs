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

/// Every built-in drill, by name.
fn builtin_drills() -> Vec<String> {
    lab::drill::BUILTIN
        .iter()
        .map(|(name, _)| name.to_string())
        .collect()
}

/// `--format sh` of the two documented drills is the golden script, on 9.3.25 and 15.18.
#[test]
fn the_documented_drills_export_their_golden_scripts() {
    for drill in ["failover-switchback", "pitr-from-standby-backup"] {
        for version in ["9.3.25", "15.18"] {
            let script = runbook(&[drill, "--format", "sh", "--pg-version", version]);
            assert_eq!(
                script,
                fixture(&format!("{drill}-{version}.sh")),
                "{drill} {version}"
            );
        }
    }
}

/// Every built-in drill's script, on 9.3 and 15, is bash that parses (`bash -n`) and that
/// shellcheck passes (its warnings included; shellcheck must be installed).
#[test]
fn every_script_parses_and_passes_shellcheck() {
    let dir = tempfile::tempdir().unwrap();
    for drill in builtin_drills() {
        for version in ["9.3.25", "15"] {
            let script = runbook(&[&drill, "--format", "sh", "--pg-version", version]);
            let path = dir.path().join(format!("{drill}-{version}.sh"));
            std::fs::write(&path, &script).unwrap();
            let bash = Command::new("bash").arg("-n").arg(&path).output().unwrap();
            assert!(
                bash.status.success(),
                "{drill} {version}: {}",
                String::from_utf8_lossy(&bash.stderr)
            );
            let check = Command::new("shellcheck")
                .args(["-s", "bash", "-S", "warning"])
                .arg(&path)
                .output()
                .expect("shellcheck is installed (apt-get install shellcheck)");
            assert!(
                check.status.success(),
                "{drill} {version}:\n{}",
                String::from_utf8_lossy(&check.stdout)
            );
        }
    }
}

/// No text runbook has a Docker command, a line that ends the operator's shell, or an
/// expected log line without the command that checks it; a major alone names a real tarball.
#[test]
fn text_runbooks_are_typeable_on_real_servers() {
    for drill in builtin_drills() {
        for version in ["9.3.25", "15", "17.2"] {
            let book = runbook(&[&drill, "--pg-version", version]);
            for line in book.lines() {
                let typed = line.starts_with("# ") || line.contains("$ ");
                assert!(!line.contains("docker"), "{drill}: {line}");
                assert!(
                    !(typed && (line.contains("exit 0") || line.contains("exit 1;"))),
                    "{drill}: {line}"
                );
                assert!(!line.trim_start().starts_with('/'), "{drill}: {line}");
                assert!(
                    !line.starts_with("mark `") && !line.starts_with("sleep "),
                    "{drill}: {line}"
                );
                assert!(!line.contains("repeat until"), "{drill}: {line}");
                assert!(!line.contains("C.UTF-8"), "{drill}: {line}");
            }
            assert!(book.contains("-- Hosts: node1 = 172.16.3.101"), "{drill}");
        }
    }
    let fifteen = runbook(&["failover-switchback", "--pg-version", "15"]);
    assert!(
        fifteen.contains("# cp postgresql-15.20.tar.bz2 /work/"),
        "{fifteen}"
    );
    let seventeen = runbook(&["failover-switchback", "--pg-version", "17.2"]);
    assert!(
        seventeen.contains("$ gmake world-bin\n")
            && seventeen.contains("# gmake install-world-bin\n")
    );
}
