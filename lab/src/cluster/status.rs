//! `lab status`: per node its role, timeline, pg_isready code and replay lag, and the primary's
//! `pg_stat_replication` with the running version's column names.
//!
//! A standby's replay lag is in bytes behind the primary, read on the primary (see
//! [`crate::pg::lag`]), with the seconds since its last replayed commit beside it.
//!
//! The JSON form is stable: fields are only ever added. See README ("lab status --json").

use indexmap::IndexMap;
use std::time::Duration;

use serde::Serialize;

use crate::cluster::{Lab, LabSpec, Node};
use crate::docker::Engine;
use crate::node::NodeId;
use crate::pg::{lag, Dialect};
use crate::plan::User;
use crate::sql;

/// The whole lab.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The lab's name.
    pub lab: String,
    /// The PostgreSQL release.
    pub pg_version: String,
    /// Per node.
    pub nodes: Vec<NodeStatus>,
    /// `pg_stat_replication` rows of every primary, with the node they were read on.
    pub replication: Vec<ReplicationRow>,
    /// What the lab was brought up with (`null` for a lab made before labs kept it).
    pub spec: Option<LabSpec>,
}

/// One node.
#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
    /// Which node.
    pub name: NodeId,
    /// Address on the lab network.
    pub addr: String,
    /// What it is now, as its server answers.
    pub role: NodeState,
    /// The timeline the node is on, if known.
    pub timeline: Option<u32>,
    /// `pg_isready` over TCP to the node itself: 0 accepting, 1 rejecting, 2 no response,
    /// 3 no attempt.
    pub pg_isready: i64,
    /// `pg_last_xact_replay_timestamp()` (standbys).
    pub last_replay: Option<String>,
    /// Seconds since the last replayed transaction (standbys). It grows on an idle primary:
    /// the lag is `replay_lag_bytes`.
    pub replay_lag_seconds: Option<f64>,
    /// Bytes of WAL the primary has written that the standby has not replayed: the primary's
    /// current WAL position minus the standby's replay position in the primary's
    /// `pg_stat_replication` (standbys a primary lists).
    pub replay_lag_bytes: Option<u64>,
}

/// A `pg_stat_replication` row.
#[derive(Debug, Clone, Serialize)]
pub struct ReplicationRow {
    /// The node it was read on.
    pub on: NodeId,
    /// Column name to value, as the server names them, in the order a DBA reads them.
    pub columns: IndexMap<String, Option<String>>,
}

/// The timeline in a WAL file name (`000000020000000000000003` → 2).
fn timeline_of_walfile(name: &str) -> Option<u32> {
    u32::from_str_radix(name.get(..8)?, 16).ok()
}

/// A node's state as `lab status` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::Display)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum NodeState {
    /// Accepts writes (`pg_is_in_recovery()` is false).
    Primary,
    /// In recovery.
    Standby,
    /// Its server does not answer.
    Down,
}

/// Collects the status of every node.
pub async fn status(engine: &Engine, lab: &Lab, dialect: &Dialect) -> Status {
    let mut nodes = Vec::new();
    let mut replication = Vec::new();
    let mut answers = Vec::new();
    for node in &lab.nodes {
        let (status, rows, lag) = node_status(engine, lab, node, dialect).await;
        nodes.push(status);
        replication.extend(rows.into_iter().map(|columns| ReplicationRow {
            on: node.name,
            columns,
        }));
        answers.extend(lag);
    }
    for n in &mut nodes {
        if n.role == NodeState::Standby {
            n.replay_lag_bytes = lag::bytes_behind(&answers, &n.addr);
        }
    }
    Status {
        lab: lab.name.clone(),
        pg_version: lab.version.clone(),
        nodes,
        replication,
        spec: lab.spec.clone(),
    }
}

