//! `lab drill runbook`: a drill printed as the procedure a reader of the document performs by
//! hand, for one version, without running anything (pure).
//!
//! Besides the drill's steps (rendered by [`super::render`], as the runner renders them), it
//! prints what the lab does by other means in the document's own words: the installation, the
//! replication checks and the ssh keys of chapters 1 and 5, and, for a drill that watches
//! readiness, the `pg_isready` loops of chapter 3 step 0. Each value a step captures at run time
//! is marked where it is captured (`→ captures ${name}`) and where it is used
//! (`uses ${name} (from step N)`).

use crate::node::NodeId;
use std::collections::{BTreeSet, HashMap};

use super::render::{self, builtin_vars, Context};
use crate::pg::{self, ArchiveCommand, Dialect, RestoreCommand, Topology};
use crate::scenario::{self, Drill, NodeRef, StepKind};
use crate::version::PgVersion;

/// How a runbook is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// The procedure as text, prompts and files (the default).
    #[default]
    Text,
    /// A bash script run from an operator host ([`super::script`]).
    Sh,
}

/// What a runbook is printed for.
#[derive(Debug, Clone)]
pub struct Options {
    /// The PostgreSQL release.
    pub version: PgVersion,
    /// The drill profile (`default`, `seed`).
    pub profile: String,
    /// Print chapter 1 (and 5) before the drill.
    pub with_setup: bool,
    /// The lab's layout and commands (see [`topology`]).
    pub topo: Topology,
}

impl Options {
    /// The lab's defaults for `version` and `profile`, with chapter 1.
    pub fn new(version: &str, profile: &str) -> Options {
        Options {
            version: version.parse().expect("a valid version"),
            profile: profile.to_string(),
            with_setup: true,
            topo: topology(
                profile,
                ArchiveCommand::default(),
                RestoreCommand::default(),
            ),
        }
    }
}

/// The layout a runbook is printed for: the lab's default, with the chosen `archive_command`
/// and `restore_command`; the `seed` profile also takes the document's chapter-1 values (scale
/// 10000, `pgbench -T 180`, its `shared_buffers`/`checkpoint_segments` lines).
pub fn topology(profile: &str, archive: ArchiveCommand, restore: RestoreCommand) -> Topology {
    let document = Topology::document();
    let mut topo = Topology {
        archive,
        restore,
        ..Topology::default()
    };
    if profile == "seed" {
        topo.scale = document.scale;
        topo.check_seconds = document.check_seconds;
        topo.document_tuning = true;
    }
    topo
}

fn header(drill: &Drill, opts: &Options) -> String {
    let mut out = format!(
        "== Runbook: {}\n-- drill {} ({}), PostgreSQL {}, profile {}\n\
         -- archive_command {}, restore_command {} (--archive-command, --restore-command)\n\n",
        drill.title,
        drill.name,
        drill.source.as_deref().unwrap_or("user drill"),
        opts.version,
        opts.profile,
        format!("{:?}", opts.topo.archive).to_lowercase(),
        format!("{:?}", opts.topo.restore).to_lowercase(),
    );
    out.push_str(&super::runbook_lines::legend(&opts.topo));
    if let Some(bytes) = drill.lab.wal_disk_size {
        out.push_str(&format!(
            "-- the lab: each node's /disk2 is a tmpfs of {} MiB (lab up --wal-disk-size)\n\n",
            bytes >> 20
        ));
    }
    out
}

/// The release a runbook names: the version itself, or for a major alone the newest release
/// the lab knows the tarball of (`15` is 15.20), else `15.Z` (the newest of the major).
fn release(version: &PgVersion) -> String {
    if version.is_exact() {
        return version.to_string();
    }
    crate::tarball::newest_pinned(version).map_or_else(|| format!("{version}.Z"), |v| v.to_string())
}

