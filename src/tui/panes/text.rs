//! Text fitted to the columns a pane has: padded or cut with `…`, or
//! broken between words into a few lines.

use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

/// `text` padded or cut (with `…`) to `width` columns.
pub fn fit(text: &str, width: usize) -> String {
    if text.width() <= width {
        return format!("{text}{}", " ".repeat(width - text.width()));
    }
    let mut kept = String::new();
    for glyph in text.chars() {
        if kept.width() + glyph.to_string().width() + 1 > width {
            break;
        }
        kept.push(glyph);
    }
    format!(
        "{kept}…{}",
        " ".repeat(width.saturating_sub(kept.width() + 1))
    )
}

/// Styled `spans` as one line of at most `width` columns; when they are
/// longer, cut where the room ends and marked with `…` (in the cut span's style).
pub fn cut(spans: Vec<Span<'static>>, width: usize) -> Line<'static> {
    let total: usize = spans.iter().map(|span| span.content.width()).sum();
    if total <= width {
        return Line::from(spans);
    }
    let mut kept = Vec::new();
    let mut used = 0;
    for span in spans {
        let room = width.saturating_sub(used + 1);
        let span_width = span.content.width();
        if span_width <= room {
            used += span_width;
            kept.push(span);
            continue;
        }
        let mut text = String::new();
        for glyph in span.content.chars() {
            if text.width() + glyph.to_string().width() > room {
                break;
            }
            text.push(glyph);
        }
        if width > 0 {
            text.push('…');
        }
        kept.push(Span::styled(text, span.style));
        break;
    }
    Line::from(kept)
}

/// `text` broken between words into at most `rows` lines of `width`
/// columns; what does not fit ends the last line with `…`.
pub fn wrap(text: &str, width: usize, rows: usize) -> Vec<String> {
    // An interval's `low … high` stays on one line: a `…` at a line's end
    // would read as text cut short.
    let mut words: Vec<String> = Vec::new();
    let mut glue = false;
    for word in text.split(' ') {
        match words.last_mut() {
            Some(last) if glue || word == "…" => {
                last.push(' ');
                last.push_str(word);
            }
            _ => words.push(word.to_string()),
        }
        glue = word == "…";
    }
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in &words {
        let next = if line.is_empty() {
            word.clone()
        } else {
            format!("{line} {word}")
        };
        if next.width() <= width || line.is_empty() {
            line = next;
        } else {
            lines.push(std::mem::replace(&mut line, word.clone()));
        }
    }
    lines.push(line);
    let overflow = lines.len() > rows;
    lines.truncate(rows);
    let cut = lines.last().is_some_and(|last| last.width() > width);
    if let Some(last) = lines.last_mut().filter(|_| overflow || cut) {
        while last.width() + 1 > width && last.pop().is_some() {}
        last.push('…');
    }
    lines
}

#[cfg(test)]
mod tests {
    use ratatui::style::Stylize;

    use super::*;

    #[test]
    fn names_fit_their_column() {
        assert_eq!(fit("MLP", 5), "MLP  ");
        assert_eq!(fit("M2 lr=3e-4 seed=2", 8), "M2 lr=3…");
    }

    #[test]
    fn a_line_too_long_is_cut_with_an_ellipsis_in_the_cut_spans_style() {
        let spans = || vec![Span::raw("sources: "), Span::raw("gpu-box").bold()];
        assert_eq!(cut(spans(), 16), Line::from(spans()));
        let cut = cut(spans(), 12);
        assert_eq!(cut.to_string(), "sources: gp…");
        assert_eq!(cut.spans[1], Span::raw("gp…").bold());
    }

    #[test]
    fn wrapping_breaks_between_words_and_marks_what_is_cut() {
        assert_eq!(wrap("a bb ccc", 4, 3), ["a bb", "ccc"]);
        assert_eq!(wrap("a bb ccc dddd", 4, 2), ["a bb", "ccc…"]);
        assert_eq!(wrap("abcdefgh", 4, 1), ["abc…"]);
        assert_eq!(wrap("", 4, 1), [""]);
        assert_eq!(
            wrap("CI −3.25 … −1.59, p", 12, 3),
            ["CI", "−3.25 … −1.59,", "p"],
            "an interval is not broken at its …"
        );
    }
}
