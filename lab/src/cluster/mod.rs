//! A lab on the engine: its network, volumes and node containers, found again by label.
//!
//! Names are derived from the lab's name (`pglab-<lab>`, `pglab-<lab>-node1`,
//! `pglab-<lab>-node1-disk2`) and every object carries [`MANAGED_LABEL`] and [`LAB_LABEL`], so
//! `lab down` removes a lab in any state, also after the process that made it was killed.
//! Nodes never run privileged and get no added capabilities; no port is published on the host
//! unless asked, and then only on 127.0.0.1.

pub mod node;
pub mod spec;
pub mod status;
pub mod up;

use std::collections::HashMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, Ipam, IpamConfig, Mount,
    MountType, NetworkCreateRequest, NetworkingConfig, PortBinding, ResourcesUlimits,
    VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
    ListVolumesOptionsBuilder, RemoveContainerOptionsBuilder,
};

use crate::docker::{DockerError, Engine, EngineKind, LAB_LABEL, MANAGED_LABEL};
use crate::error::{Error, Result};
use crate::node::NodeId;
use crate::pg::Topology;
pub use node::{Node, Output, OutputCap};
pub use spec::{LabSpec, SPEC_LABEL};

/// Label with a node's name.
pub const NODE_LABEL: &str = "io.pglab.node";
/// Label with a node's address.
pub const ADDR_LABEL: &str = "io.pglab.addr";
/// Label with the PostgreSQL release a lab runs.
pub const VERSION_LABEL: &str = "io.pglab.pg-version";
/// Label with the lab's SQL password (the `lab` role the controller connects as).
pub const SECRET_LABEL: &str = "io.pglab.sql-password";

/// The disks of a node, as in the document.
pub const DISKS: [&str; 4] = ["/disk1", "/disk2", "/disk3", "/disk4"];

/// How a lab is laid out on the engine.
#[derive(Debug, Clone)]
pub struct LabLayout {
    /// The lab's name (`--name`).
    pub name: String,
    /// The subnet, CIDR (`172.16.3.0/24`).
    pub subnet: String,
    /// Nodes: name and address.
    pub nodes: Vec<(NodeId, String)>,
    /// The node image.
    pub image: String,
    /// The PostgreSQL release.
    pub version: String,
    /// Publish each node's 5432 on 127.0.0.1 (node1 on `base`, node2 on `base + 1`).
    pub publish: Option<u16>,
    /// The controller's SQL password.
    pub sql_password: String,
    /// Make /disk2 (WAL) a tmpfs of this many bytes, so that it can fill up (`wal-full`).
    pub wal_disk_size: Option<i64>,
    /// What the lab is made with, kept on each node as [`SPEC_LABEL`].
    pub spec: LabSpec,
}

/// The network's name.
pub fn network_name(lab: &str) -> String {
    format!("pglab-{lab}")
}

/// A node container's name.
pub fn container_name(lab: &str, node: NodeId) -> String {
    format!("pglab-{lab}-{node}")
}

/// A node disk volume's name.
pub fn volume_name(lab: &str, node: NodeId, disk: &str) -> String {
    format!("pglab-{lab}-{node}-{}", disk.trim_start_matches('/'))
}

/// The labels of every object of a lab.
pub fn lab_labels(lab: &str) -> HashMap<String, String> {
    HashMap::from([
        (MANAGED_LABEL.to_string(), "true".to_string()),
        (LAB_LABEL.to_string(), lab.to_string()),
    ])
}

/// Checks a lab name: it becomes part of Docker object names.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "lab name `{name}`: use 1-40 lowercase letters, digits and dashes"
        )))
    }
}

/// Parses `a.b.c.d/n` (a /8 to a /29) as its network (host bits cleared).
pub fn network(subnet: &str) -> Result<Ipv4Net> {
    let bad = || {
        Error::Invalid(format!(
            "--subnet {subnet}: expected an IPv4 network such as 172.16.3.0/24"
        ))
    };
    let net: Ipv4Net = subnet.parse().map_err(|_| bad())?;
    if !(8..=29).contains(&net.prefix_len()) {
        return Err(bad());
    }
    Ok(net.trunc())
}

