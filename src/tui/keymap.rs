//! Every key the app binds, as data: one table per layer, each binding a
//! set of keys → an [`Intent`] with its help text and an optional
//! status-bar hint. Whether a key changes training is its intent's
//! ([`Intent::mutates`], what a read-only viewer refuses), so no second
//! key bound to a mutating intent can slip past `watch`; what any other
//! key does there is its binding's ([`InWatch`]), so the viewer's help
//! says so. Key handling, the help overlay, the status-bar
//! hints, the gallery's key line and the README's key table all read these
//! tables, so they cannot drift apart.
//!
//! A key is looked up layer by layer: Ctrl-C anywhere, then the open overlay
//! (which takes every key), else the view's layers and the global one.
//! Consecutive bindings of a layer with the same help text share one help
//! row ("j/k ↓/↑ ]/[ g/G Home/End: select the next / previous / first / last run").

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{state::Overlay, view::View};

/// What a key asks for; `input` carries it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    QuitNow,
    Yes,
    No,
    CloseHelp,
    CloseAlerts,
    CursorUp,
    CursorDown,
    CursorLeft,
    CursorRight,
    OpenCell,
    /// The diff's images that run A gets right and B wrong.
    OnlyARight,
    /// The diff's images that run B gets right and A wrong.
    OnlyBRight,
    NextPage,
    PreviousPage,
    FirstPage,
    LastPage,
    CloseGallery,
    OpenHelp,
    /// The alert log: what finished, failed, stalled… and when.
    OpenAlerts,
    Quit,
    /// Esc at the top: asks to quit while training, else nothing.
    QuitIfTraining,
    NextView,
    ShowView(View),
    SelectNext,
    SelectPrevious,
    SelectFirst,
    SelectLast,
    /// Expand or collapse the group of seeds under the cursor.
    ToggleGroup,
    Start,
    PauseResume,
    RunAgain,
    QueueAll,
    Cancel,
    Delete,
    Mark,
    TogglePercent,
    ToggleSmoothing,
    Screenshot,
    /// Open the run list's filter prompt.
    OpenFilter,
    /// In the prompt: the typed filter is in force.
    ApplyFilter,
    /// In the prompt: no filter at all.
    ClearFilter,
    /// In the prompt: the last character goes.
    EraseChar,
    /// The run list's next order.
    CycleOrder,
    /// The sweep view's next / previous configuration.
    NextConfiguration,
    PreviousConfiguration,
    /// Order the sweep table by the next / previous column.
    SortNext,
    SortPrevious,
    /// Read the sweep table's order backwards.
    ReverseOrder,
    /// The sweep view's next lower panel (where only one fits).
    NextPanel,
    /// The heat table's next pair of keys.
    NextHeatPair,
    /// The curves' next metric: accuracy, loss, log loss.
    NextMetric,
    /// The curves' next x-axis: epochs, images seen, training time.
    NextXAxis,
}

impl Intent {
    /// Starts, pauses, cancels or deletes training: a read-only viewer
    /// refuses it, whichever key asks.
    pub const fn mutates(self) -> bool {
        matches!(
            self,
            Intent::Start
                | Intent::PauseResume
                | Intent::RunAgain
                | Intent::QueueAll
                | Intent::Cancel
                | Intent::Delete
        )
    }
}

/// A key as bound: its code, with or without Ctrl.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    /// Only with Ctrl held. Other keys match whatever modifiers come with
    /// them (Shift comes with `G`, and terminals differ in what they add).
    pub ctrl: bool,
}

impl Key {
    fn matches(self, event: &KeyEvent) -> bool {
        self.code == event.code && (!self.ctrl || event.modifiers.contains(KeyModifiers::CONTROL))
    }

    /// The key as the help and hints name it.
    pub fn label(self) -> String {
        match self.code {
            KeyCode::Char(' ') => "space".to_string(),
            KeyCode::Char(c) if self.ctrl => format!("Ctrl-{}", c.to_ascii_uppercase()),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::Backspace => "Backspace".into(),
            other => format!("{other:?}"),
        }
    }

    fn is_arrow(self) -> bool {
        matches!(
            self.code,
            KeyCode::Up | KeyCode::Down | KeyCode::Left | KeyCode::Right
        )
    }
}

const fn ch(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: false,
    }
}

const fn key(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}

/// What a binding does in `atelier watch`, the read-only viewer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InWatch {
    /// What its help says.
    Same,
    /// Something else, which the viewer's help says instead.
    Says(&'static str),
    /// Nothing: it acts on this app's own training, and a viewer trains none.
    Unavailable,
}

/// Keys → one intent, with what the help and the status bar say of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Binding {
    pub keys: &'static [Key],
    pub intent: Intent,
    /// The help row's text; bindings in a row share it.
    pub help: &'static str,
    /// A word or two for the status bar, after the binding's first key.
    pub hint: Option<&'static str>,
    /// Read through [`Binding::in_watch`], which a mutating intent overrules.
    watch: InWatch,
}

