//! A real OpenSSH server on 127.0.0.1 for the remote-source tests: a
//! throwaway daemon with its own host key, one authorized client key, and a
//! `known_hosts` that pins the host key, so host-key checking stays on. CI
//! installs `openssh-server`; elsewhere the tests are skipped with a note
//! when `sshd`, `ssh` or `ssh-keygen` is missing.
#![allow(dead_code)]

use crate::common;

use std::{
    fs::File,
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    thread,
    time::{Duration, Instant},
};

const SSHD: &str = "/usr/sbin/sshd";

/// How long the daemon gets to accept connections.
const READY: Duration = Duration::from_secs(15);

/// An sshd listening on 127.0.0.1, stopped (with its connections) on drop.
pub struct Sshd {
    daemon: Child,
    port: u16,
    key: PathBuf,
    wrong_key: PathBuf,
    known_hosts: PathBuf,
    user: String,
    dir: tempfile::TempDir,
}

/// `None` (after [`common::missing`]) when `sshd`, `ssh` or `ssh-keygen` is absent.
pub fn start() -> Option<Sshd> {
    if !Path::new(SSHD).is_file() {
        common::missing(&format!(
            "{SSHD} is not installed (.ci/run installs openssh-server)"
        ));
        return None;
    }
    for tool in ["ssh", "ssh-keygen"] {
        if !on_path(tool) {
            common::missing(&format!(
                "{tool} is not installed (.ci/run installs openssh-client)"
            ));
            return None;
        }
    }
    Some(Sshd::start())
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

/// Writes an ed25519 key pair without a passphrase at `path` and `path.pub`.
fn keygen(path: &Path) {
    let output = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "atelier-test", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .expect("run ssh-keygen");
    assert!(
        output.status.success(),
        "ssh-keygen -f {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn public_key(path: &Path) -> String {
    let mut public = path.as_os_str().to_owned();
    public.push(".pub");
    std::fs::read_to_string(&public)
        .unwrap_or_else(|e| panic!("read {}: {e}", Path::new(&public).display()))
        .trim()
        .to_owned()
}

fn current_user() -> String {
    Command::new("id")
        .arg("-un")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("USER").ok().filter(|name| !name.is_empty()))
        .expect("the current user name (neither `id -un` nor $USER gives one)")
}

/// A port nobody listened on a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Polls `port` until it accepts a connection; `Err` says why not.
fn wait_ready(daemon: &mut Child, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + READY;
    loop {
        if let Some(status) = daemon.try_wait().unwrap() {
            return Err(format!("exited ({status}) before accepting connections"));
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("accepted no connection within {READY:?}"));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// The daemon's log (`-E`) and its stderr in `dir`.
fn logs(dir: &Path) -> String {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    format!(
        "--- sshd.log\n{}--- sshd stderr\n{}",
        read("sshd.log"),
        read("sshd.stderr")
    )
}

fn quoted(path: &Path) -> String {
    shell_words::quote(path.to_str().expect("a UTF-8 temp path")).into_owned()
}

impl Sshd {
    fn start() -> Sshd {
        let dir = tempfile::Builder::new()
            .prefix("atelier-sshd-")
            .tempdir()
            .expect("a temp dir for sshd");
        let host_key = dir.path().join("host_ed25519");
        let key = dir.path().join("client_ed25519");
        let wrong_key = dir.path().join("wrong_ed25519");
        for path in [&host_key, &key, &wrong_key] {
            keygen(path);
        }
        let authorized_keys = dir.path().join("authorized_keys");
        std::fs::write(&authorized_keys, format!("{}\n", public_key(&key))).unwrap();
        // As root, sshd chroots its pre-auth child into the privilege separation directory.
        // SAFETY: geteuid(2) takes nothing and cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            std::fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        }
        let known_hosts = dir.path().join("known_hosts");
        let config = dir.path().join("sshd_config");
        let log = dir.path().join("sshd.log");
        // The port is free when chosen but may be taken before sshd binds it: retry then.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let port = free_port();
            std::fs::write(
                &known_hosts,
                format!("[127.0.0.1]:{port} {}\n", public_key(&host_key)),
            )
            .unwrap();
            std::fs::write(
                &config,
                format!(
                    "ListenAddress 127.0.0.1\n\
                     Port {port}\n\
                     HostKey {host_key}\n\
                     PidFile {pid_file}\n\
                     AuthorizedKeysFile {authorized_keys}\n\
                     PubkeyAuthentication yes\n\
                     PasswordAuthentication no\n\
                     KbdInteractiveAuthentication no\n\
                     UsePAM no\n\
                     StrictModes no\n\
                     PermitRootLogin prohibit-password\n\
                     PrintMotd no\n\
                     PrintLastLog no\n\
                     X11Forwarding no\n\
                     MaxStartups 100\n\
                     LoginGraceTime 30\n\
                     LogLevel DEBUG1\n",
                    host_key = host_key.display(),
                    pid_file = dir.path().join("sshd.pid").display(),
                    authorized_keys = authorized_keys.display(),
                ),
            )
            .unwrap();
            let stderr = File::create(dir.path().join("sshd.stderr")).unwrap();
            let mut daemon = Command::new(SSHD)
                .arg("-D")
                .arg("-f")
                .arg(&config)
                .arg("-E")
                .arg(&log)
                .stdin(Stdio::null())
                .stdout(stderr.try_clone().unwrap())
                .stderr(stderr)
                .spawn()
                .unwrap_or_else(|e| panic!("start {SSHD}: {e}"));
            match wait_ready(&mut daemon, port) {
                Ok(()) => {
                    return Sshd {
                        daemon,
                        port,
                        key,
                        wrong_key,
                        known_hosts,
                        user: current_user(),
                        dir,
                    }
                }
                Err(why) => {
                    let _ = daemon.kill();
                    let _ = daemon.wait();
                    let logs = logs(dir.path());
                    assert!(
                        logs.contains("Address already in use") && attempts < 5,
                        "sshd on 127.0.0.1:{port} {why}; its log:\n{logs}"
                    );
                }
            }
        }
    }

    /// The daemon's log file and its stderr, for failure messages.
    pub fn logs(&self) -> String {
        logs(self.dir.path())
    }

    /// The daemon's temp dir (keys, config, logs); removed on drop.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `USER@127.0.0.1` for the user running the tests (the daemon's only possible login).
    pub fn destination(&self) -> String {
        format!("{}@127.0.0.1", self.user)
    }

    /// The value for `ATELIER_SSH`: `ssh` with the authorized key, the pinned
    /// host key and strict host-key checking, never asking for anything.
    pub fn ssh_command(&self) -> String {
        self.command_with(&self.key)
    }

    /// [`Sshd::ssh_command`] with a key the daemon does not authorize.
    pub fn wrong_key_command(&self) -> String {
        self.command_with(&self.wrong_key)
    }

    fn command_with(&self, key: &Path) -> String {
        format!(
            "ssh -F /dev/null -i {key} -p {port} \
             -o UserKnownHostsFile={known_hosts} -o GlobalKnownHostsFile=/dev/null \
             -o StrictHostKeyChecking=yes -o BatchMode=yes -o IdentitiesOnly=yes \
             -o IdentityAgent=none -o ConnectTimeout=10",
            key = quoted(key),
            port = self.port,
            known_hosts = quoted(&self.known_hosts),
        )
    }

    /// Kills the daemon's per-connection processes (and what they run), not
    /// the listening daemon: live sessions drop, new ones connect.
    pub fn kill_connections(&self) {
        for pid in descendants(self.daemon.id()) {
            // SAFETY: kill(2) takes plain integers and touches no memory of ours.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        // Killed children the daemon has not reaped yet would outlive it as zombies.
        let deadline = Instant::now() + Duration::from_secs(2);
        while !descendants(self.daemon.id()).is_empty() && Instant::now() < deadline {
            self.kill_connections();
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// `(pid, parent pid, command name)` of every process in `/proc`.
fn processes() -> Vec<(u32, u32, String)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let pid = entry.ok()?.file_name().to_str()?.parse::<u32>().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // "pid (comm) state ppid …"; comm may hold spaces and parentheses.
            let open = stat.find('(')?;
            let close = stat.rfind(')')?;
            let comm = stat[open + 1..close].to_owned();
            let ppid = stat[close + 1..].split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid, comm))
        })
        .collect()
}

/// The pids of every process below `root` (children, grandchildren, …).
fn descendants(root: u32) -> Vec<u32> {
    descendants_named(root)
        .into_iter()
        .map(|(pid, _)| pid)
        .collect()
}

fn descendants_named(root: u32) -> Vec<(u32, String)> {
    let all = processes();
    let mut found: Vec<(u32, String)> = Vec::new();
    let mut parents = vec![root];
    while let Some(parent) = parents.pop() {
        for (pid, ppid, comm) in &all {
            if *ppid == parent && !found.iter().any(|(p, _)| p == pid) {
                found.push((*pid, comm.clone()));
                parents.push(*pid);
            }
        }
    }
    found
}

/// Runs a shell command line locally.
fn sh(script: &str) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .output()
        .expect("run sh")
}