/// Parses `a.b.c.d/n`: its network address, prefix length and gateway (the first address).
pub fn parse_subnet(subnet: &str) -> Result<(Ipv4Addr, u8, Ipv4Addr)> {
    let net = network(subnet)?;
    let gateway = net
        .hosts()
        .next()
        .ok_or_else(|| Error::Invalid(format!("--subnet {subnet}: no room for a gateway")))?;
    Ok((net.network(), net.prefix_len(), gateway))
}

/// Whether `addr` lies in `subnet`.
pub fn in_subnet(addr: &str, subnet: &str) -> bool {
    match (network(subnet), addr.parse::<Ipv4Addr>()) {
        (Ok(net), Ok(a)) => net.contains(&a),
        _ => false,
    }
}

fn op(op: &'static str, target: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> Error {
    let target = target.into();
    move |source| Error::Docker(DockerError::Op { op, target, source })
}

fn label_filter(lab: Option<&str>) -> HashMap<String, Vec<String>> {
    let mut labels = vec![format!("{MANAGED_LABEL}=true")];
    if let Some(lab) = lab {
        labels.push(format!("{LAB_LABEL}={lab}"));
    }
    HashMap::from([("label".to_string(), labels)])
}

/// What exists of a lab on the engine.
#[derive(Debug, Default, Clone)]
pub struct Inventory {
    /// Container names.
    pub containers: Vec<String>,
    /// Network names.
    pub networks: Vec<String>,
    /// Volume names.
    pub volumes: Vec<String>,
}

impl Inventory {
    /// Whether nothing exists.
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.networks.is_empty() && self.volumes.is_empty()
    }
}

