//! The PostgreSQL rows: `trashd`'s paths against the database's own ceiling,
//! measured in the same run on the same server.
//!
//! - **listing over HTTP** against `pgbench` replaying the statements the
//!   same request sent, as PostgreSQL logged them (`log_statement = all`
//!   for the bench database only, read back from the server's log);
//! - **trash + restore over HTTP** against one `pgbench` per client, each
//!   replaying the statements of one logged cycle of its own project;
//! - **cleanup** against a raw batched `DELETE … = ANY($1)` of the same
//!   rows, each on its own `CREATE DATABASE … TEMPLATE` copy of one loaded
//!   database.
//!
//! Each row creates and drops its own databases on the server of
//! `TRASH_BENCH_PG_URL` (default the local cluster), which must allow
//! `CREATE DATABASE` and, for the listing row, `ALTER DATABASE … SET
//! log_statement` (a superuser, as on a development machine).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection, Row};
use trash_postgres::PgStore;

use crate::{env_over, name, slug, start};

/// The PostgreSQL server the PostgreSQL rows use (`TRASH_BENCH_PG_URL`,
/// default the local cluster); each row creates and drops its own database.
pub fn admin_url() -> String {
    std::env::var("TRASH_BENCH_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

async fn admin() -> PgConnection {
    let url = admin_url();
    PgConnection::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url} (TRASH_BENCH_PG_URL): {e}"))
}

/// The URL of database `db` on the bench server.
pub fn db_url(db: &str) -> String {
    let url = admin_url();
    let (base, _) = url.rsplit_once('/').expect("a database in the URL");
    format!("{base}/{db}")
}

/// A unique database name for `tag` in this run.
pub fn db_name(tag: &str) -> String {
    format!("trash_bench_{tag}_{}", std::process::id())
}

/// Creates database `db` (dropping a leftover of the same name), empty or
/// as a copy of `template`.
pub async fn create_db(db: &str, template: Option<&str>) {
    let mut admin = admin().await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .expect("drop");
    let sql = match template {
        Some(t) => format!("CREATE DATABASE {db} TEMPLATE {t}"),
        None => format!("CREATE DATABASE {db}"),
    };
    sqlx::query(&sql)
        .execute(&mut admin)
        .await
        .expect("create database");
}

/// Drops database `db`, if it is there.
pub async fn drop_db(db: &str) {
    if let Ok(mut admin) = PgConnection::connect(&admin_url()).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
            .execute(&mut admin)
            .await;
    }
}

/// A migrated store on database `db`.
pub async fn store(db: &str) -> Arc<PgStore> {
    let store = PgStore::connect(&db_url(db), Default::default())
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    Arc::new(store)
}

// ---------------------------------------------------------------------------
// Cleanup against a raw batched DELETE.

/// Rates (projects per second) of `trashd`'s cleanup and of a raw batched
/// `DELETE` purging the same `projects` due projects (one version and two
/// images each), each on its own copy of one database, `rounds` times
/// (medians).
pub async fn cleanup_vs_raw(projects: usize, batch: u32, rounds: usize) -> (f64, f64) {
    let base = db_name("cleanup_base");
    create_db(&base, None).await;
    let base_store = store(&base).await;
    {
        let e = env_over(base_store.clone(), true).await;
        for i in 0..projects {
            crate::seed_trashed_project(&e, &format!("p{i}"), 2).await;
            if projects >= 1000 && i % (projects / 10) == 0 {
                eprint!(".");
            }
        }
        eprintln!();
    }
    // A template must have no connections.
    base_store.close().await;
    drop(base_store);
    // `rounds` pairs of copies, purged in turn; the medians are reported.
    let (mut ours_rates, mut raw_rates) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // Each side goes first in turn.
        let (ours, raw) = purge_copies(&base, projects, batch, round % 2 == 1).await;
        ours_rates.push(ours);
        raw_rates.push(raw);
        eprintln!("  trashd {ours:.0}/s, raw DELETE {raw:.0}/s");
    }
    drop_db(&base).await;
    (median(ours_rates), median(raw_rates))
}

