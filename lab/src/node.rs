//! Which server of the lab: [`NodeId`], the one identity of a node from the drill checker down to
//! the engine.
//!
//! A node is `node1`, `node2`, …: its number is its place in the lab, from 1. The report's pair
//! is [`NodeId::PAIR`]. Everything that names a node (a drill's `on`, a plan's command, an event,
//! a container's label, a report's lane) holds a `NodeId`; its text, `node1`, is made and read
//! only here.

use std::fmt;
use std::str::FromStr;

/// One server of the lab (`node1`, `node2`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(u8);

/// The most servers a lab may have.
pub const MAX_NODES: u8 = 9;

/// A name that is not a node's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` is not a node: nodes are node1 to node{MAX_NODES}")]
pub struct NotANode {
    /// The text given (cut to 40 characters).
    pub name: String,
}

impl NodeId {
    /// The report's master at chapter 1 (172.16.3.101).
    pub const NODE1: NodeId = NodeId(1);
    /// The report's slave at chapter 1 (172.16.3.102).
    pub const NODE2: NodeId = NodeId(2);
    /// The report's two servers, in order.
    pub const PAIR: [NodeId; 2] = [NodeId::NODE1, NodeId::NODE2];

    /// The node numbered `number` (from 1), if a lab can have it.
    pub fn new(number: u8) -> Option<NodeId> {
        (1..=MAX_NODES).contains(&number).then_some(NodeId(number))
    }

    /// Its number, from 1.
    pub fn number(self) -> u8 {
        self.0
    }

    /// Its name, as drill files, labels and reports spell it.
    pub fn name(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node{}", self.0)
    }
}

impl FromStr for NodeId {
    type Err = NotANode;

    fn from_str(s: &str) -> Result<NodeId, NotANode> {
        s.strip_prefix("node")
            .filter(|n| n.len() == 1)
            .and_then(|n| n.parse().ok())
            .and_then(NodeId::new)
            .ok_or_else(|| NotANode {
                name: s.chars().take(40).collect(),
            })
    }
}

impl serde::Serialize for NodeId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for NodeId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<NodeId, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_reads_back_as_it_is_written() {
        for n in 1..=MAX_NODES {
            let id = NodeId::new(n).unwrap();
            assert_eq!(id.to_string().parse::<NodeId>(), Ok(id));
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(json, format!("\"node{n}\""));
            assert_eq!(serde_json::from_str::<NodeId>(&json).unwrap(), id);
        }
        assert_eq!(NodeId::PAIR.map(NodeId::name), ["node1", "node2"]);
    }

    #[test]
    fn what_is_not_a_node_is_refused() {
        for bad in [
            "node0", "node10", "node01", "node", "Node1", "node1 ", "primary", "",
        ] {
            assert!(bad.parse::<NodeId>().is_err(), "{bad}");
        }
        assert_eq!("x".repeat(50).parse::<NodeId>().unwrap_err().name.len(), 40);
    }
}
