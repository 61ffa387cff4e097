//! Signals as trainer commands: Ctrl-C, TERM and HUP stop the session (the
//! running run is stored as interrupted), and the app's two pause signals
//! (see [`super::control`]) pause and unpause the running run.

use crossbeam_channel::Sender;

use super::{
    control::{pause_signal, unpause_signal},
    SessionError,
};
use crate::protocol::Command;

/// Ctrl-C (and TERM, HUP) send `Shutdown`: the running run stops, stored
/// as interrupted, and the session ends.
pub fn stop_on_interrupt(commands: Sender<Command>) -> Result<(), SessionError> {
    ctrlc::set_handler(move || {
        let _ = commands.send(Command::Shutdown);
    })
    .map_err(|error| {
        SessionError::system(
            "cannot install the Ctrl-C handler",
            std::io::Error::other(error),
        )
    })
}

/// The app's pause and unpause signals, as `Pause` and `Unpause`.
pub fn pause_on_signal(commands: Sender<Command>) -> Result<(), SessionError> {
    forward(commands, &[pause_signal(), unpause_signal()], |signal| {
        if signal == pause_signal() {
            Command::Pause
        } else {
            Command::Unpause
        }
    })
}

/// Sends the command `command` makes of each of `signals`, from a thread of
/// its own (a signal handler may do next to nothing).
pub fn forward(
    commands: Sender<Command>,
    signals: &[i32],
    command: impl Fn(i32) -> Command + Send + 'static,
) -> Result<(), SessionError> {
    let mut signals = signal_hook::iterator::Signals::new(signals)
        .map_err(|error| SessionError::system("cannot install signal handlers", error))?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if commands.send(command(signal)).is_err() {
                    break;
                }
            }
        })
        .map_err(|error| SessionError::system("cannot start the signal thread", error))?;
    Ok(())
}
