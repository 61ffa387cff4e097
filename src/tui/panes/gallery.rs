//! The gallery: a page of test images with their index, true class and what
//! the model (or, in a diff, each of the two runs) made of them.

use std::sync::Arc;

use ratatui::{
    buffer::Buffer,
    layout::{Margin, Rect},
    style::{Color, Style},
    text::{Line, Span},
    widgets::{Block, Borders, Paragraph, Widget, Wrap},
};

use super::{
    confusion::SHORT_NAMES,
    text::{join_within, Importance},
    theme,
    thumbnail::Thumbnail,
};
use crate::{
    data::{Split, CLASS_NAMES},
    edge::escape::printable,
    protocol::RunId,
    store::Predictions,
    tui::{
        gallery::{self, Subject, GAP_X, GAP_Y, TILE_HEIGHT, TILE_WIDTH},
        keymap, App, RunView,
    },
};

/// Draws the open gallery, or says why it cannot: what it needs of the
/// app's state, and nothing else.
pub struct GalleryPane<'a> {
    pub subject: &'a Subject,
    /// Position in the image list of the first image shown.
    pub first: usize,
    /// Every run, to name the subject's by their plan names.
    pub runs: &'a [RunView],
    /// The subject's images in order, or why there are none.
    pub images: Result<Vec<usize>, String>,
    /// The loaded predictions of the subject's runs.
    pub predictions: Vec<Arc<Predictions>>,
    /// The test images checked against the first run's predictions; none
    /// without predictions.
    pub pixels: Option<Result<Arc<Split>, String>>,
}

impl<'a> GalleryPane<'a> {
    /// The open gallery of `app`; `None` (drawing nothing) when none is open.
    pub fn of(app: &'a App) -> Option<Self> {
        let open = app.gallery.as_ref()?;
        let predictions: Vec<_> = open
            .subject
            .runs()
            .into_iter()
            .filter_map(|run| app.predictions_of(run).ok())
            .collect();
        Some(Self {
            subject: &open.subject,
            first: open.first,
            runs: &app.runs,
            images: open.subject.images(app),
            // Every subject's runs share their labels; the first run's are checked against the images.
            pixels: predictions.first().map(|first| app.test_images_for(first)),
            predictions,
        })
    }
}

impl Widget for GalleryPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (across, down) = gallery::grid(area.inner(Margin::new(1, 1)));
        // Between the corners, a space either side.
        let room = usize::from(area.width.saturating_sub(4));
        let page = Page {
            first: self.first,
            size: across * down,
        };
        let heading = title(self.runs, self.subject, &self.images, page, room);
        let block = Block::default()
            .borders(Borders::ALL)
            .title(Span::styled(format!(" {heading} "), theme::title()))
            .title_bottom(format!(" {} ", keys(self.runs, self.subject, room)));
        let inner = block.inner(area);
        block.render(area, buf);
        let say = |text: String, buf: &mut Buffer| {
            Paragraph::new(text)
                .wrap(Wrap { trim: true })
                .render(inner, buf);
        };
        let images = match self.images {
            Ok(images) if images.is_empty() => {
                return say("No test images in this cell.".into(), buf);
            }
            Ok(images) => images,
            Err(message) => return say(message, buf),
        };
        let Some(pixels) = self.pixels else {
            return;
        };
        let pixels = match pixels {
            Ok(split) => split,
            Err(message) => return say(message, buf),
        };
        for (slot, &index) in images
            .iter()
            .skip(self.first)
            .take(across * down)
            .enumerate()
        {
            let (column, row) = ((slot % across) as u16, (slot / across) as u16);
            let tile = Rect {
                x: inner.x + column * (TILE_WIDTH + GAP_X),
                y: inner.y + row * (TILE_HEIGHT + GAP_Y),
                width: TILE_WIDTH,
                height: TILE_HEIGHT,
            }
            .intersection(inner);
            Thumbnail(pixels.image(index)).render(tile, buf);
            let caption = Rect {
                y: tile.y + TILE_HEIGHT - 2,
                height: 2,
                ..tile
            }
            .intersection(inner);
            Paragraph::new(caption_lines(&self.predictions, index)).render(caption, buf);
        }
    }
}

