//! A factorial analysis of variance: which of a sweep's settings move its
//! test accuracy more than its seeds do.
//!
//! Each setting is a factor with a few levels; each run an observation.
//! The linear model has an intercept, every factor's main effect and,
//! when asked, two-way interactions. Sums of squares are of type II, as
//! `statsmodels`' `anova_lm(typ=2)` computes them: a term's sum of squares
//! is what it adds to the model of every term that does not contain it (a
//! main effect after the other main effects, an interaction after every
//! term but itself), so the order of the factors does not matter and an
//! unbalanced grid (a failed run, a missing seed) still gets a fair test.
//! Least squares are solved by SVD, so a grid with an empty cell (a
//! design of less than full rank) is fitted on the columns it can fit and
//! each term's degrees of freedom are the rank it adds.

use nalgebra::{DMatrix, DVector};
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, FisherSnedecor};

/// One term of the model: a factor's main effect or two factors' interaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Term {
    /// Indices of the factors it involves (one or two).
    pub factors: Vec<usize>,
}

impl Term {
    fn contains(&self, other: &Term) -> bool {
        other
            .factors
            .iter()
            .all(|factor| self.factors.contains(factor))
    }
}

/// A term's line of the ANOVA table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TermTest {
    pub term: Term,
    /// Type II sum of squares.
    pub sum_sq: f64,
    /// The rank the term adds to the model without it.
    pub df: usize,
    /// `None` when the term adds nothing or nothing is left to test against.
    pub f: Option<f64>,
    pub p: Option<f64>,
}

/// The whole table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Anova {
    pub terms: Vec<TermTest>,
    /// The full model's residual sum of squares and its degrees of freedom.
    pub residual_sum_sq: f64,
    pub residual_df: usize,
}

/// Why no table can be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AnovaError {
    #[error("an observation has {found} levels for {expected} factors")]
    Levels { expected: usize, found: usize },
    #[error("a value is NaN or infinite (a diverged run)")]
    NotFinite,
    #[error("{observations} runs for a model of {parameters} parameters: no residual left to test against")]
    NoResidual {
        observations: usize,
        parameters: usize,
    },
}

/// Runs: for each, its level of every factor (0-based) and its value.
pub struct Observations<'a> {
    pub levels: &'a [Vec<usize>],
    pub values: &'a [f64],
}

impl Anova {
    /// Fits `terms` (main effects and two-way interactions of the factors
    /// in `levels`) and tests each.
    pub fn fit(data: &Observations, factors: usize, terms: &[Term]) -> Result<Self, AnovaError> {
        if let Some(found) = data.levels.iter().map(Vec::len).find(|&n| n != factors) {
            return Err(AnovaError::Levels {
                expected: factors,
                found,
            });
        }
        if data.values.iter().any(|value| !value.is_finite()) {
            return Err(AnovaError::NotFinite);
        }
        let design = Design::new(data.levels, factors);
        let full = design.fit(terms, data.values);
        let residual_df = data.values.len().saturating_sub(full.rank);
        if residual_df == 0 {
            return Err(AnovaError::NoResidual {
                observations: data.values.len(),
                parameters: full.rank,
            });
        }
        let residual_mean_sq = full.residual_sum_sq / residual_df as f64;
        let tests = terms
            .iter()
            .map(|term| {
                let without: Vec<Term> = terms
                    .iter()
                    .filter(|other| !other.contains(term))
                    .cloned()
                    .collect();
                let mut with = without.clone();
                with.push(term.clone());
                let (smaller, larger) = (
                    design.fit(&without, data.values),
                    design.fit(&with, data.values),
                );
                let df = larger.rank.saturating_sub(smaller.rank);
                let sum_sq = (smaller.residual_sum_sq - larger.residual_sum_sq).max(0.0);
                let f = (df > 0 && residual_mean_sq > 0.0)
                    .then(|| (sum_sq / df as f64) / residual_mean_sq);
                let p = f.and_then(|f| f_tail(f, df, residual_df));
                TermTest {
                    term: term.clone(),
                    sum_sq,
                    df,
                    f,
                    p,
                }
            })
            .collect();
        Ok(Self {
            terms: tests,
            residual_sum_sq: full.residual_sum_sq,
            residual_df,
        })
    }
}

