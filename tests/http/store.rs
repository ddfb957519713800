//! The cache's second level: pages outlive a restart (on disk, the
//! default), instances share them (in Redis), a fleet renders each page
//! once, purges and edits reach every instance, a new build never serves an
//! old one's pages and warms the most requested before it is ready, and a
//! Redis that dies costs nothing but the sharing.
//!
//! The Redis tests use the Redis on 127.0.0.1:6379 (a namespace per test)
//! and skip where there is none, except under CI; the fault test starts a
//! `redis-server` of its own.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http::{Request, StatusCode};
use isr_cache::{Purge, PurgeMode};
use leptos_isr_starter::server::cache;
use tower::ServiceExt as _;

use crate::fixture::{Fixture, HOUR, policy};
use crate::helpers::{Backend, TestApp, TestResponse, postgres_unavailable, redis_store, x_cache};

/// A restart: a new instance (memory empty) on the same store file.
#[tokio::test]
async fn a_restart_serves_pages_stored_before_it_as_hits_counting_their_age() {
    let before = TestApp::start(Backend::Sqlite).await.expect("SQLite");
    let miss = before.get("/blog/hello-isr").await;
    assert_eq!(x_cache(&miss), "MISS");
    before.isr.idle().await; // written to the second level after the response
    before.clock.advance(Duration::from_secs(42));
    let after = before.another_instance().await;
    let hit = after.get("/blog/hello-isr").await;
    assert_eq!((x_cache(&hit), hit.header("age")), ("HIT", Some("42")));
    assert_eq!(hit.header("cache-status").map(|s| s.ends_with("detail=shared")), Some(true));
    assert_eq!(hit.body, miss.body, "the page stored before the restart");
    assert_eq!(after.isr.metrics().regenerations.get(), 0, "no render after the restart");
}

/// The server binary itself, on a free port, a database and a store file
/// of the test's own; stopped (SIGTERM, as systemd and `docker stop` do) on drop.
struct Process {
    child: std::process::Child,
    base: String,
}

/// A port nothing listens on now, for a server the test starts.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

impl Process {
    async fn start(dir: &std::path::Path) -> Self {
        let port = free_port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_leptos-isr-starter"))
            .env("DATABASE_URL", format!("sqlite://{}/app.db?mode=rwc", dir.display()))
            .env("ISR_STORE_URL", format!("sqlite://{}/isr/cache.db", dir.display()))
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LEPTOS_SITE_ROOT", "target/site")
            .env("LEPTOS_OUTPUT_NAME", "leptos-isr-starter")
            .env("ISR_WARM_PATHS", "/")
            .env("ISR_WARM_LIMIT", "1")
            .env("SEED_DEMO", "true")
            .env("RUST_LOG", "warn")
            // Seconds, not 50 ms: a test machine busy building must not turn
            // a slow read into a miss the test did not expect.
            .env("ISR_STORE_TIMEOUT_MS", "2000")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("the server binary starts");
        let process = Self { child, base: format!("http://127.0.0.1:{port}") };
        let ready = tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                if let Ok(response) = reqwest::get(format!("{}/healthz/ready", process.base)).await
                    && response.status() == StatusCode::OK
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        ready.await.expect("the server is ready within a minute");
        process
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::get(format!("{}{path}", self.base)).await.expect("the server answers")
    }

    /// A counter of `/metrics` (the test is a loopback peer).
    async fn metric(&self, name: &str) -> u64 {
        let text = self.get("/metrics").await.text().await.expect("metrics");
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
            .map_or(0, |value| value as u64)
    }