/// The bottom line in `width` columns: which run is A and which B in a
/// diff, and the keys; what does not fit goes whole, the ends' keys first.
fn keys(runs: &[RunView], subject: &Subject, width: usize) -> String {
    let mut parts: Vec<(String, Importance)> = Vec::new();
    if let Subject::Disagreement { a, b, .. } | Subject::OneRight { a, b, .. } = subject {
        parts.push((format!("A {}", run_name(runs, a)), 9));
        parts.push((format!("B {}", run_name(runs, b)), 9));
    }
    // The keymap's order (page, first/last, back): the way back matters most.
    let hints = keymap::hints(&[&keymap::GALLERY], false);
    let importance = |hint: &str| if hint.ends_with("back") { 7 } else { 5 };
    parts.extend(hints.into_iter().map(|hint| {
        let weight = importance(&hint);
        (hint, weight)
    }));
    join_within(&parts, width)
}

/// A run's plan name (escaped), or its id when it has no row.
fn run_name(runs: &[RunView], run: &RunId) -> String {
    runs.iter()
        .find(|view| view.id.as_ref() == Some(run))
        .map_or_else(
            || printable(run.as_str()).into_owned(),
            |view| printable(&view.spec.name).into_owned(),
        )
}

/// Where the page starts in the image list, and how many images it holds.
#[derive(Clone, Copy)]
struct Page {
    first: usize,
    size: usize,
}

/// What the gallery shows and which of its images, in `width` columns:
/// the run's name goes first where the cell and count do not fit.
fn title(
    runs: &[RunView],
    subject: &Subject,
    images: &Result<Vec<usize>, String>,
    page: Page,
    width: usize,
) -> String {
    let mut parts: Vec<(String, Importance)> = vec![("Gallery".into(), 9)];
    match subject {
        Subject::Cell {
            run,
            truth,
            predicted,
        } => {
            parts.push((run_name(runs, run), 5));
            parts.push((
                format!("{} → {}", CLASS_NAMES[*truth], CLASS_NAMES[*predicted]),
                8,
            ));
        }
        Subject::Disagreement {
            truth, predicted, ..
        } if truth == predicted => {
            parts.push((format!("{}, right in one run only", CLASS_NAMES[*truth]), 8));
        }
        Subject::Disagreement {
            truth, predicted, ..
        } => parts.push((
            format!(
                "{} → {} in one run, right in the other",
                CLASS_NAMES[*truth], CLASS_NAMES[*predicted]
            ),
            8,
        )),
        Subject::OneRight { b_right, .. } => {
            let which = if *b_right {
                "B right, A wrong"
            } else {
                "A right, B wrong"
            };
            parts.push((which.into(), 8));
            parts.push(("every class".into(), 4));
        }
    }
    match images {
        Ok(images) if !images.is_empty() => {
            let last = (page.first + page.size).min(images.len());
            parts.push((format!("{}–{last} of {}", page.first + 1, images.len()), 7));
        }
        Ok(_) => parts.push(("none".into(), 7)),
        Err(_) => {}
    }
    join_within(&parts, width)
}

/// Two lines under an image: its index and true class, then the top three
/// classes (one run) or each run's verdict (a diff).
fn caption_lines(runs: &[Arc<Predictions>], index: usize) -> Vec<Line<'static>> {
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    let head = Line::from(format!("#{index} {}", CLASS_NAMES[first.label(index)]));
    let percent = |p: f64| format!("{:.0}%", p * 100.0);
    let detail = if let [a, b] = runs {
        let verdict = |label: &str, run: &Predictions| {
            let (class, p) = run.top(index, 1)[0];
            let (mark, colour) = if run.correct(index) {
                ("✓", Color::Green)
            } else {
                ("✗", Color::Red)
            };
            Span::styled(
                format!("{label}{mark}{} {} ", SHORT_NAMES[class], percent(p)),
                Style::default().fg(colour),
            )
        };
        Line::from(vec![verdict("A", a), verdict("B", b)])
    } else {
        let text: Vec<String> = first
            .top(index, 3)
            .into_iter()
            .map(|(class, p)| format!("{} {}", SHORT_NAMES[class], percent(p)))
            .collect();
        Line::from(text.join(" "))
    };
    vec![head, detail]
}

#[cfg(test)]
mod tests {
    use ratatui::{backend::TestBackend, Terminal};

    use super::*;
    use crate::{
        protocol::Event,
        tui::{
            panes::thumbnail::gray,
            test_support::{buffer_text, planned_app, predictions, test_split},
            ui, View,
        },
    };

