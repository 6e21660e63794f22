//! `cargo xtask bench`: speed and memory targets as ratios against a
//! baseline measured in the same run, on the embedded SQLite store.
//!
//! Each target compares a large case with a small one, so the numbers do not
//! depend on how fast this machine is:
//!
//! - **listing**: the first page of the trash costs the same with 20× more
//!   items in trash (keyset pagination on an index);
//! - **cascade**: trashing and restoring a project costs no more per child
//!   with 20× more children (set-based statements);
//! - **cleanup memory**: draining a 10× larger backlog needs no more memory
//!   (bounded batches), measured as the peak RSS of a separate process;
//! - **at the database's limit** (PostgreSQL, [`pg`]): the first page at
//!   1k vs 1M items, the listing over HTTP against `pgbench` replaying the
//!   statements it logged, and cleanup against a raw batched `DELETE` on a
//!   copy of the same database.

use std::path::Path;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use trash_core::domain::*;
use trash_core::usecases::*;
use trash_core::{ResourceService, Runtime, Services, TrashConfig, TrashService};
use trash_memory::ManualClock;
use trash_runtime::{NoopCanceller, RandomIds, TokioPause};
use trash_sqlite::SqliteStore;

mod pg;

struct Sizes {
    list_small: usize,
    list_large: usize,
    pg_list_large: i64,
    cascade_small: u32,
    cascade_large: u32,
    backlog_small: usize,
    backlog_large: usize,
    versions_large: u32,
    http_secs: u64,
    rounds: usize,
    cleanup_projects: usize,
}

const FULL: Sizes = Sizes {
    list_small: 500,
    list_large: 10_000,
    pg_list_large: 1_000_000,
    cascade_small: 10,
    cascade_large: 200,
    backlog_small: 300,
    backlog_large: 3_000,
    versions_large: 10_000,
    http_secs: 5,
    rounds: 3,
    cleanup_projects: 5_000,
};

const QUICK: Sizes = Sizes {
    list_small: 100,
    list_large: 2_000,
    pg_list_large: 50_000,
    cascade_small: 5,
    cascade_large: 100,
    backlog_small: 100,
    backlog_large: 1_000,
    versions_large: 2_000,
    http_secs: 3,
    rounds: 1,
    cleanup_projects: 500,
};

fn start() -> Timestamp {
    Timestamp::from_unix_millis(1_767_225_600_000).expect("valid")
}

struct Env {
    trash: TrashService,
    resources: ResourceService,
    clock: Arc<ManualClock>,
    ws: WorkspaceSlug,
    key: Principal,
    /// The API key itself, for requests over HTTP.
    plaintext: String,
}

async fn env(path: &Path, create: bool) -> Env {
    let store = Arc::new(SqliteStore::open(path).await.expect("open sqlite"));
    env_over(store, create).await
}

/// Every service over `store`, with `clock`, random ids and no locks.
fn services_over(
    store: Arc<dyn trash_core::ports::StandaloneStore>,
    clock: Arc<dyn trash_core::ports::Clock>,
) -> Services {
    Services::over(
        store,
        Arc::new(NoopCanceller),
        Runtime {
            clock,
            ids: Arc::new(RandomIds),
            pause: Arc::new(TokioPause),
            locks: Arc::new(trash_core::ports::NoLocks),
        },
        TrashConfig::default(),
    )
}

async fn env_over(store: Arc<dyn trash_core::ports::StandaloneStore>, create: bool) -> Env {
    let clock = Arc::new(ManualClock::new(start()));
    let services = services_over(store, clock.clone());
    let accounts = &services.accounts;
    let ws = WorkspaceSlug::parse("bench").expect("valid");
    if create {
        accounts
            .create_workspace(ws.clone(), Name::parse("Bench").expect("valid"))
            .await
            .expect("workspace");
    }
    let key = accounts
        .create_api_key(&ws, Name::parse("bench").expect("valid"), ScopeSet::all())
        .await
        .expect("key");
    let plaintext = key.plaintext.to_string();
    let key = Principal::ApiKey(accounts.authenticate(&key.plaintext).await.expect("auth"));
    Env {
        trash: services.trash,
        resources: services.resources,
        clock,
        ws,
        key,
        plaintext,
    }
}

