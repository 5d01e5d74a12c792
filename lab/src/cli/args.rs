//! The flags shared by several commands, and how they become the library's configs.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use clap_complete::ArgValueCandidates;

use lab::commands::{NodeConfig, UpConfig};
use lab::image::build::{cache_dir, ImageOptions};
use lab::pg::Topology;
use lab::tarball::DEFAULT_SOURCE_SITE;
use lab::version::PgVersion;

use super::complete;

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
    #[arg(value_parser = lab::input::fault, add = ArgValueCandidates::new(complete::faults))]
    pub fault: lab::fault::Fault,
    /// The node.
    #[arg(long, value_parser = lab::input::node, add = ArgValueCandidates::new(complete::nodes))]
    pub node: lab::node::NodeId,
}

/// `--name`
#[derive(Debug, Clone, Args)]
pub struct NameArg {
    /// The lab's name (several labs can run side by side).
    #[arg(long, default_value = "lab", value_parser = lab::input::lab_name)]
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
    #[arg(value_parser = lab::input::node, add = ArgValueCandidates::new(complete::nodes))]
    pub node: lab::node::NodeId,
}

/// A node and a command line.
#[derive(Debug, Args)]
pub struct NodeCommand {
    /// Which lab.
    #[command(flatten)]
    pub lab: NameArg,
    /// The node (node1, node2).
    #[arg(value_parser = lab::input::node, add = ArgValueCandidates::new(complete::nodes))]
    pub node: lab::node::NodeId,
    /// The arguments.
    #[arg(last = true)]
    pub args: Vec<String>,
}

/// `lab shell`
#[derive(Debug, Args)]
pub struct ShellArgs {
    /// The node.
    #[command(flatten)]
    pub node: NodeArg,
    /// Be root instead of postgres (for the `#` steps of a runbook or a hands-on rehearsal).
    #[arg(long)]
    pub root: bool,
}

/// `lab exec`
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The node and the command.
    #[command(flatten)]
    pub command: NodeCommand,
    /// Run it as root instead of postgres (for the `#` steps of a runbook).
    #[arg(long)]
    pub root: bool,
}

/// Who a `--root` flag makes the user.
fn user(root: bool) -> lab::plan::User {
    if root {
        lab::plan::User::Root
    } else {
        lab::plan::User::Postgres
    }
}

impl ShellArgs {
    /// The node and user these flags name.
    pub fn config(&self) -> NodeConfig {
        NodeConfig {
            user: user(self.root),
            ..self.node.config()
        }
    }
}

impl ExecArgs {
    /// The node and user these flags name.
    pub fn config(&self) -> NodeConfig {
        NodeConfig {
            user: user(self.root),
            ..self.command.config()
        }
    }
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
    #[arg(long, default_value = "10", value_parser = lab::input::interval)]
    pub interval: std::time::Duration,
    /// Stop after this many rounds (default: until Ctrl-C).
    #[arg(long, value_parser = lab::input::within(1u64, u64::from(u32::MAX)))]
    pub count: Option<u64>,
}

/// `lab images …`
#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// Build the base, build and node images (a cache hit when nothing changed).
    Build(ImageArgs),
    /// List the lab's images.
    List,
    /// Remove the lab's images: all of them, or one release's or major's.
    Rm(RmArgs),
    /// Write a version's three images (base, build, node) to one zstd-compressed archive.
    Save(SaveArgs),
    /// Load images written by `lab images save`, with their content tags (`up` then builds
    /// nothing).
    Load {
        /// The archive (a regular file).
        #[arg(value_parser = lab::input::archive)]
        file: PathBuf,
    },
}

/// `lab images rm`
#[derive(Debug, Clone, Args)]
pub struct RmArgs {
    /// Only this release's (9.3.5) or major's (15: every release of it) build and node images;
    /// without it, every image of the lab goes, the base images too.
    #[arg(long, value_parser = lab::input::version)]
    pub pg_version: Option<PgVersion>,
    /// With --pg-version: also remove the base images that only that version's node images
    /// were made on (a base another release's node image uses stays).
    #[arg(long, requires = "pg_version")]
    pub with_base: bool,
}