/// Lists a lab's objects (or every lab's, with `None`) by label.
pub async fn inventory(engine: &Engine, lab: Option<&str>) -> Result<Inventory> {
    let filters = label_filter(lab);
    let d = engine.client();
    let containers = d
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(op("list containers", lab.unwrap_or("*")))?
        .into_iter()
        .filter_map(|c| c.names.and_then(|n| n.first().cloned()))
        .map(|n| n.trim_start_matches('/').to_string())
        .collect();
    let networks = d
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(op("list networks", lab.unwrap_or("*")))?
        .into_iter()
        .filter_map(|n| n.name)
        .collect();
    let volumes = d
        .list_volumes(Some(
            ListVolumesOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(op("list volumes", lab.unwrap_or("*")))?
        .volumes
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.name)
        .collect();
    Ok(Inventory {
        containers,
        networks,
        volumes,
    })
}

/// Removes everything of a lab: containers (forced), then networks, then volumes. Returns what
/// was removed. Safe to call on a lab in any state, or on none.
pub async fn down(engine: &Engine, lab: &str) -> Result<Inventory> {
    // A request still in flight when `up` was interrupted can create a container after the
    // first listing, and then hold a volume or the network: list again until nothing is left.
    let mut removed = Inventory::default();
    let mut last_error = None;
    for _ in 0..40 {
        let inv = inventory(engine, Some(lab)).await?;
        if inv.is_empty() {
            return Ok(removed);
        }
        last_error = remove_all(engine, &inv, &mut removed).await.err();
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    Err(last_error.unwrap_or_else(|| {
        Error::Lab(format!(
            "lab `{lab}` keeps reappearing while being removed: run `lab down --name {lab}` again"
        ))
    }))
}

/// Removes lab `lab` because `cause` stopped the command that was making or using it, and
/// returns the error to report: `cause` itself, or, when the removal fails too (the engine
/// stopped answering), both, with the command that finishes the job once the engine is back.
pub async fn down_after(engine: &Engine, lab: &str, cause: Error) -> Error {
    match down(engine, lab).await {
        Ok(_) => cause,
        Err(e) => not_removed(lab, &cause.to_string(), &e),
    }
}

/// The error for a lab that could not be removed after `what`.
pub fn not_removed(lab: &str, what: &str, e: &Error) -> Error {
    Error::Lab(format!(
        "{what}\nand lab `{lab}` could not be removed: {e}\nonce the {} answers again, `lab down --name {lab}` removes it",
        crate::docker::EngineKind::current().name()
    ))
}

/// One pass of removal: containers (forced, with their anonymous volumes), then networks, then
/// volumes. Objects already gone are fine; the first other failure is returned after the pass.
async fn remove_all(engine: &Engine, inv: &Inventory, removed: &mut Inventory) -> Result<()> {
    fn gone<T>(
        r: std::result::Result<T, bollard::errors::Error>,
    ) -> std::result::Result<bool, bollard::errors::Error> {
        match r {
            Ok(_) => Ok(true),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(e) => Err(e),
        }
    }
    let d = engine.client();
    let mut first_error = None;
    for c in &inv.containers {
        let opts = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        match gone(d.remove_container(c, Some(opts)).await) {
            Ok(true) if !removed.containers.contains(c) => removed.containers.push(c.clone()),
            Ok(_) => {}
            Err(e) => first_error = first_error.or(Some(op("remove container", c)(e))),
        }
    }
    for n in &inv.networks {
        match gone(d.remove_network(n).await) {
            Ok(true) if !removed.networks.contains(n) => removed.networks.push(n.clone()),
            Ok(_) => {}
            Err(e) => first_error = first_error.or(Some(op("remove network", n)(e))),
        }
    }
    for v in &inv.volumes {
        match gone(
            d.remove_volume(v, None::<bollard::query_parameters::RemoveVolumeOptions>)
                .await,
        ) {
            Ok(true) if !removed.volumes.contains(v) => removed.volumes.push(v.clone()),
            Ok(_) => {}
            Err(e) => first_error = first_error.or(Some(op("remove volume", v)(e))),
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Creates the lab's network with the document's addressing. A subnet already in use is
/// reported with the flag that chooses another.
pub async fn create_network(engine: &Engine, layout: &LabLayout) -> Result<()> {
    let (_, _, gateway) = parse_subnet(&layout.subnet)?;
    let name = network_name(&layout.name);
    // The engine's own message for an overlap is obscure: look first.
    let existing = engine
        .client()
        .list_networks(None::<bollard::query_parameters::ListNetworksOptions>)
        .await
        .map_err(op("list networks", &name))?;
    for n in existing {
        let subnets = n
            .ipam
            .and_then(|i| i.config)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| c.subnet);
        for s in subnets {
            if overlaps(&s, &layout.subnet) {
                return Err(Error::Invalid(format!(
                    "subnet {} is taken: docker network `{}` uses {s}. Choose another with --subnet (e.g. --subnet 172.16.{}.0/24)",
                    layout.subnet,
                    n.name.unwrap_or_default(),
                    200 + (layout.name.len() % 50)
                )));
            }
        }
    }
    let request = NetworkCreateRequest {
        name: name.clone(),
        driver: Some("bridge".into()),
        ipam: Some(Ipam {
            driver: Some("default".into()),
            config: Some(vec![IpamConfig {
                subnet: Some(layout.subnet.clone()),
                gateway: Some(gateway.to_string()),
                ..Default::default()
            }]),
            options: None,
        }),
        labels: Some(lab_labels(&layout.name)),
        ..Default::default()
    };
    engine
        .client()
        .create_network(request)
        .await
        .map_err(op("create network", &name))?;
    Ok(())
}

fn overlaps(a: &str, b: &str) -> bool {
    match (network(a), network(b)) {
        (Ok(a), Ok(b)) => a.contains(&b) || b.contains(&a),
        _ => false,
    }
}

/// Creates a node's four volumes and its container (not started).
pub async fn create_node(engine: &Engine, layout: &LabLayout, index: usize) -> Result<Node> {
    let (node, addr) = &layout.nodes[index];
    let node = *node;
    let lab = &layout.name;
    let mut labels = lab_labels(lab);
    let mut mounts = Vec::new();
    for disk in DISKS {
        if let (Some(size), "/disk2") = (layout.wal_disk_size, disk) {
            // A size-limited disk that can fill up; it lives as long as the container.
            mounts.push(Mount {
                target: Some(disk.to_string()),
                typ: Some(MountType::TMPFS),
                tmpfs_options: Some(bollard::models::MountTmpfsOptions {
                    size_bytes: Some(size),
                    mode: Some(0o755),
                    ..Default::default()
                }),
                ..Default::default()
            });
            continue;
        }
        let vol = volume_name(lab, node, disk);
        let mut vol_labels = labels.clone();
        vol_labels.insert(NODE_LABEL.into(), node.name());
        engine
            .client()
            .create_volume(VolumeCreateRequest {
                name: Some(vol.clone()),
                labels: Some(vol_labels),
                ..Default::default()
            })
            .await
            .map_err(op("create volume", &vol))?;
        mounts.push(Mount {
            target: Some(disk.to_string()),
            source: Some(vol),
            typ: Some(MountType::VOLUME),
            ..Default::default()
        });
    }
    labels.insert(NODE_LABEL.into(), node.name());
    labels.insert(ADDR_LABEL.into(), addr.clone());
    labels.insert(VERSION_LABEL.into(), layout.version.clone());
    labels.insert(SECRET_LABEL.into(), layout.sql_password.clone());
    labels.insert(SPEC_LABEL.into(), layout.spec.to_label());
    let network = network_name(lab);
    let port_bindings = layout.publish.map(|base| {
        HashMap::from([(
            "5432/tcp".to_string(),
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some((base + index as u16).to_string()),
            }]),
        )])
    });
    let body = ContainerCreateBody {
        image: Some(layout.image.clone()),
        hostname: Some(node.name()),
        labels: Some(labels),
        exposed_ports: layout.publish.map(|_| vec!["5432/tcp".to_string()]),
        host_config: Some(HostConfig {
            // An init as PID 1 reaps orphans: a crashed postmaster leaves the node up.
            init: Some(true),
            mounts: Some(mounts),
            network_mode: Some(network.clone()),
            privileged: Some(false),
            port_bindings,
            ulimits: node_ulimits(engine),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                network.clone(),
                EndpointSettings {
                    ipam_config: Some(EndpointIpamConfig {
                        ipv4_address: Some(addr.clone()),
                        ..Default::default()
                    }),
                    aliases: Some(vec![node.name()]),
                    ..Default::default()
                },
            )])),
        }),
        ..Default::default()
    };
    let name = container_name(lab, node);
    engine
        .client()
        .create_container(
            Some(CreateContainerOptionsBuilder::default().name(&name).build()),
            body,
        )
        .await
        .map_err(op("create container", &name))?;
    Ok(Node {
        name: node,
        container: name,
        addr: addr.clone(),
    })
}

