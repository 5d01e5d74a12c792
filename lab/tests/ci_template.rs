//! The CI template (ci/github-actions.yml) is valid YAML whose jobs build the images once per
//! version and hand them to the drill jobs and the suite's shard jobs, which load them instead of
//! building, and whose suite-index job merges the shards into one index and junit.xml; and it
//! passes the checks a user's CI runs on a workflow (zizmor, the GitHub
//! workflow JSON Schema, actionlint where it can be installed).

use std::path::PathBuf;
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

const TEMPLATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ci/github-actions.yml");

fn template() -> Yaml {
    let text = std::fs::read_to_string(TEMPLATE).expect("the CI template");
    let mut docs = YamlLoader::load_from_str(&text).expect("valid YAML");
    assert_eq!(docs.len(), 1, "one document");
    docs.remove(0)
}

/// Every `run:` script of a job, joined, with each `"$NAME"` replaced by the value its step's
/// `env:` gives it (the template passes matrix values through the environment, not into the
/// script's text).
fn scripts(job: &Yaml) -> String {
    job["steps"]
        .as_vec()
        .expect("steps")
        .iter()
        .filter_map(|step| {
            let mut run = step["run"].as_str()?.to_string();
            for (name, value) in step["env"].as_hash().into_iter().flatten() {
                let (Some(name), Some(value)) = (name.as_str(), value.as_str()) else {
                    continue;
                };
                run = run.replace(&format!("\"${name}\""), value);
            }
            Some(run)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The step of a job that uses `action` (`owner/name`, whatever commit it is pinned to).
fn step_using<'a>(job: &'a Yaml, action: &str) -> &'a Yaml {
    job["steps"]
        .as_vec()
        .expect("steps")
        .iter()
        .find(|s| s["uses"].as_str().and_then(|u| u.split('@').next()) == Some(action))
        .unwrap_or_else(|| panic!("no {action} step"))
}

/// The `with.name` of the step that uses `action`.
fn artifact(job: &Yaml, action: &str) -> String {
    step_using(job, action)["with"]["name"]
        .as_str()
        .unwrap_or_else(|| panic!("{action} names no artifact"))
        .to_string()
}

fn versions(job: &Yaml) -> Vec<String> {
    job["strategy"]["matrix"]["pg-version"]
        .as_vec()
        .expect("a pg-version matrix")
        .iter()
        .map(|v| v.as_str().expect("a version string").to_string())
        .collect()
}

#[test]
fn images_are_built_once_per_version_and_loaded_by_the_drill_jobs() {
    let doc = template();
    let jobs = doc["jobs"].as_hash().expect("jobs");
    assert_eq!(
        jobs.len(),
        5,
        "an images job, a drill job, a suite job, its index job and the RHEL job"
    );
    let images = &doc["jobs"]["images"];
    let drill = &doc["jobs"]["drill"];
    assert!(images["needs"].is_badvalue(), "images needs nothing");
    assert_eq!(drill["needs"].as_str(), Some("images"));

    // Each version is built by one images job and drilled on by the drill jobs.
    assert_eq!(versions(images), versions(drill));
    assert!(images["strategy"]["matrix"]["drill"].is_badvalue());
    assert!(!drill["strategy"]["matrix"]["drill"]
        .as_vec()
        .expect("drills")
        .is_empty());

    let build = scripts(images);
    assert!(
        build.contains("images build --pg-version ${{ matrix.pg-version }}"),
        "{build}"
    );
    assert!(
        build.contains(
            "images save --pg-version ${{ matrix.pg-version }} -o handoff/images.tar.zst"
        ),
        "{build}"
    );
    let run = scripts(drill);
    assert!(run.contains("images load handoff/images.tar.zst"), "{run}");
    assert!(
        !run.contains("images build") && !run.contains("cargo build"),
        "{run}"
    );
    assert!(
        run.contains("drill run ${{ matrix.drill }} --pg-version ${{ matrix.pg-version }}"),
        "{run}"
    );

    // The drill job takes the artifact its version's images job uploaded.
    assert_eq!(
        artifact(images, "actions/upload-artifact"),
        artifact(drill, "actions/download-artifact")
    );
}

/// The suite job's matrix of shards (`K/N`).
fn shards(suite: &Yaml) -> Vec<String> {
    suite["strategy"]["matrix"]["shard"]
        .as_vec()
        .expect("a shard matrix")
        .iter()
        .map(|v| v.as_str().expect("a K/N string").to_string())
        .collect()
}

#[test]
fn the_suite_job_runs_every_drill_on_every_built_version_from_loaded_images() {
    let doc = template();
    let images = &doc["jobs"]["images"];
    let suite = &doc["jobs"]["suite"];
    assert_eq!(suite["needs"].as_str(), Some("images"));
    // A matrix of shards that together are the whole suite: 1/N … N/N, and more than one.
    let shards = shards(suite);
    let n = shards.len();
    assert!(n > 1, "{shards:?}");
    let whole: Vec<String> = (1..=n).map(|k| format!("{k}/{n}")).collect();
    assert_eq!(shards, whole);
    assert_eq!(suite["strategy"]["fail-fast"].as_bool(), Some(false));
    assert!(suite["strategy"]["matrix"]["pg-version"].is_badvalue());

    // It downloads every version's artifact: the pattern matches what the images jobs upload.
    let download = step_using(suite, "actions/download-artifact");
    let pattern = download["with"]["pattern"].as_str().expect("a pattern");
    let uploaded = artifact(images, "actions/upload-artifact");
    assert_eq!(
        pattern.strip_suffix('*'),
        uploaded.strip_suffix("${{ matrix.pg-version }}"),
        "{pattern} vs {uploaded}"
    );

    let run = scripts(suite);
    assert!(run.contains("images load"), "{run}");
    assert!(
        !run.contains("images build") && !run.contains("cargo build"),
        "{run}"
    );
    let every = versions(images).join(",");
    assert!(
        run.contains(&format!(
            "drill run --all --pg-version {every} --shard ${{{{ matrix.shard }}}} "
        )),
        "each shard runs its share of exactly the built versions ({every}): {run}"
    );
    // The shards do not publish JUnit results: the suite-index job publishes the one file.
    let uses: Vec<&str> = suite["steps"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(|s| s["uses"].as_str())
        .collect();
    assert!(!uses.iter().any(|u| u.starts_with("mikepenz/")), "{uses:?}");
    assert!(suite["permissions"]["checks"].is_badvalue());
}

#[test]
fn the_suite_index_job_merges_every_shard_and_publishes_one_index_and_junit() {
    let doc = template();
    let images = &doc["jobs"]["images"];
    let suite = &doc["jobs"]["suite"];
    let index = &doc["jobs"]["suite-index"];
    assert_eq!(index["needs"].as_str(), Some("suite"));
    // Also after a failed shard (its drills failed: the index says which), not when cancelled.
    assert_eq!(index["if"].as_str(), Some("${{ !cancelled() }}"));
    assert!(index["strategy"].is_badvalue(), "one merge job");

    // It downloads every shard: the pattern matches what each shard uploads.
    let uploaded = artifact(suite, "actions/upload-artifact");
    let (prefix, _) = uploaded
        .split_once("${{")
        .unwrap_or_else(|| panic!("each shard's artifact is its own: {uploaded}"));
    let downloads: Vec<&Yaml> = index["steps"]
        .as_vec()
        .unwrap()
        .iter()
        .filter(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/download-artifact@"))
        })
        .collect();
    let patterns: Vec<&str> = downloads
        .iter()
        .filter_map(|s| s["with"]["pattern"].as_str())
        .collect();
    assert_eq!(patterns, [format!("{prefix}*")], "{uploaded}");
    // The lab binary comes from an images artifact (one of the built versions).
    let binary = downloads
        .iter()
        .find_map(|s| s["with"]["name"].as_str())
        .expect("an images artifact by name");
    let images_artifact = artifact(images, "actions/upload-artifact");
    let (images_prefix, _) = images_artifact.split_once("${{").unwrap();
    let version = binary
        .strip_prefix(images_prefix)
        .unwrap_or_else(|| panic!("{binary} vs {images_artifact}"));
    assert!(versions(images).iter().any(|v| v == version), "{binary}");

    // The merge reads the shards' directories and writes runs/suite/<stamp>/, which is uploaded
    // and whose junit.xml is published; nothing is built or loaded, no engine is needed.
    let run = scripts(index);
    assert!(run.contains("drill merge shards/ --runs-dir runs"), "{run}");
    assert!(
        !run.contains("images load") && !run.contains("cargo build") && !run.contains("$LAB"),
        "{run}"
    );
    let publish = step_using(index, "mikepenz/action-junit-report");
    assert_eq!(
        publish["with"]["report_paths"].as_str(),
        Some("runs/suite/*/junit.xml")
    );
    assert_eq!(publish["if"].as_str(), Some("always()"));
    let upload = step_using(index, "actions/upload-artifact");
    assert_eq!(upload["with"]["path"].as_str(), Some("runs/"));
    assert_eq!(index["permissions"]["checks"].as_str(), Some("write"));
}

/// Where test.sh installs the workflow linters (a Python venv under target/), or
/// `LAB_TEST_CI_LINT` naming its `bin` directory.
fn linter(name: &str) -> PathBuf {
    let bin = std::env::var_os("LAB_TEST_CI_LINT").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../target/ci-lint/bin"
            ))
        },
        PathBuf::from,
    );
    bin.join(name)
}

