//! `lab up`: the document's chapter 1, on containers.
//!
//! Phases: network, containers, SSH between the postgres users (chapter 5), the chapter-1 plan
//! rendered by [`crate::pg::setup_plan`] executed step by step, the controller's access, and the
//! document's checks. A failed step is an error (the caller removes the lab unless `--keep`); a
//! failed check leaves the lab up for inspection.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::future::try_join_all;

use crate::cluster::{self, LabLayout, Node};
use crate::docker::Engine;
use crate::error::{Error, Result};
use crate::node::NodeId;
use crate::pg::{Dialect, Topology, DATA_DIR};
use crate::plan::{Command, Plan, User};
use crate::sql;
use crate::ui::Ui;

/// How long the checks wait for streaming and for a replayed write.
const WAIT: Duration = Duration::from_secs(30);

/// How long one plan step may run (a scale-10000 load takes hours).
const STEP_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// Time spent per phase, in order.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Phases(pub Vec<(String, f64)>);

impl Phases {
    fn add(&mut self, name: &str, started: Instant) {
        self.0
            .push((name.to_string(), started.elapsed().as_secs_f64()));
    }
}

/// The outcome of the document's checks.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckReport {
    /// `pg_stat_replication` on the master, as text.
    pub replication: Vec<indexmap::IndexMap<String, Option<String>>>,
    /// The replay timestamp on the slave before and after a write on the master.
    pub replay_before: Option<String>,
    /// See `replay_before`.
    pub replay_after: Option<String>,
    /// Failed checks, each one line.
    pub failures: Vec<String>,
}

/// The controller's access to a node: one pg_hba line for the gateway, and the `lab` role.
pub fn controller_steps(
    topo: &Topology,
    gateway: &str,
    password: &str,
) -> Result<Vec<Command>, crate::plan::QuoteError> {
    let line = format!(
        "# the lab's controller (status and checks), from the lab network's gateway\nhost    all     {role}     {gateway}/32     md5\n",
        role = sql::CONTROLLER_ROLE
    );
    let mut steps = Vec::new();
    for node in [&topo.master.name, &topo.slave.name] {
        steps.push(Command::append(
            *node,
            "let the lab's controller connect (not in the document)",
            &format!("{DATA_DIR}/pg_hba.conf"),
            line.clone(),
        ));
        steps.push(Command::shell(
            *node,
            "reload pg_hba.conf",
            User::Postgres,
            "pg_ctl reload",
        ));
    }
    steps.push(Command::shell(
        topo.master.name,
        "create the controller's role (not in the document)",
        User::Postgres,
        format!(
            "psql -X -q -c {}",
            crate::plan::quote(&format!(
                "CREATE ROLE {} LOGIN SUPERUSER PASSWORD {};",
                sql::CONTROLLER_ROLE,
                crate::plan::sql_literal("the controller's password", password)?
            ))
        ),
    ));
    Ok(steps)
}

/// Runs one plan step on its node; a non-zero exit is an error with the output.
pub async fn run_step(engine: &Engine, nodes: &[Node], step: &Command) -> Result<cluster::Output> {
    let node = nodes
        .iter()
        .find(|n| n.name == step.node)
        .ok_or_else(|| Error::Lab(format!("plan names unknown node {}", step.node)))?;
    let (user, command, env) = step.op.to_command();
    let out = node.run(engine, user, &command, &env, STEP_TIMEOUT).await?;
    if !out.ok() {
        return Err(Error::Lab(format!(
            "step `{}` on {} failed (exit {}):\n{}",
            step.title,
            node.name,
            out.code,
            out.combined()
        )));
    }
    Ok(out)
}

