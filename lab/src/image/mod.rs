//! The three image layers and their content keys.
//!
//! 1. **base**: an OS with everything the later layers need (compiler, headers, sshd…). Made
//!    offline from a Debian root filesystem (`debootstrap` on the host, imported into Docker), or
//!    from a registry image (RHEL-compatible with dnf, Debian-like with apt-get).
//! 2. **build**: the base plus the PostgreSQL tarball, configured and built with `make world`.
//! 3. **node**: the base plus `/usr/local/pgsql` copied out of the build image, the `postgres`
//!    user (uid/gid 501), the /disk1–/disk4 mount points and sshd.
//!
//! Each image is tagged with a hash of everything that goes into it, so an unchanged rebuild
//! finds its images and does nothing. This module only renders and hashes (no I/O); `build`
//! makes the images.

pub mod archive;
pub mod build;
pub mod progress;

use sha2::{Digest, Sha256};

use crate::version::PgVersion;

/// Bump when the base recipe changes in a way the package list does not show.
const BASE_RECIPE: &str = "base-v1";

/// Debian packages installed at bootstrap time (`images/packages.debian`): everything the build
/// and node layers use, so that no image build needs the network.
pub fn debian_packages() -> Vec<&'static str> {
    package_list(include_str!("../../../images/packages.debian"))
}

/// The same set for dnf-based (RHEL-compatible) images (`images/packages.dnf`).
pub fn dnf_packages() -> Vec<&'static str> {
    package_list(include_str!("../../../images/packages.dnf"))
}

fn package_list(text: &'static str) -> Vec<&'static str> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .collect()
}

/// A word that may go into a Dockerfile (a base image, a `./configure` argument): made only by
/// [`dockerfile_word`], so that no value given from outside can end an instruction and start
/// another (a newline) or hide a character the engine's parser treats specially.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerfileWord(String);

impl DockerfileWord {
    /// The word as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DockerfileWord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a word cannot go into a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadWord {
    /// Nothing.
    #[error("it is empty")]
    Empty,
    /// A line break or another control character: it would end the Dockerfile instruction.
    #[error("it holds a control character ({0:?}) at byte {1}: a line break would start another Dockerfile instruction")]
    Control(char, usize),
    /// Longer than any argument or image reference needs.
    #[error("it is {0} bytes long: at most {MAX_WORD} are taken")]
    TooLong(usize),
}

/// The longest word taken into a Dockerfile.
pub const MAX_WORD: usize = 4096;

/// The one way a word from outside reaches a Dockerfile: refused if empty, over [`MAX_WORD`]
/// bytes or holding a control character (a newline, a carriage return, a NUL, an escape…).
pub fn dockerfile_word(word: &str) -> Result<DockerfileWord, BadWord> {
    if word.is_empty() {
        return Err(BadWord::Empty);
    }
    if word.len() > MAX_WORD {
        return Err(BadWord::TooLong(word.len()));
    }
    if let Some((at, c)) = word.char_indices().find(|(_, c)| c.is_control()) {
        return Err(BadWord::Control(c, at));
    }
    Ok(DockerfileWord(word.to_string()))
}

/// Fills `{{name}}` placeholders of a template from `images/`.
///
/// # Panics
/// If a placeholder is left unfilled: templates and callers are part of the same build.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{{{name}}}}}"), value);
    }
    assert!(!out.contains("{{"), "unfilled placeholder in:\n{out}");
    out
}

/// How the base image is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// A Debian root filesystem made with `debootstrap` on the host and imported: no registry.
    Debootstrap {
        /// The suite (`bookworm`).
        suite: String,
        /// The mirror URI, from the host's apt sources or `--debian-mirror`.
        mirror: String,
    },
    /// A registry image with a package manager.
    Registry {
        /// The image reference (`rockylinux:9`).
        image: DockerfileWord,
        /// How packages are installed in it.
        family: Family,
    },
}

/// Package-manager family of a registry base image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// RHEL, Rocky, Alma, CentOS, Fedora, Oracle Linux.
    Dnf,
    /// Debian, Ubuntu.
    Apt,
}

impl Family {
    /// Guesses the family from an image name; `None` when it cannot be told.
    pub fn of_image(image: &str) -> Option<Family> {
        let name = image.rsplit('/').next().unwrap_or(image);
        let name = name.split([':', '@']).next().unwrap_or(name);
        match name {
            "rockylinux" | "almalinux" | "centos" | "fedora" | "oraclelinux" | "ubi8" | "ubi9"
            | "rhel" | "rocky" | "alma" => Some(Family::Dnf),
            "debian" | "ubuntu" => Some(Family::Apt),
            _ => None,
        }
    }
}

