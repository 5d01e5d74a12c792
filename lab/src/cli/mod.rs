//! The command line (binary only): what the user types, parsed and checked by clap, turned
//! into the library's configs and dispatched to its commands. No clap type reaches the library.

pub mod args;
pub mod complete;
pub mod drill;
pub mod manual;

use clap::{Parser, Subcommand};

use lab::commands::{self, MonitorConfig, NodeExit, SaveConfig};
use lab::error::Result;
use lab::ui::Ui;

pub use args::*;

/// A container lab for rehearsing PostgreSQL streaming-replication failures and recoveries.
#[derive(Debug, Parser)]
#[command(name = "lab", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// PostgreSQL images built from the upstream source tarball.
    #[command(subcommand)]
    Images(ImagesCommand),
    /// Build the images if missing and bring up the document's master/slave pair.
    Up(UpArgs),
    /// Drills: the document's procedures, performed and checked.
    #[command(subcommand)]
    Drill(drill::DrillCommand),
    /// Faults of the document's failure table: list, inject, heal.
    #[command(subcommand)]
    Fault(FaultCommand),
    /// Measure image builds, `up`, drills and base backups, and print the figures.
    Bench(BenchArgs),
    /// Remove every container, network and volume of a lab, whatever its state.
    Down(NameArg),
    /// Each node's role, timeline, pg_isready code and replay lag (bytes behind the primary,
    /// and seconds since the last replayed commit); the primary's pg_stat_replication.
    Status(StatusArgs),
    /// psql on a node, as postgres (arguments after `--` go to psql).
    Psql(NodeCommand),
    /// An interactive shell on a node, as postgres (`--root`: as root).
    Shell(ShellArgs),
    /// Run a command on a node as postgres (`--root`: as root): `lab exec node1 -- pg_controldata`.
    Exec(ExecArgs),
    /// The node's PostgreSQL server log (the logging collector's newest file).
    Logs(LogsArgs),
    /// The document's watch loops: pg_isready from every node to itself and to its peer; then
    /// each standby's replay lag (bytes behind the primary, seconds since its last replayed commit).
    Monitor(MonitorArgs),
    /// Print a static shell completion script (subcommands and flags): `lab completions bash >
    /// /etc/bash_completion.d/lab`. For nodes, drills, faults and profiles too, source the
    /// dynamic form instead: `source <(COMPLETE=bash lab)` in ~/.bashrc (`COMPLETE=zsh`,
    /// `fish`, `elvish`, `powershell` alike).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `lab man > /usr/local/share/man/man1/lab.1`; or, with
    /// `--dir`, write lab.1 and one page per subcommand (lab-drill-run.1, …) there.
    Man {
        /// Write lab.1 and a page per subcommand into this directory (made if missing).
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
    },
    /// Check what this machine needs (engine, root, debootstrap, disk, mirror, tarballs, the
    /// release `up` would build), one line each with what to fix; exit 3 if something must be
    /// fixed.
    Doctor(ReleaseArgs),
}

/// Runs a parsed command line; `Ok` holds the exit code (0, or a node command's own).
pub async fn run(cli: Cli) -> Result<NodeExit> {
    let ui = Ui::new();
    match cli.command {
        Command::Images(cmd) => images(cmd, &ui).await.map(|()| 0),
        Command::Up(args) => commands::up(&args.config(), &ui).await.map(|()| 0),
        Command::Drill(cmd) => drill::run(cmd, &ui).await.map(|()| 0),
        Command::Fault(FaultCommand::List) => {
            commands::fault_list();
            Ok(0)
        }
        Command::Fault(FaultCommand::Inject(a)) => commands::fault(&a.config(), a.fault, false)
            .await
            .map(|()| 0),
        Command::Fault(FaultCommand::Heal(a)) => commands::fault(&a.config(), a.fault, true)
            .await
            .map(|()| 0),
        Command::Bench(args) => lab::bench::command(&args.config(), &ui).await.map(|()| 0),
        Command::Down(args) => commands::down(&args.name).await.map(|()| 0),
        Command::Status(args) => commands::status(&args.lab.name, args.json)
            .await
            .map(|()| 0),
        Command::Psql(args) => commands::psql(&args.config(), &args.args).await,
        Command::Shell(args) => commands::shell(&args.config()).await,
        Command::Exec(args) => commands::exec(&args.config(), &args.command.args).await,
        Command::Logs(args) => commands::logs(&args.node.config(), args.follow).await,
        Command::Monitor(args) => {
            let cfg = MonitorConfig {
                name: args.lab.name,
                interval: args.interval,
                count: args.count,
            };
            commands::monitor(&cfg).await.map(|()| 0)
        }
        Command::Completions { shell } => {
            manual::completions(shell, &mut std::io::stdout());
            Ok(0)
        }
        Command::Doctor(args) => lab::doctor::run(&args.options()).await.map(|()| 0),
        Command::Man { dir: None } => manual::man(&mut std::io::stdout())
            .map(|()| 0)
            .map_err(|e| lab::error::Error::Lab(format!("writing the man page: {e}"))),
        Command::Man { dir: Some(dir) } => match manual::man_dir(&dir) {
            Ok(pages) => {
                println!("{} pages written to {}", pages.len(), dir.display());
                Ok(0)
            }
            Err(e) => Err(lab::error::Error::Invalid(format!(
                "--dir {}: cannot write the man pages there: {e}",
                lab::text::shorten(&dir.display().to_string(), 200)
            ))),
        },
    }
}

/// `lab images …`.
async fn images(cmd: ImagesCommand, ui: &Ui) -> Result<()> {
    match cmd {
        ImagesCommand::Build(args) => commands::images_build(&args.options(), ui).await,
        ImagesCommand::List => commands::images_list().await,
        ImagesCommand::Rm(args) => commands::images_rm(&args.config()).await,
        ImagesCommand::Save(args) => {
            let cfg = SaveConfig {
                versions: args.pg_version,
                output: args.output,
            };
            commands::images_save(&cfg).await
        }
        ImagesCommand::Load { file } => commands::images_load(&file).await,
    }
}