async fn node_status(
    engine: &Engine,
    lab: &Lab,
    node: &Node,
    dialect: &Dialect,
) -> (
    NodeStatus,
    Vec<IndexMap<String, Option<String>>>,
    Option<lag::Probe>,
) {
    let isready = node
        .run(
            engine,
            User::Postgres,
            &crate::pg::isready_command(&node.addr),
            &Default::default(),
            Duration::from_secs(15),
        )
        .await
        .ok()
        .and_then(|o| o.stdout.trim().parse().ok())
        .unwrap_or(3);
    let mut st = NodeStatus {
        name: node.name,
        addr: node.addr.clone(),
        role: NodeState::Down,
        timeline: None,
        pg_isready: isready,
        last_replay: None,
        replay_lag_seconds: None,
        replay_lag_bytes: None,
    };
    let mut rows = Vec::new();
    let mut probe = None;
    let Ok(client) = sql::connect(
        &node.addr,
        "postgres",
        &lab.sql_password,
        Duration::from_secs(5),
    )
    .await
    else {
        return (st, rows, probe);
    };
    let in_recovery = sql::scalar(&client, "SELECT pg_is_in_recovery()")
        .await
        .ok()
        .flatten();
    match in_recovery.as_deref() {
        Some("f") => {
            st.role = NodeState::Primary;
            let walfile = format!(
                "SELECT {}({})",
                if dialect.wal_dir_name() == "pg_xlog" {
                    "pg_xlogfile_name"
                } else {
                    "pg_walfile_name"
                },
                dialect.current_wal_position_function()
            );
            st.timeline = sql::scalar(&client, &walfile)
                .await
                .ok()
                .flatten()
                .and_then(|f| timeline_of_walfile(&f));
            if let Ok(r) = sql::query(&client, &dialect.replication_status_query()).await {
                rows = r.iter().map(sql::row_map).collect();
            }
            probe = sql::scalar(&client, &lag::probe_query(dialect))
                .await
                .ok()
                .flatten()
                .and_then(|a| lag::parse_probe(&a));
        }
        Some("t") => {
            st.role = NodeState::Standby;
            let q = format!(
                "SELECT {f}, extract(epoch from now() - {f})",
                f = dialect.replay_timestamp_function()
            );
            if let Ok(r) = sql::query(&client, &q).await {
                if let Some(row) = r.first() {
                    st.last_replay = row.first().and_then(|(_, v)| v.clone());
                    st.replay_lag_seconds = row
                        .get(1)
                        .and_then(|(_, v)| v.as_deref())
                        .and_then(|v| v.parse().ok());
                }
            }
            // A standby's timeline: the one its control file's minimum recovery point is on.
            st.timeline = node
                .run(
                    engine,
                    User::Postgres,
                    "pg_controldata | sed -n \"s/^Min recovery ending loc's timeline: *//p; s/^Latest checkpoint's TimeLineID: *//p\" | sort -n | tail -1",
                    &Default::default(),
                    Duration::from_secs(15),
                )
                .await
                .ok()
                .and_then(|o| o.stdout.trim().parse().ok());
        }
        _ => {}
    }
    (st, rows, probe)
}

/// Every standby's replay lag that can be read now (see [`crate::pg::lag`]): each node that
/// answers SQL is asked [`lag::probe_query`]; a standby that does not answer is left out.
pub async fn replay_lags(lab: &Lab, dialect: &Dialect) -> Vec<(NodeId, lag::ReplayLag)> {
    let sql = lag::probe_query(dialect);
    let asks = lab.nodes.iter().map(|node| async {
        let client = sql::connect(
            &node.addr,
            "postgres",
            &lab.sql_password,
            Duration::from_secs(5),
        )
        .await
        .ok()?;
        let answer = sql::scalar(&client, &sql).await.ok().flatten()?;
        Some((node.name, node.addr.as_str(), lag::parse_probe(&answer)?))
    });
    let answers: Vec<_> = futures_util::future::join_all(asks)
        .await
        .into_iter()
        .flatten()
        .collect();
    lag::replay_lags(&answers)
}

