//! Progress output: spinners and byte bars on a terminal, plain timestamped lines elsewhere
//! (CI logs), both from the same calls.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where progress goes.
#[derive(Clone)]
pub struct Ui {
    multi: MultiProgress,
    fancy: bool,
}

impl Default for Ui {
    fn default() -> Self {
        Self::new()
    }
}

impl Ui {
    /// Spinners when stderr is a terminal, plain lines otherwise.
    pub fn new() -> Ui {
        let fancy = std::io::stderr().is_terminal();
        let multi = MultiProgress::with_draw_target(if fancy {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Ui { multi, fancy }
    }

    /// Starts a task shown as `[name] message`.
    pub fn task(&self, name: &str) -> Task {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{prefix}] {wide_msg} {elapsed}")
                .expect("valid template"),
        );
        bar.set_prefix(name.to_string());
        if self.fancy {
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        Task {
            bar,
            name: name.to_string(),
            fancy: self.fancy,
            started: Instant::now(),
            last_plain: None,
        }
    }

    /// Prints a line above any running bars.
    pub fn println(&self, line: &str) {
        if self.fancy {
            let _ = self.multi.println(line);
        } else {
            eprintln!("{line}");
        }
    }
}

/// One running task.
pub struct Task {
    bar: ProgressBar,
    name: String,
    fancy: bool,
    started: Instant,
    last_plain: Option<Instant>,
}

impl Task {
    /// Updates the message (on a terminal), or prints it (elsewhere; at most every 5 s unless
    /// `important`).
    pub fn say(&mut self, message: &str, important: bool) {
        if self.fancy {
            self.bar.set_message(message.to_string());
        } else if important
            || self
                .last_plain
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(5))
        {
            eprintln!(
                "[{}] {:>6.1}s {message}",
                self.name,
                self.started.elapsed().as_secs_f64()
            );
            self.last_plain = Some(Instant::now());
        }
    }

    /// Shows byte progress of a download.
    pub fn bytes(&mut self, done: u64, total: Option<u64>) {
        let mb = |b: u64| b as f64 / 1_048_576.0;
        let msg = match total {
            Some(t) => format!("{:.1}/{:.1} MiB", mb(done), mb(t)),
            None => format!("{:.1} MiB", mb(done)),
        };
        self.say(&msg, false);
    }

    /// Shows `done` of `total` as a bar with its rate's ETA (on a terminal; elsewhere the
    /// caller prints what it wants with [`Task::say`]).
    pub fn progress(&mut self, done: u64, total: u64, unit: &str) {
        if !self.fancy {
            return;
        }
        if self.bar.length().is_none() {
            self.bar.set_style(
                ProgressStyle::with_template(&format!(
                    "{{spinner}} [{{prefix}}] {{bar:30}} {{pos}}/{{len}} {unit} {{percent}}% ETA {{eta}} {{wide_msg}}"
                ))
                .expect("valid template"),
            );
        }
        self.bar.set_length(total);
        self.bar.set_position(done);
    }

    /// How long the task has run.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Ends the task with a final line.
    pub fn done(self, message: &str) -> Duration {
        let took = self.started.elapsed();
        let line = format!("[{}] {message} ({:.1}s)", self.name, took.as_secs_f64());
        if self.fancy {
            self.bar.finish_and_clear();
            eprintln!("✔ {line}");
        } else {
            eprintln!("{line}");
        }
        took
    }

    /// Ends the task as failed.
    pub fn failed(self, message: &str) {
        if self.fancy {
            self.bar.finish_and_clear();
        }
        eprintln!("✘ [{}] {message}", self.name);
    }
}
