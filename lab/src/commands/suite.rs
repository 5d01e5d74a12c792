//! `lab drill run` with several drills or several versions: a suite. Each drill × version pair
//! runs as its own `lab drill run` process on its own fresh lab (`<name>-<i>` in the i-th /24
//! after `--subnet`), `jobs` side by side; the suite directory
//! (`<runs>/suite/<timestamp>/`, with a `latest` link) holds each run's usual run directory
//! (`<release>/<drill>/<timestamp>/`), each run's output (`logs/`) and the index rendered by
//! [`crate::drill::report::suite_index`].
//!
//! The images of every version are made first, one version at a time, so that runs side by
//! side never build the same image. Ctrl-C or SIGTERM stops every run (each removes its lab)
//! and the suite then removes any lab of its own that is still there.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::Ipv4Net;

use crate::cluster;
use crate::docker::Engine;
use crate::drill::event::{Event, RunReport};
use crate::drill::report::suite_index::{self, Suite, SuiteRun};
use crate::drill::shard::{Shard, Timings};
use crate::error::{Error, Result};
use crate::image::build::{self, ImageOptions};
use crate::ui::Ui;
use crate::version::PgVersion;

/// The most labs a suite runs side by side unless `--jobs` says otherwise.
pub const MAX_DEFAULT_JOBS: usize = 4;

/// How long a stopped run may take to remove its lab before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(120);

/// A drill of the suite: what the user named and the drill's own name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteDrill {
    /// A built-in name or a drill file, as given.
    pub arg: String,
    /// The drill's name (its run directories are named after it).
    pub name: String,
    /// How many steps it has (the shards' fallback estimate).
    pub steps: usize,
}

/// What a suite runs, and how.
#[derive(Debug, Clone)]
pub struct SuiteConfig {
    /// The drills (built-in names or files), in order.
    pub drills: Vec<String>,
    /// The profile every run uses.
    pub profile: String,
    /// The versions, in order.
    pub versions: Vec<PgVersion>,
    /// Labs side by side.
    pub jobs: usize,
    /// The lab-name prefix: run i's lab is `<name>-<i>` (from 1).
    pub name: String,
    /// The first run's network; run i takes the i-th /24 after it.
    pub subnet: Ipv4Net,
    /// Where the suite directory goes (`<runs_dir>/suite/<timestamp>/`).
    pub runs_dir: PathBuf,
    /// How every version's images are made (the version is set per version).
    pub images: ImageOptions,
    /// Flags every `lab drill run` gets (profile, images, lab layout), as typed.
    pub run_flags: Vec<String>,
    /// Run only this share of the drill × version runs (`--shard K/N`).
    pub shard: Option<Shard>,
    /// The timings that balance the shards (`--timings`; default: the committed table).
    pub timings: Option<PathBuf>,
}

/// The default number of labs side by side: one per core, at most [`MAX_DEFAULT_JOBS`].
pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_DEFAULT_JOBS)
}

/// One planned run: a drill on a version, on its own lab and network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRun {
    /// Index into [`SuiteConfig::drills`].
    pub drill: usize,
    /// Index into [`SuiteConfig::versions`].
    pub version: usize,
    /// The lab's name.
    pub lab: String,
    /// The lab's network (a /24).
    pub subnet: Ipv4Net,
}

/// Every (drill, version) pair of a suite, drill by drill and, for each, version by version (so
/// that the versions of one drill run side by side).
pub fn pairs(cfg: &SuiteConfig) -> Vec<(usize, usize)> {
    (0..cfg.drills.len())
        .flat_map(|d| (0..cfg.versions.len()).map(move |v| (d, v)))
        .collect()
}

