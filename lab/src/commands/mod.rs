//! The lab commands (`up`, `down`, `status`, `psql`, `shell`, `exec`, `logs`, `monitor`):
//! each one resolves its arguments, talks to the cluster module and prints.

pub mod drill;
pub mod suite;
pub mod suite_merge;

use std::io::IsTerminal;
use std::time::Duration;

use std::path::PathBuf;

use crate::cluster::{self, status, up, Lab, LabLayout};
use crate::docker::{Engine, EngineKind};
use crate::error::{Error, Result};
use crate::image::build::{self, ImageOptions, Images};
use crate::node::NodeId;
use crate::pg::{ArchiveCommand, Dialect, RestoreCommand, Topology};
use crate::plan::User;
use crate::ui::Ui;
use crate::version::PgVersion;

/// What `lab up` brings up: its flags, as the binary parsed them.
#[derive(Debug, Clone)]
pub struct UpConfig {
    /// The images (`--pg-version`, `--base`, …).
    pub images: ImageOptions,
    /// `--name`: the lab's name.
    pub name: String,
    /// `--subnet`: the lab network (node1 gets .101, node2 .102).
    pub subnet: String,
    /// `--scale`: pgbench scale of the initial data.
    pub scale: u32,
    /// `--check-seconds`: seconds of the check run.
    pub check_seconds: u32,
    /// `--sync`: synchronous replication.
    pub sync: bool,
    /// `--restore-command`.
    pub restore_command: RestoreCommand,
    /// `--archive-command`.
    pub archive_command: ArchiveCommand,
    /// `--publish`: node1's 5432 on 127.0.0.1:PORT, node2's on PORT+1.
    pub publish: Option<u16>,
    /// `--keep`: leave what was created when a step fails or `up` is interrupted.
    pub keep: bool,
    /// `--wal-disk-size`: each node's /disk2 a tmpfs of this many bytes.
    pub wal_disk_size: Option<i64>,
    /// `--set NAME=VALUE`: server settings on both servers from chapter 1.
    pub settings: Vec<crate::pg::Setting>,
    /// `--data-checksums`: `initdb -k`.
    pub data_checksums: bool,
}

/// A node of a lab (`lab shell`, `lab logs`, `lab psql`, `lab exec`, `lab fault`).
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The lab's name.
    pub name: String,
    /// The node.
    pub node: NodeId,
    /// Who `lab shell` and `lab exec` are on the node: postgres, or root (`--root`).
    pub user: User,
}

/// `lab images save`.
#[derive(Debug, Clone)]
pub struct SaveConfig {
    /// Releases or majors to save (none: every complete set present).
    pub versions: Vec<PgVersion>,
    /// The archive to write.
    pub output: PathBuf,
}

/// `lab monitor`.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    /// The lab's name.
    pub name: String,
    /// Time between rounds.
    pub interval: Duration,
    /// Stop after this many rounds (`None`: until Ctrl-C).
    pub count: Option<u64>,
}

/// The exit code of a command that ran on a node (`lab exec`, `lab psql`, `lab shell`,
/// `lab logs -f`): the binary exits with it.
pub type NodeExit = i32;

