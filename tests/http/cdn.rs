//! A real Varnish in front of the app, running `deploy/varnish/default.vcl`:
//! the app's headers alone make it do ISR (hits, a stale page served at once
//! while one background fetch refreshes it, personal pages passed through,
//! the last good page served past the SWR window when the app fails or is
//! down), and the app's purges reach it (a `BAN` by tag, every item matched
//! literally). `/metrics` through it needs the token. And the calls the app
//! makes to the Cloudflare and Fastly purge APIs, received by a stand-in server.
//!
//! Needs `varnishd` (`scripts/test` installs Debian's varnish). Where it is
//! missing the tests say so and pass, except under CI (`CI` set), where a
//! missing Varnish is a failure.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use http::StatusCode;
use isr_cache::CachePolicy;

use crate::fixture::Fixture;
use crate::helpers::{REVALIDATE_TOKEN, Server, TestApp};

/// A `varnishd` in the foreground on a port of its own; killed on drop.
struct Varnish {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Varnish {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `varnishd`: Debian puts it in /usr/sbin, which a user's PATH may lack.
fn varnishd() -> &'static str {
    if Path::new("/usr/sbin/varnishd").exists() { "/usr/sbin/varnishd" } else { "varnishd" }
}

fn varnishd_installed() -> bool {
    let found = Command::new(varnishd()).arg("-V").output().is_ok_and(|out| out.status.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "varnishd is missing (scripts/test installs it)");
        eprintln!("varnishd not installed: the CDN tests are skipped");
    }
    found
}

/// The port a `varnishd` whose working directory is `workdir` listens on,
/// once it does: `debug.listen_address` answers `a0 127.0.0.1 37285`.
fn listen_port(workdir: &Path) -> Option<u16> {
    let answer = Command::new("varnishadm")
        .args(["-t", "5", "-n", &workdir.to_string_lossy(), "debug.listen_address"])
        .output()
        .ok()
        .filter(|answer| answer.status.success())?;
    String::from_utf8_lossy(&answer.stdout).split_whitespace().nth(2)?.parse().ok()
}