/// The pairs this suite runs: all of them, or its shard's share, balanced by `timings`
/// (refused, exit 2, when the shard would get none).
pub fn share(
    cfg: &SuiteConfig,
    drills: &[SuiteDrill],
    timings: &Timings,
) -> Result<Vec<(usize, usize)>> {
    let all = pairs(cfg);
    let Some(shard) = cfg.shard else {
        return Ok(all);
    };
    let costs: Vec<f64> = all
        .iter()
        .map(|&(d, v)| timings.estimate(&drills[d].name, drills[d].steps, &cfg.versions[v]))
        .collect();
    let mine: Vec<(usize, usize)> = crate::drill::shard::select(&costs, shard)
        .into_iter()
        .map(|i| all[i])
        .collect();
    if mine.is_empty() {
        return Err(Error::Invalid(format!(
            "--shard {shard}: a suite of {} run(s) leaves this shard nothing; use at most {} \
             shards",
            all.len(),
            all.len()
        )));
    }
    Ok(mine)
}

/// The runs of a suite (`pairs`, in order): run i is lab `<name>-<i+1>` on the i-th /24 after
/// `subnet`. Refused (exit 2) when a name is too long or a network leaves the private range
/// `subnet` lies in.
pub fn plan(cfg: &SuiteConfig, pairs: &[(usize, usize)]) -> Result<Vec<PlannedRun>> {
    let base = u32::from(cfg.subnet.network()) & !0xff;
    let mut runs = Vec::new();
    for &(drill, version) in pairs {
        let i = runs.len() as u32;
        let lab = format!("{}-{}", cfg.name, i + 1);
        cluster::check_name(&lab).map_err(|_| {
            Error::Invalid(format!(
                "--name {}: a suite names its labs `{lab}`, longer than 40 characters; use a \
                 shorter --name",
                cfg.name
            ))
        })?;
        let net = base
            .checked_add(i << 8)
            .map(|n| Ipv4Net::new(Ipv4Addr::from(n), 24).expect("a /24"));
        let net = net
            .filter(|n| crate::input::subnet(&n.to_string()).is_ok())
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "--subnet {}: a suite of {} runs takes {} /24 networks from it on, which \
                     leaves the private range; choose a lower --subnet",
                    cfg.subnet,
                    pairs.len(),
                    pairs.len()
                ))
            })?;
        runs.push(PlannedRun {
            drill,
            version,
            lab,
            subnet: net,
        });
    }
    Ok(runs)
}

/// The timings that balance shards: `--timings`, else the committed table (exit 2 for a file
/// that cannot be read or is not a table).
fn timings(cfg: &SuiteConfig) -> Result<Timings> {
    let Some(path) = &cfg.timings else {
        return Ok(Timings::committed());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Invalid(format!("--timings {}: {e}", path.display())))?;
    Timings::parse(&text).map_err(|e| Error::Invalid(format!("--timings {}: {e}", path.display())))
}

/// Loads and checks every drill of the suite before anything runs (exit 2 for an invalid one or
/// one named twice), and every version once.
fn check(cfg: &SuiteConfig) -> Result<Vec<SuiteDrill>> {
    let mut drills: Vec<SuiteDrill> = Vec::new();
    for arg in &cfg.drills {
        let drill = super::drill::load_checked(arg, &cfg.profile)?;
        if drills.iter().any(|d| d.name == drill.name) {
            return Err(Error::Invalid(format!(
                "drill {} is named twice in the suite",
                drill.name
            )));
        }
        drills.push(SuiteDrill {
            arg: arg.clone(),
            steps: drill.steps.len(),
            name: drill.name,
        });
    }
    for (i, v) in cfg.versions.iter().enumerate() {
        if cfg.versions[..i].contains(v) {
            return Err(Error::Invalid(format!("--pg-version {v} is given twice")));
        }
    }
    crate::input::config::suite(&cfg.versions, &cfg.images)?;
    // What the suite writes under --runs-dir: `suite/<stamp>/<release>/<drill>/<stamp>/…` and
    // `suite/<stamp>/logs/<drill>@<release>.log`; a major's release is at most `NN.NNNN`.
    let stamp = crate::drill::render::timestamp();
    let (mut dirs, mut logs) = (Vec::new(), Vec::new());
    for d in &drills {
        for v in &cfg.versions {
            let release = if v.is_exact() {
                v.to_string()
            } else {
                format!("{v}.9999")
            };
            dirs.push(format!("suite/{stamp}/{release}/{}", d.name));
            logs.push(format!("suite/{stamp}/logs/{}@{release}.log", d.name));
        }
    }
    crate::input::config::runs_dir(&cfg.runs_dir, &dirs, &logs)?;
    Ok(drills)
}