/// Builds (or finds) the images `opts` ask for.
pub async fn build_images(opts: &ImageOptions, ui: &Ui) -> Result<Images> {
    crate::input::config::images(opts)?;
    if let Some(path) = &opts.tarball {
        crate::input::tarball(&path.to_string_lossy())?;
    }
    let engine = Engine::connect().await?;
    Ok(build::ensure(&engine, opts, ui).await?)
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

/// `lab images build`.
pub async fn images_build(opts: &ImageOptions, ui: &Ui) -> Result<()> {
    let images = build_images(opts, ui).await?;
    print_images(&images);
    Ok(())
}

/// `lab images list`.
pub async fn images_list() -> Result<()> {
    let table = crate::image::list(&Engine::connect().await?).await?;
    println!("{table}");
    Ok(())
}

/// What `lab images rm` removes.
#[derive(Debug, Clone, Default)]
pub struct RmConfig {
    /// `--pg-version`: only this release's (or major's) build and node images; `None`: every
    /// image of the lab.
    pub version: Option<PgVersion>,
    /// `--with-base`: also the base images only those images were made on.
    pub with_base: bool,
}

/// `lab images rm`.
pub async fn images_rm(cfg: &RmConfig) -> Result<()> {
    let engine = Engine::connect().await?;
    let Some(version) = &cfg.version else {
        let removed = crate::image::remove_all(&engine).await?;
        println!("removed {removed} image(s)");
        return Ok(());
    };
    let stored = crate::image::archive::stored(&engine).await?;
    let tags = crate::image::to_remove(&stored, version, cfg.with_base)
        .map_err(|e| Error::Invalid(format!("--pg-version {version}: {e}")))?;
    crate::image::remove_tags(&engine, &tags).await?;
    for tag in &tags {
        println!("removed {tag}");
    }
    println!(
        "removed {} image tag(s) of PostgreSQL {version}",
        tags.len()
    );
    Ok(())
}

/// Listens for SIGINT and SIGTERM from the moment it is made: a signal that arrives while
/// nobody awaits it is kept, and the next [`Shutdown::recv`] returns at once.
pub struct Shutdown {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Shutdown {
    /// Starts listening.
    pub fn new() -> Shutdown {
        use tokio::signal::unix::{signal, SignalKind};
        Shutdown {
            int: signal(SignalKind::interrupt()).expect("a SIGINT handler"),
            term: signal(SignalKind::terminate()).expect("a SIGTERM handler"),
        }
    }

    /// Resolves with the signal's name when one has arrived.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
        }
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM) from now on.
pub async fn shutdown_signal() -> &'static str {
    Shutdown::new().recv().await
}

/// A random password for the controller's role.
fn random_password() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    hex::encode(bytes)
}

/// The topology `up` builds: the document's, in the chosen subnet.
pub fn topology(args: &UpConfig) -> Result<Topology> {
    let net = cluster::network(&args.subnet)?;
    if net.prefix_len() > 24 {
        return Err(Error::Invalid(format!(
            "--subnet {}: the nodes take host numbers .101 and .102 as in the document; use a /24 or larger",
            args.subnet
        )));
    }
    // The n-th address of the network (hosts() starts at .1).
    let host = |n: usize| {
        net.hosts()
            .nth(n - 1)
            .expect("a /24 or larger holds .101 and .102")
            .to_string()
    };
    let mut topo = Topology {
        settings: args.settings.clone(),
        data_checksums: args.data_checksums,
        scale: args.scale,
        check_seconds: args.check_seconds,
        sync: args.sync,
        restore: args.restore_command,
        archive: args.archive_command,
        subnet: args.subnet.clone(),
        ..Topology::default()
    };
    topo.master.address = host(101);
    topo.slave.address = host(102);
    Ok(topo)
}

/// A lab brought up: what it runs on and how it went.
pub struct BroughtUp {
    /// The images.
    pub images: crate::image::build::Images,
    /// The layout on the engine.
    pub layout: LabLayout,
    /// The document's topology in this lab's subnet.
    pub topo: Topology,
    /// The phases and checks.
    pub report: up::UpReport,
}

