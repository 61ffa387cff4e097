//! How a run trains beyond the original's Adam at a constant rate: the
//! optimizer, weight decay, the learning-rate schedule, label smoothing,
//! augmentation and test-time flipping. Every default is the original's
//! behaviour, and a run with the defaults stores none of these fields.

use std::f64::consts::PI;

use serde::{Deserialize, Serialize};

use super::check::{within, SettingError};

/// Which update rule trains the weights.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Keras' Adam; a weight decay is added to the gradient (L2).
    #[default]
    Adam,
    /// Adam with decoupled weight decay (Loshchilov & Hutter).
    AdamW,
    /// Stochastic gradient descent with momentum; decay added to the gradient.
    Sgd,
}

/// The learning rate over a run, as a function of the step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Schedule {
    /// `learning_rate` throughout (the original).
    #[default]
    Constant,
    /// Multiplied by `factor` every `every_epochs` epochs.
    Step { every_epochs: u32, factor: f64 },
    /// Linear warm-up over `warmup_epochs`, then a half cosine down to 0.
    Cosine {
        #[serde(default)]
        warmup_epochs: f64,
    },
    /// One cycle (Smith): a cosine rise from `learning_rate / 25` to
    /// `learning_rate` over the first `warmup_share` of the steps, then a
    /// cosine fall to `learning_rate / 25 / 10⁴` (`PyTorch`'s `OneCycleLR`).
    #[serde(rename = "onecycle")]
    OneCycle {
        #[serde(default = "default_warmup_share")]
        warmup_share: f64,
    },
}

fn default_warmup_share() -> f64 {
    0.3
}

/// Random changes to each training image, drawn per batch on the device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Augment {
    /// Shift by up to this many pixels each way (pad with 0, crop back).
    #[serde(default)]
    pub crop: u32,
    /// Mirror left–right with probability ½.
    #[serde(default)]
    pub flip: bool,
    /// With this probability, blank a random rectangle (random erasing).
    #[serde(default)]
    pub erasing: f64,
}

impl Augment {
    /// Whether any change is drawn.
    pub fn is_on(&self) -> bool {
        self.crop > 0 || self.flip || self.erasing > 0.0
    }
}

/// Everything about training that the original left fixed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Recipe {
    #[serde(default, skip_serializing_if = "is_default")]
    pub optimizer: OptimizerKind,
    #[serde(default, skip_serializing_if = "is_default")]
    pub weight_decay: f64,
    /// SGD's momentum (0.9 unless given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub momentum: Option<f64>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub nesterov: bool,
    #[serde(default, skip_serializing_if = "is_default")]
    pub schedule: Schedule,
    #[serde(default, skip_serializing_if = "is_default")]
    pub label_smoothing: f64,
    #[serde(default, skip_serializing_if = "is_default")]
    pub augment: Augment,
    /// Also report the test accuracy averaged over each image and its mirror.
    #[serde(default, skip_serializing_if = "is_default")]
    pub tta_flip: bool,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// SGD's momentum when the plan gives none.
pub const DEFAULT_MOMENTUM: f64 = 0.9;
/// One cycle's start is the peak over this; its end that over 10⁴ more.
const ONE_CYCLE_DIV: f64 = 25.0;
const ONE_CYCLE_FINAL_DIV: f64 = 1e4;

impl Recipe {
    /// The original's recipe: nothing added.
    pub fn is_original(&self) -> bool {
        *self == Recipe::default()
    }

    /// Range checks; the error names the key.
    pub fn check(&self, epochs: u32) -> Result<(), SettingError> {
        within("weight_decay", self.weight_decay, (0.0, 1.0), false)?;
        if let Some(momentum) = self.momentum {
            if self.optimizer != OptimizerKind::Sgd {
                return Err(SettingError::SgdOnly { key: "momentum" });
            }
            within("momentum", momentum, (0.0, 1.0), false)?;
        }
        if self.nesterov && self.optimizer != OptimizerKind::Sgd {
            return Err(SettingError::SgdOnly { key: "nesterov" });
        }
        within("label_smoothing", self.label_smoothing, (0.0, 1.0), false)?;
        if self.augment.crop > 8 {
            return Err(SettingError::CropTooLarge(self.augment.crop));
        }
        within("augment.erasing", self.augment.erasing, (0.0, 1.0), true)?;
        match self.schedule {
            Schedule::Constant => Ok(()),
            Schedule::Step {
                every_epochs,
                factor,
            } => {
                if every_epochs == 0 {
                    return Err(SettingError::Zero {
                        key: "schedule.every_epochs",
                    });
                }
                within("schedule.factor", factor, (0.0, 1.0), true)
            }
            Schedule::Cosine { warmup_epochs } => within(
                "schedule.warmup_epochs",
                warmup_epochs,
                (0.0, f64::from(epochs)),
                false,
            ),
            Schedule::OneCycle { warmup_share } => {
                within("schedule.warmup_share", warmup_share, (0.0, 1.0), false)?;
                if warmup_share > 0.0 {
                    Ok(())
                } else {
                    Err(SettingError::NotAboveZero {
                        key: "schedule.warmup_share",
                    })
                }
            }
        }
    }

    /// SGD's momentum.
    pub fn momentum(&self) -> f64 {
        self.momentum.unwrap_or(DEFAULT_MOMENTUM)
    }