/// P(F > f) for F(`df`, `residual_df`).
fn f_tail(f: f64, df: usize, residual_df: usize) -> Option<f64> {
    let distribution = FisherSnedecor::new(df as f64, residual_df as f64).ok()?;
    Some(distribution.sf(f))
}

/// The observations' levels, ready to be turned into model columns.
struct Design<'a> {
    levels: &'a [Vec<usize>],
    /// How many levels each factor has (its largest index + 1).
    counts: Vec<usize>,
}

/// A least-squares fit: its residual sum of squares and the design's rank.
struct Fit {
    residual_sum_sq: f64,
    rank: usize,
}

impl<'a> Design<'a> {
    fn new(levels: &'a [Vec<usize>], factors: usize) -> Self {
        let counts = (0..factors)
            .map(|factor| levels.iter().map(|row| row[factor] + 1).max().unwrap_or(0))
            .collect();
        Self { levels, counts }
    }

    /// A term's columns for one observation: treatment coding (level 0 is
    /// the reference), and for an interaction the products of its factors'.
    fn columns(&self, term: &Term, row: &[usize]) -> Vec<f64> {
        term.factors.iter().fold(vec![1.0], |columns, &factor| {
            let dummies: Vec<f64> = (1..self.counts[factor])
                .map(|level| f64::from(u8::from(row[factor] == level)))
                .collect();
            columns
                .iter()
                .flat_map(|column| dummies.iter().map(move |dummy| column * dummy))
                .collect()
        })
    }

    /// Least squares of `values` on an intercept and `terms`.
    fn fit(&self, terms: &[Term], values: &[f64]) -> Fit {
        let rows: Vec<Vec<f64>> = self
            .levels
            .iter()
            .map(|row| {
                let mut columns = vec![1.0];
                for term in terms {
                    columns.extend(self.columns(term, row));
                }
                columns
            })
            .collect();
        let width = rows.first().map_or(1, Vec::len);
        let x = DMatrix::from_fn(rows.len(), width, |i, j| rows[i][j]);
        let y = DVector::from_column_slice(values);
        let svd = x.clone().svd(true, true);
        let largest = svd.singular_values.max();
        // numpy's default for lstsq and matrix_rank.
        let eps = largest * f64::EPSILON * rows.len().max(width) as f64;
        let rank = svd.rank(eps);
        let residual_sum_sq = svd
            .solve(&y, eps)
            .map_or(f64::NAN, |beta| (&y - &x * beta).norm_squared());
        Fit {
            residual_sum_sq,
            rank,
        }
    }
}

