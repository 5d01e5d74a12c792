//! The one place that talks to the engine: the Docker Engine, or Podman's Docker-compatible
//! API service (`podman system service`), told apart by [`EngineKind`].
//!
//! Everything the lab creates carries the [`MANAGED_LABEL`] label (and the lab's name where it
//! belongs to one lab), so that `lab down` finds it again after a crash. Errors name the
//! operation that failed and the object it was for.

use std::collections::HashMap;
use std::io::Write;
use std::sync::OnceLock;
use std::time::Duration;

use bollard::Docker;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;

/// Label carried by everything the lab creates.
pub const MANAGED_LABEL: &str = "io.pglab.managed";
/// Label with the lab's name (containers, networks, volumes).
pub const LAB_LABEL: &str = "io.pglab.lab";
/// Label with an image's layer (`base`, `build`, `node`).
pub const LAYER_LABEL: &str = "io.pglab.layer";
/// Label with an image's content key.
pub const KEY_LABEL: &str = "io.pglab.key";

/// Which engine answers at the endpoint. Both speak the Docker API; where Podman's answers
/// differ, the code that meets the difference asks [`Engine::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// The Docker Engine (dockerd).
    Docker,
    /// Podman's API service (`podman system service`, or its `podman.socket` unit).
    Podman,
}

/// The kind of the engine this process connected to (one per process), for messages written
/// where no [`Engine`] is at hand.
static CONNECTED: OnceLock<EngineKind> = OnceLock::new();

impl EngineKind {
    /// The engine's name in messages and in `lab doctor`.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Docker => "Docker Engine",
            EngineKind::Podman => "Podman",
        }
    }

    /// Tells the engine from its version endpoint: Podman lists its own component as
    /// "Podman Engine" (the Docker Engine's is "Engine").
    pub fn of(version: &bollard::models::SystemVersion) -> EngineKind {
        let podman = version
            .components
            .iter()
            .flatten()
            .any(|c| c.name.starts_with("Podman"));
        if podman {
            EngineKind::Podman
        } else {
            EngineKind::Docker
        }
    }

    /// Before any answer: the kind the endpoint's address suggests (Podman's sockets are
    /// `…/podman/podman.sock`), for the messages about an engine that cannot be reached.
    pub fn expected() -> EngineKind {
        if endpoint().contains("podman") {
            EngineKind::Podman
        } else {
            EngineKind::Docker
        }
    }

    /// The engine's own command-line client, for the interactive sessions the lab hands over
    /// to it (a terminal attached): `docker` (which honours `DOCKER_HOST`), or Podman's
    /// `podman --remote` at the same endpoint.
    pub fn cli(self) -> std::process::Command {
        match self {
            EngineKind::Docker => std::process::Command::new("docker"),
            EngineKind::Podman => {
                let mut cmd = std::process::Command::new("podman");
                cmd.args(["--remote", "--url", &endpoint()]);
                cmd
            }
        }
    }

    /// The kind of the engine this process connected to, or else the one expected.
    pub fn current() -> EngineKind {
        CONNECTED
            .get()
            .copied()
            .unwrap_or_else(EngineKind::expected)
    }
}

/// A failed engine operation.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// The engine cannot be reached at all.
    #[error("cannot reach the {} ({endpoint}): {source}. Is the {} running and is this user allowed to use it?", EngineKind::expected().name(), match EngineKind::expected() { EngineKind::Docker => "daemon", EngineKind::Podman => "API service" })]
    Unreachable {
        /// Where we looked.
        endpoint: String,
        /// What went wrong.
        #[source]
        source: bollard::errors::Error,
    },
    /// An operation failed.
    #[error("docker {op} {target}: {}", describe(source))]
    Op {
        /// The operation (`build`, `import`, `inspect image`, …).
        op: &'static str,
        /// What it was for.
        target: String,
        /// What went wrong.
        #[source]
        source: bollard::errors::Error,
    },
    /// An image build reported an error.
    #[error(
        "building {tag} failed: {message}\n--- last lines of the build log ({log}) ---\n{tail}"
    )]
    Build {
        /// The image tag.
        tag: String,
        /// The engine's message.
        message: String,
        /// The last lines of output.
        tail: String,
        /// Where the whole log is.
        log: String,
    },
}

/// What went wrong with a request: for a failure to reach the engine (rather than a refusal by
/// it), a sentence saying the engine stopped answering, with the innermost cause, which the
/// HTTP client's own message ("client error (Connect)") leaves out.
pub fn describe(e: &bollard::errors::Error) -> String {
    use bollard::errors::Error as B;
    match e {
        B::HyperLegacyError { .. } | B::IOError { .. } | B::RequestTimeoutError => {
            let mut root: &dyn std::error::Error = e;
            while let Some(next) = root.source() {
                root = next;
            }
            format!(
                "the {} ({}) stopped answering: {root}",
                EngineKind::current().name(),
                endpoint()
            )
        }
        other if other.to_string().contains(NO_CONTAINER_INIT) => format!(
            "{other} (Podman runs the node's init from catatonit: install it, e.g. apt-get install catatonit, or set init_path = \"/usr/bin/tini\" under [containers] in /etc/containers/containers.conf)"
        ),
        other => other.to_string(),
    }
}