/// Chapters 1 and 5: installation, the pair, its checks, the ssh keys; chapter 1 with what the
/// drill's `[lab]` table asks of a fresh lab (its settings, `initdb -k`), as `lab drill run`
/// brings the pair up.
fn setup(drill: &Drill, dialect: &Dialect, opts: &Options) -> String {
    let mut topo = opts.topo.clone();
    topo.settings = pg::merged_settings(&drill.lab.settings, &topo.settings);
    topo.data_checksums |= drill.lab.data_checksums;
    let topo = &topo;
    let (build, install) = crate::image::make_targets(&opts.version);
    format!(
        "== Chapter 1 (1): installation on both nodes (pp.5-7; done by `lab images build`: the \
         build layer runs ./configure, make {build} and make {install}, the node layer creates \
         postgres with uid and gid 501)\n\n{}\n\
         == Chapter 1 (2): the master/slave pair\n\n{}\
         == Chapter 1: replication checks (pp.17-18; `lab up` runs them over SQL)\n\n{}\n\
         == Chapter 5: ssh/scp without a password between the postgres users (p.61; `lab up` \
         hands the keys over itself, since the nodes have no password to type)\n\n{}{}\n",
        pg::install_lines(&release(&opts.version), (build, install)),
        pg::setup_plan(dialect, topo)
            .map_or_else(|e| format!("(cannot render: {e})\n"), |p| p.render()),
        pg::replication_checks(dialect, topo),
        pg::ssh_plan(topo).render(),
        pg::lab_ssh_lines(),
    )
}

/// The variables a runbook renders with: built-ins, `today` as the document's `YYYYMMDD`, the
/// profile's values; captures stay `${name}`.
pub(super) fn context(drill: &Drill, dialect: Dialect, opts: &Options) -> Context {
    let mut vars = builtin_vars(&dialect, &opts.topo, &opts.version.to_string(), "runs");
    vars.insert("today".into(), "YYYYMMDD".into());
    if let Some(values) = drill.profiles.get(&opts.profile) {
        for (k, v) in values {
            vars.insert(format!("profile.{k}"), v.clone());
        }
    }
    Context {
        dialect,
        topo: opts.topo.clone(),
        primary: NodeId::NODE1,
        vars,
        lenient: true,
    }
}

/// The commands and descriptions of one step, on every node it acts on.
fn body(ctx: &Context, step: &crate::scenario::Step, title: &str) -> String {
    let targets: Vec<NodeId> = match &step.on {
        Some(NodeRef::All) => crate::scenario::NODES.to_vec(),
        Some(r) => ctx.resolve(r).into_iter().collect(),
        None => Vec::new(),
    };
    let mut out = String::new();
    for &t in &targets {
        match render::command_steps(ctx, t, title, &step.kind) {
            Ok(steps) => {
                for s in steps {
                    out.push_str(&super::runner::display_step(&s));
                    out.push('\n');
                }
            }
            Err(e) => out.push_str(&format!("(cannot render: {e})\n")),
        }
    }
    for line in render::describe(ctx, &step.kind) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// A runbook is at most this many bytes per byte of the drill file, besides
/// [`RUNBOOK_BASE_BYTES`]: the checker's budget on what procedures expand to keeps a valid drill
/// well within it; past it, the runbook stops with a line that says so.
pub const RUNBOOK_BYTES_PER_FILE_BYTE: usize = 64;

/// What a runbook may be besides [`RUNBOOK_BYTES_PER_FILE_BYTE`] per byte of the file.
pub const RUNBOOK_BASE_BYTES: usize = 4 << 20;

/// The captured variables `text` refers to (`${name}`), by name.
fn references<'t>(text: &'t str, captured: &HashMap<String, usize>, found: &mut BTreeSet<&'t str>) {
    for (at, _) in text.match_indices("${") {
        let rest = &text[at + 2..];
        if let Some(name) = rest.split_once('}').map(|(name, _)| name) {
            if captured.contains_key(name) {
                found.insert(name);
            }
        }
    }
}

/// The runbook: chapters 1 and 5 (unless left out), the watch loops if the drill monitors
/// readiness, then every step of the drill rendered for the version; at most
/// [`RUNBOOK_BYTES_PER_FILE_BYTE`] × the file + [`RUNBOOK_BASE_BYTES`] long.
pub fn runbook(drill: &Drill, opts: &Options) -> String {
    let max = RUNBOOK_BYTES_PER_FILE_BYTE * drill.source_bytes + RUNBOOK_BASE_BYTES;
    runbook_within(drill, opts, max)
}

