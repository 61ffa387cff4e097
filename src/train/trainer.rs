//! The trainer thread: the one thread that owns tch. Commands in, events out.
//!
//! Channel choice: events go out on an *unbounded* crossbeam channel, so a
//! send never blocks training. Memory stays bounded anyway because only
//! lifecycle events (a handful per epoch) are always sent; progress events,
//! the only frequent kind (at most ~20 a second), are dropped while more than
//! [`PROGRESS_BACKLOG`] events wait unread: a slow or absent receiver loses
//! intermediate progress, which the next progress event supersedes, never an
//! epoch result. Every event still reaches the run store on disk.

use std::{
    collections::VecDeque,
    panic::{catch_unwind, AssertUnwindSafe},
    thread::{self, JoinHandle},
};

use crossbeam_channel::{unbounded, Receiver, Sender, TryRecvError};

use super::{
    checkpoint,
    device::{DevicePref, ResolveDevice},
    fit::{fit, FitError, FitOutcome, Flow, Start, Supervisor},
    tensors::{DeviceData, UploadKey},
    threads,
};
use crate::{
    data::{DataSource, FashionMnist},
    protocol::{Command, Event, Phase, RunId, RunRequest},
    store::{RunStore, RunWriter},
};

/// Progress events are dropped while this many events wait unread.
pub const PROGRESS_BACKLOG: usize = 256;

/// A handle on the trainer thread. Dropping it stops the running run
/// (stored as interrupted) and joins the thread.
#[derive(Debug)]
pub struct Trainer {
    commands: Sender<Command>,
    events: Receiver<Event>,
    thread: Option<JoinHandle<()>>,
}

impl Trainer {
    /// Starts the thread; the dataset is read from `source` when the first run starts.
    pub fn spawn(source: DataSource, store: RunStore) -> std::io::Result<Self> {
        let (command_tx, command_rx) = unbounded();
        let (event_tx, event_rx) = unbounded();
        let worker = Worker {
            commands: command_rx,
            events: event_tx,
            store,
            source,
            dataset: None,
            uploaded: None,
            queue: VecDeque::new(),
            current: None,
            store_failure: None,
            shutting_down: false,
        };
        quiet_trainer_panics();
        let thread = thread::Builder::new()
            .name(TRAINER_THREAD.into())
            .spawn(move || worker.run())?;
        Ok(Self {
            commands: command_tx,
            events: event_rx,
            thread: Some(thread),
        })
    }

    /// Sends a command; false when the thread has ended.
    pub fn send(&self, command: Command) -> bool {
        self.commands.send(command).is_ok()
    }

    /// A sender for other threads (a signal handler, say).
    pub fn commands(&self) -> Sender<Command> {
        self.commands.clone()
    }

    /// The events, in order; the receiver never blocks the trainer.
    pub fn events(&self) -> &Receiver<Event> {
        &self.events
    }

    /// Stops the running run, drops the queue and waits for the thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Trainer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The run being trained, with its log.
struct Current {
    id: RunId,
    writer: RunWriter,
}

/// A run waiting its turn, its folder already open for writing.
struct Queued {
    request: RunRequest,
    writer: RunWriter,
    start: Start,
}

/// Everything the trainer thread owns.
struct Worker {
    commands: Receiver<Command>,
    events: Sender<Event>,
    store: RunStore,
    source: DataSource,
    dataset: Option<FashionMnist>,
    uploaded: Option<DeviceData>,
    queue: VecDeque<Queued>,
    current: Option<Current>,
    store_failure: Option<String>,
    shutting_down: bool,
}

/// What a command means for the running run.
enum Effect {
    None,
    Stop,
    Suspend,
    Pause,
    Unpause,
}

impl Worker {
    fn run(mut self) {
        while !self.shutting_down {
            if let Some(Queued {
                request,
                writer,
                start,
            }) = self.queue.pop_front()
            {
                self.train(request, writer, start);
                continue;
            }
            match self.commands.recv() {
                Ok(command) => {
                    self.handle(command, None);
                }
                Err(_) => break,
            }
        }
        // Runs still waiting will not start: record them as interrupted.
        while let Some(Queued {
            request,
            mut writer,
            ..
        }) = self.queue.pop_front()
        {
            let event = Event::Cancelled {
                run: request.id,
                epochs_done: writer.run_record().epochs_done,
            };
            let _ = writer.record(&event);
            self.send(event);
        }
    }

