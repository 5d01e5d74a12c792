//! `lab drill …`: the flags, turned into the configs of [`lab::commands::drill`].

use std::path::PathBuf;

use clap::{Args, Subcommand};
use clap_complete::{ArgValueCandidates, ArgValueCompleter};

use lab::commands::drill::{self as cmd, RunConfig, RunbookConfig};
use lab::commands::suite::{self, SuiteConfig};
use lab::commands::suite_merge::{self, MergeConfig};
use lab::drill::shard::Shard;
use lab::error::{Error, Result};
use lab::ui::Ui;
use lab::version::PgVersion;

use super::args::{ArchiveArg, RestoreArg, UpArgs};
use super::complete;

/// `lab drill …`
#[derive(Debug, Subcommand)]
pub enum DrillCommand {
    /// The built-in drills: what each proves and where the report describes it.
    List,
    /// What a drill (a built-in name or a file) proves, which faults it injects, what it
    /// asserts, and where PostgreSQL versions differ, without running anything.
    Explain {
        /// A built-in drill's name or a drill file.
        #[arg(add = ArgValueCompleter::new(complete::drills_or_files))]
        drill: String,
    },
    /// Validate drill files without running anything (no Docker needed).
    Check {
        /// Drill files, built-in names, or directories (each of their `*.toml` files).
        #[arg(required = true, add = ArgValueCompleter::new(complete::drills_or_files))]
        files: Vec<String>,
        /// Also check that this release has what the drills ask of it (a recovery target or
        /// an end action of `pitr`), where a step does not say `when` it applies.
        #[arg(long, value_parser = lab::input::version)]
        pg_version: Option<PgVersion>,
    },
    /// Run a drill (a built-in name or a file) on a lab; several drills (or `--all`) and
    /// several versions (`--pg-version 9.3.5,15`) make a suite: each pair on its own lab.
    Run(Box<RunArgs>),
    /// Merge the suite directories of a sharded suite (`lab drill run … --shard K/N` on each
    /// runner) into one suite directory: one index and one junit.xml, as the unsharded suite
    /// would have written them.
    Merge(MergeArgs),
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
// out of the way (hidden) and set from the list.
#[command(mut_arg("pg_version", |a| a.long("pg-release").hide(true)))]
pub struct RunArgs {
    /// Built-in drills' names or drill files. Several (or `--all`, or several `--pg-version`)
    /// make a suite: every drill × version on its own fresh lab, `--jobs` side by side, the
    /// reports under `<runs-dir>/suite/<timestamp>/` with an index (index.md, index.html, one
    /// junit.xml) comparing the versions. A suite's labs are `<--name>-1`, `<--name>-2`, …;
    /// run i (from 0) takes the i-th /24 after `--subnet`, and the suite refuses to start if
    /// one of those networks overlaps a network of the engine or a lab exists already.
    #[arg(required_unless_present = "all", conflicts_with = "all",
          add = ArgValueCompleter::new(complete::drills_or_files))]
    pub drills: Vec<String>,
    /// Every built-in drill (a suite).
    #[arg(long)]
    pub all: bool,
    /// PostgreSQL release (9.3.25) or major (15: the newest release that can be had);
    /// comma-separated for a suite on several (`9.3.5,15`).
    #[arg(long = "pg-version", id = "pg_versions", value_name = "VERSIONS",
          value_delimiter = ',', default_value = "9.3.25", value_parser = lab::input::version)]
    pub pg_versions: Vec<PgVersion>,
    /// Run only share K of N of the suite's drill × version runs (a suite spread over N CI
    /// runners; `lab drill merge` puts their directories together). The runs are split longest
    /// first by their recorded times, so every runner must see the same `--timings`.
    #[arg(long, value_name = "K/N", value_parser = lab::input::shard)]
    pub shard: Option<Shard>,
    /// The times that balance `--shard` (a `timings.json` a suite wrote; default: the table
    /// committed in `scenarios/timings.json`).
    #[arg(long, value_name = "FILE", requires = "shard")]
    pub timings: Option<PathBuf>,
    /// Labs side by side in a suite (default: one per core, at most 4).
    #[arg(long, value_parser = lab::input::within(1u16, 16))]
    pub jobs: Option<u16>,
    /// Profile: `default` (short runs) or `seed` (the document's durations).
    #[arg(long, default_value = "default", add = ArgValueCandidates::new(complete::profiles))]
    pub profile: String,
    /// Bring up a new lab for the drill and remove it afterwards. This is the default: the flag
    /// only says so (in scripts) and refuses `--reuse` beside it.
    #[arg(long, conflicts_with = "reuse")]
    pub fresh: bool,
    /// Run on the existing lab `--name` instead of bringing up a new one (and removing it after).
    #[arg(long)]
    pub reuse: bool,
    /// Pause before each step: Enter runs it, `s` skips it, `q` stops the drill.
    #[arg(long)]
    pub step: bool,
    /// Rehearse by hand: you perform each action and state-changing command on the servers
    /// (the lab shows what to type, on which node, and how to get there with `lab shell`); on
    /// Enter the lab checks the outcome from the servers' state. A failed check says what was
    /// expected and what is there: fix it and press Enter again, or `l` lets the lab do the
    /// step, `s` skips it, `q` stops. The lab still injects the faults and runs the checks; the
    /// report records who did each step, its time, the tries and what was wrong.
    #[arg(long)]
    pub by_hand: bool,
    /// Show passwords in reports and logs (masked by default).
    #[arg(long)]
    pub show_secrets: bool,
    /// Where run directories go (`<dir>/<drill>/<timestamp>/`, with a `latest` link): a
    /// directory this user can write to, or one to be made below such a directory.
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// The lab (for a fresh one: images and layout; `--keep` leaves it up after the drill).
    #[command(flatten)]
    pub up: UpArgs,
}

