//! A session's events as Keras-like lines: a progress bar per epoch on a
//! terminal, plain lines in a log, every line naming its run when several
//! train at once. Writes go through [`sayln!`](crate::sayln): a closed or
//! full standard output never stops training.

use std::{collections::HashMap, path::PathBuf};

use indicatif::{ProgressBar, ProgressStyle};

use crate::{
    edge::printable,
    noteln,
    plan::RunSpec,
    protocol::{Event, RunId, ThreadReason},
    sayln,
    store::EpochRow,
    units::thousands,
};

/// Turns events into Keras-like lines, with a bar per epoch on a terminal.
pub struct Printer {
    terminal: bool,
    /// Every line names its run (several runs print at once).
    titled: bool,
    /// Only a line per run as it ends (`--quiet`).
    quiet: bool,
    /// Each run's test accuracy, for its quiet "done" line.
    tested: HashMap<RunId, f64>,
    runs_dir: PathBuf,
    bar: Option<ProgressBar>,
    epochs: u32,
    steps: usize,
}

impl Printer {
    /// Keras-like lines, with a progress bar per epoch when `terminal`.
    pub fn new(terminal: bool, runs_dir: PathBuf) -> Self {
        Self {
            terminal,
            titled: false,
            quiet: false,
            tested: HashMap::new(),
            runs_dir,
            bar: None,
            epochs: 0,
            steps: 0,
        }
    }

    /// Lines only, each naming its run: for runs that train side by side.
    pub fn titled(runs_dir: PathBuf) -> Self {
        Self {
            titled: true,
            ..Self::new(false, runs_dir)
        }
    }

    /// With `quiet`, only a line per run as it ends (done with its test
    /// accuracy and folder, interrupted, FAILED) and nothing else: for
    /// scripts (`--quiet`).
    #[must_use]
    pub fn quiet(self, quiet: bool) -> Self {
        Self { quiet, ..self }
    }

