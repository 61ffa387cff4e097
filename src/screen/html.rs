//! HTML screenshots: a standalone page holding one `<pre>`.

use std::fmt::Write;

use ratatui::buffer::Buffer;

use super::cells::{self, Look};
use crate::draw::Theme;

/// The screen as a self-contained HTML page (inline styles, no scripts).
pub fn page(buffer: &Buffer, theme: Theme) -> String {
    let background = theme.background().hex();
    let foreground = theme.foreground().hex();
    let mut body = String::new();
    for row in cells::rows(buffer, theme) {
        for run in cells::runs(&row) {
            let style = style(&run.look, theme);
            let text = escape(&run.text);
            if style.is_empty() {
                body.push_str(&text);
            } else {
                let _ = write!(body, "<span style=\"{style}\">{text}</span>");
            }
        }
        body.push('\n');
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>atelier</title>\n<style>\n\
         body {{ margin: 0; padding: 16px; background: {background}; }}\n\
         pre {{ margin: 0; font-family: 'DejaVu Sans Mono', 'Cascadia Mono', Menlo, Consolas, monospace; \
         font-size: 14px; line-height: 1.17; color: {foreground}; background: {background}; }}\n\
         </style>\n</head>\n<body>\n<pre>{body}</pre>\n</body>\n</html>\n"
    )
}

/// Inline CSS for a look, leaving out what equals the page's defaults.
fn style(look: &Look, theme: Theme) -> String {
    let mut css = String::new();
    if look.fg != theme.foreground() {
        let _ = write!(css, "color:{};", look.fg.hex());
    }
    if look.bg != theme.background() {
        let _ = write!(css, "background:{};", look.bg.hex());
    }
    if look.bold {
        css.push_str("font-weight:bold;");
    }
    if look.italic {
        css.push_str("font-style:italic;");
    }
    match (look.underlined, look.crossed_out) {
        (true, true) => css.push_str("text-decoration:underline line-through;"),
        (true, false) => css.push_str("text-decoration:underline;"),
        (false, true) => css.push_str("text-decoration:line-through;"),
        (false, false) => {}
    }
    css
}

/// Escapes text for HTML and XML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::fixture;

    #[test]
    fn html_matches_golden() {
        insta::assert_snapshot!(page(&fixture::buffer(), Theme::Dark));
    }

    #[test]
    fn light_theme_changes_only_the_colours() {
        let dark = page(&fixture::buffer(), Theme::Dark);
        let light = page(&fixture::buffer(), Theme::Light);
        assert_ne!(dark, light);
        assert!(light.contains(&Theme::Light.background().hex()));
        assert!(light.contains("a&lt;b"));
    }
}
