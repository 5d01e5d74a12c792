//! The pure half of the postconditions: which checks each action gets, per version, and how
//! configuration files and WAL listings are read. (Each check passing and failing against a
//! lab is in the runner's tests.)

use super::*;
use crate::drill::render::builtin_vars;
use crate::node::NodeId;
use crate::pg::Topology;
use crate::scenario::{StopMode, Template};

fn ctx(version: &str) -> Context {
    let v: crate::version::PgVersion = version.parse().unwrap();
    let dialect = Dialect::for_major(v.major);
    let topo = Topology::default();
    Context {
        vars: builtin_vars(&dialect, &topo, version, "/tmp/run"),
        dialect,
        topo,
        primary: NodeId::NODE1,
        lenient: false,
    }
}

fn t(s: &str) -> Template {
    Template::parse(s).unwrap()
}

fn checks(version: &str, node: NodeId, action: &Action) -> Vec<Check> {
    match spec(&ctx(version), node, action).unwrap() {
        Spec::Checks(c) => c,
        Spec::Unchecked(why) => panic!("{action:?} unchecked: {why}"),
    }
}

#[test]
fn a_base_backup_is_complete_by_what_each_version_leaves() {
    let backup = Action::BaseBackup {
        from: NodeRef::Node(NodeId::NODE1),
        to: t("/disk1/data"),
        wal: false,
    };
    let names = |version| match &checks(version, NodeId::NODE2, &backup)[..] {
        [Check::Files { names, dir, .. }] if dir == "/disk1/data" => names.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        names("9.3.5"),
        ["PG_VERSION", "global/pg_control", "backup_label"]
    );
    assert_eq!(
        names("15"),
        [
            "PG_VERSION",
            "global/pg_control",
            "backup_label",
            "backup_manifest"
        ]
    );
    let local = Action::LocalBackup {
        to: t("/disk3/backup/data"),
    };
    assert!(
        checks("9.3.5", NodeId::NODE2, &local).contains(&Check::WalSegments {
            node: NodeId::NODE2,
            dir: "/disk3/backup/data/pg_xlog".into()
        })
    );
}

#[test]
fn a_standby_is_configured_and_started_as_each_version_spells_it() {
    let standby = Action::MakeStandby {
        of: NodeRef::Node(NodeId::NODE1),
        latest_timeline: true,
        restore: None,
        apply_delay: None,
    };
    let on93 = checks("9.3.5", NodeId::NODE2, &standby);
    let setting = |c: &Check| match c {
        Check::Setting {
            file,
            name,
            contains,
            ..
        } => Some(format!("{file} {name} {contains}")),
        _ => None,
    };
    let settings: Vec<String> = on93.iter().filter_map(setting).collect();
    assert_eq!(
        settings,
        [
            "/disk1/data/recovery.conf primary_conninfo host=172.16.3.101",
            "/disk1/data/recovery.conf standby_mode on",
            "/disk1/data/recovery.conf recovery_target_timeline latest",
        ]
    );
    let on15 = checks("15", NodeId::NODE2, &standby);
    assert!(on15.contains(&Check::Exists {
        node: NodeId::NODE2,
        path: "/disk1/data/standby.signal".into(),
        present: true
    }));
    assert!(on15
        .iter()
        .filter_map(setting)
        .all(|s| s.contains("postgresql.auto.conf")));
    // A delayed standby: the delay in the file the standby's settings are in, per release.
    let delayed = Action::MakeStandby {
        of: NodeRef::Node(NodeId::NODE1),
        latest_timeline: false,
        restore: None,
        apply_delay: Some(std::time::Duration::from_secs(3600)),
    };
    for (v, file) in [("9.4", "recovery.conf"), ("15", "postgresql.auto.conf")] {
        let settings: Vec<String> = checks(v, NodeId::NODE2, &delayed)
            .iter()
            .filter_map(setting)
            .collect();
        assert!(
            settings.contains(&format!("/disk1/data/{file} recovery_min_apply_delay 1h")),
            "{v}: {settings:?}"
        );
    }
    // Started while node1 is primary: node2 must recover and stream from node1.
    let started = checks("9.3.5", NodeId::NODE2, &Action::Start);
    assert!(started.contains(&Check::Streams {
        standby: NodeId::NODE2,
        upstream: NodeId::NODE1,
        address: "172.16.3.102".into()
    }));
    let primary = checks("9.3.5", NodeId::NODE1, &Action::Start);
    assert!(primary.contains(&Check::Recovery {
        node: NodeId::NODE1,
        in_recovery: false
    }));
}