impl RmArgs {
    /// What these flags ask `lab images rm` to remove.
    pub fn config(&self) -> lab::commands::RmConfig {
        lab::commands::RmConfig {
            version: self.pg_version,
            with_base: self.with_base,
        }
    }
}

/// `lab images save`
#[derive(Debug, Clone, Args)]
pub struct SaveArgs {
    /// Releases or majors to save (comma-separated or repeated; a major saves its newest release
    /// present). Default: every release whose three images are present.
    #[arg(long, value_delimiter = ',', value_parser = lab::input::version)]
    pub pg_version: Vec<PgVersion>,
    /// The archive to write (zstd-compressed `docker save` tar, e.g. pglab-15.tar.zst).
    #[arg(long, short, value_name = "FILE")]
    pub output: PathBuf,
}

/// The options that choose the release, its tarball and the base: `lab doctor`'s flags, and
/// part of every command that builds images.
#[derive(Debug, Clone, Args)]
pub struct ReleaseArgs {
    /// PostgreSQL release (9.3.25) or major (15: the newest release that can be had).
    #[arg(long, default_value = "9.3.25", value_parser = lab::input::version)]
    pub pg_version: PgVersion,
    /// Use this source tarball instead of looking for one.
    #[arg(long, value_name = "PATH", value_parser = lab::input::tarball)]
    pub pg_tarball: Option<PathBuf>,
    /// Base OS: `debian` (debootstrap on this host, no registry needed) or a registry image
    /// such as rockylinux:9 or almalinux:9.
    #[arg(long, default_value = "debian", value_parser = lab::input::base)]
    pub base: String,
    /// Debian mirror for debootstrap and source tarballs (default: the host's apt sources): an
    /// http, https or file URL; an empty LAB_DEBIAN_MIRROR counts as not set.
    #[arg(long, env = "LAB_DEBIAN_MIRROR", value_name = "URL", value_parser = lab::input::debian_mirror)]
    pub debian_mirror: Option<String>,
    /// Debian suite to bootstrap (default: the host's release): a plain name such as bookworm.
    #[arg(long, env = "LAB_DEBIAN_SUITE", value_parser = lab::input::debian_suite)]
    pub debian_suite: Option<String>,
    /// The PostgreSQL project's source directory (an http, https or file URL).
    #[arg(long, env = "LAB_PG_SOURCE_SITE", default_value = DEFAULT_SOURCE_SITE, value_name = "URL",
          value_parser = lab::input::pg_source_site)]
    pub pg_source_site: String,
    /// Use a tarball that no checksum source vouches for.
    #[arg(long)]
    pub allow_unverified: bool,
    /// For a major version: look for a newer release even if one is cached.
    #[arg(long)]
    pub refresh: bool,
    /// Where tarballs, logs and bootstrap work go: a directory this user can write to, or one
    /// to be made below such a directory.
    #[arg(long, env = "LAB_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// Options that choose and build the images.
#[derive(Debug, Clone, Args)]
pub struct ImageArgs {
    /// The release, its tarball and the base.
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// Extra ./configure argument (repeatable), e.g. --configure-arg=--with-openssl.
    #[arg(long = "configure-arg", value_name = "ARG", allow_hyphen_values = true,
          value_parser = lab::input::configure_arg)]
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
    #[arg(long, default_value_t = Topology::default().subnet, value_parser = lab::input::subnet)]
    pub subnet: String,
    /// pgbench scale of the initial data (the document used 10000, about 150 GB).
    #[arg(long, default_value_t = Topology::default().scale, value_parser = lab::input::within(1u32, 100_000))]
    pub scale: u32,
    /// Seconds of the check run `pgbench -T` (the document used 180; a second is enough to
    /// see the slave replay the master's writes).
    #[arg(long, default_value_t = Topology::default().check_seconds, value_parser = lab::input::within(1u32, 86_400))]
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
    #[arg(long, value_name = "PORT", value_parser = lab::input::publish)]
    pub publish: Option<u16>,
    /// Leave the lab in place: `lab up` keeps what it made when a step fails or it is
    /// interrupted; `lab drill run` keeps its fresh lab after the drill, passed or failed, to
    /// look around in (`lab down --name NAME` removes it).
    #[arg(long)]
    pub keep: bool,
    /// Make each node's WAL disk (/disk2) a size-limited tmpfs (e.g. 256m), so that the
    /// `wal-full` fault can fill it.
    #[arg(long, value_parser = lab::scenario::parse_wal_disk_size, value_name = "SIZE")]
    pub wal_disk_size: Option<i64>,
    /// A server setting on both servers from chapter 1 (repeatable), written to the master's
    /// postgresql.conf before its first start; the slave gets it with its base backup. E.g.
    /// `--set max_prepared_transactions=10`. Refused: a setting this PostgreSQL version lacks,
    /// and those the lab sets itself (port, wal_level, archive_command, logging, …).
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = lab::input::setting)]
    pub settings: Vec<lab::pg::Setting>,
    /// Data page checksums (`initdb -k`).
    #[arg(long)]
    pub data_checksums: bool,
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