impl Varnish {
    /// Varnish in front of the app at `backend`, on a port it picks itself
    /// (`-a 127.0.0.1:0`) and reports once it listens: a port chosen here and
    /// handed to it would be free for another test to take in between.
    async fn start(backend: SocketAddr) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let vcl = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/varnish/default.vcl"),
        )
        .expect("deploy/varnish/default.vcl")
        .replace(r#".port = "3000";"#, &format!(r#".port = "{}";"#, backend.port()));
        let vcl_path = dir.path().join("default.vcl");
        std::fs::write(&vcl_path, vcl).expect("write the VCL");
        let workdir = dir.path().join("work");
        let child = Command::new(varnishd())
            .arg("-F")
            .args(["-n", &workdir.to_string_lossy()])
            .args(["-a", "127.0.0.1:0"])
            .args(["-f", &vcl_path.to_string_lossy()])
            .args(["-s", "malloc,32m"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start varnishd");
        let mut varnish = Self { child, url: String::new(), _dir: dir };
        // It compiles the VCL, then starts the child that listens.
        let port = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                if let Some(status) = varnish.child.try_wait().expect("varnishd's status") {
                    panic!("varnishd stopped: {status}");
                }
                if let Some(port) = listen_port(&workdir) {
                    return port;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .expect("varnishd did not start listening");
        varnish.url = format!("http://127.0.0.1:{port}");
        varnish
    }

    async fn get(&self, path: &str) -> Response {
        self.get_with(path, None).await
    }

    async fn get_with(&self, path: &str, cookie: Option<&str>) -> Response {
        let mut request = reqwest::Client::new().get(format!("{}{path}", self.url));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.expect("varnish answers");
        let header = |name: &str| {
            response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
        };
        let (x_cache, age, cache_status) =
            (header("x-cache"), header("age"), header("cache-status"));
        let status = StatusCode::from_u16(response.status().as_u16()).expect("a status");
        Response {
            status,
            x_cache,
            age,
            cache_status,
            body: response.text().await.unwrap_or_default(),
        }
    }

    /// GETs `path` until `done` holds for the response (at most 30 s): for
    /// what happens in the background (a ban, a refresh).
    async fn get_until(&self, path: &str, done: impl Fn(&Response) -> bool) -> Response {
        let found = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                let response = self.get(path).await;
                if done(&response) {
                    return response;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("{path} never got there"))
    }
}

#[derive(Debug)]
struct Response {
    status: StatusCode,
    x_cache: String,
    age: String,
    cache_status: String,
    body: String,
}

/// The app (SQLite) behind a Varnish that it sends its purges to. Each
/// needs the other's address: the app's port is bound first, Varnish
/// started in front of it, and the app, built knowing Varnish's port, is
/// served on it (connections that arrive before then wait in its backlog).
async fn app_behind_varnish() -> Option<(TestApp, Varnish)> {
    if !varnishd_installed() {
        return None;
    }
    let listener = Server::any_port().await;
    let varnish = Varnish::start(listener.local_addr().expect("bound")).await;
    let app = TestApp::start_with_vars(&[("CDN_VARNISH_URLS", varnish.url.clone())]).await;
    app.serve_on(listener);
    Some((app, varnish))
}

#[tokio::test]
async fn varnish_stores_pages_and_the_apps_purges_reach_it() {
    let Some((app, varnish)) = app_behind_varnish().await else { return };
    let first = varnish.get("/blog/hello-isr").await;
    assert_eq!((first.status, first.x_cache.as_str()), (StatusCode::OK, "MISS"));
    let second = varnish.get("/blog/hello-isr").await;
    assert_eq!(second.x_cache, "HIT", "{second:?}");
    assert!(second.cache_status.ends_with("varnish; hit"), "{}", second.cache_status);
    assert_eq!(second.body, first.body);

    // An edit on the app purges the post's tag; the app bans it in Varnish.
    let cookie = app.sign_in_admin().await;
    let form = "slug=hello-isr&title=Banned+in+Varnish&body=New+text.";
    let saved = app.post_form("/api/dashboard/update_post", form, Some(&cookie)).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let fresh =
        varnish.get_until("/blog/hello-isr", |r| r.body.contains("Banned in Varnish")).await;
    assert_eq!(fresh.x_cache, "MISS", "fetched again after the ban");
    assert_eq!(varnish.get("/blog/hello-isr").await.x_cache, "HIT");
}

/// On a [`fixture`](crate::fixture) page a second fresh and a minute stale
/// (the demo's shortest TTL is 10 s): the test waits a second.
#[tokio::test]
async fn varnish_serves_a_stale_page_at_once_while_it_refreshes() {
    if !varnishd_installed() {
        return;
    }
    // The app's own cache is off, so that each fetch of Varnish renders.
    let policy = CachePolicy::isr(Duration::from_secs(1), Duration::from_secs(60));
    let (app, fixture) = Fixture::start_with(policy, &[("ISR_CACHE", "false".to_owned())]).await;
    let varnish = Varnish::start(app.serve().await).await;
    let first = varnish.get("/fixture/a").await;
    assert_eq!((first.status, first.x_cache.as_str()), (StatusCode::OK, "MISS"));
    fixture.edit();

    // Past its TTL, inside its grace: the stored page at once, refreshed in
    // the background, whence the new page comes with no visitor waiting.
    let stale = varnish.get_until("/fixture/a", |r| r.x_cache != "HIT").await;
    assert_eq!((stale.status, stale.x_cache.as_str()), (StatusCode::OK, "STALE"), "{stale:?}");
    assert_eq!(stale.body, first.body);
    let refreshed = varnish.get_until("/fixture/a", |r| r.body != first.body).await;
    assert!(refreshed.body.contains("version 1"), "{refreshed:?}");
    assert!(["HIT", "STALE"].contains(&refreshed.x_cache.as_str()), "{refreshed:?}");
}

#[tokio::test]
async fn varnish_never_stores_personal_pages() {
    let Some((app, varnish)) = app_behind_varnish().await else { return };
    let cookie = app.sign_in_customer().await;
    for _ in 0..2 {
        let dashboard = varnish.get_with("/dashboard", Some(&cookie)).await;
        assert_eq!(dashboard.status, StatusCode::OK);
        assert!(dashboard.body.contains("Casey"), "the customer's own dashboard");
        assert_ne!(dashboard.x_cache, "HIT");
    }
    // Anonymous visitors get the redirect to sign in, never the stored page.
    let anonymous = varnish.get("/dashboard").await;
    assert!(!anonymous.body.contains("Casey"));
    for _ in 0..2 {
        assert_ne!(varnish.get("/login").await.x_cache, "HIT", "no-store pages pass");
    }
}

/// The app's responses with its shared TTLs shortened to a second fresh and
/// a second stale-while-revalidate, its stale-if-error kept: Varnish's clock
/// cannot be moved as the built-in cache's can, and a test waits seconds,
/// not the real windows.
async fn hurried(mut response: axum::response::Response) -> axum::response::Response {
    let policy = CachePolicy::from_headers(response.headers()).filter(CachePolicy::is_shared);
    if let Some(policy) = policy {
        let second = Duration::from_secs(1);
        policy.s_maxage(second).stale_while_revalidate(second).apply(response.headers_mut());
    }
    response
}

/// The app (SQLite, its own cache off, so that every fetch renders), with
/// its windows [`hurried`], behind Varnish, on a port the test can take
/// down and bring back.
async fn hurried_app_behind_varnish() -> Option<(TestApp, Port, Varnish)> {
    if !varnishd_installed() {
        return None;
    }
    let app = TestApp::start_with_vars(&[("ISR_CACHE", "false".to_owned())]).await;
    let mut port = Port::bind().await;
    port.serve(hurried_router(&app)).await;
    let varnish = Varnish::start(port.addr).await;
    Some((app, port, varnish))
}

fn hurried_router(app: &TestApp) -> axum::Router {
    app.router().layer(axum::middleware::map_response(hurried))
}

/// A loopback port the test holds from start to end, and what answers on it:
/// the app, or nothing while the app is "down".
///
/// Not a server stopped and started again on the same port number: once
/// released, the port is anyone's, and another test's `:0` may be given it
/// (then Varnish fetches that test's pages, or the app cannot bind again).
/// So the socket stays open, and down is an acceptor that closes every
/// connection it accepts without a word: for Varnish a failed fetch, as a
/// refused connection is (both end in `vcl_backend_error`). Each server
/// listens on a duplicate of the socket; connections that arrive between two
/// wait in its backlog.
struct Port {
    socket: std::net::TcpListener,
    addr: SocketAddr,
    answering: Option<Server>,
}

impl Port {
    async fn bind() -> Self {
        let socket = Server::any_port().await.into_std().expect("a std listener");
        let addr = socket.local_addr().expect("bound");
        Self { socket, addr, answering: None }
    }

    fn listener(&self) -> tokio::net::TcpListener {
        let socket = self.socket.try_clone().expect("a duplicate of the socket");
        tokio::net::TcpListener::from_std(socket).expect("a tokio listener")
    }

    /// Serves `router`, after stopping what answered before.
    async fn serve(&mut self, router: axum::Router) {
        self.stop().await;
        self.answering = Some(Server::on(self.listener(), router));
    }

    /// Takes the app down: every connection is closed unanswered.
    async fn take_down(&mut self) {
        self.stop().await;
        self.answering = Some(Server::closing_every_connection(self.listener()));
    }

    async fn stop(&mut self) {
        if let Some(server) = self.answering.take() {
            server.stop().await;
        }
    }
}

/// Past the page's SWR window the visitor waits for a fresh page, unless
/// there is none to get: then the last good one, said to be stale.
fn stale_if_error(response: &Response) -> bool {
    response.x_cache == "STALE"
        && response
            .cache_status
            .ends_with("varnish; fwd=stale; fwd-status=503; detail=stale-if-error")
}

/// Asks for the page `good` was until Varnish says it serves it stale because
/// the app failed, past the SWR window; every answer on the way is `good`.
async fn last_good_page_past_the_swr_window(varnish: &Varnish, good: &Response) {
    let stale = varnish
        .get_until("/blog/hello-isr", |r| {
            assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, good.body.as_str()), "{r:?}");
            stale_if_error(r)
        })
        .await;
    assert!(stale.age.parse::<u64>().is_ok_and(|age| age >= 2), "past the SWR window: {stale:?}");
}

