//! A flood of bogus sign-ins against the real binary: every one is
//! answered (401, or 429 once throttled or while every password check is
//! taken), the server still answers afterwards, and its memory stays
//! within a small bound instead of growing by one password check per
//! request in flight.

mod common;

use std::time::Duration;

use common::{Server, SqliteDb};

/// Bogus sign-ins sent at once.
const FLOOD: usize = 200;

/// Most the resident memory may grow by during the flood: one argon2
/// buffer (19 MiB) per password-check worker (one per CPU), and some room
/// for connections and allocator slack.
fn rss_bound_mib() -> u64 {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    40 + 20 * cpus
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("field") + marker.len();
    html[start..start + html[start..].find('"').expect("end")].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sign_in_flood_is_answered_and_memory_stays_flat() {
    let db = SqliteDb::new();
    let server = Server::start(&db.url, &["--no-cleanup"]);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let login = format!("{}/app/login", server.base);
    let form = client.get(&login).send().await.unwrap();
    let cookie = form
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .find_map(|v| {
            let v = v.to_str().ok()?;
            v.starts_with("trashd_login=")
                .then(|| v.split(';').next().unwrap().to_owned())
        })
        .expect("login cookie");
    let token = field(&form.text().await.unwrap(), "csrf_token");
    let before = rss_kib(server.pid());

    let mut tasks = Vec::new();
    for i in 0..FLOOD {
        let (client, login, cookie, token) =
            (client.clone(), login.clone(), cookie.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            client
                .post(&login)
                .header(reqwest::header::COOKIE, cookie)
                .form(&[
                    ("email", format!("nobody{i}@example.test")),
                    ("password", "not the password".to_owned()),
                    ("csrf_token", token),
                ])
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    let mut statuses = std::collections::BTreeMap::new();
    for t in tasks {
        let status = t.await.unwrap().expect("every sign-in is answered");
        *statuses.entry(status).or_insert(0) += 1;
    }
    let after = rss_kib(server.pid());
    assert!(
        statuses.keys().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    assert!(statuses.get(&429).copied().unwrap_or(0) > 0, "{statuses:?}");

    // Still serving: the API and the sign-in page answer.
    let health = client
        .get(format!("{}/healthz", server.base))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("answers after the flood");
    assert_eq!(health.status(), 200);
    let page = client
        .get(&login)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("the sign-in page answers");
    assert_eq!(page.status(), 200);

    let grown_mib = after.saturating_sub(before) / 1024;
    eprintln!(
        "sign-in flood of {FLOOD}: answers {statuses:?}; RSS {} MiB -> {} MiB (+{grown_mib} MiB)",
        before / 1024,
        after / 1024
    );
    assert!(
        grown_mib <= rss_bound_mib(),
        "RSS grew by {grown_mib} MiB during the flood"
    );
}