/// Refuses (exit 2) a plan whose labs exist already or whose networks overlap a network of the
/// engine, naming each conflict, before anything is made.
async fn preflight(engine: &Engine, runs: &[PlannedRun]) -> Result<()> {
    let networks = engine
        .client()
        .list_networks(None::<bollard::query_parameters::ListNetworksOptions>)
        .await
        .map_err(|e| Error::Lab(format!("listing the engine's networks: {e}")))?;
    let taken: Vec<(String, Ipv4Net)> = networks
        .into_iter()
        .flat_map(|n| {
            let name = n.name.unwrap_or_default();
            n.ipam
                .and_then(|i| i.config)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|c| c.subnet?.parse::<Ipv4Net>().ok())
                .map(move |s| (name.clone(), s))
        })
        .collect();
    let mut conflicts = Vec::new();
    for run in runs {
        for (name, s) in &taken {
            if s.contains(&run.subnet) || run.subnet.contains(s) {
                conflicts.push(format!(
                    "{} (for lab {}) overlaps docker network `{name}` ({s})",
                    run.subnet, run.lab
                ));
            }
        }
        if !cluster::inventory(engine, Some(&run.lab)).await?.is_empty() {
            conflicts.push(format!(
                "lab `{}` exists already (`lab down --name {}` removes it)",
                run.lab, run.lab
            ));
        }
    }
    if conflicts.is_empty() {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "the suite's labs would collide; choose another --subnet or --name:\n  - {}",
        conflicts.join("\n  - ")
    )))
}

/// The tarball given for the suite goes to the version it is (by its file name).
fn tarball_for(given: Option<&Path>, version: &PgVersion) -> Option<PathBuf> {
    let path = given?;
    let of = crate::tarball::version_from_file_name(path)?;
    let fits = if version.is_exact() {
        of == *version
    } else {
        of.major == version.major
    };
    fits.then(|| path.to_path_buf())
}

/// Makes (or finds) every version's images, one version at a time; returns each version's
/// exact release.
async fn images(engine: &Engine, cfg: &SuiteConfig, ui: &Ui) -> Result<Vec<PgVersion>> {
    // A tarball naming none of the versions was refused by `check`.
    let given = cfg.images.tarball.as_deref();
    let mut releases = Vec::new();
    for v in &cfg.versions {
        let opts = ImageOptions {
            version: *v,
            tarball: tarball_for(given, v),
            ..cfg.images.clone()
        };
        ui.println(&format!("images for PostgreSQL {v}…"));
        let images = build::ensure(engine, &opts, ui).await?;
        releases.push(images.version);
    }
    Ok(releases)
}

/// A run started: its process.
struct Running {
    index: usize,
    pid: i32,
}

/// When each run started, to measure its whole time.
type Started = std::collections::HashMap<usize, std::time::Instant>;

/// The events of a run directory's `report.json` (none when it is missing or unreadable).
pub(crate) fn events(run_dir: &Path) -> Vec<Event> {
    std::fs::read_to_string(run_dir.join("report.json"))
        .ok()
        .and_then(|s| serde_json::from_str::<RunReport>(&s).ok())
        .map(|r| r.events)
        .unwrap_or_default()
}

