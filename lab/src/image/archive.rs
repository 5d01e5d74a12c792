//! `lab images save` and `lab images load`: a version's three layers as one zstd-compressed
//! `docker save` archive, so that a machine (a CI job) that loads it finds the images by their
//! content tags and builds nothing.
//!
//! Both directions stream: the engine's tar goes through a zstd encoder on a blocking thread
//! into the file, and the file goes through a decoder into the engine's load request; neither
//! is ever held in memory. Which images make a set is decided by [`select`] (pure): the node
//! image of a release, and the base and build images whose keys make its key.

use std::collections::HashMap;
use std::path::Path;

use bytes::Bytes;
use futures_util::StreamExt;

use super::build::PG_VERSION_LABEL;
use crate::docker::{ChannelWriter, DockerError, Engine, KEY_LABEL, LAYER_LABEL};
use crate::version::PgVersion;

/// One of the lab's images as the engine lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// A `repo:tag` of the image.
    pub tag: String,
    /// `base`, `build` or `node`.
    pub layer: String,
    /// The content key.
    pub key: String,
    /// The PostgreSQL release (build and node images).
    pub version: Option<PgVersion>,
}

/// The three images of one release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Set {
    /// The exact release.
    pub version: PgVersion,
    /// The tags, base first.
    pub tags: [String; 3],
}

/// What `lab images save` was asked for and is not there (invalid input: exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NothingToSave {
    /// No complete set at all.
    #[error("no complete set of the lab's images (base, build, node) to save: run `lab images build` first")]
    NoSet,
    /// None for a version asked for.
    #[error("no complete set of images for PostgreSQL {0} (base, build and node of the current recipe): run `lab images build --pg-version {0}` first")]
    NoSetFor(PgVersion),
}

/// The image sets to save: for each requested version (every release present when none is
/// asked for), the newest matching release whose node image has a base and a build image that
/// make its key, as `lab up` would look for them. The error says what is missing.
pub fn select(images: &[Stored], wanted: &[PgVersion]) -> Result<Vec<Set>, NothingToSave> {
    let of = |layer: &'static str| images.iter().filter(move |i| i.layer == layer);
    let complete = |node: &Stored| -> Option<Set> {
        of("base").find_map(|base| {
            of("build")
                .filter(|b| b.version == node.version)
                .find(|b| super::node_key(&base.key, &b.key) == node.key)
                .map(|build| Set {
                    version: node.version.expect("a node image has a version"),
                    tags: [base.tag.clone(), build.tag.clone(), node.tag.clone()],
                })
        })
    };
    let sets: Vec<Set> = of("node")
        .filter(|n| n.version.is_some())
        .filter_map(complete)
        .collect();
    if wanted.is_empty() {
        if sets.is_empty() {
            return Err(NothingToSave::NoSet);
        }
        let mut all = sets;
        all.sort_by_key(|s| s.version);
        all.dedup_by_key(|s| s.version);
        return Ok(all);
    }
    wanted
        .iter()
        .map(|w| {
            sets.iter()
                .filter(|s| w.matches(&s.version))
                .max_by_key(|s| s.version)
                .cloned()
                .ok_or(NothingToSave::NoSetFor(*w))
        })
        .collect()
}

/// The lab's images, one entry per tag.
pub async fn stored(engine: &Engine) -> Result<Vec<Stored>, DockerError> {
    Ok(by_tag(super::managed_images(engine).await?))
}

/// The engine's image list as one entry per tag. An untagged image (`<none>:<none>`, left when
/// its tag moved to a newer image of the same key) is nobody's set.
fn by_tag(images: Vec<bollard::models::ImageSummary>) -> Vec<Stored> {
    let label = |l: &HashMap<String, String>, k: &str| l.get(k).cloned().unwrap_or_default();
    images
        .into_iter()
        .flat_map(|img| {
            let layer = label(&img.labels, LAYER_LABEL);
            let key = label(&img.labels, KEY_LABEL);
            let version = img
                .labels
                .get(PG_VERSION_LABEL)
                .and_then(|v| v.parse().ok());
            let tags = img
                .repo_tags
                .into_iter()
                .filter(|t| !t.starts_with("<none>"));
            tags.map(move |tag| Stored {
                tag,
                layer: layer.clone(),
                key: key.clone(),
                version,
            })
        })
        .collect()
}

