//! Whether a difference is real: summaries with confidence intervals, and
//! the two tests atelier's comparisons need. Distributions come from
//! `statrs`; this module only arranges them.
//!
//! - A group of seeds: mean, sample standard deviation and the 95%
//!   confidence interval of the mean from Student's t.
//! - Two groups: Welch's t-test, which does not assume the two groups have
//!   the same spread (dropout, for one, changes how much seeds scatter), and
//!   degrades gracefully to Student's when they do.
//! - Two runs on the same test images: the exact `McNemar` test on the images
//!   one gets right and the other wrong (a paired test: both saw the same
//!   10,000 images, so only disagreements carry information).
//!
//! - A confusion matrix: accuracy, per-class precision and recall, the most
//!   frequent confusions ([`confusion`]).
//!
//! - A sweep: Holm's adjustment over all its pairs ([`multiple`]),
//!   equivalence within a margin and the seeds a comparison needs
//!   ([`equivalence`]), and the factorial ANOVA of its settings ([`anova`]).
//!
//! Nothing here invents an interval: one value has a mean and nothing else.

pub mod anova;
pub mod confusion;
pub mod equivalence;
pub mod multiple;
pub mod verdict;

use serde::Serialize;
use statrs::distribution::{Binomial, ContinuousCDF, DiscreteCDF, StudentsT};

/// The confidence level of every interval, and the tests' threshold (1 − level).
pub const LEVEL: f64 = 0.95;

/// Mean, spread and interval of some values; fields that need more values
/// than there are stay `None`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub n: usize,
    pub mean: Option<f64>,
    /// Sample standard deviation (n − 1), from two values.
    pub sd: Option<f64>,
    /// The 95% confidence interval of the mean (Student's t), from two values.
    pub ci: Option<(f64, f64)>,
}

impl Summary {
    pub fn of(values: &[f64]) -> Self {
        let n = values.len();
        let mean = (n > 0).then(|| values.iter().sum::<f64>() / n as f64);
        let sd = mean
            .filter(|_| n > 1)
            .map(|mean| variance(values, mean).sqrt());
        let ci = mean.zip(sd).map(|(mean, sd)| {
            let half = t_quantile(n as f64 - 1.0) * sd / (n as f64).sqrt();
            (mean - half, mean + half)
        });
        Self { n, mean, sd, ci }
    }
}

/// Sample variance around `mean`.
fn variance(values: &[f64], mean: f64) -> f64 {
    values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (values.len() as f64 - 1.0)
}

/// The two-sided 95% quantile of Student's t with `df` degrees of freedom.
pub fn t_quantile(df: f64) -> f64 {
    students_t(df).inverse_cdf(0.5 + LEVEL / 2.0)
}

fn students_t(df: f64) -> StudentsT {
    StudentsT::new(0.0, 1.0, df)
        .unwrap_or_else(|error| unreachable!("degrees of freedom {df} are positive: {error}"))
}

/// Welch's t-test of `a − b`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Welch {
    /// Mean of a minus mean of b.
    pub difference: f64,
    pub ci: (f64, f64),
    /// Two-sided.
    pub p: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// The standard error of the difference.
    #[serde(skip)]
    pub se: f64,
}

/// Why two groups cannot be tested.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Untestable {
    /// A group has fewer than two values: no spread to compare against.
    TooFew,
    /// Every value in both groups is the same.
    NoSpread,
    /// A value is NaN or infinite (a diverged run): no test means anything.
    NotFinite,
}

/// Welch's t-test of the means of `a` and `b`.
pub fn welch(a: &[f64], b: &[f64]) -> Result<Welch, Untestable> {
    if a.len() < 2 || b.len() < 2 {
        return Err(Untestable::TooFew);
    }
    if a.iter().chain(b).any(|value| !value.is_finite()) {
        return Err(Untestable::NotFinite);
    }
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (ma, mb) = (mean(a), mean(b));
    let (qa, qb) = (variance(a, ma) / na, variance(b, mb) / nb);
    let se = (qa + qb).sqrt();
    if se == 0.0 {
        return Err(Untestable::NoSpread);
    }
    let df = (qa + qb).powi(2) / (qa.powi(2) / (na - 1.0) + qb.powi(2) / (nb - 1.0));
    // Spreads so small that their squares underflow leave 0 / 0.
    if !(df.is_finite() && df > 0.0) {
        return Err(Untestable::NoSpread);
    }
    let difference = ma - mb;
    let t = difference / se;
    let p = (2.0 * (1.0 - students_t(df).cdf(t.abs()))).min(1.0);
    let half = t_quantile(df) * se;
    Ok(Welch {
        difference,
        ci: (difference - half, difference + half),
        p,
        df,
        se,
    })
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// The exact `McNemar` test of two classifiers on the same images.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct McNemar {
    pub images: usize,
    /// Images a gets right and b gets wrong.
    pub only_a: u64,
    /// Images b gets right and a gets wrong.
    pub only_b: u64,
    /// Accuracy of a minus accuracy of b.
    pub difference: f64,
    /// Two-sided exact binomial p-value of the disagreements.
    pub p: f64,
}

/// Why two runs' predictions cannot be compared image by image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the runs were tested on different numbers of images ({a} and {b})")]
pub struct DifferentTestSets {
    pub a: usize,
    pub b: usize,
}

/// `McNemar`'s exact test from per-image correctness, in the same image order.
pub fn mcnemar(a: &[bool], b: &[bool]) -> Result<McNemar, DifferentTestSets> {
    if a.len() != b.len() {
        return Err(DifferentTestSets {
            a: a.len(),
            b: b.len(),
        });
    }
    let only_a = a.iter().zip(b).filter(|(x, y)| **x && !**y).count() as u64;
    let only_b = a.iter().zip(b).filter(|(x, y)| !**x && **y).count() as u64;
    let difference = if a.is_empty() {
        0.0
    } else {
        (only_a as f64 - only_b as f64) / a.len() as f64
    };
    Ok(McNemar {
        images: a.len(),
        only_a,
        only_b,
        difference,
        p: mcnemar_p(only_a, only_b),
    })
}