/// What a finished run left: its exit code (none: killed) and its run directory.
fn collect(
    suite_dir: &Path,
    release: &str,
    drill: &str,
    exit: Option<i32>,
    interrupted: bool,
) -> SuiteRun {
    let latest = suite_dir.join(release).join(drill).join("latest");
    let stamp = std::fs::read_link(&latest).ok();
    SuiteRun {
        drill: drill.to_string(),
        version: release.to_string(),
        report_dir: stamp.map(|s| format!("{release}/{drill}/{}", s.display())),
        exit,
        events: events(&latest),
        interrupted,
        seconds: None,
    }
}

/// The `lab drill run` process of one planned run, its output going to `log`.
fn command(
    cfg: &SuiteConfig,
    drill: &SuiteDrill,
    run: &PlannedRun,
    release: &PgVersion,
    suite_dir: &Path,
    log: &Path,
) -> Result<tokio::process::Command> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::Lab(format!("finding the lab binary to run drills with: {e}")))?;
    let out = std::fs::File::create(log)
        .map_err(|e| Error::Lab(format!("creating {}: {e}", log.display())))?;
    let err = out
        .try_clone()
        .map_err(|e| Error::Lab(format!("opening {}: {e}", log.display())))?;
    let mut cmd = tokio::process::Command::new(exe);
    cmd.args(["drill", "run", &drill.arg])
        .args(["--pg-version", &release.to_string()])
        .args(["--name", &run.lab, "--subnet", &run.subnet.to_string()])
        .arg("--runs-dir")
        .arg(suite_dir.join(release.to_string()));
    if let Some(t) = tarball_for(cfg.images.tarball.as_deref(), &cfg.versions[run.version]) {
        cmd.arg("--pg-tarball").arg(t);
    }
    cmd.args(["--profile", &cfg.profile])
        .args(&cfg.run_flags)
        .stdin(std::process::Stdio::null())
        .stdout(out)
        .stderr(err)
        // Its own process group: a terminal's Ctrl-C reaches the suite, which stops each run.
        .process_group(0)
        .kill_on_drop(true);
    Ok(cmd)
}

/// Runs a suite and writes its directory; the error is the worst run's (exit 1 a check failed,
/// 3 the lab failed), or the interruption.
pub async fn run(cfg: &SuiteConfig, ui: &Ui) -> Result<PathBuf> {
    let drills = check(cfg)?;
    let planned = plan(cfg, &share(cfg, &drills, &timings(cfg)?)?)?;
    let mut stop = crate::commands::Shutdown::new();
    let engine = Engine::connect().await?;
    preflight(&engine, &planned).await?;
    let releases = tokio::select! {
        biased;
        s = stop.recv() => return Err(Error::Lab(format!("suite interrupted by {s} while making images"))),
        r = images(&engine, cfg, ui) => r?,
    };
    let stamp = crate::drill::render::timestamp();
    let base = cfg.runs_dir.join("suite");
    let suite_dir = base.join(&stamp);
    let io = |e: std::io::Error| Error::Lab(format!("writing {}: {e}", suite_dir.display()));
    std::fs::create_dir_all(suite_dir.join("logs")).map_err(io)?;
    let latest = base.join("latest");
    let _ = std::fs::remove_file(&latest);
    std::os::unix::fs::symlink(&stamp, &latest).map_err(io)?;
    let share = cfg
        .shard
        .map(|s| format!(" (shard {s}: of {})", cfg.drills.len() * cfg.versions.len()))
        .unwrap_or_default();
    ui.println(&format!(
        "suite: {} run(s){share}, {} side by side, in {}",
        planned.len(),
        cfg.jobs,
        suite_dir.display()
    ));

    let ctx = RunContext {
        cfg,
        drills: &drills,
        planned: &planned,
        releases: &releases,
        suite_dir: &suite_dir,
    };
    let outcome = run_all(&ctx, &mut stop, ui).await;
    // Whatever a run left (one killed, or one whose own clean-up failed) is removed here, also
    // when a run could not even be started.
    let mut left = Vec::new();
    for p in &planned {
        if let Err(e) = cluster::down(&engine, &p.lab).await {
            left.push(format!("{}: {e}", p.lab));
        }
    }
    let (runs, interrupted) = outcome?;
    let suite = Suite {
        stamp,
        drills: drills.iter().map(|d| d.name.clone()).collect(),
        versions: releases.iter().map(|v| v.to_string()).collect(),
        runs,
        shard: cfg.shard,
    };
    write(&suite_dir, &suite).map_err(io)?;
    eprintln!("suite index: {}", suite_dir.join("index.md").display());
    if !left.is_empty() {
        return Err(Error::Lab(format!(
            "could not remove the suite's labs:\n  - {}",
            left.join("\n  - ")
        )));
    }
    if let Some(signal) = interrupted {
        return Err(Error::Lab(format!(
            "suite interrupted by {signal}: every lab it made was removed; see {}",
            suite_dir.join("index.md").display()
        )));
    }
    verdict(&suite, &suite_dir)
}

