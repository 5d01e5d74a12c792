//! Running commands in a node, as root or as the document's `postgres` user.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use bollard::exec::{CreateExecOptions, StartExecResults};
use futures_util::StreamExt;

use crate::docker::{DockerError, Engine};
use crate::node::NodeId;
use crate::plan::User;

/// How often a running exec asks the engine about itself, to tell a hung engine from a quiet
/// command (each question waits at most [`crate::docker::request_timeout`]).
const HEARTBEAT: Duration = Duration::from_secs(10);

/// One node of a running lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Which node it is.
    pub name: NodeId,
    /// The container's name.
    pub container: String,
    /// The node's address on the lab network.
    pub addr: String,
}

/// What a command printed and how it ended.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// Exit code (126/127 when the program is missing).
    pub code: i64,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Output {
    /// Whether the command exited 0.
    pub fn ok(&self) -> bool {
        self.code == 0
    }

    /// Standard output and error together, trimmed, for messages.
    pub fn combined(&self) -> String {
        let mut s = self.stdout.trim_end().to_string();
        if !self.stderr.trim().is_empty() {
            if !s.is_empty() {
                s.push('\n');
            }
            s.push_str(self.stderr.trim_end());
        }
        s
    }

    /// "exit code N", followed by the last line the command wrote to standard error (else to
    /// standard output), so that a failure says why without opening the report.
    pub fn exit_summary(&self) -> String {
        let last = [&self.stderr, &self.stdout]
            .into_iter()
            .find_map(|s| s.lines().rev().map(str::trim).find(|l| !l.is_empty()));
        match last {
            Some(line) => format!("exit code {}: {line}", self.code),
            None => format!("exit code {}", self.code),
        }
    }
}

/// How much of each output stream a capped exec keeps: its first `head` and last `tail` bytes,
/// with a line saying how many were dropped between them (a `run = "yes"` may write for as
/// long as its timeout allows; the log tap, which counts the bytes it read, is never capped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputCap {
    /// Bytes kept from the start.
    pub head: usize,
    /// Bytes kept from the end.
    pub tail: usize,
}

impl OutputCap {
    /// A drill's `run` steps: 64 KiB from each end of each stream.
    pub const RUN: OutputCap = OutputCap {
        head: 64 * 1024,
        tail: 64 * 1024,
    };
}

/// One stream as it is read: everything, or with a cap its head and a sliding tail.
#[derive(Debug, Default)]
pub struct CappedStream {
    cap: Option<OutputCap>,
    head: Vec<u8>,
    tail: VecDeque<u8>,
    dropped: u64,
}

impl CappedStream {
    /// A stream kept whole (`None`) or within `cap`.
    pub fn new(cap: Option<OutputCap>) -> Self {
        CappedStream {
            cap,
            ..Default::default()
        }
    }

    /// Adds what the command wrote next.
    pub fn push(&mut self, mut bytes: &[u8]) {
        let Some(cap) = self.cap else {
            self.head.extend_from_slice(bytes);
            return;
        };
        let room = cap.head.saturating_sub(self.head.len()).min(bytes.len());
        self.head.extend_from_slice(&bytes[..room]);
        bytes = &bytes[room..];
        if bytes.len() > cap.tail {
            let skip = bytes.len() - cap.tail;
            self.dropped = self.dropped.saturating_add((self.tail.len() + skip) as u64);
            self.tail.clear();
            bytes = &bytes[skip..];
        }
        let over = (self.tail.len() + bytes.len()).saturating_sub(cap.tail);
        self.tail.drain(..over);
        self.dropped = self.dropped.saturating_add(over as u64);
        self.tail.extend(bytes);
    }

    /// The text kept (invalid UTF-8 replaced), with `[… N bytes dropped …]` where bytes were.
    pub fn finish(self) -> String {
        let tail: Vec<u8> = self.tail.into_iter().collect();
        if self.dropped == 0 {
            let mut all = self.head;
            all.extend_from_slice(&tail);
            return String::from_utf8_lossy(&all).into_owned();
        }
        format!(
            "{}\n[… {} bytes dropped …]\n{}",
            String::from_utf8_lossy(&self.head),
            self.dropped,
            String::from_utf8_lossy(&tail)
        )
    }
}

impl Output {
    /// The output within `cap` (for labs that collect it whole).
    pub fn capped(self, cap: OutputCap) -> Output {
        let keep = |text: String| {
            let mut s = CappedStream::new(Some(cap));
            s.push(text.as_bytes());
            s.finish()
        };
        Output {
            code: self.code,
            stdout: keep(self.stdout),
            stderr: keep(self.stderr),
        }
    }
}

/// The environment a command runs in: the postgres user's as chapter 1 sets it (PATH with
/// /usr/local/pgsql/bin, PGDATA), messages in English so they can be matched.
pub fn env_for(user: User) -> Vec<String> {
    let home = match user {
        User::Root => "/root",
        User::Postgres => "/home/postgres",
    };
    vec![
        "PATH=/usr/local/pgsql/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            .into(),
        "PGDATA=/disk1/data".into(),
        format!("HOME={home}"),
        format!("USER={}", user.name()),
        "LC_ALL=C".into(),
        "LANG=C.UTF-8".into(),
    ]
}

impl Node {
    /// Runs `bash -c command` as `user` and waits for it (at most `timeout`). `extra_env` is
    /// added to the environment (used to pass file contents without quoting them).
    pub async fn run(
        &self,
        engine: &Engine,
        user: User,
        command: &str,
        extra_env: &HashMap<String, String>,
        timeout: Duration,
    ) -> Result<Output, DockerError> {
        self.run_capped(engine, user, command, extra_env, timeout, None)
            .await
    }

