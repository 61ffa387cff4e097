//! Whether two groups are the same within a practical margin, and how many
//! seeds would settle a comparison that is not yet settled.
//!
//! "Not significantly different" is not "the same": with three seeds
//! nearly everything is not significantly different. Equivalence is shown
//! by two one-sided tests (TOST, Welch's version): the difference is above
//! −margin and below +margin, each at 0.05, which is the same as the 90%
//! confidence interval of the difference lying inside ±margin.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

use super::{students_t, welch, Untestable};

/// The two one-sided tests of `a − b` against ±`margin`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Tost {
    pub difference: f64,
    /// The 90% confidence interval of the difference (Welch).
    pub ci90: (f64, f64),
    /// The larger of the two one-sided p-values.
    pub p: f64,
}

impl Tost {
    /// Whether both one-sided tests reject at 0.05.
    pub fn equivalent(&self) -> bool {
        self.p < 0.05
    }
}

/// TOST of the means of `a` and `b` within ±`margin` (Welch's t), as
/// `statsmodels.stats.weightstats.ttost_ind(a, b, -margin, margin,
/// usevar="unequal")` computes it.
pub fn tost(a: &[f64], b: &[f64], margin: f64) -> Result<Tost, Untestable> {
    let test = welch(a, b)?;
    let t = students_t(test.df);
    let se = test.se;
    let above = 1.0 - t.cdf((test.difference + margin) / se);
    let below = t.cdf((test.difference - margin) / se);
    let half = t.inverse_cdf(0.95) * se;
    Ok(Tost {
        difference: test.difference,
        ci90: (test.difference - half, test.difference + half),
        p: above.max(below),
    })
}

/// Seeds per group that would likely settle a comparison, given the
/// groups' pooled standard deviation `sd`, the observed difference
/// `difference` and the seeds each group `has`: the smaller of
/// - the smallest n with n ≥ 2·(t(1 − α/2, 2n − 2) + t(power, 2n − 2))²·sd² / difference²
///   to find it different, α being the family's strictest Holm threshold
///   (0.05 / `family`), and
/// - the smallest n with n ≥ 2·(t(0.95, 2n − 2) + t(power, 2n − 2))²·sd² / (margin − |difference|)²
///   to find it equivalent, when the difference is inside the margin,
///
/// for a power of 80%, assuming the observed difference and spread are the
/// true ones; at least one more than the groups have. `None` when neither
/// can be reached (no spread to go on, or a difference of exactly 0 at a
/// margin of 0) or it would take more than a million seeds.
pub fn seeds_needed(
    sd: f64,
    difference: f64,
    margin: f64,
    family: usize,
    has: usize,
) -> Option<u64> {
    if !(sd.is_finite() && sd > 0.0 && difference.is_finite()) {
        return None;
    }
    let alpha = 0.05 / family.max(1) as f64;
    let different = (difference != 0.0)
        .then(|| smallest_n(1.0 - alpha / 2.0, sd / difference))
        .flatten();
    let inside = margin - difference.abs();
    let equivalent = (inside > 0.0)
        .then(|| smallest_n(0.95, sd / inside))
        .flatten();
    let needed = match (different, equivalent) {
        (Some(a), Some(b)) => a.min(b),
        (Some(n), None) | (None, Some(n)) => n,
        (None, None) => return None,
    };
    Some(needed.max(has as u64 + 1))
}

/// The smallest n ≥ 2 with n ≥ 2·(t(`level`, 2n − 2) + t(0.8, 2n − 2))²·`ratio`².
fn smallest_n(level: f64, ratio: f64) -> Option<u64> {
    const MOST: u64 = 1_000_000;
    let bound = |n: u64, quantile: &dyn Fn(f64, f64) -> f64| {
        let df = 2.0 * n as f64 - 2.0;
        2.0 * (quantile(level, df) + quantile(0.8, df)).powi(2) * ratio.powi(2)
    };
    let t = |p: f64, df: f64| students_t(df).inverse_cdf(p);
    let z = |p: f64, _: f64| Normal::standard().inverse_cdf(p);
    // The normal bound is below the t bound: start there and step up.
    let start = bound(2, &z).floor();
    if !start.is_finite() || start > MOST as f64 {
        return None;
    }
    (start.max(2.0) as u64..=MOST).find(|&n| n as f64 >= bound(n, &t))
}

