//! Soak: many short runs through one app session while several `watch`
//! viewers follow the same store. Prints memory (`VmRSS`), open file
//! descriptors and threads after a warm-up and after every run, and the
//! runs stored; exits non-zero when a run is not stored as done or when
//! descriptors or threads grew (a leak per run shows as growth over 45 runs).
//!
//! The app is driven as its event loop drives it, without a terminal: keys
//! through `input::handle_key` and `event_loop::perform`, trainer events into
//! `App::apply`, store polls into `App::apply_update`, draws to a test
//! terminal. Each watcher is a `Follower` and a read-only `App` on its own
//! thread, as `atelier watch` is in its own process.
//!
//! `cargo bench --bench soak`; `SOAK_RUNS` (default 50) and `SOAK_WATCHERS`
//! (default 4) change the load.

#[path = "../tests/it/common.rs"]
mod common;

use std::{
    collections::BTreeMap,
    path::Path,
    process::ExitCode,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    thread,
    time::{Duration, Instant},
};

use atelier::plan::DevicePref;
use atelier::{
    data::{discover::PlaceKind, DataSource, SearchPlace},
    draw::Theme,
    model::ModelSpec,
    plan::{Plan, RunSpec},
    protocol::Event,
    remote::Sources,
    store::{follow::POLL_INTERVAL, Follower, RunStatus, RunStore},
    train::Trainer,
    tui::{
        effects::{Screenshots, System, Training},
        event_loop::{self, DATA_FRAME},
        input, ui, App, UiStatus,
    },
};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::{backend::TestBackend, buffer::Buffer, layout::Rect, Terminal};

/// Runs trained before the first measurement: the trainer's thread pool,
/// the dataset cache and the allocator's arenas are set up by then.
const WARM_UP: usize = 5;
/// No single run may take this long on the tiny dataset; a hang fails the soak.
const RUN_DEADLINE: Duration = Duration::from_secs(120);
/// How long the watchers are given to catch up with the last run.
const CATCH_UP: Duration = Duration::from_secs(30);
/// A stalled-run threshold no run of this soak comes near.
const STALL_AFTER: Duration = Duration::from_secs(600);

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// What the process holds at one moment.
#[derive(Clone, Copy, Debug)]
struct Usage {
    rss_kib: u64,
    fds: usize,
    threads: usize,
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .expect("VmRSS in /proc/self/status")
}

fn count_entries(dir: &str) -> usize {
    std::fs::read_dir(dir).expect(dir).count()
}

/// The smallest of a few samples: watchers open a run's files for an instant
/// while they poll, which must not read as a leak.
fn usage() -> Usage {
    let mut best = Usage {
        rss_kib: u64::MAX,
        fds: usize::MAX,
        threads: usize::MAX,
    };
    for _ in 0..8 {
        best.rss_kib = best.rss_kib.min(rss_kib());
        best.fds = best.fds.min(count_entries("/proc/self/fd"));
        best.threads = best.threads.min(count_entries("/proc/self/task"));
        thread::sleep(Duration::from_millis(37));
    }
    best
}

fn spec(index: usize) -> RunSpec {
    RunSpec {
        epochs: 1,
        batch_size: 32,
        seed: index as u64,
        device: DevicePref::Cpu,
        ..RunSpec::new(
            // Distinct names: ids are made from names, and queued at once,
            // runs of one name could be given one id within the same second.
            format!("S{index:02}"),
            ModelSpec::tiny_mlp(),
        )
    }
}

fn source(dir: &Path) -> DataSource {
    // 400 training images (320 after the validation split: 10 steps of 32), 100 test.
    common::write_idx_dataset(dir, 400, 100);
    atelier::data::discover::discover_in(&[SearchPlace {
        kind: PlaceKind::Flag,
        dir: dir.to_path_buf(),
    }])
    .expect("the synthetic dataset is found")
}

fn press(app: &mut App, system: &mut System, code: KeyCode, screen: &Buffer) {
    for action in input::handle_key(app, KeyEvent::from(code)) {
        event_loop::perform(app, action, system, screen);
    }
}

/// Draws and counts frames at the app's data frame rate.
struct Screen {
    terminal: Terminal<TestBackend>,
    /// None: the next draw is due at once.
    last: Option<Instant>,
    frames: usize,
}

impl Screen {
    fn new(width: u16, height: u16) -> Self {
        Self {
            terminal: Terminal::new(TestBackend::new(width, height)).expect("test terminal"),
            last: None,
            frames: 0,
        }
    }

    fn draw_if_due(&mut self, app: &App) {
        if self.last.is_none_or(|at| at.elapsed() >= DATA_FRAME) {
            self.terminal
                .draw(|frame| ui::draw(frame, app))
                .expect("a test terminal draws");
            self.last = Some(Instant::now());
            self.frames += 1;
        }
    }