/// Runs a linter on the template; panics with its output unless it exits 0.
#[track_caller]
fn lint(name: &str, args: &[&str]) {
    let path = linter(name);
    let out = Command::new(&path)
        .args(args)
        .arg(TEMPLATE)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{} cannot run ({e}): ./test.sh installs it (or point LAB_TEST_CI_LINT at a bin \
                 directory that has it)",
                path.display()
            )
        });
    assert!(
        out.status.success(),
        "{name} found problems in ci/github-actions.yml:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn zizmor_finds_nothing_even_pedantic() {
    // Offline: it audits the file itself (pinned commits, permissions, credentials, template
    // injection), not the actions' repositories.
    lint(
        "zizmor",
        &["--offline", "--persona", "pedantic", "--no-progress"],
    );
}

#[test]
fn the_template_is_valid_against_the_github_workflow_schema() {
    lint(
        "check-jsonschema",
        &["--builtin-schema", "vendor.github-workflows"],
    );
}

#[test]
fn every_action_is_pinned_to_a_commit_with_its_version_beside_it() {
    let text = std::fs::read_to_string(TEMPLATE).expect("the CI template");
    let uses: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            l.trim_start()
                .trim_start_matches("- ")
                .strip_prefix("uses: ")
        })
        .collect();
    assert!(uses.len() >= 5, "{uses:?}");
    for line in uses {
        let (action, comment) = line.split_once(" # ").unwrap_or((line, ""));
        let commit = action.split_once('@').map_or("", |(_, c)| c);
        assert!(
            commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()),
            "{line}: not pinned to a commit"
        );
        assert!(comment.starts_with('v'), "{line}: no version comment");
    }
}

