//! The web Trash view in a real browser: headless Chromium (Debian's
//! `chromium` and `chromium-driver`, installed by `scripts/browser-deps.sh`
//! when missing) driven over WebDriver with `fantoccini`, against the real
//! `trashd` binary.
//!
//! It signs in, sees what was trashed through the API, filters, restores
//! (and sees it back through the API), deletes forever through the
//! confirmation page (and sees the item and its exclusive image gone from
//! the API), signs in with the keyboard alone on a phone-sized window,
//! checks a member sees no destructive control, empties a trash of a few
//! hundred items as a background job (the page shows its progress until
//! it is done) and signs out (the old cookie no longer works). At 1280 px
//! and 390 px wide it checks that nothing scrolls sideways, runs axe-core (npm, pinned
//! by the script, injected into the page by the test) requiring no serious
//! or critical violation, and saves screenshots under
//! `target/screenshots/`.

mod common;

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{id_of, trashd_command, workspace_with_key, Api, Server, SqliteDb};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

/// The WebDriver keys Tab and Enter.
const TAB: char = '\u{E004}';
const ENTER: char = '\u{E007}';

/// Items trashed through the API before the trash is emptied.
const EXTRA: usize = 300;

/// What `scripts/browser-deps.sh` found or installed.
struct Deps {
    chromium: String,
    chromedriver: String,
    axe: String,
}

fn root() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/trashd sits two levels below the repository root")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Runs the dependency script; it installs what is missing or fails.
fn deps() -> Deps {
    let output = Command::new("bash")
        .arg(root().join("scripts/browser-deps.sh"))
        .current_dir(root())
        .stdin(Stdio::null())
        .output()
        .expect("bash runs scripts/browser-deps.sh");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "scripts/browser-deps.sh failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let value = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("browser-deps.sh printed no {key}= line:\n{stdout}"))
            .to_owned()
    };
    Deps {
        chromium: value("chromium"),
        chromedriver: value("chromedriver"),
        axe: value("axe"),
    }
}

/// A running chromedriver in a process group of its own, which the
/// browsers it starts join: on drop the whole group is stopped, so a
/// failing test leaves no browser behind.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver(path: &str) -> Driver {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(path)
        .process_group(0)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "chromedriver did not listen"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    driver
}

/// A headless Chromium window of the given size.
async fn browser(driver: &Driver, deps: &Deps, width: u32, height: u32) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": deps.chromium,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-extensions",
                "--force-device-scale-factor=1",
                format!("--window-size={width},{height}"),
            ],
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session");
    client
        .set_window_size(width, height)
        .await
        .expect("window size");
    client
}