    fn buffer(&self) -> Buffer {
        self.terminal.backend().buffer().clone()
    }
}

/// Feeds trainer events and store polls into the app until no run of its
/// own is queued or running; draws as the event loop would.
fn pump(app: &mut App, system: &mut System, trainer: &Trainer, screen: &mut Screen) {
    let mut last_poll = Instant::now();
    let mut last_change = Instant::now();
    while app.any_active() {
        match trainer.events().recv_timeout(POLL_INTERVAL) {
            Ok(event) => {
                apply(app, &event);
                for event in trainer.events().try_iter() {
                    apply(app, &event);
                }
                last_change = Instant::now();
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                panic!("the trainer ended with runs active")
            }
        }
        if last_poll.elapsed() >= POLL_INTERVAL {
            for update in
                system
                    .sources
                    .poll()
                    .into_iter()
                    .filter_map(|sourced| match sourced.news {
                        atelier::remote::News::Update(update) => Some(update),
                        _ => None,
                    })
            {
                app.apply_update(&update);
            }
            last_poll = Instant::now();
        }
        screen.draw_if_due(app);
        assert!(
            last_change.elapsed() < RUN_DEADLINE,
            "no trainer event for {RUN_DEADLINE:?}"
        );
    }
    // The final state, as the loop's last draw shows it.
    screen.last = None;
    screen.draw_if_due(app);
}

/// What the event loop adds to `App::apply`.
fn apply(app: &mut App, event: &Event) {
    app.apply(event);
    if let Event::Failed { run, message } = event {
        app.message = Some(format!("{run} failed: {message}"));
    }
}

/// What a watcher saw, when it stopped.
struct Watched {
    runs: usize,
    done: usize,
    frames: usize,
}

/// `atelier watch` minus the terminal: poll, apply, draw, on its own thread.
fn spawn_watcher(
    index: usize,
    store: RunStore,
    expected: usize,
    caught_up: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) -> thread::JoinHandle<Watched> {
    thread::Builder::new()
        .name(format!("watcher-{index}"))
        .spawn(move || {
            let mut follower = Follower::new(store, STALL_AFTER);
            let mut app = App::new(Vec::new(), Vec::new());
            app.read_only = true;
            let mut screen = Screen::new(120, 40);
            let mut counted = false;
            while !stop.load(Ordering::Relaxed) {
                for update in follower.poll() {
                    app.apply_update(&update);
                }
                // A viewer's eye follows the newest run, as it opens on it.
                app.selected = app.newest_started();
                screen.draw_if_due(&app);
                let done = app
                    .runs
                    .iter()
                    .filter(|view| view.status == UiStatus::Done)
                    .count();
                if done >= expected && !counted {
                    counted = true;
                    caught_up.fetch_add(1, Ordering::Relaxed);
                }
                thread::sleep(POLL_INTERVAL);
            }
            Watched {
                runs: app.runs.len(),
                done: app
                    .runs
                    .iter()
                    .filter(|view| view.status == UiStatus::Done)
                    .count(),
                frames: screen.frames,
            }
        })
        .expect("a watcher thread starts")
}