const fn bind(keys: &'static [Key], intent: Intent, help: &'static str) -> Binding {
    Binding {
        keys,
        intent,
        help,
        hint: None,
        watch: InWatch::Same,
    }
}

impl Binding {
    const fn hint(self, hint: &'static str) -> Self {
        Self {
            hint: Some(hint),
            ..self
        }
    }

    const fn watch(self, watch: InWatch) -> Self {
        Self { watch, ..self }
    }

    /// What the binding does in `atelier watch`: nothing where its intent
    /// changes training, whatever the table says.
    pub fn in_watch(&self) -> InWatch {
        if self.intent.mutates() {
            InWatch::Unavailable
        } else {
            self.watch
        }
    }
}

/// The bindings that hold in one place (a view, an overlay).
#[derive(Debug, PartialEq, Eq)]
pub struct Layer {
    /// Where they hold, for the README's table.
    pub name: &'static str,
    /// Put before the help text in the overlay, to tell view keys from global ones.
    pub prefix: &'static str,
    pub bindings: &'static [Binding],
}

pub static ANYWHERE: Layer = Layer {
    name: "anywhere",
    prefix: "",
    bindings: &[bind(
        &[Key {
            code: KeyCode::Char('c'),
            ctrl: true,
        }],
        Intent::QuitNow,
        "quit now; active runs are stored as interrupted",
    )
    .watch(InWatch::Says("quit now"))],
};

pub static CONFIRM: Layer = Layer {
    name: "a question (quit, cancel, delete)",
    prefix: "",
    bindings: &[
        bind(&[ch('y'), ch('Y'), key(KeyCode::Enter)], Intent::Yes, "yes"),
        bind(
            &[ch('n'), ch('N'), ch('q'), key(KeyCode::Esc)],
            Intent::No,
            "no",
        ),
    ],
};

pub static HELP: Layer = Layer {
    name: "the help overlay",
    prefix: "",
    bindings: &[bind(
        &[key(KeyCode::Esc), ch('?'), ch('q'), key(KeyCode::Enter)],
        Intent::CloseHelp,
        "close",
    )],
};

pub static ALERTS: Layer = Layer {
    name: "the alert log",
    prefix: "",
    bindings: &[bind(
        &[key(KeyCode::Esc), ch('!'), ch('q'), key(KeyCode::Enter)],
        Intent::CloseAlerts,
        "close",
    )],
};

const MOVE: &str = "move the cursor";

/// The confusion and diff views.
pub static GRID: Layer = Layer {
    name: "confusion and diff views",
    prefix: "grid: ",
    bindings: &[
        bind(&[key(KeyCode::Up), ch('k')], Intent::CursorUp, MOVE).hint("cell"),
        bind(&[key(KeyCode::Down), ch('j')], Intent::CursorDown, MOVE).hint("cell"),
        bind(&[key(KeyCode::Left), ch('h')], Intent::CursorLeft, MOVE).hint("cell"),
        bind(&[key(KeyCode::Right), ch('l')], Intent::CursorRight, MOVE).hint("cell"),
        bind(
            &[key(KeyCode::Enter)],
            Intent::OpenCell,
            "the cell's images (diff: where the two runs disagree)",
        )
        .hint("its images"),
    ],
};

const ONE_RIGHT: &str = "every image A (a) / B (b) gets right and the other wrong";

pub static DIFF: Layer = Layer {
    name: "diff view",
    prefix: "diff: ",
    bindings: &[
        bind(&[ch('a')], Intent::OnlyARight, ONE_RIGHT).hint("A/B right"),
        bind(&[ch('b')], Intent::OnlyBRight, ONE_RIGHT).hint("A/B right"),
    ],
};

const PAGE: &str = "next / previous page";
const ENDS: &str = "first / last page";

pub static GALLERY: Layer = Layer {
    name: "gallery",
    prefix: "gallery: ",
    bindings: &[
        bind(
            &[
                key(KeyCode::PageDown),
                key(KeyCode::Right),
                key(KeyCode::Down),
                ch('n'),
                ch('l'),
                ch('j'),
            ],
            Intent::NextPage,
            PAGE,
        )
        .hint("page"),
        bind(
            &[
                key(KeyCode::PageUp),
                key(KeyCode::Left),
                key(KeyCode::Up),
                ch('p'),
                ch('h'),
                ch('k'),
            ],
            Intent::PreviousPage,
            PAGE,
        )
        .hint("page"),
        bind(&[key(KeyCode::Home), ch('g')], Intent::FirstPage, ENDS).hint("first/last"),
        bind(&[key(KeyCode::End), ch('G')], Intent::LastPage, ENDS).hint("first/last"),
        bind(
            &[
                key(KeyCode::Esc),
                key(KeyCode::Backspace),
                key(KeyCode::Enter),
            ],
            Intent::CloseGallery,
            "back to the grid",
        )
        .hint("back"),
    ],
};

