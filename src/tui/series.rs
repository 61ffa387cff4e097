//! Turning metric series into what the charts draw.

/// Exponential moving average with bias correction (as `TensorBoard`'s
/// smoothing and Adam's moments): early points are not pulled toward zero.
pub fn ema(values: impl IntoIterator<Item = f64>, beta: f64) -> Vec<f64> {
    let mut average = 0.0;
    let mut weight = 1.0;
    values
        .into_iter()
        .map(|value| {
            average = beta * average + (1.0 - beta) * value;
            weight *= beta;
            average / (1.0 - weight)
        })
        .collect()
}

/// Scales values to integers for a sparkline, which draws `u64`s relative to
/// their maximum; the minimum maps to a small positive bar so it stays visible.
pub fn sparkline_bars(values: &[f64]) -> Vec<u64> {
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let (low, high) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !low.is_finite() {
        return Vec::new();
    }
    let span = (high - low).max(1e-12);
    values
        .iter()
        .map(|v| {
            if v.is_finite() {
                (1.0 + 99.0 * (v - low) / span).round() as u64
            } else {
                0
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ema_is_bias_corrected() {
        let smoothed = ema([2.0, 2.0, 2.0], 0.9);
        assert!(
            smoothed.iter().all(|v| (v - 2.0).abs() < 1e-12),
            "{smoothed:?}"
        );
        let smoothed = ema([0.0, 10.0], 0.5);
        assert!((smoothed[1] - 10.0 * 0.5 / 0.75).abs() < 1e-12);
    }

    #[test]
    fn bars_span_one_to_a_hundred() {
        assert_eq!(sparkline_bars(&[0.5, 1.0, 0.75]), vec![1, 100, 51]);
        assert_eq!(sparkline_bars(&[]), Vec::<u64>::new());
        assert_eq!(sparkline_bars(&[3.0, 3.0]), vec![1, 1]);
    }
}