/// Builds the images and brings a lab up, racing the work against SIGINT/SIGTERM and removing
/// what was created when it fails or is interrupted (unless `--keep`).
pub async fn bring_up(args: &UpConfig, ui: &Ui) -> Result<(Engine, BroughtUp)> {
    let name = args.name.clone();
    cluster::check_name(&name)?;
    let topo = topology(args)?;
    crate::input::config::images(&args.images)?;
    crate::input::config::settings(&args.images.version, &topo)?;
    let engine = Engine::connect().await?;
    if !cluster::inventory(&engine, Some(&name)).await?.is_empty() {
        return Err(Error::Invalid(format!(
            "a lab named `{name}` already exists: run a drill on it with `lab drill run DRILL --reuse --name {name}`, remove it with `lab down --name {name}`, or choose another --name (and --subnet)"
        )));
    }
    let images = build_images(&args.images, ui).await?;
    print_images(&images);
    let dialect = Dialect::for_major(images.version.major);
    let layout = LabLayout {
        name: name.clone(),
        subnet: args.subnet.clone(),
        nodes: vec![
            (topo.master.name, topo.master.address.clone()),
            (topo.slave.name, topo.slave.address.clone()),
        ],
        image: images.node.clone(),
        version: images.version.to_string(),
        publish: args.publish,
        sql_password: random_password(),
        wal_disk_size: args.wal_disk_size,
        spec: cluster::LabSpec::new(
            &topo,
            &images.version.to_string(),
            args.wal_disk_size,
            args.publish,
        ),
    };

    // Run in a task so that a panic is caught, and race it against SIGINT/SIGTERM: whatever
    // stops `up` half-way, what it created is removed (unless --keep).
    let task = {
        let (engine, layout, topo, ui) = (engine.clone(), layout.clone(), topo.clone(), ui.clone());
        tokio::spawn(async move { up::up(&engine, &layout, &topo, &dialect, &ui).await })
    };
    let abort = task.abort_handle();
    let outcome = tokio::select! {
        joined = task => match joined {
            Ok(result) => result,
            Err(e) => Err(Error::Lab(format!("lab up crashed: {e}"))),
        },
        signal = shutdown_signal() => {
            abort.abort();
            Err(Error::Lab(format!("interrupted by {signal}")))
        }
    };
    match outcome {
        Ok(report) => Ok((
            engine,
            BroughtUp {
                images,
                layout,
                topo,
                report,
            },
        )),
        Err(e) => {
            if args.keep {
                eprintln!("keeping lab `{name}` as it is (--keep): remove it with `lab down --name {name}`");
            } else {
                eprintln!("removing what `lab up` created for `{name}`…");
                return Err(cluster::down_after(&engine, &name, e).await);
            }
            Err(e)
        }
    }
}

/// `lab up`.
pub async fn up(args: &UpConfig, ui: &Ui) -> Result<()> {
    let (
        _,
        BroughtUp {
            images,
            topo,
            report,
            ..
        },
    ) = bring_up(args, ui).await?;
    let name = args.name.clone();
    println!("\nphases:");
    for (phase, secs) in &report.phases.0 {
        println!("  {secs:>7.2}s  {phase}");
    }
    for row in &report.checks.replication {
        println!(
            "pg_stat_replication on {}: {}",
            topo.master.name,
            row.iter()
                .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("NULL")))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    println!(
        "replay timestamp on {}: {} → {}",
        topo.slave.name,
        report.checks.replay_before.as_deref().unwrap_or("NULL"),
        report.checks.replay_after.as_deref().unwrap_or("NULL")
    );
    let flag = if name == "lab" {
        String::new()
    } else {
        format!(" --name {name}")
    };
    println!(
        "\nlab `{name}` is up: PostgreSQL {} on {} ({}, master) and {} ({}, slave).\n\
         \x20 lab status{flag}            roles, timelines, replication\n\
         \x20 lab psql{flag} node1        psql on the master (lab psql{flag} node2: the slave)\n\
         \x20 lab shell{flag} node2       a shell as postgres\n\
         \x20 lab logs{flag} node1 -f     the server log\n\
         \x20 lab monitor{flag}           the document's pg_isready watch loops\n\
         \x20 lab drill list             the documented failures, to rehearse on this lab with\n\
         \x20 lab drill run failover-switchback --reuse{flag}\n\
         \x20 lab down{flag}              remove it all",
        images.version, topo.master.name, topo.master.address, topo.slave.name, topo.slave.address
    );
    if let Some(port) = args.publish {
        println!(
            "  published on the host: node1 127.0.0.1:{port}, node2 127.0.0.1:{}",
            port + 1
        );
    }
    if !report.checks.failures.is_empty() {
        return Err(Error::CheckFailed(format!(
            "the lab is up but does not behave as chapter 1 says:\n  - {}\nIt is left running for inspection; remove it with `lab down{flag}`.",
            report.checks.failures.join("\n  - ")
        )));
    }
    Ok(())
}