#[tokio::test]
async fn varnish_serves_the_last_good_page_when_the_app_fails() {
    let Some((app, _port, varnish)) = hurried_app_behind_varnish().await else { return };
    let good = varnish.get("/blog/hello-isr").await;
    assert_eq!((good.status, good.x_cache.as_str()), (StatusCode::OK, "MISS"));

    // The posts disappear: the app answers 500. Fresh, then inside the SWR
    // window, then past it: every answer is the last good page.
    app.take_posts_away().await;
    last_good_page_past_the_swr_window(&varnish, &good).await;
    let again = varnish.get("/blog/hello-isr").await;
    assert!(stale_if_error(&again) && again.body == good.body, "{again:?}");

    // Back, with an edit made behind the app's back: the page refreshes. The
    // new page arrives either from the fetch of a request past the SWR window
    // (MISS) or from the background fetch Varnish starts whenever it delivers
    // the stale page, which may land first (then HIT): either way it is
    // stored, fresh, and no longer marked stale.
    app.bring_posts_back().await;
    app.retitle_hello_isr("Back after the outage").await;
    let fresh =
        varnish.get_until("/blog/hello-isr", |r| r.body.contains("Back after the outage")).await;
    assert_eq!(fresh.status, StatusCode::OK, "{fresh:?}");
    assert!(!stale_if_error(&fresh), "{fresh:?}");
    let stored = varnish.get("/blog/hello-isr").await;
    assert_eq!((stored.x_cache.as_str(), &stored.body), ("HIT", &fresh.body), "{stored:?}");
}