    /// Applies a command; `running` is the id of the run in progress, if any.
    fn handle(&mut self, command: Command, running: Option<&RunId>) -> Effect {
        match command {
            Command::Queue(request) => {
                self.enqueue(*request);
                Effect::None
            }
            Command::Continue { run, device } => {
                self.enqueue_continuation(&run, device);
                Effect::None
            }
            Command::Pause if running.is_some() => Effect::Pause,
            Command::Unpause if running.is_some() => Effect::Unpause,
            Command::Pause | Command::Unpause => Effect::None,
            Command::Cancel { run } => match (run, running) {
                (None, Some(_)) => Effect::Stop,
                (Some(id), Some(current)) if &id == current => Effect::Stop,
                (Some(id), _) => {
                    self.cancel_queued(&id);
                    Effect::None
                }
                (None, None) => Effect::None,
            },
            Command::Shutdown => {
                self.shutting_down = true;
                Effect::Stop
            }
            Command::Suspend => {
                self.shutting_down = true;
                Effect::Suspend
            }
        }
    }

    fn enqueue(&mut self, request: RunRequest) {
        let event = Event::Queued {
            run: request.id.clone(),
            spec: Box::new(request.spec.clone()),
        };
        match self.store.create(&request) {
            Ok(mut writer) => match writer.record(&event) {
                Ok(()) => {
                    self.send(event);
                    self.queue.push_back(Queued {
                        request,
                        writer,
                        start: Start::Fresh,
                    });
                }
                Err(error) => self.fail_before_start(&request.id, error.to_string()),
            },
            Err(error) => self.fail_before_start(&request.id, error.to_string()),
        }
    }

    fn enqueue_continuation(&mut self, id: &RunId, device: Option<DevicePref>) {
        let already = self
            .current
            .as_ref()
            .is_some_and(|current| &current.id == id)
            || self.queue.iter().any(|queued| &queued.request.id == id);
        if already {
            return;
        }
        let mut writer = match self.store.reopen(id) {
            Ok(writer) => writer,
            Err(error) => {
                self.send(Event::Failed {
                    run: id.clone(),
                    message: error.to_string(),
                });
                return;
            }
        };
        let mut record = writer.run_record().clone();
        if let Some(device) = device {
            record.spec.device = device;
        }
        let event = Event::Queued {
            run: id.clone(),
            spec: Box::new(record.spec.clone()),
        };
        if let Err(error) = writer.record(&event) {
            self.fail_before_start(id, error.to_string());
            return;
        }
        self.send(event);
        self.queue.push_back(Queued {
            request: RunRequest {
                id: record.id,
                plan: record.plan,
                spec: record.spec,
            },
            writer,
            start: Start::Resume,
        });
    }

    fn fail_before_start(&mut self, run: &RunId, message: String) {
        self.send(Event::Failed {
            run: run.clone(),
            message: format!("cannot store the run: {message}"),
        });
    }

    fn cancel_queued(&mut self, id: &RunId) {
        if let Some(index) = self
            .queue
            .iter()
            .position(|queued| &queued.request.id == id)
        {
            if let Some(Queued {
                request,
                mut writer,
                ..
            }) = self.queue.remove(index)
            {
                let event = Event::Cancelled {
                    run: request.id,
                    epochs_done: writer.run_record().epochs_done,
                };
                let _ = writer.record(&event);
                self.send(event);
            }
        }
    }