/// Purges `projects` due projects from two `TEMPLATE` copies of `base`,
/// once by `trashd`'s cleanup and once by a raw batched `DELETE`; returns
/// both rates (projects per second).
async fn purge_copies(base: &str, projects: usize, batch: u32, raw_first: bool) -> (f64, f64) {
    let (ours, raw) = (db_name("cleanup_trashd"), db_name("cleanup_raw"));
    create_db(&ours, Some(base)).await;
    create_db(&raw, Some(base)).await;
    let (ours_time, raw_time) = if raw_first {
        let raw_time = purge_raw(&raw, projects).await;
        (purge_with_trashd(&ours, projects, batch).await, raw_time)
    } else {
        let ours_time = purge_with_trashd(&ours, projects, batch).await;
        (ours_time, purge_raw(&raw, projects).await)
    };
    // Both purges left the same thing behind: nothing of the projects.
    for db in [&ours, &raw] {
        let mut c = PgConnection::connect(&db_url(db)).await.expect("connect");
        let left: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM projects) + (SELECT count(*) FROM versions) \
                  + (SELECT count(*) FROM images) + (SELECT count(*) FROM trash_operations)",
        )
        .fetch_one(&mut c)
        .await
        .expect("count");
        assert_eq!(left, 0, "rows left in {db}");
    }
    for db in [&ours, &raw] {
        drop_db(db).await;
    }
    let rate = |d: Duration| projects as f64 / d.as_secs_f64();
    (rate(ours_time), rate(raw_time))
}

/// trashd: the cleanup service, batch after batch, as `trashd cleanup --once`.
async fn purge_with_trashd(db: &str, projects: usize, batch: u32) -> Duration {
    let ours_store = store(db).await;
    let e = env_over(ours_store.clone(), false).await;
    e.clock.set(start().plus(chrono::Duration::days(400)));
    let t = Instant::now();
    let mut purged = 0;
    loop {
        let report = e.trash.purge_due(batch).await.expect("cleanup");
        purged += report.purged;
        if report.claimed == 0 {
            break;
        }
    }
    let time = t.elapsed();
    assert_eq!(purged as usize, projects, "trashd purged every project");
    drop(e);
    ours_store.close().await;
    time
}

/// Raw: the due projects, then 100 per transaction, one statement deleting
/// from every table (projects and their operations refer to each other, so
/// the foreign keys are checked at the statement's end).
async fn purge_raw(db: &str, projects: usize) -> Duration {
    let mut conn = PgConnection::connect(&db_url(db)).await.expect("connect");
    let t = Instant::now();
    let ids: Vec<String> = sqlx::query(
        "SELECT project_id FROM trash_operations \
         WHERE root_kind = 'project' AND scheduled_cleanup_at <= now() + interval '400 days' \
         ORDER BY scheduled_cleanup_at, id",
    )
    .fetch_all(&mut conn)
    .await
    .expect("due")
    .iter()
    .map(|r| r.get(0))
    .collect();
    for chunk in ids.chunks(100) {
        let mut tx = conn.begin().await.expect("begin");
        sqlx::query(
            "WITH t AS (DELETE FROM trainings WHERE project_id = ANY($1)), \
                  v AS (DELETE FROM versions WHERE project_id = ANY($1)), \
                  l AS (DELETE FROM project_images WHERE project_id = ANY($1) \
                        RETURNING image_id), \
                  i AS (DELETE FROM images WHERE id IN (SELECT image_id FROM l)), \
                  p AS (DELETE FROM projects WHERE id = ANY($1)) \
             DELETE FROM trash_operations WHERE project_id = ANY($1)",
        )
        .bind(chunk)
        .execute(&mut *tx)
        .await
        .expect("raw delete");
        tx.commit().await.expect("commit");
    }
    let time = t.elapsed();
    assert_eq!(ids.len(), projects, "the raw purge found every project");
    time
}