    /// Run "a" (named M1) took shirts 6, 16 and 26 for T-shirts.
    fn app() -> App {
        let mut app = planned_app(&["M1"]);
        app.assign_id(0, "a".into());
        app.apply(&Event::Evaluated {
            run: "a".into(),
            test_loss: 0.3,
            test_accuracy: 0.9,
            confusion: Box::new([[3; 10]; 10]),
        });
        app.predictions.insert(
            "a".into(),
            Ok(Arc::new(predictions(&[(6, 0), (16, 0), (26, 0)]))),
        );
        app.test_images = Some(Ok(Arc::new(test_split())));
        app.size = (80, 24);
        app.view = View::Confusion;
        app.open_gallery(Subject::Cell {
            run: "a".into(),
            truth: 6,
            predicted: 0,
        });
        app
    }

    fn draw(app: &App) -> Terminal<TestBackend> {
        let mut terminal = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
        terminal.draw(|frame| ui::draw(frame, app)).unwrap();
        terminal
    }

    #[test]
    fn a_known_image_renders_to_its_cells_with_its_caption() {
        let mut app = app();
        let terminal = draw(&app);
        let buffer = terminal.backend().buffer();
        let text = buffer_text(buffer);
        assert!(
            text.contains("Gallery · M1 · Shirt → T-shirt/top · 1–2 of 3"),
            "{text}"
        );
        // First tile: image 6 from (1, 1); its top-left pixel is 6, the rest 200.
        assert_eq!(buffer[(1, 1)].symbol(), "▀");
        assert_eq!((buffer[(1, 1)].fg, buffer[(1, 1)].bg), (gray(6), gray(200)));
        assert_eq!(
            (buffer[(28, 14)].fg, buffer[(28, 14)].bg),
            (gray(200), gray(200))
        );
        // Second tile 30 columns on: image 16.
        assert_eq!(buffer[(31, 1)].fg, gray(16));
        assert_eq!(buffer[(61, 1)].symbol(), " ", "two tiles fit in 80 columns");
        let line = |y: u16| text.lines().nth(usize::from(y)).unwrap().to_string();
        assert!(line(15).starts_with("│#6 Shirt"), "{}", line(15));
        assert!(
            line(16).starts_with("│Tsht 80% Trou 20% Pull 0%"),
            "{}",
            line(16)
        );
        assert!(line(15).contains("#16 Shirt"), "{}", line(15));
        // The next page holds the third shirt alone.
        app.page_gallery(1);
        let text = buffer_text(draw(&app).backend().buffer());
        assert!(
            text.contains("3–3 of 3") && text.contains("#26 Shirt"),
            "{text}"
        );
        assert!(!text.contains("#16"), "{text}");
    }

    #[test]
    fn missing_images_or_predictions_are_explained() {
        let mut app = app();
        app.test_images = Some(Err("no test images to show: not found".into()));
        let text = buffer_text(draw(&app).backend().buffer());
        assert!(text.contains("no test images to show: not found"), "{text}");
        app.predictions.insert(
            "a".into(),
            Err("predictions.safetensors: no test predictions: the run predates them".into()),
        );
        let text = buffer_text(draw(&app).backend().buffer());
        assert!(text.contains("the run predates them"), "{text}");
        app.predictions
            .insert("a".into(), Ok(Arc::new(predictions(&[]))));
        app.test_images = Some(Ok(Arc::new(test_split())));
        let text = buffer_text(draw(&app).backend().buffer());
        assert!(text.contains("No test images in this cell."), "{text}");
    }

    #[test]
    fn a_diff_gallery_shows_each_runs_verdict() {
        let mut app = app();
        app.predictions
            .insert("b".into(), Ok(Arc::new(predictions(&[(16, 0)]))));
        app.open_gallery(Subject::Disagreement {
            a: "a".into(),
            b: "b".into(),
            truth: 6,
            predicted: 0,
        });
        let terminal = draw(&app);
        let text = buffer_text(terminal.backend().buffer());
        assert!(
            text.contains(
                "Gallery · Shirt → T-shirt/top in one run, right in the other · 1–2 of 2"
            ),
            "{text}"
        );
        assert!(
            text.contains(" A M1 · B b · PgDn/PgUp page · Home/End first/last · Esc back "),
            "{text}"
        );
        let line = text.lines().nth(16).unwrap();
        assert!(line.starts_with("│A✗Tsht 80% B✓Shrt 80%"), "{line}");
        // A wrong verdict is red, a right one green.
        let buffer = terminal.backend().buffer();
        assert_eq!(
            (buffer[(1, 16)].fg, buffer[(12, 16)].fg),
            (Color::Red, Color::Green)
        );
    }
}