fn name(s: &str) -> Name {
    Name::parse(s).expect("valid")
}

fn slug(s: &str) -> Slug {
    Slug::parse(s).expect("valid")
}

/// Trashes `n` workflows, one millisecond apart.
async fn seed_trashed_workflows(e: &Env, n: usize, prefix: &str) {
    for i in 0..n {
        let s = format!("{prefix}{i}");
        e.resources
            .create_workflow(&e.key, &e.ws, name(&s), Some(slug(&s)))
            .await
            .expect("workflow");
        e.trash
            .trash_workflow(&e.key, &e.ws, &WorkflowRef::Slug(slug(&s)))
            .await
            .expect("trash");
        e.clock.advance(chrono::Duration::milliseconds(1));
        if n >= 1000 && i % (n / 10) == 0 {
            eprint!(".");
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn first_page(e: &Env, runs: usize) -> Duration {
    let request = ListTrashRequest {
        kind: None,
        limit: PageLimit::new(100).expect("valid"),
        cursor: None,
    };
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let page = e
            .trash
            .list_trash(&e.key, &e.ws, &request)
            .await
            .expect("list");
        times.push(t.elapsed());
        assert_eq!(page.entries.len(), 100);
    }
    median(times)
}

async fn listing(sizes: &Sizes, dir: &Path) -> (Duration, Duration) {
    let small = env(&dir.join("list-small.db"), true).await;
    seed_trashed_workflows(&small, sizes.list_small, "s").await;
    let large = env(&dir.join("list-large.db"), true).await;
    seed_trashed_workflows(&large, sizes.list_large, "l").await;
    eprintln!();
    (first_page(&small, 31).await, first_page(&large, 31).await)
}

/// Trash and restore of a project with `versions` versions of 10 trainings each.
async fn cascade(e: &Env, s: &str, versions: u32) -> Duration {
    e.resources
        .create_project(&e.key, &e.ws, name(s), Some(slug(s)))
        .await
        .expect("project");
    for v in 1..=versions {
        e.resources
            .create_version(&e.key, &e.ws, &slug(s), None)
            .await
            .expect("version");
        for _ in 0..10 {
            e.resources
                .create_training(
                    &e.key,
                    &e.ws,
                    &slug(s),
                    VersionNumber::new(v).expect("valid"),
                )
                .await
                .expect("training");
        }
    }
    let id = project_id(e, s).await;
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        e.trash
            .trash_project(&e.key, &e.ws, &slug(s), true)
            .await
            .expect("trash");
        e.trash
            .restore(
                &e.key,
                &e.ws,
                &ItemRef::Project(id.clone()),
                OnConflict::Fail,
            )
            .await
            .expect("restore");
        times.push(t.elapsed());
    }
    median(times)
}

/// A new PostgreSQL database, migrated, with the bench workspace holding
/// `items` trashed workflows bulk-loaded with set-based SQL; no `ANALYZE`
/// is run.
async fn pg_env(tag: &str, items: i64) -> (Env, String) {
    let db = pg::db_name(tag);
    pg::create_db(&db, None).await;
    let e = env_over(pg::store(&db).await, true).await;
    bulk_load_workflows(&pg::db_url(&db), items).await;
    (e, db)
}

/// Loads `items` trashed workflows of the bench workspace into the
/// database at `url` with one statement (`generate_series`), never through
/// the API.
async fn bulk_load_workflows(url: &str, items: i64) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    // Operations and their workflows in one statement: the foreign keys
    // between them are checked at its end.
    sqlx::query(
        "WITH ops AS ( \
             INSERT INTO trash_operations (id, workspace, root_kind, workflow_id, actor_kind, \
                 actor_id, actor_name, deleted_at, scheduled_cleanup_at, cleanup_delete_images, \
                 contains_versions, contains_trainings) \
             SELECT 'o' || lpad(g::text, 19, '0'), 'bench', 'workflow', \
                 'w' || lpad(g::text, 19, '0'), 'system', 'bench', 'bench', \
                 timestamptz '2026-01-01 00:00:00+00' + g * interval '1 millisecond', \
                 timestamptz '2026-01-31 00:00:00+00' + g * interval '1 millisecond', \
                 false, 0, 0 \
             FROM generate_series(1, $1) g RETURNING 1) \
         INSERT INTO workflows (id, workspace, slug, name, created_at, trash_op_id) \
         SELECT 'w' || lpad(g::text, 19, '0'), 'bench', 'wf-' || g, 'Workflow ' || g, \
             timestamptz '2026-01-01 00:00:00+00', 'o' || lpad(g::text, 19, '0') \
         FROM generate_series(1, $1) g",
    )
    .bind(items)
    .execute(&mut conn)
    .await
    .expect("bulk load");
}