/// The open-file and process limits a node asks for: none on the Docker Engine (its containers
/// get the engine's own) and on rootless Podman (it caps its defaults at its own limits). Rootful
/// Podman sets 1048576 open files and 4194304 processes unless told otherwise, and where the
/// engine may not raise its own hard limits (no `CAP_SYS_RESOURCE`: some sandboxes and CI
/// containers) the node fails to start ("error setting rlimit"): on rootful Podman a node gets
/// 4096 open files and 8192 processes, far above what a node's PostgreSQL uses.
fn node_ulimits(engine: &Engine) -> Option<Vec<ResourcesUlimits>> {
    let rootful_podman = engine.kind() == EngineKind::Podman && !engine.rootless();
    rootful_podman.then(|| {
        [("nofile", 4096), ("nproc", 8192)]
            .into_iter()
            .map(|(name, limit)| ResourcesUlimits {
                name: Some(name.into()),
                soft: Some(limit),
                hard: Some(limit),
            })
            .collect()
    })
}

/// Performs a container operation on a node (faults acting on the whole server).
pub async fn node_op(
    engine: &Engine,
    lab: &str,
    node: &Node,
    what: crate::fault::NodeOp,
) -> Result<()> {
    use crate::fault::NodeOp;
    let d = engine.client();
    let c = &node.container;
    match what {
        NodeOp::Kill => d
            .kill_container(
                c,
                Some(
                    bollard::query_parameters::KillContainerOptionsBuilder::default()
                        .signal("SIGKILL")
                        .build(),
                ),
            )
            .await
            .map_err(op("kill container", c)),
        NodeOp::Start => d
            .start_container(c, None::<bollard::query_parameters::StartContainerOptions>)
            .await
            .map_err(op("start container", c)),
        NodeOp::Disconnect => d
            .disconnect_network(
                &network_name(lab),
                bollard::models::NetworkDisconnectRequest {
                    container: c.clone(),
                    force: Some(true),
                },
            )
            .await
            .map_err(op("disconnect", c)),
        NodeOp::Connect => d
            .connect_network(
                &network_name(lab),
                bollard::models::NetworkConnectRequest {
                    container: c.clone(),
                    endpoint_config: Some(EndpointSettings {
                        ipam_config: Some(EndpointIpamConfig {
                            ipv4_address: Some(node.addr.clone()),
                            ..Default::default()
                        }),
                        aliases: Some(vec![node.name.name()]),
                        ..Default::default()
                    }),
                },
            )
            .await
            .map_err(op("connect", c)),
    }
}