impl From<crate::image::archive::ArchiveError> for Error {
    fn from(e: crate::image::archive::ArchiveError) -> Self {
        match e {
            crate::image::archive::ArchiveError::Docker(d) => Error::Docker(d),
            crate::image::archive::ArchiveError::File(m) => Error::Lab(m),
        }
    }
}

/// `lab images save`: the sets of images asked for, in one archive.
pub async fn images_save(args: &SaveConfig) -> Result<()> {
    use crate::image::archive;
    if let Some(dir) = args.output.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(Error::Invalid(format!(
                "-o {}: no directory {}",
                args.output.display(),
                dir.display()
            )));
        }
    }
    let engine = Engine::connect().await?;
    let sets = archive::select(&archive::stored(&engine).await?, &args.versions)
        .map_err(|e| Error::Invalid(e.to_string()))?;
    let mut tags: Vec<String> = sets.iter().flat_map(|s| s.tags.clone()).collect();
    tags.dedup(); // sets of one base share it
    tags.sort();
    tags.dedup();
    let started = std::time::Instant::now();
    let size = archive::save(&engine, &tags, &args.output).await?;
    for tag in &tags {
        println!("saved {tag}");
    }
    println!(
        "{}: {:.1} MiB in {:.1} s",
        args.output.display(),
        size as f64 / (1 << 20) as f64,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `lab images load`.
pub async fn images_load(path: &std::path::Path) -> Result<()> {
    crate::input::archive(&path.to_string_lossy())?;
    let engine = Engine::connect().await?;
    let started = std::time::Instant::now();
    let loaded = crate::image::archive::load(&engine, path).await?;
    for tag in &loaded {
        println!("loaded {tag}");
    }
    println!(
        "{}: {} image(s) in {:.1} s",
        path.display(),
        loaded.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `lab down`.
pub async fn down(name: &str) -> Result<()> {
    cluster::check_name(name)?;
    let engine = Engine::connect().await?;
    let removed = cluster::down(&engine, name).await?;
    if removed.is_empty() {
        println!("nothing to remove: no lab named `{name}`");
    } else {
        println!(
            "removed lab `{name}`: {} container(s), {} network(s), {} volume(s)",
            removed.containers.len(),
            removed.networks.len(),
            removed.volumes.len()
        );
    }
    Ok(())
}

async fn find(name: &str) -> Result<(Engine, Lab)> {
    cluster::check_name(name)?;
    let engine = Engine::connect().await?;
    let lab = Lab::find(&engine, name).await?;
    Ok((engine, lab))
}

fn dialect_of(lab: &Lab) -> Result<Dialect> {
    let v: PgVersion = lab.version.parse().map_err(|e| {
        Error::Lab(format!(
            "lab `{}` has no readable version label: {e}",
            lab.name
        ))
    })?;
    Ok(Dialect::for_major(v.major))
}

/// `lab status`.
pub async fn status(name: &str, json: bool) -> Result<()> {
    let (engine, lab) = find(name).await?;
    let st = status::status(&engine, &lab, &dialect_of(&lab)?).await;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&st).expect("status serialises")
        );
    } else {
        print!("{}", status::render(&st));
    }
    Ok(())
}

