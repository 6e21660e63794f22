//! Faults: with the database unreachable or down, store calls answer
//! `Unavailable` within the pool's acquire timeout instead of hanging, and
//! the store recovers by itself when the database is back.
//!
//! The server is shared by everything on this machine, so the test does not
//! stop it: the store talks to it through a TCP proxy the test controls.
//! `Silent` is a network partition (nothing answers, connections hang);
//! `Down` is a stopped server (open connections are cut, new ones closed at
//! once).

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::AbortHandle;
use trash_core::domain::*;
use trash_core::ports::{AccountStore, Health, StoreError};
use trash_postgres::{PgOptions, PgStore};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Forward,
    Silent,
    Down,
}

struct Proxy {
    addr: SocketAddr,
    mode: watch::Sender<Mode>,
    pumps: Arc<Mutex<Vec<AbortHandle>>>,
    held: Arc<Mutex<Vec<TcpStream>>>,
    accept: AbortHandle,
}

/// Copies bytes one way while the proxy forwards; holds them while silent.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut mode: watch::Receiver<Mode>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        loop {
            match *mode.borrow_and_update() {
                Mode::Forward => break,
                Mode::Down => return,
                Mode::Silent => {}
            }
            if mode.changed().await.is_err() {
                return;
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (mode, _) = watch::channel(Mode::Forward);
        let pumps = Arc::new(Mutex::new(Vec::<AbortHandle>::new()));
        let held = Arc::new(Mutex::new(Vec::new()));
        let (mode_rx, pumps2, held2) = (mode.subscribe(), pumps.clone(), held.clone());
        let accept = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let current = *mode_rx.borrow();
                match current {
                    Mode::Down => drop(client),
                    Mode::Silent => held2.lock().expect("held").push(client),
                    Mode::Forward => {
                        let Ok(server) = TcpStream::connect(&upstream).await else {
                            continue;
                        };
                        let (cr, cw) = client.into_split();
                        let (sr, sw) = server.into_split();
                        let up = tokio::spawn(pump(cr, sw, mode_rx.clone()));
                        let down = tokio::spawn(pump(sr, cw, mode_rx.clone()));
                        let mut pumps = pumps2.lock().expect("pumps");
                        pumps.push(up.abort_handle());
                        pumps.push(down.abort_handle());
                    }
                }
            }
        })
        .abort_handle();
        Proxy {
            addr,
            mode,
            pumps,
            held,
            accept,
        }
    }

    fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
        if mode != Mode::Silent {
            self.held.lock().expect("held").clear();
        }
        if mode == Mode::Down {
            for pump in self.pumps.lock().expect("pumps").drain(..) {
                pump.abort();
            }
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.set(Mode::Down);
    }
}

/// `postgres://user@host:port` → (`host:port`, URL of `database` through `via`).
fn through(via: SocketAddr, database: &str) -> (String, String) {
    let server = support::server_url();
    let (scheme, rest) = server.split_once("://").expect("server URL has a scheme");
    let (user, host) = match rest.rsplit_once('@') {
        Some((user, host)) => (format!("{user}@"), host.to_owned()),
        None => (String::new(), rest.to_owned()),
    };
    (host, format!("{scheme}://{user}{via}/{database}"))
}

const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(800);
/// Only guards against hanging forever; the test reports the real time.
const HANG: Duration = Duration::from_secs(60);

async fn answers_unavailable(store: &PgStore, ws: &WorkspaceSlug, situation: &str) {
    let started = Instant::now();
    let read = tokio::time::timeout(HANG, store.workspace(ws))
        .await
        .unwrap_or_else(|_| panic!("a read hung while the database was {situation}"));
    assert!(
        matches!(read, Err(StoreError::Unavailable(_))),
        "read while {situation}: {read:?}"
    );
    let write = tokio::time::timeout(
        HANG,
        store.create_workspace(&Workspace {
            slug: WorkspaceSlug::parse("later").expect("slug"),
            name: Name::parse("Later").expect("name"),
            created_at: Timestamp::from_unix_millis(0).expect("t"),
        }),
    )
    .await
    .unwrap_or_else(|_| panic!("a write hung while the database was {situation}"));
    assert!(
        matches!(write, Err(StoreError::Unavailable(_))),
        "write while {situation}: {write:?}"
    );
    let ping = tokio::time::timeout(HANG, store.ping())
        .await
        .unwrap_or_else(|_| panic!("ping hung while the database was {situation}"));
    assert!(matches!(ping, Err(StoreError::Unavailable(_))), "{ping:?}");
    println!(
        "{situation}: three calls answered Unavailable in {:?} (acquire timeout {ACQUIRE_TIMEOUT:?})",
        started.elapsed()
    );
}

