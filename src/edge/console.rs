//! Standard output that may be closed (`| head -1`) or full (`> /dev/full`).
//!
//! `println!` panics on either. Commands that only print use [`outln!`]: a
//! failed write becomes an error the command returns ("cannot write to
//! standard output: …", exit 1). A process that trains uses [`sayln!`]: its
//! console is a convenience and the store is the record, so the first failed
//! write stops the printing (said once on standard error) and the training
//! goes on.

use std::{
    fmt,
    io::{self, Write},
    sync::atomic::{AtomicBool, Ordering},
};

use thiserror::Error;

/// A write to standard output that failed.
#[derive(Debug, Error)]
#[error("cannot write to standard output: {0}")]
pub struct StdoutError(pub io::Error);

/// Writes `args` and a newline to `out`, flushed.
pub fn line_to(out: &mut impl Write, args: fmt::Arguments<'_>) -> io::Result<()> {
    out.write_fmt(args)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Writes one line to standard output; the error says it was standard output.
pub fn write_line(args: fmt::Arguments<'_>) -> Result<(), StdoutError> {
    line_to(&mut io::stdout().lock(), args).map_err(StdoutError)
}

/// Writes text without a newline to standard output, flushed.
pub fn write_text(text: &str) -> Result<(), StdoutError> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(StdoutError)
}

/// Prints to a console that may go away: after the first failed write it
/// says so once on `errors` and prints nothing more.
#[derive(Debug)]
pub struct Speaker<'a> {
    lost: &'a AtomicBool,
}

/// Whether this process's standard output has failed once already.
static STDOUT_LOST: AtomicBool = AtomicBool::new(false);

impl Speaker<'static> {
    /// The speaker for this process's standard output.
    pub fn stdout() -> Self {
        Self { lost: &STDOUT_LOST }
    }
}

impl Speaker<'_> {
    /// Writes one line to `out` unless an earlier write failed; the first
    /// failure is noted on `errors` (whose own failure is ignored).
    pub fn say_to(&self, out: &mut impl Write, errors: &mut impl Write, args: fmt::Arguments<'_>) {
        if self.lost.load(Ordering::Relaxed) {
            return;
        }
        if let Err(error) = line_to(out, args) {
            self.lost.store(true, Ordering::Relaxed);
            let _ = writeln!(
                errors,
                "atelier: standard output failed ({error}); printing stops, training goes on \
                 and is stored (follow it with `atelier watch`)"
            );
        }
    }

    /// [`Speaker::say_to`] standard output, noting a failure on standard error.
    pub fn say(&self, args: fmt::Arguments<'_>) {
        self.say_to(&mut io::stdout().lock(), &mut io::stderr().lock(), args);
    }
}

/// Writes one line to standard error, ignoring a failure: for notes that
/// must never stop what is running.
pub fn note(args: fmt::Arguments<'_>) {
    let _ = line_to(&mut io::stderr().lock(), args);
}

/// Whether standard error gets colour: `--color auto|always|never`, where
/// `auto` (the default) colours a terminal unless `NO_COLOR` is set, as
/// `anstream` decides for clap's own help and errors too.
pub fn set_color(choice: anstream::ColorChoice) {
    choice.write_global();
}

/// How a message to standard error is labelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    /// `error:`, bold red: the command failed.
    Error,
    /// `warning:`, bold yellow: it goes on, but something looks wrong.
    Warning,
    /// `note:`, bold: for information.
    Note,
}

impl Label {
    fn text(self) -> &'static str {
        match self {
            Label::Error => "error:",
            Label::Warning => "warning:",
            Label::Note => "note:",
        }
    }

    fn style(self) -> anstyle::Style {
        let bold = anstyle::Style::new().bold();
        match self {
            Label::Error => bold.fg_color(Some(anstyle::AnsiColor::Red.into())),
            Label::Warning => bold.fg_color(Some(anstyle::AnsiColor::Yellow.into())),
            Label::Note => bold,
        }
    }
}