// ---------------------------------------------------------------------------
// The listing over HTTP against pgbench on its own logged statements.

/// What the listing row measured.
pub struct Listing {
    /// Requests per second of `GET /{ws}/trash?limit=50` over HTTP.
    pub http: f64,
    /// pgbench transactions (one request's statements) per second,
    /// extended protocol: planned on every execution, as unnamed statements.
    pub pgbench: f64,
    /// The same with `-M prepared`: each statement planned once per client.
    pub pgbench_prepared: f64,
    /// How many statements one request sent.
    pub statements: usize,
}

/// The server's log file: `TRASH_BENCH_PG_LOG`, else the logging collector's
/// current file, else where the postmaster's standard error goes (a local
/// cluster started by `pg_ctlcluster` writes its log there).
async fn server_log(conn: &mut PgConnection) -> Result<PathBuf, String> {
    if let Ok(path) = std::env::var("TRASH_BENCH_PG_LOG") {
        return Ok(PathBuf::from(path));
    }
    let data: String = sqlx::query_scalar("SELECT current_setting('data_directory')")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| e.to_string())?;
    let current: Option<String> = sqlx::query_scalar("SELECT pg_current_logfile()")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(file) = current {
        return Ok(Path::new(&data).join(file));
    }
    let pid_file: String = sqlx::query_scalar("SELECT pg_read_file('postmaster.pid')")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| e.to_string())?;
    let pid = pid_file
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    std::fs::read_link(format!("/proc/{pid}/fd/2"))
        .map_err(|e| format!("the postmaster's stderr (/proc/{pid}/fd/2): {e}"))
}

/// One statement as PostgreSQL logged it, with its parameters written in
/// as the literals the log shows.
fn logged_statements(log: &str, db: &str) -> Vec<String> {
    let marker = format!("@{db} ");
    let mut out: Vec<String> = Vec::new();
    let mut lines = log.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(at) = line.find(&marker) else {
            continue;
        };
        let rest = &line[at + marker.len()..];
        let Some(message) = rest.strip_prefix("LOG:  ") else {
            continue;
        };
        let sql = if let Some(sql) = message.strip_prefix("statement: ") {
            sql.to_owned()
        } else if let Some(exec) = message.strip_prefix("execute ") {
            match exec.split_once(": ") {
                Some((_, sql)) => sql.to_owned(),
                None => continue,
            }
        } else {
            continue;
        };
        // Continuation lines of a multi-line statement start with a tab.
        let mut sql = sql;
        while let Some(next) = lines.peek() {
            if let Some(more) = next.strip_prefix('\t') {
                sql.push('\n');
                sql.push_str(more);
                lines.next();
            } else {
                break;
            }
        }
        if let Some(next) = lines.peek() {
            if let Some(p) = next.find("DETAIL:  parameters: ") {
                let params = parse_parameters(&next[p + "DETAIL:  parameters: ".len()..]);
                lines.next();
                sql = substitute(&sql, &params);
            }
        }
        out.push(sql);
    }
    out
}