/// What goes into the build layer.
#[derive(Debug, Clone)]
pub struct BuildInputs {
    /// The exact release.
    pub version: PgVersion,
    /// SHA-256 of the tarball.
    pub tarball_sha256: String,
    /// How the tarball is compressed (a `.tar.gz` is unpacked with `tar xzf`; a `.tar.bz2`'s
    /// Dockerfile, and so its key, is as it always was).
    pub compression: crate::tarball::Compression,
    /// Extra `./configure` arguments (none by default, as the document).
    pub configure_args: Vec<DockerfileWord>,
    /// Run the regression suite (`make check`) after `make world`. Not part of the content
    /// key: a checked image is the same image, and carries [`CHECKED_LABEL`].
    pub check: bool,
}

/// Label of a build image whose regression suite passed when it was built.
pub const CHECKED_LABEL: &str = "io.pglab.checked";

/// The build layer's regression run (`make check`, after `make world`): as an unprivileged
/// user, since initdb refuses to run as root; on failure the regression diffs are printed and
/// the build fails, so the image is not tagged.
const MAKE_CHECK: &str = " \\\n && useradd -M -d /work pgcheck && chown -R pgcheck /work \\\n && if ! su pgcheck -s /bin/sh -c 'make check'; then echo 'make check failed; the regression diffs:'; find . -name regression.diffs -exec cat {} +; exit 1; fi \\\n && chown -R root:root /work";

/// Content key: the first 16 hex digits of the SHA-256 of the parts.
pub fn key(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())[..16].to_string()
}

impl Base {
    /// The content key of the base image.
    pub fn key(&self) -> String {
        match self {
            // The mirror is not part of the key: any mirror of the suite gives the same system.
            Base::Debootstrap { suite, .. } => key(&[
                BASE_RECIPE,
                "debootstrap",
                suite,
                std::env::consts::ARCH,
                &debian_packages().join(" "),
                base_finish_script(),
            ]),
            Base::Registry { .. } => key(&[BASE_RECIPE, &self.dockerfile()]),
        }
    }

    /// The tag of the base image.
    pub fn tag(&self) -> String {
        let flavour = match self {
            Base::Debootstrap { suite, .. } => format!("debian-{suite}"),
            Base::Registry { image, .. } => image.as_str().replace(['/', ':', '@'], "-"),
        };
        format!("pglab/base:{flavour}-{}", self.key())
    }

    /// The Dockerfile of a registry base (for a debootstrap base, the script run in the root
    /// filesystem before import is [`base_finish_script`]).
    pub fn dockerfile(&self) -> String {
        match self {
            Base::Debootstrap { .. } => String::new(),
            Base::Registry { image, family } => {
                let install = match family {
                    Family::Dnf => format!(
                        "RUN dnf install -y --setopt=install_weak_deps=False {} \\\n && dnf clean all",
                        dnf_packages().join(" ")
                    ),
                    Family::Apt => format!(
                        "ENV DEBIAN_FRONTEND=noninteractive\n\
                         RUN apt-get update \\\n && apt-get install -y --no-install-recommends {} \\\n && rm -rf /var/lib/apt/lists/*",
                        debian_packages().join(" ")
                    ),
                };
                let finish = base_finish_script()
                    .lines()
                    .filter(|l| !l.starts_with('#'))
                    .collect::<Vec<_>>()
                    .join(" \\\n && ");
                fill(
                    include_str!("../../../images/base.registry.Dockerfile"),
                    &[
                        ("image", image.as_str()),
                        ("install", &install),
                        ("finish", &finish),
                    ],
                )
            }
        }
    }
}

/// Run in every base (`images/base-finish.sh`): inside the debootstrap root before import, or
/// as a Dockerfile step.
pub fn base_finish_script() -> &'static str {
    include_str!("../../../images/base-finish.sh")
}

/// `make` targets for a major: `world` as the document does (docs and contrib, pgbench
/// included). From 17 on, release tarballs no longer ship built documentation, which would need
/// a DocBook tool chain: `world-bin` builds the same programs and contrib without it.
pub fn make_targets(version: &PgVersion) -> (&'static str, &'static str) {
    if version.major.first >= 17 {
        ("world-bin", "install-world-bin")
    } else {
        ("world", "install-world")
    }
}

