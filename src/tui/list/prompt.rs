//! The filter prompt and the order key, as state changes: `/` opens the
//! prompt on the filter in force, keys typed there edit it, Enter applies
//! it, Esc clears it; the order key moves to the list's next order.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::filter::{Filter, MAX_LEN};
use crate::{
    edge::escape::has_control,
    tui::state::{App, Overlay},
};

impl App {
    /// Opens the filter prompt on the filter in force, to edit it.
    pub fn open_filter(&mut self) {
        self.overlay = Overlay::Filter(self.filter.text.clone());
    }

    /// A key the prompt's keymap does not bind: a character is typed.
    /// Ctrl with a key is no text (a key with Alt Gr arrives as Ctrl and Alt, and is).
    pub fn type_into_filter(&mut self, key: &KeyEvent) {
        let Overlay::Filter(text) = &mut self.overlay else {
            return;
        };
        let KeyCode::Char(c) = key.code else {
            return;
        };
        let modifiers = key.modifiers;
        let ctrl =
            modifiers.contains(KeyModifiers::CONTROL) && !modifiers.contains(KeyModifiers::ALT);
        // Control characters would reach the terminal in the prompt and the title.
        if ctrl || has_control(c.encode_utf8(&mut [0; 4])) || text.chars().count() >= MAX_LEN {
            return;
        }
        text.push(c);
    }

    /// Backspace in the prompt.
    pub fn erase_in_filter(&mut self) {
        if let Overlay::Filter(text) = &mut self.overlay {
            text.pop();
        }
    }

    /// Enter in the prompt: the typed filter is in force, the prompt
    /// closes, and the status line names any term that can match no run.
    pub fn apply_filter(&mut self) {
        let Overlay::Filter(text) = std::mem::take(&mut self.overlay) else {
            return;
        };
        let filter = Filter::parse(&text);
        let problems = filter.problems(&self.runs);
        self.message = (!problems.is_empty()).then(|| format!("filter: {}", problems.join("; ")));
        self.filter = filter;
        self.keep_cursor_listed();
    }

    /// Esc in the prompt: it closes, and every run is listed again.
    pub fn clear_filter(&mut self) {
        self.overlay = Overlay::None;
        self.filter = Filter::default();
    }

    /// The list's next order; the cursor stays on its row, wherever that goes.
    pub fn cycle_order(&mut self) {
        self.order = self.order.next();
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::KeyEventKind;

    use super::*;
    use crate::tui::{
        input::handle_key, list::Order, test_support::planned_app, Action, Cursor, UiStatus, View,
    };

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent {
            kind: KeyEventKind::Press,
            ..KeyEvent::new(code, modifiers)
        }
    }

    fn type_text(app: &mut App, text: &str) {
        for c in text.chars() {
            app.type_into_filter(&key(KeyCode::Char(c), KeyModifiers::NONE));
        }
    }

    #[test]
    fn the_prompt_edits_the_filter_in_force_and_takes_only_text() {
        let mut app = planned_app(&["M1", "M2", "MLP"]);
        type_text(&mut app, "x");
        assert_eq!(app.overlay, Overlay::None, "no prompt, no typing");
        app.open_filter();
        type_text(&mut app, "m1\u{1b}[2J");
        app.type_into_filter(&key(KeyCode::Char('u'), KeyModifiers::CONTROL));
        app.type_into_filter(&key(KeyCode::Left, KeyModifiers::NONE));
        let alt_gr = KeyModifiers::CONTROL | KeyModifiers::ALT;
        app.type_into_filter(&key(KeyCode::Char('@'), alt_gr));
        assert_eq!(app.overlay, Overlay::Filter("m1[2J@".into()));
        for _ in 0..5 {
            app.erase_in_filter();
        }
        app.apply_filter();
        assert_eq!(
            (app.overlay.clone(), app.filter.text.as_str()),
            (Overlay::None, "m")
        );
        app.open_filter();
        assert_eq!(app.overlay, Overlay::Filter("m".into()), "to edit it");
        type_text(&mut app, &"x".repeat(MAX_LEN + 10));
        let Overlay::Filter(text) = &app.overlay else {
            unreachable!()
        };
        assert_eq!(text.chars().count(), MAX_LEN);
        app.clear_filter();
        assert_eq!(
            (app.overlay.clone(), app.filter.is_on()),
            (Overlay::None, false)
        );
    }