/// First page of the PostgreSQL trash listing with 1,000 vs `large` items.
async fn pg_listing(large: i64) -> (Duration, Duration) {
    let (small_env, small_db) = pg_env("small", 1_000).await;
    let (large_env, large_db) = pg_env("large", large).await;
    // Alternately, so that load from elsewhere falls on both alike.
    let (mut small, mut big) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        small.push(first_page(&small_env, 20).await);
        big.push(first_page(&large_env, 20).await);
    }
    pg::drop_db(&small_db).await;
    pg::drop_db(&large_db).await;
    (median(small), median(big))
}

/// Creates a project with `versions` versions and a training on the first.
async fn project_with_versions(e: &Env, s: &str, versions: u32) {
    e.resources
        .create_project(&e.key, &e.ws, name(s), Some(slug(s)))
        .await
        .expect("project");
    for _ in 0..versions {
        e.resources
            .create_version(&e.key, &e.ws, &slug(s), None)
            .await
            .expect("version");
    }
    e.resources
        .create_training(&e.key, &e.ws, &slug(s), VersionNumber::FIRST)
        .await
        .expect("training");
}

/// Median times to create a version in a 1-version project and in one of
/// `versions` versions: a guarded write whose read must not grow with the
/// project. The two are timed alternately, so that load from elsewhere on
/// the machine falls on both alike.
async fn create_version_small_and_large(e: &Env, versions: u32) -> (Duration, Duration) {
    project_with_versions(e, "one", 1).await;
    project_with_versions(e, "many", versions).await;
    let (mut small, mut large) = (Vec::new(), Vec::new());
    for _ in 0..150 {
        for (s, times) in [("one", &mut small), ("many", &mut large)] {
            let t = Instant::now();
            e.resources
                .create_version(&e.key, &e.ws, &slug(s), None)
                .await
                .expect("version");
            times.push(t.elapsed());
        }
    }
    (median(small), median(large))
}

