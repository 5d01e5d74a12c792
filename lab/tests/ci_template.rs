//! The CI template (ci/github-actions.yml) is valid YAML whose jobs build the images once per
//! version and hand them to the drill jobs and the suite job, which load them instead of
//! building.

use yaml_rust2::{Yaml, YamlLoader};

fn template() -> Yaml {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../ci/github-actions.yml");
    let text = std::fs::read_to_string(path).expect("the CI template");
    let mut docs = YamlLoader::load_from_str(&text).expect("valid YAML");
    assert_eq!(docs.len(), 1, "one document");
    docs.remove(0)
}

/// Every `run:` script of a job, joined.
fn scripts(job: &Yaml) -> String {
    job["steps"]
        .as_vec()
        .expect("steps")
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The step of a job that uses `action`.
fn step_using<'a>(job: &'a Yaml, action: &str) -> &'a Yaml {
    job["steps"]
        .as_vec()
        .expect("steps")
        .iter()
        .find(|s| s["uses"].as_str() == Some(action))
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
    assert_eq!(jobs.len(), 3, "an images job, a drill job and a suite job");
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
        artifact(images, "actions/upload-artifact@v4"),
        artifact(drill, "actions/download-artifact@v4")
    );
}

#[test]
fn the_suite_job_runs_every_drill_on_every_built_version_from_loaded_images() {
    let doc = template();
    let images = &doc["jobs"]["images"];
    let suite = &doc["jobs"]["suite"];
    assert_eq!(suite["needs"].as_str(), Some("images"));
    assert!(
        suite["strategy"].is_badvalue(),
        "one suite job, not a matrix"
    );

    // It downloads every version's artifact: the pattern matches what the images jobs upload.
    let download = step_using(suite, "actions/download-artifact@v4");
    let pattern = download["with"]["pattern"].as_str().expect("a pattern");
    let uploaded = artifact(images, "actions/upload-artifact@v4");
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
        run.contains(&format!("drill run --all --pg-version {every} ")),
        "the suite runs on exactly the built versions ({every}): {run}"
    );
}
