//! HTTP downloads: small index files into memory, tarballs into files with their SHA-256
//! computed on the way.
//!
//! Proxies are taken from the usual environment variables (reqwest's default). Connections time
//! out quickly so that a machine without internet learns it in seconds, not minutes.

use std::path::Path;
use std::time::Duration;

use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// A failed download, with the URL it was for.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The request could not be made or the body not read.
    #[error("{url}: {source}")]
    Http {
        /// The URL.
        url: String,
        /// What went wrong.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error status.
    #[error("{url}: HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The body was larger than the limit for an index file.
    #[error("{url}: larger than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// Writing the file failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
}

impl DownloadError {
    /// What went wrong, without the URL (for a line that names the URL already): the
    /// innermost cause of a failed request, or the status.
    pub fn cause(&self) -> String {
        match self {
            DownloadError::Http { source, .. } => {
                let mut innermost: Option<&dyn std::error::Error> = None;
                let mut next = std::error::Error::source(source);
                while let Some(e) = next {
                    innermost = Some(e);
                    next = e.source();
                }
                match innermost {
                    Some(e) => e.to_string(),
                    None => {
                        let text = source.to_string();
                        match text.find(" for url (") {
                            Some(i) => text[..i].to_string(),
                            None => text,
                        }
                    }
                }
            }
            DownloadError::Status { status, .. } => format!("HTTP {status}"),
            DownloadError::TooLarge { limit, .. } => format!("larger than {limit} bytes"),
            DownloadError::Write { .. } => self.to_string(),
        }
    }

    /// Whether the failure says "this does not exist here" (404) rather than "could not reach".
    pub fn is_not_found(&self) -> bool {
        matches!(self, DownloadError::Status { status: 404, .. })
    }
}

/// An HTTP client with the lab's timeouts.
#[derive(Clone)]
pub struct Downloader {
    client: reqwest::Client,
}

impl Default for Downloader {
    fn default() -> Self {
        Self::new()
    }
}

impl Downloader {
    /// A client that gives up connecting after 10 s and on a stalled body after 60 s.
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60))
            .user_agent(concat!("pg-sr-lab/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a TLS backend is compiled in");
        Downloader { client }
    }

    async fn get(&self, url: &str) -> Result<reqwest::Response, DownloadError> {
        Self::send(self.client.get(url), url).await
    }

    /// Asks whether `url` is there (HEAD), without fetching it.
    pub async fn exists(&self, url: &str) -> Result<(), DownloadError> {
        Self::send(self.client.head(url), url).await.map(drop)
    }

    /// Sends `request` (for `url`); a status other than success is an error.
    async fn send(
        request: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<reqwest::Response, DownloadError> {
        let resp = request.send().await.map_err(|source| DownloadError::Http {
            url: url.to_string(),
            source,
        })?;
        if !resp.status().is_success() {
            return Err(DownloadError::Status {
                url: url.to_string(),
                status: resp.status().as_u16(),
            });
        }
        Ok(resp)
    }

    /// Fetches a small file (an index, a checksum) into memory, refusing more than `limit` bytes.
    pub async fn bytes(&self, url: &str, limit: u64) -> Result<Vec<u8>, DownloadError> {
        let resp = self.get(url).await?;
        let mut out = Vec::new();
        let mut body = resp.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|source| DownloadError::Http {
                url: url.to_string(),
                source,
            })?;
            out.extend_from_slice(&chunk);
            if out.len() as u64 > limit {
                return Err(DownloadError::TooLarge {
                    url: url.to_string(),
                    limit,
                });
            }
        }
        Ok(out)
    }

    /// Fetches a text file.
    pub async fn text(&self, url: &str, limit: u64) -> Result<String, DownloadError> {
        Ok(String::from_utf8_lossy(&self.bytes(url, limit).await?).into_owned())
    }

    /// Streams `url` into `dest`, calling `progress(done, total)` as bytes arrive, and returns
    /// the SHA-256 (lowercase hex) of what was written. `dest` is written in place: callers
    /// download to a temporary name and rename once the checksum is verified.
    pub async fn to_file(
        &self,
        url: &str,
        dest: &Path,
        mut progress: impl FnMut(u64, Option<u64>),
    ) -> Result<String, DownloadError> {
        let resp = self.get(url).await?;
        let total = resp.content_length();
        let write_err = |source| DownloadError::Write {
            path: dest.display().to_string(),
            source,
        };
        let mut file = tokio::fs::File::create(dest).await.map_err(write_err)?;
        let mut hasher = Sha256::new();
        let mut done = 0u64;
        let mut body = resp.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|source| DownloadError::Http {
                url: url.to_string(),
                source,
            })?;
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(write_err)?;
            done += chunk.len() as u64;
            progress(done, total);
        }
        file.flush().await.map_err(write_err)?;
        Ok(hex::encode(hasher.finalize()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_is_said_without_the_url() {
        let e = DownloadError::Status {
            url: "http://s.example/v15.20/".into(),
            status: 404,
        };
        assert_eq!(e.cause(), "HTTP 404");
        assert_eq!(e.to_string(), "http://s.example/v15.20/: HTTP 404");
        let refused = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(Downloader::new().exists("http://127.0.0.1:9/none/x.tar.bz2"))
            .unwrap_err();
        assert!(
            !refused.cause().contains("127.0.0.1"),
            "{}",
            refused.cause()
        );
    }
}