/// Podman's answer when a container asks for an init (every node does) and the init it is
/// configured with is not installed: Debian's podman recommends catatonit, tini or dumb-init
/// but runs catatonit only.
const NO_CONTAINER_INIT: &str = "container-init binary not found";

/// A connection to the engine.
///
/// Two clients share it. Every request but three gets a bounded wait for the engine's answer
/// ([`request_timeout`], 120 s by default): an engine that hangs, rather than going away,
/// surfaces as an error (exit 3, "stopped answering") instead of a command that never ends. The
/// bound is on the answer, not on a stream that follows it (an exec's output, build progress).
/// Builds, root filesystem imports and `images load` upload hundreds of megabytes before the
/// engine answers, so they alone use the patient client ([`Engine::patient`], 4 hours).
#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    patient: Docker,
    kind: EngineKind,
    rootless: bool,
}

/// How long the engine may take to answer a request (`LAB_ENGINE_TIMEOUT` seconds, else 120).
pub fn request_timeout() -> Duration {
    std::env::var("LAB_ENGINE_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&s: &u64| s > 0)
        .map_or(Duration::from_secs(120), Duration::from_secs)
}

/// Where the engine is expected, for error messages.
fn endpoint() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

impl Engine {
    /// Connects with the local defaults (`DOCKER_HOST` or the Unix socket), checks that the engine
    /// answers, and agrees on an API version.
    pub async fn connect() -> Result<Engine, DockerError> {
        let unreachable = |source| DockerError::Unreachable {
            endpoint: endpoint(),
            source,
        };
        let docker = Docker::connect_with_local_defaults()
            .map_err(unreachable)?
            .with_timeout(request_timeout());
        let docker = tokio::time::timeout(Duration::from_secs(15), docker.negotiate_version())
            .await
            .map_err(|_| {
                unreachable(bollard::errors::Error::IOError {
                    err: std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in 15 s"),
                })
            })?
            .map_err(unreachable)?;
        let version = docker.version().await.map_err(unreachable)?;
        let kind = EngineKind::of(&version);
        let _ = CONNECTED.set(kind);
        let rootless = match kind {
            EngineKind::Docker => false,
            EngineKind::Podman => docker
                .info()
                .await
                .map_err(unreachable)?
                .security_options
                .is_some_and(|o| o.iter().any(|o| o == "name=rootless")),
        };
        // Builds and imports stream hundreds of megabytes before the engine answers.
        let patient = docker.clone().with_timeout(Duration::from_secs(4 * 3600));
        Ok(Engine {
            docker,
            patient,
            kind,
            rootless,
        })
    }

    /// Which engine this is.
    pub fn kind(&self) -> EngineKind {
        self.kind
    }

    /// Whether it is rootless Podman (its containers run in the user's own user namespace).
    /// The Docker Engine is taken as rootful: the lab does nothing differently for rootless
    /// Docker.
    pub fn rootless(&self) -> bool {
        self.rootless
    }

    /// The underlying client, for modules that need calls this wrapper does not offer; its
    /// requests wait at most [`request_timeout`] for the engine's answer.
    pub fn client(&self) -> &Docker {
        &self.docker
    }

    /// The client for the requests that upload a large body before the engine answers
    /// (builds, imports, `images load`).
    pub fn patient(&self) -> &Docker {
        &self.patient
    }

    /// The labels of an image, or `None` if there is no image with that reference.
    pub async fn image_labels(
        &self,
        reference: &str,
    ) -> Result<Option<HashMap<String, String>>, DockerError> {
        match self.docker.inspect_image(reference).await {
            Ok(img) => Ok(Some(img.config.and_then(|c| c.labels).unwrap_or_default())),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(source) => Err(DockerError::Op {
                op: "inspect image",
                target: reference.to_string(),
                source,
            }),
        }
    }

    /// The size of an image in bytes.
    pub async fn image_size(&self, reference: &str) -> Option<i64> {
        self.docker
            .inspect_image(reference)
            .await
            .ok()
            .and_then(|i| i.size)
    }

    /// Imports a root filesystem tarball (streamed) as `reference` (`repo:tag`) with
    /// Dockerfile-style `changes` (`ENV`, `LABEL`, `CMD`).
    ///
    /// The whole reference goes in the `repo` parameter: Podman's compat API ignores `tag` on
    /// an import from source and would name the image `…:latest` (podman issue 18597); the
    /// Docker Engine reads a tag in `repo` as its own.
    pub async fn import_rootfs(
        &self,
        reference: &str,
        changes: Vec<String>,
        body: impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    ) -> Result<(), DockerError> {
        let options = bollard::query_parameters::CreateImageOptionsBuilder::default()
            .from_src("-")
            .repo(reference)
            .changes(changes)
            .build();
        let mut stream =
            self.patient
                .create_image(Some(options), Some(bollard::body_try_stream(body)), None);
        while let Some(item) = stream.next().await {
            let info = item.map_err(|source| DockerError::Op {
                op: "import",
                target: reference.to_string(),
                source,
            })?;
            if let Some(err) = info.error_detail.and_then(|d| d.message) {
                return Err(DockerError::Op {
                    op: "import",
                    target: reference.to_string(),
                    source: bollard::errors::Error::DockerStreamError { error: err },
                });
            }
        }
        Ok(())
    }

    /// Builds an image with the classic builder from a streamed build context, sending each
    /// output line to `line` and the whole log to `log_path`.
    pub async fn build(
        &self,
        tag: &str,
        labels: HashMap<String, String>,
        context: impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
        log_path: &std::path::Path,
        mut line: impl FnMut(&str),
    ) -> Result<(), DockerError> {
        let options = bollard::query_parameters::BuildImageOptionsBuilder::default()
            .dockerfile("Dockerfile")
            .t(tag)
            .rm(true)
            .forcerm(true)
            .labels(&labels)
            .build();
        let mut log = std::fs::File::create(log_path).ok();
        let mut tail: std::collections::VecDeque<String> = Default::default();
        let mut stream =
            self.patient
                .build_image(options, None, Some(bollard::body_try_stream(context)));
        let fail =
            |message: String, tail: &std::collections::VecDeque<String>| DockerError::Build {
                tag: tag.to_string(),
                message,
                tail: tail.iter().cloned().collect::<Vec<_>>().join("\n"),
                log: log_path.display().to_string(),
            };
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(info) => info,
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    return Err(fail(error, &tail))
                }
                Err(source) => {
                    return Err(DockerError::Op {
                        op: "build",
                        target: tag.to_string(),
                        source,
                    })
                }
            };
            if let Some(text) = info.stream {
                let text = plain(&text);
                if let Some(f) = log.as_mut() {
                    let _ = f.write_all(text.as_bytes());
                }
                for l in text.lines().filter(|l| !l.trim().is_empty()) {
                    line(l);
                    tail.push_back(l.to_string());
                    if tail.len() > 40 {
                        tail.pop_front();
                    }
                }
            }
            if let Some(detail) = info.error_detail {
                return Err(fail(detail.message.unwrap_or_default(), &tail));
            }
        }
        Ok(())
    }
}

