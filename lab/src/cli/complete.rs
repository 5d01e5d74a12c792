//! Dynamic shell completion (clap_complete's `CompleteEnv`): the values `lab` itself knows —
//! nodes, built-in drills, faults, profiles — offered where an argument takes one.
//!
//! Enabled by sourcing what `COMPLETE=bash lab` prints (zsh, fish, elvish and powershell alike);
//! the shell then asks `lab` for candidates at each TAB. `lab completions SHELL` still prints a
//! static script (subcommands and flags only).

use std::ffi::OsStr;

use clap_complete::engine::{PathCompleter, ValueCompleter};
use clap_complete::CompletionCandidate;

/// The lab's nodes (`lab psql <TAB>`, `--node <TAB>`).
pub fn nodes() -> Vec<CompletionCandidate> {
    lab::scenario::NODES
        .map(lab::node::NodeId::name)
        .into_iter()
        .zip([
            "the first master (172.16.3.101)",
            "the first slave (172.16.3.102)",
        ])
        .map(|(n, help)| CompletionCandidate::new(n).help(Some(help.into())))
        .collect()
}

/// The built-in drills, each with its title.
pub fn drills() -> Vec<CompletionCandidate> {
    lab::drill::BUILTIN
        .iter()
        .map(|(name, _)| {
            let title = lab::drill::load(name).map(|d| d.title).unwrap_or_default();
            CompletionCandidate::new(name).help(Some(title.into()))
        })
        .collect()
}

/// The built-in drills whose names start with `current`, then the files and directories it
/// may begin (a drill is a built-in name or a file).
pub fn drills_or_files(current: &OsStr) -> Vec<CompletionCandidate> {
    let prefix = current.to_string_lossy();
    let mut found: Vec<CompletionCandidate> = drills()
        .into_iter()
        .filter(|c| c.get_value().to_string_lossy().starts_with(prefix.as_ref()))
        .collect();
    found.extend(PathCompleter::any().complete(current));
    found
}

/// The fault catalogue, each with what it simulates.
pub fn faults() -> Vec<CompletionCandidate> {
    lab::fault::CATALOGUE
        .iter()
        .map(|e| CompletionCandidate::new(e.name).help(Some(e.what.into())))
        .collect()
}

/// The built-in drills' profiles.
pub fn profiles() -> Vec<CompletionCandidate> {
    [
        ("default", "short runs"),
        ("seed", "the document's durations and scale"),
    ]
    .into_iter()
    .map(|(n, help)| CompletionCandidate::new(n).help(Some(help.into())))
    .collect()
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use clap::CommandFactory;

    use super::*;
    use crate::cli::Cli;

    fn values(candidates: &[CompletionCandidate]) -> Vec<String> {
        candidates
            .iter()
            .map(|c| c.get_value().to_string_lossy().into_owned())
            .collect()
    }

    /// What completing the last word of `line` offers, as the shell integration asks for it
    /// (values only: flags are offered beside them).
    fn complete(line: &[&str]) -> Vec<String> {
        let args: Vec<OsString> = line.iter().map(OsString::from).collect();
        let index = args.len() - 1;
        let dir = tempfile::tempdir().expect("a directory");
        let found =
            clap_complete::engine::complete(&mut Cli::command(), args, index, Some(dir.path()))
                .expect("completed");
        let mut found = values(&found);
        found.retain(|v| !v.starts_with('-'));
        found
    }

    #[test]
    fn the_candidates_are_the_libraries_names() {
        assert_eq!(values(&nodes()), ["node1", "node2"]);
        assert_eq!(values(&profiles()), ["default", "seed"]);
        assert_eq!(values(&faults()), lab::fault::NAMES);
        let drills = values(&drills());
        assert_eq!(drills.len(), lab::drill::BUILTIN.len());
        assert!(drills.contains(&"failover-switchback".to_string()));
    }

    #[test]
    fn drills_or_files_filters_built_in_names_by_prefix() {
        let found = values(&drills_or_files(OsStr::new("pitr")));
        assert!(found.contains(&"pitr-from-standby-backup".to_string()));
        assert!(!found.contains(&"failover-switchback".to_string()));
    }

    #[test]
    fn psql_offers_the_nodes() {
        assert_eq!(complete(&["lab", "psql", ""]), ["node1", "node2"]);
        assert_eq!(
            complete(&["lab", "logs", "--follow", "n"]),
            ["node1", "node2"]
        );
    }

    #[test]
    fn drill_run_offers_the_built_in_drills() {
        let found = complete(&["lab", "drill", "run", ""]);
        for (name, _) in lab::drill::BUILTIN {
            assert!(found.iter().any(|f| f == name), "no {name} in {found:?}");
        }
        let found = complete(&["lab", "drill", "explain", "wal-f"]);
        assert_eq!(found, ["wal-full-failover"]);
    }

    #[test]
    fn fault_inject_offers_the_faults_and_the_nodes() {
        let found = complete(&["lab", "fault", "inject", ""]);
        assert_eq!(found, lab::fault::NAMES);
        let found = complete(&["lab", "fault", "heal", "partition", "--node", ""]);
        assert_eq!(found, ["node1", "node2"]);
    }

    #[test]
    fn profile_offers_default_and_seed() {
        assert_eq!(
            complete(&["lab", "drill", "run", "--profile", ""]),
            ["default", "seed"]
        );
        assert_eq!(
            complete(&["lab", "drill", "runbook", "x", "--profile", ""]),
            ["default", "seed"]
        );
    }
}