    /// A short line of what differs from the original, for `runs show`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        match self.optimizer {
            OptimizerKind::Adam => {}
            OptimizerKind::AdamW => parts.push("AdamW".to_string()),
            OptimizerKind::Sgd => parts.push(format!(
                "SGD momentum {}{}",
                self.momentum(),
                if self.nesterov { " nesterov" } else { "" }
            )),
        }
        if self.weight_decay > 0.0 {
            parts.push(format!("weight decay {}", self.weight_decay));
        }
        match self.schedule {
            Schedule::Constant => {}
            Schedule::Step {
                every_epochs,
                factor,
            } => parts.push(if every_epochs == 1 {
                format!("lr ×{factor} every epoch")
            } else {
                format!("lr ×{factor} every {every_epochs} epochs")
            }),
            Schedule::Cosine { warmup_epochs } => {
                parts.push(format!(
                    "cosine lr, {}",
                    crate::units::count(warmup_epochs, "warm-up epoch")
                ));
            }
            Schedule::OneCycle { warmup_share } => {
                parts.push(format!("one-cycle lr, {warmup_share} rising"));
            }
        }
        if self.label_smoothing > 0.0 {
            parts.push(format!("label smoothing {}", self.label_smoothing));
        }
        let augment = &self.augment;
        if augment.crop > 0 {
            parts.push(format!("crop ±{} px", augment.crop));
        }
        if augment.flip {
            parts.push("flip".into());
        }
        if augment.erasing > 0.0 {
            parts.push(format!("erasing {}", augment.erasing));
        }
        if self.tta_flip {
            parts.push("test-time flip".into());
        }
        parts.join(", ")
    }
}

impl Schedule {
    /// Whether the rate never moves.
    pub fn is_constant(&self) -> bool {
        *self == Schedule::Constant
    }

    /// The learning rate of step `step` (0-based, over the whole run) of a
    /// run of `total` steps, `per_epoch` an epoch, peaking at `base`.
    pub fn learning_rate(&self, base: f64, step: usize, per_epoch: usize, total: usize) -> f64 {
        let (step, per_epoch, total) = (step as f64, per_epoch.max(1) as f64, total.max(1) as f64);
        let half_cosine = |progress: f64| 0.5 * (1.0 + (PI * progress.clamp(0.0, 1.0)).cos());
        match *self {
            Schedule::Constant => base,
            Schedule::Step {
                every_epochs,
                factor,
            } => {
                let drops = (step / per_epoch / f64::from(every_epochs.max(1))).floor();
                base * factor.powf(drops)
            }
            Schedule::Cosine { warmup_epochs } => {
                let warmup = warmup_epochs * per_epoch;
                if step < warmup {
                    base * (step + 1.0) / warmup
                } else {
                    base * half_cosine((step - warmup) / (total - warmup).max(1.0))
                }
            }
            Schedule::OneCycle { warmup_share } => {
                let start = base / ONE_CYCLE_DIV;
                let end = start / ONE_CYCLE_FINAL_DIV;
                let rise = (warmup_share * total).max(1.0);
                if step < rise {
                    base + (start - base) * half_cosine(step / rise)
                } else {
                    end + (base - end) * half_cosine((step - rise) / (total - rise).max(1.0))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12 * b.abs().max(1.0), "{a} vs {b}");
    }

    #[test]
    fn schedules_match_their_closed_forms() {
        let (base, per_epoch, total) = (0.1, 100, 1000);
        let at = |schedule: Schedule, step| schedule.learning_rate(base, step, per_epoch, total);
        close(at(Schedule::Constant, 999), 0.1);
        let step = Schedule::Step {
            every_epochs: 3,
            factor: 0.1,
        };
        close(at(step, 299), 0.1);
        close(at(step, 300), 0.01);
        close(at(step, 650), 0.001);
        let cosine = Schedule::Cosine { warmup_epochs: 1.0 };
        close(at(cosine, 0), 0.001);
        close(at(cosine, 49), 0.05);
        close(at(cosine, 100), 0.1);
        // Half-way through the 900 cosine steps: half the peak.
        close(at(cosine, 550), 0.05);
        close(at(cosine, 1000), 0.0);
        let cycle = Schedule::OneCycle { warmup_share: 0.3 };
        close(at(cycle, 0), 0.1 / 25.0);
        close(at(cycle, 150), f64::midpoint(0.1, 0.004));
        close(at(cycle, 300), 0.1);
        close(at(cycle, 1000), 0.004 / 1e4);
    }

    #[test]
    fn the_default_recipe_is_the_original_and_stores_nothing() {
        let recipe = Recipe::default();
        assert!(recipe.is_original());
        assert_eq!(serde_json::to_string(&recipe).unwrap(), "{}");
        assert_eq!(recipe.check(15), Ok(()));
        assert_eq!(recipe.describe(), "");
    }

    #[test]
    fn out_of_range_settings_name_the_key() {
        let check = |recipe: Recipe| recipe.check(15).unwrap_err().to_string();
        assert_eq!(
            check(Recipe {
                label_smoothing: 1.0,
                ..Recipe::default()
            }),
            "label_smoothing must be in [0, 1), found 1"
        );
        assert_eq!(
            check(Recipe {
                momentum: Some(0.9),
                ..Recipe::default()
            }),
            "momentum applies to optimizer = \"sgd\" only"
        );
        assert_eq!(
            check(Recipe {
                schedule: Schedule::Cosine {
                    warmup_epochs: 15.0
                },
                ..Recipe::default()
            }),
            "schedule.warmup_epochs must be in [0, 15), found 15"
        );
        assert_eq!(
            check(Recipe {
                augment: Augment {
                    crop: 9,
                    ..Augment::default()
                },
                ..Recipe::default()
            }),
            "augment.crop must be at most 8 pixels, found 9"
        );
    }
}
