//! Command-line interface: what the user types, checked, then dispatched.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::docker::Engine;
use crate::error::{Error, Result};
use crate::image::build::{self, ImageOptions, Images};
use crate::tarball::DEFAULT_SOURCE_SITE;
use crate::ui::Ui;
use crate::version::PgVersion;

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
    Drill(crate::drill::cmd::DrillCommand),
    /// Faults of the document's failure table: list, inject, heal.
    #[command(subcommand)]
    Fault(FaultCommand),
    /// Measure image builds, `up`, drills and base backups, and print the figures.
    Bench(BenchArgs),
    /// Remove every container, network and volume of a lab, whatever its state.
    Down(NameArg),
    /// Each node's role, timeline, pg_isready code and lag; the primary's pg_stat_replication.
    Status(StatusArgs),
    /// psql on a node, as postgres (arguments after `--` go to psql).
    Psql(NodeCommand),
    /// An interactive shell on a node, as postgres.
    Shell(NodeArg),
    /// Run a command on a node as postgres: `lab exec node1 -- pg_controldata`.
    Exec(NodeCommand),
    /// The node's PostgreSQL server log (the logging collector's newest file).
    Logs(LogsArgs),
    /// The document's watch loops: pg_isready from every node to itself and to its peer.
    Monitor(MonitorArgs),
    /// Print the shell completion script: `lab completions bash > /etc/bash_completion.d/lab`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `lab man > /usr/local/share/man/man1/lab.1`.
    Man,
    /// Check what this machine needs (engine, root, debootstrap, disk, mirror, tarballs), one
    /// line each with what to fix; exit 3 if something must be fixed.
    Doctor(ImageArgs),
}

/// `lab bench`
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Image options (the version measured).
    #[command(flatten)]
    pub images: ImageArgs,
    /// Remove the lab's images first: measure a cold build against a bare compile.
    #[arg(long)]
    pub cold: bool,
    /// Run every built-in drill.
    #[arg(long)]
    pub drills: bool,
    /// Measure at scales 10 and 100: `up`, base backup throughput against a plain copy, and
    /// the two documented drills.
    #[arg(long)]
    pub scale: bool,
    /// What each failure of the table costs (RPO, RTO phases), asynchronous and synchronous,
    /// at scale 1 (and 100 with --scale).
    #[arg(long)]
    pub failures: bool,
    /// Only `lab drill check` on the worst 1 MiB drill files: time and peak memory (no
    /// engine needed).
    #[arg(long)]
    pub check_input: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `lab fault …`
#[derive(Debug, Subcommand)]
pub enum FaultCommand {
    /// The fault catalogue, by row of the document's failure table.
    List,
    /// Inject a fault into a node.
    Inject(FaultArgs),
    /// Heal a fault (where it has a heal).
    Heal(FaultArgs),
}

/// A fault and a node.
#[derive(Debug, Args)]
pub struct FaultArgs {
    /// Which lab.
    #[command(flatten)]
    pub lab: NameArg,
    /// The fault (see `lab fault list`).
    #[arg(value_parser = crate::input::fault)]
    pub fault: String,
    /// The node.
    #[arg(long, value_parser = crate::input::node)]
    pub node: String,
}

/// `--name`
#[derive(Debug, Clone, Args)]
pub struct NameArg {
    /// The lab's name (several labs can run side by side).
    #[arg(long, default_value = "lab", value_parser = crate::input::lab_name)]
    pub name: String,
}

/// `lab status`
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Which lab.
    #[command(flatten)]
    pub lab: NameArg,
    /// Print JSON (stable: fields are only added).
    #[arg(long)]
    pub json: bool,
}

/// A node of a lab.
#[derive(Debug, Args)]
pub struct NodeArg {
    /// Which lab.
    #[command(flatten)]
    pub lab: NameArg,
    /// The node (node1, node2).
    #[arg(value_parser = crate::input::node)]
    pub node: String,
}

