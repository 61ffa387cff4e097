//! Screenshots: a drawn ratatui buffer written as plain text, ANSI, HTML,
//! SVG or PNG, from the buffer itself (what the app drew), never from the
//! terminal, so a screenshot needs no terminal at all.

pub mod cells;
pub mod html;
pub mod png;
pub mod svg;
pub mod text;

use std::path::{Path, PathBuf};

use ratatui::buffer::Buffer;

use crate::{
    draw::{encode_png, DrawError, Theme},
    edge::output::{self, Kind, OutputError, Policy},
};

/// A screenshot that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ScreenError {
    /// The output path's extension names no format.
    #[error("{path}: expected an extension among .txt, .ansi, .html, .svg or .png")]
    UnknownFormat { path: PathBuf },
    #[error(transparent)]
    Draw(#[from] DrawError),
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// The file formats a screenshot can take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Plain text, trailing blanks trimmed.
    Txt,
    /// Text with the exact SGR colour codes the terminal got; `cat` shows it.
    Ansi,
    /// A standalone page with one `<pre>`.
    Html,
    /// A vector image with one text run per style.
    Svg,
    /// A raster image drawn with the embedded `DejaVu` Sans Mono.
    Png,
}

impl Format {
    /// Every format, in the order the `s` key writes them.
    pub const ALL: [Format; 5] = [
        Format::Txt,
        Format::Ansi,
        Format::Html,
        Format::Svg,
        Format::Png,
    ];

    /// The file extension, without its dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Txt => "txt",
            Format::Ansi => "ansi",
            Format::Html => "html",
            Format::Svg => "svg",
            Format::Png => "png",
        }
    }

    /// What an existing file must look like to be replaced by this format.
    pub fn kind(self) -> Kind {
        match self {
            Format::Txt | Format::Ansi => Kind::Text,
            Format::Html => Kind::Html,
            Format::Svg => Kind::Svg,
            Format::Png => Kind::Png,
        }
    }

    /// The format a file name asks for, by its extension.
    pub fn from_path(path: &Path) -> Result<Self, ScreenError> {
        let extension = path
            .extension()
            .and_then(|ext| ext.to_str())
            .map(str::to_ascii_lowercase);
        Self::ALL
            .into_iter()
            .find(|format| Some(format.extension()) == extension.as_deref())
            .ok_or_else(|| ScreenError::UnknownFormat {
                path: path.to_path_buf(),
            })
    }
}

/// Encodes `buffer` in `format`.
pub fn render(buffer: &Buffer, format: Format, theme: Theme) -> Result<Vec<u8>, ScreenError> {
    Ok(match format {
        Format::Txt => text::plain(buffer).into_bytes(),
        Format::Ansi => text::ansi(buffer).into_bytes(),
        Format::Html => html::page(buffer, theme).into_bytes(),
        Format::Svg => svg::image(buffer, theme).into_bytes(),
        Format::Png => encode_png(&png::rasterize(buffer, theme))?,
    })
}

/// Writes `buffer` to `path` in the format its extension names, if `policy`
/// allows the path (see [`crate::edge::output`]); whole or not at all.
pub fn save(
    buffer: &Buffer,
    path: &Path,
    theme: Theme,
    policy: &Policy,
) -> Result<(), ScreenError> {
    let format = Format::from_path(path)?;
    output::check(path, format.kind(), policy)?;
    let bytes = render(buffer, format, theme)?;
    Ok(output::write(path, format.kind(), &bytes, policy)?)
}

/// Writes every format as `dir/stem.EXT`, creating `dir`; returns the paths.
pub fn save_all(
    buffer: &Buffer,
    dir: &Path,
    stem: &str,
    theme: Theme,
    policy: &Policy,
) -> Result<Vec<PathBuf>, ScreenError> {
    output::create_folder(dir)?;
    Format::ALL
        .into_iter()
        .map(|format| {
            let path = dir.join(format!("{stem}.{}", format.extension()));
            output::write(
                &path,
                format.kind(),
                &render(buffer, format, theme)?,
                policy,
            )?;
            Ok(path)
        })
        .collect()
}

/// A file name stem that sorts by time: `atelier-monitor-20261129-051502`.
pub fn timestamped_stem(view: &str) -> String {
    format!("atelier-{view}-{}", crate::units::utc_stamp())
}

#[cfg(test)]
pub(crate) mod fixture {
    use ratatui::{
        buffer::Buffer,
        layout::Rect,
        style::{Color, Modifier, Style},
    };

    /// A small buffer with every kind of cell the exporters must handle:
    /// default colours, named/indexed/RGB colours, bold, italic, reversed,
    /// box drawing, blocks, braille and characters HTML must escape.
    pub fn buffer() -> Buffer {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 12, 4));
        buffer.set_string(0, 0, "┌─ a<b ─┐", Style::default());
        buffer.set_string(0, 1, "│", Style::default().fg(Color::Indexed(244)));
        buffer.set_string(
            1,
            1,
            "ok",
            Style::default()
                .fg(Color::Green)
                .add_modifier(Modifier::BOLD),
        );
        buffer.set_string(4, 1, "&x", Style::default().add_modifier(Modifier::ITALIC));
        buffer.set_string(7, 1, "██▄", Style::default().fg(Color::Rgb(200, 30, 30)));
        buffer.set_string(
            0,
            2,
            "⣿⡀",
            Style::default().fg(Color::Yellow).bg(Color::Blue),
        );
        buffer.set_string(
            3,
            2,
            "rev",
            Style::default().add_modifier(Modifier::REVERSED),
        );
        buffer.set_string(0, 3, "└───────┘", Style::default());
        buffer
    }
}
