//! A comparison's verdict, for people (one line) and for scripts (JSON).
//!
//! Differences are in accuracy points (percentage points: 0.9120 − 0.9089
//! is +0.31), since that is how Fashion-MNIST results are read.

use serde::Serialize;

use super::{mcnemar_p, welch, McNemar, Summary, Untestable, LEVEL};

/// Which test a verdict rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Test {
    /// Welch's t-test of two groups' mean test accuracies.
    Welch,
    /// The exact `McNemar` test of two runs' per-image correctness.
    #[serde(rename = "mcnemar")]
    McNemar,
    /// Nothing could be tested; `reason` says why.
    None,
}

/// What was compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Compared {
    /// Two single runs.
    Runs,
    /// Two groups of seeds.
    Groups,
}

/// One side of a comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Side {
    /// The run's or group's name.
    pub name: String,
    /// Runs with a test accuracy behind it.
    pub n: usize,
    /// Mean test accuracy (a run's own), when there is one.
    pub accuracy: Option<f64>,
    /// Spread and interval for a group; `None` fields for a single run.
    pub summary: Summary,
}

impl Side {
    /// A group of test accuracies (one per finished seed).
    pub fn group(name: impl Into<String>, accuracies: &[f64]) -> Self {
        let summary = Summary::of(accuracies);
        Self {
            name: name.into(),
            n: accuracies.len(),
            accuracy: summary.mean,
            summary,
        }
    }

    /// `M2 (5 seeds)`, `M2 (1 seed)`.
    pub fn title(&self) -> String {
        let seeds = if self.n == 1 { "seed" } else { "seeds" };
        format!("{} ({} {seeds})", self.name, self.n)
    }
}

/// `a − b`, tested.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    pub compared: Compared,
    pub a: Side,
    pub b: Side,
    pub test: Test,
    /// Mean accuracy of a minus b, in points.
    pub difference_points: Option<f64>,
    /// Its 95% confidence interval in points (Welch only).
    pub ci_points: Option<(f64, f64)>,
    /// Two-sided p-value.
    pub p: Option<f64>,
    /// `McNemar`'s disagreements: images only a got right, and only b.
    pub only_a: Option<u64>,
    pub only_b: Option<u64>,
    /// Whether p (or, in a family, the adjusted p) is below 1 − the confidence level (0.05).
    pub significant: Option<bool>,
    /// Why nothing was tested, when `test` is `none`.
    pub reason: Option<String>,
    /// When the pair is one of many compared at once: the family's size
    /// and the pair's Holm-adjusted p, which `significant` then follows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<Family>,
}

/// The comparisons a verdict was one of.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Family {
    /// How many pairs were tested together.
    pub pairs: usize,
    /// This pair's p-value adjusted by Holm's method over them.
    pub p_holm: f64,
}

/// The tests' threshold.
pub const ALPHA: f64 = 1.0 - LEVEL;

impl Verdict {
    /// Two groups of seeds, by Welch's t-test.
    pub fn groups(a: Side, a_values: &[f64], b: Side, b_values: &[f64]) -> Self {
        let difference = a.accuracy.zip(b.accuracy).map(|(x, y)| points(x - y));
        match welch(a_values, b_values) {
            Ok(test) => Self {
                test: Test::Welch,
                difference_points: Some(points(test.difference)),
                ci_points: Some((points(test.ci.0), points(test.ci.1))),
                p: Some(test.p),
                significant: Some(test.p < ALPHA),
                ..Self::untested(Compared::Groups, a, b, difference, None)
            },
            Err(why) => {
                let reason = match why {
                    Untestable::TooFew => "a group needs two finished seeds for an interval",
                    Untestable::NoSpread => "every seed gave the same accuracy: no spread to test",
                    Untestable::NotFinite => "a test accuracy is not a number (a diverged run?)",
                };
                Self::untested(Compared::Groups, a, b, difference, Some(reason.to_string()))
            }
        }
    }

    /// Two runs, by `McNemar`'s test when both have per-image predictions.
    pub fn runs(a: Side, b: Side, test: Result<McNemar, impl std::fmt::Display>) -> Self {
        let difference = a.accuracy.zip(b.accuracy).map(|(x, y)| points(x - y));
        match test {
            Ok(test) => Self {
                test: Test::McNemar,
                difference_points: Some(points(test.difference)),
                p: Some(test.p),
                only_a: Some(test.only_a),
                only_b: Some(test.only_b),
                significant: Some(test.p < ALPHA),
                ..Self::untested(Compared::Runs, a, b, difference, None)
            },
            Err(reason) => {
                Self::untested(Compared::Runs, a, b, difference, Some(reason.to_string()))
            }
        }
    }

    fn untested(
        compared: Compared,
        a: Side,
        b: Side,
        difference: Option<f64>,
        reason: Option<String>,
    ) -> Self {
        Self {
            compared,
            a,
            b,
            test: Test::None,
            difference_points: difference,
            ci_points: None,
            p: None,
            only_a: None,
            only_b: None,
            significant: None,
            reason,
            family: None,
        }
    }

    /// The verdict as one of `pairs` comparisons made together, its
    /// p-value adjusted to `p_holm`: significance follows the adjusted p.
    #[must_use]
    pub fn in_family(mut self, pairs: usize, p_holm: f64) -> Self {
        if self.p.is_some() && pairs > 1 {
            self.family = Some(Family { pairs, p_holm });
            self.significant = Some(p_holm < ALPHA);
        }
        self
    }

    /// `M2 (5 seeds) − M1 (5 seeds): −0.31 points, 95% CI −0.62 … +0.00,
    /// p = 0.051: not significant at 0.05`.
    pub fn text(&self) -> String {
        let (a, b) = match self.compared {
            Compared::Runs => (self.a.name.clone(), self.b.name.clone()),
            Compared::Groups => (self.a.title(), self.b.title()),
        };
        format!("{a} − {b}: {}", self.finding())
    }