/// Waits until the current address contains `part`.
async fn wait_for_url(c: &Client, part: &str) -> String {
    let start = Instant::now();
    loop {
        let url = c.current_url().await.expect("current url").to_string();
        if url.contains(part) {
            return url;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "never reached a page with {part:?} (at {url})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .text()
        .await
        .expect("text")
}

async fn count(c: &Client, css: &str) -> usize {
    c.find_all(Locator::Css(css)).await.expect("find").len()
}

async fn sign_in(c: &Client, base: &str, email: &str) {
    c.goto(&format!("{base}/app/login"))
        .await
        .expect("login page");
    c.find(Locator::Id("email"))
        .await
        .expect("e-mail field")
        .send_keys(email)
        .await
        .expect("type");
    c.find(Locator::Id("password"))
        .await
        .expect("password field")
        .send_keys(PASSWORD)
        .await
        .expect("type");
    c.find(Locator::Css("button[type=submit]"))
        .await
        .expect("sign-in button")
        .click()
        .await
        .expect("click");
    wait_for_url(c, "/app/acme/trash").await;
    assert_eq!(text_of(c, "h1").await, "Trash of acme");
}

/// The page fits its viewport (no sideways scroll), has no serious or
/// critical axe-core violation, and is saved as `target/screenshots/{name}.png`.
async fn check_page(c: &Client, axe: &str, name: &str, width: u32) {
    let sizes = c
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .expect("sizes");
    let scroll = sizes[0].as_u64().expect("scrollWidth");
    let inner = sizes[1].as_u64().expect("innerWidth");
    assert_eq!(
        inner,
        u64::from(width),
        "{name}: the window is {width} px wide"
    );
    assert!(
        scroll <= inner,
        "{name}: the page is {scroll} px wide in a {inner} px viewport"
    );

    let dir = target_dir().join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("save screenshot");

    c.execute(axe, vec![]).await.expect("axe-core loads");
    let result = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then(r => done(r.violations.map(v => ({
                   id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.map(n => n.target.join(' ')) }))))
               .catch(e => done({ error: String(e) }));",
            vec![],
        )
        .await
        .expect("axe-core runs");
    let violations = result
        .as_array()
        .unwrap_or_else(|| panic!("axe failed: {result}"));
    let bad: Vec<&Value> = violations
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .collect();
    assert!(
        bad.is_empty(),
        "{name}: serious or critical axe-core violations: {}",
        serde_json::to_string_pretty(&bad).unwrap_or_default()
    );
    if !violations.is_empty() {
        eprintln!(
            "{name}: minor axe-core findings: {}",
            Value::from(violations.clone())
        );
    }
}

fn create_user(db: &str, email: &str, role: &str) {
    let out = trashd_command(db, &["admin", "create-user", "acme", email, "--role", role])
        .env("TRASHD_PASSWORD", PASSWORD)
        .output()
        .expect("trashd runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn trash_listing(api: &Api) -> Vec<String> {
    let (status, body) = api.get("/acme/trash").await;
    assert_eq!(status, 200, "{body}");
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trash_view_works_in_a_browser_at_both_widths() {
    let deps = deps();
    let axe = std::fs::read_to_string(&deps.axe).expect("axe.min.js");
    let db = SqliteDb::new();
    let key = workspace_with_key(&db.url, "acme");
    create_user(&db.url, "owner@acme.test", "owner");
    create_user(&db.url, "member@acme.test", "member");
    let server = Server::start(&db.url, &["--no-cleanup"]);
    let base = server.base.clone();
    let api = Api::new(&server, &key);

    // Trashed through the API: a project with two versions and an image of
    // its own, one with a version, a workflow, and a few more projects.
    let parking = api
        .post_ok(
            "/acme/projects",
            json!({"name": "Parking Lot", "url": "parking-lot"}),
        )
        .await;
    for _ in 0..2 {
        api.post_ok("/acme/parking-lot/versions", json!({})).await;
    }
    let image = id_of(
        &api.post_ok("/acme/parking-lot/images", json!({"name": "car.jpg"}))
            .await,
    );
    api.post_ok(
        "/acme/projects",
        json!({"name": "Hard Hats", "url": "hard-hats"}),
    )
    .await;
    api.post_ok("/acme/hard-hats/versions", json!({})).await;
    api.post_ok(
        "/acme/workflows",
        json!({"name": "Count Vehicles", "url": "count-vehicles"}),
    )
    .await;
    for n in 1..=4 {
        api.post_ok(
            "/acme/projects",
            json!({"name": format!("Old Experiment {n}"), "url": format!("old-{n}")}),
        )
        .await;
        assert_eq!(api.delete(&format!("/acme/old-{n}")).await.0, 200);
    }
    for path in [
        "/acme/workflows/count-vehicles",
        "/acme/hard-hats",
        "/acme/parking-lot",
    ] {
        assert_eq!(api.delete(path).await.0, 200, "{path}");
    }

    let driver = start_driver(&deps.chromedriver);

    // --- 1280 px: the owner.
    let c = browser(&driver, &deps, 1280, 900).await;
    sign_in(&c, &base, "owner@acme.test").await;
    assert_eq!(count(&c, "li.item").await, 7);
    let first = text_of(&c, "li.item").await;
    assert!(first.contains("Parking Lot"), "newest first: {first}");
    assert!(first.contains("with 2 versions"), "{first}");
    assert!(
        first.contains("Trashed just now") && first.contains("in 29 days"),
        "{first}"
    );
    check_page(&c, &axe, "trash-1280", 1280).await;

    // Filter by type, then search by name.
    c.find(Locator::Id("filter-type"))
        .await
        .expect("type filter")
        .select_by_value("workflow")
        .await
        .expect("select");
    c.find(Locator::Css("form.filters button[type=submit]"))
        .await
        .expect("filter button")
        .click()
        .await
        .expect("click");
    wait_for_url(&c, "type=workflow").await;
    assert_eq!(count(&c, "li.item").await, 1);
    assert!(text_of(&c, "li.item h3").await.contains("Count Vehicles"));
    c.goto(&format!("{base}/app/acme/trash"))
        .await
        .expect("page");
    c.find(Locator::Id("filter-q"))
        .await
        .expect("search field")
        .send_keys("experiment")
        .await
        .expect("type");
    c.find(Locator::Css("form.filters button[type=submit]"))
        .await
        .expect("filter button")
        .click()
        .await
        .expect("click");
    wait_for_url(&c, "q=experiment").await;
    assert_eq!(count(&c, "li.item").await, 4);

    // Restore one and see it back through the API.
    c.goto(&format!("{base}/app/acme/trash"))
        .await
        .expect("page");
    c.find(Locator::Css("button[aria-label='Restore Hard Hats']"))
        .await
        .expect("restore button")
        .click()
        .await
        .expect("click");
    wait_for_url(&c, "msg=restored").await;
    assert_eq!(text_of(&c, ".note").await, "Restored.");
    assert_eq!(api.get("/acme/hard-hats").await.0, 200);

    // Delete one forever through the confirmation, which says what goes.
    c.find(Locator::Css("a[aria-label='Delete Parking Lot forever…']"))
        .await
        .expect("delete forever link")
        .click()
        .await
        .expect("click");
    wait_for_url(&c, "/trash/delete-forever?").await;
    let destroyed = text_of(&c, "ul.destroyed").await;
    for line in [
        "2 versions",
        "0 trainings",
        "1 image that no other project links",
    ] {
        assert!(destroyed.contains(line), "{line} in {destroyed}");
    }
    check_page(&c, &axe, "confirm-1280", 1280).await;
    c.find(Locator::Id("confirm"))
        .await
        .expect("confirmation field")
        .send_keys("Parking Lot")
        .await
        .expect("type");
    c.find(Locator::Css("button.danger"))
        .await
        .expect("delete button")
        .click()
        .await
        .expect("click");
    wait_for_url(&c, "msg=deleted").await;
    assert_eq!(text_of(&c, ".note").await, "Deleted forever.");
    assert!(!trash_listing(&api)
        .await
        .contains(&"Parking Lot".to_owned()));
    assert_eq!(api.get(&format!("/acme/images/{image}")).await.0, 404);
    assert_eq!(
        api.get(&format!(
            "/acme/{}",
            parking["url"].as_str().unwrap_or("parking-lot")
        ))
        .await
        .0,
        404
    );
    let activity = text_of(&c, "#activity ol").await;
    assert!(
        activity.starts_with("owner@acme.test deleted project"),
        "newest first: {activity}"
    );

    // --- 390 px: the same pages on a phone.
    let phone = browser(&driver, &deps, 390, 844).await;
    phone
        .goto(&format!("{base}/app/login"))
        .await
        .expect("login page");
    check_page(&phone, &axe, "login-390", 390).await;
    // With the keyboard alone: the e-mail field, Tab to the password,
    // Enter to sign in.
    phone
        .find(Locator::Id("email"))
        .await
        .expect("e-mail field")
        .click()
        .await
        .expect("focus");
    let typing = |text: String| {
        let phone = phone.clone();
        async move {
            phone
                .active_element()
                .await
                .expect("a focused element")
                .send_keys(&text)
                .await
                .expect("type");
        }
    };
    typing(format!("owner@acme.test{TAB}")).await;
    let focused = phone
        .active_element()
        .await
        .expect("focus")
        .attr("id")
        .await;
    assert_eq!(
        focused.expect("attr").as_deref(),
        Some("password"),
        "Tab moves to the password"
    );
    typing(format!("{PASSWORD}{ENTER}")).await;
    wait_for_url(&phone, "/app/acme/trash").await;
    assert_eq!(text_of(&phone, "h1").await, "Trash of acme");
    check_page(&phone, &axe, "trash-390", 390).await;
    phone
        .find(Locator::Css(
            "a[aria-label='Delete Count Vehicles forever…']",
        ))
        .await
        .expect("delete forever link")
        .click()
        .await
        .expect("click");
    wait_for_url(&phone, "/trash/delete-forever?").await;
    assert!(text_of(&phone, "ul.destroyed")
        .await
        .contains("Count Vehicles"));
    check_page(&phone, &axe, "confirm-390", 390).await;
    phone.close().await.expect("close");

    // --- A member sees no destructive control.
    let member = browser(&driver, &deps, 1280, 900).await;
    sign_in(&member, &base, "member@acme.test").await;
    assert!(
        count(&member, "li.item button").await > 0,
        "restore buttons"
    );
    assert_eq!(count(&member, "a.danger-outline").await, 0);
    assert_eq!(count(&member, "#empty-confirm").await, 0);
    check_page(&member, &axe, "trash-member-1280", 1280).await;
    member.close().await.expect("close");

    // --- Empty a few hundred items in the background, with progress,
    // then sign out: the old cookie no longer works.
    for n in 0..EXTRA {
        api.post_ok(
            "/acme/projects",
            json!({"name": format!("Bulk {n}"), "url": format!("bulk-{n}")}),
        )
        .await;
        assert_eq!(api.delete(&format!("/acme/bulk-{n}")).await.0, 200);
    }
    let in_trash = trash_listing(&api).await.len();
    assert_eq!(in_trash, EXTRA + 5);
    c.goto(&format!("{base}/app/acme/trash"))
        .await
        .expect("page");
    c.find(Locator::Id("empty-confirm"))
        .await
        .expect("empty confirmation")
        .send_keys("acme")
        .await
        .expect("type");
    c.find(Locator::Css("section.danger-zone button.danger"))
        .await
        .expect("empty button")
        .click()
        .await
        .expect("click");
    wait_for_url(&c, "msg=emptying").await;
    // The page reloads itself while the job runs; it ends with the report.
    let start = Instant::now();
    let mut seen_running = false;
    let report = loop {
        // The page may be reloading: a failed look is tried again.
        if let Ok(panel) = c.find(Locator::Css("#empty-progress")).await {
            if let Ok(text) = panel.text().await {
                if text.starts_with("The trash was emptied") {
                    break text;
                }
                if text.starts_with("Emptying the trash") && !seen_running {
                    seen_running = true;
                    assert!(text.contains(&format!(" of {in_trash} items")), "{text}");
                    check_page(&c, &axe, "emptying-1280", 1280).await;
                }
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the trash was not emptied within a minute"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!("empty trash of {in_trash} items: progress seen: {seen_running}; {report}");
    assert!(
        report.contains(&format!("{in_trash} items were removed for good")),
        "{report}"
    );
    assert!(trash_listing(&api).await.is_empty());
    assert_eq!(text_of(&c, ".empty h2").await, "The trash is empty.");
    check_page(&c, &axe, "empty-1280", 1280).await;
    let cookie = c
        .get_named_cookie("trashd_session")
        .await
        .expect("session cookie");
    let cookie = format!("trashd_session={}", cookie.value());
    c.find(Locator::Css("header.bar button"))
        .await
        .expect("sign-out button")
        .click()
        .await
        .expect("click");
    wait_for_url(&c, "/app/login").await;
    let old = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("{base}/app/acme/trash"))
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await
        .expect("answered");
    assert_eq!(old.status(), 303, "the old cookie is refused");
    assert_eq!(old.headers()[reqwest::header::LOCATION], "/app/login");
    c.close().await.expect("close");
}
