//! Command plans: what the lab does on the nodes, as data.
//!
//! Every procedure (bringing the pair up, a recovery step of a drill) is first rendered into a
//! [`Plan`]: an ordered list of [`Command`]s, each acting on one node. Rendering does no I/O, so the
//! exact commands and files for any PostgreSQL version can be printed as a runbook and compared
//! with golden files; the cluster module executes the same plan against real containers.

use std::fmt::Write as _;

pub mod quoting;

use crate::node::NodeId;
pub use quoting::{conf_value, conninfo_value, sql_ident, sql_literal, QuoteError};

/// The OS user a command runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum User {
    /// `root` (the document's `#` prompt).
    Root,
    /// `postgres` (the document's `$` prompt), with PATH and PGDATA set as chapter 1 sets them.
    Postgres,
}

impl User {
    /// The account name.
    pub fn name(self) -> &'static str {
        match self {
            User::Root => "root",
            User::Postgres => "postgres",
        }
    }

    /// The shell prompt the document uses for this user.
    pub fn prompt(self) -> &'static str {
        match self {
            User::Root => "#",
            User::Postgres => "$",
        }
    }
}

/// One thing done on a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Run a command line with `bash -c` as `user`; a non-zero exit fails the step.
    Shell {
        /// Who runs it.
        user: User,
        /// The command line, exactly as a DBA would type it.
        command: String,
    },
    /// Write a file as `postgres` (replacing it, or appending to it), like editing it in `vi`.
    WriteFile {
        /// Absolute path on the node.
        path: String,
        /// The text written.
        content: String,
        /// Append to the file instead of replacing it.
        append: bool,
    },
}

impl Op {
    /// How the action runs: the user, a `bash -c` command line (stopping at the first failing
    /// line), and extra environment. A file's content travels in `LAB_CONTENT`, so it needs no
    /// quoting.
    pub fn to_command(&self) -> (User, String, std::collections::HashMap<String, String>) {
        match self {
            Op::Shell { user, command } => {
                (*user, format!("set -e\n{command}"), Default::default())
            }
            Op::WriteFile {
                path,
                content,
                append,
            } => (
                User::Postgres,
                format!(
                    "printf '%s' \"$LAB_CONTENT\" {} {}",
                    if *append { ">>" } else { ">" },
                    quote(path)
                ),
                std::collections::HashMap::from([("LAB_CONTENT".to_string(), content.clone())]),
            ),
        }
    }
}

/// `word` as one `sh` word, quoted only if it needs it (`shlex`; a NUL byte is kept, and the
/// shell refuses it).
pub fn quote(word: &str) -> std::borrow::Cow<'_, str> {
    shlex::Quoter::new()
        .allow_nul(true)
        .quote(word)
        .expect("with NUL allowed, quoting cannot fail")
}

/// A titled action on a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The node it runs on.
    pub node: NodeId,
    /// What it is for, in a few words (shown in progress output and runbooks).
    pub title: String,
    /// What is done.
    pub op: Op,
}

impl Command {
    /// A shell command as `user` on `node`.
    pub fn shell(node: NodeId, title: &str, user: User, command: impl Into<String>) -> Command {
        Command {
            node,
            title: title.to_string(),
            op: Op::Shell {
                user,
                command: command.into(),
            },
        }
    }

    /// A file written on `node`.
    pub fn write(node: NodeId, title: &str, path: &str, content: impl Into<String>) -> Command {
        Command {
            node,
            title: title.to_string(),
            op: Op::WriteFile {
                path: path.to_string(),
                content: content.into(),
                append: false,
            },
        }
    }

    /// Lines appended to a file on `node`.
    pub fn append(node: NodeId, title: &str, path: &str, content: impl Into<String>) -> Command {
        Command {
            node,
            title: title.to_string(),
            op: Op::WriteFile {
                path: path.to_string(),
                content: content.into(),
                append: true,
            },
        }
    }
}

/// An ordered list of steps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The steps, in order.
    pub steps: Vec<Command>,
}

impl Plan {
    /// Adds a step.
    pub fn push(&mut self, step: Command) {
        self.steps.push(step);
    }

    /// The plan as a runbook: per step, the node, the prompt and command or the file and its
    /// content, in the document's notation (`[/path]` before a file's lines).
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (i, step) in self.steps.iter().enumerate() {
            let _ = writeln!(out, "## {}. [{}] {}", i + 1, step.node, step.title);
            match &step.op {
                Op::Shell { user, command } => {
                    for line in command.lines() {
                        let _ = writeln!(out, "{} {}", user.prompt(), line);
                    }
                }
                Op::WriteFile {
                    path,
                    content,
                    append,
                } => {
                    let how = if *append { " (append)" } else { "" };
                    let _ = writeln!(out, "[{path}]{how}");
                    out.push_str(content);
                    if !content.ends_with('\n') {
                        out.push('\n');
                    }
                }
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_commands_and_files_in_the_documents_notation() {
        let n1 = NodeId::NODE1;
        let mut plan = Plan::default();
        plan.push(Command::shell(
            n1,
            "make dirs",
            User::Root,
            "mkdir -p /disk1/data",
        ));
        plan.push(Command::append(
            n1,
            "settings",
            "/disk1/data/postgresql.conf",
            "logging_collector = on\n",
        ));
        assert_eq!(
            plan.render(),
            "## 1. [node1] make dirs\n# mkdir -p /disk1/data\n\n\
             ## 2. [node1] settings\n[/disk1/data/postgresql.conf] (append)\nlogging_collector = on\n\n"
        );
    }
}