/// Writes `index.md`, `index.html`, `junit.xml`, and the record `lab drill merge` reads
/// (`suite.json`) with the runs' times (`timings.json`, for `--timings`).
pub(crate) fn write(dir: &Path, suite: &Suite) -> std::io::Result<()> {
    std::fs::write(dir.join("index.md"), suite_index::markdown(suite))?;
    std::fs::write(dir.join("index.html"), suite_index::html(suite))?;
    std::fs::write(dir.join("junit.xml"), suite_index::junit(suite))?;
    let json = |v: serde_json::Result<String>| v.map_err(std::io::Error::other);
    let record = crate::drill::suite_record::SuiteRecord::of(suite);
    std::fs::write(
        dir.join(crate::drill::suite_record::RECORD),
        json(serde_json::to_string_pretty(&record))?,
    )?;
    std::fs::write(
        dir.join("timings.json"),
        json(serde_json::to_string_pretty(
            &crate::drill::suite_record::timings(suite),
        ))?,
    )
}

/// The suite's outcome: the worst run's exit code (3 for a run killed or never finished).
pub(crate) fn verdict(suite: &Suite, dir: &Path) -> Result<PathBuf> {
    let worst = suite
        .runs
        .iter()
        .map(|r| r.exit.unwrap_or(crate::error::EXIT_LAB))
        .max()
        .unwrap_or(0);
    let message = format!(
        "the suite did not pass: see {}",
        dir.join("index.md").display()
    );
    match worst {
        0 => Ok(dir.to_path_buf()),
        crate::error::EXIT_CHECK_FAILED => Err(Error::CheckFailed(message)),
        crate::error::EXIT_INVALID => Err(Error::Invalid(message)),
        _ => Err(Error::Lab(message)),
    }
}

/// What the runs of a suite share.
struct RunContext<'a> {
    cfg: &'a SuiteConfig,
    drills: &'a [SuiteDrill],
    planned: &'a [PlannedRun],
    releases: &'a [PgVersion],
    suite_dir: &'a Path,
}