/// `sql` with each placeholder `$N` outside string literals replaced by
/// `params[N - 1]`, in one pass (so a value holding `$1` stays as it is,
/// and `$10` is never read as `$1` followed by `0`).
fn substitute(sql: &str, params: &[String]) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.char_indices().peekable();
    let mut quoted = false;
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            // '' inside a literal toggles twice: out and back in.
            quoted = !quoted;
            out.push(c);
        } else if c == '$' && !quoted {
            let digits: String = sql[i + 1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            match digits
                .parse::<usize>()
                .ok()
                .and_then(|n| params.get(n.wrapping_sub(1)))
            {
                Some(value) => {
                    out.push_str(value);
                    for _ in 0..digits.len() {
                        chars.next();
                    }
                }
                None => out.push(c),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `$1 = 'a', $2 = NULL, $3 = 'it''s'` → `['a'`, `NULL`, `'it''s'`].
fn parse_parameters(s: &str) -> Vec<String> {
    let mut values = Vec::new();
    let mut rest = s;
    while let Some(eq) = rest.find(" = ") {
        rest = &rest[eq + 3..];
        if let Some(r) = rest.strip_prefix("NULL") {
            values.push("NULL".to_owned());
            rest = r;
        } else if rest.starts_with('\'') {
            // A quoted literal; '' is an escaped quote.
            let bytes = rest.as_bytes();
            let mut i = 1;
            while i < bytes.len() {
                if bytes[i] == b'\'' {
                    if bytes.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            values.push(rest[..=i.min(bytes.len() - 1)].to_owned());
            rest = &rest[(i + 1).min(rest.len())..];
        } else {
            break;
        }
        rest = rest.trim_start_matches(", ");
    }
    values
}

/// CPU seconds spent so far by this process, by its waited-for children
/// (the load generator, pgbench) and by the whole machine, from `/proc`
/// (clock ticks of 1/100 s). The machine's rest is PostgreSQL when nothing
/// else runs (backends that exit, as pgbench's do, are counted too).
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    own: f64,
    children: f64,
    machine: f64,
}

fn stat_fields(pid: &str) -> Option<Vec<f64>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which may hold spaces: state is [0].
    let rest = &stat[stat.rfind(')')? + 2..];
    Some(
        rest.split_whitespace()
            .map(|f| f.parse().unwrap_or(0.0))
            .collect(),
    )
}

/// Busy ticks of every CPU: user, nice, system, irq, softirq (not steal,
/// which is time this machine did not get).
fn machine_busy() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0.0;
    };
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    [0, 1, 2, 5, 6]
        .iter()
        .map(|&i| v.get(i).copied().unwrap_or(0.0))
        .sum()
}

impl Cpu {
    /// Now.
    pub fn now() -> Cpu {
        const TICK: f64 = 0.01;
        let own = stat_fields("self").unwrap_or_default();
        let at = |i: usize| own.get(i).copied().unwrap_or(0.0);
        Cpu {
            own: (at(11) + at(12)) * TICK,
            children: (at(13) + at(14)) * TICK,
            machine: machine_busy() * TICK,
        }
    }

    /// Where the CPU went since `self`, per round of `rounds`, in ms:
    /// `(this process, children, the rest of the machine)`.
    pub fn per_round(self, rounds: f64) -> (f64, f64, f64) {
        let now = Cpu::now();
        let per = |d: f64| d * 1e3 / rounds.max(1.0);
        let (own, children) = (now.own - self.own, now.children - self.children);
        (
            per(own),
            per(children),
            per(now.machine - self.machine - own - children),
        )
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A server on `db` whose every statement PostgreSQL logs, and where the
/// log is. The setting applies to new sessions of that database only, so
/// the server's store connects after it.
struct Capture {
    db: String,
    admin: PgConnection,
    log: PathBuf,
    store: Arc<PgStore>,
    base: String,
    server: tokio::task::JoinHandle<()>,
}

impl Capture {
    async fn start(db: &str) -> Capture {
        let mut admin = admin().await;
        let log = server_log(&mut admin).await.unwrap_or_else(|e| {
            panic!("cannot find PostgreSQL's log (set TRASH_BENCH_PG_LOG): {e}")
        });
        log_statements(&mut admin, db, true).await;
        let store = store(db).await;
        let (base, server) = serve(store.clone()).await;
        Capture {
            db: db.to_owned(),
            admin,
            log,
            store,
            base,
            server,
        }
    }

    /// Stops the server and puts the logging back; returns the admin
    /// connection.
    async fn finish(mut self) -> PgConnection {
        self.server.abort();
        self.store.close().await;
        log_statements(&mut self.admin, &self.db, false).await;
        self.admin
    }
}

/// Has new sessions of `db` log every statement with its parameters in
/// full (`on`), or puts the server's settings back.
async fn log_statements(admin: &mut PgConnection, db: &str, on: bool) {
    let settings = if on {
        [
            format!("ALTER DATABASE {db} SET log_statement = 'all'"),
            // Values cut short would replay as other statements.
            format!("ALTER DATABASE {db} SET log_parameter_max_length = -1"),
        ]
    } else {
        [
            format!("ALTER DATABASE {db} RESET log_statement"),
            format!("ALTER DATABASE {db} RESET log_parameter_max_length"),
        ]
    };
    for sql in settings {
        sqlx::query(&sql)
            .execute(&mut *admin)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// Drops the bench databases that earlier runs left behind (a run that
/// panicked or was killed): their names end in the process id of a run
/// that no longer exists.
pub async fn sweep_stale() {
    let mut admin = admin().await;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database WHERE datname LIKE 'trash\\_bench\\_%'",
    )
    .fetch_all(&mut admin)
    .await
    .expect("databases");
    for name in names {
        let Some(pid) = name.rsplit('_').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            eprintln!("  dropping {name}, left behind by an earlier run");
            drop_db(&name).await;
        }
    }
}

/// Reads what PostgreSQL logged after `offset` in the log at `path`.
fn log_since(path: &Path, offset: u64) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    f.seek(SeekFrom::Start(offset)).expect("seek");
    // Other databases' lines may hold any bytes.
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).expect("read log");
    String::from_utf8_lossy(&bytes).into_owned()
}