    fn stop(mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The real thing: the server binary stopped and started again on the
/// default store (a file): the first request is a hit, and nothing renders.
#[tokio::test]
async fn the_server_restarted_serves_its_pages_from_disk_without_rendering() {
    let dir = tempfile::tempdir().expect("temp dir");
    let before = Process::start(dir.path()).await;
    let miss = before.get("/blog/hello-isr").await;
    assert_eq!(miss.headers()["x-cache"], "MISS");
    let page = miss.text().await.expect("body");
    // Written after the response: wait for it, not for a time.
    let written = tokio::time::timeout(Duration::from_secs(10), async {
        while before.metric("isr_cache_level2_writes_total").await < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    written.await.expect("the page (and the warm-up's) reached the file");
    before.stop();

    let after = Process::start(dir.path()).await;
    let renders = after.metric("isr_cache_regenerations_total").await;
    let hit = after.get("/blog/hello-isr").await;
    assert_eq!(hit.headers()["x-cache"], "HIT");
    let status = hit.headers()["cache-status"].to_str().expect("ascii").to_owned();
    assert!(status.ends_with("detail=shared"), "{status}");
    assert!(hit.headers().contains_key("age"));
    assert_eq!(hit.text().await.expect("body"), page, "the page rendered before the restart");
    assert_eq!(after.metric("isr_cache_regenerations_total").await, renders, "no render for it");
}

/// A database made afresh never gets the pages of the one it replaced, even
/// from the same build and store file.
#[tokio::test]
async fn a_database_made_afresh_never_gets_the_old_ones_pages() {
    let old = TestApp::start(Backend::Sqlite).await.expect("SQLite");
    old.get("/blog/hello-isr").await;
    old.isr.idle().await;
    let store = old.config.isr.store.clone();
    let leptos_isr_starter::config::IsrStore::Disk(path) = store else { panic!("a file") };
    let url = format!("sqlite://{}", path.display());
    let fresh = TestApp::start_with_vars(&[("ISR_STORE_URL", url)]).await;
    assert!(fresh.isr.has_second_level());
    assert_eq!(x_cache(&fresh.get("/blog/hello-isr").await), "MISS");
}

/// A store file at its bound (`ISR_STORE_MAX_MB`, as a full disk) costs
/// the sharing, not the pages.
#[tokio::test]
async fn a_full_store_file_costs_only_the_sharing() {
    let (app, fixture) = Fixture::start_with(policy(), &[("ISR_STORE_MAX_MB", "1".into())]).await;
    for i in 0..400 {
        let page = app.get(&format!("/fixture/page-{i}")).await;
        assert_eq!(page.status, StatusCode::OK, "page {i}");
    }
    app.isr.idle().await;
    let metrics = app.isr.metrics();
    assert!(metrics.level2_errors.get() > 0, "the full file is noticed");
    assert!(metrics.level2_writes.get() < 400, "{} pages written", metrics.level2_writes.get());
    assert_eq!(x_cache(&app.get("/fixture/page-399").await), "HIT", "memory keeps serving");
    assert_eq!(fixture.renders(), 400);
}

/// Pages that were not found stay in memory: any URL can be one.
#[tokio::test]
async fn not_found_pages_are_not_written_to_the_second_level() {
    let app = TestApp::start(Backend::Sqlite).await.expect("SQLite");
    assert_eq!(app.get("/blog/no-such-post").await.status, StatusCode::NOT_FOUND);
    app.isr.idle().await;
    assert_eq!(app.isr.metrics().level2_writes.get(), 0);
    app.get("/blog/hello-isr").await;
    app.isr.idle().await;
    assert_eq!(app.isr.metrics().level2_writes.get(), 1);
}

/// A store file that cannot be opened leaves the cache in memory.
#[tokio::test]
async fn a_store_file_that_cannot_be_opened_leaves_the_cache_in_memory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let blocked = dir.path().join("a-file");
    std::fs::write(&blocked, "not a folder").expect("write");
    let url = format!("sqlite://{}/cache.db", blocked.display());
    let app = TestApp::start_with_vars(&[("ISR_STORE_URL", url)]).await;
    assert!(!app.isr.has_second_level());
    app.get("/blog/hello-isr").await;
    assert_eq!(x_cache(&app.get("/blog/hello-isr").await), "HIT", "memory still serves");
}

/// A new build shares the store but never its pages, and renders the pages
/// requested most (of the old build) before `/healthz/ready` says 200.
#[tokio::test]
async fn a_new_build_never_serves_an_old_ones_pages_and_warms_its_top_pages_first() {
    let old = TestApp::start_with_vars(&[
        ("ISR_BUILD_ID", "one".to_owned()),
        ("ISR_WARM_TOP", "2".to_owned()),
        ("ISR_WARM_PATHS", "/about-nothing".to_owned()),
        ("ISR_WARM_LIMIT", "1".to_owned()),
    ])
    .await;
    for (page, times) in [("/blog/hello-isr", 3), ("/products/1", 2), ("/blog", 1)] {
        for _ in 0..times {
            assert_eq!(old.get(page).await.status, StatusCode::OK, "{page}");
        }
    }
    old.isr.idle().await;
    old.isr.flush_requests().await;

    let peek = old.another_build("two").await;
    assert_eq!(
        x_cache(&peek.get("/blog/hello-isr").await),
        "MISS",
        "the old build's page is not served"
    );

    let new = old.another_build("three").await;
    let not_yet = new.get("/healthz/ready").await;
    assert_eq!(
        (not_yet.status, not_yet.json()["ready"].as_bool()),
        (StatusCode::SERVICE_UNAVAILABLE, Some(false))
    );
    assert_eq!(new.get("/healthz/live").await.status, StatusCode::OK, "live at once");
    let report = cache::warm(new.router(), &new.config, &new.isr, &new.state.ready).await;
    assert_eq!(report.requested, 3, "the two most requested pages, then ISR_WARM_PATHS");
    assert_eq!(new.get("/healthz/ready").await.status, StatusCode::OK);
    let renders = new.isr.metrics().regenerations.get();
    for page in ["/blog/hello-isr", "/products/1"] {
        let warmed = new.get(page).await;
        assert_eq!(x_cache(&warmed), "HIT", "{page} was warmed");
    }
    assert_eq!(x_cache(&new.get("/blog").await), "MISS", "the third page was not");
    assert_eq!(new.isr.metrics().regenerations.get(), renders + 1);
}

/// Sends `path` to `app` from a task of its own.
fn spawn_get(app: &TestApp, path: &'static str) -> tokio::task::JoinHandle<TestResponse> {
    let router = app.router();
    tokio::spawn(async move {
        let request = Request::get(path).body(Body::empty()).expect("request");
        let response = router.oneshot(request).await.expect("infallible");
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX).await.expect("body");
        TestResponse {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    })
}

/// 100 requests, every other one to each instance.
async fn hundred_across(
    first: &TestApp,
    second: &TestApp,
    path: &'static str,
) -> Vec<TestResponse> {
    let requests: Vec<_> =
        (0..100).map(|i| spawn_get(if i % 2 == 0 { first } else { second }, path)).collect();
    let mut responses = Vec::new();
    for request in requests {
        responses.push(request.await.expect("joined"));
    }
    responses
}

#[tokio::test]
async fn two_instances_on_redis_render_a_cold_page_once_and_a_stale_one_once() {
    let Some(vars) = redis_store() else { return };
    let (first, fixture) = Fixture::start_with(policy(), &vars).await;
    let second = first.another_instance().await;

    let cold = hundred_across(&first, &second, "/fixture/cold").await;
    assert!(cold.iter().all(|r| r.status == StatusCode::OK && r.body.contains("version 0")));
    let why = || {
        [&first, &second].map(|app| {
            let metrics = app.isr.metrics();
            let counts = [&metrics.leases_taken, &metrics.lease_waits, &metrics.level2_errors];
            counts.map(|counter| counter.get())
        })
    };
    assert_eq!(
        fixture.renders(),
        1,
        "one render in both instances; [leases, waits, errors]: {:?}",
        why()
    );

    first.clock.advance(HOUR + Duration::from_secs(1));
    let stale = hundred_across(&first, &second, "/fixture/cold").await;
    assert!(stale.iter().all(|r| r.status == StatusCode::OK), "no errors");
    assert!(stale.iter().all(|r| x_cache(r) == "STALE"), "the old page at once");
    first.isr.idle().await;
    second.isr.idle().await;
    assert_eq!(fixture.renders(), 2, "one regeneration in both instances");
    for app in [&first, &second] {
        assert_eq!(x_cache(&app.get("/fixture/cold").await), "HIT", "both have the new page");
    }
}

#[tokio::test]
async fn a_purge_racing_a_render_on_the_other_instance_wins_on_redis() {
    let Some(vars) = redis_store() else { return };
    let (first, fixture) = Fixture::start_with(policy(), &vars).await;
    let second = first.another_instance().await;

    fixture.hold();
    let rendering = spawn_get(&second, "/fixture/raced");
    fixture.entered(1).await;
    // The second instance has read version 0; the data changes and is purged.
    fixture.edit();
    first.state.purger.purge(&Purge::tags(["fixture:raced"], PurgeMode::Hard), "test").await;
    fixture.open();
    assert!(rendering.await.expect("joined").body.contains("version 0"));
    second.isr.idle().await;

    let third = first.another_instance().await;
    let got = third.get("/fixture/raced").await;
    assert_eq!(x_cache(&got), "MISS", "the page written after the purge is not served");
    assert!(got.body.contains("version 1"), "{}", got.body);
}

#[tokio::test]
async fn an_edit_on_one_instance_is_a_miss_then_fresh_on_the_other_on_redis() {
    let Some(vars) = redis_store() else { return };
    let Some(first) = TestApp::start_on(Backend::Postgres, &vars).await else {
        return postgres_unavailable();
    };
    let second = first.another_instance().await;
    for app in [&first, &second] {
        app.get("/blog/hello-isr").await;
        app.isr.idle().await;
        assert_eq!(x_cache(&app.get("/blog/hello-isr").await), "HIT");
    }
    assert_eq!(
        first.isr.metrics().regenerations.get() + second.isr.metrics().regenerations.get(),
        1
    );

    first.edit_hello_isr_as_admin("Edited on the first").await;
    // The second instance's memory hears of it through NOTIFY.
    second.heard_purges(1).await;

    let miss = second.get("/blog/hello-isr").await;
    assert_eq!(x_cache(&miss), "MISS");
    assert!(miss.body.contains("Edited on the first"));
    let fresh = second.get("/blog/hello-isr").await;
    assert_eq!(x_cache(&fresh), "HIT");
    assert!(fresh.body.contains("Edited on the first"));
}

/// A `redis-server` of the test's own, on a free port.
struct RedisServer {
    port: u16,
    child: std::process::Child,
}

impl RedisServer {
    /// Started and answering; `None` (the test skipped) where `redis-server`
    /// is not installed, except under CI.
    async fn start() -> Option<Self> {
        Self::start_on(free_port()).await
    }

    async fn start_on(port: u16) -> Option<Self> {
        let spawned = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn();
        let Ok(child) = spawned else {
            let ci = std::env::var_os("CI").is_some_and(|value| !value.is_empty());
            assert!(!ci, "CI is set, but redis-server is not installed: the Redis tests must run");
            eprintln!("skipped: redis-server is not installed");
            return None;
        };
        let server = Self { port, child };
        let answers = tokio::time::timeout(Duration::from_secs(10), async {
            while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        answers.await.expect("redis-server answers");
        Some(server)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
async fn redis_dying_mid_traffic_costs_no_errors_and_is_shared_again_once_back() {
    let Some(mut redis) = RedisServer::start().await else { return };
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let (app, _fixture) = Fixture::start_with(policy(), &[("ISR_STORE_URL", url)]).await;
    assert_eq!(x_cache(&app.get("/fixture/steady").await), "MISS");
    app.isr.idle().await;
    assert_eq!(app.isr.metrics().level2_writes.get(), 1, "shared while Redis is up");

    // Traffic throughout: a page in memory, and new pages.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let traffic = tokio::spawn({
        let (router, stop) = (app.router(), stop.clone());
        async move {
            let mut statuses = Vec::new();
            let mut hits = 0;
            for i in 0.. {
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                for path in ["/fixture/steady".to_owned(), format!("/fixture/page-{}", i % 50)] {
                    let request = Request::get(path.as_str()).body(Body::empty()).expect("request");
                    let response = router.clone().oneshot(request).await.expect("infallible");
                    statuses.push(response.status());
                    if path == "/fixture/steady" && response.headers()["x-cache"] == "HIT" {
                        hits += 1;
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (statuses, hits)
        }
    });

    redis.kill();
    let alone = app.get("/fixture/while-down").await;
    assert_eq!((alone.status, x_cache(&alone)), (StatusCode::OK, "MISS"), "rendered alone");
    assert!(app.isr.metrics().level2_errors.get() > 0, "the failure is counted");

    let _redis = RedisServer::start_on(redis.port).await.expect("restarted");
    let writes = app.isr.metrics().level2_writes.get();
    let shared_again = tokio::time::timeout(Duration::from_secs(20), async {
        for i in 0.. {
            app.get(&format!("/fixture/after-{i}")).await;
            app.isr.idle().await;
            if app.isr.metrics().level2_writes.get() > writes {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(shared_again.is_ok(), "pages are written to Redis again once it is back");

    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (statuses, hits) = traffic.await.expect("joined");
    assert!(statuses.iter().all(|status| !status.is_server_error()), "no 5xx: {statuses:?}");
    assert!(hits > 0, "memory kept serving hits");
}

#[tokio::test]
async fn a_redis_down_at_start_up_is_used_once_it_answers() {
    // A free port with no Redis on it yet (`redis-server` must be installed,
    // or the test is skipped, as `RedisServer::start` says).
    let Some(probe) = RedisServer::start().await else { return };
    let port = probe.port;
    drop(probe);
    let url = format!("redis://127.0.0.1:{port}");
    let (app, _fixture) = Fixture::start_with(policy(), &[("ISR_STORE_URL", url)]).await;
    assert!(!app.isr.has_second_level(), "nothing to share with yet");
    assert_eq!(app.get("/fixture/early").await.status, StatusCode::OK, "served from memory");

    let _redis = RedisServer::start_on(port).await.expect("started");
    let attached = tokio::time::timeout(Duration::from_secs(20), async {
        while !app.isr.has_second_level() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    assert!(attached.await.is_ok(), "Redis is tried again until it answers");
    app.get("/fixture/late").await;
    app.isr.idle().await;
    assert_eq!(app.isr.metrics().level2_writes.get(), 1, "and pages are shared from then on");
}