/// `docker exec` (or `podman exec`) with the terminal attached (psql and shells need a TTY;
/// bollard's attach would re-implement what the engine's CLI already does well).
fn exec_interactive(
    engine: &Engine,
    container: &str,
    user: User,
    argv: &[String],
) -> Result<NodeExit> {
    let kind = engine.kind();
    let mut cmd = kind.cli();
    cmd.arg("exec").arg("-i");
    if std::io::stdin().is_terminal() {
        cmd.arg("-t");
    }
    let home = match user {
        User::Root => "/root",
        User::Postgres => "/home/postgres",
    };
    cmd.args(["-u", user.name(), "-w", home]);
    for e in cluster::node::env_for(user) {
        if !e.starts_with("LC_ALL=") {
            cmd.arg("-e").arg(e);
        }
    }
    cmd.arg(container).args(argv);
    let status = cmd.status().map_err(|e| {
        let client = match kind {
            EngineKind::Docker => "docker",
            EngineKind::Podman => "podman",
        };
        Error::Lab(format!(
            "running the {client} CLI for an interactive session: {e} (install the {client} client, or use `lab exec`)"
        ))
    })?;
    if status.success() {
        Ok(0)
    } else {
        Ok(status.code().unwrap_or(1))
    }
}

/// `lab psql NODE [-- ARGS]`: exits as psql did.
pub async fn psql(at: &NodeConfig, args: &[String]) -> Result<NodeExit> {
    let (engine, lab) = find(&at.name).await?;
    let node = lab.node(at.node)?;
    let mut argv = vec!["psql".to_string()];
    argv.extend(args.iter().cloned());
    exec_interactive(&engine, &node.container, User::Postgres, &argv)
}

/// `lab shell NODE`: exits as the shell did.
pub async fn shell(at: &NodeConfig) -> Result<NodeExit> {
    let (engine, lab) = find(&at.name).await?;
    let node = lab.node(at.node)?;
    exec_interactive(
        &engine,
        &node.container,
        at.user,
        &["bash".into(), "-l".into()],
    )
}

/// `lab exec NODE -- CMD`: prints the command's output and exits with its code.
pub async fn exec(at: &NodeConfig, args: &[String]) -> Result<NodeExit> {
    if args.is_empty() {
        return Err(Error::Invalid(
            "lab exec: give the command after `--`, e.g. `lab exec node1 -- pg_controldata`".into(),
        ));
    }
    let (engine, lab) = find(&at.name).await?;
    let node = lab.node(at.node)?;
    let command = args
        .iter()
        .map(|a| crate::plan::quote(a))
        .collect::<Vec<_>>()
        .join(" ");
    let out = node
        .run(
            &engine,
            at.user,
            &command,
            &Default::default(),
            Duration::from_secs(24 * 3600),
        )
        .await?;
    print!("{}", out.stdout);
    eprint!("{}", out.stderr);
    if out.code != 0 {
        return Ok(out.code.clamp(1, 255) as i32);
    }
    Ok(0)
}

/// `lab fault list`.
pub fn fault_list() {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_header(["fault", "table row", "heal", "what it simulates"]);
    for f in crate::fault::CATALOGUE {
        t.add_row([
            f.name.to_string(),
            if f.row == 0 {
                "beyond".into()
            } else {
                f.row.to_string()
            },
            if f.healable { "yes" } else { "no" }.to_string(),
            f.what.to_string(),
        ]);
    }
    println!("{t}");
}

/// `lab fault inject|heal FAULT --node N`: prints what was done and when.
pub async fn fault(at: &NodeConfig, fault: crate::fault::Fault, heal: bool) -> Result<()> {
    let (name, node) = (at.name.as_str(), at.node);
    let (engine, lab) = find(name).await?;
    let dialect = dialect_of(&lab)?;
    let n = lab.node(node)?;
    let op = fault.op(&dialect, node, heal)?;
    let when = crate::drill::render::timestamp();
    match op {
        crate::fault::FaultOp::Node(op) => cluster::node_op(&engine, name, n, op).await?,
        crate::fault::FaultOp::Commands(steps) => {
            for s in steps {
                print!("{}", up::run_step(&engine, &lab.nodes, &s).await?.stdout);
            }
        }
    }
    println!(
        "{when} {} {fault} on {node}",
        if heal { "healed" } else { "injected" }
    );
    Ok(())
}

