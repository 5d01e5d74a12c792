//! The document's own lines, chapter by chapter (test data): every command and configuration
//! line as the document prints it, less the prompts and `su - postgres`, with 9.3.0 spelled as the
//! release the lab pins (9.3.25). The tests of [`super::setup_plan`] and of the printed runbooks
//! (`drill::runbook`) assert that they appear.

/// Chapter 1 (pp.8-16, 24) as [`super::setup_plan`] writes it with [`super::Topology::document`].
pub const CHAPTER_1_SETUP: &[&str] = &[
    // p.8
    "mkdir -p /disk1/data",
    "mkdir -p /disk2/pg_xlog",
    "mkdir -p /disk3/archive",
    "chown -R postgres:postgres /disk1",
    "chown -R postgres:postgres /disk2",
    "chown -R postgres:postgres /disk3",
    "initdb -D /disk1/data -X /disk2/pg_xlog",
    // p.9
    "logging_collector = on",
    "pg_ctl start -D /disk1/data",
    // p.11
    "CREATE ROLE repuser LOGIN REPLICATION PASSWORD 'repuser';",
    // p.12
    "host    replication     repuser         127.0.0.1/32           md5",
    "host    replication     repuser         172.16.3.101/32     md5",
    "host    replication     repuser         172.16.3.102/32     md5",
    "createdb testdb",
    "pgbench -i -s 10000 testdb",
    "vacuumdb --all --analyze",
    // p.13
    "listen_addresses = '*'",
    "wal_level = hot_standby",
    "archive_mode = on",
    "archive_command = 'test ! -f /disk3/archive/%f && cp %p /disk3/archive/%f'",
    "max_wal_senders = 2",
    "shared_buffers = 16GB",
    "checkpoint_segments = 64",
    "pg_ctl restart",
    // p.14
    "mkdir /disk1/data",
    "mkdir /disk2/pg_xlog",
    "mkdir /disk3/archive",
    "pg_basebackup -h 172.16.3.101 -U repuser -D /disk1/data --progress",
    "rmdir /disk1/data/pg_xlog",
    "cd /disk1/data",
    "ln -s /disk2/pg_xlog pg_xlog",
    // p.15
    "[/disk1/data/recovery.conf]",
    "standby_mode = 'on'",
    "primary_conninfo = 'host=172.16.3.101 port=5432 user=repuser password=repuser'",
    "hot_standby = on",
    // p.16
    "chmod 700 /disk1/data",
    "pg_ctl start",
    "pgbench -T 180 testdb",
    // p.24 (cross-monitoring)
    "host    postgres     postgres         172.16.3.101/32     md5",
    "host    postgres     postgres         172.16.3.102/32     md5",
];

/// The rest of chapter 1: the installation (pp.5-7), the slave's `restore_command` (p.15), the
/// pair's configuration files, and the replication checks (pp.17-18).
pub const CHAPTER_1_REST: &[&str] = &[
    "cp postgresql-9.3.25.tar.bz2 /work/",
    "cd /work",
    "bzip2 -d postgresql-9.3.25.tar.bz2",
    "tar xvf postgresql-9.3.25.tar",
    "groupadd postgres -g 501",
    "useradd postgres -u 501 -g 501",
    "chown postgres:postgres /work/postgresql-9.3.25",
    "cd /work/postgresql-9.3.25",
    "./configure",
    "gmake world",
    "gmake install-world",
    "[/disk1/data/postgresql.conf]",
    "[/disk1/data/pg_hba.conf]",
    "restore_command = 'scp /disk2/pg_xlog/%f \"%p\" 2> /dev/null'",
    "psql -x -c \"select * from pg_stat_replication\"",
    "psql -c \"SELECT pg_last_xact_replay_timestamp()\"",
];