/// What went wrong saving or loading.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The engine failed.
    #[error(transparent)]
    Docker(#[from] DockerError),
    /// A file could not be read or written.
    #[error("{0}")]
    File(String),
}

fn file_error(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> ArchiveError {
    let what = format!("{what} {}", path.display());
    move |e| ArchiveError::File(format!("{what}: {e}"))
}

/// Writes the images `tags` to `path` as a zstd-compressed `docker save` archive (written under
/// a temporary name and renamed into place, so a failed save leaves no partial file). Returns
/// the archive's size in bytes.
pub async fn save(engine: &Engine, tags: &[String], path: &Path) -> Result<u64, ArchiveError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let tmp =
        tempfile::NamedTempFile::new_in(&dir).map_err(file_error("creating a file in", &dir))?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let writer =
        tokio::task::spawn_blocking(move || -> std::io::Result<tempfile::NamedTempFile> {
            let mut enc = zstd::stream::write::Encoder::new(tmp.as_file(), 3)?;
            while let Some(chunk) = rx.blocking_recv() {
                std::io::Write::write_all(&mut enc, &chunk)?;
            }
            enc.finish()?;
            Ok(tmp)
        });
    let names: Vec<&str> = tags.iter().map(String::as_str).collect();
    let mut stream = engine.client().export_images(&names);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|source| DockerError::Op {
            op: "save",
            target: tags.join(" "),
            source,
        })?;
        if tx.send(chunk).await.is_err() {
            break; // the writer failed: its error is reported below
        }
    }
    drop(tx);
    let tmp = writer
        .await
        .map_err(|e| ArchiveError::File(format!("the compressor stopped: {e}")))?
        .map_err(file_error("writing", path))?;
    tmp.persist(path)
        .map_err(|e| ArchiveError::File(format!("writing {}: {}", path.display(), e.error)))?;
    Ok(std::fs::metadata(path)
        .map_err(file_error("reading", path))?
        .len())
}

/// Loads an archive written by [`save`]; returns the tags the engine reports loaded.
pub async fn load(engine: &Engine, path: &Path) -> Result<Vec<String>, ArchiveError> {
    let file = std::fs::File::open(path).map_err(file_error("opening", path))?;
    let (mut writer, body) = ChannelWriter::new();
    let reader = tokio::task::spawn_blocking(move || {
        let copied = zstd::stream::read::Decoder::new(file)
            .and_then(|mut dec| std::io::copy(&mut dec, &mut writer));
        match copied {
            Ok(_) => drop(writer),
            Err(e) => writer.fail(e),
        }
    });
    let opts = bollard::query_parameters::ImportImageOptionsBuilder::default()
        .quiet(true)
        .build();
    let mut stream = engine.patient().import_image_stream(opts, body, None);
    let mut loaded = Vec::new();
    let failed = |source| DockerError::Op {
        op: "load",
        target: path.display().to_string(),
        source,
    };
    while let Some(item) = stream.next().await {
        let info = item.map_err(failed)?;
        if let Some(message) = info.error_detail.and_then(|d| d.message) {
            return Err(
                failed(bollard::errors::Error::DockerStreamError { error: message }).into(),
            );
        }
        if let Some(stream) = info.stream.as_deref() {
            loaded.extend(loaded_tags(stream));
        }
    }
    let _ = reader.await;
    Ok(loaded)
}