/// The shell line that prints the newest server log file's name.
fn newest_log(dialect: &Dialect) -> String {
    format!(
        "ls -t {}/{}/* 2>/dev/null | head -1",
        crate::pg::DATA_DIR,
        dialect.log_dir_name()
    )
}

/// `lab logs NODE [--follow]`: with `--follow`, exits as `tail -F` did.
pub async fn logs(at: &NodeConfig, follow: bool) -> Result<NodeExit> {
    let (engine, lab) = find(&at.name).await?;
    let dialect = dialect_of(&lab)?;
    let node = lab.node(at.node)?;
    let file = node
        .must(
            &engine,
            User::Postgres,
            &newest_log(&dialect),
            Duration::from_secs(15),
        )
        .await?
        .stdout
        .trim()
        .to_string();
    if file.is_empty() {
        return Err(Error::Lab(format!(
            "{} has no server log yet under {}/{}",
            node.name,
            crate::pg::DATA_DIR,
            dialect.log_dir_name()
        )));
    }
    if follow {
        return exec_interactive(
            &engine,
            &node.container,
            User::Postgres,
            &["tail".into(), "-n".into(), "+1".into(), "-F".into(), file],
        );
    }
    let out = node
        .must(
            &engine,
            User::Postgres,
            &format!("cat {}", crate::plan::quote(&file)),
            Duration::from_secs(60),
        )
        .await?;
    print!("{}", out.stdout);
    Ok(0)
}

/// The document's monitoring loop body on one node: itself, then each peer, over TCP.
pub fn monitor_command(own: &str, peers: &[&str]) -> String {
    std::iter::once(own)
        .chain(peers.iter().copied())
        .map(|addr| {
            // The document's loop body: `pg_isready -q; echo $?,$(date)`, with the address first.
            let probe = crate::pg::isready_probe(addr);
            format!("{probe}; echo \"{addr} $?,$(date '+%Y-%m-%d %H:%M:%S')\"")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `lab monitor`.
pub async fn monitor(cfg: &MonitorConfig) -> Result<()> {
    let (interval, count) = (cfg.interval, cfg.count);
    let (engine, lab) = find(&cfg.name).await?;
    let dialect = dialect_of(&lab)?;
    let mut round = 0u64;
    let watch = async {
        loop {
            for node in &lab.nodes {
                let peers: Vec<&str> = lab
                    .nodes
                    .iter()
                    .filter(|p| p.name != node.name)
                    .map(|p| p.addr.as_str())
                    .collect();
                let target_name = |addr: &str| {
                    lab.nodes
                        .iter()
                        .find(|n| n.addr == addr)
                        .map_or_else(|| addr.to_string(), |n| n.name.name())
                };
                match node
                    .run(
                        &engine,
                        User::Postgres,
                        &monitor_command(&node.addr, &peers),
                        &Default::default(),
                        Duration::from_secs(30),
                    )
                    .await
                {
                    Ok(out) => {
                        for line in out.stdout.lines() {
                            if let Some((addr, rest)) = line.split_once(' ') {
                                println!("{} -> {}: {rest}", node.name, target_name(addr));
                            }
                        }
                    }
                    Err(e) => println!("{}: node unreachable ({e})", node.name),
                }
            }
            for (node, lag) in status::replay_lags(&lab, &dialect).await {
                println!("{node}: {lag}");
            }
            round += 1;
            if count.is_some_and(|c| round >= c) {
                return;
            }
            tokio::time::sleep(interval).await;
        }
    };
    tokio::select! {
        _ = watch => {}
        _ = shutdown_signal() => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_monitor_runs_the_documents_pg_isready_over_tcp() {
        let c = monitor_command("172.16.3.101", &["172.16.3.102"]);
        assert!(
            c.starts_with("pg_isready -h 172.16.3.101 -p 5432 -U postgres -d postgres -q;"),
            "{c}"
        );
        assert!(c.contains("pg_isready -h 172.16.3.102"), "{c}");
        assert!(c.contains("$?,$(date"), "{c}");
    }
}