/// `lab drill merge`
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' directories (each searched for the suite directories it holds, e.g. the
    /// runners' `runs/` as downloaded).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Where the merged suite directory goes (`<dir>/suite/<timestamp>/`, with `latest`).
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
}

/// `lab drill runbook`
#[derive(Debug, Args)]
pub struct RunbookArgs {
    /// A built-in drill's name or a drill file.
    #[arg(add = ArgValueCompleter::new(complete::drills_or_files))]
    pub drill: String,
    /// The PostgreSQL version to render for.
    #[arg(long, default_value = "9.3.25", value_parser = lab::input::version)]
    pub pg_version: PgVersion,
    /// Profile: `default`, or `seed` (the document's durations, and in chapter 1 its scale
    /// 10000, `pgbench -T 180` and tuning lines).
    #[arg(long, default_value = "default", add = ArgValueCandidates::new(complete::profiles))]
    pub profile: String,
    /// Leave out chapters 1 and 5 (bringing the pair up).
    #[arg(long)]
    pub without_setup: bool,
    /// Synchronous replication, as for `lab up --sync`: the steps a drill has for that mode, and
    /// no acknowledged row allowed to be lost at the ledger's check.
    #[arg(long)]
    pub sync: bool,
    /// The standby's restore_command, as for `lab up`.
    #[arg(long, value_enum, default_value = "archive")]
    pub restore_command: RestoreArg,
    /// The master's archive_command, as for `lab up`.
    #[arg(long, value_enum, default_value = "atomic")]
    pub archive_command: ArchiveArg,
    /// `text`: the procedure to read and type; `sh`: a bash script to run from an operator host
    /// that reaches both servers as root over ssh (NODE1, NODE2, RUNBOOK_SSH from the environment).
    #[arg(long, value_enum, default_value = "text")]
    pub format: FormatArg,
}

/// `lab drill runbook --format`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    /// The procedure as text.
    Text,
    /// A bash script.
    Sh,
}

impl From<FormatArg> for lab::drill::runbook::Format {
    fn from(arg: FormatArg) -> Self {
        match arg {
            FormatArg::Text => Self::Text,
            FormatArg::Sh => Self::Sh,
        }
    }
}

impl RunArgs {
    /// Whether these flags ask for a suite: several drills, `--all`, or several versions.
    pub fn is_suite(&self) -> bool {
        self.all || self.drills.len() > 1 || self.pg_versions.len() > 1 || self.shard.is_some()
    }

    /// The run these flags ask for (one drill on one version).
    pub fn config(&self) -> RunConfig {
        let mut up = self.up.config();
        up.images.version = self.pg_versions[0];
        RunConfig {
            drill: self.drills[0].clone(),
            profile: self.profile.clone(),
            reuse: self.reuse,
            step: self.step,
            by_hand: self.by_hand,
            show_secrets: self.show_secrets,
            runs_dir: self.runs_dir.clone(),
            up,
        }
    }