/// The status as a table for people.
pub fn render(status: &Status) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_header([
        "node",
        "address",
        "role",
        "timeline",
        "pg_isready",
        "last replayed commit",
        "replay lag behind primary",
        "since last replayed commit",
    ]);
    for n in &status.nodes {
        t.add_row([
            n.name.name(),
            n.addr.clone(),
            n.role.to_string(),
            n.timeline.map(|t| t.to_string()).unwrap_or_default(),
            n.pg_isready.to_string(),
            n.last_replay.clone().unwrap_or_default(),
            lag::bytes_cell(n.replay_lag_bytes),
            n.replay_lag_seconds
                .map(|l| format!("{l:.1} s"))
                .unwrap_or_default(),
        ]);
    }
    let mut out = format!(
        "lab {} (PostgreSQL {})\nmade with: {}\n{t}\n",
        status.lab,
        status.pg_version,
        status
            .spec
            .as_ref()
            .map_or("(not recorded: made by an older lab)".to_string(), |s| s
                .summary())
    );
    if !status.replication.is_empty() {
        let cols: Vec<String> = status.replication[0].columns.keys().cloned().collect();
        let mut r = comfy_table::Table::new();
        r.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
        let mut header = vec!["on".to_string()];
        header.extend(cols.iter().cloned());
        r.set_header(header);
        for row in &status.replication {
            let mut cells = vec![row.on.name()];
            cells.extend(
                cols.iter()
                    .map(|c| row.columns.get(c).cloned().flatten().unwrap_or_default()),
            );
            r.add_row(cells);
        }
        out.push_str(&format!("pg_stat_replication\n{r}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timelines_come_from_wal_file_names() {
        assert_eq!(timeline_of_walfile("000000020000000000000003"), Some(2));
        assert_eq!(timeline_of_walfile("0000000A0000000000000003"), Some(10));
        assert_eq!(timeline_of_walfile("xyz"), None);
    }

    #[test]
    fn status_shows_what_the_lab_was_made_with() {
        let mut topo = crate::pg::Topology {
            sync: true,
            ..Default::default()
        };
        topo.scale = 10;
        let st = Status {
            lab: "h10".into(),
            pg_version: "15.18".into(),
            nodes: vec![],
            replication: vec![],
            spec: Some(LabSpec::new(&topo, "15.18", None, None)),
        };
        let text = render(&st);
        assert!(
            text.starts_with("lab h10 (PostgreSQL 15.18)\nmade with: synchronous, subnet 172.16.3.0/24, scale 10,"),
            "{text}"
        );
        let json = serde_json::to_value(&st).unwrap();
        assert_eq!(json["spec"]["sync"], true);
        assert_eq!(json["spec"]["archive_command"], "atomic");
        let old = Status { spec: None, ..st };
        assert!(render(&old).contains("made with: (not recorded"));
        assert!(serde_json::to_value(&old).unwrap()["spec"].is_null());
    }

    #[test]
    fn a_standbys_lag_shows_in_bytes_beside_the_seconds() {
        let node = |name: NodeId, role, bytes, seconds: Option<f64>| NodeStatus {
            name,
            addr: format!("172.16.3.10{}", name.name().trim_start_matches("node")),
            role,
            timeline: Some(1),
            pg_isready: 0,
            last_replay: seconds.map(|_| "2026-01-01 00:00:00+00".to_string()),
            replay_lag_seconds: seconds,
            replay_lag_bytes: bytes,
        };
        let st = Status {
            lab: "l".into(),
            pg_version: "9.3.5".into(),
            nodes: vec![
                node(NodeId::NODE1, NodeState::Primary, None, None),
                node(NodeId::NODE2, NodeState::Standby, Some(1536), Some(42.31)),
            ],
            replication: vec![],
            spec: None,
        };
        let text = render(&st);
        let header = text.lines().find(|l| l.contains("node")).unwrap();
        assert!(
            header.contains("replay lag behind primary")
                && header.contains("since last replayed commit"),
            "{text}"
        );
        let row = text.lines().find(|l| l.contains("standby")).unwrap();
        assert!(row.contains("1.5 KiB") && row.contains("42.3 s"), "{text}");
        let json = serde_json::to_value(&st).unwrap();
        assert_eq!(json["nodes"][1]["replay_lag_bytes"], 1536);
        assert_eq!(json["nodes"][1]["replay_lag_seconds"], 42.31);
        assert!(json["nodes"][0]["replay_lag_bytes"].is_null());
    }

    #[test]
    fn replication_columns_keep_the_order_a_dba_reads_them() {
        let columns: IndexMap<String, Option<String>> = [
            "client_addr",
            "state",
            "sent_lsn",
            "write_lsn",
            "flush_lsn",
            "replay_lsn",
            "sync_state",
        ]
        .iter()
        .map(|c| (c.to_string(), Some(format!("<{c}>"))))
        .collect();
        let st = Status {
            lab: "l".into(),
            pg_version: "15.18".into(),
            nodes: vec![],
            replication: vec![ReplicationRow {
                on: NodeId::NODE1,
                columns,
            }],
            spec: None,
        };
        let text = render(&st);
        let at = |c: &str| text.find(c).unwrap_or_else(|| panic!("{c}: {text}"));
        assert!(at("state") < at("sent_lsn"), "{text}");
        assert!(at("sent_lsn") < at("write_lsn") && at("write_lsn") < at("flush_lsn"));
        assert!(at("flush_lsn") < at("replay_lsn") && at("replay_lsn") < at("sync_state"));
        let json = serde_json::to_string(&st).unwrap();
        assert!(
            json.find("\"state\"") < json.find("\"sync_state\""),
            "{json}"
        );
    }
}
