//! `lab drill merge`: the shards of a suite (`--shard K/N`, each on its own CI runner) made into
//! the one suite directory the unsharded suite would have written: each run's directory and
//! log copied in, then the index (md, html), the one `junit.xml`, `suite.json` and
//! `timings.json` rendered from the runs' recorded events, as [`super::suite`] does.
//!
//! Every suite writes `suite.json` (a [`SuiteRecord`]: what it was asked, which share, how each
//! run's process ended), which is all this reads besides the runs' `report.json`. No engine.
//! (`lab drill merge` checks the records with [`combine`], pure, before it writes anything.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::drill::report::suite_index::{Suite, SuiteRun};
use crate::drill::shard::Shard;
pub use crate::drill::suite_record::{RunRecord, SuiteRecord, RECORD};
use crate::error::{Error, Result};

/// How deep below each given directory suite records are looked for.
const MAX_DEPTH: usize = 8;

/// Why shards cannot be merged (exit 2).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MergeError {
    /// No `suite.json` under the directories given.
    #[error("no suite record ({RECORD}) under {0}: give the directories a sharded suite wrote")]
    NoSuite(String),
    /// A record that cannot be read.
    #[error("{path}: {message}")]
    Unreadable {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Records of different suites.
    #[error("{a} and {b} are not shards of one suite: their {what} differ")]
    Disagree {
        /// drills, versions or shard counts.
        what: &'static str,
        /// One record.
        a: String,
        /// The other.
        b: String,
    },
    /// The same shard twice, from two suites.
    #[error("shard {shard} is given twice ({a} and {b})")]
    ShardTwice {
        /// Which.
        shard: Shard,
        /// One record.
        a: String,
        /// The other.
        b: String,
    },
    /// A drill × version in two shards.
    #[error("{drill} on {version} is in two shards: they were not split by one --shard plan")]
    RunTwice {
        /// The drill.
        drill: String,
        /// The release.
        version: String,
    },
}

impl From<MergeError> for Error {
    fn from(e: MergeError) -> Error {
        Error::Invalid(e.to_string())
    }
}

/// A suite directory found, with its record.
#[derive(Debug, Clone)]
pub struct Found {
    /// The suite directory.
    pub dir: PathBuf,
    /// Its `suite.json`.
    pub record: SuiteRecord,
}

/// The shards as one suite: its drills and releases, every run (with the index of the shard
/// whose directory holds it) in the unsharded suite's order, and the shards that are missing.
#[derive(Debug, Clone)]
pub struct Combined {
    /// Every drill, in order.
    pub drills: Vec<String>,
    /// Every release, in order.
    pub versions: Vec<String>,
    /// `(index into the found shards, run)`, drill by drill and version by version.
    pub runs: Vec<(usize, RunRecord)>,
    /// Shards none of the directories holds.
    pub missing: Vec<Shard>,
}

/// Puts the shards together (pure): they must be of one suite (drills, releases, shard count),
/// each shard once (the same one found twice, e.g. through a copied `latest`, counts once) and
/// each run in one shard.
pub fn combine(found: &[Found]) -> std::result::Result<Combined, MergeError> {
    let first = found.first().ok_or(MergeError::NoSuite("them".into()))?;
    let name = |f: &Found| f.dir.display().to_string();
    let mut seen: Vec<(Shard, usize)> = Vec::new();
    for (i, f) in found.iter().enumerate() {
        let (a, b) = (&first.record, &f.record);
        for (what, differ) in [
            ("drills", a.drills != b.drills),
            ("versions", a.versions != b.versions),
            ("shard counts", a.share().count != b.share().count),
        ] {
            if differ {
                return Err(MergeError::Disagree {
                    what,
                    a: name(first),
                    b: name(f),
                });
            }
        }
        match seen.iter().find(|(s, _)| *s == b.share()) {
            Some((_, j)) if found[*j].record == f.record => {}
            Some((shard, j)) => {
                return Err(MergeError::ShardTwice {
                    shard: *shard,
                    a: name(&found[*j]),
                    b: name(f),
                })
            }
            None => seen.push((b.share(), i)),
        }
    }
    let rec = &first.record;
    let mut runs: Vec<(usize, RunRecord)> = Vec::new();
    for &(_, i) in &seen {
        for r in &found[i].record.runs {
            if runs
                .iter()
                .any(|(_, x)| x.drill == r.drill && x.version == r.version)
            {
                return Err(MergeError::RunTwice {
                    drill: r.drill.clone(),
                    version: r.version.clone(),
                });
            }
            runs.push((i, r.clone()));
        }
    }
    let place = |r: &RunRecord| {
        let d = rec.drills.iter().position(|d| *d == r.drill);
        let v = rec.versions.iter().position(|v| *v == r.version);
        (d.unwrap_or(usize::MAX), v.unwrap_or(usize::MAX))
    };
    runs.sort_by_key(|(_, r)| place(r));
    let have: BTreeSet<usize> = seen.iter().map(|(s, _)| s.index).collect();
    let count = rec.share().count;
    let missing = (1..=count)
        .filter(|k| !have.contains(k))
        .map(|index| Shard { index, count })
        .collect();
    Ok(Combined {
        drills: rec.drills.clone(),
        versions: rec.versions.clone(),
        runs,
        missing,
    })
}