/// The views in [`View::TAB_ORDER`], as Tab's help row names them.
const NEXT_VIEW: &str = "next view: monitor → confusion → compare → runs → diff → sweep";
/// The views of the number keys 1 to 6, in order.
const VIEWS: &str = "views: monitor / confusion / compare / runs / diff / sweep";
const SELECT: &str = "select the next / previous / first / last run";
/// One help row for both display toggles, so the help fits 80×24.
const TOGGLES: &str = "confusion cells in row percent / smoothed sparklines (EMA)";

/// Every view, where a view layer does not take the key first. The order
/// is the help's, and the status bar's when it cannot show every hint.
pub static GLOBAL: Layer = Layer {
    name: "every view",
    prefix: "",
    bindings: &[
        bind(&[ch('?')], Intent::OpenHelp, "help (this list of keys)").hint("help"),
        bind(
            &[ch('q')],
            Intent::Quit,
            "quit; asks first while this app is training",
        )
        .hint("quit")
        .watch(InWatch::Says("quit")),
        // A stray Esc (it means "back" elsewhere) must not end an idle session.
        bind(
            &[key(KeyCode::Esc)],
            Intent::QuitIfTraining,
            "while this app is training: ask to quit (else nothing)",
        )
        .watch(InWatch::Unavailable),
        bind(&[key(KeyCode::Tab)], Intent::NextView, NEXT_VIEW).hint("view"),
        bind(&[ch('1')], Intent::ShowView(View::Monitor), VIEWS),
        bind(&[ch('2')], Intent::ShowView(View::Confusion), VIEWS),
        bind(&[ch('3')], Intent::ShowView(View::Compare), VIEWS),
        bind(&[ch('4')], Intent::ShowView(View::Runs), VIEWS),
        // Without two runs to diff, the diff pane says how to pick them.
        bind(&[ch('5')], Intent::ShowView(View::Diff), VIEWS),
        bind(&[ch('6')], Intent::ShowView(View::Sweep), VIEWS),
        // [ and ] for the grid views, where the arrows and j/k move the cursor.
        bind(
            &[ch('j'), key(KeyCode::Down), ch(']')],
            Intent::SelectNext,
            SELECT,
        )
        .hint("run"),
        bind(
            &[ch('k'), key(KeyCode::Up), ch('[')],
            Intent::SelectPrevious,
            SELECT,
        )
        .hint("run"),
        bind(&[ch('g'), key(KeyCode::Home)], Intent::SelectFirst, SELECT),
        bind(&[ch('G'), key(KeyCode::End)], Intent::SelectLast, SELECT),
        bind(
            &[key(KeyCode::Enter)],
            Intent::Start,
            "start the selected run; an interrupted or failed one continues",
        )
        .hint("start"),
        bind(
            &[ch(' ')],
            Intent::PauseResume,
            "pause / resume the running run",
        )
        .hint("pause"),
        bind(
            &[ch('o')],
            Intent::ToggleGroup,
            "expand / collapse the group of seeds under the cursor",
        )
        .hint("group"),
        bind(
            &[ch('r')],
            Intent::RunAgain,
            "run the selected stored run again, from scratch, as a new row",
        ),
        bind(
            &[ch('a')],
            Intent::QueueAll,
            "queue every planned run (several at once when faster)",
        ),
        bind(
            &[ch('x')],
            Intent::Cancel,
            "cancel the selected run (asks first)",
        ),
        bind(
            &[ch('d')],
            Intent::Delete,
            "delete the selected stored run and its files (asks first)",
        ),
        bind(
            &[ch('m')],
            Intent::Mark,
            "mark the run for compare and diff (none marked: all)",
        )
        .hint("mark"),
        bind(&[ch('p')], Intent::TogglePercent, TOGGLES).hint("%"),
        bind(&[ch('e')], Intent::ToggleSmoothing, TOGGLES),
        bind(
            &[ch('s')],
            Intent::Screenshot,
            "screenshot: .txt .ansi .html .svg .png of this screen",
        )
        .hint("shot"),
        bind(
            &[ch('!')],
            Intent::OpenAlerts,
            "alert log (what finished, failed, stalled…), newest first",
        )
        .hint("alerts"),
    ],
};

/// One help row for the filter and the order, so the help fits 80×24.
const FILTER_ORDER: &str = "filter (text lr=1e-3 status:done) / cycle the order";

/// The views that show the run list large: below [`GLOBAL`], as it binds
/// only keys no other layer takes, so its hints come after the global ones.
pub static LIST: Layer = Layer {
    name: "monitor and run-list views",
    prefix: "list: ",
    bindings: &[
        bind(&[ch('/')], Intent::OpenFilter, FILTER_ORDER).hint("filter"),
        bind(&[ch('S')], Intent::CycleOrder, FILTER_ORDER),
    ],
};

/// The filter prompt; every key it does not bind is typed into the filter.
pub static PROMPT: Layer = Layer {
    name: "the filter prompt (other keys are typed)",
    prefix: "",
    bindings: &[
        bind(
            &[key(KeyCode::Enter)],
            Intent::ApplyFilter,
            "apply the filter and close",
        )
        .hint("apply"),
        bind(
            &[key(KeyCode::Esc)],
            Intent::ClearFilter,
            "close and clear the filter",
        )
        .hint("clear"),
        bind(
            &[key(KeyCode::Backspace)],
            Intent::EraseChar,
            "delete the last character",
        )
        .hint("erase"),
    ],
};