/// A build's output without its colours: programs in the build colour their warnings (`useradd`
/// in red, `ESC[91m…`), and the terminal, the log and an error's tail get the text alone.
fn plain(text: &str) -> String {
    strip_ansi_escapes::strip_str(text)
}

/// A `Write` that turns what is written into a stream of chunks, for feeding a tar archive made
/// on a blocking thread into a request body without holding it all in memory.
pub struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

const CHUNK: usize = 1 << 20;

impl ChannelWriter {
    /// A writer and the stream of what it writes; at most a few chunks are buffered.
    pub fn new() -> (
        ChannelWriter,
        impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    ) {
        let (tx, rx) = mpsc::channel(4);
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        (
            ChannelWriter {
                tx,
                buf: Vec::with_capacity(CHUNK),
            },
            stream,
        )
    }

    /// Ends the stream with an error (the reader sees the request body fail).
    pub fn fail(self, err: std::io::Error) {
        let _ = self.tx.blocking_send(Err(err));
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "reader went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

impl Drop for ChannelWriter {
    fn drop(&mut self) {
        let _ = self.send();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_container_init_says_what_to_install() {
        let e = bollard::errors::Error::DockerResponseServerError {
            status_code: 500,
            message: "container-init binary not found on the host: stat /usr/libexec/podman/catatonit: no such file or directory".into(),
        };
        let said = describe(&e);
        assert!(said.contains("apt-get install catatonit"), "{said}");
        let other = bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            message: "no such container".into(),
        };
        assert!(!describe(&other).contains("catatonit"));
    }

    #[test]
    fn build_output_loses_its_colours_not_its_text() {
        assert_eq!(
            plain("\u{1b}[91museradd warning: postgres's uid 501\n\u{1b}[0m"),
            "useradd warning: postgres's uid 501\n"
        );
        assert_eq!(plain("Step 1/7 : FROM x\n"), "Step 1/7 : FROM x\n");
    }
}