/// Runs this program again with `args` and parses what it prints: the
/// measurements that must not share this process (peak memory, load).
fn run_child<T: std::str::FromStr>(args: &[&std::ffi::OsStr]) -> T {
    let exe = std::env::current_exe().expect("own path");
    let out = Command::new(exe).args(args).output().expect("run child");
    assert!(
        out.status.success(),
        "child {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("child {args:?} printed {stdout:?}"))
}

/// Peak RSS (kB) of a child process that drains the cleanup backlog of `db`.
fn cleanup_peak_rss(db: &Path) -> u64 {
    run_child(&["--cleanup-child".as_ref(), db.as_os_str()])
}

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn cleanup_child(db: &Path) {
    let e = env(db, false).await;
    e.clock.set(start().plus(chrono::Duration::days(400)));
    let mut purged = 0;
    loop {
        let report = e.trash.purge_due(100).await.expect("cleanup");
        purged += report.purged;
        if report.claimed == 0 {
            break;
        }
    }
    assert!(purged > 0);
    println!("{}", vm_hwm_kb());
}

/// Seeds `total` trashed projects of which the first `due` are due when
/// the cleanup child runs; the rest are trashed later (not due then). Both
/// databases of the memory row hold the same rows, so SQLite's page caches
/// (bounded by `cache_size`, filled up to the database's size) weigh the
/// same in both, and the ratio shows only what grows with the backlog.
async fn seed_backlog(db: &Path, total: usize, due: usize) {
    let e = env(db, true).await;
    for i in 0..total {
        if i == due {
            // Trashed after this, due only after the child's clock.
            e.clock.set(start().plus(chrono::Duration::days(390)));
        }
        seed_trashed_project(&e, &format!("p{i}"), 1).await;
    }
}

/// Creates project `s` with one version and `images` images, then trashes
/// it with its images (a project as cleanup finds it).
async fn seed_trashed_project(e: &Env, s: &str, images: usize) {
    e.resources
        .create_project(&e.key, &e.ws, name(s), Some(slug(s)))
        .await
        .expect("project");
    e.resources
        .create_version(&e.key, &e.ws, &slug(s), None)
        .await
        .expect("version");
    for image in 0..images {
        e.resources
            .add_image(&e.key, &e.ws, &slug(s), name(&format!("img{image}")))
            .await
            .expect("image");
    }
    e.trash
        .trash_project(&e.key, &e.ws, &slug(s), true)
        .await
        .expect("trash");
}

/// The id of project `s`.
async fn project_id(e: &Env, s: &str) -> ProjectId {
    match e
        .resources
        .get_project(&e.key, &e.ws, &slug(s), Default::default())
        .await
    {
        Ok(view) => view.project.id,
        Err(err) => panic!("project {s}: {err}"),
    }
}

/// Rounds per second a separate process gets from the server at `url`
/// with `clients` keep-alive connections for `secs` seconds (the load does
/// not share this process's runtime with the server). `mode` is `list`
/// (`url` is the listing's whole URL) or `cycle` (`url` is the server;
/// `extra` holds the workspace, the key and one `slug:id` per client).
fn load_child(mode: &str, url: &str, clients: u32, secs: u64, extra: &[String]) -> f64 {
    let (clients, secs) = (clients.to_string(), secs.to_string());
    let mut args: Vec<&std::ffi::OsStr> = ["--load-child", mode, url, &clients, &secs]
        .into_iter()
        .map(std::ffi::OsStr::new)
        .collect();
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    run_child(&args)
}

/// The load: `clients` tasks, each on its own connection, going round
/// after round until `secs` have passed (a round started is finished);
/// every answer must succeed.
async fn load(mode: &str, url: &str, clients: u32, secs: u64, extra: &[String]) -> f64 {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients as usize)
        .build()
        .expect("client");
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for i in 0..clients as usize {
        let (client, url, mode) = (client.clone(), url.to_owned(), mode.to_owned());
        let extra = extra.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                if mode == "cycle" {
                    let (slug, id) = extra[2 + i].split_once(':').expect("slug:id");
                    pg::cycle(&client, &url, &extra[0], &extra[1], slug, id).await;
                } else {
                    let resp = client.get(&url).send().await.expect("request");
                    assert!(resp.status().is_success(), "{}", resp.status());
                    resp.bytes().await.expect("body");
                }
                done += 1;
            }
            done
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("load task");
    }
    total as f64 / started.elapsed().as_secs_f64()
}

struct Row {
    name: &'static str,
    baseline: String,
    measured: String,
    ratio: f64,
    target: f64,
    /// The ratio must reach the target (a rate against a ceiling) rather
    /// than stay under it (a cost against a baseline).
    higher: bool,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if args.get(1).map(String::as_str) == Some("--load-child") {
        let clients = args[4].parse().expect("clients");
        let secs = args[5].parse().expect("seconds");
        println!(
            "{}",
            rt.block_on(load(&args[2], &args[3], clients, secs, &args[6..]))
        );
        return ExitCode::SUCCESS;
    }
    if args.get(1).map(String::as_str) == Some("--cleanup-child") {
        rt.block_on(cleanup_child(Path::new(&args[2])));
        return ExitCode::SUCCESS;
    }
    let sizes = if args.iter().any(|a| a == "--quick") {
        QUICK
    } else {
        FULL
    };
    // `--sqlite` or `--postgres` runs only that store's rows.
    let sqlite = !args.iter().any(|a| a == "--postgres");
    let postgres = !args.iter().any(|a| a == "--sqlite");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rows = Vec::new();
    if sqlite {
        sqlite_rows(&rt, &sizes, dir.path(), &mut rows);
    }
    if postgres {
        postgres_rows(&rt, &sizes, dir.path(), &mut rows);
    }
    let smoke = args.iter().any(|a| a == "--smoke");
    let status = print_rows(&rows, smoke);
    if smoke {
        // CI's smoke run: every row ran end to end; its ratios, from
        // whatever build ran it, are shown but not enforced.
        eprintln!("smoke run: every row ran; ratios shown, not enforced");
        return ExitCode::SUCCESS;
    }
    status
}