/// Runs a plan, one task line per step.
pub async fn run_plan(
    engine: &Engine,
    nodes: &[Node],
    plan: &Plan,
    ui: &Ui,
    phases: &mut Phases,
) -> Result<()> {
    for (i, step) in plan.steps.iter().enumerate() {
        let started = Instant::now();
        let mut task = ui.task(&step.node.name());
        task.say(
            &format!("{}/{} {}", i + 1, plan.steps.len(), step.title),
            false,
        );
        match run_step(engine, nodes, step).await {
            Ok(_) => {
                task.done(&step.title);
                phases.add(&step.title, started);
            }
            Err(e) => {
                task.failed(&step.title);
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Runs chapter 1 and the controller's access, overlapping what does not depend on each other:
/// the slave's own preparation alongside the master's steps, and the check load on the master
/// alongside the slave's start and then the controller's access (each node's steps in order,
/// the nodes at once; the access needs both servers running). Every step still runs, in the
/// document's order on each node, and each one after those it needs.
async fn chapter_1(
    engine: &Engine,
    nodes: &[Node],
    parts: crate::pg::SetupParts,
    controller: &[Command],
    ui: &Ui,
    phases: &mut Phases,
) -> Result<()> {
    let (mut alongside, mut load_phases) = (Phases::default(), Phases::default());
    let (master, prep) = tokio::join!(
        run_plan(engine, nodes, &parts.master, ui, phases),
        run_plan(engine, nodes, &parts.slave_prep, ui, &mut alongside),
    );
    master?;
    prep?;
    run_plan(engine, nodes, &parts.slave, ui, phases).await?;
    let start = Plan {
        steps: vec![parts.slave_start],
    };
    let load = Plan {
        steps: vec![parts.check_load],
    };
    let mut node_phases: Vec<Phases> = nodes.iter().map(|_| Phases::default()).collect();
    let start_then_access = async {
        run_plan(engine, nodes, &start, ui, phases).await?;
        let plans: Vec<Plan> = nodes.iter().map(|n| of_node(controller, n.name)).collect();
        try_join_all(
            plans
                .iter()
                .zip(node_phases.iter_mut())
                .map(|(plan, p)| run_plan(engine, nodes, plan, ui, p)),
        )
        .await
    };
    let (load, access) = tokio::join!(
        run_plan(engine, nodes, &load, ui, &mut load_phases),
        start_then_access,
    );
    load?;
    access?;
    phases.0.extend(alongside.0);
    phases.0.extend(load_phases.0);
    phases.0.extend(node_phases.into_iter().flat_map(|p| p.0));
    Ok(())
}

/// The steps of `steps` that run on the node `name`, in order.
fn of_node(steps: &[Command], name: NodeId) -> Plan {
    Plan {
        steps: steps.iter().filter(|s| s.node == name).cloned().collect(),
    }
}

/// Generates a key pair for each node's postgres user and makes every node trust every other
/// (chapter 5: `ssh-keygen -t rsa`, the peer's key in `authorized_keys`), host keys accepted.
pub async fn setup_ssh(engine: &Engine, nodes: &[Node]) -> Result<()> {
    let t = Duration::from_secs(60);
    // Each phase runs on every node at once: key generation and waiting for sshd dominate.
    let keys = try_join_all(
        nodes
            .iter()
            .map(|node| node.must(engine, User::Postgres, crate::pg::LAB_SSH_KEYGEN, t)),
    )
    .await?;
    let authorized = keys
        .iter()
        .map(|o| o.stdout.trim())
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    let addrs: Vec<&str> = nodes.iter().map(|n| n.addr.as_str()).collect();
    // Wait for each node's host keys (its sshd starts with the container), then trust them.
    let scan = format!(
        "printf '%s' \"$LAB_KEYS\" > ~/.ssh/authorized_keys && chmod 600 ~/.ssh/authorized_keys; \
         rm -f ~/.ssh/known_hosts.new; for h in {peers}; do \
           for i in $(seq 1 150); do k=$(ssh-keyscan -T 2 $h 2>/dev/null); [ -n \"$k\" ] && break; sleep 0.1; done; \
           [ -n \"$k\" ] || {{ echo \"no SSH host key from $h\" >&2; exit 1; }}; \
           printf '%s\\n' \"$k\" >> ~/.ssh/known_hosts.new; \
         done; mv ~/.ssh/known_hosts.new ~/.ssh/known_hosts && chmod 600 ~/.ssh/known_hosts",
        peers = addrs.join(" "),
    );
    let env = HashMap::from([("LAB_KEYS".to_string(), authorized)]);
    try_join_all(nodes.iter().map(|node| async {
        let out = node.run(engine, User::Postgres, &scan, &env, t).await?;
        if out.ok() {
            Ok(())
        } else {
            Err(Error::Lab(format!(
                "setting up SSH on {}: {}",
                node.name,
                out.combined()
            )))
        }
    }))
    .await?;
    for node in nodes {
        for peer in nodes.iter().filter(|p| p.name != node.name) {
            node.must(
                engine,
                User::Postgres,
                &format!("ssh -o BatchMode=yes {} true", peer.addr),
                t,
            )
            .await
            .map_err(|e| {
                Error::Lab(format!(
                    "passwordless ssh from {} to {} does not work: {e}",
                    node.name, peer.name
                ))
            })?;
        }
    }
    Ok(())
}

/// Asks `probe` every `every` until it answers `Some`, or gives its last answer (`None`) once
/// `within` has passed: the one waiting loop of `up`, returning as soon as the awaited state is
/// seen rather than after a fixed sleep.
pub async fn poll<T, F, Fut>(within: Duration, every: Duration, mut probe: F) -> Result<Option<T>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(seen) = probe().await? {
            return Ok(Some(seen));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(every).await;
    }
}

/// The document's checks: one streaming row on the master for the slave, and a replay
/// timestamp on the slave that advances after a write on the master.
pub async fn check_replication(
    dialect: &Dialect,
    topo: &Topology,
    password: &str,
) -> Result<CheckReport> {
    let t = Duration::from_secs(10);
    let master = sql::connect(&topo.master.address, "postgres", password, t)
        .await
        .map_err(Error::from)?;
    // The lab's role reaches the slave by replication: until it is replayed there, the slave
    // refuses it as an unknown user.
    let slave = poll(WAIT, Duration::from_millis(100), || async {
        match sql::connect_when_ready(&topo.slave.address, "postgres", password, t).await {
            Ok(client) => Ok(Some(client)),
            Err(e) if e.is(&tokio_postgres::error::SqlState::INVALID_PASSWORD) => Ok(None),
            Err(e) => Err(Error::from(e)),
        }
    })
    .await?
    .ok_or_else(|| {
        Error::Lab(format!(
            "{}: the lab's role `{}` was not replayed on the slave within {WAIT:?}",
            topo.slave.address,
            sql::CONTROLLER_ROLE
        ))
    })?;
    let mut failures = Vec::new();

    // The standby connects within a second or two of starting: poll rather than sleep.
    let status = || async {
        sql::query(&master, &dialect.replication_status_query())
            .await
            .map_err(Error::from)
    };
    let streaming = poll(WAIT, Duration::from_millis(50), || async {
        let rows = status().await?;
        Ok(rows
            .iter()
            .any(|r| sql::get(r, "state") == Some("streaming"))
            .then_some(rows))
    })
    .await?;
    let rows = match streaming {
        Some(rows) => rows,
        None => status().await?,
    };
    let want_sync = if topo.sync { "sync" } else { "async" };
    match rows.as_slice() {
        [row] => {
            for (col, want) in [
                ("state", "streaming"),
                ("sync_state", want_sync),
                ("client_addr", topo.slave.address.as_str()),
            ] {
                let seen = sql::get(row, col).unwrap_or("NULL");
                if seen != want {
                    failures.push(format!(
                        "pg_stat_replication.{col} on the master is {seen}, expected {want}"
                    ));
                }
            }
        }
        _ => failures.push(format!(
            "pg_stat_replication on the master has {} rows, expected 1 (the slave at {})",
            rows.len(),
            topo.slave.address
        )),
    }

    let replay_sql = dialect.replay_timestamp_query();
    let before = sql::scalar(&slave, &replay_sql)
        .await
        .map_err(Error::from)?;
    if before.is_none() {
        failures.push(
            "pg_last_xact_replay_timestamp() on the slave is NULL: nothing was replayed".into(),
        );
    }
    // A write on the master that changes no data: a commit the slave must replay.
    let testdb = sql::connect(&topo.master.address, "testdb", password, t)
        .await
        .map_err(Error::from)?;
    sql::query(
        &testdb,
        "UPDATE pgbench_branches SET bbalance = bbalance WHERE bid = 1",
    )
    .await
    .map_err(Error::from)?;
    let replayed = || async { sql::scalar(&slave, &replay_sql).await.map_err(Error::from) };
    let advanced = poll(WAIT, Duration::from_millis(20), || async {
        let after = replayed().await?;
        Ok((after.is_some() && after != before).then_some(after))
    })
    .await?;
    let after = match advanced {
        Some(after) => after,
        None => replayed().await?,
    };
    if after.is_none() || after == before {
        failures.push(format!(
            "the slave's replay timestamp did not advance after a write on the master (still {})",
            after.as_deref().unwrap_or("NULL")
        ));
    }
    Ok(CheckReport {
        replication: rows.iter().map(sql::row_map).collect(),
        replay_before: before,
        replay_after: after,
        failures,
    })
}

/// What `up` did.
#[derive(Debug, Clone)]
pub struct UpReport {
    /// The nodes.
    pub nodes: Vec<Node>,
    /// Time per phase.
    pub phases: Phases,
    /// The checks.
    pub checks: CheckReport,
}

/// Brings a lab up: everything but images. The caller handles cleanup on error.
pub async fn up(
    engine: &Engine,
    layout: &LabLayout,
    topo: &Topology,
    dialect: &Dialect,
    ui: &Ui,
) -> Result<UpReport> {
    let mut phases = Phases::default();
    let (_, _, gateway) = cluster::parse_subnet(&layout.subnet)?;

    let started = Instant::now();
    let task = ui.task("network");
    cluster::create_network(engine, layout).await?;
    task.done(&format!(
        "{} {}",
        cluster::network_name(&layout.name),
        layout.subnet
    ));
    phases.add("network", started);

    let started = Instant::now();
    let task = ui.task("containers");
    // Both nodes at once: each is created and started on its own.
    let nodes = try_join_all((0..layout.nodes.len()).map(|i| async move {
        let node = cluster::create_node(engine, layout, i).await?;
        engine
            .client()
            .start_container(
                &node.container,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
            .map_err(|source| crate::docker::DockerError::Op {
                op: "start container",
                target: node.container.clone(),
                source,
            })?;
        Ok::<Node, Error>(node)
    }))
    .await?;
    task.done(
        &nodes
            .iter()
            .map(|n| format!("{} {}", n.name, n.addr))
            .collect::<Vec<_>>()
            .join(", "),
    );
    phases.add("containers", started);

    // SSH (chapter 5) is set up while chapter 1 runs: only scp in restore_command needs it,
    // and a restore_command that fails just means "not in the archive yet".
    let ssh = async {
        let started = Instant::now();
        let task = ui.task("ssh");
        setup_ssh(engine, &nodes).await?;
        task.done("postgres users trust each other (chapter 5)");
        Ok::<f64, Error>(started.elapsed().as_secs_f64())
    };
    let parts = crate::pg::setup_parts(dialect, topo).map_err(|e| Error::Invalid(e.to_string()))?;
    let controller = controller_steps(topo, &gateway.to_string(), &layout.sql_password)
        .map_err(|e| Error::Invalid(e.to_string()))?;
    let (ssh, chapter1) = tokio::join!(
        ssh,
        chapter_1(engine, &nodes, parts, &controller, ui, &mut phases)
    );
    chapter1?;
    phases
        .0
        .insert(2, ("ssh (alongside chapter 1)".to_string(), ssh?));

    let started = Instant::now();
    let task = ui.task("checks");
    let checks = check_replication(dialect, topo, &layout.sql_password).await?;
    if checks.failures.is_empty() {
        task.done("streaming, and the slave replays the master's writes");
    } else {
        task.failed(&checks.failures.join("; "));
    }
    phases.add("checks", started);
    Ok(UpReport {
        nodes,
        phases,
        checks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn poll_returns_as_soon_as_the_state_is_seen_and_gives_up_at_the_deadline() {
        let started = tokio::time::Instant::now();
        let mut asked = 0;
        let seen = poll(Duration::from_secs(30), Duration::from_millis(50), || {
            asked += 1;
            let n = asked;
            async move { Ok((n == 3).then_some(n)) }
        })
        .await
        .unwrap();
        assert_eq!(seen, Some(3));
        assert_eq!(started.elapsed(), Duration::from_millis(100));

        let never = poll(
            Duration::from_secs(1),
            Duration::from_millis(300),
            || async { Ok(None::<()>) },
        )
        .await
        .unwrap();
        assert_eq!(never, None);
        assert!(started.elapsed() >= Duration::from_millis(1100));
    }

    #[test]
    fn the_controllers_role_is_created_with_a_quoted_password() {
        let steps = controller_steps(&Topology::default(), "172.16.3.1", "f00d").unwrap();
        let crate::plan::Op::Shell { command, .. } = &steps.last().unwrap().op else {
            panic!("{steps:?}")
        };
        assert_eq!(
            command,
            "psql -X -q -c \"CREATE ROLE lab LOGIN SUPERUSER PASSWORD 'f00d';\""
        );
        assert!(controller_steps(&Topology::default(), "172.16.3.1", "a\nb").is_err());
    }
}