/// `./configure` arguments the lab adds for a major, before the user's own (which come later, so
/// `--configure-arg --with-icu` wins). From 16 on, `./configure` requires ICU by default; the
/// document's build had none, and the images have no locales to collate by: `--without-icu`.
pub fn lab_configure_args(version: &PgVersion) -> &'static [&'static str] {
    if version.major.first >= 16 {
        &["--without-icu"]
    } else {
        &[]
    }
}

impl BuildInputs {
    /// The tarball's name in the build context.
    pub fn tarball_name(&self) -> String {
        format!(
            "postgresql-{}{}",
            self.version,
            self.compression.extension()
        )
    }

    /// The build layer's Dockerfile.
    pub fn dockerfile(&self, base_tag: &str) -> String {
        let check = if self.check { MAKE_CHECK } else { "" };
        let v = self.version;
        let (world, install) = make_targets(&v);
        let configure = std::iter::once("./configure".to_string())
            .chain(lab_configure_args(&v).iter().map(|a| a.to_string()))
            .chain(
                self.configure_args
                    .iter()
                    .map(|a| crate::plan::quote(a.as_str()).into_owned()),
            )
            .collect::<Vec<_>>()
            .join(" ");
        fill(
            include_str!("../../../images/build.Dockerfile"),
            &[
                ("version", &v.to_string()),
                ("base", base_tag),
                ("tarball", &self.tarball_name()),
                ("untar", self.compression.untar()),
                ("configure", &configure),
                ("world", world),
                ("check", check),
                ("install", install),
            ],
        )
    }

    /// The content key of the build image.
    pub fn key(&self, base_key: &str) -> String {
        let unchecked = BuildInputs {
            check: false,
            ..self.clone()
        };
        key(&[
            base_key,
            &self.tarball_sha256,
            &unchecked.dockerfile("BASE"),
        ])
    }
}

/// The node layer's Dockerfile.
pub fn node_dockerfile(base_tag: &str, build_tag: &str) -> String {
    fill(
        include_str!("../../../images/node.Dockerfile"),
        &[("base", base_tag), ("build", build_tag)],
    )
}

/// The node's main process (`images/node-init`): makes this node's own SSH host key (ed25519), then
/// runs sshd. PostgreSQL is started with `pg_ctl`, as on the document's servers.
pub const NODE_INIT: &str = include_str!("../../../images/node-init");

/// The node image's content key.
pub fn node_key(base_key: &str, build_key: &str) -> String {
    key(&[
        base_key,
        build_key,
        &node_dockerfile("BASE", "BUILD"),
        NODE_INIT,
    ])
}

/// The lab's images as a table (layer, tag, PostgreSQL release, size).
pub async fn list(engine: &crate::docker::Engine) -> Result<String, crate::docker::DockerError> {
    let images = managed_images(engine).await?;
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(["layer", "image", "postgresql", "size"]);
    for img in images {
        let labels = img.labels;
        for tag in img.repo_tags {
            table.add_row([
                labels
                    .get(crate::docker::LAYER_LABEL)
                    .cloned()
                    .unwrap_or_default(),
                tag,
                labels
                    .get(build::PG_VERSION_LABEL)
                    .cloned()
                    .unwrap_or_default(),
                format!("{} MiB", img.size >> 20),
            ]);
        }
    }
    Ok(table.to_string())
}

/// Removes every image the lab made (node images first, then build, then base).
pub async fn remove_all(
    engine: &crate::docker::Engine,
) -> Result<usize, crate::docker::DockerError> {
    let mut images = managed_images(engine).await?;
    let rank = |l: Option<&String>| match l.map(String::as_str) {
        Some("node") => 0,
        Some("build") => 1,
        _ => 2,
    };
    images.sort_by_key(|i| rank(i.labels.get(crate::docker::LAYER_LABEL)));
    let mut removed = 0;
    for img in images {
        let opts = bollard::query_parameters::RemoveImageOptionsBuilder::default()
            .force(true)
            .build();
        engine
            .client()
            .remove_image(&img.id, Some(opts), None)
            .await
            .map_err(|source| crate::docker::DockerError::Op {
                op: "remove image",
                target: img.id.clone(),
                source,
            })?;
        removed += 1;
    }
    Ok(removed)
}