/// The embedded store's rows (`trashd`'s default).
fn sqlite_rows(rt: &tokio::runtime::Runtime, sizes: &Sizes, dir: &Path, rows: &mut Vec<Row>) {
    eprintln!(
        "listing: first page with {} vs {} items in trash",
        sizes.list_small, sizes.list_large
    );
    let (small, large) = rt.block_on(listing(sizes, dir));
    rows.push(Row {
        name: "first page, 20x more trash",
        baseline: format!("{small:?}"),
        measured: format!("{large:?}"),
        ratio: large.as_secs_f64() / small.as_secs_f64(),
        target: 2.0,
        higher: false,
    });

    eprintln!(
        "cascade: trash+restore a project with {} vs {} versions (x10 trainings)",
        sizes.cascade_small, sizes.cascade_large
    );
    let (small, large) = rt.block_on(async {
        let e = env(&dir.join("cascade.db"), true).await;
        (
            cascade(&e, "small", sizes.cascade_small).await,
            cascade(&e, "large", sizes.cascade_large).await,
        )
    });
    let per_child = |d: Duration, v: u32| d.as_secs_f64() / f64::from(v * 11);
    rows.push(Row {
        name: "trash+restore, cost per child",
        baseline: format!("{:.1} µs", per_child(small, sizes.cascade_small) * 1e6),
        measured: format!("{:.1} µs", per_child(large, sizes.cascade_large) * 1e6),
        ratio: per_child(large, sizes.cascade_large) / per_child(small, sizes.cascade_small),
        target: 1.0,
        higher: false,
    });

    eprintln!(
        "narrow writes: create a version in a 1- vs {}-version project",
        sizes.versions_large
    );
    let (small, large) = rt.block_on(async {
        let e = env(&dir.join("narrow.db"), true).await;
        create_version_small_and_large(&e, sizes.versions_large).await
    });
    rows.push(Row {
        name: "create a version, many- vs 1-version project",
        baseline: format!("{small:?}"),
        measured: format!("{large:?}"),
        ratio: large.as_secs_f64() / small.as_secs_f64(),
        target: 1.5,
        higher: false,
    });

    eprintln!(
        "cleanup memory: draining {} vs {} due projects (databases of {} each)",
        sizes.backlog_small, sizes.backlog_large, sizes.backlog_large
    );
    let (small_db, large_db) = (dir.join("backlog-small.db"), dir.join("backlog-large.db"));
    rt.block_on(seed_backlog(
        &small_db,
        sizes.backlog_large,
        sizes.backlog_small,
    ));
    rt.block_on(seed_backlog(
        &large_db,
        sizes.backlog_large,
        sizes.backlog_large,
    ));
    let (small, large) = (cleanup_peak_rss(&small_db), cleanup_peak_rss(&large_db));
    rows.push(Row {
        name: "cleanup peak RSS, 10x backlog, same database",
        baseline: format!("{small} kB"),
        measured: format!("{large} kB"),
        ratio: large as f64 / small as f64,
        target: 1.3,
        higher: false,
    });
}

