//! End to end, reliability: what an interrupted `lab up` or `lab drill run` leaves behind
//! (SIGINT, SIGTERM, SIGKILL at several points), two drills running side by side, a corpus of
//! bad input (drill files, flags, tarballs, an unreachable engine), and the security of a
//! running lab (no privileges, no published ports unless asked and then on 127.0.0.1 only, no
//! SSH key in the image or in reports, pg_hba.conf limited to the lab's addresses).
//!
//! Every lab here is named `rel-*` and lives in 172.16.70.0/24–172.16.89.0/24, so that these
//! tests never touch another test's lab. Each test removes its labs, also when it fails.

mod support;

use std::io::{BufRead, BufReader};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bollard::models::ContainerInspectResponse;
use lab::docker::Engine;
use support::{lab, ok, Down};

// ---------------------------------------------------------------------------------------------
// helpers

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Removes what a previous, aborted run of this test may have left, and guards the name.
fn fresh(name: &'static str) -> Down {
    ok(&["down", "--name", name]);
    Down(name)
}

async fn inventory(engine: &Engine, name: &str) -> lab::cluster::Inventory {
    lab::cluster::inventory(engine, Some(name)).await.unwrap()
}

/// Nothing of the lab exists, now and two seconds later (a request still in flight when the
/// process stopped could create something after it exited).
async fn assert_nothing_left(engine: &Engine, name: &str, context: &str) {
    for _ in 0..2 {
        let inv = inventory(engine, name).await;
        assert!(inv.is_empty(), "{context}: lab {name} left {inv:?}");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

async fn inspect(engine: &Engine, container: &str) -> ContainerInspectResponse {
    engine
        .client()
        .inspect_container(
            container,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .unwrap_or_else(|e| panic!("inspect {container}: {e}"))
}

/// A `lab` process running in the background, its stderr collected as it comes.
struct Running {
    what: String,
    child: Child,
    stderr: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    fn spawn(args: &[&str]) -> Running {
        Running::spawn_with(args, &[])
    }

    fn spawn_with(args: &[&str], env: &[(&str, &str)]) -> Running {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lab"))
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the lab binary starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Running {
            what: format!("lab {}", args.join(" ")),
            child,
            stderr,
            reader: Some(reader),
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Fails the test if the process ended (it was expected to be still working).
    #[track_caller]
    fn assert_running(&mut self, waiting_for: &str) {
        if let Some(status) = self.child.try_wait().unwrap() {
            std::thread::sleep(Duration::from_millis(200));
            panic!(
                "{} ended ({status}) before {waiting_for}:\n{}",
                self.what,
                self.stderr()
            );
        }
    }

    fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet.
        let rc = unsafe { libc::kill(self.child.id() as i32, signal) };
        assert_eq!(rc, 0, "kill({}, {signal})", self.child.id());
    }

    /// Waits for the process to end (failing the test after `limit`); its status and stderr.
    async fn finish(mut self, limit: Duration) -> (ExitStatus, String) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "{} did not end within {limit:?}:\n{}",
                    self.what,
                    self.stderr()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        (status, self.stderr())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A Unix socket that forwards to the Docker Engine until it is cut: then the socket is gone
/// and every connection through it is closed, as when the daemon stops under a running lab. Or
/// until it hangs: then every connection stays open and nothing more is forwarded, as when the
/// daemon is alive but stuck.
struct EngineProxy {
    path: PathBuf,
    _dir: tempfile::TempDir,
    accept: tokio::task::JoinHandle<()>,
    conns: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
    hung: tokio::sync::watch::Sender<bool>,
}

impl EngineProxy {
    fn start() -> EngineProxy {
        let target = match std::env::var("DOCKER_HOST") {
            Ok(h) => h
                .strip_prefix("unix://")
                .unwrap_or_else(|| panic!("this test needs a Unix-socket engine, not {h}"))
                .to_string(),
            Err(_) => "/var/run/docker.sock".to_string(),
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker.sock");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let conns = Arc::new(Mutex::new(Vec::<tokio::task::AbortHandle>::new()));
        let tracked = conns.clone();
        let (hung, watch) = tokio::sync::watch::channel(false);
        // Connections held open, silent, once the engine hangs.
        let parked = Arc::new(Mutex::new(Vec::<tokio::net::UnixStream>::new()));
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if *watch.borrow() {
                    parked.lock().unwrap().push(inbound);
                    continue;
                }
                let (target, mut watch, parked) = (target.clone(), watch.clone(), parked.clone());
                let conn = tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::UnixStream::connect(&target).await else {
                        return;
                    };
                    let hangs = {
                        let copy = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                        tokio::select! {
                            _ = copy => false,
                            _ = watch.wait_for(|h| *h) => true,
                        }
                    };
                    if hangs {
                        parked.lock().unwrap().push(inbound);
                    }
                });
                tracked.lock().unwrap().push(conn.abort_handle());
            }
        });
        EngineProxy {
            path,
            _dir: dir,
            accept,
            conns,
            hung,
        }
    }

    /// From now on nothing is forwarded either way, and every connection stays open.
    fn hang(&self) {
        self.hung.send_replace(true);
    }

    /// `DOCKER_HOST` for the lab.
    fn host(&self) -> String {
        format!("unix://{}", self.path.display())
    }

    fn cut(&self) {
        self.accept.abort();
        for conn in self.conns.lock().unwrap().drain(..) {
            conn.abort();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for EngineProxy {
    fn drop(&mut self) {
        self.cut();
    }
}

/// `postgresql-RELEASE.tar.bz2` holding `bytes` in `dir`, with a `.sha256` beside it whose sum
/// (64 `a`s) is wrong.
fn with_wrong_sidecar(dir: &Path, release: &str, bytes: &[u8]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let name = format!("postgresql-{release}.tar.bz2");
    let file = dir.join(&name);
    std::fs::write(&file, bytes).unwrap();
    std::fs::write(
        format!("{}.sha256", file.display()),
        format!("{}  {name}\n", "a".repeat(64)),
    )
    .unwrap();
    file
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGKILL => "SIGKILL",
        _ => "another signal",
    }
}

/// Waits until `ready` holds while `run` is still working.
async fn wait_until<F, Fut>(run: &mut Running, what: &str, limit: Duration, mut ready: F)
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if ready(run.stderr()).await {
            return;
        }
        run.assert_running(what);
        assert!(
            Instant::now() < deadline,
            "{} never got to {what} within {limit:?}:\n{}",
            run.what,
            run.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `lab status --json` of a lab.
fn status_json(name: &str) -> serde_json::Value {
    serde_json::from_str(&ok(&["status", "--name", name, "--json"])).unwrap()
}

/// The other lab's containers: name, id, start time.
async fn snapshot(engine: &Engine, name: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for node in ["node1", "node2"] {
        let c = lab::cluster::container_name(name, node.parse().expect("a node"));
        let i = inspect(engine, &c).await;
        let state = i.state.unwrap();
        assert_eq!(state.running, Some(true), "{c} is not running");
        out.push((c, i.id.unwrap(), state.started_at.unwrap()));
    }
    out
}

/// The other lab is exactly as it was: same containers, running since the same time, node1
/// primary and streaming to node2.
async fn assert_untouched(engine: &Engine, name: &str, before: &[(String, String, String)]) {
    assert_eq!(
        &snapshot(engine, name).await,
        before,
        "lab {name}'s containers were replaced or restarted"
    );
    let inv = inventory(engine, name).await;
    assert_eq!(
        (inv.containers.len(), inv.networks.len(), inv.volumes.len()),
        (2, 1, 8),
        "lab {name}: {inv:?}"
    );
    let status = status_json(name);
    assert_eq!(status["nodes"][0]["name"], "node1", "{status}");
    assert_eq!(status["nodes"][0]["role"], "primary", "{status}");
    assert_eq!(status["nodes"][1]["role"], "standby", "{status}");
    let rows = status["replication"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{status}");
    assert_eq!(rows[0]["columns"]["state"], "streaming", "{status}");
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            // `latest` is a link to a run directory that is walked anyway
            if p.is_symlink() {
                continue;
            }
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// No file under `dir` holds a private key, a line of one of `keys`, or one of `secrets`.
fn assert_no_secrets(dir: &Path, keys: &[String], secrets: &[String]) {
    let files = files_under(dir);
    assert!(
        files.iter().any(|f| f.ends_with("report.json")),
        "no run directory under {}: {files:?}",
        dir.display()
    );
    let key_lines: Vec<&str> = keys
        .iter()
        .flat_map(|k| k.lines())
        .filter(|l| l.len() >= 40 && !l.contains("PRIVATE KEY"))
        .collect();
    for f in &files {
        let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned();
        assert!(
            !text.contains("PRIVATE KEY"),
            "{} holds a private key",
            f.display()
        );
        for l in &key_lines {
            assert!(
                !text.contains(l),
                "{} holds a line of a node's SSH key",
                f.display()
            );
        }
        for s in secrets {
            assert!(!text.contains(s.as_str()), "{} holds a secret", f.display());
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The one `error:` line of a failed command: it exists, and is the only one.
#[track_caller]
fn error_line(out: &Output) -> String {
    let err = stderr_of(out);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "one `error:` line expected:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    lines[0].to_string()
}

/// The first line of a drill's diagnostics (`file:line:col: error: …`, the form editors parse),
/// after checking that nothing panicked.
#[track_caller]
fn diagnostic_line(out: &Output) -> String {
    let err = stderr_of(out);
    assert!(!err.contains("panicked"), "{err}");
    err.lines().next().unwrap_or_default().to_string()
}

const HEAD: &str = "name = \"d\"\ntitle = \"T\"\nproves = \"P.\"\n";

// ---------------------------------------------------------------------------------------------
// 1. cleanup under signals

#[derive(Clone, Copy, Debug)]
enum Point {
    Network,
    Containers,
    PgReady,
}

#[tokio::test]
async fn interrupted_up_and_drill_leave_nothing_and_spare_the_other_lab() {
    let engine = support::engine().await;
    let version = support::images(&engine).await.version.to_string();
    let (other, sig, drill) = ("rel-other", "rel-sig", "rel-drill");
    let _other = fresh(other);
    let _sig = fresh(sig);
    let _drill = fresh(drill);

    ok(&[
        "up",
        "--pg-version",
        &version,
        "--name",
        other,
        "--subnet",
        "172.16.70.0/24",
        "--check-seconds",
        "2",
    ]);
    let before = snapshot(&engine, other).await;
    assert_untouched(&engine, other, &before).await;

    // `lab up`, stopped at several points by each signal
    let cases = [
        (libc::SIGINT, Point::Network),
        (libc::SIGTERM, Point::Network),
        (libc::SIGTERM, Point::Containers),
        (libc::SIGINT, Point::Containers),
        (libc::SIGINT, Point::PgReady),
        (libc::SIGTERM, Point::PgReady),
        (libc::SIGKILL, Point::Containers),
        (libc::SIGKILL, Point::PgReady),
    ];
    for (signal, point) in cases {
        let context = format!("lab up, {} at {point:?}", signal_name(signal));
        let mut run = Running::spawn(&[
            "up",
            "--pg-version",
            &version,
            "--name",
            sig,
            "--subnet",
            "172.16.71.0/24",
            // long enough that `up` is still working when we stop it at PgReady
            "--check-seconds",
            "60",
        ]);
        let engine_ref = &engine;
        wait_until(
            &mut run,
            &context,
            Duration::from_secs(180),
            |_| async move {
                let inv = inventory(engine_ref, sig).await;
                match point {
                    Point::Network => !inv.networks.is_empty(),
                    Point::Containers => inv.containers.len() == 2,
                    Point::PgReady => {
                        inv.containers.len() == 2
                            && lab(&["exec", "--name", sig, "node1", "--", "pg_isready", "-q"])
                                .status
                                .success()
                    }
                }
            },
        )
        .await;
        run.signal(signal);
        let (status, err) = run.finish(Duration::from_secs(120)).await;
        if signal == libc::SIGKILL {
            assert_eq!(status.signal(), Some(libc::SIGKILL), "{context}: {err}");
            let inv = inventory(&engine, sig).await;
            assert!(
                !inv.is_empty(),
                "{context}: a killed `up` cannot clean up, yet nothing was left"
            );
            let removed = ok(&["down", "--name", sig]);
            assert!(
                removed.contains(&format!("removed lab `{sig}`")),
                "{removed}"
            );
        } else {
            assert_eq!(status.code(), Some(3), "{context}: {err}");
            assert!(
                err.contains(&format!("interrupted by {}", signal_name(signal))),
                "{context}: {err}"
            );
            assert!(
                err.contains("removing what `lab up` created"),
                "{context}: {err}"
            );
        }
        assert_nothing_left(&engine, sig, &context).await;
        assert_untouched(&engine, other, &before).await;
    }

    // `lab drill run`, stopped mid-drill: after some steps ran, after the fault, after the
    // promotion
    let cases = [
        (libc::SIGINT, "▶  3."),
        (libc::SIGTERM, "injected wal-permission on node1"),
        (libc::SIGKILL, "node2 is now primary"),
    ];
    for (signal, after) in cases {
        let context = format!("drill run, {} after {after:?}", signal_name(signal));
        let runs = tempfile::tempdir().unwrap();
        let mut run = Running::spawn(&[
            "drill",
            "run",
            "failover-switchback",
            "--pg-version",
            &version,
            "--name",
            drill,
            "--subnet",
            "172.16.72.0/24",
            "--runs-dir",
            runs.path().to_str().unwrap(),
        ]);
        wait_until(
            &mut run,
            &context,
            Duration::from_secs(400),
            |err| async move { err.contains(after) },
        )
        .await;
        assert_eq!(
            inventory(&engine, drill).await.containers.len(),
            2,
            "{context}: the drill's lab is up"
        );
        run.signal(signal);
        let (status, err) = run.finish(Duration::from_secs(120)).await;
        if signal == libc::SIGKILL {
            assert_eq!(status.signal(), Some(libc::SIGKILL), "{context}: {err}");
            assert!(!inventory(&engine, drill).await.is_empty(), "{context}");
            ok(&["down", "--name", drill]);
        } else {
            assert_eq!(status.code(), Some(3), "{context}: {err}");
            assert!(
                err.contains(&format!("drill interrupted by {}", signal_name(signal))),
                "{context}: {err}"
            );
            // the run so far is reported
            let json: serde_json::Value = serde_json::from_str(&read(
                &runs.path().join("failover-switchback/latest/report.json"),
            ))
            .unwrap();
            assert!(
                json["events"].as_array().unwrap().len() > 3,
                "{context}: {json}"
            );
        }
        assert_nothing_left(&engine, drill, &context).await;
        assert_untouched(&engine, other, &before).await;
    }

    let removed = ok(&["down", "--name", other]);
    assert!(
        removed.contains("2 container(s), 1 network(s), 8 volume(s)"),
        "{removed}"
    );
    assert_nothing_left(&engine, other, "down").await;
}

/// A SIGTERM that arrives just after the drill's lab is up (while the drill works out who is
/// primary, before its first step) must stop the drill like any other.
#[tokio::test]
async fn a_signal_between_up_and_the_first_step_stops_the_drill() {
    let engine = support::engine().await;
    let version = support::images(&engine).await.version.to_string();
    let name = "rel-gap";
    let _down = fresh(name);
    for delay_ms in [20, 50, 100] {
        let context = format!("SIGTERM {delay_ms} ms after the lab's checks passed");
        let runs = tempfile::tempdir().unwrap();
        let mut run = Running::spawn(&[
            "drill",
            "run",
            "partition-heal",
            "--pg-version",
            &version,
            "--name",
            name,
            "--subnet",
            "172.16.73.0/24",
            "--runs-dir",
            runs.path().to_str().unwrap(),
        ]);
        wait_until(
            &mut run,
            &context,
            Duration::from_secs(300),
            |err| async move { err.lines().any(|l| l.starts_with("[checks]")) },
        )
        .await;
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        run.signal(libc::SIGTERM);
        let (status, err) = run.finish(Duration::from_secs(300)).await;
        assert_eq!(
            status.code(),
            Some(3),
            "{context}: the signal was ignored and the drill ran on ({status}):\n{err}"
        );
        assert!(err.contains("interrupted by SIGTERM"), "{context}: {err}");
        assert!(!err.contains("drill PASSED"), "{context}: {err}");
        assert_nothing_left(&engine, name, &context).await;
    }
}

// ---------------------------------------------------------------------------------------------
// 2. two labs side by side

#[tokio::test]
async fn two_drills_run_side_by_side_and_leave_nothing() {
    let engine = support::engine().await;
    let version = support::images(&engine).await.version.to_string();
    let _a = fresh("rel-a");
    let _b = fresh("rel-b");
    let runs = tempfile::tempdir().unwrap();
    let runs_dir = runs.path().to_str().unwrap();
    let start = |drill: &str, name: &str, subnet: &str| {
        Running::spawn(&[
            "drill",
            "run",
            drill,
            "--pg-version",
            &version,
            "--name",
            name,
            "--subnet",
            subnet,
            "--runs-dir",
            runs_dir,
        ])
    };
    let a = start("partition-heal", "rel-a", "172.16.80.0/24");
    let b = start("archive-only-catchup", "rel-b", "172.16.81.0/24");
    // both labs exist at the same time at some point
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut together = false;
    while Instant::now() < deadline {
        let (ia, ib) = (
            inventory(&engine, "rel-a").await,
            inventory(&engine, "rel-b").await,
        );
        if ia.containers.len() == 2 && ib.containers.len() == 2 {
            together = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(together, "the two labs never ran at the same time");
    let (sa, ea) = a.finish(Duration::from_secs(900)).await;
    let (sb, eb) = b.finish(Duration::from_secs(900)).await;
    for (drill, status, err) in [("partition-heal", sa, ea), ("archive-only-catchup", sb, eb)] {
        let report = std::fs::read_to_string(runs.path().join(drill).join("latest/report.md"))
            .unwrap_or_default();
        assert!(
            status.success(),
            "{drill} failed ({status}):\n{err}\n{report}"
        );
        assert!(report.contains("**Result: PASSED**"), "{drill}: {report}");
    }
    assert_nothing_left(&engine, "rel-a", "partition-heal").await;
    assert_nothing_left(&engine, "rel-b", "archive-only-catchup").await;
    assert_no_secrets(runs.path(), &[], &[]);
}

// ---------------------------------------------------------------------------------------------
// 3. bad input

fn check_drill(dir: &Path, file: &str, text: &[u8]) -> (PathBuf, Output) {
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    let out = lab(&["drill", "check", path.to_str().unwrap()]);
    (path, out)
}

#[test]
fn invalid_drill_files_are_refused_at_file_line_col() {
    let dir = tempfile::tempdir().unwrap();
    let step = |body: &str| format!("{HEAD}[[steps]]\ntitle = \"s\"\non = \"node1\"\n{body}");
    let huge = format!(
        "{HEAD}# {}\n[[steps]]\ntitle = \"n\"\nnote = \"x\"\n",
        "x".repeat(1_100_000)
    );
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "unknown-key.toml",
            format!("{HEAD}colour = \"red\"\n[[steps]]\ntitle = \"n\"\nnote = \"x\"\n"),
            "4:1",
            "unknown key `colour`",
        ),
        (
            "wrong-type-timeout.toml",
            step("run = \"true\"\ntimeout = 10\n"),
            "8:11",
            "`timeout` must be a duration string",
        ),
        (
            "wrong-type-bool.toml",
            step("run = \"true\"\nbackground = \"yes\"\n"),
            "8:14",
            "`background` must be true or false, not a string",
        ),
        ("huge.toml", huge, "1:1", "limited to 1 MiB"),
        (
            "outside.toml",
            step("action = \"local_backup\"\nwith = { to = \"/etc\" }\n"),
            "8:15",
            "path `/etc` for `to` is outside the lab's disks",
        ),
        (
            "dotdot.toml",
            step("action = \"local_backup\"\nwith = { to = \"/disk3/../etc\" }\n"),
            "8:15",
            "has a `..` component",
        ),
        (
            "spare.toml",
            step("action = \"move_aside\"\nwith = { to = \"/disk1/x\", what = [\"data\"] }\n"),
            "8:15",
            "is not on the spare disk",
        ),
        (
            "before-capture.toml",
            format!(
                "{HEAD}[[steps]]\ntitle = \"a\"\non = \"node1\"\nrun = \"echo ${{ts}}\"\n\n\
                 [[steps]]\ntitle = \"b\"\non = \"node2\"\nsql = \"select now()\"\ncapture = \"ts\"\n"
            ),
            "7:13",
            "variable `${ts}` is used before step 2 captures it",
        ),
        (
            "undefined.toml",
            step("run = \"ls ${nope}\"\n"),
            "7:11",
            "undefined variable `${nope}`",
        ),
        (
            "not-toml.toml",
            "name = \"d\ntitle = \"T\"\n".to_string(),
            "1:10",
            "invalid TOML",
        ),
    ];
    for (file, text, at, message) in cases {
        let (path, out) = check_drill(dir.path(), file, text.as_bytes());
        assert_eq!(out.status.code(), Some(2), "{file}: {out:?}");
        let line = diagnostic_line(&out);
        let want = format!("{}:{at}: error: ", path.display());
        assert!(
            line.starts_with(&want),
            "{file}: want {want:?}, got {line:?}"
        );
        assert!(
            line.contains(message),
            "{file}: want {message:?}, got {line:?}"
        );
    }

    // Not UTF-8: refused (exit 2) at the first bad byte.
    let mut bytes = HEAD.as_bytes().to_vec();
    bytes.extend_from_slice(b"# \xff\xfe\n");
    let (path, out) = check_drill(dir.path(), "binary.toml", &bytes);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let line = diagnostic_line(&out);
    assert!(
        line.starts_with(&format!("{}:4:3: error: ", path.display())) && line.contains("UTF-8"),
        "{line}"
    );

    // A database name with shell metacharacters is accepted: it is only ever a value (the
    // connection's dbname, see `database_names_are_values_not_shell` below).
    let (_, out) = check_drill(
        dir.path(),
        "db.toml",
        step("sql = \"select 1\"\ndb = \"testdb; rm -rf /\"\n").as_bytes(),
    );
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok (1 steps)"));
}

/// Paths are checked to lie under the lab's disks, then pasted unquoted into shell commands:
/// a space or a shell metacharacter must be refused, or the check means nothing
/// (`to = "/disk4/x /etc"` moves the data directory into /etc and chowns /etc).
#[test]
fn paths_with_spaces_or_shell_metacharacters_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let step = |body: &str| format!("{HEAD}[[steps]]\ntitle = \"s\"\non = \"node1\"\n{body}");
    for (file, body) in [
        (
            "space.toml",
            "action = \"move_aside\"\nwith = { to = \"/disk4/x /etc\", what = [\"data\"] }\n",
        ),
        (
            "semicolon.toml",
            "action = \"local_backup\"\nwith = { to = \"/disk3/b; touch /tmp/pwned\" }\n",
        ),
        (
            "substitution.toml",
            "action = \"local_backup\"\nwith = { to = \"/disk3/$(touch /tmp/pwned)\" }\n",
        ),
    ] {
        let (path, out) = check_drill(dir.path(), file, step(body).as_bytes());
        // Shown only if the file were accepted: what its path would do in a shell.
        let runbook = String::from_utf8_lossy(
            &lab(&[
                "drill",
                "runbook",
                path.to_str().unwrap(),
                "--without-setup",
            ])
            .stdout,
        )
        .into_owned();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{file} is accepted ({}), and its path reaches the shell unquoted:\n{runbook}",
            out.status
        );
        let line = diagnostic_line(&out);
        assert!(
            line.starts_with(&format!("{}:8:", path.display())) && line.contains(": error: "),
            "{line}"
        );
    }
}

/// A drill file is limited to 1 MiB: an endless one (/dev/zero, a pipe) must be refused after
/// reading that much, not read until memory runs out.
#[test]
fn an_endless_drill_file_is_refused_without_reading_it_all() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lab"));
    cmd.args(["drill", "check", "/dev/zero"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; it only caps the child's address space (1 GiB)
    // so that a failure here cannot exhaust the machine's memory.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 1 << 30,
                rlim_max: 1 << 30,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("lab drill check /dev/zero still reading after 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("/dev/zero:1:1:") && err.contains("1 MiB") && !err.contains("out of memory"),
        "expected the 1 MiB limit at /dev/zero:1:1, got: {}",
        err.chars().take(600).collect::<String>()
    );
}

#[tokio::test]
async fn bad_flags_tarballs_and_an_unreachable_engine_are_refused() {
    let engine = support::engine().await;
    let images = support::images(&engine).await;
    let version = images.version.to_string();

    // flags: exit 2, one `error:` line saying what is wrong, nothing created
    for (args, message) in [
        (
            vec![
                "up",
                "--pg-version",
                "9",
                "--name",
                "rel-bad-version",
                "--subnet",
                "172.16.74.0/24",
            ],
            "`9` is not a PostgreSQL version: before 10 a major version has two parts",
        ),
        (
            vec![
                "up",
                "--pg-version",
                version.as_str(),
                "--name",
                "rel-bad-subnet",
                "--subnet",
                "300.1.1.0/24",
            ],
            "--subnet 300.1.1.0/24: expected an IPv4 network",
        ),
        (
            vec![
                "up",
                "--pg-version",
                version.as_str(),
                "--name",
                "Bad Name",
                "--subnet",
                "172.16.74.0/24",
            ],
            "lab name `Bad Name`: use 1-40 lowercase letters, digits and dashes",
        ),
        (
            vec!["status", "--name", "rel-nosuchlab"],
            "no lab named `rel-nosuchlab` is running",
        ),
        (
            vec!["drill", "run", "no-such-drill", "--name", "rel-bad-drill"],
            "`no-such-drill` is neither a built-in drill",
        ),
    ] {
        let out = lab(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let line = error_line(&out);
        assert!(
            stderr_of(&out).starts_with("error:") && line.contains(message),
            "{args:?}: {}",
            stderr_of(&out)
        );
    }

    // tarballs: a temporary cache, so that the real one is untouched
    let real_cache = lab::image::build::cache_dir(None).join("tarballs");
    let listing = |dir: &Path| -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| {
                        (
                            e.file_name().to_string_lossy().into_owned(),
                            e.metadata().map(|m| m.len()).unwrap_or(0),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let real_before = listing(&real_cache);
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let build = |tarball: &Path, version: &str| {
        lab(&[
            "images",
            "build",
            "--pg-version",
            version,
            "--pg-tarball",
            tarball.to_str().unwrap(),
            "--cache-dir",
            cache.to_str().unwrap(),
        ])
    };

    // a truncated copy of the real tarball: refused, showing the expected and the actual sum
    let real = real_cache.join(format!("postgresql-{version}.tar.bz2"));
    let whole = std::fs::read(&real)
        .unwrap_or_else(|e| panic!("the test images' tarball {}: {e}", real.display()));
    let cut = &whole[..whole.len() / 3];
    let dir = tmp.path().join("truncated");
    std::fs::create_dir_all(&dir).unwrap();
    let truncated = dir.join(format!("postgresql-{version}.tar.bz2"));
    std::fs::write(&truncated, cut).unwrap();
    let sidecar = PathBuf::from(format!("{}.sha256", real.display()));
    if sidecar.exists() {
        std::fs::copy(&sidecar, format!("{}.sha256", truncated.display())).unwrap();
    }
    let out = build(&truncated, &version);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let line = error_line(&out);
    assert!(line.contains("checksum mismatch"), "{line}");
    assert!(line.contains(&sha256_hex(&whole)), "expected sum: {line}");
    assert!(line.contains(&sha256_hex(cut)), "actual sum: {line}");

    // garbage named 15.18 with a wrong .sha256 beside it: 15.18's pinned sum wins, both shown
    // (it starts as bzip2 data does, so that --pg-tarball's check of the file lets it through
    // to the checksum)
    let garbage: Vec<u8> = b"BZh"
        .iter()
        .copied()
        .chain((0..100_000u32).map(|i| (i * 7919 % 251) as u8))
        .collect();
    let file = with_wrong_sidecar(&tmp.path().join("pinned"), "15.18", &garbage);
    let out = build(&file, "15.18");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let line = error_line(&out);
    assert!(
        line.contains(
            lab::tarball::PINNED_SHA256
                .iter()
                .find(|(v, _)| *v == "15.18")
                .unwrap()
                .1
        ) && line.contains("pinned SHA-256")
            && line.contains(&sha256_hex(&garbage)),
        "{line}"
    );

    // garbage of a release the lab does not pin, with a wrong .sha256 beside it
    let file = with_wrong_sidecar(&tmp.path().join("sidecar"), "15.17", &garbage);
    let out = build(&file, "15");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let line = error_line(&out);
    assert!(
        line.contains("checksum mismatch")
            && line.contains(&"a".repeat(64))
            && line.contains(".tar.bz2.sha256")
            && line.contains(&sha256_hex(&garbage)),
        "{line}"
    );

    // the same without a checksum source: --allow-unverified is the way out
    let dir = tmp.path().join("unverified");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("postgresql-15.17.tar.bz2");
    std::fs::write(&file, &garbage).unwrap();
    let out = build(&file, "15");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let line = error_line(&out);
    assert!(
        line.contains("no checksum is known") && line.contains("--allow-unverified"),
        "{line}"
    );
    assert!(
        listing(&cache.join("tarballs")).is_empty(),
        "a refused tarball went into the cache"
    );
    assert_eq!(listing(&real_cache), real_before, "the real cache changed");

    // an engine that cannot be reached: exit 3, one line naming where it was looked for
    let out = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(["status", "--name", "rel-nosuchlab"])
        .env("DOCKER_HOST", "unix:///nonexistent.sock")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let line = error_line(&out);
    assert_eq!(stderr_of(&out).lines().count(), 1, "{}", stderr_of(&out));
    assert!(
        line.contains("cannot reach the Docker Engine (unix:///nonexistent.sock)"),
        "{line}"
    );

    // and no lab was left behind by any of it
    for name in [
        "rel-bad-version",
        "rel-bad-subnet",
        "rel-nosuchlab",
        "rel-bad-drill",
    ] {
        assert_nothing_left(&engine, name, "bad input").await;
    }
    let all = lab::cluster::inventory(&engine, None).await.unwrap();
    for n in all
        .containers
        .iter()
        .chain(&all.networks)
        .chain(&all.volumes)
    {
        assert!(
            !(n.starts_with("pglab-rel-bad") || n.starts_with("pglab-rel-nosuch")),
            "{n} was left"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 4. security of a running lab

/// The addresses a pg_hba.conf line allows, checked: loopback, or one host of the lab's subnet.
fn assert_hba_limited(node: &str, hba: &str, subnet: &str) {
    let mut lab_lines = 0;
    for line in hba.lines() {
        let line = line.split('#').next().unwrap().trim();
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let method = *f.last().unwrap();
        match f[0] {
            "local" => continue,
            "host" | "hostssl" | "hostnossl" | "hostgssenc" | "hostnogssenc" => {}
            other => panic!("{node}: unexpected pg_hba.conf line type {other}: {line}"),
        }
        assert!(f.len() >= 5, "{node}: {line}");
        let addr = f[3];
        let loopback = addr == "127.0.0.1/32" || addr == "::1/128";
        if loopback {
            continue;
        }
        assert_ne!(method, "trust", "{node}: trust beyond loopback: {line}");
        let (ip, len) = addr
            .split_once('/')
            .unwrap_or_else(|| panic!("{node}: not a single address: {line}"));
        assert_eq!(len, "32", "{node}: a whole network is allowed: {line}");
        assert!(
            lab::cluster::in_subnet(ip, subnet),
            "{node}: {ip} is outside the lab's subnet {subnet}: {line}"
        );
        lab_lines += 1;
    }
    assert!(
        lab_lines >= 3,
        "{node}: the lab's own pg_hba.conf lines are missing:\n{hba}"
    );
}

async fn ssh_key(name: &str, node: &str) -> String {
    let key = ok(&[
        "exec",
        "--name",
        name,
        node,
        "--",
        "cat",
        "/home/postgres/.ssh/id_rsa",
    ]);
    assert!(key.contains("PRIVATE KEY"), "{name}/{node}: {key}");
    key
}

fn free_port(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

#[tokio::test]
async fn a_running_lab_is_unprivileged_unpublished_and_keeps_its_secrets() {
    let engine = support::engine().await;
    let images = support::images(&engine).await;
    let version = images.version.to_string();
    let (name, subnet) = ("rel-sec", "172.16.75.0/24");
    let _sec = fresh(name);
    let _publ = fresh("rel-pub");
    support::up(&version, name, subnet, &[]);

    // containers: not privileged, no added capabilities, no host namespaces, no engine socket,
    // nothing published
    let mut secrets = Vec::new();
    for node in ["node1", "node2"] {
        let c = lab::cluster::container_name(name, node.parse().expect("a node"));
        let i = inspect(&engine, &c).await;
        let hc = i.host_config.clone().unwrap();
        assert_ne!(hc.privileged, Some(true), "{c} is privileged");
        assert!(
            hc.cap_add.unwrap_or_default().is_empty(),
            "{c} has capabilities added"
        );
        assert!(hc.devices.unwrap_or_default().is_empty(), "{c} has devices");
        for (what, mode) in [
            ("network", hc.network_mode.clone()),
            ("pid", hc.pid_mode.clone()),
        ] {
            assert_ne!(mode.as_deref(), Some("host"), "{c}: host {what} namespace");
        }
        assert_eq!(hc.network_mode.as_deref(), Some("pglab-rel-sec"), "{c}");
        for opt in hc.security_opt.unwrap_or_default() {
            assert!(!opt.contains("unconfined"), "{c}: {opt}");
        }
        assert_ne!(hc.publish_all_ports, Some(true), "{c}");
        assert!(
            hc.port_bindings.unwrap_or_default().is_empty(),
            "{c} publishes ports"
        );
        let ports = i.network_settings.and_then(|n| n.ports).unwrap_or_default();
        assert!(
            ports
                .values()
                .all(|b| b.as_ref().is_none_or(|b| b.is_empty())),
            "{c} publishes {ports:?}"
        );
        for m in i.mounts.unwrap_or_default() {
            let src = m.source.unwrap_or_default();
            assert!(!src.contains("docker.sock"), "{c} mounts {src}");
        }
        let labels = i.config.and_then(|c| c.labels).unwrap_or_default();
        secrets.extend(labels.get(lab::cluster::SECRET_LABEL).cloned());
    }
    assert_eq!(secrets.len(), 2);

    // the node image holds no SSH key (neither the user's nor host keys)
    let probe = Command::new("docker")
        .args([
            "run",
            "--rm",
            "--network",
            "none",
            "--name",
            "rel-sec-image-probe",
            &images.node,
            "sh",
            "-c",
            "ls -A /home/postgres/.ssh 2>/dev/null; ls /etc/ssh | grep ssh_host_; \
             grep -rl 'PRIVATE KEY' /home /root /etc/ssh 2>/dev/null; echo probed",
        ])
        .output()
        .expect("the docker CLI runs");
    let seen = String::from_utf8_lossy(&probe.stdout);
    assert_eq!(
        seen.trim(),
        "probed",
        "the node image {} holds keys: {seen}",
        images.node
    );

    // each node has its own key, private to postgres
    let keys = vec![ssh_key(name, "node1").await, ssh_key(name, "node2").await];
    assert_ne!(keys[0], keys[1], "both nodes share one key");
    for node in ["node1", "node2"] {
        let mode = ok(&[
            "exec",
            "--name",
            name,
            node,
            "--",
            "stat",
            "-c",
            "%a %U",
            "/home/postgres/.ssh/id_rsa",
        ]);
        assert_eq!(mode.trim(), "600 postgres", "{node}");
    }

    // pg_hba.conf on both nodes allows only loopback and the lab's own addresses
    for node in ["node1", "node2"] {
        let hba = ok(&[
            "exec",
            "--name",
            name,
            node,
            "--",
            "cat",
            "/disk1/data/pg_hba.conf",
        ]);
        assert_hba_limited(node, &hba, subnet);
    }

    // a short drill on this lab: its run directory holds no key and no password
    let runs = tempfile::tempdir().unwrap();
    let runs_dir = runs.path().to_str().unwrap();
    let reused = support::run_drill_reusing("partition-heal", name, runs.path());
    assert!(reused.status.success(), "{reused:?}");

    // a database name with shell metacharacters is used as a name, never run
    let file = runs.path().join("db.toml");
    std::fs::write(
        &file,
        format!(
            "{HEAD}[[steps]]\ntitle = \"s\"\non = \"node1\"\nsql = \"select 1\"\n\
             db = \"testdb; touch /disk4/injected\"\n"
        ),
    )
    .unwrap();
    let out = lab(&[
        "drill",
        "run",
        file.to_str().unwrap(),
        "--reuse",
        "--name",
        name,
        "--runs-dir",
        runs_dir,
    ]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let report = read(&runs.path().join("d/latest/report.md"));
    assert!(report.contains("✘ ERROR"), "{report}");
    // the server was asked for a database of that name
    let log = ok(&["logs", "--name", name, "node1"]);
    assert!(
        log.contains("database \"testdb; touch /disk4/injected\" does not exist"),
        "{log}"
    );
    let injected = lab(&[
        "exec",
        "--name",
        name,
        "node1",
        "--",
        "ls",
        "/disk4/injected",
    ]);
    assert!(!injected.status.success(), "the db name ran as a command");
    assert_untouched(&engine, name, &snapshot(&engine, name).await).await;
    assert_no_secrets(runs.path(), &keys, &secrets);

    // --publish: node1 on 127.0.0.1:25432, node2 on 127.0.0.1:25433, nowhere else
    assert!(
        free_port(25432) && free_port(25433),
        "ports 25432/25433 are taken on this machine"
    );
    ok(&[
        "up",
        "--pg-version",
        &version,
        "--name",
        "rel-pub",
        "--subnet",
        "172.16.76.0/24",
        "--check-seconds",
        "2",
        "--publish",
        "25432",
    ]);
    for (node, port) in [("node1", "25432"), ("node2", "25433")] {
        let c = lab::cluster::container_name("rel-pub", node.parse().expect("a node"));
        let i = inspect(&engine, &c).await;
        let bindings = i.host_config.unwrap().port_bindings.unwrap_or_default();
        let live = i.network_settings.and_then(|n| n.ports).unwrap_or_default();
        for map in [&bindings, &live] {
            assert_eq!(map.len(), 1, "{c}: {map:?}");
            let b = map["5432/tcp"].clone().unwrap_or_default();
            assert!(!b.is_empty(), "{c}: {map:?}");
            for b in b {
                assert_eq!(b.host_ip.as_deref(), Some("127.0.0.1"), "{c}: {map:?}");
                assert_eq!(b.host_port.as_deref(), Some(port), "{c}: {map:?}");
            }
        }
        tokio::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap()))
            .await
            .unwrap_or_else(|e| panic!("{c}: nothing answers on 127.0.0.1:{port}: {e}"));
    }
    // another lab, other keys
    let other = ssh_key("rel-pub", "node1").await;
    assert!(!keys.contains(&other), "two labs share an SSH key");

    ok(&["down", "--name", "rel-pub"]);
    ok(&["down", "--name", name]);
    assert_nothing_left(&engine, "rel-pub", "down").await;
    assert_nothing_left(&engine, name, "down").await;
}

/// A genuine tarball whose name says another release than `--pg-version` (here the default,
/// 9.3.25) must be refused for that reason, not called corrupt: the message has to name the
/// release it was checked as.
#[tokio::test]
async fn a_tarball_named_for_another_release_is_not_called_corrupt() {
    let engine = support::engine().await;
    let version = support::images(&engine).await.version.to_string();
    let real = lab::image::build::cache_dir(None)
        .join("tarballs")
        .join(format!("postgresql-{version}.tar.bz2"));
    assert!(real.is_file(), "{} is missing", real.display());
    let tmp = tempfile::tempdir().unwrap();
    let link = tmp.path().join(real.file_name().unwrap());
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = lab(&[
        "images",
        "build",
        "--pg-tarball",
        link.to_str().unwrap(),
        "--cache-dir",
        tmp.path().join("cache").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let line = error_line(&out);
    assert!(
        line.contains("9.3.25") && line.contains(&version),
        "the message should say that the file is {version} and --pg-version 9.3.25: {line}"
    );
}

/// The engine hangs (alive, answering nothing) under a running `up`: with a 5 s request bound
/// (`LAB_ENGINE_TIMEOUT`) the command stops within bounds, exits 3 saying the engine stopped
/// answering and that the lab could not be removed, names the command that removes it, and that
/// command, run on the real engine, leaves nothing.
#[tokio::test]
async fn an_engine_that_hangs_is_reported_and_down_cleans_up_after() {
    let engine = support::engine().await;
    let version = support::images(&engine).await.version.to_string();
    let (name, subnet) = ("rel-hung-up", "172.16.79.0/24");
    let _guard = fresh(name);
    let proxy = EngineProxy::start();
    let host = proxy.host();
    let argv = [
        "up",
        "--pg-version",
        &version,
        "--name",
        name,
        "--subnet",
        subnet,
    ];
    let env = [("DOCKER_HOST", host.as_str()), ("LAB_ENGINE_TIMEOUT", "5")];
    let mut run = Running::spawn_with(&argv, &env);
    let hang_at = "start the master (p.9) (";
    wait_until(&mut run, hang_at, Duration::from_secs(120), |e| {
        let at = e.contains(hang_at);
        async move { at }
    })
    .await;
    proxy.hang();
    let hung_at = Instant::now();
    let (status, stderr) = run.finish(Duration::from_secs(180)).await;
    assert_eq!(status.code(), Some(3), "{stderr}");
    // the step's own exec bound (its command), then a few 5 s requests during the clean-up
    assert!(hung_at.elapsed() < Duration::from_secs(150), "{stderr}");
    drop(proxy);
    assert_left_for_lab_down(&engine, name, &host, &stderr).await;
}

/// The last error says the engine (`host`) stopped answering, that lab `name` could not be
/// removed, and which command removes it; and that is true: the lab is still there, and that
/// command, run on the real engine, leaves nothing.
async fn assert_left_for_lab_down(engine: &Engine, name: &str, host: &str, stderr: &str) {
    let error = &stderr[stderr
        .rfind("error: ")
        .unwrap_or_else(|| panic!("{name}: {stderr}"))..];
    for said in [
        format!("the Docker Engine ({host}) stopped answering"),
        format!("lab `{name}` could not be removed"),
        format!("`lab down --name {name}` removes it"),
    ] {
        assert!(error.contains(&said), "{name}: no `{said}` in:\n{stderr}");
    }
    assert!(
        !inventory(engine, name).await.is_empty(),
        "{name}: nothing was left, yet the lab said it could not remove it"
    );
    ok(&["down", "--name", name]);
    assert_nothing_left(engine, name, "after `lab down`").await;
}

/// The engine goes away under a running `up`, then under a running drill: each stops within
/// bounds (no hang), exits 3 saying the engine stopped answering and that the lab could not be
/// removed, names the command that removes it, and that command, run once the engine is back,
/// leaves nothing.
#[tokio::test]
async fn an_engine_lost_mid_run_is_reported_and_down_cleans_up_after() {
    let engine = support::engine().await;
    let version = support::images(&engine).await.version.to_string();
    let runs = tempfile::tempdir().unwrap();
    let runs_dir = runs.path().display().to_string();
    for (name, subnet, args, cut_at) in [
        (
            "rel-lost-up",
            "172.16.77.0/24",
            vec!["up"],
            // chapter 1 is under way on node1: the containers and network exist
            "start the master (p.9) (",
        ),
        (
            "rel-lost-drill",
            "172.16.78.0/24",
            vec![
                "drill",
                "run",
                "failover-switchback",
                "--runs-dir",
                &runs_dir,
            ],
            // the drill's second step has started
            "\u{25b6}  2.",
        ),
    ] {
        let _guard = fresh(name);
        let proxy = EngineProxy::start();
        let host = proxy.host();
        let mut argv = args.clone();
        argv.extend(["--pg-version", &version, "--name", name, "--subnet", subnet]);
        let mut run = Running::spawn_with(&argv, &[("DOCKER_HOST", &host)]);
        wait_until(&mut run, cut_at, Duration::from_secs(120), |e| {
            let at = e.contains(cut_at);
            async move { at }
        })
        .await;
        proxy.cut();
        let (status, stderr) = run.finish(Duration::from_secs(120)).await;
        assert_eq!(status.code(), Some(3), "{name}: {stderr}");
        assert_left_for_lab_down(&engine, name, &host, &stderr).await;
    }
}
