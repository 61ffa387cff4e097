//! What a confusion matrix says: accuracy, per-class precision and recall,
//! and the most frequent confusions. Plain arithmetic over an `N×N` matrix
//! of counts (rows: true class, columns: predicted), no tch, no classes.

/// Precision and recall of one class; `None` where the denominator is zero.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClassScores {
    pub precision: Option<f64>,
    pub recall: Option<f64>,
}

/// One off-diagonal cell: how often `truth` was predicted as `predicted`,
/// as a count and as a fraction of all `truth` images.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Confusion {
    pub truth: usize,
    pub predicted: usize,
    pub count: u32,
    pub rate: f64,
}

/// Total number of images counted.
pub fn total<const N: usize>(matrix: &[[u32; N]; N]) -> u64 {
    matrix.iter().flatten().map(|&count| u64::from(count)).sum()
}

/// Fraction of images on the diagonal.
pub fn accuracy<const N: usize>(matrix: &[[u32; N]; N]) -> f64 {
    let correct: u64 = (0..N).map(|i| u64::from(matrix[i][i])).sum();
    ratio(correct, total(matrix)).unwrap_or(0.0)
}

/// Precision (of predictions of the class, how many were right) and recall
/// (of images of the class, how many were found) for each class.
pub fn class_scores<const N: usize>(matrix: &[[u32; N]; N]) -> [ClassScores; N] {
    std::array::from_fn(|class| {
        let hits = u64::from(matrix[class][class]);
        let predicted: u64 = matrix.iter().map(|row| u64::from(row[class])).sum();
        let actual: u64 = matrix[class].iter().map(|&count| u64::from(count)).sum();
        ClassScores {
            precision: ratio(hits, predicted),
            recall: ratio(hits, actual),
        }
    })
}

/// Row-normalised value of a cell: the fraction of `truth` images predicted as `predicted`.
pub fn row_rate<const N: usize>(matrix: &[[u32; N]; N], truth: usize, predicted: usize) -> f64 {
    let row: u64 = matrix[truth].iter().map(|&count| u64::from(count)).sum();
    ratio(u64::from(matrix[truth][predicted]), row).unwrap_or(0.0)
}

/// The off-diagonal cells with any count, largest rate first.
pub fn top_confusions<const N: usize>(matrix: &[[u32; N]; N], limit: usize) -> Vec<Confusion> {
    let mut cells: Vec<Confusion> = (0..N)
        .flat_map(|truth| (0..N).map(move |predicted| (truth, predicted)))
        .filter(|&(truth, predicted)| truth != predicted && matrix[truth][predicted] > 0)
        .map(|(truth, predicted)| Confusion {
            truth,
            predicted,
            count: matrix[truth][predicted],
            rate: row_rate(matrix, truth, predicted),
        })
        .collect();
    cells.sort_by(|a, b| b.rate.total_cmp(&a.rate).then(b.count.cmp(&a.count)));
    cells.truncate(limit);
    cells
}

#[allow(clippy::cast_precision_loss)]
fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> [[u32; 10]; 10] {
        let mut matrix = [[0; 10]; 10];
        for (class, row) in matrix.iter_mut().enumerate() {
            row[class] = 90;
        }
        matrix[6][0] = 10; // Shirt taken for T-shirt/top
        matrix[4][2] = 5; // Coat taken for Pullover
        matrix[3][3] = 0; // no Dress image was right
        matrix[3][0] = 1;
        matrix
    }

    #[test]
    fn accuracy_and_total() {
        let matrix = sample();
        assert_eq!(total(&matrix), 9 * 90 + 10 + 5 + 1);
        assert!((accuracy(&matrix) - 810.0 / 826.0).abs() < 1e-12);
    }

    #[test]
    fn precision_and_recall() {
        let scores = class_scores(&sample());
        assert_eq!(scores[0].precision, Some(90.0 / 101.0));
        assert_eq!(scores[0].recall, Some(1.0));
        assert_eq!(scores[6].recall, Some(0.9));
        assert_eq!(scores[3].precision, None, "nothing was predicted as Dress");
        assert_eq!(scores[3].recall, Some(0.0));
    }

    #[test]
    fn top_confusions_are_ordered_by_row_rate() {
        let top = top_confusions(&sample(), 2);
        assert_eq!(
            (top[0].truth, top[0].predicted, top[0].count),
            (3, 0, 1),
            "1 of 1 Dress images is a 100% confusion"
        );
        assert_eq!((top[1].truth, top[1].predicted), (6, 0));
        assert!((top[1].rate - 0.1).abs() < 1e-12);
        assert_eq!(top_confusions(&sample(), 10).len(), 3);
    }
}