    /// The suite these flags ask for; `--reuse`, `--step`, `--keep` and `--publish` are for
    /// one drill on one version.
    pub fn suite(&self) -> Result<SuiteConfig> {
        for (refused, flag) in [
            (self.reuse, "--reuse"),
            (self.step, "--step"),
            (self.by_hand, "--by-hand"),
            (self.up.keep, "--keep"),
            (self.up.publish.is_some(), "--publish"),
        ] {
            if refused {
                return Err(Error::Invalid(format!(
                    "{flag} is for one drill on one version: a suite runs each drill × version \
                     on its own fresh lab"
                )));
            }
        }
        let drills = if self.all {
            lab::drill::BUILTIN
                .iter()
                .map(|(n, _)| n.to_string())
                .collect()
        } else {
            self.drills.clone()
        };
        let subnet = self.up.subnet.parse().map_err(|_| {
            Error::Invalid(format!("--subnet {}: not an IPv4 network", self.up.subnet))
        })?;
        Ok(SuiteConfig {
            drills,
            profile: self.profile.clone(),
            versions: self.pg_versions.clone(),
            jobs: self.jobs.map_or_else(suite::default_jobs, usize::from),
            name: self.up.lab.name.clone(),
            subnet,
            runs_dir: self.runs_dir.clone(),
            images: self.up.images.options(),
            run_flags: self.run_flags(),
            shard: self.shard,
            timings: self.timings.clone(),
        })
    }

    /// The flags each run of a suite gets: everything given but what the suite sets per run
    /// (drill, version, tarball, profile, name, subnet, runs directory).
    fn run_flags(&self) -> Vec<String> {
        use clap::ValueEnum;
        let (up, img, rel) = (&self.up, &self.up.images, &self.up.images.release);
        let mut f = Vec::new();
        for (on, flag) in [
            (self.show_secrets, "--show-secrets"),
            (up.sync, "--sync"),
            (up.data_checksums, "--data-checksums"),
            (rel.allow_unverified, "--allow-unverified"),
            (rel.refresh, "--refresh"),
            (img.check, "--check"),
        ] {
            if on {
                f.push(flag.to_string());
            }
        }
        let name = |v: Option<clap::builder::PossibleValue>| {
            v.map(|p| p.get_name().to_string()).unwrap_or_default()
        };
        f.extend([
            "--scale".into(),
            up.scale.to_string(),
            "--check-seconds".into(),
            up.check_seconds.to_string(),
            "--restore-command".into(),
            name(up.restore_command.to_possible_value()),
            "--archive-command".into(),
            name(up.archive_command.to_possible_value()),
            "--base".into(),
            rel.base.clone(),
            "--pg-source-site".into(),
            rel.pg_source_site.clone(),
        ]);
        let optional = [
            ("--wal-disk-size", up.wal_disk_size.map(|b| b.to_string())),
            ("--debian-mirror", rel.debian_mirror.clone()),
            ("--debian-suite", rel.debian_suite.clone()),
            (
                "--cache-dir",
                rel.cache_dir.as_ref().map(|d| d.display().to_string()),
            ),
        ];
        for (flag, value) in optional {
            if let Some(v) = value {
                f.extend([flag.to_string(), v]);
            }
        }
        f.extend(
            up.settings
                .iter()
                .map(|s| format!("--set={}={}", s.name, s.value)),
        );
        f.extend(
            img.configure_args
                .iter()
                .map(|a| format!("--configure-arg={a}")),
        );
        f
    }
}

impl RunbookArgs {
    /// The runbook these flags ask for.
    pub fn config(&self) -> RunbookConfig {
        RunbookConfig {
            drill: self.drill.clone(),
            version: self.pg_version,
            profile: self.profile.clone(),
            without_setup: self.without_setup,
            sync: self.sync,
            restore_command: self.restore_command.into(),
            archive_command: self.archive_command.into(),
            format: self.format.into(),
        }
    }
}

/// Runs a `lab drill` command.
pub async fn run(command: DrillCommand, ui: &Ui) -> Result<()> {
    match command {
        DrillCommand::List => cmd::list(),
        DrillCommand::Explain { drill } => cmd::explain(&drill),
        DrillCommand::Check { files, pg_version } => cmd::check(&files, pg_version.as_ref()),
        DrillCommand::Schema => {
            cmd::schema();
            Ok(())
        }
        DrillCommand::Runbook(args) => cmd::runbook(&args.config()),
        DrillCommand::Merge(args) => suite_merge::merge(&MergeConfig {
            dirs: args.dirs,
            runs_dir: args.runs_dir,
        })
        .map(|_| ()),
        DrillCommand::Run(args) if args.is_suite() => {
            suite::run(&args.suite()?, ui).await.map(|_| ())
        }
        DrillCommand::Run(args) => cmd::run(&args.config(), ui).await,
    }
}