    fn train(&mut self, request: RunRequest, writer: RunWriter, start: Start) {
        let id = request.id.clone();
        self.current = Some(Current {
            id: id.clone(),
            writer,
        });
        self.store_failure = None;
        let checkpoints = self.current.as_ref().map(|c| c.writer.dir().to_path_buf());
        let outcome = self.prepare(&request).and_then(|()| {
            // Taken out for the duration, so `self` can supervise the loop.
            let data = self.uploaded.take().ok_or(RunError::NotUploaded)?;
            let result = catch_unwind(AssertUnwindSafe(|| {
                self.choose_threads(&request, &data, start)?;
                fit(
                    &id,
                    &request.spec,
                    &data,
                    checkpoints.as_deref(),
                    start,
                    self,
                )
            }));
            self.uploaded = Some(data);
            result
                .map_err(|panic| RunError::Panicked(panic_message(&panic)))
                .and_then(|result| Ok(result?))
        });
        let end = match (outcome, self.store_failure.take()) {
            (_, Some(failure)) => Some(Event::Failed {
                run: id.clone(),
                message: format!("stopped because the run could not be saved: {failure}"),
            }),
            (Ok(FitOutcome::Finished), None) => None,
            (
                Ok(
                    FitOutcome::Cancelled { epochs_done }
                    | FitOutcome::Suspended { epochs_done, .. },
                ),
                None,
            ) => Some(Event::Cancelled {
                run: id.clone(),
                epochs_done,
            }),
            (Err(error), None) => Some(Event::Failed {
                run: id.clone(),
                message: error.to_string(),
            }),
        };
        if let Some(event) = end {
            self.emit(event);
        }
        self.current = None;
    }

    /// Loads the dataset once and uploads it for this run's device and split.
    fn prepare(&mut self, request: &RunRequest) -> Result<(), RunError> {
        let spec = &request.spec;
        let device = spec.device.resolve()?;
        let params = spec.model.param_count()?;
        // Checkpoints and logs, with room for the log of a long run.
        let needed = checkpoint::bytes_needed(params) + (64 << 20);
        self.store.check_room(needed, &spec.title())?;
        if self.dataset.is_none() {
            self.emit_phase(&request.id, Phase::LoadingData);
            self.dataset = Some(FashionMnist::load(&self.source)?);
        }
        let key = UploadKey {
            device,
            validation_split: spec.validation_split,
            limit_train: spec.limit_train,
        };
        if self.uploaded.as_ref().map(|data| data.key) != Some(key) {
            self.emit_phase(&request.id, Phase::UploadingData);
            // Free the old upload first: on a GPU both may not fit.
            self.uploaded = None;
            let dataset = self.dataset.as_ref().ok_or(RunError::NotLoaded)?;
            let upload = catch_unwind(AssertUnwindSafe(|| DeviceData::upload(dataset, key)))
                .map_err(|panic| RunError::Upload(panic_message(&panic)))?;
            self.uploaded = Some(upload);
        }
        Ok(())
    }

    /// Sets libtorch's threads for this run ([`threads::choose`]) and logs
    /// the choice; a continued run reuses the count it started with.
    fn choose_threads(
        &mut self,
        request: &RunRequest,
        data: &DeviceData,
        start: Start,
    ) -> Result<(), FitError> {
        let started_with = self.current.as_ref().and_then(|current| {
            let record = current.writer.run_record();
            let trained = record.epochs_done > 0 || record.threads.is_some();
            (start == Start::Resume && trained).then_some(record.threads)
        });
        let spec = &request.spec;
        let images = data.train.len() * spec.epochs as usize;
        if threads::will_measure(data.key.device, images, started_with) {
            self.emit_phase(&request.id, Phase::ChoosingThreads);
        }
        let (threads, reason) = threads::choose(spec, data.key.device, images, started_with)?;
        self.emit(Event::Threads {
            run: request.id.clone(),
            threads,
            reason,
        });
        Ok(())
    }

    fn emit_phase(&mut self, run: &RunId, phase: Phase) {
        self.emit(Event::Phase {
            run: run.clone(),
            phase,
        });
    }

