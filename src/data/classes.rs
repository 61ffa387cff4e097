//! The ten Fashion-MNIST classes, in label order.

/// Number of classes; labels are `0..NUM_CLASSES`.
pub const NUM_CLASSES: usize = 10;

/// Class names indexed by label, as Zalando Research names them.
pub const CLASS_NAMES: [&str; NUM_CLASSES] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// A class that is none of the ten.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClassError {
    #[error("expected a class from 0 to {last}, found {0}", last = NUM_CLASSES - 1)]
    Number(usize),
    #[error("expected a class number or name ({names}), found {0:?}", names = CLASS_NAMES.join(", "))]
    Name(String),
}

/// The label a user means by `text`: a label number, a class name in any
/// case, or the start of exactly one name (`ank` for Ankle boot).
pub fn parse_class(text: &str) -> Result<usize, ClassError> {
    let wanted = text.trim().to_lowercase();
    if let Ok(label) = wanted.parse::<usize>() {
        return if label < NUM_CLASSES {
            Ok(label)
        } else {
            Err(ClassError::Number(label))
        };
    }
    let lower = |index: usize| CLASS_NAMES[index].to_lowercase();
    if let Some(exact) = (0..NUM_CLASSES).find(|&index| lower(index) == wanted) {
        return Ok(exact);
    }
    let prefixed: Vec<usize> = (0..NUM_CLASSES)
        .filter(|&index| !wanted.is_empty() && lower(index).starts_with(&wanted))
        .collect();
    match prefixed.as_slice() {
        [only] => Ok(*only),
        _ => Err(ClassError::Name(text.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_parse_from_numbers_names_and_unique_prefixes() {
        assert_eq!(parse_class("6"), Ok(6));
        assert_eq!(
            parse_class("shirt"),
            Ok(6),
            "exact name beats the prefix of nothing else"
        );
        assert_eq!(parse_class("T-shirt/top"), Ok(0));
        assert_eq!(parse_class("ank"), Ok(9));
        assert!(parse_class("s")
            .unwrap_err()
            .to_string()
            .contains("found \"s\""));
        assert!(parse_class("10")
            .unwrap_err()
            .to_string()
            .contains("from 0 to 9, found 10"));
    }
}