async fn recovers(store: &PgStore, ws: &WorkspaceSlug) {
    let found = store.workspace(ws).await.expect("read after recovery");
    assert_eq!(found.map(|w| w.slug), Some(ws.clone()));
    store.ping().await.expect("ping after recovery");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_or_stopped_database_answers_unavailable_quickly_then_recovers() {
    let db = support::TestDb::create().await;
    let direct = PgStore::connect(&db.url(), support::test_options())
        .await
        .expect("connect");
    direct.migrate().await.expect("migrate");
    direct.close().await;

    let (upstream, _) = through("127.0.0.1:1".parse().expect("addr"), db.name());
    let proxy = Proxy::start(upstream).await;
    let (_, url) = through(proxy.addr, db.name());
    let store = PgStore::connect(
        &url,
        PgOptions {
            max_connections: 2,
            acquire_timeout: ACQUIRE_TIMEOUT,
            ..PgOptions::default()
        },
    )
    .await
    .expect("connect lazily");
    let ws = WorkspaceSlug::parse("acme").expect("slug");
    store
        .create_workspace(&Workspace {
            slug: ws.clone(),
            name: Name::parse("Acme").expect("name"),
            created_at: Timestamp::from_unix_millis(0).expect("t"),
        })
        .await
        .expect("create while up");
    recovers(&store, &ws).await;

    // A partition: pooled connections go silent, new ones hang.
    proxy.set(Mode::Silent);
    answers_unavailable(&store, &ws, "unreachable").await;
    proxy.set(Mode::Forward);
    recovers(&store, &ws).await;

    // A stopped server: open connections are cut, new ones refused.
    proxy.set(Mode::Down);
    answers_unavailable(&store, &ws, "down").await;
    proxy.set(Mode::Forward);
    recovers(&store, &ws).await;
    assert!(
        store
            .workspace(&WorkspaceSlug::parse("later").expect("slug"))
            .await
            .expect("read")
            .is_none(),
        "no write went through while the database was away"
    );
    store.close().await;
}

#[tokio::test]
async fn a_store_for_a_database_that_never_answered_is_unavailable_not_broken() {
    // Nothing listens on this port: connecting lazily still succeeds, and
    // calls (migrations included) say the database cannot be reached.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let store = PgStore::connect(
        &format!("postgres://postgres@127.0.0.1:{port}/nothing"),
        PgOptions {
            max_connections: 1,
            acquire_timeout: ACQUIRE_TIMEOUT,
            ..PgOptions::default()
        },
    )
    .await
    .expect("lazy connect");
    let ping = tokio::time::timeout(HANG, store.ping())
        .await
        .expect("no hang");
    assert!(matches!(ping, Err(StoreError::Unavailable(_))), "{ping:?}");
    let migrated = tokio::time::timeout(HANG, store.migrate())
        .await
        .expect("no hang");
    let err = migrated.expect_err("cannot migrate without a database");
    assert!(
        matches!(err, trash_postgres::PgError::Unavailable(_)),
        "{err:?}"
    );
    assert!(err.to_string().contains("cannot be reached"), "{err}");
}

/// A statement stuck behind a lock nobody releases (a stalled replica, a
/// forgotten session) is cancelled by the server's statement timeout, and
/// the call answers `Unavailable` instead of hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_stuck_on_a_lock_is_cut_off_as_unavailable() {
    use sqlx::{Connection, Executor};
    use trash_conformance::harness::{slug, Harness};
    use trash_core::usecases::ResourceError;

    let db = support::TestDb::create().await;
    let store = PgStore::connect(
        &db.url(),
        PgOptions {
            max_connections: 3,
            acquire_timeout: Duration::from_secs(30),
            statement_timeout: Duration::from_millis(300),
        },
    )
    .await
    .expect("connect");
    store.migrate().await.expect("migrate");
    let h = Harness::whole(Arc::new(store.clone())).await;
    let project = h.project("det").await;

    let mut blocker = sqlx::PgConnection::connect(&db.url())
        .await
        .expect("connect");
    blocker.execute("BEGIN").await.expect("begin");
    blocker
        .execute(
            sqlx::query("SELECT id FROM projects WHERE id = $1 FOR UPDATE")
                .bind(project.id.as_str()),
        )
        .await
        .expect("hold the project row");

    // A hang detector, not a speed check: the call must come back at all.
    let outcome = tokio::time::timeout(
        Duration::from_secs(60),
        h.resources
            .create_version(&h.key, &h.ws, &slug("det"), None),
    )
    .await
    .expect("the call came back instead of hanging");
    assert!(
        matches!(
            outcome,
            Err(ResourceError::Store(StoreError::Unavailable(_)))
        ),
        "{outcome:?}"
    );
    blocker.execute("ROLLBACK").await.expect("release");
    let _ = blocker.close().await;
    // Once the lock is gone, the same call works: nothing was left half done.
    h.resources
        .create_version(&h.key, &h.ws, &slug("det"), None)
        .await
        .expect("works again");
    store.close().await;
}