const CONFIGURATION: &str = "select the next / previous configuration (and its runs)";
const SORT: &str = "order by the next / previous column; i reverses";
const SWEEP_PANELS: &str = "lower panel / heat table's pair / curve metric / x-axis";

/// The sweep view: its rows are configurations, its columns sortable.
pub static SWEEP: Layer = Layer {
    name: "sweep view",
    prefix: "sweep: ",
    bindings: &[
        bind(
            &[key(KeyCode::Down), ch('j')],
            Intent::NextConfiguration,
            CONFIGURATION,
        )
        .hint("row"),
        bind(
            &[key(KeyCode::Up), ch('k')],
            Intent::PreviousConfiguration,
            CONFIGURATION,
        )
        .hint("row"),
        bind(&[key(KeyCode::Right), ch('l')], Intent::SortNext, SORT).hint("sort"),
        bind(&[key(KeyCode::Left), ch('h')], Intent::SortPrevious, SORT).hint("sort"),
        bind(&[ch('i')], Intent::ReverseOrder, SORT),
        bind(&[ch('v')], Intent::NextPanel, SWEEP_PANELS).hint("panel"),
        bind(&[ch('H')], Intent::NextHeatPair, SWEEP_PANELS),
        bind(&[ch('y')], Intent::NextMetric, SWEEP_PANELS),
        bind(&[ch('t')], Intent::NextXAxis, SWEEP_PANELS),
    ],
};

/// Every layer, in the README's order.
pub static ALL: [&Layer; 11] = [
    &ANYWHERE, &GLOBAL, &LIST, &GRID, &DIFF, &GALLERY, &SWEEP, &HELP, &ALERTS, &PROMPT, &CONFIRM,
];

/// The layers the help overlay may list, in its order (its own keys are in
/// its title, the question's in the question, the prompt's in the prompt).
pub static LISTED: [&Layer; 7] = [&ANYWHERE, &GLOBAL, &LIST, &GRID, &DIFF, &GALLERY, &SWEEP];

/// Where a key is looked up, first layer first.
pub fn layers(overlay: &Overlay, view: View) -> &'static [&'static Layer] {
    static HELP_OPEN: [&Layer; 2] = [&ANYWHERE, &HELP];
    static ALERTS_OPEN: [&Layer; 2] = [&ANYWHERE, &ALERTS];
    static ASKING: [&Layer; 2] = [&ANYWHERE, &CONFIRM];
    static PROMPTING: [&Layer; 2] = [&ANYWHERE, &PROMPT];
    static LISTING: [&Layer; 3] = [&ANYWHERE, &GLOBAL, &LIST];
    static CONFUSION: [&Layer; 3] = [&ANYWHERE, &GRID, &GLOBAL];
    static DIFFING: [&Layer; 4] = [&ANYWHERE, &GRID, &DIFF, &GLOBAL];
    static BROWSING: [&Layer; 3] = [&ANYWHERE, &GALLERY, &GLOBAL];
    static OTHER: [&Layer; 2] = [&ANYWHERE, &GLOBAL];
    static SWEEPING: [&Layer; 3] = [&ANYWHERE, &SWEEP, &GLOBAL];
    match (overlay, view) {
        (Overlay::Help, _) => &HELP_OPEN,
        (Overlay::Alerts, _) => &ALERTS_OPEN,
        (Overlay::Confirm(_), _) => &ASKING,
        (Overlay::Filter(_), _) => &PROMPTING,
        (Overlay::None, View::Confusion) => &CONFUSION,
        (Overlay::None, View::Diff) => &DIFFING,
        (Overlay::None, View::Gallery) => &BROWSING,
        (Overlay::None, View::Monitor | View::Runs) => &LISTING,
        (Overlay::None, View::Compare) => &OTHER,
        (Overlay::None, View::Sweep) => &SWEEPING,
    }
}