#[test]
fn actionlint_finds_nothing() {
    // Its PyPI wrapper downloads the binary from GitHub: test.sh says so and sets this where
    // that cannot be reached.
    if std::env::var_os("LAB_TEST_SKIP_ACTIONLINT").is_some() {
        eprintln!("actionlint is not installed here (LAB_TEST_SKIP_ACTIONLINT): not run");
        return;
    }
    lint("actionlint", &[]);
}

/// The report's servers ran RHEL (issue 22): a job builds every version of the images matrix on
/// `rockylinux:9` and runs both documented drills on those images.
#[test]
fn a_rhel_job_builds_every_version_on_rocky_linux_and_runs_both_documented_drills() {
    let doc = template();
    let images = &doc["jobs"]["images"];
    let rhel = &doc["jobs"]["rhel"];
    assert_eq!(
        versions(rhel),
        versions(images),
        "the images matrix's versions"
    );
    let run = scripts(rhel);
    assert!(
        run.contains("images build --pg-version ${{ matrix.pg-version }} --base rockylinux:9"),
        "{run}"
    );
    for drill in ["failover-switchback", "pitr-from-standby-backup"] {
        assert!(run.contains(drill), "{drill}: {run}");
    }
    assert!(
        run.contains(
            "drill run \"$drill\" --pg-version ${{ matrix.pg-version }} --base rockylinux:9"
        ),
        "{run}"
    );
    assert!(
        !run.contains("images load"),
        "it builds its own images: {run}"
    );
}