impl From<ArchiveArg> for lab::pg::ArchiveCommand {
    fn from(arg: ArchiveArg) -> Self {
        match arg {
            ArchiveArg::Atomic => Self::Atomic,
            ArchiveArg::Literal => Self::Literal,
        }
    }
}

impl From<RestoreArg> for lab::pg::RestoreCommand {
    fn from(arg: RestoreArg) -> Self {
        match arg {
            RestoreArg::Archive => Self::Archive,
            RestoreArg::Literal => Self::Literal,
        }
    }
}

impl ReleaseArgs {
    /// The image options these arguments ask for (no `./configure` argument, no regression
    /// suite, a quiet build: what `lab doctor` checks needs none of them).
    pub fn options(&self) -> ImageOptions {
        ImageOptions {
            version: self.pg_version,
            tarball: self.pg_tarball.clone(),
            base: self.base.clone(),
            debian_mirror: self.debian_mirror.clone(),
            debian_suite: self.debian_suite.clone(),
            cache_dir: cache_dir(self.cache_dir.as_deref()),
            source_site: self.pg_source_site.trim_end_matches('/').to_string(),
            allow_unverified: self.allow_unverified,
            refresh: self.refresh,
            configure_args: Vec::new(),
            check: false,
            verbose: false,
        }
    }
}

impl ImageArgs {
    /// The image options these arguments ask for.
    pub fn options(&self) -> ImageOptions {
        ImageOptions {
            configure_args: self.configure_args.clone(),
            check: self.check,
            verbose: self.verbose,
            ..self.release.options()
        }
    }
}

impl UpArgs {
    /// The `lab up` config these flags ask for.
    pub fn config(&self) -> UpConfig {
        UpConfig {
            images: self.images.options(),
            name: self.lab.name.clone(),
            subnet: self.subnet.clone(),
            scale: self.scale,
            check_seconds: self.check_seconds,
            sync: self.sync,
            restore_command: self.restore_command.into(),
            archive_command: self.archive_command.into(),
            publish: self.publish,
            keep: self.keep,
            wal_disk_size: self.wal_disk_size,
            settings: self.settings.clone(),
            data_checksums: self.data_checksums,
        }
    }
}

impl NodeArg {
    /// The node these flags name.
    pub fn config(&self) -> NodeConfig {
        NodeConfig {
            name: self.lab.name.clone(),
            node: self.node,
            user: lab::plan::User::Postgres,
        }
    }
}

impl NodeCommand {
    /// The node these flags name.
    pub fn config(&self) -> NodeConfig {
        NodeConfig {
            name: self.lab.name.clone(),
            node: self.node,
            user: lab::plan::User::Postgres,
        }
    }
}

impl FaultArgs {
    /// The node these flags name.
    pub fn config(&self) -> NodeConfig {
        NodeConfig {
            name: self.lab.name.clone(),
            node: self.node,
            user: lab::plan::User::Postgres,
        }
    }
}

impl BenchArgs {
    /// What these flags ask `lab bench` to measure.
    pub fn config(&self) -> lab::bench::BenchConfig {
        lab::bench::BenchConfig {
            images: self.images.options(),
            cold: self.cold,
            drills: self.drills,
            scale: self.scale,
            failures: self.failures,
            check_input: self.check_input,
            json: self.json,
        }
    }
}
