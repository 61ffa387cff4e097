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
        let stamp = utc_stamp();
        assert_eq!(stamp.len(), 15);
        assert!(stamp[..8]
            .chars()
            .chain(stamp[9..].chars())
            .all(|c| c.is_ascii_digit()));
        assert_eq!(&stamp[8..9], "-");
    }
}
