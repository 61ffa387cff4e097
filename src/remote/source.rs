//! Where runs come from: a local runs folder, or a remote one reached over
//! the user's own ssh, written as scp and git write them:
//! `[user@]host:path` or `ssh://[user@]host[:port]/path`.

use std::path::PathBuf;

use super::RemoteError;

/// The environment variable that replaces the ssh command, as
/// `GIT_SSH_COMMAND` does for git (`ATELIER_SSH='ssh -F ./my_config'`).
pub const SSH_ENV: &str = "ATELIER_SSH";

/// One place runs are read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceSpec {
    Local(PathBuf),
    Remote(Remote),
}

/// A runs folder on another host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remote {
    /// `[user@]host`, as ssh takes it.
    pub destination: String,
    pub port: Option<u16>,
    /// The folder on the remote host; relative to the remote home, as scp's.
    pub path: String,
}

impl Remote {
    /// The host without its user: what the host column shows.
    pub fn host(&self) -> &str {
        self.destination
            .rsplit_once('@')
            .map_or(self.destination.as_str(), |(_, host)| host)
    }

    /// The source as the user wrote it, near enough: `host:path`.
    pub fn label(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}:{}", self.host(), self.path),
            None => format!("{}:{}", self.host(), self.path),
        }
    }

    /// The command the remote shell runs: `atelier stream` on this folder,
    /// every word shell-quoted (ssh hands the command to the remote shell as
    /// one string); `~` and `~/…` still mean the remote home.
    pub fn remote_command(&self, atelier: &str, stall_after: std::time::Duration) -> String {
        let stall = humantime::format_duration(stall_after).to_string();
        format!(
            "{} stream --runs-dir {} --stall-after {}",
            quote_with_home(atelier),
            quote_with_home(&self.path),
            shell_words::quote(&stall)
        )
    }

    /// The ssh program and its arguments that run `command` on this host:
    /// `ssh` (or `$ATELIER_SSH`, split as a shell would), `-p PORT`, the
    /// destination, the command. atelier adds no options of its own: the
    /// user's configuration, keys and host-key checking apply as they are.
    pub fn ssh_argv(&self, ssh: &[String], command: String) -> Vec<String> {
        let mut argv = ssh.to_vec();
        if let Some(port) = self.port {
            argv.extend(["-p".to_string(), port.to_string()]);
        }
        argv.extend([self.destination.clone(), command]);
        argv
    }
}

/// The ssh command: `$ATELIER_SSH` split into words, else `ssh`.
pub fn ssh_command(setting: Option<&str>) -> Result<Vec<String>, RemoteError> {
    let Some(setting) = setting else {
        return Ok(vec!["ssh".to_string()]);
    };
    let words = shell_words::split(setting).map_err(|error| RemoteError::SshCommand {
        setting: setting.to_string(),
        problem: error.to_string(),
    })?;
    if words.is_empty() {
        return Err(RemoteError::SshCommand {
            setting: setting.to_string(),
            problem: "it is empty".into(),
        });
    }
    Ok(words)
}

/// Reads a source argument: `ssh://…` and `host:path` (a colon before any
/// slash) are remote; anything else is a local folder.
pub fn parse(text: &str) -> Result<SourceSpec, RemoteError> {
    let bad = |problem: &str| RemoteError::BadSource {
        text: text.to_string(),
        problem: problem.to_string(),
    };
    if let Some(rest) = text.strip_prefix("ssh://") {
        return parse_url(rest).map_err(|problem| bad(&problem));
    }
    let colon = text.find(':');
    let slash = text.find('/');
    match colon {
        Some(colon) if slash.is_none_or(|slash| colon < slash) => {
            let (destination, path) = (&text[..colon], &text[colon + 1..]);
            check_destination(destination).map_err(|problem| bad(&problem))?;
            Ok(SourceSpec::Remote(Remote {
                destination: destination.to_string(),
                port: None,
                path: if path.is_empty() {
                    ".".into()
                } else {
                    path.into()
                },
            }))
        }
        _ => Ok(SourceSpec::Local(PathBuf::from(text))),
    }
}

/// `[user@]host[:port]/path` of an `ssh://` URL; `/~/x` is `~/x`, as git reads it.
fn parse_url(rest: &str) -> Result<SourceSpec, String> {
    let Some((authority, path)) = rest.split_once('/') else {
        return Err("expected ssh://[user@]host[:port]/path, found no path".into());
    };
    let (destination, port) = match authority.rsplit_once(':') {
        Some((destination, port)) => {
            let port = port
                .parse::<u16>()
                .ok()
                .filter(|port| *port > 0)
                .ok_or_else(|| format!("the port {port:?} is not a number from 1 to 65535"))?;
            (destination, Some(port))
        }
        None => (authority, None),
    };
    check_destination(destination)?;
    let path = match path.strip_prefix('~') {
        Some(home) => format!("~{home}"),
        None => format!("/{path}"),
    };
    Ok(SourceSpec::Remote(Remote {
        destination: destination.to_string(),
        port,
        path,
    }))
}

