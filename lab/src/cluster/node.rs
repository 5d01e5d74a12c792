//! Running commands in a node, as root or as the document's `postgres` user.

use std::collections::HashMap;
use std::time::Duration;

use bollard::exec::{CreateExecOptions, StartExecResults};
use futures_util::StreamExt;

use crate::docker::{DockerError, Engine};
use crate::plan::User;

/// How often a running exec asks the engine about itself, to tell a hung engine from a quiet
/// command (each question waits at most [`crate::docker::request_timeout`]).
const HEARTBEAT: Duration = Duration::from_secs(10);

/// One node of a running lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The node's name (`node1`).
    pub name: String,
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
        let mut out = Output::default();
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
                                out.stdout.push_str(&String::from_utf8_lossy(&message))
                            }
                            bollard::container::LogOutput::StdErr { message } => {
                                out.stderr.push_str(&String::from_utf8_lossy(&message))
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
        match tokio::time::timeout(timeout, run).await {
            Ok(code) => out.code = code?,
            Err(_) => {
                out.code = -1;
                out.stderr
                    .push_str(&format!("\n(timed out after {timeout:?})"));
            }
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
    use super::Output;

    fn out(code: i64, stdout: &str, stderr: &str) -> Output {
        Output {
            code,
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
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
