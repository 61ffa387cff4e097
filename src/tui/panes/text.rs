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

/// How much a part of a [`join_within`] line matters: the least goes first.
pub type Importance = u8;

/// `parts` joined with ` · ` in at most `width` columns: while the line is
/// wider, the least important part left (the last of equals) goes whole,
/// never cut mid-word. What stays keeps its order; the last part standing
/// is cut with `…` only if it alone is too wide.
pub fn join_within(parts: &[(String, Importance)], width: usize) -> String {
    let mut kept: Vec<&(String, Importance)> = parts.iter().collect();
    let joined = |kept: &[&(String, Importance)]| {
        let texts: Vec<&str> = kept.iter().map(|(text, _)| text.as_str()).collect();
        texts.join(" · ")
    };
    while kept.len() > 1 && joined(&kept).width() > width {
        let least = kept
            .iter()
            .enumerate()
            .min_by_key(|(at, (_, importance))| (*importance, usize::MAX - at))
            .map_or(0, |(at, _)| at);
        kept.remove(least);
    }
    let line = joined(&kept);
    if line.width() > width {
        fit(&line, width).trim_end().to_string()
    } else {
        line
    }
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
    fn parts_that_do_not_fit_go_whole_the_least_important_first() {
        let parts = |list: &[(&str, Importance)]| -> Vec<(String, Importance)> {
            list.iter()
                .map(|&(text, i)| (text.to_string(), i))
                .collect()
        };
        let title = parts(&[
            ("Diff", 9),
            ("B M2 − A M1", 8),
            ("row %", 5),
            ("green: B better", 5),
        ]);
        assert_eq!(
            join_within(&title, 80),
            "Diff · B M2 − A M1 · row % · green: B better"
        );
        assert_eq!(join_within(&title, 30), "Diff · B M2 − A M1 · row %");
        assert_eq!(join_within(&title, 20), "Diff · B M2 − A M1");
        assert_eq!(join_within(&title, 3), "Di…");
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
