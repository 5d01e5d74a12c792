//! `lab doctor` on this machine (a working engine) and against an engine that is not there;
//! the release it is given, and one that cannot be had.

mod support;

/// The doctor's line for `name`.
fn line<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find(|l| {
            l.split_once(' ')
                .is_some_and(|(_, rest)| rest.starts_with(name))
        })
        .unwrap_or_else(|| panic!("no `{name}` line:\n{text}"))
}

/// No line names the same URL twice.
fn each_url_once(text: &str) {
    for l in text.lines() {
        let urls: Vec<&str> = l
            .split_whitespace()
            .filter(|w| w.contains("://"))
            .map(|w| w.trim_matches(['(', ':', ';', ',', ')']))
            .collect();
        for (i, u) in urls.iter().enumerate() {
            assert!(!urls[..i].contains(u), "{u} twice in:\n{l}");
        }
    }
}

#[test]
fn the_doctor_finds_this_machine_ready() {
    let version = support::test_version().to_string();
    let out = support::lab(&["doctor", "--pg-version", &version]);
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
    let release = line(&text, "release");
    assert!(
        release.starts_with('✔') && release.contains(&format!("PostgreSQL {version}")),
        "{release}"
    );
    each_url_once(&text);
}

#[test]
fn the_doctor_checks_the_tarball_and_release_it_is_given() {
    let tarball = support::pg93_tarball();
    let version = support::Pg::Pg93.version().to_string();
    let out = support::lab(&[
        "doctor",
        "--pg-version",
        &version,
        "--pg-tarball",
        &tarball.display().to_string(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    let release = line(&text, "release");
    assert!(release.starts_with('✔'), "{release}");
    assert!(
        release.contains(&format!("PostgreSQL {version} from {}", tarball.display())),
        "{release}"
    );
    assert!(!text.contains("9.3.25"), "{text}");
}

#[test]
fn the_doctor_fails_when_the_release_up_needs_cannot_be_had() {
    let cache = tempfile::tempdir().expect("a temporary directory");
    let out = support::lab(&[
        "doctor",
        "--pg-version",
        "9.6",
        "--cache-dir",
        &cache.path().display().to_string(),
        "--pg-source-site",
        "http://127.0.0.1:9/none",
        "--debian-mirror",
        "http://127.0.0.1:9/none",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    let release = line(&text, "release");
    assert!(
        release.starts_with('✘') && release.contains("PostgreSQL 9.6 cannot be had"),
        "{release}"
    );
    assert!(
        release.contains("→ put postgresql-9.6.N.tar.bz2 (a release of 9.6) in"),
        "{release}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("release"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    each_url_once(&text);
}

#[test]
fn the_doctor_refuses_flags_it_does_not_use() {
    for flag in ["--check", "--verbose", "--configure-arg=--with-openssl"] {
        let out = support::lab(&["doctor", flag]);
        assert_eq!(out.status.code(), Some(2), "{flag}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("unexpected argument"), "{flag}: {err}");
    }
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
