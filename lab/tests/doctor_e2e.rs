//! `lab doctor` on this machine (a working engine) and against an engine that is not there.

mod support;

#[test]
fn the_doctor_finds_this_machine_ready() {
    let out = support::lab(&["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let engine = text
        .lines()
        .find(|l| l.contains(" engine "))
        .expect("an engine line");
    assert!(
        engine.starts_with("✔") && engine.contains("Docker Engine"),
        "{engine}"
    );
    for name in [
        "root or sudo",
        "debootstrap",
        "disk (images)",
        "disk (cache)",
        "apt mirror",
        "tarballs",
    ] {
        assert!(
            text.lines().any(|l| l.contains(name)),
            "no `{name}` line:\n{text}"
        );
    }
    assert!(!text.contains('✘'), "{text}");
}

#[test]
fn the_doctor_says_what_to_fix_when_the_engine_is_missing() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let socket = dir.path().join("docker.sock");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lab"))
        .arg("doctor")
        .env("DOCKER_HOST", format!("unix://{}", socket.display()))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the lab binary runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    let engine = text
        .lines()
        .find(|l| l.contains(" engine "))
        .expect("an engine line");
    assert!(engine.starts_with("✘"), "{engine}");
    assert!(engine.contains(&socket.display().to_string()), "{engine}");
    assert!(engine.contains("→ start the Docker Engine"), "{engine}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("check(s) failed: engine"));
    // The other checks still run.
    assert!(text.lines().any(|l| l.contains("disk (images)")), "{text}");
}