#[test]
fn promote_stop_and_pitr_check_what_they_leave() {
    assert_eq!(
        checks(
            "9.3.5",
            NodeId::NODE2,
            &Action::Promote {
                method: Default::default()
            }
        ),
        [
            Check::Recovery {
                node: NodeId::NODE2,
                in_recovery: false
            },
            Check::NextTimeline {
                node: NodeId::NODE2
            }
        ]
    );
    let stop = Action::Stop {
        mode: StopMode::Immediate,
        fallback: None,
    };
    assert_eq!(
        checks("15", NodeId::NODE1, &stop),
        [Check::Running {
            node: NodeId::NODE1,
            running: false
        }]
    );
    let pitr = Action::Pitr {
        recovery: crate::pg::Recovery {
            target: crate::pg::RecoveryTarget::Time(t("2024-01-01 00:00:00")),
            inclusive: None,
            at_target: None,
        },
        restore_command: None,
    };
    let on15 = checks("15", NodeId::NODE1, &pitr);
    assert!(on15.contains(&Check::Exists {
        node: NodeId::NODE1,
        path: "/disk1/data/standby.signal".into(),
        present: false
    }));
    assert!(checks("9.3.5", NodeId::NODE1, &pitr)
        .iter()
        .all(|c| !matches!(c, Check::Exists { .. })));
}

/// A `pitr` checks the target and end action it wrote, as the release spells them.
#[test]
fn a_pitr_checks_the_target_and_end_action_it_wrote() {
    let pitr = Action::Pitr {
        recovery: crate::pg::Recovery {
            target: crate::pg::RecoveryTarget::Name(t("before_error")),
            inclusive: None,
            at_target: Some(crate::pg::TargetAction::Pause),
        },
        restore_command: None,
    };
    let setting = |file: &str, name: &str, contains: &str| Check::Setting {
        node: NodeId::NODE1,
        file: format!("/disk1/data/{file}"),
        name: name.into(),
        contains: contains.into(),
    };
    let on93 = checks("9.3.5", NodeId::NODE1, &pitr);
    assert!(on93.contains(&setting(
        "recovery.conf",
        "recovery_target_name",
        "before_error"
    )));
    assert!(on93.contains(&setting(
        "recovery.conf",
        "pause_at_recovery_target",
        "true"
    )));
    let on15 = checks("15", NodeId::NODE1, &pitr);
    let auto = "postgresql.auto.conf";
    assert!(on15.contains(&setting(auto, "recovery_target_name", "before_error")));
    assert!(on15.contains(&setting(auto, "recovery_target_action", "pause")));
}

#[test]
fn the_ledger_and_background_loads_say_why_they_are_not_checked() {
    for action in [
        Action::LedgerStart,
        Action::LedgerRetarget,
        Action::LedgerCheck { max_lost: None },
        Action::Load {
            seconds: t("5"),
            clients: 1,
            background: true,
        },
    ] {
        let s = spec(&ctx("15"), NodeId::NODE1, &action).unwrap();
        assert!(matches!(s, Spec::Unchecked(_)), "{action:?}");
        assert!(s.describe()[0].starts_with("nothing: "));
    }
}

#[test]
fn settings_are_read_as_the_server_reads_them_and_passwords_never_shown() {
    let text = "# comment\nstandby_mode = 'off'\nstandby_mode = 'on'\n\
                primary_conninfo = 'host=10.0.0.1 password=s3cret'\n\
                restore_command = 'cp ''a'' %p'   # quoted\nhot_standby = on # bare\n";
    assert_eq!(setting(text, "standby_mode").as_deref(), Some("on"));
    assert_eq!(
        setting(text, "restore_command").as_deref(),
        Some("cp 'a' %p")
    );
    assert_eq!(setting(text, "hot_standby").as_deref(), Some("on"));
    assert_eq!(setting(text, "recovery_target_time"), None);
    let conninfo = setting(text, "primary_conninfo").unwrap();
    assert_eq!(masked(&conninfo), "host=10.0.0.1 password=***");
}

#[test]
fn a_nodes_timeline_is_its_newest_history_file() {
    let names = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(newest_timeline(&names(&[])), 1);
    assert_eq!(
        newest_timeline(&names(&[
            "000000010000000000000003",
            "00000002.history",
            "0000000A.history",
            "archive_status",
            "00000003.history.partial"
        ])),
        10
    );
    assert!(is_segment("000000020000000000000004") && !is_segment("00000002.history"));
}
