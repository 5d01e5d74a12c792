//! The lab's error type and the exit codes it maps to.
//!
//! Three outcomes are kept apart: the input was invalid (2), PostgreSQL did not behave as the
//! runbook says (1), the lab itself could not do its work (3).

use crate::docker::DockerError;
use crate::image::build::ImageError;
use crate::tarball::TarballError;

/// Exit code for a failed check: PostgreSQL did not behave as expected.
pub const EXIT_CHECK_FAILED: i32 = 1;
/// Exit code for invalid input (flags, versions, files).
pub const EXIT_INVALID: i32 = 2;
/// Exit code for a failure of the lab itself (Docker, images, downloads).
pub const EXIT_LAB: i32 = 3;

/// Anything that stops a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Invalid input: the message says what and what to do.
    #[error("{0}")]
    Invalid(String),
    /// Invalid input whose message is a list of `file:line:col: error: …` diagnostics, printed
    /// as it is (so that editors and CI annotators find the location first).
    #[error("{0}")]
    Located(String),
    /// A check failed.
    #[error("{0}")]
    CheckFailed(String),
    /// Images could not be had.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// The engine failed.
    #[error(transparent)]
    Docker(#[from] DockerError),
    /// A node did not answer the controller's SQL.
    #[error(transparent)]
    Sql(#[from] crate::sql::SqlError),
    /// A fault that does not exist or cannot be healed.
    #[error(transparent)]
    Fault(#[from] crate::fault::FaultError),
    /// Anything else the lab could not do.
    #[error("{0}")]
    Lab(String),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid(_) | Error::Located(_) | Error::Fault(_) => EXIT_INVALID,
            Error::CheckFailed(_) => EXIT_CHECK_FAILED,
            Error::Image(ImageError::Tarball(
                TarballError::Mismatch { .. }
                | TarballError::NoChecksum { .. }
                | TarballError::UnknownVersion { .. }
                | TarballError::VersionMismatch { .. },
            )) => EXIT_INVALID,
            Error::Image(ImageError::Word { .. }) => EXIT_INVALID,
            Error::Image(_) | Error::Docker(_) | Error::Sql(_) | Error::Lab(_) => EXIT_LAB,
        }
    }
}

impl Error {
    /// The error as printed: diagnostics as they are, anything else after `error: `.
    pub fn printed(&self) -> String {
        match self {
            Error::Located(text) => text.clone(),
            other => format!("error: {other}"),
        }
    }
}

/// The lab's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_refused_for_a_dockerfile_is_invalid_input() {
        let source = crate::image::dockerfile_word("a\nb").unwrap_err();
        let e = Error::Image(ImageError::Word {
            flag: "--base",
            value: "a\nb".into(),
            source,
        });
        assert_eq!(e.exit_code(), EXIT_INVALID);
    }
}