fn check_destination(destination: &str) -> Result<(), String> {
    let host = destination
        .rsplit_once('@')
        .map_or(destination, |(_, host)| host);
    if host.is_empty() {
        return Err("the host is empty".into());
    }
    // ssh would read a leading dash as an option.
    if destination.starts_with('-') {
        return Err("a host cannot start with '-'".into());
    }
    if destination
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err("a host cannot hold spaces or control characters".into());
    }
    Ok(())
}

/// `text` quoted for a POSIX shell, except a leading `~` or `~/`, which
/// becomes `"$HOME"` so the remote shell still finds the home folder.
fn quote_with_home(text: &str) -> String {
    if text == "~" {
        return "\"$HOME\"".into();
    }
    match text.strip_prefix("~/") {
        Some(rest) => format!("\"$HOME\"/{}", shell_words::quote(rest)),
        None => shell_words::quote(text).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(text: &str) -> Remote {
        match parse(text).unwrap() {
            SourceSpec::Remote(remote) => remote,
            SourceSpec::Local(path) => panic!("{text} read as the local {path:?}"),
        }
    }

    #[test]
    fn scp_and_url_forms_are_remote_and_paths_are_local() {
        let scp = remote("me@gpu-box:/data/runs");
        assert_eq!(
            (scp.destination.as_str(), scp.port, scp.path.as_str()),
            ("me@gpu-box", None, "/data/runs")
        );
        assert_eq!(scp.host(), "gpu-box");
        assert_eq!(remote("gpu-box:").path, ".");
        let url = remote("ssh://me@login.cluster:2222/scratch/me/runs");
        assert_eq!(
            (url.destination.as_str(), url.port, url.path.as_str()),
            ("me@login.cluster", Some(2222), "/scratch/me/runs")
        );
        assert_eq!(remote("ssh://login/~/runs").path, "~/runs");
        for local in ["runs", "./a:b", "/data/x:y", "../runs"] {
            assert_eq!(
                parse(local).unwrap(),
                SourceSpec::Local(local.into()),
                "{local}"
            );
        }
    }

    #[test]
    fn bad_sources_say_what_is_wrong() {
        for (text, expected) in [
            ("ssh://host", "found no path"),
            ("ssh://host:0/x", "port \"0\""),
            ("ssh://host:ssh/x", "port \"ssh\""),
            (":runs", "the host is empty"),
            ("-oProxyCommand=x:runs", "cannot start with '-'"),
        ] {
            let message = parse(text).unwrap_err().to_string();
            assert!(message.contains(text), "{message}");
            assert!(message.contains(expected), "{text}: {message}");
        }
    }

    #[test]
    fn the_remote_command_quotes_every_path_but_keeps_the_home() {
        let spaced = Remote {
            destination: "h".into(),
            port: None,
            path: "/data/my runs/'x'$(touch y)".into(),
        };
        let command = spaced.remote_command(
            "/opt/atelier bin/atelier",
            std::time::Duration::from_secs(300),
        );
        let words = shell_words::split(&command).unwrap();
        assert_eq!(
            words,
            [
                "/opt/atelier bin/atelier",
                "stream",
                "--runs-dir",
                "/data/my runs/'x'$(touch y)",
                "--stall-after",
                "5m"
            ]
        );
        let home = Remote {
            path: "~/my runs".into(),
            ..spaced
        };
        assert!(home
            .remote_command("atelier", std::time::Duration::from_secs(60))
            .contains("--runs-dir \"$HOME\"/'my runs'"),);
    }

    #[test]
    fn the_ssh_command_is_split_as_a_shell_would() {
        assert_eq!(ssh_command(None).unwrap(), ["ssh"]);
        assert_eq!(
            ssh_command(Some("ssh -F './my config'")).unwrap(),
            ["ssh", "-F", "./my config"]
        );
        let message = ssh_command(Some("ssh 'open")).unwrap_err().to_string();
        assert!(message.contains("ATELIER_SSH"), "{message}");
        assert!(ssh_command(Some("  ")).is_err());
        let remote = remote("ssh://me@h:2222/x");
        assert_eq!(
            remote.ssh_argv(&["ssh".into()], "cmd".into()),
            ["ssh", "-p", "2222", "me@h", "cmd"]
        );
    }
}
