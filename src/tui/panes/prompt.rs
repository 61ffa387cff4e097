//! The filter prompt, drawn over the status line: what is typed so far,
//! then the prompt's keys (from [`keymap::PROMPT`]).

use ratatui::{
    buffer::Buffer,
    layout::Rect,
    style::{Color, Modifier, Style},
    text::{Line, Span},
    widgets::{Clear, Paragraph, Widget},
};

use crate::{edge::escape::printable, tui::keymap};

/// The prompt with `text` typed into it.
pub struct FilterPrompt<'a>(pub &'a str);

impl Widget for FilterPrompt<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        // Drawn over the status line, which must not show through.
        Clear.render(area, buf);
        let label = Span::styled(
            " filter ",
            Style::default()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        );
        let keys = format!(" {} ", keymap::hints(&[&keymap::PROMPT], false).join(" · "));
        // The end of a long filter is where the typing is: its start goes first.
        let room = usize::from(area.width)
            .saturating_sub(label.width() + keys.chars().count() + 3)
            .max(1);
        let text = printable(self.0);
        let skip = text.chars().count().saturating_sub(room - 1);
        let shown: String = text.chars().skip(skip).collect();
        let line = Line::from(vec![
            label,
            Span::raw(format!(" /{shown}")),
            Span::styled("█", Style::default().add_modifier(Modifier::SLOW_BLINK)),
            Span::styled(keys, Style::default().fg(Color::DarkGray)),
        ]);
        Paragraph::new(line).render(area, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::test_support::{buffer_text, render_widget};

    #[test]
    fn the_prompt_shows_the_typed_text_and_its_keys_and_keeps_the_end_in_sight() {
        let terminal = render_widget(FilterPrompt("status:done"), 80, 1);
        let line = buffer_text(terminal.backend().buffer());
        assert_eq!(
            line.trim_end(),
            " filter  /status:done█ Enter apply · Esc clear · Backspace erase"
        );
        let long = format!("{}end", "x".repeat(100));
        let terminal = render_widget(FilterPrompt(&long), 80, 1);
        let line = buffer_text(terminal.backend().buffer());
        assert!(line.contains("xxxend█ Enter apply"), "{line}");
    }
}
