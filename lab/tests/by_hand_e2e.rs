//! A hands-on rehearsal played by a test that acts as the DBA: it runs `lab drill run
//! --by-hand` with piped standard input and error, reads each prompt, and performs the commands
//! shown on the named node itself through `lab exec` (root for the `#` lines), as a DBA would
//! type them in `lab shell`. Once (at the promotion, or the PITR's start) it first types a
//! command that changes nothing (`pg_ctl status`): the lab must catch it with a clear message,
//! and the retry must pass. It lets the lab do one step (`l`). The drill must pass, and its
//! report must say who did each step, the checks and the time.

mod support;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lab::drill::event::{Event, Performer, RunReport};
use support::{Down, Pg};

/// The end of every prompt the DBA answers.
const PROMPT_END: &str = "q: stop > ";

/// `lab drill run … --by-hand` as a child whose standard error is read into a buffer.
struct Session {
    child: Child,
    stdin: ChildStdin,
    err: Arc<Mutex<String>>,
    read: usize,
}

impl Session {
    fn start(drill: &str, name: &str, runs: &Path) -> Session {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lab"))
            .args([
                "drill",
                "run",
                drill,
                "--by-hand",
                "--reuse",
                "--name",
                name,
            ])
            .args(["--runs-dir", runs.to_str().expect("a UTF-8 path")])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the lab binary runs");
        let stdin = child.stdin.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        let err = Arc::new(Mutex::new(String::new()));
        let sink = err.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Session {
            child,
            stdin,
            err,
            read: 0,
        }
    }

