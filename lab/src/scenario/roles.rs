//! Static role tracking: who is primary and who follows it after each step, as far as the
//! drill's own actions decide it, so that the checker can see a step that cannot mean what it
//! says (promoting the primary, `on = "standby"` when no node follows, a base backup of a node
//! onto itself, a ledger checked that was never started).
//!
//! A fresh lab starts with node1 primary and node2 its standby. `promote` makes its node the
//! primary (it leaves the standbys); `make_standby` adds a standby, and when that node was the
//! primary, the node it follows is the primary from then on (promoted by a later step, or
//! already by a `run` step the checker cannot read); a point-in-time recovery opens its node as
//! a primary without standbys; replacing a node's data (`base_backup`, `copy_backup`,
//! `move_aside`, `rewind`) takes it out of the standbys until `make_standby`. A node is promotable while
//! it is a standby, even when references name it the primary.
//!
//! Who is primary after an action is [`primary_after`], the one rule the checker, the printed
//! runbook and the runner all follow.

use std::collections::BTreeSet;

use super::model::{Action, Area, NodeRef, RoleChange, StepKind};
use crate::node::NodeId;
use crate::pg::DATA_DIR;

/// The primary after `action` ran on `node`, when the action decides it (`None`: unchanged).
///
/// `primary` is the primary before the action, and `resolve` answers a node reference as the
/// roles stand then. A promotion or a point-in-time recovery opens `node` as the primary. The
/// primary made a standby (rebuilt as the other's standby, or configured to follow it before a
/// switchover) is the primary no longer: the node it follows is, or is about to be (promoted by
/// a later step, or already by a `run` step that no checker can read).
pub fn primary_after(
    action: &Action,
    node: NodeId,
    primary: NodeId,
    resolve: impl Fn(&NodeRef) -> Option<NodeId>,
) -> Option<NodeId> {
    match action.role_change() {
        RoleChange::Promoted | RoleChange::Recovered => Some(node),
        RoleChange::Follows(of) if node == primary => {
            resolve(of).filter(|upstream| *upstream != node)
        }
        RoleChange::Follows(_)
        | RoleChange::CopiedInto(_)
        | RoleChange::MovedAside(_)
        | RoleChange::Rewound
        | RoleChange::None => None,
    }
}

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
    primary: NodeId,
    standbys: BTreeSet<NodeId>,
    /// The step that last changed the roles, and what it did (0: the lab as it starts).
    changed_by: (usize, &'static str),
    ledger_started: bool,
}