    /// Sends an event out, dropping progress while the receiver lags.
    fn send(&self, event: Event) {
        if matches!(event, Event::Progress { .. }) && self.events.len() >= PROGRESS_BACKLOG {
            return;
        }
        // A receiver that is gone is not an error: the store still has everything.
        let _ = self.events.send(event);
    }
}

/// Why a run failed, for its `Failed` event.
#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error(transparent)]
    Device(#[from] crate::plan::DeviceError),
    #[error(transparent)]
    Spec(#[from] crate::model::SpecError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    #[error("the dataset is not loaded")]
    NotLoaded,
    /// libtorch panicked while copying the dataset to the device.
    #[error("uploading the dataset failed: {0}")]
    Upload(String),
    #[error("the dataset was not uploaded")]
    NotUploaded,
    #[error(transparent)]
    Fit(#[from] super::fit::FitError),
    /// libtorch (or atelier) panicked during training; the panic's message.
    #[error("{0}")]
    Panicked(String),
}

impl Supervisor for Worker {
    fn emit(&mut self, event: Event) {
        if let Some(current) = self.current.as_mut() {
            if let Err(error) = current.writer.record(&event) {
                self.store_failure.get_or_insert(error.to_string());
            }
        }
        self.send(event);
    }

    fn poll(&mut self) -> Flow {
        if self.store_failure.is_some() {
            return Flow::Stop;
        }
        let running = self.current.as_ref().map(|current| current.id.clone());
        let mut paused = false;
        loop {
            let command = if paused {
                match self.commands.recv() {
                    Ok(command) => command,
                    Err(_) => return Flow::Stop,
                }
            } else {
                match self.commands.try_recv() {
                    Ok(command) => command,
                    Err(TryRecvError::Empty) => return Flow::Continue,
                    Err(TryRecvError::Disconnected) => {
                        self.shutting_down = true;
                        return Flow::Stop;
                    }
                }
            };
            match self.handle(command, running.as_ref()) {
                Effect::Stop => return Flow::Stop,
                Effect::Suspend => return Flow::Suspend,
                Effect::Pause if !paused => {
                    paused = true;
                    if let Some(run) = running.clone() {
                        self.emit(Event::Paused { run });
                    }
                }
                Effect::Unpause if paused => {
                    if let Some(run) = running.clone() {
                        self.emit(Event::Unpaused { run });
                    }
                    return Flow::Continue;
                }
                Effect::None | Effect::Pause | Effect::Unpause => {}
            }
        }
    }
}

const TRAINER_THREAD: &str = "trainer";

/// The trainer catches its panics (libtorch reports out-of-memory and CUDA
/// errors by panicking through tch) and fails the run with the message; the
/// default hook would also print them over the app's screen.
fn quiet_trainer_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if thread::current().name() != Some(TRAINER_THREAD) {
                previous(info);
            }
        }));
    });
}

/// A panic's message, reduced to what a person needs: libtorch errors come
/// wrapped in `Result::unwrap` and followed by a C++ stack trace.
fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    let text = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_string()))
        .unwrap_or_else(|| "the training thread panicked".to_string());
    tidy_libtorch_error(&text)
}

fn tidy_libtorch_error(text: &str) -> String {
    let inner = text
        .split_once("Torch(\"")
        .map_or(text, |(_, rest)| rest.trim_end_matches("\")"));
    // The stack trace starts on the second line (escaped when it came through Debug).
    let first_line = inner.split("\\n").next().unwrap_or(inner);
    let first_line = first_line.lines().next().unwrap_or(first_line);
    match first_line.split_once("] ") {
        // "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: …"
        Some((location, rest)) if location.starts_with("[enforce fail") => rest
            .split_once(". ")
            .map_or(rest, |(_, message)| message)
            .to_string(),
        _ => first_line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtorch_errors_are_cut_to_their_message() {
        let raw = "called `Result::unwrap()` on an `Err` value: Torch(\"[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: you tried to allocate 708837376 bytes. Error code 12 (Cannot allocate memory)\\nframe #0: c10::ThrowEnforceNotMet(char const*) + 0x6a\\n\")";
        assert_eq!(
            tidy_libtorch_error(raw),
            "DefaultCPUAllocator: can't allocate memory: you tried to allocate 708837376 bytes. Error code 12 (Cannot allocate memory)"
        );
        let cuda = "called `Result::unwrap()` on an `Err` value: Torch(\"CUDA out of memory. Tried to allocate 20.00 GiB\\nException raised from malloc\")";
        assert_eq!(
            tidy_libtorch_error(cuda),
            "CUDA out of memory. Tried to allocate 20.00 GiB"
        );
        assert_eq!(tidy_libtorch_error("plain words"), "plain words");
    }
}