/// The tags a line of the engine's load output names: the Docker Engine says `Loaded image:
/// TAG` once per image, Podman once for all of them, the tags joined by commas (and qualified:
/// `localhost/pglab/node:…`, which Podman finds again by the short name).
fn loaded_tags(line: &str) -> Vec<String> {
    line.trim()
        .strip_prefix("Loaded image: ")
        .map(|tags| tags.split(',').map(|t| t.trim().to_string()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(tag: &str, layer: &str, key: &str, version: Option<&str>) -> Stored {
        Stored {
            tag: tag.into(),
            layer: layer.into(),
            key: key.into(),
            version: version.map(|v| v.parse().expect("a version")),
        }
    }

    /// A base, and for each release a build and the node its keys make.
    fn lab(releases: &[&str]) -> Vec<Stored> {
        let mut all = vec![image("pglab/base:b", "base", "kb", None)];
        for r in releases {
            let build_key = format!("kbuild{r}");
            all.push(image(
                &format!("pglab/build:{r}"),
                "build",
                &build_key,
                Some(r),
            ));
            let node_key = crate::image::node_key("kb", &build_key);
            all.push(image(
                &format!("pglab/node:{r}"),
                "node",
                &node_key,
                Some(r),
            ));
        }
        all
    }

    fn v(s: &str) -> PgVersion {
        s.parse().expect("a version")
    }

    #[test]
    fn loaded_tags_are_read_from_either_engine() {
        assert_eq!(
            loaded_tags("Loaded image: pglab/node:15.18-k\n"),
            ["pglab/node:15.18-k"]
        );
        assert_eq!(
            loaded_tags("Loaded image: localhost/pglab/node:9.3.5-k,localhost/pglab/base:b"),
            ["localhost/pglab/node:9.3.5-k", "localhost/pglab/base:b"]
        );
        assert!(loaded_tags("sha256:0123").is_empty());
    }

    #[test]
    fn a_major_selects_its_newest_release_with_its_base_and_build() {
        let sets = select(&lab(&["15.17", "15.18", "9.3.5"]), &[v("15")]).expect("a set");
        assert_eq!(
            sets,
            vec![Set {
                version: v("15.18"),
                tags: [
                    "pglab/base:b".into(),
                    "pglab/build:15.18".into(),
                    "pglab/node:15.18".into()
                ],
            }]
        );
    }

    #[test]
    fn no_version_selects_every_release_present() {
        let sets = select(&lab(&["15.18", "9.3.5"]), &[]).expect("sets");
        let versions: Vec<String> = sets.iter().map(|s| s.version.to_string()).collect();
        assert_eq!(versions, ["9.3.5", "15.18"]);
    }

    #[test]
    fn an_untagged_image_of_the_same_key_is_not_saved() {
        let summary = |tags: &[&str]| bollard::models::ImageSummary {
            repo_tags: tags.iter().map(|t| t.to_string()).collect(),
            labels: HashMap::from([
                (LAYER_LABEL.to_string(), "base".to_string()),
                (KEY_LABEL.to_string(), "kb".to_string()),
            ]),
            ..Default::default()
        };
        let stored = by_tag(vec![
            summary(&["<none>:<none>"]),
            summary(&["pglab/base:b", "x/y:z"]),
        ]);
        let tags: Vec<&str> = stored.iter().map(|s| s.tag.as_str()).collect();
        assert_eq!(tags, ["pglab/base:b", "x/y:z"]);
        assert!(stored
            .iter()
            .all(|s| s.layer == "base" && s.key == "kb" && s.version.is_none()));
    }

    #[test]
    fn a_node_of_another_recipe_or_without_its_build_is_not_a_set() {
        let mut images = lab(&["15.18"]);
        images.retain(|i| i.layer != "build");
        let err = select(&images, &[v("15.18")])
            .expect_err("no build image")
            .to_string();
        assert!(err.contains("lab images build --pg-version 15.18"), "{err}");
        let mut stale = lab(&["15.18"]);
        stale.last_mut().expect("the node").key = "an older node recipe".into();
        assert!(select(&stale, &[]).is_err());
    }
}
