//! `lab drill …`: the flags, turned into the configs of [`lab::drill::cmd`].

use std::path::PathBuf;

use clap::{Args, Subcommand};

use lab::drill::cmd::{self, RunConfig, RunbookConfig};
use lab::error::Result;
use lab::ui::Ui;
use lab::version::PgVersion;

use super::args::{ArchiveArg, RestoreArg, UpArgs};

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
    /// Print the JSON Schema of the drill format (for taplo / Even Better TOML):
    /// `lab drill schema > drill.schema.json`.
    Schema,
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
    #[arg(long, default_value = "9.3.25", value_parser = lab::input::version)]
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

impl RunArgs {
    /// The run these flags ask for.
    pub fn config(&self) -> RunConfig {
        RunConfig {
            drill: self.drill.clone(),
            profile: self.profile.clone(),
            reuse: self.reuse,
            step: self.step,
            show_secrets: self.show_secrets,
            runs_dir: self.runs_dir.clone(),
            up: self.up.config(),
        }
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
            restore_command: self.restore_command.into(),
            archive_command: self.archive_command.into(),
        }
    }
}

/// Runs a `lab drill` command.
pub async fn run(command: DrillCommand, ui: &Ui) -> Result<()> {
    match command {
        DrillCommand::List => cmd::list(),
        DrillCommand::Check { files } => cmd::check(&files),
        DrillCommand::Schema => {
            cmd::schema();
            Ok(())
        }
        DrillCommand::Runbook(args) => cmd::runbook(&args.config()),
        DrillCommand::Run(args) => cmd::run(&args.config(), ui).await,
    }
}
