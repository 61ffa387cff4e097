//! How numbers are shown to people: thousands separators, durations and time stamps.

/// `11082122` → `11,082,122`.
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `1 epoch`, `3 epochs`, `0 runs`: a count with its noun, singular for
/// exactly one (nouns whose plural adds `s`; see [`count_of`] for others).
pub fn count<T: std::fmt::Display + PartialEq + From<u8>>(n: T, noun: &str) -> String {
    if n == T::from(1) {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// [`count`] with the plural given: `1 process`, `2 processes`.
pub fn count_of<T: std::fmt::Display + PartialEq + From<u8>>(
    n: T,
    one: &str,
    many: &str,
) -> String {
    let noun = if n == T::from(1) { one } else { many };
    format!("{n} {noun}")
}

/// Now in UTC as `YYYYMMDD-HHMMSS`: run ids, logs and screenshots sort by time.
pub fn utc_stamp() -> String {
    let rfc3339 = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let digits: String = rfc3339.chars().filter(char::is_ascii_digit).collect();
    format!("{}-{}", &digits[..8], &digits[8..14])
}

/// `42` → `42s`, `83` → `1m23s`, `4000` → `1h06m`.
pub fn clock(seconds: f64) -> String {
    let total = seconds.max(0.0).round() as u64;
    match total {
        0..=59 => format!("{total}s"),
        60..=3599 => format!("{}m{:02}s", total / 60, total % 60),
        _ => format!("{}h{:02}m", total / 3600, total % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_people() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(11_082_122), "11,082,122");
        assert_eq!(clock(42.4), "42s");
        assert_eq!(clock(83.0), "1m23s");
        assert_eq!(clock(4000.0), "1h06m");
        assert_eq!(clock(-1.0), "0s");
        assert_eq!(count(1_u32, "epoch"), "1 epoch");
        assert_eq!(count(0_usize, "run"), "0 runs");
        assert_eq!(count(12_u64, "GPU"), "12 GPUs");
        assert_eq!(count_of(2_usize, "process", "processes"), "2 processes");
        let stamp = utc_stamp();
        assert_eq!(stamp.len(), 15);
        assert!(stamp[..8]
            .chars()
            .chain(stamp[9..].chars())
            .all(|c| c.is_ascii_digit()));
        assert_eq!(&stamp[8..9], "-");
    }
}