    /// The verdict without the names: `−0.31 points, 95% CI … : not significant at 0.05`.
    pub fn finding(&self) -> String {
        let difference = self.difference_points.map_or_else(
            || "no test accuracy".to_string(),
            |d| format!("{} points", signed(d)),
        );
        let mut parts = vec![difference];
        if let Some((low, high)) = self.ci_points {
            parts.push(format!("95% CI {} … {}", signed(low), signed(high)));
        }
        if let (Some(only_a), Some(only_b)) = (self.only_a, self.only_b) {
            parts.push(format!("McNemar {only_a} vs {only_b} images"));
        }
        if let Some(p) = self.p {
            parts.push(p_value(p));
        }
        if let Some(family) = self.family {
            parts.push(format!(
                "Holm over {} pairs {}",
                family.pairs,
                p_value(family.p_holm)
            ));
        }
        let conclusion = match (self.significant, &self.reason) {
            (Some(true), _) => format!("significant at {ALPHA:.2}"),
            (Some(false), _) => format!("not significant at {ALPHA:.2}"),
            (None, Some(reason)) => format!("untested: {reason}"),
            (None, None) => "untested".to_string(),
        };
        format!("{}: {conclusion}", parts.join(", "))
    }
}

/// An accuracy difference in points.
fn points(fraction: f64) -> f64 {
    fraction * 100.0
}

/// `+0.31`, `−0.62` (a real minus sign), `+0.00`.
pub fn signed(x: f64) -> String {
    let text = format!("{:.2}", x.abs());
    if x < 0.0 && text != "0.00" {
        format!("−{text}")
    } else {
        format!("+{text}")
    }
}

/// `p = 0.051`, `p < 0.001`.
pub fn p_value(p: f64) -> String {
    if p < 0.001 {
        "p < 0.001".to_string()
    } else {
        format!("p = {p:.3}")
    }
}

/// Used by tests and callers that only have counts.
pub fn mcnemar_from_counts(images: usize, only_a: u64, only_b: u64) -> McNemar {
    McNemar {
        images,
        only_a,
        only_b,
        difference: (only_a as f64 - only_b as f64) / images.max(1) as f64,
        p: mcnemar_p(only_a, only_b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_among_many_follows_its_adjusted_p() {
        let a = [0.901, 0.903, 0.905];
        let b = [0.890, 0.893, 0.896];
        let alone = Verdict::groups(Side::group("A", &a), &a, Side::group("B", &b), &b);
        assert_eq!(alone.significant, Some(true));
        let among = alone.clone().in_family(66, 0.31);
        assert_eq!(among.significant, Some(false));
        assert!(
            among
                .text()
                .ends_with("Holm over 66 pairs p = 0.310: not significant at 0.05"),
            "{}",
            among.text()
        );
        assert_eq!(
            alone.clone().in_family(1, 0.31),
            alone,
            "a family of one is no family"
        );
    }

    #[test]
    fn two_groups_read_as_the_issue_writes_them() {
        let m2 = [0.8950, 0.8921, 0.8990, 0.8902, 0.8937];
        let m1 = [0.8990, 0.8960, 0.9011, 0.8952, 0.8942];
        let verdict = Verdict::groups(Side::group("M2", &m2), &m2, Side::group("M1", &m1), &m1);
        assert_eq!(verdict.test, Test::Welch);
        // scipy.stats.ttest_ind(m2, m1, equal_var=False): p 0.1535, CI −0.00764 … +0.00144.
        assert_eq!(
            verdict.text(),
            "M2 (5 seeds) − M1 (5 seeds): −0.31 points, 95% CI −0.76 … +0.14, p = 0.154: not significant at 0.05"
        );
        let json = serde_json::to_value(&verdict).unwrap();
        assert_eq!(json["test"], "welch");
        assert_eq!(json["a"]["n"], 5);
    }

    #[test]
    fn one_seed_is_never_given_an_interval() {
        let verdict = Verdict::groups(
            Side::group("M2", &[0.89]),
            &[0.89],
            Side::group("M1", &[0.9, 0.91]),
            &[0.9, 0.91],
        );
        assert_eq!(
            verdict.text(),
            "M2 (1 seed) − M1 (2 seeds): −1.50 points: untested: a group needs two finished seeds for an interval"
        );
        assert_eq!(verdict.ci_points, None);
        let none = Verdict::groups(Side::group("A", &[]), &[], Side::group("B", &[]), &[]);
        assert_eq!(none.text(), "A (0 seeds) − B (0 seeds): no test accuracy: untested: a group needs two finished seeds for an interval");
    }

    #[test]
    fn two_runs_by_mcnemar() {
        let a = Side::group("M1 seed=1", &[0.9020]);
        let b = Side::group("MLP seed=1", &[0.8867]);
        let verdict = Verdict::runs(a, b, Ok::<_, String>(mcnemar_from_counts(10_000, 400, 247)));
        assert_eq!(
            verdict.text(),
            "M1 seed=1 − MLP seed=1: +1.53 points, McNemar 400 vs 247 images, p < 0.001: significant at 0.05"
        );
        let missing = Verdict::runs(
            Side::group("A", &[0.9]),
            Side::group("B", &[0.9]),
            Err::<McNemar, _>("run B has no stored test predictions"),
        );
        assert_eq!(
            missing.text(),
            "A − B: +0.00 points: untested: run B has no stored test predictions"
        );
        assert_eq!(signed(-0.004), "+0.00", "no negative zero");
        assert_eq!(p_value(0.0512), "p = 0.051");
    }
}