#[tokio::test]
async fn varnish_serves_the_last_good_page_when_the_app_is_down() {
    let Some((app, mut port, varnish)) = hurried_app_behind_varnish().await else { return };
    let good = varnish.get("/blog/hello-isr").await;
    assert_eq!((good.status, good.x_cache.as_str()), (StatusCode::OK, "MISS"));

    // Nothing answers on the app's port any more.
    port.take_down().await;
    let down = reqwest::get(format!("http://{}/blog/hello-isr", port.addr)).await;
    assert!(down.is_err(), "the app is down: {down:?}");
    last_good_page_past_the_swr_window(&varnish, &good).await;
    // A page Varnish never stored has nothing to fall back on.
    assert_eq!(varnish.get("/blog").await.status, StatusCode::SERVICE_UNAVAILABLE);

    // Up again, on the same port: the page refreshes.
    port.serve(hurried_router(&app)).await;
    let fresh = varnish.get_until("/blog/hello-isr", |r| r.x_cache == "MISS").await;
    assert_eq!(fresh.status, StatusCode::OK);
    assert!(fresh.body.contains("Hello, ISR") && fresh.body != good.body, "a new render");
    assert_eq!(varnish.get("/blog/hello-isr").await.x_cache, "HIT");
}

impl Varnish {
    /// Sends `BAN` with `headers`, as the app does; the ban is in place when
    /// this returns.
    async fn ban(&self, headers: &[(&str, &str)]) -> StatusCode {
        let ban = reqwest::Method::from_bytes(b"BAN").expect("a method");
        let mut request = reqwest::Client::new().request(ban, &self.url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("varnish answers");
        StatusCode::from_u16(response.status().as_u16()).expect("a status")
    }

    async fn x_caches(&self, paths: &[&str]) -> Vec<String> {
        let mut seen = Vec::new();
        for path in paths {
            seen.push(self.get(path).await.x_cache);
        }
        seen
    }
}

/// A ban is a regular expression: every item must match only itself.
#[tokio::test]
async fn varnish_bans_only_the_literal_items() {
    let Some((app, varnish)) = app_behind_varnish().await else { return };
    let pages = ["/", "/blog", "/blog/hello-isr", "/products"];
    varnish.x_caches(&pages).await;
    assert_eq!(varnish.x_caches(&pages).await, ["HIT"; 4]);

    // Regex characters in every list; `/blog` alone matches something.
    let status = varnish
        .ban(&[
            ("Surrogate-Key", ".* a|b p.sts post:hello.isr (home) [a-z]+ \\w"),
            ("X-Purge-Paths", "/blog/hello.isr /blog /.* /(blog)"),
            ("X-Purge-Prefixes", "/blog/hello.i /.* /+ /[a-z]"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(varnish.x_caches(&pages).await, ["HIT", "MISS", "HIT", "HIT"]);

    // An empty list, or one of spaces, is no item at all (`^()` would match
    // every page); a list with a quote, or a path not from `/`, is refused.
    for (name, value) in [("X-Purge-Prefixes", ""), ("X-Purge-Paths", "   "), ("Surrogate-Key", "")]
    {
        assert_eq!(varnish.ban(&[(name, value)]).await, StatusCode::OK, "{name}: {value:?}");
    }
    assert_eq!(varnish.x_caches(&pages).await, ["HIT"; 4], "nothing banned");
    for (name, value) in
        [("Surrogate-Key", "a\"b"), ("X-Purge-Prefixes", "blog"), ("X-Purge-Paths", "/a x")]
    {
        assert_eq!(
            varnish.ban(&[(name, value)]).await,
            StatusCode::BAD_REQUEST,
            "{name}: {value:?}"
        );
    }
    assert_eq!(varnish.x_caches(&pages).await, ["HIT"; 4]);

    // The same through the app: `/api/revalidate`, then the app's BAN.
    let body = serde_json::json!({
        "paths": ["/blog/hello.isr", "/blog"],
        "prefixes": ["/blog/hello.i", "/+"],
        "tags": ["p.sts", "post:hello.isr", "h.me"],
        "mode": "hard",
    });
    let request = http::Request::post("/api/revalidate")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {REVALIDATE_TOKEN}"))
        .body(axum::body::Body::from(body.to_string()))
        .expect("request");
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    // The BAN goes out in the background: `/blog` shows when it has landed.
    varnish.get_until("/blog", |r| r.x_cache == "MISS").await;
    assert_eq!(varnish.x_caches(&pages).await, ["HIT"; 4]);
}

/// `/metrics` through Varnish: every visitor reaches the app from loopback,
/// so only the token lets them in; Prometheus on the app's host, asking it
/// directly, needs none.
#[tokio::test]
async fn metrics_through_varnish_need_the_token() {
    if !varnishd_installed() {
        return;
    }
    let metrics = |url: String, token: Option<&'static str>| async move {
        let mut request = reqwest::Client::new().get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("an answer");
        let via = response.headers().contains_key("via");
        (response.status().as_u16(), via)
    };
    for token in [Some("m3trics"), None] {
        let vars: Vec<(&str, String)> =
            token.map(|token| ("METRICS_TOKEN", token.to_owned())).into_iter().collect();
        let app = TestApp::start_with_vars(&vars).await;
        let backend = app.serve().await;
        let varnish = Varnish::start(backend).await;
        let refused = if token.is_some() { 401 } else { 403 };
        // Several URLs, each new to both caches, and each twice.
        for path in ["/metrics", "/metrics?a=1", "/metrics?b=2", "/metrics", "/metrics?a=1"] {
            let through = metrics(format!("{}{path}", varnish.url), None).await;
            assert_eq!(through, (refused, true), "{path} through Varnish, token {token:?}");
            let wrong = metrics(format!("{}{path}", varnish.url), Some("wrong")).await;
            assert_eq!(wrong.0, refused, "{path} with a wrong token, token {token:?}");
            // Loopback alone is enough only while no token is configured
            // (development): a token, once there, is the only way in.
            let direct = metrics(format!("http://{backend}{path}"), None).await;
            let expected = if token.is_some() { 401 } else { 200 };
            assert_eq!(direct, (expected, false), "{path} straight from loopback, token {token:?}");
        }
        if let Some(token) = token {
            let with_token = metrics(format!("{}/metrics", varnish.url), Some(token)).await;
            assert_eq!(with_token, (200, true), "with the token through Varnish");
            // And a client cannot make itself direct: Varnish adds its
            // address to X-Forwarded-For whatever it sent.
            let response = reqwest::Client::new()
                .get(format!("{}/metrics", varnish.url))
                .header("x-forwarded-for", "")
                .send()
                .await
                .expect("an answer");
            assert_eq!(response.status().as_u16(), 401);
        }
    }
}

/// What a stand-in for the Cloudflare and Fastly APIs received: method, path,
/// the headers that matter, and the body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiCall {
    method: String,
    path: String,
    auth: String,
    surrogate_key: String,
    soft: bool,
    pub(crate) body: serde_json::Value,
}

/// Cloudflare and Fastly cannot be reached from here (nor should tests purge
/// a real zone): a stand-in HTTP server records the calls and answers 200.
pub(crate) async fn purge_api_stand_in()
-> (SocketAddr, std::sync::Arc<std::sync::Mutex<Vec<ApiCall>>>) {
    use axum::extract::{Request, State};
    type Calls = std::sync::Arc<std::sync::Mutex<Vec<ApiCall>>>;
    async fn record(State(calls): State<Calls>, request: Request) -> axum::Json<serde_json::Value> {
        let (parts, body) = request.into_parts();
        let header = |name: &str| {
            parts.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
        };
        let auth = [header("authorization"), header("fastly-key")].concat();
        let (surrogate_key, soft) = (header("surrogate-key"), header("fastly-soft-purge") == "1");
        let (method, path) = (parts.method.to_string(), parts.uri.path().to_owned());
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
        let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        calls.lock().expect("calls").push(ApiCall {
            method,
            path,
            auth,
            surrogate_key,
            soft,
            body,
        });
        axum::Json(serde_json::json!({ "success": true }))
    }
    let calls = Calls::default();
    let app = axum::Router::new().fallback(record).with_state(calls.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let addr = listener.local_addr().expect("bound");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, calls)
}

#[tokio::test]
async fn cloudflare_and_fastly_get_the_apps_purges() {
    let (api, calls) = purge_api_stand_in().await;
    let app = TestApp::start_with_vars(&[
        ("PUBLIC_URL", "https://shop.example.com".to_owned()),
        ("CLOUDFLARE_API_URL", format!("http://{api}/cloudflare")),
        ("CLOUDFLARE_ZONE_ID", "zone-1".to_owned()),
        ("CLOUDFLARE_API_TOKEN", "cf-token".to_owned()),
        ("FASTLY_API_URL", format!("http://{api}/fastly")),
        ("FASTLY_SERVICE_ID", "service-1".to_owned()),
        ("FASTLY_API_TOKEN", "fastly-token".to_owned()),
    ])
    .await;
    // The purges go out in the background: wait for `count` calls in all.
    let calls_after = |count: usize| {
        let calls = calls.clone();
        async move {
            let arrived = tokio::time::timeout(Duration::from_secs(10), async {
                while calls.lock().expect("calls").len() < count {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
            .await;
            assert!(arrived.is_ok(), "only {:?}", calls.lock().expect("calls"));
            let mut seen = std::mem::take(&mut *calls.lock().expect("calls"));
            seen.sort_by(|a, b| a.path.cmp(&b.path));
            seen
        }
    };

    // An edit: a hard purge of tags.
    let admin = app.sign_in_admin().await;
    let form = "slug=hello-isr&title=Purged+at+the+edge&body=Text.";
    let saved = app.post_form("/api/dashboard/update_post", form, Some(&admin)).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let tags = ["post:hello-isr", "posts", "search"];
    assert_eq!(
        calls_after(2).await,
        [
            ApiCall {
                method: "POST".into(),
                path: "/cloudflare/zones/zone-1/purge_cache".into(),
                auth: "Bearer cf-token".into(),
                surrogate_key: String::new(),
                soft: false,
                body: serde_json::json!({ "tags": tags }),
            },
            ApiCall {
                method: "POST".into(),
                path: "/fastly/service/service-1/purge".into(),
                auth: "fastly-token".into(),
                surrogate_key: tags.join(" "),
                soft: false,
                body: serde_json::Value::Null,
            },
        ]
    );

    // From outside, soft, by path and prefix too: Cloudflare purges both as
    // prefixes of the site's host; Fastly, which has no prefix purge, the tag.
    let request = http::Request::post("/api/revalidate")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", crate::helpers::REVALIDATE_TOKEN))
        .body(axum::body::Body::from(
            r#"{"paths": ["/blog/hello-isr"], "prefixes": ["/products/"], "tags": ["posts"]}"#,
        ))
        .expect("request");
    assert_eq!(app.send(request).await.status, StatusCode::OK);
    let seen = calls_after(3).await;
    let bodies: Vec<_> =
        seen.iter().map(|call| (call.path.as_str(), call.body.clone(), call.soft)).collect();
    assert_eq!(
        bodies,
        [
            (
                "/cloudflare/zones/zone-1/purge_cache",
                serde_json::json!({ "tags": ["posts"] }),
                false
            ),
            (
                "/cloudflare/zones/zone-1/purge_cache",
                serde_json::json!({ "prefixes": ["shop.example.com/blog/hello-isr", "shop.example.com/products/"] }),
                false
            ),
            ("/fastly/service/service-1/purge", serde_json::Value::Null, true),
        ]
    );

    // The dashboard's "purge every page": everything, on both.
    let purged = app.post_form("/api/dashboard/purge_cache", "", Some(&admin)).await;
    assert_eq!(purged.status, StatusCode::OK);
    let seen = calls_after(2).await;
    assert_eq!(seen[0].body, serde_json::json!({ "purge_everything": true }));
    assert_eq!(
        (seen[1].path.as_str(), seen[1].method.as_str()),
        ("/fastly/service/service-1/purge_all", "POST")
    );
}
