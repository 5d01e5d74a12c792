//! The `lab drill` commands: list, check, run, runbook.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::event::{Event, Outcome};
use super::render::{builtin_vars, Context};
use super::runner::{Pace, Runner, Sink};
use super::{load, report, DockerOps, LoadError, BUILTIN};
use crate::cli::UpArgs;
use crate::cluster::{self, Lab};
use crate::commands::{bring_up, BroughtUp, Shutdown};
use crate::error::{Error, Result};
use crate::pg::{self, Dialect, Topology};
use crate::scenario::Drill;
use crate::ui::Ui;
use crate::version::PgVersion;

/// `lab drill …`
#[derive(Debug, Subcommand)]
pub enum DrillCommand {
    /// The built-in drills.
    List,
    /// Validate drill files without running anything (no Docker needed).
    Check {
        /// Drill files (or built-in names).
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Run a drill (a built-in name or a file) on a lab.
    Run(Box<RunArgs>),
    /// Print the version-specific runbook of a drill (every command and file, per node, in
    /// order) without running anything.
    Runbook(RunbookArgs),
}

/// `lab drill run`
#[derive(Debug, Args)]
pub struct RunArgs {
    /// A built-in drill's name or a drill file.
    pub drill: String,
    /// Profile: `default` (short runs) or `seed` (the document's durations).
    #[arg(long, default_value = "default")]
    pub profile: String,
    /// Bring up a new lab for the drill and remove it afterwards (the default).
    #[arg(long, conflicts_with = "reuse")]
    pub fresh: bool,
    /// Run on the existing lab `--name` instead of bringing up a new one (and removing it after).
    #[arg(long)]
    pub reuse: bool,
    /// Pause before each step: Enter runs it, `s` skips it, `q` stops the drill.
    #[arg(long)]
    pub step: bool,
    /// Show passwords in reports and logs (masked by default).
    #[arg(long)]
    pub show_secrets: bool,
    /// Where run directories go (`<dir>/<drill>/<timestamp>/`, with a `latest` link).
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// The lab (for a fresh one: images and layout; `--keep` leaves it up after the drill).
    #[command(flatten)]
    pub up: UpArgs,
}

/// `lab drill runbook`
#[derive(Debug, Args)]
pub struct RunbookArgs {
    /// A built-in drill's name or a drill file.
    pub drill: String,
    /// The PostgreSQL version to render for.
    #[arg(long, default_value = "9.3.25")]
    pub pg_version: PgVersion,
    /// Profile.
    #[arg(long, default_value = "default")]
    pub profile: String,
    /// Leave out chapter 1 (bringing the pair up).
    #[arg(long)]
    pub without_setup: bool,
}

fn load_checked(name: &str, profile: &str) -> Result<Drill> {
    let drill = load(name).map_err(|e| match e {
        LoadError::NotFound(m) => Error::Invalid(m),
        LoadError::Invalid(_) => {
            Error::Invalid(format!("{e}\nthe drill is invalid: nothing was run"))
        }
    })?;
    if !drill.profiles.is_empty() && !drill.profiles.contains_key(profile) {
        return Err(Error::Invalid(format!(
            "drill {} has no profile `{profile}`: its profiles are {}",
            drill.name,
            drill
                .profiles
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(drill)
}

/// Runs a `lab drill` command.
pub async fn run(cmd: DrillCommand, ui: &Ui) -> Result<()> {
    match cmd {
        DrillCommand::List => {
            let mut t = comfy_table::Table::new();
            t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
            t.set_header(["drill", "title", "source", "steps"]);
            for (name, _) in BUILTIN {
                let d = load(name)
                    .map_err(|e| Error::Lab(format!("built-in drill {name} is invalid: {e}")))?;
                t.add_row([
                    d.name.clone(),
                    d.title.clone(),
                    d.source.clone().unwrap_or_default(),
                    d.steps.len().to_string(),
                ]);
            }
            println!("{t}");
            Ok(())
        }
        DrillCommand::Check { files } => {
            let mut bad = Vec::new();
            for f in &files {
                match load(f) {
                    Ok(d) => println!("{f}: ok ({} steps)", d.steps.len()),
                    Err(e) => bad.push(e.to_string()),
                }
            }
            if bad.is_empty() {
                Ok(())
            } else {
                Err(Error::Invalid(bad.join("\n")))
            }
        }
        DrillCommand::Runbook(args) => {
            let drill = load_checked(&args.drill, &args.profile)?;
            print!(
                "{}",
                runbook(&drill, &args.pg_version, &args.profile, !args.without_setup)
            );
            Ok(())
        }
        DrillCommand::Run(args) => run_drill(*args, ui).await,
    }
}

/// The runbook: chapter 1 (optional) then every step of the drill, rendered for `version`,
/// with captured values shown as `${name}`.
pub fn runbook(drill: &Drill, version: &PgVersion, profile: &str, with_setup: bool) -> String {
    let dialect = Dialect::for_major(version.major);
    let topo = Topology::default();
    let mut out = format!(
        "# Runbook: {}\n# drill {} ({}), PostgreSQL {version}, profile {profile}\n\n",
        drill.title,
        drill.name,
        drill.source.as_deref().unwrap_or("user drill")
    );
    if let Some(bytes) = drill.lab.wal_disk_size {
        out.push_str(&format!(
            "# the lab: each node's /disk2 is a tmpfs of {} MiB (lab up --wal-disk-size)\n\n",
            bytes >> 20
        ));
    }
    if with_setup {
        out.push_str("# Chapter 1: the master/slave pair\n\n");
        out.push_str(&pg::setup_plan(&dialect, &topo).render());
    }
    let mut vars = builtin_vars(&dialect, &topo, &version.to_string(), "runs");
    vars.insert("today".into(), "YYYYMMDD".into());
    if let Some(values) = drill.profiles.get(profile) {
        for (k, v) in values {
            vars.insert(format!("profile.{k}"), v.clone());
        }
    }
    let mut ctx = Context {
        dialect,
        topo,
        primary: "node1".into(),
        vars,
        lenient: true,
    };
    out.push_str(&format!("# {}\n\n", drill.title));
    for (i, step) in drill.steps.iter().enumerate() {
        let node = step.on.as_ref().and_then(|r| ctx.resolve(r));
        let where_ = match &step.on {
            Some(crate::scenario::NodeRef::All) => "all".to_string(),
            _ => node.clone().unwrap_or_else(|| "-".into()),
        };
        out.push_str(&format!("## {}. [{where_}] {}\n", i + 1, step.title));
        if let Some(when) = ctx.unmet(&step.when) {
            out.push_str(&format!("# {}\n\n", ctx.not_applicable(when)));
            continue;
        }
        for when in &step.when {
            let only = when.condition.describe(when.holds);
            out.push_str(&format!("# only when {only}\n"));
        }
        let targets: Vec<String> = match &step.on {
            Some(crate::scenario::NodeRef::All) => vec!["node1".into(), "node2".into()],
            _ => node.iter().cloned().collect(),
        };
        for t in &targets {
            match super::render::command_steps(&ctx, t, &step.title, &step.kind) {
                Ok(steps) => {
                    for s in steps {
                        out.push_str(&super::runner::display_step(&s));
                        out.push('\n');
                    }
                }
                Err(e) => out.push_str(&format!("(cannot render: {e})\n")),
            }
        }
        for line in super::render::describe(&ctx, &step.kind) {
            out.push_str(&line);
            out.push('\n');
        }
        out.push('\n');
        if let (crate::scenario::StepKind::Action(crate::scenario::Action::Promote), Some(n)) =
            (&step.kind, &node)
        {
            ctx.primary = n.clone();
        }
    }
    out
}

fn ask(number: usize, title: &str, commands: &[String]) -> Pace {
    eprintln!("\n── step {number}: {title}");
    for c in commands {
        eprintln!("   {}", c.replace('\n', "\n   "));
    }
    eprint!("Enter: run · s: skip · q: stop > ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).unwrap_or(0) == 0 {
        return Pace::Quit;
    }
    match line.trim() {
        "s" | "S" => Pace::Skip,
        "q" | "Q" => Pace::Quit,
        _ => Pace::Run,
    }
}

/// The `up` options for a drill's fresh lab: the flags given, and what the drill's `[lab]`
/// asks for where no flag says otherwise.
fn drill_up_args(flags: &UpArgs, drill: &Drill) -> UpArgs {
    let mut args = flags.clone();
    args.wal_disk_size = args.wal_disk_size.or(drill.lab.wal_disk_size);
    args
}

async fn run_drill(args: RunArgs, ui: &Ui) -> Result<()> {
    let drill = load_checked(&args.drill, &args.profile)?;
    let name = args.up.lab.name.clone();
    // Listening from here on, so that a signal between `up` and the first step is not lost.
    let mut stop = Shutdown::new();
    let (engine, lab, topo, version) = if args.reuse {
        cluster::check_name(&name)?;
        let engine = crate::docker::Engine::connect().await?;
        let lab = Lab::find(&engine, &name).await?;
        let topo = lab.topology()?;
        let version = lab.version.clone();
        (engine, lab, topo, version)
    } else {
        let (
            engine,
            BroughtUp {
                images,
                topo,
                report,
                ..
            },
        ) = bring_up(&drill_up_args(&args.up, &drill), ui).await?;
        if !report.checks.failures.is_empty() {
            let e = Error::CheckFailed(format!(
                "the lab did not reach streaming replication, so the drill was not run:\n  - {}",
                report.checks.failures.join("\n  - ")
            ));
            if args.up.keep {
                return Err(e);
            }
            return Err(cluster::down_after(&engine, &name, e).await);
        }
        let lab = Lab::find(&engine, &name).await?;
        (engine, lab, topo, images.version.to_string())
    };
    let v: PgVersion = version
        .parse()
        .map_err(|e| Error::Lab(format!("lab `{name}`: {e}")))?;
    let dialect = Dialect::for_major(v.major);

    // Who is primary now: the node not in recovery (node1 on a fresh lab).
    let mut primary = "node1".to_string();
    for node in &lab.nodes {
        if let Ok(c) = crate::sql::connect(
            &node.addr,
            "postgres",
            &lab.sql_password,
            std::time::Duration::from_secs(5),
        )
        .await
        {
            if crate::sql::scalar(&c, "SELECT pg_is_in_recovery()")
                .await
                .ok()
                .flatten()
                .as_deref()
                == Some("f")
            {
                primary = node.name.clone();
            }
        }
    }
    let stamp = super::render::timestamp();
    let run_dir = args.runs_dir.join(&drill.name).join(&stamp);
    let vars = builtin_vars(&dialect, &topo, &version, &run_dir.display().to_string());
    let ctx = Context {
        dialect,
        topo,
        primary,
        vars,
        lenient: false,
    };
    let sink = Sink::new(report::live);
    let nodes: Vec<String> = lab.nodes.iter().map(|n| n.name.clone()).collect();
    let password = lab.sql_password.clone();
    let ops = DockerOps {
        engine: engine.clone(),
        lab,
    };
    let mut runner = Runner::new(ops, ctx, nodes, sink.clone()).with_ledger_password(password);
    let step_mode = args.step;
    let pace =
        move |n: usize, t: &str, c: &[String]| if step_mode { ask(n, t, c) } else { Pace::Run };
    let (verdict, interrupted) = tokio::select! {
        biased;
        s = stop.recv() => (None, Some(s)),
        v = runner.run(&drill, &args.profile, pace) => (Some(v), None),
    };
    let events = sink.events();
    let logs = verdict.as_ref().map(|v| v.logs.clone()).unwrap_or_default();
    let dir = report::write_run(
        &args.runs_dir,
        &drill.name,
        &stamp,
        &events,
        &logs,
        args.show_secrets,
    )
    .map_err(|e| {
        Error::Lab(format!(
            "writing the reports under {}: {e}",
            args.runs_dir.display()
        ))
    })?;
    eprintln!("reports: {}", dir.display());
    if !args.reuse {
        if args.up.keep {
            eprintln!("lab `{name}` is left running (--keep): `lab down --name {name}` removes it");
        } else if let Err(e) = cluster::down(&engine, &name).await {
            return Err(cluster::not_removed(
                &name,
                &format!(
                    "drill {} {} (reports: {})",
                    drill.name,
                    match (&interrupted, &verdict) {
                        (Some(signal), _) => format!("was interrupted by {signal}"),
                        (None, Some(v)) if v.passed => "passed".to_string(),
                        _ => "failed".to_string(),
                    },
                    dir.display()
                ),
                &e,
            ));
        }
    }
    if let Some(signal) = interrupted {
        return Err(Error::Lab(format!("drill interrupted by {signal}")));
    }
    let verdict = verdict.expect("set when not interrupted");
    if verdict.passed {
        return Ok(());
    }
    let lab_error = events.iter().any(|e| {
        matches!(
            e,
            Event::StepFinished {
                outcome: Outcome::Error { .. },
                optional: false,
                ..
            }
        )
    });
    let summary = format!(
        "drill {} failed: see {}",
        drill.name,
        dir.join("report.md").display()
    );
    if lab_error {
        Err(Error::Lab(summary))
    } else {
        Err(Error::CheckFailed(summary))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn golden(name: &str, actual: &str) {
        crate::golden::assert_golden(&format!("runbooks/{name}"), actual);
    }

    fn book(drill: &str, version: &str) -> String {
        let d = load(drill).unwrap();
        runbook(&d, &version.parse().unwrap(), "default", true)
    }

    #[test]
    fn runbooks_match_the_golden_files() {
        for (drill, _) in BUILTIN {
            for version in ["9.3.25", "15.18"] {
                golden(&format!("{drill}-{version}.txt"), &book(drill, version));
            }
        }
    }

    #[track_caller]
    fn assert_lines(book: &str, lines: &[&str]) {
        for line in lines {
            assert!(
                book.contains(line),
                "the runbook lacks the document's line {line:?}"
            );
        }
    }

    #[test]
    fn the_93_failover_runbook_has_the_documents_commands() {
        assert_lines(
            &book("failover-switchback", "9.3.25"),
            &[
                "$ chmod u-w /disk2/pg_xlog",
                "pg_ctl -m fast stop || pg_ctl -m immediate stop",
                "$ pg_ctl promote",
                "$ pg_basebackup -h 127.0.0.1 -U repuser -D /disk3/backup/data --xlog --progress",
                "# mv /disk1/data /disk4/broken/",
                "# mv /disk2/pg_xlog /disk4/broken/",
                "# mv /disk3/archive /disk4/broken/",
                "$ pg_basebackup -h 172.16.3.102 -U repuser -D /disk1/data --progress",
                "$ ln -s /disk2/pg_xlog pg_xlog",
                "[/disk1/data/recovery.conf]\nstandby_mode = 'on'\nprimary_conninfo = 'host=172.16.3.102 port=5432 user=repuser password=repuser'",
                "primary_conninfo = 'host=172.16.3.101 port=5432 user=repuser password=repuser'",
                "hot_standby = on",
                "/aborting startup due to startup process failure/",
                "/selected new timeline ID: 3/",
            ],
        );
    }

    #[test]
    fn the_93_pitr_runbook_has_the_documents_commands() {
        assert_lines(
            &book("pitr-from-standby-backup", "9.3.25"),
            &[
                "$ pg_basebackup -h 127.0.0.1 -U repuser -D /disk3/backup/YYYYMMDD/data --xlog --progress",
                "$ pgbench -T 10 -c 2 testdb",
                "SELECT max(mtime) FROM pgbench_history",
                "TRUNCATE TABLE pgbench_history",
                "# mv /disk1/data /disk4/broken/YYYYMMDD/",
                "$ scp -pr 172.16.3.102:/disk3/backup/YYYYMMDD/data /disk1",
                "$ chmod 700 /disk1/data",
                "$ ln -s /disk2/pg_xlog pg_xlog",
                "[/disk1/data/recovery.conf]\nrestore_command = 'cp /disk3/archive/%f \"%p\" 2> /dev/null'\nrecovery_target_time = '${before_error}'",
                "hot_standby = off",
                "recovery_target_timeline='latest'",
                "/starting point-in-time recovery to/",
            ],
        );
    }
}