/// Two-sided exact p of `b` against `c` disagreements: twice the smaller
/// tail of Binomial(b + c, ½), at most 1.
pub fn mcnemar_p(b: u64, c: u64) -> f64 {
    let n = b + c;
    if n == 0 {
        return 1.0;
    }
    let binomial =
        Binomial::new(0.5, n).unwrap_or_else(|error| unreachable!("½ is a probability: {error}"));
    (2.0 * binomial.cdf(b.min(c))).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within `tolerance` of `expected`; for this room's tests.
    pub(super) fn close(found: f64, expected: f64, tolerance: f64) {
        assert!(
            (found - expected).abs() <= tolerance,
            "expected {expected}, found {found}"
        );
    }

    #[test]
    fn t_quantiles_match_the_tables() {
        // Two-sided 95%: the familiar table values.
        for (df, expected) in [
            (1.0, 12.706_204_736),
            (2.0, 4.302_652_730),
            (4.0, 2.776_445_105),
            (9.0, 2.262_157_163),
            (30.0, 2.042_272_456),
            (1000.0, 1.962_339_081),
        ] {
            close(t_quantile(df), expected, 1e-6);
        }
    }

    #[test]
    fn a_summary_has_no_interval_it_cannot_have() {
        assert_eq!(
            Summary::of(&[]),
            Summary {
                n: 0,
                mean: None,
                sd: None,
                ci: None
            }
        );
        assert_eq!(
            Summary::of(&[0.9]),
            Summary {
                n: 1,
                mean: Some(0.9),
                sd: None,
                ci: None
            }
        );
        // n = 2: sd = |a − b| / √2, half-width = 12.706 · sd / √2.
        let two = Summary::of(&[0.90, 0.92]);
        close(two.sd.unwrap(), 0.014_142_136, 1e-9);
        let (low, high) = two.ci.unwrap();
        close(high - 0.91, 12.706_204_736 * 0.01, 1e-8);
        close(low, 0.91 - 0.127_062_047, 1e-8);
    }

    #[test]
    fn a_summary_of_five_seeds() {
        // mean 0.9, sd 0.0158114; half-width 2.776445 · sd / √5 = 0.0196324.
        let five = Summary::of(&[0.88, 0.89, 0.90, 0.91, 0.92]);
        close(five.mean.unwrap(), 0.9, 1e-12);
        close(five.sd.unwrap(), 0.015_811_388, 1e-9);
        let (low, high) = five.ci.unwrap();
        close(low, 0.9 - 0.019_632_4, 1e-6);
        close(high, 0.9 + 0.019_632_4, 1e-6);
    }

    #[test]
    fn welch_with_unequal_variances() {
        // Reference values from scipy.stats.ttest_ind(a, b, equal_var=False).
        let a = [
            27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7,
            21.4,
        ];
        let b = [
            27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5,
            24.4,
        ];
        let test = welch(&a, &b).unwrap();
        close(test.difference, -2.166_666_667, 1e-9);
        close(test.df, 24.988_529_290, 1e-6);
        close(test.p, 0.021_378_001, 1e-8);
        close(test.ci.0, -3.984_096_267, 1e-6);
        close(test.ci.1, -0.349_237_066, 1e-6);
        // Very different spreads and sizes.
        let narrow = [0.901, 0.902, 0.903];
        let wide = [0.88, 0.90, 0.92, 0.86, 0.93, 0.89];
        let test = welch(&narrow, &wide).unwrap();
        close(test.df, 5.029_931_827, 1e-6);
        close(test.p, 0.634_766_289, 1e-7);
        close(test.ci.0, -0.021_755_093, 1e-7);
        close(test.ci.1, 0.032_421_760, 1e-7);
        assert_eq!(welch(&[0.9], &wide), Err(Untestable::TooFew));
        assert_eq!(welch(&[0.9, 0.9], &[0.8, 0.8]), Err(Untestable::NoSpread));
        assert_eq!(welch(&[0.9, f64::NAN], &wide), Err(Untestable::NotFinite));
        assert_eq!(
            welch(&wide, &[0.9, f64::INFINITY]),
            Err(Untestable::NotFinite)
        );
        assert_eq!(
            welch(&[0.0, 2e-100], &[0.0, 0.0]),
            Err(Untestable::NoSpread)
        );
    }

    #[test]
    fn mcnemar_worked_examples() {
        // 6 against 16 disagreements: scipy.stats.binomtest(6, 22).pvalue.
        close(mcnemar_p(6, 16), 0.052_478_790, 1e-8);
        close(mcnemar_p(16, 6), 0.052_478_790, 1e-8);
        assert_eq!(mcnemar_p(0, 0), 1.0);
        assert_eq!(mcnemar_p(5, 5), 1.0, "the tails overlap: capped at 1");
        close(mcnemar_p(0, 10), 2.0 / 1024.0, 1e-12);
        let a = [true, true, true, false, false, true];
        let b = [true, false, false, true, false, true];
        let test = mcnemar(&a, &b).unwrap();
        assert_eq!((test.images, test.only_a, test.only_b), (6, 2, 1));
        close(test.difference, 1.0 / 6.0, 1e-12);
        close(test.p, 1.0, 1e-12);
        assert_eq!(
            mcnemar(&a, &b[..3]).unwrap_err().to_string(),
            "the runs were tested on different numbers of images (6 and 3)"
        );
    }
}