/// Writes `label` (styled) and `args` as one line to `out`.
pub fn labelled_to(out: &mut impl Write, label: Label, args: fmt::Arguments<'_>) -> io::Result<()> {
    let style = label.style();
    write!(out, "{style}{}{style:#} ", label.text())?;
    line_to(out, args)
}

/// Writes `error: …`, `warning: …` or `note: …` to standard error, the
/// label coloured where colour is on ([`set_color`]); a failure is ignored.
pub fn labelled(label: Label, args: fmt::Arguments<'_>) {
    let _ = labelled_to(&mut anstream::stderr().lock(), label, args);
}

/// `println!` for commands that only print: evaluates to
/// `Result<(), StdoutError>`, so `outln!(…)?` ends the command cleanly.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::edge::console::write_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::edge::console::write_line(format_args!($($arg)*))
    };
}

/// `println!` for processes that train: never fails, never panics; stops
/// printing after standard output fails once.
#[macro_export]
macro_rules! sayln {
    () => {
        $crate::edge::console::Speaker::stdout().say(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::edge::console::Speaker::stdout().say(format_args!($($arg)*))
    };
}

/// `eprintln!` that never panics (standard error may be closed too).
#[macro_export]
macro_rules! noteln {
    ($($arg:tt)*) => {
        $crate::edge::console::note(format_args!($($arg)*))
    };
}

/// `error: …` on standard error, `error:` in red on a terminal (see
/// [`console::labelled`](crate::edge::console::labelled)).
#[macro_export]
macro_rules! errorln {
    ($($arg:tt)*) => {
        $crate::edge::console::labelled($crate::edge::console::Label::Error, format_args!($($arg)*))
    };
}

/// `warning: …` on standard error, `warning:` in yellow on a terminal.
#[macro_export]
macro_rules! warnln {
    ($($arg:tt)*) => {
        $crate::edge::console::labelled($crate::edge::console::Label::Warning, format_args!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that always fails, as `/dev/full` does.
    struct Full;

    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from_raw_os_error(28))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_speaker_notes_the_first_failure_once_then_stays_quiet() {
        let lost = AtomicBool::new(false);
        let speaker = Speaker { lost: &lost };
        let mut errors = Vec::new();
        let mut good = Vec::new();
        speaker.say_to(&mut good, &mut errors, format_args!("epoch {}", 1));
        assert_eq!(good, b"epoch 1\n");
        speaker.say_to(&mut Full, &mut errors, format_args!("epoch 2"));
        speaker.say_to(&mut Full, &mut errors, format_args!("epoch 3"));
        speaker.say_to(&mut good, &mut errors, format_args!("epoch 4"));
        let errors = String::from_utf8(errors).unwrap();
        assert_eq!(errors.lines().count(), 1, "{errors}");
        assert!(errors.contains("training goes on"), "{errors}");
        assert_eq!(good, b"epoch 1\n", "nothing printed after the failure");
    }

    #[test]
    fn labels_are_styled_and_the_stripping_stream_leaves_them_plain() {
        let mut coloured = Vec::new();
        labelled_to(&mut coloured, Label::Error, format_args!("no {}", "run")).unwrap();
        assert_eq!(
            String::from_utf8(coloured).unwrap(),
            "\u{1b}[1m\u{1b}[31merror:\u{1b}[0m no run\n"
        );
        let mut plain = anstream::StripStream::new(Vec::new());
        labelled_to(&mut plain, Label::Warning, format_args!("odd")).unwrap();
        assert_eq!(plain.into_inner(), b"warning: odd\n");
    }

    #[test]
    fn a_failed_line_is_an_error_naming_standard_output() {
        let error = line_to(&mut Full, format_args!("x"))
            .map_err(StdoutError)
            .unwrap_err();
        assert!(error
            .to_string()
            .starts_with("cannot write to standard output: "));
    }
}