/// A node and a command line.
#[derive(Debug, Args)]
pub struct NodeCommand {
    /// Which lab.
    #[command(flatten)]
    pub lab: NameArg,
    /// The node (node1, node2).
    #[arg(value_parser = crate::input::node)]
    pub node: String,
    /// The arguments.
    #[arg(last = true)]
    pub args: Vec<String>,
}

/// `lab logs`
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The node.
    #[command(flatten)]
    pub node: NodeArg,
    /// Keep printing as the log grows.
    #[arg(long, short)]
    pub follow: bool,
}

/// `lab monitor`
#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// Which lab.
    #[command(flatten)]
    pub lab: NameArg,
    /// Seconds between rounds (the document used 10).
    #[arg(long, default_value = "10", value_parser = crate::input::interval)]
    pub interval: std::time::Duration,
    /// Stop after this many rounds (default: until Ctrl-C).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
}

/// `lab images …`
#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// Build the base, build and node images (a cache hit when nothing changed).
    Build(ImageArgs),
    /// List the lab's images.
    List,
    /// Remove all of the lab's images.
    Rm,
    /// Write a version's three images (base, build, node) to one zstd-compressed archive.
    Save(SaveArgs),
    /// Load images written by `lab images save`, with their content tags (`up` then builds
    /// nothing).
    Load {
        /// The archive.
        file: PathBuf,
    },
}

/// `lab images save`
#[derive(Debug, Clone, Args)]
pub struct SaveArgs {
    /// Releases or majors to save (comma-separated or repeated; a major saves its newest release
    /// present). Default: every release whose three images are present.
    #[arg(long, value_delimiter = ',', value_parser = crate::input::version)]
    pub pg_version: Vec<PgVersion>,
    /// The archive to write (zstd-compressed `docker save` tar, e.g. pglab-15.tar.zst).
    #[arg(long, short, value_name = "FILE")]
    pub output: PathBuf,
}

/// Options that choose and build the images.
#[derive(Debug, Clone, Args)]
pub struct ImageArgs {
    /// PostgreSQL release (9.3.25) or major (15: the newest release that can be had).
    #[arg(long, default_value = "9.3.25", value_parser = crate::input::version)]
    pub pg_version: PgVersion,
    /// Use this source tarball instead of looking for one.
    #[arg(long, value_name = "PATH", value_parser = crate::input::tarball)]
    pub pg_tarball: Option<PathBuf>,
    /// Base OS: `debian` (debootstrap on this host, no registry needed) or a registry image
    /// such as rockylinux:9 or almalinux:9.
    #[arg(long, default_value = "debian")]
    pub base: String,
    /// Debian mirror for debootstrap and source tarballs (default: the host's apt sources).
    #[arg(long, env = "LAB_DEBIAN_MIRROR", value_name = "URL")]
    pub debian_mirror: Option<String>,
    /// Debian suite to bootstrap (default: the host's release).
    #[arg(long, env = "LAB_DEBIAN_SUITE")]
    pub debian_suite: Option<String>,
    /// The PostgreSQL project's source directory.
    #[arg(long, env = "LAB_PG_SOURCE_SITE", default_value = DEFAULT_SOURCE_SITE, value_name = "URL")]
    pub pg_source_site: String,
    /// Use a tarball that no checksum source vouches for.
    #[arg(long)]
    pub allow_unverified: bool,
    /// For a major version: look for a newer release even if one is cached.
    #[arg(long)]
    pub refresh: bool,
    /// Extra ./configure argument (repeatable), e.g. --configure-arg=--with-openssl.
    #[arg(long = "configure-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub configure_args: Vec<String>,
    /// Run PostgreSQL's regression suite (make check) in the build layer; a failure shows the
    /// regression diffs and leaves the image untagged. A build layer built without it is
    /// built again.
    #[arg(long)]
    pub check: bool,
    /// Stream the image build's log (it always goes to the log file in the cache directory);
    /// without it a compile shows a progress bar.
    #[arg(long)]
    pub verbose: bool,
    /// Where tarballs, logs and bootstrap work go.
    #[arg(long, env = "LAB_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// `lab up`
#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// Image options.
    #[command(flatten)]
    pub images: ImageArgs,
    /// Which lab.
    #[command(flatten)]
    pub lab: NameArg,
    /// The lab network (node1 gets .101, node2 .102, as in the document).
    #[arg(long, default_value = "172.16.3.0/24", value_parser = crate::input::subnet)]
    pub subnet: String,
    /// pgbench scale of the initial data (the document used 10000, about 150 GB).
    #[arg(long, default_value = "1", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub scale: u32,
    /// Seconds of the check run `pgbench -T` (the document used 180).
    #[arg(long, default_value = "3", value_parser = clap::value_parser!(u32).range(1..=86_400))]
    pub check_seconds: u32,
    /// Synchronous replication (synchronous_standby_names).
    #[arg(long)]
    pub sync: bool,
    /// The standby's restore_command: `archive` (scp from the peer's archive, works) or
    /// `literal` (the document's `scp /disk2/pg_xlog/%f ...`, a local copy that never reaches
    /// the master's archive).
    #[arg(long, value_enum, default_value = "archive")]
    pub restore_command: RestoreArg,
    /// The master's archive_command: `atomic` (copy under a temporary name, then rename) or
    /// `literal` (the document's `test ! -f ... && cp %p ...`, which a master dying mid-copy
    /// leaves torn in the archive).
    #[arg(long, value_enum, default_value = "atomic")]
    pub archive_command: ArchiveArg,
    /// Publish node1's 5432 on 127.0.0.1:PORT and node2's on PORT+1.
    #[arg(long, value_name = "PORT", value_parser = crate::input::publish)]
    pub publish: Option<u16>,
    /// Leave whatever was created in place when a step fails or `up` is interrupted.
    #[arg(long)]
    pub keep: bool,
    /// Make each node's WAL disk (/disk2) a size-limited tmpfs (e.g. 256m), so that the
    /// `wal-full` fault can fill it.
    #[arg(long, value_parser = crate::scenario::parse_wal_disk_size, value_name = "SIZE")]
    pub wal_disk_size: Option<i64>,
}