/// Runs `remote` (one shell command line) on the daemon's side over `ssh`.
fn remote(ssh: &str, sshd: &Sshd, remote: &str) -> Output {
    sh(&format!(
        "{ssh} {} {}",
        sshd.destination(),
        shell_words::quote(remote)
    ))
}

fn describe(output: &Output) -> String {
    format!(
        "{}; stdout {:?}; stderr {:?}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `echo ok` over the daemon, with the authorized key, works.
fn says_ok(sshd: &Sshd) {
    let output = remote(&sshd.ssh_command(), sshd, "echo ok");
    assert!(
        output.status.success(),
        "{}\n{}",
        describe(&output),
        sshd.logs()
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "ok\n");
}

#[test]
fn ssh_runs_a_command_on_loopback() {
    let Some(sshd) = start() else { return };
    says_ok(&sshd);
}

#[test]
fn a_path_with_spaces_and_quotes_survives_the_remote_shell() {
    let Some(sshd) = start() else { return };
    let marker = sshd.dir.path().join("pwned");
    let text = format!(
        "runs dir/it's a \"test\" $(touch {}) `touch {}` ; $HOME *",
        marker.display(),
        marker.display()
    );
    let output = remote(
        &sshd.ssh_command(),
        &sshd,
        &format!("printf %s {}", shell_words::quote(&text)),
    );
    assert!(
        output.status.success(),
        "{}\n{}",
        describe(&output),
        sshd.logs()
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), text);
    assert!(!marker.exists(), "a shell ran the text's $(touch …)");
}

#[test]
fn a_wrong_key_is_refused_with_ssh_s_message() {
    let Some(sshd) = start() else { return };
    let output = remote(&sshd.wrong_key_command(), &sshd, "echo ok");
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("Permission denied"),
        "{}",
        describe(&output)
    );
    assert!(output.stdout.is_empty(), "{}", describe(&output));
}

#[test]
fn killed_connections_drop_a_live_session() {
    let Some(sshd) = start() else { return };
    let mut client = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec {} {} sleep 30",
            sshd.ssh_command(),
            sshd.destination()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The session is live once the remote `sleep` runs under the daemon.
    let deadline = Instant::now() + Duration::from_secs(15);
    while !descendants_named(sshd.daemon.id())
        .iter()
        .any(|(_, comm)| comm == "sleep")
    {
        if let Some(status) = client.try_wait().unwrap() {
            panic!(
                "ssh ended ({status}) before its session began\n{}",
                sshd.logs()
            );
        }
        assert!(
            Instant::now() < deadline,
            "no remote `sleep` within 15s\n{}",
            sshd.logs()
        );
        thread::sleep(Duration::from_millis(50));
    }
    sshd.kill_connections();
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = client.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = client.kill();
            let _ = client.wait();
            panic!(
                "ssh still connected 5s after kill_connections\n{}",
                sshd.logs()
            );
        }
        thread::sleep(Duration::from_millis(50));
    };
    assert!(
        !status.success(),
        "ssh exited {status} after its session was killed"
    );
    // The daemon still listens: a new session connects.
    says_ok(&sshd);
}