/// A running (or stopped) lab as found on the engine.
#[derive(Debug, Clone)]
pub struct Lab {
    /// Its name.
    pub name: String,
    /// Its nodes, by name.
    pub nodes: Vec<Node>,
    /// The PostgreSQL release.
    pub version: String,
    /// The controller's SQL password.
    pub sql_password: String,
    /// What it was made with; `None` for a lab made before labs kept their spec.
    pub spec: Option<LabSpec>,
}

impl Lab {
    /// Finds a lab's nodes by label.
    pub async fn find(engine: &Engine, name: &str) -> Result<Lab> {
        let filters = label_filter(Some(name));
        let containers = engine
            .client()
            .list_containers(Some(
                ListContainersOptionsBuilder::default()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(op("list containers", name))?;
        let mut nodes = Vec::new();
        let (mut version, mut secret, mut spec) = (String::new(), String::new(), None);
        for c in containers {
            let labels = c.labels.unwrap_or_default();
            let (Some(node), Some(addr)) = (labels.get(NODE_LABEL), labels.get(ADDR_LABEL)) else {
                continue;
            };
            version = labels.get(VERSION_LABEL).cloned().unwrap_or_default();
            secret = labels.get(SECRET_LABEL).cloned().unwrap_or_default();
            if let Some(value) = labels.get(SPEC_LABEL) {
                spec = Some(LabSpec::from_label(name, value)?);
            }
            let node: NodeId = node.parse().map_err(|e| {
                Error::Invalid(format!(
                    "lab `{name}`: container {:?} has a bad {NODE_LABEL} label: {e}",
                    c.names
                ))
            })?;
            nodes.push(Node {
                name: node,
                container: container_name(name, node),
                addr: addr.clone(),
            });
        }
        if nodes.is_empty() {
            return Err(Error::Invalid(format!(
                "no lab named `{name}` is running: start one with `lab up --name {name}`"
            )));
        }
        nodes.sort_by_key(|a| a.name);
        Ok(Lab {
            name: name.to_string(),
            nodes,
            version,
            sql_password: secret,
            spec,
        })
    }

    /// The topology the lab was brought up with, from its spec. A lab made before labs kept
    /// their spec gets the default topology at its nodes' addresses, as it always did.
    pub fn topology(&self) -> Result<Topology> {
        if let Some(spec) = &self.spec {
            return Ok(spec.topology());
        }
        let mut topo = Topology::default();
        topo.master.address = self.node(NodeId::NODE1)?.addr.clone();
        topo.slave.address = self.node(NodeId::NODE2)?.addr.clone();
        Ok(topo)
    }

    /// A node by name, or an error listing the known ones.
    pub fn node(&self, name: NodeId) -> Result<&Node> {
        self.nodes.iter().find(|n| n.name == name).ok_or_else(|| {
            Error::Invalid(format!(
                "unknown node `{name}` in lab `{}`: known nodes are {}",
                self.name,
                self.nodes
                    .iter()
                    .map(|n| n.name.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_parse_and_overlap() {
        let (net, len, gw) = parse_subnet("172.16.3.0/24").unwrap();
        assert_eq!(
            (net.to_string(), len, gw.to_string()),
            ("172.16.3.0".into(), 24, "172.16.3.1".into())
        );
        assert!(parse_subnet("172.16.3.0").is_err());
        assert!(parse_subnet("300.1.1.1/24").is_err());
        assert!(overlaps("172.16.0.0/16", "172.16.3.0/24"));
        assert!(!overlaps("172.17.0.0/16", "172.16.3.0/24"));
        assert!(in_subnet("172.16.3.101", "172.16.3.0/24"));
        assert!(!in_subnet("172.16.4.101", "172.16.3.0/24"));
    }

    #[test]
    fn lab_names_are_checked() {
        assert!(check_name("lab").is_ok());
        assert!(check_name("drill-2").is_ok());
        for bad in ["", "Lab", "a b", "-x", "a/b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert_eq!(
            volume_name("lab", NodeId::NODE1, "/disk2"),
            "pglab-lab-node1-disk2"
        );
    }
}