/// The suite directories under `dirs` (each directory holding a `suite.json`; symbolic links
/// are not followed), in path order.
pub fn find(dirs: &[PathBuf]) -> std::result::Result<Vec<Found>, MergeError> {
    let mut found = Vec::new();
    for dir in dirs {
        walk(dir, 0, &mut found)?;
    }
    if found.is_empty() {
        let names: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        return Err(MergeError::NoSuite(names.join(", ")));
    }
    found.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(found)
}

fn walk(dir: &Path, depth: usize, found: &mut Vec<Found>) -> std::result::Result<(), MergeError> {
    let unreadable = |path: &Path, e: &dyn std::fmt::Display| MergeError::Unreadable {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let record = dir.join(RECORD);
    if record.is_file() {
        let text = std::fs::read_to_string(&record).map_err(|e| unreadable(&record, &e))?;
        let record: SuiteRecord =
            serde_json::from_str(&text).map_err(|e| unreadable(&record, &e))?;
        found.push(Found {
            dir: dir.to_path_buf(),
            record,
        });
        return Ok(());
    }
    if depth >= MAX_DEPTH {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| unreadable(dir, &e))?;
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            walk(&entry.path(), depth + 1, found)?;
        }
    }
    Ok(())
}

/// Copies a directory tree (symbolic links as links).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            let _ = std::fs::remove_file(&dst);
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
        } else if kind.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

/// Copies one run's directory and log from its shard into the merged suite directory, with
/// the `latest` link the suite would have made.
fn copy_run(shard: &Path, out: &Path, run: &RunRecord) -> std::io::Result<()> {
    if let Some(dir) = &run.report_dir {
        copy_tree(&shard.join(dir), &out.join(dir))?;
        if let Some(stamp) = Path::new(dir).file_name() {
            let latest = out.join(&run.version).join(&run.drill).join("latest");
            let _ = std::fs::remove_file(&latest);
            std::os::unix::fs::symlink(stamp, latest)?;
        }
    }
    let log = format!("{}@{}.log", run.drill, run.version);
    let from = shard.join("logs").join(&log);
    if from.is_file() {
        std::fs::copy(from, out.join("logs").join(log))?;
    }
    Ok(())
}

/// What `lab drill merge` merges, and where to.
#[derive(Debug, Clone)]
pub struct MergeConfig {
    /// Directories holding the shards' suite directories (searched for `suite.json`).
    pub dirs: Vec<PathBuf>,
    /// The merged suite goes to `<runs_dir>/suite/<timestamp>/` (with a `latest` link).
    pub runs_dir: PathBuf,
}

/// Merges the shards into one suite directory; the error is the worst run's (as a suite's), a
/// missing shard (exit 3, after writing what there is), or input that is not one suite's shards
/// (exit 2, before anything is written).
pub fn merge(cfg: &MergeConfig) -> Result<PathBuf> {
    for d in &cfg.dirs {
        if !d.is_dir() {
            return Err(Error::Invalid(format!("{}: not a directory", d.display())));
        }
    }
    let found = find(&cfg.dirs)?;
    let combined = combine(&found)?;
    let stamp = crate::drill::render::timestamp();
    crate::input::config::runs_dir(&cfg.runs_dir, &[format!("suite/{stamp}")], &[])?;
    let base = cfg.runs_dir.join("suite");
    let out = base.join(&stamp);
    let io = |e: std::io::Error| Error::Lab(format!("writing {}: {e}", out.display()));
    std::fs::create_dir_all(out.join("logs")).map_err(io)?;
    let latest = base.join("latest");
    let _ = std::fs::remove_file(&latest);
    std::os::unix::fs::symlink(&stamp, &latest).map_err(io)?;
    let mut runs = Vec::new();
    for (i, r) in &combined.runs {
        copy_run(&found[*i].dir, &out, r).map_err(io)?;
        runs.push(SuiteRun {
            drill: r.drill.clone(),
            version: r.version.clone(),
            report_dir: r.report_dir.clone(),
            exit: r.exit,
            events: r
                .report_dir
                .as_ref()
                .map(|d| super::suite::events(&out.join(d)))
                .unwrap_or_default(),
            interrupted: r.interrupted,
            seconds: r.seconds,
        });
    }
    let suite = Suite {
        stamp,
        drills: combined.drills,
        versions: combined.versions,
        runs,
        shard: None,
    };
    super::suite::write(&out, &suite).map_err(io)?;
    eprintln!("suite index: {}", out.join("index.md").display());
    if !combined.missing.is_empty() {
        let missing: Vec<String> = combined.missing.iter().map(|s| s.to_string()).collect();
        return Err(Error::Lab(format!(
            "shard(s) {} missing: their runs show as not run in {}",
            missing.join(", "),
            out.join("index.md").display()
        )));
    }
    super::suite::verdict(&suite, &out)
}

#[cfg(test)]
#[path = "suite_merge/tests.rs"]
mod tests;