/// The runbook, stopped before the first step that starts past `max` bytes.
fn runbook_within(drill: &Drill, opts: &Options, max: usize) -> String {
    let dialect = Dialect::for_major(opts.version.major);
    let mut out = header(drill, opts);
    if opts.with_setup {
        out.push_str(&setup(drill, &dialect, opts));
    }
    if let Some(interval) = drill.monitor {
        out.push_str(&format!(
            "== Chapter 3 step 0: each node watches itself and the other (pp.23-24; the lab's \
             monitor probes both nodes every {interval:?}; 0 accepting, 1 rejecting, 2 no \
             response)\n\n{}",
            pg::watch_loops(&opts.topo).render()
        ));
    }
    let mut ctx = context(drill, dialect, opts);
    out.push_str(&format!("== {}\n\n", drill.title));
    // Where each captured value comes from: its name and the step that captures it.
    let mut captured: HashMap<String, usize> = HashMap::new();
    for (i, step) in drill.steps.iter().enumerate() {
        let number = i + 1;
        if out.len() > max {
            out.push_str(&format!(
                "-- … the runbook stops before step {number}: it is longer than {max} bytes \
                 ({RUNBOOK_BYTES_PER_FILE_BYTE} × the drill file + {} MiB)\n",
                RUNBOOK_BASE_BYTES >> 20
            ));
            break;
        }
        let node = step.on.as_ref().and_then(|r| ctx.resolve(r));
        let where_ = match &step.on {
            Some(NodeRef::All) => "all".to_string(),
            _ => node.map_or_else(|| "-".into(), NodeId::name),
        };
        let title = render::title(&ctx, &step.title);
        out.push_str(&format!("## {number}. [{where_}] {title}\n"));
        if let Some(when) = ctx.unmet(&step.when) {
            out.push_str(&format!("-- {}\n\n", ctx.not_applicable(when)));
            continue;
        }
        for when in &step.when {
            let only = when.condition.describe(when.holds);
            out.push_str(&format!("-- only when {only}\n"));
        }
        if step.optional {
            out.push_str("-- optional: if it does not hold, note it and go on\n");
        }
        let targets: Vec<NodeId> = match &step.on {
            Some(NodeRef::All) => crate::scenario::NODES.to_vec(),
            _ => node.into_iter().collect(),
        };
        let body = match super::runbook_lines::lines(&ctx, number, step, &targets, &captured) {
            Some(lines) => lines.iter().map(|l| format!("{l}\n")).collect(),
            None => body(&ctx, step, &title),
        };
        // One pass over the text for its references, not one per captured value.
        let mut used = BTreeSet::new();
        references(&body, &captured, &mut used);
        references(&title, &captured, &mut used);
        for name in used {
            let from = captured[name];
            out.push_str(&format!("uses ${{{name}}} (from step {from})\n"));
        }
        out.push_str(&body);
        if let Some(name) = &step.capture {
            out.push_str(&format!("→ captures ${{{name}}} (a shell variable)\n"));
            captured.insert(name.clone(), number);
        }
        out.push('\n');
        if let (StepKind::Action(action), Some(n)) = (&step.kind, node) {
            if let Some(primary) =
                scenario::primary_after(action, n, ctx.primary, |r| ctx.resolve(r))
            {
                ctx.primary = primary;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{load, BUILTIN};
    use super::*;
    use crate::pg::document_lines::*;

    fn golden(name: &str, actual: &str) {
        crate::golden::assert_golden(&format!("runbooks/{name}"), actual);
    }

    fn book(drill: &str, version: &str) -> String {
        runbook(&load(drill).unwrap(), &Options::new(version, "default"))
    }

    /// The runbook as the document would have it: 9.3.25, the literal commands, `--profile seed`.
    fn document_book(drill: &str) -> String {
        let mut opts = Options::new("9.3.25", "seed");
        opts.topo = topology("seed", ArchiveCommand::Literal, RestoreCommand::Literal);
        runbook(&load(drill).unwrap(), &opts)
    }

    /// Chapter 1 is the pair a fresh lab of the drill would be: its `[lab]` table's `initdb -k`.
    #[test]
    fn chapter_1_takes_the_drills_lab_needs() {
        let rewind = book("rewind-rejoin", "15.18");
        assert!(
            rewind.contains("$ initdb -D /disk1/data -X /disk2/pg_wal -E UTF8 --locale=C -k\n"),
            "{rewind}"
        );
        assert!(!book("node-crash-failover", "15.18").contains("--locale=C -k"));
    }

    /// Past its bound a runbook stops, saying where.
    #[test]
    fn a_runbook_stops_past_its_bound() {
        let drill = load("failover-switchback").unwrap();
        let opts = Options::new("15.18", "default");
        let full = runbook(&drill, &opts);
        let cut = runbook_within(&drill, &opts, 100);
        assert!(cut.len() < full.len() / 2, "{}", cut.len());
        assert!(
            cut.ends_with("(64 × the drill file + 4 MiB)\n")
                && cut.contains("stops before step 1:"),
            "{cut}"
        );
    }

    #[test]
    fn runbooks_match_the_golden_files() {
        for (drill, _) in BUILTIN {
            for version in ["9.3.25", "15.18"] {
                golden(&format!("{drill}-{version}.txt"), &book(drill, version));
            }
            golden(
                &format!("{drill}-9.3.25-document.txt"),
                &document_book(drill),
            );
        }
    }

    /// The documented drills' scripts (`--format sh`), as `lab drill runbook` prints them
    /// (`runbook_cli` compares the binary's output with the same files).
    #[test]
    fn the_documented_drills_scripts_match_the_golden_files() {
        for drill in ["failover-switchback", "pitr-from-standby-backup"] {
            for version in ["9.3.25", "15.18"] {
                let opts = Options::new(version, "default");
                let script = super::super::script::script(&load(drill).unwrap(), &opts);
                golden(&format!("{drill}-{version}.sh"), &script);
            }
        }
    }

    /// The runbook follows the roles as the runner does: after node1 is rebuilt as node2's
    /// standby, `primary` is node2 and `standby` node1, on 9.3 and on 15.
    #[test]
    fn a_runbook_names_the_node_each_role_has_after_a_rebuild() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/drills/rebuild-then-promote-again.toml"
        );
        let drill = load(path).unwrap();
        for version in ["9.3.25", "15.18"] {
            let book = runbook(&drill, &Options::new(version, "default"));
            for (step, node) in [
                ("14. [node2] a second row on the primary", "node2"),
                ("15. [node1] the standby has replayed it", "node1"),
                ("16. [node2] stop the primary", "node2"),
                ("17. [node1] promote the standby again", "node1"),
                ("19. [node1] a third row on the primary", "node1"),
            ] {
                assert!(
                    book.lines().any(|l| l == format!("## {step}")),
                    "{version}: no step `{step}` (on {node}):\n{book}"
                );
            }
        }
    }

    #[test]
    fn no_title_keeps_a_variable_the_lab_knows() {
        for (drill, _) in BUILTIN {
            for book in [book(drill, "9.3.25"), book(drill, "15.18")] {
                for title in book.lines().filter(|l| l.starts_with("## ")) {
                    for known in ["${pg.", "${today}", "${node1.", "${node2.", "${profile."] {
                        assert!(
                            !title.contains(known),
                            "{drill}: unrendered title {title:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn captured_values_are_marked_where_captured_and_where_used() {
        let whole = book("pitr-from-standby-backup", "9.3.25");
        let book = &whole[whole.find("\n== Recover the master").unwrap()..];
        let at = |needle: &str| {
            book.find(needle)
                .unwrap_or_else(|| panic!("{needle:?} missing from\n{book}"))
        };
        assert!(
            at("## 5. [node1] record the time just before the error")
                < at("→ captures ${before_error} (a shell variable)")
        );
        let use_ = at("uses ${before_error} (from step 5)");
        assert!(use_ > at("## 12. [node1]") && use_ < at("## 13."));
        assert!(at("uses ${max_mtime} (from step 3)") > at("## 17."));
    }

    #[track_caller]
    fn assert_lines(book: &str, lines: &[&str]) {
        // Spaces collapsed on both sides: the document's spacing is a typesetting accident
        // (`mv /disk1/data  /disk4/broken/`), except where the lab reproduces it exactly.
        let squeeze = |s: &str| {
            s.split(' ')
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let text: String = book.lines().map(|l| squeeze(l) + "\n").collect();
        let missing: Vec<&&str> = lines
            .iter()
            .filter(|line| !text.contains(&squeeze(line)))
            .collect();
        assert!(
            missing.is_empty(),
            "the runbook lacks the document's lines {missing:#?}"
        );
    }

    #[test]
    fn the_document_runbooks_have_every_line_of_chapters_1_3_4_and_5() {
        for (drill, chapter) in [
            ("failover-switchback", CHAPTER_3),
            ("pitr-from-standby-backup", CHAPTER_4),
        ] {
            let book = document_book(drill);
            for lines in [
                CHAPTER_1_SETUP,
                CHAPTER_1_REST,
                chapter,
                REBUILD_DIRS,
                CHAPTER_5,
            ] {
                assert_lines(&book, lines);
            }
        }
    }

    #[test]
    fn the_default_runbook_keeps_the_labs_commands_and_sizes() {
        let book = book("pitr-from-standby-backup", "9.3.25");
        assert!(book.contains("$ pgbench -i -s 1 testdb"));
        assert!(book.contains("cp %p /disk3/archive/%f.tmp"));
        assert!(!book.contains("shared_buffers = 16GB\n"));
        assert!(book.contains("scp -o ConnectTimeout=2 172.16.3.101:/disk3/archive/%f"));
    }
}