    /// [`Node::run`], keeping at most `cap` of each output stream (all of it with `None`).
    pub async fn run_capped(
        &self,
        engine: &Engine,
        user: User,
        command: &str,
        extra_env: &HashMap<String, String>,
        timeout: Duration,
        cap: Option<OutputCap>,
    ) -> Result<Output, DockerError> {
        let op = |op: &'static str, source| DockerError::Op {
            op,
            target: format!("{} ({command})", self.name),
            source,
        };
        let mut env = env_for(user);
        env.extend(extra_env.iter().map(|(k, v)| format!("{k}={v}")));
        let exec = engine
            .client()
            .create_exec(
                &self.container,
                CreateExecOptions {
                    cmd: Some(vec![
                        "bash".to_string(),
                        "-c".to_string(),
                        command.to_string(),
                    ]),
                    user: Some(user.name().to_string()),
                    env: Some(env),
                    working_dir: Some(match user {
                        User::Root => "/root".to_string(),
                        User::Postgres => "/home/postgres".to_string(),
                    }),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| op("exec", e))?;
        let (mut stdout, mut stderr) = (CappedStream::new(cap), CappedStream::new(cap));
        let run = async {
            if let StartExecResults::Attached { mut output, .. } = engine
                .client()
                .start_exec(&exec.id, None)
                .await
                .map_err(|e| op("start exec", e))?
            {
                let read = async {
                    while let Some(chunk) = output.next().await {
                        match chunk.map_err(|e| op("read exec output", e))? {
                            bollard::container::LogOutput::StdOut { message } => {
                                stdout.push(&message)
                            }
                            bollard::container::LogOutput::StdErr { message } => {
                                stderr.push(&message)
                            }
                            _ => {}
                        }
                    }
                    Ok::<(), DockerError>(())
                };
                // A command may be silent for hours (pgbench -i at the report's scale), so a
                // quiet stream proves nothing: a periodic question to the engine, bounded like
                // every request, tells a hung engine from a quiet command.
                let heartbeat = async {
                    loop {
                        tokio::time::sleep(HEARTBEAT).await;
                        engine
                            .client()
                            .inspect_exec(&exec.id)
                            .await
                            .map_err(|e| op("inspect exec", e))?;
                    }
                };
                tokio::select! {
                    read = read => read?,
                    hung = heartbeat => return hung,
                }
            }
            // The stream ends when the process closes its output; wait for its exit code.
            loop {
                let info = engine
                    .client()
                    .inspect_exec(&exec.id)
                    .await
                    .map_err(|e| op("inspect exec", e))?;
                if info.running != Some(true) {
                    return Ok::<i64, DockerError>(info.exit_code.unwrap_or(-1));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        let ended = tokio::time::timeout(timeout, run).await;
        let mut out = Output {
            code: -1,
            stdout: stdout.finish(),
            stderr: stderr.finish(),
        };
        match ended {
            Ok(code) => out.code = code?,
            Err(_) => out
                .stderr
                .push_str(&format!("\n(timed out after {timeout:?})")),
        }
        Ok(out)
    }

    /// Runs a command and fails unless it exits 0.
    pub async fn must(
        &self,
        engine: &Engine,
        user: User,
        command: &str,
        timeout: Duration,
    ) -> Result<Output, crate::error::Error> {
        let out = self
            .run(engine, user, command, &HashMap::new(), timeout)
            .await?;
        if !out.ok() {
            return Err(crate::error::Error::Lab(format!(
                "on {} as {}: `{command}` exited with {}:\n{}",
                self.name,
                user.name(),
                out.code,
                out.combined()
            )));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::{CappedStream, Output, OutputCap};

    fn out(code: i64, stdout: &str, stderr: &str) -> Output {
        Output {
            code,
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn a_capped_stream_keeps_its_head_and_tail_and_counts_the_rest() {
        let cap = OutputCap { head: 4, tail: 3 };
        let mut whole = CappedStream::new(Some(cap));
        whole.push(b"abcdefg");
        assert_eq!(whole.finish(), "abcdefg");
        for chunks in [
            &[&b"abcdefghijkl"[..]][..],
            &[b"ab", b"cdefg", b"h", b"ijkl"],
            &[b"abcd", b"e", b"f", b"g", b"h", b"i", b"j", b"k", b"l"],
        ] {
            let mut s = CappedStream::new(Some(cap));
            for c in chunks {
                s.push(c);
            }
            assert_eq!(s.finish(), "abcd\n[… 5 bytes dropped …]\njkl", "{chunks:?}");
        }
        let mut uncapped = CappedStream::new(None);
        uncapped.push(&[b'y'; 10_000]);
        assert_eq!(uncapped.finish().len(), 10_000);
        let big = out(0, &"y\n".repeat(1_000_000), "");
        let capped = big.capped(OutputCap::RUN);
        assert!(capped.stdout.len() < 2 * 64 * 1024 + 100);
        assert!(capped.stdout.contains("[… 1868928 bytes dropped …]"));
    }

    #[test]
    fn an_exit_summary_names_the_last_error_line() {
        let promote = out(
            1,
            "waiting for server to promote...\n",
            "pg_ctl: cannot promote server; server is not in standby mode\n\n",
        );
        assert_eq!(
            promote.exit_summary(),
            "exit code 1: pg_ctl: cannot promote server; server is not in standby mode"
        );
        assert_eq!(
            out(2, "only stdout\n", "").exit_summary(),
            "exit code 2: only stdout"
        );
        assert_eq!(out(1, "", " \n").exit_summary(), "exit code 1");
    }
}
