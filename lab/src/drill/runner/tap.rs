//! The log tap: each node's server log as read so far, file by file, by offset.

use crate::node::NodeId;
use std::collections::HashMap;
use std::time::Duration;

use super::LabOps;
use crate::plan::User;

/// One node's server log as read so far.
#[derive(Default)]
struct Tap {
    /// Everything read, in order.
    text: String,
    /// Per file, the bytes already read.
    offsets: HashMap<String, u64>,
}

/// Every node's tap. It talks to the lab only through [`LabOps::run`] (a file listing, then
/// `tail -c +N` of what grew).
#[derive(Default)]
pub(super) struct LogTap {
    taps: HashMap<NodeId, Tap>,
    /// The command listing a node's log files with their sizes.
    list: String,
}

const LOG_LIST: &str = "for f in /disk1/pg_ctl.log $(ls -tr /disk1/data/{dir}/ 2>/dev/null | sed 's|^|/disk1/data/{dir}/|'); do [ -f \"$f\" ] && echo \"$f $(stat -c %s \"$f\")\"; done; true";

impl LogTap {
    /// A tap for each of `nodes`, whose server logs are in the data directory's `log_dir`.
    pub(super) fn new(nodes: &[NodeId], log_dir: &str) -> Self {
        LogTap {
            taps: nodes.iter().map(|&n| (n, Tap::default())).collect(),
            list: LOG_LIST.replace("{dir}", log_dir),
        }
    }

    /// Reads what `node`'s server log gained since the last look. With `adopt`, files are
    /// taken as already read (a data directory copied from another node brings that node's
    /// logs, which are not this node's). A node that cannot be asked is left as it was.
    pub(super) async fn sync<L: LabOps>(&mut self, lab: &L, node: NodeId, adopt: bool) {
        let none = HashMap::new();
        let Ok(out) = lab
            .run(
                node,
                User::Postgres,
                &self.list,
                &none,
                Duration::from_secs(30),
            )
            .await
        else {
            return;
        };
        for (file, size) in listing(&out.stdout) {
            let tap = self.taps.entry(node).or_default();
            let read = tap.offsets.get(&file).copied().unwrap_or(0);
            if adopt {
                tap.offsets.insert(file, size);
                continue;
            }
            let from = if size < read { 0 } else { read };
            if size == from {
                continue;
            }
            let cmd = format!("tail -c +{} {}", from + 1, crate::plan::quote(&file));
            if let Ok(out) = lab
                .run(node, User::Postgres, &cmd, &none, Duration::from_secs(60))
                .await
            {
                let tap = self.taps.entry(node).or_default();
                tap.text.push_str(&out.stdout);
                tap.offsets.insert(file, from + out.stdout.len() as u64);
            }
        }
    }

    /// What `node`'s tap holds from byte `from` on.
    pub(super) fn since(&self, node: NodeId, from: usize) -> &str {
        self.taps
            .get(&node)
            .map(|t| &t.text[from.min(t.text.len())..])
            .unwrap_or("")
    }

    /// How much each node's tap holds (a mark's log positions).
    pub(super) fn positions(&self) -> HashMap<NodeId, usize> {
        self.taps.iter().map(|(&n, t)| (n, t.text.len())).collect()
    }

    /// Everything `node`'s tap read.
    pub(super) fn text(&self, node: NodeId) -> String {
        self.since(node, 0).to_string()
    }
}

/// The log files and their sizes from the listing's `FILE SIZE` lines.
fn listing(stdout: &str) -> Vec<(String, u64)> {
    stdout
        .lines()
        .filter_map(|l| l.rsplit_once(' '))
        .filter_map(|(f, s)| s.parse().ok().map(|s| (f.to_string(), s)))
        .collect()
}