/// `lab images rm --pg-version` asked for a release or major the lab has no image of (invalid
/// input: exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the lab has no image of PostgreSQL {version} to remove ({}); `lab images list` shows them", present_releases(.present))]
pub struct NothingToRemove {
    /// What was asked for.
    pub version: PgVersion,
    /// The releases the lab has images of.
    pub present: Vec<PgVersion>,
}

fn present_releases(present: &[PgVersion]) -> String {
    if present.is_empty() {
        return "it has none of any release".into();
    }
    let list: Vec<String> = present.iter().map(|v| v.to_string()).collect();
    format!("it has images of {}", list.join(", "))
}

/// The tags `lab images rm --pg-version VERSION` removes, node images first, then build, then
/// base: every build and node image of the releases `version` matches; with `with_base`, also
/// each base image that makes the key of a node image removed and of no node image kept (a
/// base shared with another release stays).
pub fn to_remove(
    images: &[archive::Stored],
    version: &PgVersion,
    with_base: bool,
) -> Result<Vec<String>, NothingToRemove> {
    let of_version = |i: &archive::Stored| i.version.is_some_and(|v| version.matches(&v));
    let layer = |name: &'static str| images.iter().filter(move |i| i.layer == name);
    let mut tags: Vec<String> = Vec::new();
    for name in ["node", "build"] {
        tags.extend(layer(name).filter(|i| of_version(i)).map(|i| i.tag.clone()));
    }
    if tags.is_empty() {
        let mut present: Vec<PgVersion> = images.iter().filter_map(|i| i.version).collect();
        present.sort();
        present.dedup();
        return Err(NothingToRemove {
            version: *version,
            present,
        });
    }
    if with_base {
        let made_by = |base: &archive::Stored, node: &archive::Stored| {
            layer("build")
                .filter(|b| b.version == node.version)
                .any(|b| node_key(&base.key, &b.key) == node.key)
        };
        let bases = layer("base").filter(|base| {
            let (gone, kept): (Vec<&archive::Stored>, Vec<&archive::Stored>) =
                layer("node").partition(|n| of_version(n));
            gone.iter().any(|n| made_by(base, n)) && !kept.iter().any(|n| made_by(base, n))
        });
        tags.extend(bases.map(|b| b.tag.clone()));
    }
    tags.dedup();
    Ok(tags)
}

/// Removes images by tag (an image with another tag keeps it), in the order given.
pub async fn remove_tags(
    engine: &crate::docker::Engine,
    tags: &[String],
) -> Result<(), crate::docker::DockerError> {
    for tag in tags {
        let opts = bollard::query_parameters::RemoveImageOptionsBuilder::default()
            .force(true)
            .build();
        engine
            .client()
            .remove_image(tag, Some(opts), None)
            .await
            .map_err(|source| crate::docker::DockerError::Op {
                op: "remove image",
                target: tag.clone(),
                source,
            })?;
    }
    Ok(())
}