/// The pooled standard deviation of two groups' samples.
pub fn pooled_sd(a: &[f64], b: &[f64]) -> Option<f64> {
    let degrees = (a.len() + b.len()).checked_sub(2).filter(|&df| df > 0)?;
    let squares = |values: &[f64]| {
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        values.iter().map(|x| (x - mean).powi(2)).sum::<f64>()
    };
    let within =
        if a.is_empty() { 0.0 } else { squares(a) } + if b.is_empty() { 0.0 } else { squares(b) };
    Some((within / degrees as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::tests::close;

    #[test]
    fn tost_matches_the_two_one_sided_tests() {
        // statsmodels: ttost_ind(a, b, -0.01, 0.01, usevar="unequal")[0]
        // = 0.0026443116931207677; with ±0.002, 0.28669612691267815.
        let a = [0.901, 0.903, 0.905];
        let b = [0.900, 0.902, 0.904];
        let test = tost(&a, &b, 0.01).unwrap();
        close(test.difference, 0.001, 1e-12);
        // se = sqrt(4e-6/3 · 2) = 0.0016330; t(0.95, 4) = 2.131847.
        close(test.ci90.0, 0.001 - 2.131_846_786 * 0.001_632_993, 1e-8);
        close(test.ci90.1, 0.001 + 2.131_846_786 * 0.001_632_993, 1e-8);
        close(test.p, 0.002_644_311_693_120_767_7, 1e-9);
        assert!(test.equivalent());
        let narrow = tost(&a, &b, 0.002).unwrap();
        close(narrow.p, 0.286_696_126_912_678_15, 1e-9);
        assert!(!narrow.equivalent());
        assert_eq!(tost(&a[..1], &b, 0.01), Err(Untestable::TooFew));
    }

    #[test]
    fn seeds_needed_match_the_t_based_formula() {
        // scipy.stats.t.ppf, smallest n with n ≥ 2·(t(a, 2n−2) + t(0.8, 2n−2))²·(sd/δ)²:
        // sd 0.002, δ 0.004: 6 to find it different, 12 in a family of 66
        // pairs; 5 to find it equivalent when 0.004 inside the margin; a
        // difference of 0.001, 64 to find it different.
        assert_eq!(seeds_needed(0.002, 0.004, 0.0, 1, 2), Some(6));
        assert_eq!(seeds_needed(0.002, 0.004, 0.0, 66, 2), Some(12));
        assert_eq!(
            seeds_needed(0.002, 0.001, 0.005, 1, 2),
            Some(5),
            "equivalence is nearer"
        );
        assert_eq!(seeds_needed(0.002, 0.001, 0.0, 1, 2), Some(64));
        assert_eq!(
            seeds_needed(0.002, 0.004, 0.0, 1, 9),
            Some(10),
            "more than the groups have"
        );
        assert_eq!(seeds_needed(0.0, 0.004, 0.005, 1, 2), None);
        assert_eq!(seeds_needed(0.002, 0.0, 0.0, 1, 2), None);
        assert_eq!(seeds_needed(1.0, 1e-9, 0.0, 1, 2), None, "beyond a million");
    }

    #[test]
    fn pooled_sd_of_two_samples() {
        // Both samples have sd 0.002: pooled 0.002.
        close(
            pooled_sd(&[0.901, 0.903, 0.905], &[0.900, 0.902, 0.904]).unwrap(),
            0.002,
            1e-12,
        );
        assert_eq!(pooled_sd(&[0.9], &[0.8]), None);
    }
}