/// The main effect of each of `factors` factors, and with `interactions`
/// every two-way interaction.
pub fn terms(factors: usize, interactions: bool) -> Vec<Term> {
    let mains = (0..factors).map(|factor| Term {
        factors: vec![factor],
    });
    let pairs = (0..factors)
        .flat_map(|a| {
            (a + 1..factors).map(move |b| Term {
                factors: vec![a, b],
            })
        })
        .filter(|_| interactions);
    mains.chain(pairs).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within `tolerance` of `expected`, relatively.
    fn close(found: f64, expected: f64, tolerance: f64) {
        assert!(
            (found - expected).abs() <= tolerance * expected.abs(),
            "expected {expected}, found {found}"
        );
    }

    #[test]
    fn one_factor_is_the_textbook_one_way_anova() {
        // scipy.stats.f_oneway([1, 2, 3], [2, 4, 6], [5, 6, 7]):
        // F = 6.0, p = 0.03703703703703703.
        let levels: Vec<Vec<usize>> = [0, 0, 0, 1, 1, 1, 2, 2, 2]
            .iter()
            .map(|&l| vec![l])
            .collect();
        let values = [1.0, 2.0, 3.0, 2.0, 4.0, 6.0, 5.0, 6.0, 7.0];
        let anova = Anova::fit(
            &Observations {
                levels: &levels,
                values: &values,
            },
            1,
            &terms(1, false),
        )
        .unwrap();
        let test = &anova.terms[0];
        assert_eq!((test.df, anova.residual_df), (2, 6));
        close(test.sum_sq, 24.0, 1e-12);
        close(test.f.unwrap(), 6.0, 1e-10);
        close(test.p.unwrap(), 0.037_037_037_037_037_03, 1e-8);
    }

    #[test]
    fn an_unbalanced_grid_matches_statsmodels_type_ii() {
        // A 3 × 2 grid with cells of 3, 2 and 1 runs. statsmodels 0.15:
        // anova_lm(ols("y ~ C(lr) + C(drop)" [+ " + C(lr):C(drop)"]).fit(), typ=2).
        let rows = [
            (0, 0, 0.901),
            (0, 0, 0.905),
            (0, 0, 0.899),
            (0, 1, 0.910),
            (0, 1, 0.912),
            (1, 0, 0.893),
            (1, 0, 0.897),
            (1, 1, 0.904),
            (1, 1, 0.903),
            (1, 1, 0.907),
            (2, 0, 0.880),
            (2, 0, 0.884),
            (2, 1, 0.889),
        ];
        let levels: Vec<Vec<usize>> = rows.iter().map(|&(a, b, _)| vec![a, b]).collect();
        let values: Vec<f64> = rows.iter().map(|&(_, _, y)| y).collect();
        let data = Observations {
            levels: &levels,
            values: &values,
        };
        let mains = Anova::fit(&data, 2, &terms(2, false)).unwrap();
        let expected = [
            (
                0.000_787_029_606_625_268_5,
                2,
                72.781_955_223_119_31,
                2.773_989_781_041_147_7e-6,
            ),
            (
                0.000_246_005_797_101_436_4,
                1,
                45.499_642_601_856,
                8.409_154_372_456_412e-5,
            ),
        ];
        check(&mains, &expected, (4.866_086_956_521_748_5e-5, 9));
        let full = Anova::fit(&data, 2, &terms(2, true)).unwrap();
        let expected = [
            (
                0.000_787_029_606_625_250_2,
                2,
                60.763_315_217_390_54,
                3.770_224_519_982_566_6e-5,
            ),
            (
                0.000_246_005_797_101_459_86,
                1,
                37.986_189_258_313_59,
                0.000_461_494_316_659_576_55,
            ),
            (
                3.327_536_231_881_854_6e-6,
                2,
                0.256_905_370_843_819_2,
                0.780_426_950_794_049_3,
            ),
        ];
        check(&full, &expected, (4.533_333_333_333_341e-5, 7));
    }

    fn check(anova: &Anova, expected: &[(f64, usize, f64, f64)], residual: (f64, usize)) {
        assert_eq!(anova.terms.len(), expected.len());
        for (test, &(sum_sq, df, f, p)) in anova.terms.iter().zip(expected) {
            assert_eq!(test.df, df, "{test:?}");
            close(test.sum_sq, sum_sq, 1e-9);
            close(test.f.unwrap(), f, 1e-8);
            close(test.p.unwrap(), p, 1e-8);
        }
        close(anova.residual_sum_sq, residual.0, 1e-9);
        assert_eq!(anova.residual_df, residual.1);
    }

    #[test]
    fn too_few_runs_leave_no_residual() {
        let levels = vec![vec![0], vec![1]];
        let error = Anova::fit(
            &Observations {
                levels: &levels,
                values: &[0.9, 0.8],
            },
            1,
            &terms(1, false),
        );
        assert_eq!(
            error,
            Err(AnovaError::NoResidual {
                observations: 2,
                parameters: 2
            })
        );
        let nan = Anova::fit(
            &Observations {
                levels: &levels,
                values: &[0.9, f64::NAN],
            },
            1,
            &terms(1, false),
        );
        assert_eq!(nan, Err(AnovaError::NotFinite));
    }

    #[test]
    fn the_terms_of_three_factors() {
        let all = terms(3, true);
        let factors: Vec<Vec<usize>> = all.into_iter().map(|term| term.factors).collect();
        assert_eq!(
            factors,
            [
                vec![0],
                vec![1],
                vec![2],
                vec![0, 1],
                vec![0, 2],
                vec![1, 2]
            ]
        );
    }
}