/// `--archive-command`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ArchiveArg {
    /// A segment already archived is accepted if identical (`cmp -s`), refused if different;
    /// a new one is copied under a temporary name and renamed: whole segments or none.
    Atomic,
    /// The document's line exactly.
    Literal,
}

/// `--restore-command`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RestoreArg {
    /// `scp <peer>:/disk3/archive/%f "%p"`: fetches from the master's archive.
    Archive,
    /// The document's line exactly.
    Literal,
}

impl From<ArchiveArg> for crate::pg::ArchiveCommand {
    fn from(arg: ArchiveArg) -> Self {
        match arg {
            ArchiveArg::Atomic => Self::Atomic,
            ArchiveArg::Literal => Self::Literal,
        }
    }
}

impl From<RestoreArg> for crate::pg::RestoreCommand {
    fn from(arg: RestoreArg) -> Self {
        match arg {
            RestoreArg::Archive => Self::Archive,
            RestoreArg::Literal => Self::Literal,
        }
    }
}

/// The cache directory: `--cache-dir`, `$LAB_CACHE_DIR`, `$XDG_CACHE_HOME/pglab` or
/// `~/.cache/pglab`.
pub fn cache_dir(given: Option<&PathBuf>) -> PathBuf {
    if let Some(dir) = given {
        return dir.clone();
    }
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("pglab");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/tmp".into());
    home.join(".cache").join("pglab")
}

