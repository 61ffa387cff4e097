//! How far a session of several runs is: a line after each run ends.

use crate::{protocol::Event, units::clock};

/// How far a session of several runs is, for a line after each run ends.
#[derive(Debug)]
pub struct Tally {
    total: usize,
    done: usize,
    failed: usize,
    /// Training time of the finished runs.
    seconds: f64,
}

impl Tally {
    pub fn new(total: usize) -> Self {
        Self {
            total,
            done: 0,
            failed: 0,
            seconds: 0.0,
        }
    }

    /// How many runs the sweep has.
    pub fn total(&self) -> usize {
        self.total
    }

    pub fn count(&mut self, event: &Event) {
        match event {
            Event::Finished { seconds, .. } => {
                self.done += 1;
                self.seconds += seconds;
            }
            Event::Failed { .. } => self.failed += 1,
            _ => {}
        }
    }

    /// `runs: 3/15 done · 0 failed · ETA 1h02m (5m10s per run)`.
    pub fn line(&self) -> String {
        let left = self.total - self.done - self.failed;
        let eta = if self.done > 0 {
            let per_run = self.seconds / self.done as f64;
            format!(
                "ETA {} ({} per run)",
                clock(per_run * left as f64),
                clock(per_run)
            )
        } else {
            "ETA -".to_string()
        };
        format!(
            "runs: {}/{} done · {} failed · {left} left · {eta}",
            self.done, self.total, self.failed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tally_says_how_far_a_sweep_is_and_when_it_ends() {
        let mut tally = Tally::new(5);
        assert_eq!(tally.line(), "runs: 0/5 done · 0 failed · 5 left · ETA -");
        for seconds in [100.0, 140.0] {
            tally.count(&Event::Finished {
                run: "r".into(),
                seconds,
                best_val_accuracy: 0.9,
                best_epoch: 1,
            });
        }
        tally.count(&Event::Failed {
            run: "r".into(),
            message: "out of memory".into(),
        });
        assert_eq!(
            tally.line(),
            "runs: 2/5 done · 1 failed · 2 left · ETA 4m00s (2m00s per run)"
        );
    }
}
