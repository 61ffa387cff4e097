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
    fn a_failed_line_is_an_error_naming_standard_output() {
        let error = line_to(&mut Full, format_args!("x"))
            .map_err(StdoutError)
            .unwrap_err();
        assert!(error
            .to_string()
            .starts_with("cannot write to standard output: "));
    }
}
