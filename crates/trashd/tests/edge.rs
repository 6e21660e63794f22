//! The real binary against hostile clients: connections that never send a
//! request and connections that trickle headers, more of them than the
//! connection cap. Outcomes are asserted, never times.

mod common;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use common::*;

/// How long any single outcome may take before the test gives up. Far
/// above the 1 s timeouts the server is started with.
const PATIENCE: Duration = Duration::from_secs(60);

fn addr(server: &Server) -> String {
    server
        .base
        .strip_prefix("http://")
        .expect("http base")
        .to_owned()
}

/// Reads until the server closes the connection (EOF or reset); any bytes
/// it sends first (an error answer) are ignored. Fails after `PATIENCE`.
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    let ended = tokio::time::timeout(PATIENCE, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    ended.is_ok()
}

/// Sends a request line, then one header line every 200 ms, never ending
/// the head; returns whether the server cut the connection (and how many
/// header lines were sent by then).
async fn trickle(addr: String) -> (bool, u32) {
    let Ok(mut stream) = TcpStream::connect(&addr).await else {
        return (false, 0);
    };
    let mut sent = 0;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    if stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: trickle\r\n")
        .await
        .is_err()
    {
        return (true, sent);
    }
    let mut buf = [0u8; 256];
    while tokio::time::Instant::now() < deadline {
        if stream.write_all(b"X-Slow: 1\r\n").await.is_err() {
            return (true, sent);
        }
        sent += 1;
        // A closed connection shows as EOF (or a reset) on read.
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (true, sent),
            Ok(Ok(_)) => {}
            Err(_) => {}
        }
    }
    (false, sent)
}

/// Socket descriptors the server process holds (Linux).
fn open_sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.flatten()
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .map(|t| t.to_string_lossy().starts_with("socket:"))
                        .unwrap_or(false)
                })
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_trickling_connections_above_the_cap_do_not_starve_the_server() {
    const CAP: usize = 32;
    const SILENT: usize = 40;
    const TRICKLERS: usize = 10;
    let server = Server::start(
        "memory://",
        &[
            "--max-connections",
            "32",
            "--header-read-timeout",
            "1s",
            "--keep-alive-timeout",
            "1s",
        ],
    );
    let addr = addr(&server);

    // Connections that never send a request.
    let mut silent = Vec::new();
    for _ in 0..SILENT {
        silent.push(TcpStream::connect(&addr).await.expect("connect"));
    }
    // Connections that send a header line every 200 ms, never finishing.
    let mut tricklers = JoinSet::new();
    for _ in 0..TRICKLERS {
        tricklers.spawn(trickle(addr.clone()));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // More connections than the cap exist; the process holds at most the
    // cap of them (plus its listener and a few of its own).
    let held = open_sockets(server.pid());
    assert!(
        held <= CAP + 4,
        "the server holds {held} sockets with a cap of {CAP}"
    );

    // A fresh client is still answered.
    let client = reqwest::Client::builder()
        .timeout(PATIENCE)
        .build()
        .unwrap();
    let health = client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .expect("/healthz answers while the flood is on");
    assert_eq!(health.status(), 200);

    // Every silent connection is closed by the server.
    for (i, stream) in silent.iter_mut().enumerate() {
        assert!(
            closed_by_server(stream).await,
            "silent connection {i} was never closed"
        );
    }
    // Every trickler is cut off, although it never stopped sending.
    while let Some(done) = tricklers.join_next().await {
        let (cut, sent) = done.expect("trickler task");
        assert!(cut, "a trickling client was never cut off ({sent} lines)");
    }

    // An unused keep-alive connection is closed too.
    let mut kept = TcpStream::connect(&addr).await.expect("connect");
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: kept\r\n\r\n")
        .await
        .unwrap();
    let mut head = [0u8; 12];
    kept.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    assert!(
        closed_by_server(&mut kept).await,
        "an idle keep-alive connection stayed open"
    );

    // The server is fine afterwards, and never ran out of descriptors.
    let health = client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let log = server.log();
    assert!(
        log.contains("connection cap reached"),
        "the cap was never reached:\n{log}"
    );
    assert!(!log.contains("Too many open files"), "{log}");
}

#[tokio::test]
async fn over_the_key_limit_the_binary_answers_429_with_retry_after() {
    let db = SqliteDb::new();
    let key = workspace_with_key(&db.url, "acme");
    let server = Server::start(&db.url, &["--rate-limit", "2", "--ip-rate-limit", "0"]);
    let client = reqwest::Client::new();
    let url = format!("{}/acme/trash?api_key={key}", server.base);
    let mut statuses = Vec::new();
    let mut refused = None;
    for _ in 0..12 {
        let r = client.get(&url).send().await.unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 && refused.is_none() {
            let retry_after: u64 = r.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(retry_after >= 1);
            let body: serde_json::Value = r.json().await.unwrap();
            refused = Some(body);
        }
    }
    assert!(statuses.contains(&200), "{statuses:?}");
    let body = refused.unwrap_or_else(|| panic!("no 429 in {statuses:?}"));
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("too many requests"),
        "{body}"
    );
    // Health checks are never limited.
    for _ in 0..12 {
        let r = client
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // Every request line names the client.
    let log = server.log();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("latency_ms")).collect();
    assert!(lines.len() >= 24, "{log}");
    assert!(
        lines.iter().all(|l| l.contains("client=127.0.0.1")),
        "{log}"
    );
}