pub(crate) async fn managed_images(
    engine: &crate::docker::Engine,
) -> Result<Vec<bollard::models::ImageSummary>, crate::docker::DockerError> {
    let filters = std::collections::HashMap::from([(
        "label".to_string(),
        vec![format!("{}=true", crate::docker::MANAGED_LABEL)],
    )]);
    let opts = bollard::query_parameters::ListImagesOptionsBuilder::default()
        .filters(&filters)
        .build();
    engine
        .client()
        .list_images(Some(opts))
        .await
        .map_err(|source| crate::docker::DockerError::Op {
            op: "list images",
            target: String::new(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(tag: &str, layer: &str, key: &str, version: Option<&str>) -> archive::Stored {
        archive::Stored {
            tag: tag.into(),
            layer: layer.into(),
            key: key.into(),
            version: version.map(|v| v.parse().unwrap()),
        }
    }

    /// Two bases: `b1` makes 9.3.5 and 15.18, `b2` only 15.18 (another recipe); 15.17's build
    /// image has no node image.
    fn engine_images() -> Vec<archive::Stored> {
        vec![
            stored("pglab-base:b1", "base", "b1", None),
            stored("pglab-base:b2", "base", "b2", None),
            stored("pglab-build:93", "build", "k93", Some("9.3.5")),
            stored("pglab-build:15", "build", "k15", Some("15.18")),
            stored("pglab-build:1517", "build", "k1517", Some("15.17")),
            stored(
                "pglab-node:93",
                "node",
                &node_key("b1", "k93"),
                Some("9.3.5"),
            ),
            stored(
                "pglab-node:15",
                "node",
                &node_key("b1", "k15"),
                Some("15.18"),
            ),
            stored(
                "pglab-node:15b",
                "node",
                &node_key("b2", "k15"),
                Some("15.18"),
            ),
        ]
    }

    #[test]
    fn a_versions_images_are_removed_node_first_and_a_shared_base_only_when_nobody_keeps_it() {
        let images = engine_images();
        let v = |s: &str| s.parse::<PgVersion>().unwrap();
        assert_eq!(
            to_remove(&images, &v("15.18"), false).unwrap(),
            ["pglab-node:15", "pglab-node:15b", "pglab-build:15"]
        );
        // A major takes every release of it; b1 also makes 9.3.5, so only b2 goes.
        assert_eq!(
            to_remove(&images, &v("15"), true).unwrap(),
            [
                "pglab-node:15",
                "pglab-node:15b",
                "pglab-build:15",
                "pglab-build:1517",
                "pglab-base:b2"
            ]
        );
        assert_eq!(
            to_remove(&images, &v("9.3"), true).unwrap(),
            ["pglab-node:93", "pglab-build:93"]
        );
        let e = to_remove(&images, &v("16"), false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the lab has no image of PostgreSQL 16 to remove (it has images of 9.3.5, 15.17, \
             15.18); `lab images list` shows them"
        );
        let e = to_remove(&images[..2], &v("9.3.25"), true).unwrap_err();
        assert!(e.to_string().contains("it has none of any release"), "{e}");
    }

    fn inputs(version: &str) -> BuildInputs {
        BuildInputs {
            version: version.parse().unwrap(),
            tarball_sha256: "ab".repeat(32),
            compression: Default::default(),
            configure_args: vec![],
            check: false,
        }
    }

    #[test]
    fn a_gzipped_tarball_is_unpacked_as_gzip_and_a_bzipped_one_as_always() {
        let bz = inputs("9.3.5");
        let gz = BuildInputs {
            compression: crate::tarball::Compression::Gzip,
            ..bz.clone()
        };
        assert_eq!(gz.tarball_name(), "postgresql-9.3.5.tar.gz");
        let file = gz.dockerfile("B");
        assert!(
            file.contains("COPY postgresql-9.3.5.tar.gz /work/"),
            "{file}"
        );
        assert!(file.contains("tar xzf postgresql-9.3.5.tar.gz"), "{file}");
        assert!(bz
            .dockerfile("B")
            .contains("tar xjf postgresql-9.3.5.tar.bz2"));
        assert_ne!(gz.key("base"), bz.key("base"));
    }

    fn debian() -> Base {
        Base::Debootstrap {
            suite: "bookworm".into(),
            mirror: "http://mirror.example/debian".into(),
        }
    }

    fn golden(name: &str, actual: &str) {
        crate::golden::assert_golden(&format!("images/{name}"), actual);
    }

    #[test]
    fn a_checked_build_is_the_same_image_with_make_check_before_install() {
        let plain = inputs("9.3.5");
        let checked = BuildInputs {
            check: true,
            ..plain.clone()
        };
        assert_eq!(checked.key("B"), plain.key("B"));
        let file = checked.dockerfile("pglab/base:X");
        let (check, install) = (
            file.find("'make check'").expect("make check runs"),
            file.find("install-world \\").expect("install-world runs"),
        );
        assert!(check < install, "{file}");
        assert!(file.contains("regression.diffs"), "{file}");
        assert!(!plain.dockerfile("pglab/base:X").contains("make check"));
    }

    #[test]
    fn rendered_dockerfiles_match_the_golden_files() {
        let rocky = Base::Registry {
            image: dockerfile_word("rockylinux:9").unwrap(),
            family: Family::Dnf,
        };
        golden("base-rockylinux-9.Dockerfile", &rocky.dockerfile());
        let deb = Base::Registry {
            image: dockerfile_word("debian:bookworm").unwrap(),
            family: Family::Apt,
        };
        golden("base-debian-bookworm.Dockerfile", &deb.dockerfile());
        golden(
            "build-9.3.25.Dockerfile",
            &inputs("9.3.25").dockerfile("pglab/base:X"),
        );
        golden(
            "build-17.2.Dockerfile",
            &inputs("17.2").dockerfile("pglab/base:X"),
        );
        let checked = BuildInputs {
            check: true,
            ..inputs("9.3.5")
        };
        golden(
            "build-9.3.5-check.Dockerfile",
            &checked.dockerfile("pglab/base:X"),
        );
        golden(
            "node.Dockerfile",
            &node_dockerfile("pglab/base:X", "pglab/build:Y"),
        );
        golden("node-init", NODE_INIT);
    }

    #[test]
    fn the_93_build_follows_the_document() {
        let d = inputs("9.3.25").dockerfile("b");
        assert!(d.contains("./configure \\"), "defaults, no flags: {d}");
        assert!(d.contains("make -j\"$(nproc)\" world"));
        assert!(d.contains("make install-world"));
        let node = node_dockerfile("b", "c");
        for want in [
            "groupadd -g 501 postgres",
            "useradd -u 501 -g 501",
            "PGDATA=/disk1/data",
            "/usr/local/pgsql/bin",
        ] {
            assert!(node.contains(want), "{want} missing from {node}");
        }
    }

    #[test]
    fn keys_change_with_inputs_and_nothing_else() {
        let base = debian().key();
        // another mirror of the same suite: same system, same key
        let other_mirror = Base::Debootstrap {
            suite: "bookworm".into(),
            mirror: "http://elsewhere.example/debian".into(),
        };
        assert_eq!(other_mirror.key(), base);
        let trixie = Base::Debootstrap {
            suite: "trixie".into(),
            mirror: "http://mirror.example/debian".into(),
        };
        assert_ne!(trixie.key(), base);

        let b = inputs("15.18");
        assert_eq!(b.key(&base), inputs("15.18").key(&base));
        let mut other_sum = inputs("15.18");
        other_sum.tarball_sha256 = "cd".repeat(32);
        assert_ne!(other_sum.key(&base), b.key(&base));
        let mut ssl = inputs("15.18");
        ssl.configure_args = vec![dockerfile_word("--with-openssl").unwrap()];
        assert_ne!(ssl.key(&base), b.key(&base));
        assert_ne!(b.key(&trixie.key()), b.key(&base));
        assert_ne!(node_key(&base, "x"), node_key(&base, "y"));
        assert!(debian().tag().starts_with("pglab/base:debian-bookworm-"));
    }

    #[test]
    fn image_families_are_recognised() {
        assert_eq!(Family::of_image("rockylinux:9"), Some(Family::Dnf));
        assert_eq!(
            Family::of_image("quay.io/almalinux/almalinux:9"),
            Some(Family::Dnf)
        );
        assert_eq!(Family::of_image("ubuntu:24.04"), Some(Family::Apt));
        assert_eq!(Family::of_image("alpine:3"), None);
    }

    #[test]
    fn majors_from_16_are_configured_without_icu_unless_the_user_asks_for_it() {
        let inputs = |v: &str, args: &[&str]| BuildInputs {
            configure_args: args.iter().map(|a| dockerfile_word(a).unwrap()).collect(),
            ..inputs(v)
        };
        for v in ["9.3.5", "13.16", "15.18"] {
            let file = inputs(v, &[]).dockerfile("B");
            assert!(!file.contains("icu"), "{v}: {file}");
        }
        for v in ["16.4", "17.11"] {
            let file = inputs(v, &[]).dockerfile("B");
            assert!(
                file.contains("./configure --without-icu \\\n"),
                "{v}: {file}"
            );
        }
        let file = inputs("17.11", &["--with-icu"]).dockerfile("B");
        assert!(
            file.contains("./configure --without-icu --with-icu \\\n"),
            "{file}"
        );
    }

    #[test]
    fn no_word_can_add_a_dockerfile_instruction() {
        for bad in [
            "rockylinux:9\nRUN rm -rf /",
            "--with-x\r",
            "a\0b",
            "\u{1b}[2J",
            "",
        ] {
            assert!(dockerfile_word(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(
            dockerfile_word("x\ny"),
            Err(BadWord::Control('\n', 1))
        ));
        assert_eq!(
            dockerfile_word("CFLAGS=-O2 -g").map(|w| w.to_string()),
            Ok("CFLAGS=-O2 -g".to_string())
        );
    }

    #[test]
    fn configure_arguments_are_quoted() {
        let quote = crate::plan::quote;
        assert_eq!(quote("--with-openssl"), "--with-openssl");
        assert_eq!(quote("CFLAGS=-O2 -g"), "'CFLAGS=-O2 -g'");
        assert_eq!(quote("a'b"), "\"a'b\"");
        assert_eq!(quote(""), "''");
    }
}