/// The binding the key means in these layers, the first layer's first.
pub fn lookup(layers: &[&'static Layer], event: &KeyEvent) -> Option<&'static Binding> {
    layers
        .iter()
        .flat_map(|layer| layer.bindings)
        .find(|binding| binding.keys.iter().any(|key| key.matches(event)))
}

fn bound_in(layers: &[&Layer], key: Key) -> bool {
    layers
        .iter()
        .flat_map(|layer| layer.bindings)
        .any(|binding| binding.keys.contains(&key))
}

/// One help row: consecutive bindings of a layer that share their help text.
#[derive(Clone, Debug)]
pub struct Row {
    pub bindings: Vec<&'static Binding>,
}

impl Row {
    pub fn help(&self) -> &'static str {
        self.bindings[0].help
    }

    /// What the row's keys do in `atelier watch` (a row's bindings agree).
    pub fn in_watch(&self) -> InWatch {
        self.bindings[0].in_watch()
    }

    /// The row's text in the app, or in the viewer; `None` where the
    /// viewer has no use for its keys.
    fn text(&self, read_only: bool) -> Option<&'static str> {
        match (read_only, self.in_watch()) {
            (false, _) | (true, InWatch::Same) => Some(self.help()),
            (true, InWatch::Says(text)) => Some(text),
            (true, InWatch::Unavailable) => None,
        }
    }

    /// Every key of the row: bindings with as many keys are zipped, so
    /// opposites pair up ("j/k ↓/↑ ]/[ g/G Home/End").
    pub fn label(&self) -> String {
        self.label_with(Key::label)
    }

    fn label_with(&self, name: impl Fn(Key) -> String) -> String {
        self.label_unless(&[], name)
    }

    /// The row's keys but those a layer in `above` takes (a key pair goes
    /// when both of it are taken); empty when every key is.
    fn label_unless(&self, above: &[&Layer], name: impl Fn(Key) -> String) -> String {
        let mut parts = Vec::new();
        for run in self.bindings.chunk_by(|a, b| a.keys.len() == b.keys.len()) {
            for position in 0..run[0].keys.len() {
                let keys: Vec<Key> = run.iter().map(|b| b.keys[position]).collect();
                if keys.iter().all(|&key| bound_in(above, key)) {
                    continue;
                }
                // `/` between keys would read as one more key when `/` is one.
                let slash = keys.iter().any(|key| key.code == KeyCode::Char('/'));
                let names: Vec<String> = keys.into_iter().map(&name).collect();
                parts.push(names.join(if slash { " " } else { "/" }));
            }
        }
        parts.join(" ")
    }

    /// The status-bar hint: the first key of each hinted binding that no
    /// layer in `above` takes, then the hint ("]/[ run" in the grid views).
    fn hint(&self, above: &[&Layer], read_only: bool) -> Option<String> {
        let text = self.bindings.iter().find_map(|binding| binding.hint)?;
        let keys: Vec<Key> = self
            .bindings
            .iter()
            .filter(|binding| {
                binding.hint.is_some() && !(read_only && binding.in_watch() == InWatch::Unavailable)
            })
            .filter_map(|binding| {
                binding
                    .keys
                    .iter()
                    .copied()
                    .find(|&key| !bound_in(above, key))
            })
            .collect();
        if keys.is_empty() {
            return None;
        }
        // Arrows read best run together: "↑↓←→".
        let separator = if keys.iter().all(|key| key.is_arrow()) {
            ""
        } else {
            "/"
        };
        let names: Vec<String> = keys.into_iter().map(Key::label).collect();
        Some(format!("{} {text}", names.join(separator)))
    }
}

impl Layer {
    pub fn rows(&'static self) -> Vec<Row> {
        self.bindings
            .chunk_by(|a, b| a.help == b.help && a.in_watch() == b.in_watch())
            .map(|run| Row {
                bindings: run.iter().collect(),
            })
            .collect()
    }
}

/// The status-bar hints of these layers, in order, the keys an upper layer
/// takes left out, and a read-only viewer's refused ones too.
pub fn hints(layers: &[&'static Layer], read_only: bool) -> Vec<String> {
    let mut hints = Vec::new();
    for (depth, layer) in layers.iter().enumerate() {
        let above = &layers[..depth];
        hints.extend(
            layer
                .rows()
                .iter()
                .filter_map(|row| row.hint(above, read_only)),
        );
    }
    hints
}

/// One line of the help overlay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelpLine {
    pub keys: String,
    pub text: String,
    /// The viewer's line of the keys it has no use for, drawn dimmed.
    pub unavailable: bool,
}

/// What the viewer's help says of the keys that act on training.
pub const NOT_IN_WATCH: &str = "unavailable here: they act on training";

/// The help overlay's lines in `view`: the keys that hold there (not
/// those a view's own keys take), and what they do (view keys say where).
/// Only that view's own keys, so the help fits the smallest screen
/// whichever view asks. A viewer's (`read_only`) help says what each key
/// does there, and names the keys it has no use for on one last line.
pub fn help_lines(view: View, read_only: bool) -> Vec<HelpLine> {
    let here = layers(&Overlay::None, view);
    let mut lines = Vec::new();
    let mut unavailable = Vec::new();
    for layer in LISTED.iter().filter(|layer| here.contains(layer)) {
        let depth = here.iter().position(|held| held == layer).unwrap_or(0);
        for row in layer.rows() {
            let keys = row.label_unless(&here[..depth], Key::label);
            if keys.is_empty() {
                continue;
            }
            match row.text(read_only) {
                Some(text) => lines.push(HelpLine {
                    keys,
                    text: format!("{}{text}", layer.prefix),
                    unavailable: false,
                }),
                None => unavailable.push(keys),
            }
        }
    }
    if !unavailable.is_empty() {
        lines.push(HelpLine {
            keys: unavailable.join(" "),
            text: NOT_IN_WATCH.into(),
            unavailable: true,
        });
    }
    lines
}

/// A layer's rows on one line: "y Y Enter: yes · n N q Esc: no".
pub fn summary(layer: &'static Layer) -> String {
    let rows: Vec<String> = layer
        .rows()
        .iter()
        .map(|row| format!("{}: {}", row.label(), row.help()))
        .collect();
    rows.join(" · ")
}