    /// The text up to the next prompt, or `None` once the drill has ended.
    fn next_prompt(&mut self) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(900);
        loop {
            {
                let text = self.err.lock().unwrap();
                if let Some(i) = text[self.read..].find(PROMPT_END) {
                    let end = self.read + i + PROMPT_END.len();
                    let prompt = text[self.read..end].to_string();
                    self.read = end;
                    return Some(prompt);
                }
            }
            if self.child.try_wait().expect("waitable").is_some() {
                std::thread::sleep(Duration::from_millis(300));
                return None;
            }
            assert!(
                Instant::now() < deadline,
                "no prompt for 15 minutes:\n{}",
                self.transcript()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn answer(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("the drill reads its input");
        self.stdin.flush().unwrap();
    }

    fn transcript(&self) -> String {
        self.err.lock().unwrap().clone()
    }
}

/// A step the DBA is asked to perform, as its prompt shows it.
struct Asked {
    number: usize,
    node: String,
    title: String,
    /// Each command (`$`/`#` lines) or file (`[path]` and its lines).
    items: Vec<Vec<String>>,
}

/// Reads the last "your turn" block of a prompt.
fn asked(prompt: &str) -> Option<Asked> {
    let start = prompt.rfind("── step ")?;
    let block = &prompt[start..];
    let header = block.lines().next()?;
    let rest = header.strip_prefix("── step ")?;
    let (number, rest) = rest.split_once(" · your turn, on ")?;
    let (node, rest) = rest.split_once(' ')?;
    let title = rest.split_once("): ")?.1.to_string();
    let body = block.split("\n   do:\n").nth(1)?;
    let body = body.split("   the lab then checks:").next()?;
    let mut items = vec![Vec::new()];
    for line in body.lines() {
        match line.strip_prefix("     ") {
            Some(l) => items.last_mut().unwrap().push(l.to_string()),
            None => items.push(Vec::new()),
        }
    }
    items.retain(|i| !i.is_empty());
    Some(Asked {
        number: number.parse().ok()?,
        node: node.to_string(),
        title,
        items,
    })
}

/// Performs one item on `node` as the DBA would: a command as its prompt's user, or a file.
fn perform(name: &str, node: &str, item: &[String]) {
    let first = &item[0];
    let mut args = vec!["exec", "--name", name];
    let script;
    let content;
    if let Some(header) = first.strip_prefix('[') {
        let (path, how) = header.split_once(']').expect("[path]");
        let redirect = if how.contains("append") { ">>" } else { ">" };
        content = item[1..]
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>();
        script = format!("printf '%s' \"$1\" {redirect} {path}");
        args.extend([node, "--", "bash", "-c", &script, "_", &content]);
    } else {
        let root = first.starts_with("# ");
        let lines: Vec<&str> = item.iter().map(|l| &l[2..]).collect();
        script = format!("set -e\n{}", lines.join("\n"));
        if root {
            args.push("--root");
        }
        args.extend([node, "--", "bash", "-c", &script]);
    }
    let out = support::lab(&args);
    assert!(
        out.status.success(),
        "the DBA's command on {node} failed: {item:?}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What the played DBA did, for the assertions.
#[derive(Default)]
struct Played {
    /// The steps performed by the test as the DBA.
    by_dba: Vec<usize>,
    /// The step left to the lab (`l`).
    by_lab: Option<usize>,
    /// The step where a wrong command was typed first, and the message the lab gave.
    wrong: Option<(usize, String)>,
}

/// Plays the DBA through a whole drill: every step performed as shown, except a wrong command
/// first at the first step whose title contains `wrong_at`, and `l` at the first whose title
/// contains `lab_at`.
fn play(session: &mut Session, name: &str, wrong_at: &str, lab_at: &str) -> Played {
    let mut played = Played::default();
    while let Some(prompt) = session.next_prompt() {
        let a = asked(&prompt).unwrap_or_else(|| panic!("a prompt without a step:\n{prompt}"));
        if played.by_lab.is_none() && a.title.contains(lab_at) {
            played.by_lab = Some(a.number);
            session.answer("l");
            continue;
        }
        if played.wrong.is_none() && a.title.contains(wrong_at) {
            // Not what the step asks (it only looks): the server stays as it is.
            perform(name, &a.node, &["$ pg_ctl status || true".to_string()]);
            session.answer("");
            let retry = session
                .next_prompt()
                .expect("the lab asks again after a failed check");
            assert!(
                retry.contains("✘ check 1 failed: expected") && retry.contains("there is:"),
                "the wrong command was not caught clearly:\n{retry}"
            );
            played.wrong = Some((a.number, retry));
        }
        for item in &a.items {
            perform(name, &a.node, item);
        }
        played.by_dba.push(a.number);
        session.answer("");
    }
    played
}

/// Rehearses `drill` by hand on a lab of `pg` and checks the run and its report.
async fn rehearse(
    pg: Pg,
    drill: &str,
    name: &'static str,
    subnet: &str,
    wrong_at: &str,
    lab_at: &str,
) {
    let images = pg.images(&support::engine().await).await;
    let flags = pg.flags(&images);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let _down = Down(name);
    let _ = support::lab(&["down", "--name", name]);
    let t0 = Instant::now();
    support::up(flags[1], name, subnet, &flags[2..]);
    let up = t0.elapsed();
    let runs = tempfile::tempdir().unwrap();
    let t1 = Instant::now();
    let mut session = Session::start(drill, name, runs.path());
    let played = play(&mut session, name, wrong_at, lab_at);
    let status = session.child.wait().unwrap();
    let transcript = session.transcript();
    let kept = std::env::temp_dir().join(format!("{name}-{drill}-transcript.txt"));
    std::fs::write(&kept, &transcript).unwrap();
    eprintln!(
        "{drill} on {}: lab up {:.0} s, hands-on drill {:.0} s; transcript: {}",
        images.version,
        up.as_secs_f64(),
        t1.elapsed().as_secs_f64(),
        kept.display()
    );
    assert!(
        status.success(),
        "the rehearsal failed ({status}):\n{transcript}"
    );
    let (wrong_step, message) = played.wrong.expect("a wrong command was typed");
    assert!(
        played.by_lab.is_some() && played.by_dba.len() >= 5,
        "{transcript}"
    );

    let dir = runs.path().join(drill).join("latest");
    let report: RunReport =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let performed: Vec<(usize, Performer, u32, Vec<String>)> = report
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Performed {
                number,
                by,
                tries,
                wrong,
                ..
            } => Some((*number, *by, *tries, wrong.clone())),
            _ => None,
        })
        .collect();
    for n in &played.by_dba {
        let (_, by, tries, _) = performed.iter().find(|p| p.0 == *n).expect("recorded");
        assert_eq!(*by, Performer::Dba, "step {n}");
        assert!(*tries >= 1, "step {n}");
    }
    let lab_step = performed
        .iter()
        .find(|p| Some(p.0) == played.by_lab)
        .unwrap();
    assert_eq!(lab_step.1, Performer::Lab);
    let wrong = performed.iter().find(|p| p.0 == wrong_step).unwrap();
    assert_eq!(wrong.2, 2, "the wrong step took two checks");
    assert!(
        wrong.3.len() == 1 && message.contains(wrong.3[0].split("; there is").next().unwrap()),
        "{wrong:?} vs {message}"
    );
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("**Result: PASSED**"), "{md}");
    assert!(md.contains("## Hands-on rehearsal"), "{md}");
    assert!(md.contains("| DBA |") && md.contains("| lab |"), "{md}");
    assert!(
        md.contains("after 2 checks") && md.contains("- not yet: "),
        "{md}"
    );
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(
        junit.contains("performed by the DBA, after 2 checks")
            && junit.contains("not yet: expected"),
        "{junit}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failover_switchback_by_hand_on_9_3() {
    rehearse(
        Pg::Pg93,
        "failover-switchback",
        "by-hand-fs93",
        "172.16.100.0/24",
        "promote",
        "load on the new master",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn failover_switchback_by_hand_on_the_current_major() {
    rehearse(
        Pg::Current,
        "failover-switchback",
        "by-hand-fs15",
        "172.16.101.0/24",
        "promote",
        "load on the new master",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pitr_from_standby_backup_by_hand_on_9_3() {
    rehearse(
        Pg::Pg93,
        "pitr-from-standby-backup",
        "by-hand-pitr93",
        "172.16.102.0/24",
        "start the master",
        "relink",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pitr_from_standby_backup_by_hand_on_the_current_major() {
    rehearse(
        Pg::Current,
        "pitr-from-standby-backup",
        "by-hand-pitr15",
        "172.16.103.0/24",
        "start the master",
        "relink",
    )
    .await;
}
