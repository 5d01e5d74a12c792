//! The `lab drill` commands: list, check, run, runbook (printed by [`super::runbook`]).

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::event::{Event, Outcome};
use super::render::{builtin_vars, Context};
use super::runner::{Pace, Runner, Sink};
use super::suite::{SuiteConfig, SuiteDrill};
use super::{load, report, DockerOps, LoadError, BUILTIN};
use crate::cli::{ArchiveArg, RestoreArg, UpArgs};
use crate::cluster::{self, Lab};
use crate::commands::{bring_up, BroughtUp, Shutdown};
use crate::error::{Error, Result};
use crate::pg::Dialect;
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
    /// Run a drill (a built-in name or a file) on a lab; several drills (or `--all`) and
    /// several versions (`--pg-version 9.3.5,15`) make a suite: each pair on its own lab.
    Run(Box<RunArgs>),
    /// Print the version-specific runbook of a drill (every command and file, per node, in
    /// order) without running anything.
    Runbook(RunbookArgs),
    /// Print the JSON Schema of the drill format (for taplo / Even Better TOML):
    /// `lab drill schema > drill.schema.json`.
    Schema,
}

/// `lab drill run`
#[derive(Debug, Args)]
// `--pg-version` takes a list here (a suite), so the lab's own single-version flag is renamed
// out of the way and set from the list.
#[command(mut_arg("pg_version", |a| a.long("pg-release").hide(true)))]
pub struct RunArgs {
    /// Built-in drills' names or drill files. Several (or `--all`, or several `--pg-version`)
    /// make a suite: every drill × version on its own fresh lab, `--jobs` side by side, the
    /// reports under `<runs-dir>/suite/<timestamp>/` with an index (index.md, index.html, one
    /// junit.xml) comparing the versions. A suite's labs are `<--name>-1`, `<--name>-2`, …;
    /// run i (from 0) takes the i-th /24 after `--subnet`, and the suite refuses to start if
    /// one of those networks overlaps a network of the engine or a lab exists already.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub drills: Vec<String>,
    /// Every built-in drill (a suite).
    #[arg(long)]
    pub all: bool,
    /// PostgreSQL release (9.3.25) or major (15: the newest release that can be had);
    /// comma-separated for a suite on several (`9.3.5,15`).
    #[arg(long = "pg-version", id = "pg_versions", value_name = "VERSIONS", value_delimiter = ',',
          default_value = "9.3.25", value_parser = crate::input::version)]
    pub pg_versions: Vec<PgVersion>,
    /// Labs side by side in a suite (default: one per core, at most 4).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub jobs: Option<u16>,
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
    #[arg(long, default_value = "9.3.25", value_parser = crate::input::version)]
    pub pg_version: PgVersion,
    /// Profile: `default`, or `seed` (the document's durations, and in chapter 1 its scale
    /// 10000, `pgbench -T 180` and tuning lines).
    #[arg(long, default_value = "default")]
    pub profile: String,
    /// Leave out chapters 1 and 5 (bringing the pair up).
    #[arg(long)]
    pub without_setup: bool,
    /// The standby's restore_command, as for `lab up`.
    #[arg(long, value_enum, default_value = "archive")]
    pub restore_command: RestoreArg,
    /// The master's archive_command, as for `lab up`.
    #[arg(long, value_enum, default_value = "atomic")]
    pub archive_command: ArchiveArg,
}

fn load_checked(name: &str, profile: &str) -> Result<Drill> {
    let drill = load(name).map_err(|e| match e {
        LoadError::NotFound(m) => Error::Invalid(m),
        LoadError::Invalid(_) => {
            Error::Located(format!("{e}\nthe drill is invalid: nothing was run"))
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
                    Err(e @ LoadError::NotFound(_)) => bad.push(format!("error: {e}")),
                    Err(e) => bad.push(e.to_string()),
                }
            }
            if bad.is_empty() {
                Ok(())
            } else {
                Err(Error::Located(bad.join("\n")))
            }
        }
        DrillCommand::Schema => {
            let schema = crate::scenario::drill_schema();
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).expect("a schema serialises")
            );
            Ok(())
        }
        DrillCommand::Runbook(args) => {
            let drill = load_checked(&args.drill, &args.profile)?;
            let topo = super::runbook::topology(
                &args.profile,
                args.archive_command.into(),
                args.restore_command.into(),
            );
            let opts = super::runbook::Options {
                version: args.pg_version,
                profile: args.profile,
                with_setup: !args.without_setup,
                topo,
            };
            print!("{}", super::runbook::runbook(&drill, &opts));
            Ok(())
        }
        DrillCommand::Run(mut args) => {
            let single = !args.all && args.drills.len() == 1 && args.pg_versions.len() == 1;
            if single {
                args.up.images.pg_version = args.pg_versions[0];
                let drill = args.drills[0].clone();
                run_drill(*args, &drill, ui).await
            } else {
                run_suite(*args, ui).await
            }
        }
    }
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

