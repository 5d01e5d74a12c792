//! What a lab was made with, kept on its containers so that a later command (`lab drill run
//! --reuse`, `lab status`) rebuilds the exact [`Topology`] instead of guessing a default one.
//!
//! The spec is one JSON label, [`SPEC_LABEL`], on every node container. It holds what `lab up`
//! lets a user choose; the rest of a topology (names, the replication role) is the document's
//! and the same on every lab. Fields are only ever added: a missing field reads as its default,
//! so a label written by an older `lab` still reads.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::pg::{ArchiveCommand, RestoreCommand, Setting, Topology};

/// Label with the lab's [`LabSpec`] as JSON.
pub const SPEC_LABEL: &str = "io.pglab.spec";

/// How a lab was brought up: its release and every choice `lab up` offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LabSpec {
    /// The PostgreSQL release (`15.18`).
    pub pg_version: String,
    /// The lab network, CIDR.
    pub subnet: String,
    /// The initial master's address.
    pub master_address: String,
    /// The initial slave's address.
    pub slave_address: String,
    /// pgbench scale of the initial data.
    pub scale: u32,
    /// Seconds of the check run `pgbench -T`.
    pub check_seconds: u32,
    /// Synchronous replication.
    pub sync: bool,
    /// The standby's `restore_command`.
    pub restore_command: RestoreCommand,
    /// The master's `archive_command`.
    pub archive_command: ArchiveCommand,
    /// Bytes of the size-limited WAL disk (/disk2), if it is one.
    pub wal_disk_size: Option<i64>,
    /// The first host port published on 127.0.0.1, if any.
    pub publish: Option<u16>,
    /// The user's server settings (`--set`, a drill's `[lab] settings`).
    pub settings: Vec<Setting>,
    /// Data page checksums (`initdb -k`).
    pub data_checksums: bool,
}

impl Default for LabSpec {
    fn default() -> Self {
        LabSpec::new(&Topology::default(), "", None, None)
    }
}

impl LabSpec {
    /// The spec of a lab of `topo` running `pg_version`.
    pub fn new(
        topo: &Topology,
        pg_version: &str,
        wal_disk_size: Option<i64>,
        publish: Option<u16>,
    ) -> LabSpec {
        LabSpec {
            pg_version: pg_version.to_string(),
            subnet: topo.subnet.clone(),
            master_address: topo.master.address.clone(),
            slave_address: topo.slave.address.clone(),
            scale: topo.scale,
            check_seconds: topo.check_seconds,
            sync: topo.sync,
            restore_command: topo.restore,
            archive_command: topo.archive,
            wal_disk_size,
            publish,
            settings: topo.settings.clone(),
            data_checksums: topo.data_checksums,
        }
    }

    /// The topology the lab was brought up with: equal to the one `lab up` used.
    pub fn topology(&self) -> Topology {
        let mut topo = Topology {
            subnet: self.subnet.clone(),
            scale: self.scale,
            check_seconds: self.check_seconds,
            sync: self.sync,
            restore: self.restore_command,
            archive: self.archive_command,
            settings: self.settings.clone(),
            data_checksums: self.data_checksums,
            ..Topology::default()
        };
        topo.master.address = self.master_address.clone();
        topo.slave.address = self.slave_address.clone();
        topo
    }

    /// The label's value.
    pub fn to_label(&self) -> String {
        serde_json::to_string(self).expect("a lab spec serialises")
    }

    /// Reads the label of lab `lab`; a label that is not a spec is the lab's fault (3).
    pub fn from_label(lab: &str, value: &str) -> Result<LabSpec> {
        serde_json::from_str(value).map_err(|e| {
            Error::Lab(format!(
                "lab `{lab}`: its label {SPEC_LABEL} is not a lab spec ({e}): recreate the lab with `lab down --name {lab}` and `lab up`"
            ))
        })
    }

    /// One line for people: what differs from a default lab is what matters.
    pub fn summary(&self) -> String {
        let mut parts = vec![
            if self.sync {
                "synchronous".to_string()
            } else {
                "asynchronous".to_string()
            },
            format!("subnet {}", self.subnet),
            format!("scale {}", self.scale),
            format!("check run {} s", self.check_seconds),
            format!("archive_command {}", kebab(&self.archive_command)),
            format!("restore_command {}", kebab(&self.restore_command)),
        ];
        if let Some(size) = self.wal_disk_size {
            parts.push(format!("WAL disk {size} bytes"));
        }
        if self.data_checksums {
            parts.push("data checksums".to_string());
        }
        for s in &self.settings {
            parts.push(format!("{} = {:?}", s.name, s.value));
        }
        if let Some(port) = self.publish {
            parts.push(format!("published on 127.0.0.1:{port}"));
        }
        parts.join(", ")
    }
}

/// A unit enum's serde name (`literal`, `atomic`, `archive`).
fn kebab<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synchronous_literal_lab() -> Topology {
        let mut topo = Topology {
            subnet: "172.16.220.0/24".into(),
            scale: 10,
            check_seconds: 7,
            sync: true,
            restore: RestoreCommand::Literal,
            archive: ArchiveCommand::Literal,
            ..Topology::default()
        };
        topo.master.address = "172.16.220.101".into();
        topo.slave.address = "172.16.220.102".into();
        topo
    }

    #[test]
    fn a_spec_label_gives_back_the_exact_topology() {
        let topo = synchronous_literal_lab();
        let spec = LabSpec::new(&topo, "15.18", Some(64 << 20), Some(15432));
        let label = spec.to_label();
        let read = LabSpec::from_label("h10", &label).unwrap();
        assert_eq!(read, spec);
        assert_eq!(read.topology(), topo);
        assert_eq!(read.wal_disk_size, Some(64 << 20));
        assert!(
            label.contains(r#""sync":true"#)
                && label.contains(r#""archive_command":"literal""#)
                && label.contains(r#""restore_command":"literal""#),
            "{label}"
        );
    }

    #[test]
    fn an_older_label_reads_with_defaults_and_a_broken_one_is_the_labs_fault() {
        let read = LabSpec::from_label("old", r#"{"pg_version":"15.18","sync":true}"#).unwrap();
        assert!(read.sync);
        assert_eq!(read.archive_command, ArchiveCommand::Atomic);
        assert_eq!(read.topology().master.address, "172.16.3.101");
        let err = LabSpec::from_label("old", "{not json").unwrap_err();
        assert_eq!(err.exit_code(), 3);
        assert!(err.to_string().contains(SPEC_LABEL), "{err}");
    }

    #[test]
    fn the_summary_names_every_choice() {
        let spec = LabSpec::new(&synchronous_literal_lab(), "15.18", Some(1024), None);
        assert_eq!(
            spec.summary(),
            "synchronous, subnet 172.16.220.0/24, scale 10, check run 7 s, archive_command literal, restore_command literal, WAL disk 1024 bytes"
        );
    }
}