/// The key the help names first for `intent`, for messages that point to it.
pub fn label_of(intent: Intent) -> String {
    ALL.iter()
        .flat_map(|layer| layer.bindings)
        .find(|binding| binding.intent == intent)
        .and_then(|binding| binding.keys.first())
        .map_or_else(|| format!("{intent:?}"), |key| key.label())
}

/// The book's key table (`docs/src/reference/keys.md`, generated by tests/it/docs.rs): markdown, one row per help row.
pub fn markdown() -> String {
    let mut table =
        String::from("| Where | Keys | What they do | In `atelier watch` |\n|---|---|---|---|\n");
    for layer in ALL {
        for (index, row) in layer.rows().iter().enumerate() {
            let place = if index == 0 { layer.name } else { "" };
            let keys = row.label_with(|key| format!("`{}`", key.label()));
            let watch = match row.in_watch() {
                InWatch::Same => "yes".to_string(),
                InWatch::Says(text) => format!("yes: {text}"),
                InWatch::Unavailable => "no".to_string(),
            };
            table.push_str(&format!(
                "| {place} | {keys} | {} | {watch} |\n",
                row.help()
            ));
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use crossterm::event::KeyEventKind;

    use super::*;

    fn event(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent {
            kind: KeyEventKind::Press,
            ..KeyEvent::new(code, modifiers)
        }
    }

    fn intent(overlay: &Overlay, view: View, code: KeyCode) -> Option<Intent> {
        lookup(layers(overlay, view), &event(code, KeyModifiers::NONE)).map(|b| b.intent)
    }

    #[test]
    fn no_key_is_bound_twice_in_a_layer() {
        for layer in ALL {
            let mut seen = HashSet::new();
            for binding in layer.bindings {
                for key in binding.keys {
                    assert!(
                        seen.insert(key.code),
                        "{} binds {} twice",
                        layer.name,
                        key.label()
                    );
                }
            }
        }
    }

    /// Every key a view layer takes from a layer below it, as
    /// (view layer, key, the intent it hides): each one meant, none by accident.
    #[test]
    fn view_layers_shadow_only_the_keys_they_mean_to() {
        let mut shadowed = Vec::new();
        // The list layer binds only keys no other layer has: it shadows nothing.
        for view in [
            View::Monitor,
            View::Confusion,
            View::Compare,
            View::Runs,
            View::Diff,
            View::Gallery,
            View::Sweep,
        ] {
            let stack = layers(&Overlay::None, view);
            for (depth, upper) in stack.iter().enumerate() {
                for lower in &stack[depth + 1..] {
                    for binding in lower.bindings {
                        for key in binding.keys {
                            let hidden = upper
                                .bindings
                                .iter()
                                .any(|b| b.keys.iter().any(|k| k.code == key.code));
                            let entry = (upper.name, key.label(), binding.intent);
                            if hidden && !shadowed.contains(&entry) {
                                shadowed.push(entry);
                            }
                        }
                    }
                }
            }
        }
        let grid = GRID.name;
        let expected: Vec<(&'static str, String, Intent)> = vec![
            // In the grids the arrows, j/k and Enter are the cursor's; [ ] still select.
            (grid, "j".into(), Intent::SelectNext),
            (grid, "↓".into(), Intent::SelectNext),
            (grid, "k".into(), Intent::SelectPrevious),
            (grid, "↑".into(), Intent::SelectPrevious),
            (grid, "Enter".into(), Intent::Start),
            // In the diff, a is A's images, not queue-all.
            (DIFF.name, "a".into(), Intent::QueueAll),
            // The gallery pages with the selection's keys and p, and leaves with Esc and Enter.
            (GALLERY.name, "Esc".into(), Intent::QuitIfTraining),
            (GALLERY.name, "j".into(), Intent::SelectNext),
            (GALLERY.name, "↓".into(), Intent::SelectNext),
            (GALLERY.name, "k".into(), Intent::SelectPrevious),
            (GALLERY.name, "↑".into(), Intent::SelectPrevious),
            (GALLERY.name, "g".into(), Intent::SelectFirst),
            (GALLERY.name, "Home".into(), Intent::SelectFirst),
            (GALLERY.name, "G".into(), Intent::SelectLast),
            (GALLERY.name, "End".into(), Intent::SelectLast),
            (GALLERY.name, "Enter".into(), Intent::Start),
            (GALLERY.name, "p".into(), Intent::TogglePercent),
            // In the sweep view the rows are configurations; [ ] still select runs.
            (SWEEP.name, "j".into(), Intent::SelectNext),
            (SWEEP.name, "↓".into(), Intent::SelectNext),
            (SWEEP.name, "k".into(), Intent::SelectPrevious),
            (SWEEP.name, "↑".into(), Intent::SelectPrevious),
        ];
        let sorted = |mut list: Vec<(&'static str, String, Intent)>| {
            list.sort_by_key(|(layer, key, intent)| (*layer, key.clone(), format!("{intent:?}")));
            list
        };
        assert_eq!(sorted(shadowed), sorted(expected));
    }

    #[test]
    fn keys_are_looked_up_overlay_then_view_then_global() {
        let none = Overlay::None;
        let j = KeyCode::Char('j');
        assert_eq!(intent(&none, View::Monitor, j), Some(Intent::SelectNext));
        assert_eq!(intent(&none, View::Confusion, j), Some(Intent::CursorDown));
        assert_eq!(intent(&none, View::Gallery, j), Some(Intent::NextPage));
        assert_eq!(
            intent(&Overlay::Help, View::Monitor, j),
            None,
            "the help takes every key"
        );
        assert_eq!(
            intent(&none, View::Confusion, KeyCode::Char('s')),
            Some(Intent::Screenshot),
            "unbound in the view: global"
        );
        assert_eq!(
            intent(&none, View::Confusion, KeyCode::Char('a')),
            Some(Intent::QueueAll)
        );
        assert_eq!(
            intent(&none, View::Diff, KeyCode::Char('a')),
            Some(Intent::OnlyARight)
        );
        assert_eq!(intent(&none, View::Monitor, KeyCode::Char('c')), None);
        // `/` and S where the run list is large; the prompt takes every key
        // but its own (and Ctrl-C) as text.
        let slash = KeyCode::Char('/');
        assert_eq!(intent(&none, View::Runs, slash), Some(Intent::OpenFilter));
        assert_eq!(
            intent(&none, View::Monitor, KeyCode::Char('S')),
            Some(Intent::CycleOrder)
        );
        assert_eq!(intent(&none, View::Compare, slash), None);
        let prompt = Overlay::Filter("lr".into());
        for code in [KeyCode::Char('q'), KeyCode::Char('?'), slash, KeyCode::Tab] {
            assert_eq!(intent(&prompt, View::Monitor, code), None, "{code:?}");
        }
        assert_eq!(
            intent(&prompt, View::Monitor, KeyCode::Enter),
            Some(Intent::ApplyFilter)
        );
        assert_eq!(
            intent(&prompt, View::Runs, KeyCode::Esc),
            Some(Intent::ClearFilter)
        );
        let ctrl_c = event(KeyCode::Char('c'), KeyModifiers::CONTROL);
        let asking = Overlay::Confirm(crate::tui::Confirm::Quit);
        // The alert log, like the help, takes every key but its own.
        let bang = KeyCode::Char('!');
        assert_eq!(intent(&none, View::Gallery, bang), Some(Intent::OpenAlerts));
        assert_eq!(intent(&Overlay::Alerts, View::Monitor, j), None);
        assert_eq!(
            intent(&Overlay::Alerts, View::Monitor, bang),
            Some(Intent::CloseAlerts)
        );
        for overlay in [
            Overlay::None,
            Overlay::Help,
            Overlay::Alerts,
            asking,
            prompt,
        ] {
            assert_eq!(
                lookup(layers(&overlay, View::Gallery), &ctrl_c).map(|b| b.intent),
                Some(Intent::QuitNow)
            );
        }
        // Shift comes with capitals; other modifiers are not told apart either.
        let shift_g = event(KeyCode::Char('G'), KeyModifiers::SHIFT);
        let runs = layers(&none, View::Runs);
        assert_eq!(
            lookup(runs, &shift_g).map(|b| b.intent),
            Some(Intent::SelectLast)
        );
    }

    #[test]
    fn only_the_training_keys_mutate() {
        let mutating: Vec<Intent> = ALL
            .iter()
            .flat_map(|layer| layer.bindings)
            .filter(|binding| binding.intent.mutates())
            .map(|binding| binding.intent)
            .collect();
        assert_eq!(
            mutating,
            [
                Intent::Start,
                Intent::PauseResume,
                Intent::RunAgain,
                Intent::QueueAll,
                Intent::Cancel,
                Intent::Delete
            ]
        );
    }

    #[test]
    fn the_help_leaves_out_keys_a_view_takes_for_itself() {
        let select = |view| {
            help_lines(view, false)
                .into_iter()
                .find(|line| line.text == SELECT)
                .map(|line| line.keys)
        };
        assert_eq!(select(View::Monitor).unwrap(), "j/k ↓/↑ ]/[ g/G Home/End");
        assert_eq!(select(View::Sweep).unwrap(), "]/[ g/G Home/End");
        assert_eq!(select(View::Confusion).unwrap(), "]/[ g/G Home/End");
    }

    #[test]
    fn the_viewers_help_says_what_each_key_does_there() {
        let app = help_lines(View::Monitor, false);
        let viewer = help_lines(View::Monitor, true);
        let text_of = |lines: &[HelpLine], keys: &str| {
            lines
                .iter()
                .find(|line| line.keys == keys)
                .map(|line| line.text.clone())
        };
        assert_eq!(text_of(&viewer, "q").as_deref(), Some("quit"));
        assert_eq!(text_of(&viewer, "Ctrl-C").as_deref(), Some("quit now"));
        assert!(text_of(&app, "Esc")
            .unwrap()
            .contains("while this app is training"));
        // The keys a viewer has no use for: one dimmed line, last, naming them.
        for keys in ["Esc", "Enter", "space", "r", "a", "x", "d"] {
            assert!(text_of(&app, keys).is_some(), "{keys}");
            assert_eq!(text_of(&viewer, keys), None, "{keys}");
        }
        let last = viewer.last().unwrap();
        assert_eq!(
            (last.keys.as_str(), last.text.as_str(), last.unavailable),
            ("Esc Enter space r a x d", NOT_IN_WATCH, true)
        );
        assert!(app.iter().all(|line| !line.unavailable));
        // In the diff, `a` is A's images and Enter the cell's: not named as unavailable.
        let diff = help_lines(View::Diff, true);
        assert_eq!(diff.last().unwrap().keys, "Esc space r x d");
    }

    #[test]
    fn the_key_table_says_what_each_key_does_in_watch() {
        let table = markdown();
        for row in [
            "| anywhere | `Ctrl-C` | quit now; active runs are stored as interrupted | yes: quit now |",
            "|  | `q` | quit; asks first while this app is training | yes: quit |",
            "|  | `Esc` | while this app is training: ask to quit (else nothing) | no |",
            "|  | `Enter` | start the selected run; an interrupted or failed one continues | no |",
            "|  | `Tab` | next view: monitor → confusion → compare → runs → diff → sweep | yes |",
        ] {
            assert!(table.contains(&format!("{row}\n")), "{row}\n{table}");
        }
    }

    #[test]
    fn the_view_rows_name_the_views_in_their_keys_order() {
        let names = |views: &[View]| -> Vec<&str> { views.iter().map(|v| v.name()).collect() };
        assert_eq!(
            NEXT_VIEW,
            format!("next view: {}", names(&View::TAB_ORDER).join(" → "))
        );
        let numbered: Vec<View> = GLOBAL
            .bindings
            .iter()
            .filter_map(|binding| match binding.intent {
                Intent::ShowView(view) => Some(view),
                _ => None,
            })
            .collect();
        assert_eq!(numbered, View::TAB_ORDER, "Tab goes the number keys' way");
        assert_eq!(VIEWS, format!("views: {}", names(&numbered).join(" / ")));
    }

    #[test]
    fn rows_zip_opposite_keys_and_share_one_hint() {
        let labels = |layer: &'static Layer| -> Vec<String> {
            layer.rows().iter().map(Row::label).collect()
        };
        assert!(labels(&GLOBAL).contains(&"j/k ↓/↑ ]/[ g/G Home/End".to_string()));
        assert!(labels(&GLOBAL).contains(&"1/2/3/4/5/6".to_string()));
        assert!(labels(&GLOBAL).contains(&"q".to_string()));
        assert!(
            labels(&GLOBAL).contains(&"Esc".to_string()),
            "q and Esc differ: a row each"
        );
        assert_eq!(
            labels(&GALLERY),
            [
                "PgDn/PgUp →/← ↓/↑ n/p l/h j/k",
                "Home/End g/G",
                "Esc Backspace Enter"
            ]
        );
        assert_eq!(labels(&GRID), ["↑/↓/←/→ k/j/h/l", "Enter"]);
        assert_eq!(
            labels(&LIST),
            ["/ S"],
            "a slash between keys would read as one"
        );
        assert_eq!(labels(&PROMPT), ["Enter", "Esc", "Backspace"]);
        for layer in ALL {
            for row in layer.rows() {
                let hints: HashSet<_> = row.bindings.iter().filter_map(|b| b.hint).collect();
                assert!(hints.len() <= 1, "{}: {hints:?}", row.label());
            }
        }
    }

    #[test]
    fn hints_leave_out_taken_keys_and_what_a_viewer_cannot_do() {
        let monitor = hints(layers(&Overlay::None, View::Monitor), false);
        assert_eq!(
            monitor[..6],
            [
                "? help",
                "q quit",
                "Tab view",
                "j/k run",
                "Enter start",
                "space pause"
            ]
        );
        let confusion = hints(layers(&Overlay::None, View::Confusion), false);
        assert_eq!(confusion[..2], ["↑↓←→ cell", "Enter its images"]);
        assert!(confusion.contains(&"]/[ run".to_string()), "{confusion:?}");
        assert!(
            !confusion.iter().any(|hint| hint.contains("start")),
            "{confusion:?}"
        );
        let viewer = hints(layers(&Overlay::None, View::Monitor), true);
        assert!(
            !viewer
                .iter()
                .any(|hint| hint.contains("start") || hint.contains("pause")),
            "{viewer:?}"
        );
        assert_eq!(
            hints(&[&GALLERY], false),
            ["PgDn/PgUp page", "Home/End first/last", "Esc back"]
        );
        // The list's keys come after the global ones: the filter's hint last.
        assert_eq!(monitor.last().map(String::as_str), Some("/ filter"));
        assert_eq!(
            hints(&[&PROMPT], false),
            ["Enter apply", "Esc clear", "Backspace erase"]
        );
    }
}