    #[test]
    fn a_filter_moves_the_cursor_to_a_listed_row_and_says_what_cannot_match() {
        let mut app = planned_app(&["M1", "M2", "MLP"]);
        app.runs[2].status = UiStatus::Done;
        app.open_filter();
        type_text(&mut app, "status:done");
        app.apply_filter();
        assert_eq!(
            (app.cursor(), app.message.as_deref()),
            (Some(Cursor::Run(2)), None)
        );
        assert_eq!(app.shown_count(), 1);
        app.open_filter();
        type_text(&mut app, " nope=1");
        app.apply_filter();
        let message = app.message.clone().unwrap();
        assert!(
            message.starts_with("filter: no run has a setting `nope=1`; settings: "),
            "{message}"
        );
        assert_eq!(
            (app.shown_count(), app.cursor()),
            (0, None),
            "nothing to act on"
        );
        app.move_selection(1);
        assert_eq!(app.cursor(), None);
        app.clear_filter();
        assert_eq!(app.cursor(), Some(Cursor::Run(2)), "back where it was");
        app.cycle_order();
        assert_eq!(app.order, Order::Accuracy);
    }

    fn press(app: &mut App, keys: &str) -> Vec<Action> {
        keys.chars()
            .flat_map(|c| handle_key(app, key(KeyCode::Char(c), KeyModifiers::NONE)))
            .collect()
    }

    #[test]
    fn keys_open_the_prompt_type_into_it_and_apply_or_clear_the_filter() {
        // M1 done, M2 and MLP planned.
        let mut app = planned_app(&["M1", "M2", "MLP"]);
        app.assign_id(0, "m1".into());
        app.runs[0].status = UiStatus::Done;
        app.view = View::Runs;
        press(&mut app, "/status:plann q?");
        assert_eq!(
            app.overlay,
            Overlay::Filter("status:plann q?".into()),
            "q and ? are text"
        );
        assert!(!app.should_quit);
        for _ in 0..3 {
            handle_key(&mut app, key(KeyCode::Backspace, KeyModifiers::NONE));
        }
        handle_key(&mut app, key(KeyCode::Enter, KeyModifiers::NONE));
        assert_eq!(
            (app.overlay.clone(), app.filter.text.as_str()),
            (Overlay::None, "status:plann")
        );
        // The cursor left M1 for the first listed run; keys act on listed runs.
        assert_eq!(app.cursor(), Some(Cursor::Run(1)));
        press(&mut app, "jj");
        assert_eq!(app.cursor(), Some(Cursor::Run(2)), "M1 is not listed");
        let queued = handle_key(&mut app, key(KeyCode::Enter, KeyModifiers::NONE));
        assert!(
            matches!(&queued[..], [Action::Queue { index: 2, spec }] if spec.name == "MLP"),
            "{queued:?}"
        );
        press(&mut app, "S");
        assert_eq!(app.order, Order::Accuracy);
        // Esc in the prompt clears the filter; Ctrl-C still quits from it.
        press(&mut app, "/");
        handle_key(&mut app, key(KeyCode::Esc, KeyModifiers::NONE));
        assert_eq!(
            (app.overlay.clone(), app.filter.is_on()),
            (Overlay::None, false)
        );
        assert!(!app.should_quit, "Esc leaves the prompt, nothing more");
        press(&mut app, "/x");
        handle_key(&mut app, key(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert!(app.should_quit);
        // A read-only viewer filters too.
        let mut viewer = planned_app(&["M1", "M2"]);
        viewer.read_only = true;
        press(&mut viewer, "/M2");
        handle_key(&mut viewer, key(KeyCode::Enter, KeyModifiers::NONE));
        assert_eq!((viewer.shown_count(), viewer.message.clone()), (1, None));
    }
}