    /// Whether only the ends of runs are said.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// A terminal's progress bar under an "Epoch k/N" header; nothing in a log.
    fn progress(&mut self, epoch: u32, step: usize, steps: usize, loss: f64, accuracy: f64) {
        if !self.terminal {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            sayln!("Epoch {epoch}/{}", self.epochs);
            let bar = ProgressBar::new(steps as u64);
            bar.set_style(
                ProgressStyle::with_template("{pos}/{len} {bar:30} {elapsed} eta {eta} - {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        bar.set_position(step as u64);
        bar.set_message(format!("accuracy: {accuracy:.4} - loss: {loss:.4}"));
    }

    /// The Keras-like line of an ended epoch.
    fn epoch_line(&mut self, event: &Event, title: &str) {
        let (Event::EpochEnd { epochs, .. }, Some(row)) = (event, EpochRow::from_event(event))
        else {
            return;
        };
        // On a terminal the "Epoch k/N" header is already out, above the bar.
        let lead = match self.bar.take() {
            Some(bar) => {
                bar.finish_and_clear();
                format!("{0}/{0}", self.steps)
            }
            None if self.titled => format!("{title}: epoch {}/{epochs}", row.epoch),
            None => format!("Epoch {}/{epochs}", row.epoch),
        };
        sayln!(
            "{lead} - {:.0}s - accuracy: {:.4} - loss: {:.4} - val_accuracy: {:.4} - val_loss: {:.4}",
            row.seconds, row.train_accuracy, row.train_loss, row.val_accuracy, row.val_loss
        );
    }

    /// Says `event` of the run `spec` describes.
    pub fn show(&mut self, event: &Event, spec: Option<&RunSpec>) {
        let title = spec.map_or_else(|| event.run().to_string(), RunSpec::title);
        // Names and labels may come from a store written by an older version.
        let title = printable(&title);
        if self.quiet {
            self.show_end(event, &title);
            return;
        }
        match event {
            Event::Queued { run, .. } => sayln!("queued {title} as {run}"),
            Event::Phase { phase, .. } => {
                if self.terminal {
                    noteln!("  {}", phase);
                }
            }
            Event::Started {
                device,
                params,
                train_samples,
                validation_samples,
                epochs,
                steps_per_epoch,
                resumed_after,
                resumed_at_step,
                ..
            } => {
                self.epochs = *epochs;
                self.steps = *steps_per_epoch;
                sayln!(
                    "\n{title}: {} parameters on {device}, {train_samples} training / {validation_samples} validation images",
                    thousands(*params)
                );
                if *resumed_at_step > 0 {
                    sayln!(
                        "resuming epoch {} of {epochs} at step {resumed_at_step} of {steps_per_epoch}",
                        resumed_after + 1
                    );
                } else if *resumed_after > 0 {
                    sayln!("resuming after epoch {resumed_after} of {epochs}");
                }
            }
            Event::Threads {
                threads,
                reason: reason @ ThreadReason::Measured { .. },
                ..
            } => sayln!(
                "{title}: training on {} ({reason})",
                crate::units::count(*threads, "CPU thread")
            ),
            Event::Threads { .. } => {}
            Event::Progress {
                epoch,
                step,
                steps,
                loss,
                accuracy,
                ..
            } => self.progress(*epoch, *step, *steps, *loss, *accuracy),
            Event::EpochEnd { .. } => self.epoch_line(event, &title),
            Event::Evaluated {
                test_loss,
                test_accuracy,
                ..
            } => {
                let reference = spec.and_then(|spec| spec.reference).map_or_else(String::new, |r| {
                    format!(
                        " (original: accuracy {:.4}, loss {:.4})",
                        r.test_accuracy, r.test_loss
                    )
                });
                sayln!("{title}: test accuracy {test_accuracy:.4}, test loss {test_loss:.4}{reference}");
            }
            Event::FlipEvaluated {
                test_loss,
                test_accuracy,
                ..
            } => sayln!(
                "{title}: with test-time flipping (reported apart): test accuracy {test_accuracy:.4}, test loss {test_loss:.4}"
            ),
            Event::Finished {
                run,
                seconds,
                best_val_accuracy,
                best_epoch,
            } => sayln!(
                "{title}: done in {seconds:.0}s, best val_accuracy {best_val_accuracy:.4} at epoch {best_epoch}; stored in {}",
                self.runs_dir.join(run).display()
            ),
            Event::Cancelled { .. } | Event::Failed { .. } => self.show_end(event, &title),
            Event::Checkpointed {
                epoch, step, steps, ..
            } => {
                self.clear_bar();
                sayln!("{title}: saved its place at step {step} of {steps} of epoch {epoch}");
            }
            Event::Attempt {
                job, restart, host, gpus, ..
            } => sayln!(
                "{title}: Slurm task {job}, attempt {} on {host}{}",
                restart + 1,
                if gpus.is_empty() { String::new() } else { format!(", GPUs {gpus}") }
            ),
            Event::Requeued { job, .. } => sayln!("{title}: requeued as {job}"),
            Event::Paused { .. } => sayln!("{title}: paused"),
            Event::Unpaused { .. } => sayln!("{title}: unpaused"),
        }
    }

    /// `--quiet`'s lines: a run's end, the test accuracy kept for it.
    fn show_end(&mut self, event: &Event, title: &str) {
        match event {
            Event::Evaluated {
                run, test_accuracy, ..
            } => {
                self.tested.insert(run.clone(), *test_accuracy);
            }
            Event::Finished { run, seconds, .. } => {
                let tested = self
                    .tested
                    .remove(run)
                    .map_or_else(String::new, |accuracy| {
                        format!(", test accuracy {accuracy:.4}")
                    });
                sayln!(
                    "{title}: done in {seconds:.0}s{tested}; stored in {}",
                    self.runs_dir.join(run).display()
                );
            }
            Event::Cancelled { run, epochs_done } => {
                self.clear_bar();
                sayln!(
                    "{title}: interrupted after {}; stored as {run}",
                    crate::units::count(*epochs_done, "complete epoch")
                );
            }
            Event::Failed { message, .. } => {
                self.clear_bar();
                noteln!("{title}: FAILED: {}", printable(message));
            }
            _ => {}
        }
    }

    fn clear_bar(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.abandon();
        }
    }
}