/// PostgreSQL's rows: against the database's own ceilings.
fn postgres_rows(rt: &tokio::runtime::Runtime, sizes: &Sizes, dir: &Path, rows: &mut Vec<Row>) {
    rt.block_on(pg::sweep_stale());
    eprintln!(
        "listing on PostgreSQL: first page with 1,000 vs {} items in trash (bulk-loaded, no ANALYZE)",
        sizes.pg_list_large
    );
    let (small, large) = rt.block_on(pg_listing(sizes.pg_list_large));
    rows.push(Row {
        name: "PostgreSQL first page, 1k vs 1M items (quick: 50k)",
        baseline: format!("{small:?}"),
        measured: format!("{large:?}"),
        ratio: large.as_secs_f64() / small.as_secs_f64(),
        target: 1.5,
        higher: false,
    });

    eprintln!(
        "listing over HTTP on PostgreSQL: 16 connections for {} s, then pgbench on the logged statements, {} round(s)",
        sizes.http_secs, sizes.rounds
    );
    let listing = rt.block_on(pg::listing_vs_pgbench(
        1_000,
        16,
        sizes.http_secs,
        sizes.rounds,
        dir,
    ));
    for (mode, tps, target) in [
        ("", listing.pgbench, 0.9),
        (
            ", plans reused (-M prepared)",
            listing.pgbench_prepared,
            0.8,
        ),
    ] {
        rows.push(Row {
            name: if mode.is_empty() {
                "PostgreSQL GET /{ws}/trash?limit=50, HTTP rps vs pgbench tps on its statements"
            } else {
                "same, vs pgbench with plans reused (-M prepared)"
            },
            baseline: format!("{tps:.0} tps ({} statements)", listing.statements),
            measured: format!("{:.0} rps", listing.http),
            ratio: listing.http / tps,
            target,
            higher: true,
        });
    }

    eprintln!(
        "trash + restore over HTTP on PostgreSQL: 16 projects of 3 versions for {} s, then one pgbench per project, {} round(s)",
        sizes.http_secs, sizes.rounds
    );
    let cycles = rt.block_on(pg::cycles_vs_pgbench(
        16,
        sizes.http_secs,
        sizes.rounds,
        dir,
    ));
    rows.push(Row {
        name: "PostgreSQL trash + restore (3 versions), HTTP cycles/s vs pgbench on its statements",
        baseline: format!("{:.0}/s ({} statements)", cycles.pgbench, cycles.statements),
        measured: format!("{:.0}/s", cycles.http),
        ratio: cycles.http / cycles.pgbench,
        target: 0.9,
        higher: true,
    });

    eprintln!(
        "cleanup on PostgreSQL: {} due projects (1 version, 2 images each), trashd vs raw batched DELETE on TEMPLATE copies",
        sizes.cleanup_projects
    );
    // `trashd`'s default `--cleanup-batch`, unless TRASH_BENCH_CLEANUP_BATCH says.
    let batch = std::env::var("TRASH_BENCH_CLEANUP_BATCH")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(500);
    eprintln!("  batches of {batch}");
    let (ours, raw) = rt.block_on(pg::cleanup_vs_raw(
        sizes.cleanup_projects,
        batch,
        sizes.rounds,
    ));
    rows.push(Row {
        name: "PostgreSQL cleanup, projects/s vs raw DELETE = ANY (100 per transaction)",
        baseline: format!("{raw:.0}/s"),
        measured: format!("{ours:.0}/s"),
        ratio: ours / raw,
        target: 0.6,
        higher: true,
    });
}

/// Prints the table; fails when a ratio misses its limit.
fn print_rows(rows: &[Row], smoke: bool) -> ExitCode {
    println!("| target | baseline | measured | ratio | limit | ok |");
    println!("|---|---|---|---|---|---|");
    let mut ok = true;
    for r in rows {
        let pass = if r.higher {
            r.ratio >= r.target
        } else {
            r.ratio <= r.target
        };
        ok &= pass;
        println!(
            "| {} | {} | {} | {:.2} | {} {:.1} | {} |",
            r.name,
            r.baseline,
            r.measured,
            r.ratio,
            if r.higher { "≥" } else { "≤" },
            r.target,
            match (pass, smoke) {
                (true, _) => "yes",
                (false, false) => "NO",
                (false, true) => "no (smoke: not enforced)",
            }
        );
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