/// Chapter 3 (pp.23-44).
pub const CHAPTER_3: &[&str] = &[
    "while true; do pg_isready  -q ; echo $?,`date`; sleep 10; done;",
    "while true; do pg_isready -h 172.16.3.102 -q ; echo $?,`date`; sleep 10; done;",
    "while true; do pg_isready -h 172.16.3.101 -q ; echo $?,`date`; sleep 10; done;",
    "host    postgres     postgres         172.16.3.101/32     md5",
    "host    postgres     postgres         172.16.3.102/32     md5",
    "psql -x -c \"select * from pg_stat_replication\"",
    "chmod u-w /disk2/pg_xlog",
    "pg_ctl -m fast stop",
    "pg_ctl -m immediate stop",
    "psql -c \"SELECT pg_last_xact_replay_timestamp()\"",
    "pg_ctl promote",
    "mkdir -p /disk3/backup/data",
    "chown postgres:postgres /disk3/backup/data",
    "pg_basebackup -h 127.0.0.1 -U repuser -D /disk3/backup/data --xlog --progress",
    "mv /disk1/data  /disk4/broken/",
    "mv /disk2/pg_xlog  /disk4/broken/",
    "mv /disk3/archive  /disk4/broken/",
    "pg_basebackup -h 172.16.3.102 -U repuser -D /disk1/data --progress",
    "rmdir /disk1/data/pg_xlog",
    "cd /disk1/data",
    "ln -s /disk2/pg_xlog pg_xlog",
    "[/disk1/data/recovery.conf]",
    "standby_mode = 'on'",
    "primary_conninfo = 'host=172.16.3.102 port=5432 user=repuser password=repuser'",
    "restore_command = 'scp /disk2/pg_xlog/%f \"%p\" 2> /dev/null'",
    "[/disk1/data/postgresql.conf]",
    "hot_standby = on",
    "chmod 700 /disk1/data",
    "pg_ctl start",
    "pgbench -T 180 testdb",
    "primary_conninfo = 'host=172.16.3.101 port=5432 user=repuser password=repuser'",
];

/// The directories remade for a rebuilt slave, the same in chapter 3 (p.35) and 4 (p.56).
pub const REBUILD_DIRS: &[&str] = &[
    "mkdir /disk1/data",
    "mkdir /disk2/pg_xlog",
    "mkdir /disk3/archive",
    "chown postgres:postgres /disk1/data",
    "chown postgres:postgres /disk2/pg_xlog",
    "chown postgres:postgres /disk3/archive",
];

/// Chapter 4 (pp.46-60).
pub const CHAPTER_4: &[&str] = &[
    "mkdir -p /disk3/backup/YYYYMMDD/data",
    "chown -R postgres:postgres /disk3/backup/YYYYMMDD",
    "pg_basebackup -h 127.0.0.1 -U repuser -D /disk3/backup/YYYYMMDD/data --xlog --progress",
    "pgbench -T 60 testdb",
    "psql testdb",
    "testdb=# select max(mtime) from pgbench_history;",
    "testdb=# select current_timestamp;",
    "testdb=# truncate table pgbench_history;",
    "testdb=# select count(*) from pgbench_history;",
    "pg_ctl -m fast stop",
    "mkdir -p /disk4/broken/YYYYMMDD/",
    "mv /disk1/data /disk4/broken/YYYYMMDD/",
    "scp -pr 172.16.3.102:/disk3/backup/YYYYMMDD/data  /disk1",
    "chmod 700 /disk1/data",
    "rm -rf /disk1/data/pg_xlog",
    "cd /disk1/data",
    "ln -s /disk2/pg_xlog pg_xlog",
    "[/disk1/data/recovery.conf]",
    "restore_command = 'cp /disk3/archive/%f \"%p\" 2> /dev/null'",
    "recovery_target_time = '",
    "hot_standby = off",
    "pg_ctl start",
    "mv /disk2/pg_xlog /disk4/broken/YYYYMMDD/",
    "mv /disk3/archive /disk4/broken/YYYYMMDD/",
    "pg_basebackup -h 172.16.3.101 -U repuser -D /disk1/data --progress",
    "rmdir /disk1/data/pg_xlog",
    "standby_mode = 'on'",
    "primary_conninfo = 'host=172.16.3.101 port=5432 user=repuser password=repuser'",
    "restore_command = 'scp /disk2/pg_xlog/%f \"%p\" 2> /dev/null'",
    "recovery_target_timeline='latest'",
    "hot_standby = on",
];

/// Chapter 5 (p.61).
pub const CHAPTER_5: &[&str] = &[
    "ssh-keygen -t rsa",
    "cat ~/.ssh/id_rsa.pub | ssh 172.16.3.102 \"cat >>.ssh/authorized_keys && chmod 600 .ssh/authorized_keys\"",
    "cat ~/.ssh/id_rsa.pub | ssh 172.16.3.101 \"cat >>.ssh/authorized_keys && chmod 600 .ssh/authorized_keys\"",
];
