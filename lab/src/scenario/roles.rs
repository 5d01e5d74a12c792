//! Static role tracking: who is primary and who follows it after each step, as far as the
//! drill's own actions decide it, so that the checker can see a step that cannot mean what it
//! says (promoting the primary, `on = "standby"` when no node follows, a base backup of a node
//! onto itself, a ledger checked that was never started).
//!
//! A fresh lab starts with node1 primary and node2 its standby. `promote` makes its node the
//! primary and leaves no standby; `make_standby` adds one; a point-in-time recovery opens its
//! node as a primary without standbys; replacing a node's data (`base_backup`, `copy_backup`,
//! `move_aside`) takes it out of the standbys until `make_standby`.

use std::collections::BTreeSet;

use super::model::{Action, Area, NodeRef, StepKind};
use crate::pg::DATA_DIR;

/// Where in a step a finding points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum At {
    /// The step's `on`.
    On,
    /// The step's kind value (the action's name).
    Kind,
    /// The action's `from`.
    From,
}

/// The roles after the steps so far.
#[derive(Debug, Clone)]
pub(super) struct Roles {
    primary: String,
    standbys: BTreeSet<String>,
    /// The step that last changed the roles, and what it did (0: the lab as it starts).
    changed_by: (usize, &'static str),
    ledger_started: bool,
}

impl Default for Roles {
    fn default() -> Self {
        Roles {
            primary: "node1".into(),
            standbys: BTreeSet::from(["node2".to_string()]),
            changed_by: (0, ""),
            ledger_started: false,
        }
    }
}

impl Roles {
    /// Where the roles come from, for messages.
    fn since(&self) -> String {
        match self.changed_by {
            (0, _) => "as the lab starts".to_string(),
            (n, what) => format!("after step {n} ({what})"),
        }
    }

    fn resolve(&self, r: &NodeRef) -> Option<String> {
        match r {
            NodeRef::Node(n) => Some(n.clone()),
            NodeRef::Primary => Some(self.primary.clone()),
            NodeRef::Standby => self.standbys.iter().next().cloned(),
            NodeRef::All => None,
        }
    }

    /// Checks step `n` against the roles and applies what it does to them.
    pub(super) fn step(
        &mut self,
        n: usize,
        on: Option<&NodeRef>,
        kind: &StepKind,
    ) -> Vec<(At, String)> {
        let mut found = Vec::new();
        if on == Some(&NodeRef::Standby) && self.standbys.is_empty() {
            found.push((
                At::On,
                format!(
                    "no node is a standby here ({}): name the node instead of `standby`",
                    self.since()
                ),
            ));
        }
        let node = on.and_then(|r| self.resolve(r));
        let StepKind::Action(action) = kind else {
            return found;
        };
        match (action, &node) {
            (Action::Promote, Some(x)) if *x == self.primary => found.push((
                At::Kind,
                format!(
                    "{x} is the primary already ({}): it cannot be promoted",
                    self.since()
                ),
            )),
            (Action::BaseBackup { from, .. }, Some(x))
                if self.resolve(from).as_ref() == Some(x) =>
            {
                found.push((
                    At::From,
                    format!(
                        "a base backup of {x} onto {x} itself ({}): `from` must be the other node",
                        self.since()
                    ),
                ))
            }
            (Action::LedgerCheck { .. } | Action::LedgerRetarget, _) if !self.ledger_started => {
                found.push((
                    At::Kind,
                    format!(
                        "action `{}` needs the ledger: start it in an earlier step with action \
                         `ledger_start`",
                        action.name()
                    ),
                ))
            }
            _ => {}
        }
        self.apply(n, action, node);
        found
    }

    fn apply(&mut self, n: usize, action: &Action, node: Option<String>) {
        match (action, node) {
            (Action::LedgerStart, _) => self.ledger_started = true,
            (Action::Promote, Some(x)) => {
                self.primary = x;
                self.standbys.clear();
                self.changed_by = (n, "a promotion");
            }
            (Action::Pitr { .. }, Some(x)) => {
                self.primary = x;
                self.standbys.clear();
                self.changed_by = (n, "a point-in-time recovery");
            }
            (Action::MakeStandby { .. }, Some(x)) => {
                self.standbys.insert(x);
                self.changed_by = (n, "make_standby");
            }
            (Action::BaseBackup { to, .. } | Action::CopyBackup { to, .. }, Some(x))
                if to.raw == DATA_DIR && self.standbys.remove(&x) =>
            {
                self.changed_by = (n, "its data replaced");
            }
            (Action::MoveAside { what, .. }, Some(x))
                if what.contains(&Area::Data) && self.standbys.remove(&x) =>
            {
                self.changed_by = (n, "its data moved aside");
            }
            _ => {}
        }
    }
}