fn log_len(path: &Path) -> u64 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .len()
}

fn write_script(path: &Path, statements: &[String]) {
    std::fs::write(
        path,
        statements
            .iter()
            .map(|s| format!("{s};\n"))
            .collect::<String>(),
    )
    .expect("script");
}

/// Serves `store`'s REST API on a loopback port, in this process.
async fn serve(store: Arc<PgStore>) -> (String, tokio::task::JoinHandle<()>) {
    let services = crate::services_over(store, Arc::new(trash_runtime::SystemClock));
    let app = trash_http_axum::router(trash_http_axum::AppState::new(services));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    (format!("http://{addr}"), task)
}

/// pgbench's threads: one per CPU, at most one per client.
fn threads(clients: u32) -> u32 {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
    clients.min(cpus).max(1)
}

/// One run of `script`, which must succeed.
fn pgbench_once(url: &str, script: &Path) {
    let out = Command::new("pgbench")
        .args(["-n", "-t", "1", "-M", "prepared", "-f"])
        .arg(script)
        .arg(url)
        .output()
        .expect("pgbench");
    assert!(
        out.status.success(),
        "pgbench -t 1 {}: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn pgbench(url: &str, script: &Path, mode: &str, clients: u32, secs: u64) -> f64 {
    let out = Command::new("pgbench")
        .args(["-n", "-M", mode, "-j", &threads(clients).to_string()])
        .args(["-c", &clients.to_string(), "-T", &secs.to_string()])
        .arg("-f")
        .arg(script)
        .arg(url)
        .output()
        .unwrap_or_else(|e| panic!("pgbench: {e} (scripts/bench-deps.sh installs it)"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pgbench failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no tps in pgbench's output:\n{stdout}"))
}

/// `GET /{ws}/trash?limit=50` over HTTP with `clients` keep-alive
/// connections for `secs` seconds, against pgbench running the statements
/// one such request sent, with as many clients for as long.
pub async fn listing_vs_pgbench(
    items: i64,
    clients: u32,
    secs: u64,
    rounds: usize,
    dir: &Path,
) -> Listing {
    let db = db_name("http_listing");
    create_db(&db, None).await;
    let loaded = store(&db).await;
    let e = env_over(loaded.clone(), true).await;
    crate::bulk_load_workflows(&db_url(&db), items).await;
    let key = e.plaintext.clone();
    let path = format!("/{}/trash?limit=50&api_key={key}", e.ws.as_str());
    drop(e);
    loaded.close().await;

    // One request with every statement logged.
    let capture = Capture::start(&db).await;
    let (base, log_path) = (capture.base.clone(), capture.log.clone());
    let client = reqwest::Client::new();
    let get = |client: &reqwest::Client| {
        let url = format!("{base}{path}");
        let client = client.clone();
        async move {
            let resp = client.get(url).send().await.expect("request");
            assert!(resp.status().is_success(), "listing: {}", resp.status());
            resp.bytes().await.expect("body").len()
        }
    };
    get(&client).await; // connects and prepares
    let offset = log_len(&log_path);
    get(&client).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = log_since(&log_path, offset);
    let admin = capture.finish().await;
    let statements = logged_statements(&log, &db);
    assert!(
        !statements.is_empty(),
        "no statement of {db} in {} (is log_line_prefix showing %d?)",
        log_path.display()
    );
    let script = dir.join("listing.sql");
    write_script(&script, &statements);

    // trashd over HTTP (a separate process drives the load), then pgbench
    // both ways, `rounds` times in turn so that load from elsewhere falls
    // on all three alike; the medians are reported.
    let served = store(&db).await;
    let (base, server) = serve(served.clone()).await;
    let url = format!("{base}{path}");
    let pg = db_url(&db);
    let (mut http, mut extended, mut prepared) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let cpu = Cpu::now();
        let u = url.clone();
        let rate =
            tokio::task::spawn_blocking(move || crate::load_child("list", &u, clients, secs, &[]))
                .await
                .expect("load");
        let (server_ms, load_ms, pg_ms) = cpu.per_round(rate * secs as f64);
        eprintln!(
            "  {rate:.0} rps over HTTP; CPU per request: trashd {server_ms:.3} ms, load generator {load_ms:.3} ms, PostgreSQL and kernel (the rest) {pg_ms:.3} ms"
        );
        http.push(rate);
        for (mode, rates) in [("extended", &mut extended), ("prepared", &mut prepared)] {
            let cpu = Cpu::now();
            let tps = pgbench(&pg, &script, mode, clients, secs);
            let (_, bench_ms, pg_ms) = cpu.per_round(tps * secs as f64);
            eprintln!(
                "  {tps:.0} tps, pgbench -M {mode}; CPU per transaction: pgbench {bench_ms:.3} ms, PostgreSQL and kernel (the rest) {pg_ms:.3} ms"
            );
            rates.push(tps);
        }
    }
    server.abort();
    served.close().await;
    let (http, pgbench_extended, pgbench_prepared) =
        (median(http), median(extended), median(prepared));
    drop(admin);
    drop_db(&db).await;
    Listing {
        http,
        pgbench: pgbench_extended,
        pgbench_prepared,
        statements: statements.len(),
    }
}

/// What the trash + restore row measured.
pub struct Cycles {
    /// Trash + restore cycles per second over HTTP, all clients together.
    pub http: f64,
    /// The same from one pgbench per client, each replaying its project's
    /// logged cycle, summed.
    pub pgbench: f64,
    /// Statements of one logged cycle (without the revision reset).
    pub statements: usize,
}

/// `clients` connections, each trashing and restoring its own project of
/// three versions over HTTP back to back for `secs` seconds, against one
/// pgbench per client for as long (`-M prepared`), each replaying the statements one such
/// cycle of its project sent, as PostgreSQL logged them.
///
/// A logged cycle replays exactly only from the state it started in: the
/// operation id it inserts is deleted again by the restore, but the
/// project's revision (the guard of every write) moves on. Each script
/// therefore starts by putting the revision back (one more `UPDATE` than
/// the request sent, so the ceiling is, if anything, a little low).
pub async fn cycles_vs_pgbench(clients: u32, secs: u64, rounds: usize, dir: &Path) -> Cycles {
    let db = db_name("http_cycles");
    create_db(&db, None).await;
    let loaded = store(&db).await;
    let e = env_over(loaded.clone(), true).await;
    let mut projects = Vec::new();
    for i in 0..clients {
        let s = format!("c{i}");
        e.resources
            .create_project(&e.key, &e.ws, name(&s), Some(slug(&s)))
            .await
            .expect("project");
        for _ in 0..3 {
            e.resources
                .create_version(&e.key, &e.ws, &slug(&s), None)
                .await
                .expect("version");
        }
        let id = crate::project_id(&e, &s).await.as_str().to_owned();
        projects.push((s, id));
    }
    let (key, ws) = (e.plaintext.clone(), e.ws.as_str().to_owned());
    drop(e);
    loaded.close().await;

    let capture = Capture::start(&db).await;
    let (base, log_path) = (capture.base.clone(), capture.log.clone());
    let client = reqwest::Client::new();
    let mut db_conn = PgConnection::connect(&db_url(&db)).await.expect("connect");
    // One cycle each before logging: connections opened, statements prepared.
    for (s, id) in &projects {
        cycle(&client, &base, &ws, &key, s, id).await;
    }
    let mut scripts = Vec::new();
    let mut statements = 0;
    let mut after_cycle = Vec::new();
    for (i, (s, id)) in projects.iter().enumerate() {
        let before = revision(&mut db_conn, id).await;
        let offset = log_len(&log_path);
        cycle(&client, &base, &ws, &key, s, id).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
        let logged = logged_statements(&log_since(&log_path, offset), &db);
        // The bench's own revision reads run on a connection of this
        // database too: leave them out.
        let mut cycle_statements: Vec<String> = logged
            .into_iter()
            .filter(|s| !s.starts_with("SELECT revision FROM projects WHERE id ="))
            .collect();
        statements = cycle_statements.len();
        cycle_statements.insert(
            0,
            format!("UPDATE projects SET revision = {before} WHERE id = '{id}'"),
        );
        let script = dir.join(format!("cycle-{i}.sql"));
        write_script(&script, &cycle_statements);
        scripts.push(script);
        let after = revision(&mut db_conn, id).await;
        after_cycle.push(after);
    }
    let admin = capture.finish().await;

    // A replay must do what the request did: one run of each script leaves
    // its project where the logged cycle did (active again, at the same
    // revision); a guard that no longer held would have left it elsewhere.
    for ((script, (_, id)), after) in scripts.iter().zip(&projects).zip(&after_cycle) {
        pgbench_once(&db_url(&db), script);
        let (revision, trashed): (i64, bool) =
            sqlx::query_as("SELECT revision, trash_op_id IS NOT NULL FROM projects WHERE id = $1")
                .bind(id)
                .fetch_one(&mut db_conn)
                .await
                .expect("project");
        assert_eq!(
            (revision, trashed),
            (*after, false),
            "replaying {} did not redo the logged cycle",
            script.display()
        );
    }
    drop(db_conn);

    let served = store(&db).await;
    let (base, server) = serve(served.clone()).await;
    let mut args = vec![ws, key];
    args.extend(projects.iter().map(|(s, id)| format!("{s}:{id}")));
    let pg = db_url(&db);
    let (mut http, mut bench) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let cpu = Cpu::now();
        let (b, a) = (base.clone(), args.clone());
        let rate =
            tokio::task::spawn_blocking(move || crate::load_child("cycle", &b, clients, secs, &a))
                .await
                .expect("load");
        let (server_ms, load_ms, pg_ms) = cpu.per_round(rate * secs as f64);
        eprintln!(
            "  {rate:.0} cycles/s over HTTP; CPU per cycle: trashd {server_ms:.3} ms, load generator {load_ms:.3} ms, PostgreSQL and kernel (the rest) {pg_ms:.3} ms"
        );
        http.push(rate);
        // One pgbench per project, all at once; their rates add up.
        let cpu = Cpu::now();
        let runs: Vec<_> = scripts
            .iter()
            .map(|script| {
                let (url, script) = (pg.clone(), script.clone());
                tokio::task::spawn_blocking(move || pgbench(&url, &script, "prepared", 1, secs))
            })
            .collect();
        let mut total = 0.0;
        for run in runs {
            total += run.await.expect("pgbench");
        }
        let (_, bench_ms, pg_ms) = cpu.per_round(total * secs as f64);
        eprintln!(
            "  {total:.0} cycles/s from pgbench -M prepared; CPU per cycle: pgbench {bench_ms:.3} ms, PostgreSQL and kernel (the rest) {pg_ms:.3} ms"
        );
        bench.push(total);
    }
    server.abort();
    served.close().await;
    let (http, pgbench_total) = (median(http), median(bench));
    drop(admin);
    drop_db(&db).await;
    Cycles {
        http,
        pgbench: pgbench_total,
        statements,
    }
}

/// The revision of project `id`.
async fn revision(conn: &mut PgConnection, id: &str) -> i64 {
    sqlx::query_scalar("SELECT revision FROM projects WHERE id = $1")
        .bind(id)
        .fetch_one(conn)
        .await
        .expect("revision")
}

/// One trash + restore of project `slug` (`id`) over HTTP.
pub async fn cycle(
    client: &reqwest::Client,
    base: &str,
    ws: &str,
    key: &str,
    slug: &str,
    id: &str,
) {
    let resp = client
        .delete(format!("{base}/{ws}/{slug}?api_key={key}"))
        .send()
        .await
        .expect("trash");
    assert!(resp.status().is_success(), "trash: {}", resp.status());
    resp.bytes().await.expect("body");
    let resp = client
        .post(format!("{base}/{ws}/trash/restore?api_key={key}"))
        .header("content-type", "application/json")
        .body(format!(r#"{{"type":"project","id":"{id}"}}"#))
        .send()
        .await
        .expect("restore");
    assert!(resp.status().is_success(), "restore: {}", resp.status());
    resp.bytes().await.expect("body");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_replaced_once_and_only_outside_literals() {
        let params: Vec<String> = (1..=10).map(|i| format!("'v{i}'")).collect();
        assert_eq!(
            substitute("SELECT $1, $10, '$2', 'it''s $3', $11", &params),
            "SELECT 'v1', 'v10', '$2', 'it''s $3', $11"
        );
        // A value holding a placeholder is not substituted again.
        assert_eq!(
            substitute("SELECT $1, $2", &["'$2'".into(), "'b'".into()]),
            "SELECT '$2', 'b'"
        );
    }

    #[test]
    fn parameters_are_read_as_literals() {
        assert_eq!(
            parse_parameters("$1 = 'bench', $2 = NULL, $3 = 'it''s, $4 = x', $4 = '51'"),
            vec!["'bench'", "NULL", "'it''s, $4 = x'", "'51'"]
        );
    }

    #[test]
    fn statements_of_one_database_are_read_from_the_log() {
        let log = "2026-12-02 06:00:00.000 UTC [1] postgres@other LOG:  statement: SELECT 0\n\
                   2026-12-02 06:00:00.001 UTC [2] postgres@db LOG:  statement: BEGIN\n\
                   2026-12-02 06:00:00.002 UTC [2] postgres@db LOG:  execute sqlx_s_1: SELECT $1, $2, $10\n\
                   2026-12-02 06:00:00.003 UTC [2] postgres@db DETAIL:  parameters: $1 = 'a', $2 = NULL, $3 = '3', $4 = '4', $5 = '5', $6 = '6', $7 = '7', $8 = '8', $9 = '9', $10 = 'ten'\n\
                   2026-12-02 06:00:00.004 UTC [2] postgres@db LOG:  duration: 0.1 ms\n";
        assert_eq!(
            logged_statements(log, "db"),
            vec!["BEGIN", "SELECT 'a', NULL, 'ten'"]
        );
    }
}