fn print_usage(label: &str, usage: Usage) {
    println!(
        "  {label:<22} rss {:>8} KiB   fds {:>4}   threads {:>3}",
        usage.rss_kib, usage.fds, usage.threads
    );
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`, which this soak ignores: it takes no arguments.
    let total = env_usize("SOAK_RUNS", 50).max(WARM_UP + 1);
    let watchers = env_usize("SOAK_WATCHERS", 4);
    let data = tempfile::tempdir().expect("temp folder");
    let runs_dir = tempfile::tempdir().expect("temp folder");
    let shots = tempfile::tempdir().expect("temp folder");
    let store = RunStore::open(runs_dir.path()).expect("run store");
    let plan = Plan {
        name: "soak".into(),
        runs: (0..total).map(spec).collect(),
        limits: Vec::new(),
        workers: atelier::plan::Workers::default(),
        alerts: atelier::plan::AlertSettings::default(),
    };
    let started = Instant::now();
    let trainer = Trainer::spawn(source(data.path()), store.clone()).expect("trainer thread");
    let mut app = App::new(Vec::new(), plan.runs.clone());
    let mut system = System::new(
        Some(Training {
            commands: trainer.commands(),
            plan: plan.name.clone(),
        }),
        store.clone(),
        // As the app does: the store's other runs come from the follower, its own from the trainer.
        Sources::local(
            store.clone(),
            Follower::new(store.clone(), STALL_AFTER).skip_own_runs(),
        ),
        Screenshots {
            dir: shots.path().to_path_buf(),
            theme: Theme::Dark,
        },
    );
    let mut screen = Screen::new(160, 48);
    let stop = Arc::new(AtomicBool::new(false));
    let caught_up = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..watchers)
        .map(|index| spawn_watcher(index, store.clone(), total, caught_up.clone(), stop.clone()))
        .collect();

    // Warm-up: the first runs one by one (Enter on each row), as a user starts them.
    for row in 0..WARM_UP {
        app.selected = row;
        press(
            &mut app,
            &mut system,
            KeyCode::Enter,
            &Buffer::empty(Rect::default()),
        );
        pump(&mut app, &mut system, &trainer, &mut screen);
    }
    let before = usage();
    let warm_up_secs = started.elapsed().as_secs_f64();

    // The rest in one go: `a` queues every planned run.
    press(
        &mut app,
        &mut system,
        KeyCode::Char('a'),
        &Buffer::empty(Rect::default()),
    );
    let soak_started = Instant::now();
    pump(&mut app, &mut system, &trainer, &mut screen);
    let soak_secs = soak_started.elapsed().as_secs_f64();
    // Measure with the watchers still polling, as at the warm-up, once they
    // have seen every run end (or had their time to).
    let deadline = Instant::now() + CATCH_UP;
    while caught_up.load(Ordering::Relaxed) < watchers && Instant::now() < deadline {
        thread::sleep(POLL_INTERVAL);
    }
    let after = usage();
    stop.store(true, Ordering::Relaxed);
    let watched: Vec<Watched> = handles
        .into_iter()
        .map(|handle| handle.join().expect("a watcher panicked"))
        .collect();
    // The screenshot key's whole path (the last screen to five files) once, after measuring.
    press(&mut app, &mut system, KeyCode::Char('s'), &screen.buffer());

    let (records, errors) = store.list();
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for record in &records {
        *statuses.entry(format!("{:?}", record.status)).or_default() += 1;
    }
    let done = records
        .iter()
        .filter(|record| record.status == RunStatus::Done)
        .count();
    let logs_ok = records
        .iter()
        .filter(|record| {
            store.events(&record.id).is_ok_and(|log| {
                log.events
                    .iter()
                    .any(|event| matches!(event, Event::Finished { .. }))
            })
        })
        .count();
    let app_done = app
        .runs
        .iter()
        .filter(|view| view.status == UiStatus::Done)
        .count();

    println!("soak: {total} runs (MLP [8], 1 epoch, 320 training images), {watchers} watchers");
    println!(
        "  warm-up {WARM_UP} runs in {warm_up_secs:.1} s; {} more in {soak_secs:.1} s ({:.2} s a run)",
        total - WARM_UP,
        soak_secs / (total - WARM_UP) as f64
    );
    print_usage(&format!("after {WARM_UP} runs"), before);
    print_usage(&format!("after {total} runs"), after);
    let rss_delta = after.rss_kib as i64 - before.rss_kib as i64;
    println!(
        "  delta                  rss {rss_delta:>+8} KiB ({:+.1} KiB a run)   fds {:>+4}   threads {:>+3}",
        rss_delta as f64 / (total - WARM_UP) as f64,
        after.fds as i64 - before.fds as i64,
        after.threads as i64 - before.threads as i64,
    );
    println!(
        "  stored: {} runs {statuses:?}, {logs_ok} logs end in Finished, {} unreadable",
        records.len(),
        errors.len()
    );
    println!(
        "  app: {} rows, {app_done} done, {} frames; {}",
        app.runs.len(),
        screen.frames,
        app.message.as_deref().unwrap_or("no message")
    );
    for (index, seen) in watched.iter().enumerate() {
        println!(
            "  watcher {index}: {} runs seen, {} done, {} frames",
            seen.runs, seen.done, seen.frames
        );
    }
    trainer.shutdown();

    let mut failures = Vec::new();
    if records.len() != total || done != total || logs_ok != total || !errors.is_empty() {
        failures.push(format!(
            "{done} of {total} runs stored as done ({} stored, {logs_ok} complete logs)",
            records.len()
        ));
    }
    if app_done != total || app.runs.len() != total {
        failures.push(format!(
            "the app shows {app_done} done of {} rows",
            app.runs.len()
        ));
    }
    for (index, seen) in watched.iter().enumerate() {
        if seen.runs != total || seen.done != total {
            failures.push(format!(
                "watcher {index} saw {} runs, {} done",
                seen.runs, seen.done
            ));
        }
    }
    if after.threads > before.threads {
        failures.push(format!(
            "threads grew: {} → {}",
            before.threads, after.threads
        ));
    }
    if after.fds > before.fds {
        failures.push(format!(
            "file descriptors grew: {} → {}",
            before.fds, after.fds
        ));
    }
    if failures.is_empty() {
        println!("soak: ok");
        ExitCode::SUCCESS
    } else {
        for failure in &failures {
            println!("soak: FAILED: {failure}");
        }
        ExitCode::FAILURE
    }
}