impl ImageArgs {
    /// The image options these arguments ask for.
    pub fn options(&self) -> ImageOptions {
        ImageOptions {
            version: self.pg_version,
            tarball: self.pg_tarball.clone(),
            base: self.base.clone(),
            debian_mirror: self.debian_mirror.clone(),
            debian_suite: self.debian_suite.clone(),
            cache_dir: cache_dir(self.cache_dir.as_ref()),
            source_site: self.pg_source_site.trim_end_matches('/').to_string(),
            allow_unverified: self.allow_unverified,
            refresh: self.refresh,
            configure_args: self.configure_args.clone(),
            check: self.check,
            verbose: self.verbose,
        }
    }
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    let ui = Ui::new();
    match cli.command {
        Command::Images(ImagesCommand::Build(args)) => {
            let images = build_images(&args, &ui).await?;
            print_images(&images);
            Ok(())
        }
        Command::Images(ImagesCommand::List) => crate::image::list(&Engine::connect().await?)
            .await
            .map(|table| println!("{table}"))
            .map_err(Error::from),
        Command::Images(ImagesCommand::Rm) => {
            let removed = crate::image::remove_all(&Engine::connect().await?).await?;
            println!("removed {removed} image(s)");
            Ok(())
        }
        Command::Images(ImagesCommand::Save(args)) => crate::commands::images_save(&args).await,
        Command::Images(ImagesCommand::Load { file }) => crate::commands::images_load(&file).await,
        Command::Up(args) => crate::commands::up(args, &ui).await,
        Command::Drill(cmd) => crate::drill::cmd::run(cmd, &ui).await,
        Command::Fault(FaultCommand::List) => {
            crate::commands::fault_list();
            Ok(())
        }
        Command::Fault(FaultCommand::Inject(a)) => {
            crate::commands::fault(&a.lab.name, &a.node, &a.fault, false).await
        }
        Command::Fault(FaultCommand::Heal(a)) => {
            crate::commands::fault(&a.lab.name, &a.node, &a.fault, true).await
        }
        Command::Bench(args) => {
            let opts = crate::bench::BenchOptions {
                images: args.images.clone(),
                cold: args.cold,
                drills: args.drills,
                scale: args.scale,
                failures: args.failures,
                check_input: args.check_input,
            };
            let measured = crate::bench::run(&opts, &ui).await?;
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&measured).expect("figures serialise")
                );
            } else {
                println!("{}", crate::bench::render(&measured));
            }
            Ok(())
        }
        Command::Down(args) => crate::commands::down(&args.name).await,
        Command::Status(args) => crate::commands::status(&args.lab.name, args.json).await,
        Command::Psql(args) => crate::commands::psql(&args.lab.name, &args.node, &args.args).await,
        Command::Shell(args) => crate::commands::shell(&args.lab.name, &args.node).await,
        Command::Exec(args) => crate::commands::exec(&args.lab.name, &args.node, &args.args).await,
        Command::Logs(args) => {
            crate::commands::logs(&args.node.lab.name, &args.node.node, args.follow).await
        }
        Command::Monitor(args) => {
            crate::commands::monitor(&args.lab.name, args.interval, args.count).await
        }
        Command::Completions { shell } => {
            crate::manual::completions(shell, &mut std::io::stdout());
            Ok(())
        }
        Command::Doctor(args) => crate::doctor::run(&args).await,
        Command::Man => crate::manual::man(&mut std::io::stdout())
            .map_err(|e| Error::Lab(format!("writing the man page: {e}"))),
    }
}

/// Builds (or finds) the images the arguments ask for.
pub async fn build_images(args: &ImageArgs, ui: &Ui) -> Result<Images> {
    if let Some(path) = &args.pg_tarball {
        if !path.is_file() {
            return Err(Error::Invalid(format!(
                "--pg-tarball {}: no such file",
                path.display()
            )));
        }
    }
    let engine = Engine::connect().await?;
    Ok(build::ensure(&engine, &args.options(), ui).await?)
}

/// Prints the images table.
pub fn print_images(images: &Images) {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(["layer", "image", "", "took", "size"]);
    for l in &images.layers {
        table.add_row([
            l.layer.to_string(),
            l.tag.clone(),
            if l.cached { "cached" } else { "built" }.to_string(),
            format!("{:.1}s", l.took.as_secs_f64()),
            l.size
                .map(|s| format!("{} MiB", s >> 20))
                .unwrap_or_default(),
        ]);
    }
    println!("PostgreSQL {}\n{table}", images.version);
}
