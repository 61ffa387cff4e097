//! `atelier data fetch` against a local HTTP server on 127.0.0.1 that serves
//! files the test makes: success, already-present, wrong checksum, a dropped
//! connection and a 404. No outside network is used.

use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Write},
    net::{TcpListener, TcpStream},
    path::Path,
    sync::Arc,
    thread,
};

use atelier::data::{fetch, verify::md5_hex};

/// What the server answers for one path.
#[derive(Clone)]
enum Reply {
    /// The whole body.
    Full(Vec<u8>),
    /// Announces the whole body, sends half of it, then closes the connection.
    Dropped(Vec<u8>),
}

/// Serves `routes` on a loopback port until the test process ends; returns the base URL.
fn serve(routes: HashMap<String, Reply>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let routes = Arc::new(routes);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let routes = Arc::clone(&routes);
            thread::spawn(move || answer(stream, &routes));
        }
    });
    base
}

fn answer(mut stream: TcpStream, routes: &HashMap<String, Reply>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    // Skip the headers; the body of a GET is empty.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let header = |len: usize| {
        format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n")
    };
    match routes.get(&path) {
        Some(Reply::Full(body)) => {
            let _ = stream.write_all(header(body.len()).as_bytes());
            let _ = stream.write_all(body);
        }
        Some(Reply::Dropped(body)) => {
            let _ = stream.write_all(header(body.len()).as_bytes());
            let _ = stream.write_all(&body[..body.len() / 2]);
        }
        None => {
            let _ = stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    }
    let _ = stream.flush();
}

fn body(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn downloads_verifies_and_skips_what_is_present() {
    let (a, b) = (body(1, 300_000), body(2, 1_000));
    let base = serve(HashMap::from([
        ("/a.gz".to_string(), Reply::Full(a.clone())),
        ("/b.gz".to_string(), Reply::Full(b.clone())),
    ]));
    let dest = tempfile::tempdir().unwrap();
    let target = dest.path().join("nested");
    let (md5_a, md5_b) = (md5_hex(&a), md5_hex(&b));
    let files = [("a.gz", md5_a.as_str()), ("b.gz", md5_b.as_str())];
    let outcomes = fetch::fetch_files(&base, &target, &files, false).unwrap();
    assert_eq!(outcomes[0].1, fetch::Outcome::Downloaded(300_000));
    assert_eq!(std::fs::read(target.join("a.gz")).unwrap(), a);
    assert_eq!(std::fs::read(target.join("b.gz")).unwrap(), b);
    let again = fetch::fetch_files(&format!("{base}/"), &target, &files, false).unwrap();
    assert!(again
        .iter()
        .all(|(_, outcome)| *outcome == fetch::Outcome::AlreadyPresent));
    let mut names = leftovers(&target);
    names.sort();
    assert_eq!(names, ["a.gz", "b.gz"]);
}

#[test]
fn wrong_checksum_leaves_no_file() {
    let base = serve(HashMap::from([(
        "/a.gz".to_string(),
        Reply::Full(body(3, 5_000)),
    )]));
    let dest = tempfile::tempdir().unwrap();
    let error = fetch::fetch_files(
        &base,
        dest.path(),
        &[("a.gz", "00000000000000000000000000000000")],
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("a.gz: expected MD5 00000000000000000000000000000000, found"),
        "{error}"
    );
    assert!(
        leftovers(dest.path()).is_empty(),
        "{:?}",
        leftovers(dest.path())
    );
}

#[test]
fn dropped_connection_leaves_no_half_file_and_keeps_the_old_one() {
    let full = body(4, 200_000);
    let base = serve(HashMap::from([(
        "/a.gz".to_string(),
        Reply::Dropped(full.clone()),
    )]));
    let dest = tempfile::tempdir().unwrap();
    // A stale file under the real name must survive a failed re-download.
    std::fs::write(dest.path().join("a.gz"), b"old").unwrap();
    let error = fetch::fetch_files(&base, dest.path(), &[("a.gz", &md5_hex(&full))], false)
        .unwrap_err()
        .to_string();
    assert!(error.contains("/a.gz: download failed"), "{error}");
    assert_eq!(leftovers(dest.path()), ["a.gz"]);
    assert_eq!(std::fs::read(dest.path().join("a.gz")).unwrap(), b"old");
}

#[test]
fn missing_file_on_the_server_is_an_http_error() {
    let base = serve(HashMap::new());
    let dest = tempfile::tempdir().unwrap();
    let error = fetch::fetch_files(&base, dest.path(), &[("a.gz", "x")], false)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("/a.gz: download failed") && error.contains("404"),
        "{error}"
    );
    assert!(leftovers(dest.path()).is_empty());
}

#[test]
fn cli_fetch_reports_the_official_checksum_mismatch() {
    let routes = fetch::OFFICIAL_GZ_MD5
        .iter()
        .map(|(name, _)| (format!("/{name}"), Reply::Full(body(5, 100))))
        .collect();
    let base = serve(routes);
    let dest = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_atelier"))
        .args([
            "data",
            "fetch",
            "--from",
            "official",
            "--base-url",
            &base,
            "--dest",
            dest.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr
            .contains("train-images-idx3-ubyte.gz: expected MD5 8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        "{stderr}"
    );
    assert!(stderr.contains("Ways to get it"), "{stderr}");
    assert!(leftovers(dest.path()).is_empty());
}