impl Default for Roles {
    fn default() -> Self {
        Roles {
            primary: NodeId::NODE1,
            standbys: BTreeSet::from([NodeId::NODE2]),
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

    fn resolve(&self, r: &NodeRef) -> Option<NodeId> {
        match r {
            NodeRef::Node(n) => Some(*n),
            NodeRef::Primary => Some(self.primary),
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
        let Some(action) = kind.action() else {
            return found;
        };
        found.extend(self.cannot(action, node));
        self.apply(n, action, node);
        found
    }

    /// Why `action` on `node` cannot mean what it says as the roles stand, if it cannot.
    fn cannot(&self, action: &Action, node: Option<NodeId>) -> Option<(At, String)> {
        let since = self.since();
        match action {
            Action::Promote { .. } => node
                .filter(|x| *x == self.primary && !self.standbys.contains(x))
                .map(|x| {
                    let why = format!("{x} is the primary already ({since}): it cannot be promoted");
                    (At::Kind, why)
                }),
            Action::BaseBackup { from, .. } => node
                .filter(|x| self.resolve(from) == Some(*x))
                .map(|x| {
                    let why = format!(
                        "a base backup of {x} onto {x} itself ({since}): `from` must be the other node"
                    );
                    (At::From, why)
                }),
            Action::Rewind { from } => node
                .filter(|x| self.resolve(from) == Some(*x))
                .map(|x| {
                    let why = format!(
                        "a rewind of {x} from {x} itself ({since}): `from` must be the other node"
                    );
                    (At::From, why)
                }),
            Action::LedgerCheck { .. } | Action::LedgerRetarget => {
                (!self.ledger_started).then(|| {
                    let why = format!(
                        "action `{}` needs the ledger: start it in an earlier step with action \
                         `ledger_start`",
                        action.name()
                    );
                    (At::Kind, why)
                })
            }
            Action::Start
            | Action::Stop { .. }
            | Action::LocalBackup { .. }
            | Action::MoveAside { .. }
            | Action::LinkWal
            | Action::MakeStandby { .. }
            | Action::Pitr { .. }
            | Action::Load { .. }
            | Action::CopyBackup { .. }
            | Action::LedgerStart
            | Action::Set { .. } => None,
        }
    }

    fn apply(&mut self, n: usize, action: &Action, node: Option<NodeId>) {
        if let Action::LedgerStart = action {
            self.ledger_started = true;
        }
        let Some(x) = node else {
            return;
        };
        if let Some(primary) = primary_after(action, x, self.primary, |r| self.resolve(r)) {
            self.primary = primary;
        }
        match action.role_change() {
            RoleChange::Promoted => {
                self.standbys.remove(&x);
                self.changed_by = (n, "a promotion");
            }
            RoleChange::Recovered => {
                self.standbys.clear();
                self.changed_by = (n, "a point-in-time recovery");
            }
            RoleChange::Follows(_) => {
                self.standbys.insert(x);
                self.changed_by = (n, "make_standby");
            }
            RoleChange::CopiedInto(to) => {
                if to.raw == DATA_DIR && self.standbys.remove(&x) {
                    self.changed_by = (n, "its data replaced");
                }
            }
            RoleChange::MovedAside(what) => {
                if what.contains(&Area::Data) && self.standbys.remove(&x) {
                    self.changed_by = (n, "its data moved aside");
                }
            }
            RoleChange::Rewound => {
                if self.standbys.remove(&x) {
                    self.changed_by = (n, "its data rewound");
                }
            }
            RoleChange::None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(n: &str) -> NodeRef {
        NodeRef::Node(n.parse().unwrap())
    }

    /// `primary` and `standby` as a two-node lab whose primary is `primary` answers them.
    fn two_nodes(primary: NodeId) -> impl Fn(&NodeRef) -> Option<NodeId> {
        move |r| match r {
            NodeRef::Node(n) => Some(*n),
            NodeRef::Primary => Some(primary),
            NodeRef::Standby => Some(if primary == NodeId::NODE1 {
                NodeId::NODE2
            } else {
                NodeId::NODE1
            }),
            NodeRef::All => None,
        }
    }

    #[test]
    fn the_actions_that_move_the_primary() {
        const N1: NodeId = NodeId::NODE1;
        const N2: NodeId = NodeId::NODE2;
        let promote = Action::Promote {
            method: Default::default(),
        };
        assert_eq!(primary_after(&promote, N2, N1, two_nodes(N1)), Some(N2));
        let follow = |of| Action::MakeStandby {
            of,
            latest_timeline: true,
            restore: None,
            apply_delay: None,
        };
        // node1, the primary, rebuilt as node2's standby: node2 is the primary now.
        assert_eq!(
            primary_after(&follow(node("node2")), N1, N1, two_nodes(N1)),
            Some(N2)
        );
        assert_eq!(
            primary_after(&follow(NodeRef::Standby), N1, N1, two_nodes(N1)),
            Some(N2)
        );
        // A standby re-pointed leaves the primary where it is.
        assert_eq!(
            primary_after(&follow(node("node1")), N2, N1, two_nodes(N1)),
            None
        );
        // A node cannot follow itself; that is not a change of primary.
        assert_eq!(
            primary_after(&follow(node("node1")), N1, N1, two_nodes(N1)),
            None
        );
        assert_eq!(primary_after(&Action::LinkWal, N1, N2, two_nodes(N2)), None);
    }

    /// Issue 17: node2 promoted by a `run` step, node1 rebuilt as its standby, then node1
    /// promoted again — refused as "the primary already" when only `promote` moved roles.
    #[test]
    fn a_node_rebuilt_as_the_others_standby_can_be_promoted_again() {
        let text = include_str!("../../../fixtures/drills/rebuild-then-promote-again.toml");
        let drill = crate::scenario::parse("rebuild-then-promote-again.toml", text)
            .unwrap_or_else(|d| panic!("{}", d[0]));
        assert_eq!(drill.steps.len(), 19);
    }
}