/// A suite: several drills, several versions, or both (see [`super::suite`]).
async fn run_suite(args: RunArgs, ui: &Ui) -> Result<()> {
    for (refused, flag) in [
        (args.reuse, "--reuse"),
        (args.step, "--step"),
        (args.up.keep, "--keep"),
        (args.up.publish.is_some(), "--publish"),
    ] {
        if refused {
            return Err(Error::Invalid(format!(
                "{flag} is for one drill on one version: a suite runs each drill × version on its own fresh lab"
            )));
        }
    }
    let names: Vec<String> = if args.all {
        BUILTIN.iter().map(|(n, _)| n.to_string()).collect()
    } else {
        args.drills.clone()
    };
    let mut drills: Vec<SuiteDrill> = Vec::new();
    for arg in names {
        let drill = load_checked(&arg, &args.profile)?;
        if drills.iter().any(|d| d.name == drill.name) {
            return Err(Error::Invalid(format!(
                "drill {} is named twice in the suite",
                drill.name
            )));
        }
        drills.push(SuiteDrill {
            arg,
            name: drill.name,
        });
    }
    let mut versions: Vec<PgVersion> = Vec::new();
    for v in &args.pg_versions {
        if versions.contains(v) {
            return Err(Error::Invalid(format!("--pg-version {v} is given twice")));
        }
        versions.push(*v);
    }
    let subnet =
        args.up.subnet.parse().map_err(|_| {
            Error::Invalid(format!("--subnet {}: not an IPv4 network", args.up.subnet))
        })?;
    let cfg = SuiteConfig {
        drills,
        versions,
        jobs: args
            .jobs
            .map_or_else(super::suite::default_jobs, usize::from),
        name: args.up.lab.name.clone(),
        subnet,
        runs_dir: args.runs_dir.clone(),
        images: args.up.images.options(),
        run_flags: run_flags(&args),
    };
    super::suite::run(&cfg, ui).await.map(|_| ())
}

/// The flags each run of a suite gets: everything given but what the suite sets per run
/// (drill, version, tarball, name, subnet, runs directory).
fn run_flags(args: &RunArgs) -> Vec<String> {
    use clap::ValueEnum;
    let (up, img) = (&args.up, &args.up.images);
    let mut f = vec!["--profile".to_string(), args.profile.clone()];
    let mut flag = |on: bool, name: &str| {
        if on {
            f.push(name.to_string());
        }
    };
    flag(args.show_secrets, "--show-secrets");
    flag(up.sync, "--sync");
    flag(img.allow_unverified, "--allow-unverified");
    flag(img.refresh, "--refresh");
    flag(img.check, "--check");
    let name = |v: &dyn Fn() -> Option<clap::builder::PossibleValue>| {
        v().map(|p| p.get_name().to_string()).unwrap_or_default()
    };
    f.extend([
        "--scale".into(),
        up.scale.to_string(),
        "--check-seconds".into(),
        up.check_seconds.to_string(),
        "--restore-command".into(),
        name(&|| up.restore_command.to_possible_value()),
        "--archive-command".into(),
        name(&|| up.archive_command.to_possible_value()),
        "--base".into(),
        img.base.clone(),
        "--pg-source-site".into(),
        img.pg_source_site.clone(),
    ]);
    let optional = [
        ("--wal-disk-size", up.wal_disk_size.map(|b| b.to_string())),
        ("--debian-mirror", img.debian_mirror.clone()),
        ("--debian-suite", img.debian_suite.clone()),
        (
            "--cache-dir",
            img.cache_dir.as_ref().map(|d| d.display().to_string()),
        ),
    ];
    for (name, value) in optional {
        if let Some(v) = value {
            f.extend([name.to_string(), v]);
        }
    }
    for a in &img.configure_args {
        f.push(format!("--configure-arg={a}"));
    }
    f
}

async fn run_drill(args: RunArgs, drill: &str, ui: &Ui) -> Result<()> {
    let drill = load_checked(drill, &args.profile)?;
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
                        (None, Some(v)) if v.stopped_at.is_some() => "was stopped".to_string(),
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
    // Stopped on purpose (`q` in --step mode): not a failure, exit 0; the reports say STOPPED.
    if let Some(at) = verdict.stopped_at {
        eprintln!(
            "drill {} stopped by the user before step {at}: see {}",
            drill.name,
            dir.join("report.md").display()
        );
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
