//! `lab`: a container lab that rehearses PostgreSQL streaming-replication failures and recoveries.
//!
//! The binary (`src/main.rs`) only parses arguments and maps errors to exit codes; everything else
//! lives here. See ARCHITECTURE.md for the map of modules.
#![warn(missing_docs)]

pub mod apt;
pub mod bench;
pub mod cluster;
pub mod commands;
pub mod docker;
pub mod doctor;
pub mod download;
pub mod drill;
pub mod error;
pub mod fault;
#[cfg(test)]
mod golden;
pub mod image;
pub mod input;
#[cfg(test)]
mod layers;
pub mod ledger;
pub mod node;
pub mod pg;
pub mod plan;
pub mod scenario;
pub mod sql;
pub mod tarball;
pub mod text;
pub mod ui;
pub mod version;