/// Runs the planned runs, `jobs` at a time, until all are done or a signal arrives; then
/// every running one is asked to stop (SIGTERM: it removes its lab) and waited for.
async fn run_all(
    ctx: &RunContext<'_>,
    stop: &mut crate::commands::Shutdown,
    ui: &Ui,
) -> Result<(Vec<SuiteRun>, Option<&'static str>)> {
    let RunContext {
        cfg,
        drills,
        planned,
        releases,
        suite_dir,
    } = *ctx;
    let mut tasks = tokio::task::JoinSet::new();
    let mut running: Vec<Running> = Vec::new();
    let mut done: Vec<(usize, SuiteRun)> = Vec::new();
    let mut next = 0;
    let mut started = Started::new();
    let mut interrupted = None;
    loop {
        while interrupted.is_none() && next < planned.len() && running.len() < cfg.jobs.max(1) {
            let p = &planned[next];
            let release = &releases[p.version];
            let drill = &drills[p.drill].name;
            let log = suite_dir
                .join("logs")
                .join(format!("{drill}@{release}.log"));
            let mut child = command(cfg, &drills[p.drill], p, release, suite_dir, &log)?
                .spawn()
                .map_err(|e| Error::Lab(format!("starting drill {drill}: {e}")))?;
            ui.println(&format!(
                "▶ {drill} on {release} (lab {}, {})",
                p.lab, p.subnet
            ));
            started.insert(next, std::time::Instant::now());
            running.push(Running {
                index: next,
                pid: child.id().map_or(0, |p| p as i32),
            });
            let index = next;
            tasks.spawn(async move {
                let status = child.wait().await;
                (index, status.ok().and_then(|s| s.code()))
            });
            next += 1;
        }
        if running.is_empty() {
            break;
        }
        let finished = tokio::select! {
            s = stop.recv(), if interrupted.is_none() => {
                interrupted = Some(s);
                ui.println(&format!("{s}: stopping {} run(s) and removing their labs…", running.len()));
                for r in &running {
                    // SAFETY: signals our own child, which has not been reaped yet.
                    unsafe { libc::kill(r.pid, libc::SIGTERM) };
                }
                continue;
            }
            _ = tokio::time::sleep(STOP_GRACE), if interrupted.is_some() => {
                for r in &running {
                    // SAFETY: as above; SIGKILL for a run that did not stop in time.
                    unsafe { libc::kill(r.pid, libc::SIGKILL) };
                }
                continue;
            }
            f = tasks.join_next() => f,
        };
        let Some(Ok((index, exit))) = finished else {
            continue;
        };
        running.retain(|r| r.index != index);
        let p = &planned[index];
        let release = releases[p.version].to_string();
        let mut run = collect(
            suite_dir,
            &release,
            &drills[p.drill].name,
            exit,
            interrupted.is_some(),
        );
        run.seconds = started.get(&index).map(|t| t.elapsed().as_secs_f64());
        let took = run
            .took()
            .map(|t| format!(" in {t:.1} s"))
            .unwrap_or_default();
        ui.println(&format!(
            "{} {} on {release}: {}{took}",
            if run.result() == suite_index::RunResult::Passed {
                "✔"
            } else {
                "✘"
            },
            run.drill,
            run.result().word()
        ));
        done.push((index, run));
    }
    done.sort_by_key(|(i, _)| *i);
    Ok((done.into_iter().map(|(_, r)| r).collect(), interrupted))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(drills: usize, versions: &[&str], name: &str, subnet: &str) -> SuiteConfig {
        SuiteConfig {
            drills: (0..drills).map(|i| format!("d{i}")).collect(),
            profile: "default".into(),
            versions: versions.iter().map(|v| v.parse().unwrap()).collect(),
            jobs: 2,
            name: name.into(),
            subnet: subnet.parse().unwrap(),
            runs_dir: "runs".into(),
            images: ImageOptions {
                version: "15".parse().unwrap(),
                tarball: None,
                base: "debian".into(),
                debian_mirror: None,
                debian_suite: None,
                cache_dir: "/tmp".into(),
                source_site: String::new(),
                allow_unverified: false,
                refresh: false,
                configure_args: vec![],
                check: false,
                verbose: false,
            },
            run_flags: vec![],
            shard: None,
            timings: None,
        }
    }

    #[test]
    fn runs_take_successive_networks_and_numbered_names() {
        let c = cfg(2, &["9.3.5", "15"], "hd", "172.16.212.0/24");
        let runs = plan(&c, &pairs(&c)).unwrap();
        let got: Vec<(usize, usize, String, String)> = runs
            .iter()
            .map(|r| (r.drill, r.version, r.lab.clone(), r.subnet.to_string()))
            .collect();
        assert_eq!(
            got,
            [
                (0, 0, "hd-1".into(), "172.16.212.0/24".into()),
                (0, 1, "hd-2".into(), "172.16.213.0/24".into()),
                (1, 0, "hd-3".into(), "172.16.214.0/24".into()),
                (1, 1, "hd-4".into(), "172.16.215.0/24".into()),
            ]
        );
        // A wider --subnet starts at its first /24.
        let c = cfg(1, &["15"], "hd", "10.1.0.0/16");
        let runs = plan(&c, &pairs(&c)).unwrap();
        assert_eq!(runs[0].subnet.to_string(), "10.1.0.0/24");
    }

    #[test]
    fn a_suite_that_would_leave_the_private_range_or_overlong_names_is_refused() {
        let c = cfg(3, &["15"], "hd", "172.31.254.0/24");
        let e = plan(&c, &pairs(&c)).unwrap_err();
        assert!(matches!(e, Error::Invalid(_)), "{e}");
        assert!(e.to_string().contains("leaves the private range"), "{e}");
        let c = cfg(1, &["15"], &"x".repeat(39), "172.16.212.0/24");
        let e = plan(&c, &pairs(&c)).unwrap_err();
        assert!(e.to_string().contains("shorter --name"), "{e}");
    }

    #[test]
    fn a_tarball_goes_to_the_version_it_is() {
        let t = Path::new("/x/postgresql-9.3.5.tar.bz2");
        assert!(tarball_for(Some(t), &"9.3.5".parse().unwrap()).is_some());
        assert!(tarball_for(Some(t), &"9.3".parse().unwrap()).is_some());
        assert!(tarball_for(Some(t), &"15".parse().unwrap()).is_none());
        assert!(tarball_for(None, &"15".parse().unwrap()).is_none());
    }

    #[test]
    fn a_drill_or_a_version_named_twice_is_refused() {
        let mut c = cfg(0, &["15", "9.3.5", "15"], "hd", "172.16.212.0/24");
        let e = check(&c).unwrap_err();
        assert!(
            e.to_string().contains("--pg-version 15 is given twice"),
            "{e}"
        );
        c.versions.pop();
        c.drills = vec!["partition-heal".into(), "partition-heal".into()];
        let e = check(&c).unwrap_err();
        assert!(e.to_string().contains("named twice"), "{e}");
        c.drills = vec!["no-such-drill".into()];
        assert!(matches!(check(&c).unwrap_err(), Error::Invalid(_)));
    }

    #[test]
    fn shards_split_the_pairs_by_the_table_and_an_empty_shard_is_refused() {
        let mut c = cfg(3, &["9.3.25", "15", "17"], "hd", "172.16.212.0/24");
        let drills: Vec<SuiteDrill> = ["failover-switchback", "partition-heal", "new-drill"]
            .iter()
            .map(|n| SuiteDrill {
                arg: n.to_string(),
                name: n.to_string(),
                steps: 4,
            })
            .collect();
        let table = Timings::committed();
        let mut all = Vec::new();
        for index in 1..=3 {
            c.shard = Some(Shard { index, count: 3 });
            let mine = share(&c, &drills, &table).unwrap();
            assert_eq!(mine, share(&c, &drills, &table).unwrap(), "deterministic");
            // Each shard's labs are numbered from 1 in its own networks.
            let planned = plan(&c, &mine).unwrap();
            assert_eq!(planned[0].lab, "hd-1");
            all.extend(mine);
        }
        all.sort_unstable();
        c.shard = None;
        assert_eq!(all, pairs(&c));
        c.versions.truncate(1);
        c.drills.truncate(1);
        c.shard = Some(Shard { index: 2, count: 2 });
        let e = share(&c, &drills, &table).unwrap_err();
        assert!(
            matches!(e, Error::Invalid(_)) && e.to_string().contains("nothing"),
            "{e}"
        );
    }

    #[test]
    fn default_jobs_stay_within_bounds() {
        assert!((1..=MAX_DEFAULT_JOBS).contains(&default_jobs()));
    }
}
