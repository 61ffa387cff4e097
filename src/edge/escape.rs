//! Stored text made harmless before it reaches a terminal.
//!
//! Names and labels come from plan files and run stores that anyone may have
//! written; an ESC in them would let a shared file clear or rewrite the
//! screen of whoever lists the runs. Plans refuse such characters when read
//! ([`has_control`]); everything printed from a store goes through
//! [`printable`], since older stores may still hold them.

use std::borrow::Cow;

/// Whether `c` could move the cursor, change colours or reorder what a
/// terminal shows: C0 and C1 controls, DEL, and the bidirectional overrides.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Whether `text` holds a character [`printable`] would escape.
pub fn has_control(text: &str) -> bool {
    text.chars().any(is_unsafe)
}

/// `text` with every control character written as a visible escape
/// (`\u{1b}`, `\n`), as `ls -b` and git's quoted paths do; borrowed when
/// there is nothing to escape.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !has_control(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`printable`] for text of several lines (an error with its causes):
/// every control character but the newline escaped.
pub fn printable_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.split('\n')
            .map(printable)
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(
            printable("M1 · wide ü"),
            Cow::Borrowed("M1 · wide ü")
        ));
        assert!(!has_control("M1 · wide ü"));
    }

    #[test]
    fn escapes_newlines_and_bidi_overrides_become_visible() {
        assert_eq!(
            printable("\u{1b}[2J\u{1b}[Hcleared\nx\u{9b}31m\u{202e}"),
            "\\u{1b}[2J\\u{1b}[Hcleared\\nx\\u{9b}31m\\u{202e}"
        );
        assert!(has_control("a\tb"));
        assert!(!printable("\u{7f}").contains('\u{7f}'));
        assert_eq!(printable_lines("a\u{1b}b\nc"), "a\\u{1b}b\nc");
    }
}
