//! The test harness: the real router on a fresh, seeded database, spoken to
//! over HTTP in-process (`tower::ServiceExt::oneshot`), no port needed.
//!
//! Every test runs on SQLite (a temporary file). Where `TEST_POSTGRES_URL`
//! names a reachable server (`scripts/test` sets it when one answers on
//! 127.0.0.1:5432), the same test also runs on a fresh PostgreSQL database
//! created for it and dropped after; without one the PostgreSQL runs are
//! skipped, except under CI (`CI` set), where they fail.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::header::{ACCEPT, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use isr_cache::isr::clock::ManualClock;
use isr_cache::{IsrCache, RouteTable};
use leptos::config::LeptosOptions;
use leptos_isr_starter::app::auth::demo::{
    DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, DEMO_CUSTOMER_EMAIL, DEMO_CUSTOMER_PASSWORD,
};
use leptos_isr_starter::db;
use leptos_isr_starter::purge::Purger;
use leptos_isr_starter::server::cdn::Cdn;
use leptos_isr_starter::server::fanout::Fanout;
use leptos_isr_starter::server::listen::{self, Limits};
use leptos_isr_starter::server::{AppState, Config, cache, router_with, seed};
use leptos_isr_starter::state::Readiness;
use sqlx::Connection;
use tower::ServiceExt;

/// The bearer token of `POST /api/revalidate` in tests.
pub const REVALIDATE_TOKEN: &str = "test-revalidate-token-0123456789abcdef";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running application.
pub struct TestApp {
    router: Router,
    pub db: db::Db,
    /// The app's ISR cache.
    pub isr: IsrCache,
    /// The cache's clock.
    pub clock: ManualClock,
    /// The app's configuration.
    pub config: Arc<Config>,
    /// The state the router was built with.
    pub state: AppState,
    /// Applies other instances' purges (PostgreSQL only); stopped on drop.
    listener: Option<tokio::task::JoinHandle<()>>,
    _guard: Guard,
    /// The folder of the cache's second level (its default, a file), shared
    /// with [`another_instance`](Self::another_instance)s.
    store: Option<Arc<tempfile::TempDir>>,
    /// What the instance serves beyond the app, for its other instances.
    routes: Routes,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(listener) = &self.listener {
            listener.abort();
        }
    }
}

/// The routes an instance serves beyond the app's own, and the table that
/// lists them all.
#[derive(Clone)]
struct Routes {
    extra: Router<AppState>,
    table: RouteTable,
}

impl Routes {
    /// The app's routes alone.
    fn app() -> Self {
        Self { extra: Router::new(), table: leptos_isr_starter::app::cache::route_table() }
    }
}

enum Guard {
    Sqlite(#[expect(dead_code, reason = "held to delete the folder on drop")] tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
    },
    /// Another instance: the first one owns the database.
    None,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Self::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop the test database on a thread of its own: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
                if let Ok(runtime) = runtime {
                    runtime.block_on(async {
                        if let Ok(mut conn) = sqlx::AnyConnection::connect(&admin_url).await {
                            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            )))
                            .execute(&mut conn)
                            .await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

impl TestApp {
    /// The app on a fresh database of `backend`; `None` when that backend is not
    /// available here (PostgreSQL without `TEST_POSTGRES_URL`).
    pub async fn start(backend: Backend) -> Option<Self> {
        Self::start_with(backend, leptos_options(), &[], Routes::app()).await
    }

    /// The app on `backend` with extra environment variables for its `Config`;
    /// `None` as for [`start`](Self::start).
    pub async fn start_on(backend: Backend, vars: &[(&str, String)]) -> Option<Self> {
        Self::start_with(backend, leptos_options(), vars, Routes::app()).await
    }

    /// The app on SQLite with extra environment variables for its `Config`.
    pub async fn start_with_vars(vars: &[(&str, String)]) -> Self {
        Self::start_with(Backend::Sqlite, leptos_options(), vars, Routes::app())
            .await
            .expect("SQLite is always available")
    }

    /// The app on SQLite with `extra` routes of the test's own (plain axum
    /// handlers, see `fixture`) and `table`: the app's route table with
    /// their entries added, which both cache layers read.
    pub async fn start_with_routes(
        extra: Router<AppState>,
        table: RouteTable,
        vars: &[(&str, String)],
    ) -> Self {
        Self::start_with(Backend::Sqlite, leptos_options(), vars, Routes { extra, table })
            .await
            .expect("SQLite is always available")
    }

    /// The app serving static files from `site_root`, with `/pkg` file names
    /// content-hashed or not.
    pub async fn start_with_site(site_root: &std::path::Path, hash_files: bool) -> Self {
        let mut options = leptos_options();
        options.site_root = site_root.to_string_lossy().as_ref().into();
        options.hash_files = hash_files;
        Self::start_with(Backend::Sqlite, options, &[], Routes::app())
            .await
            .expect("SQLite is always available")
    }

    async fn start_with(
        backend: Backend,
        leptos_options: LeptosOptions,
        vars: &[(&str, String)],
        routes: Routes,
    ) -> Option<Self> {
        sqlx::any::install_default_drivers();
        let (url, guard) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/app.db?mode=rwc", dir.path().display());
                (url, Guard::Sqlite(dir))
            }
            Backend::Postgres => {
                let admin_url = std::env::var("TEST_POSTGRES_URL").ok()?;
                let name = format!("isr_test_{}", random_suffix());
                let mut conn = sqlx::AnyConnection::connect(&admin_url)
                    .await
                    .expect("TEST_POSTGRES_URL is reachable");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let url = replace_database(&admin_url, &name);
                (url, Guard::Postgres { admin_url, name })
            }
        };
        // The cache's second level: a file, as by default, in a folder of the test's own.
        let store = Arc::new(tempfile::tempdir().expect("temp dir"));
        let store_url = format!("sqlite://{}/isr/cache.db", store.path().display());
        // The test's own variables first, then the tests' defaults.
        let config = Config::from_lookup(|name| {
            if let Some((_, value)) = vars.iter().find(|(var, _)| *var == name) {
                return Some(value.clone());
            }
            match name {
                "DATABASE_URL" => Some(url.clone()),
                "ISR_STORE_URL" => Some(store_url.clone()),
                "ISR_BUILD_ID" => Some("test".to_owned()),
                // Seconds, not 50 ms: a test machine busy building must not
                // turn a slow read into a miss the test did not expect.
                "ISR_STORE_TIMEOUT_MS" => Some("2000".to_owned()),
                "REVALIDATE_TOKEN" => Some(REVALIDATE_TOKEN.to_owned()),
                "SEED_DEMO" => Some("true".to_owned()),
                "ISR_WARM_PATHS" => Some("/,/blog".to_owned()),
                "ISR_WARM_LIMIT" => Some("5".to_owned()),
                _ => None,
            }
        })
        .expect("test config");
        let db = db::connect(&config.database_url).await.expect("connect and migrate");
        seed::seed_if_configured(&db, &config).await.expect("seed");
        let mut app = Self::instance(Arc::new(config), db, leptos_options, guard, routes).await;
        app.store = Some(store);
        Some(app)
    }

    /// One instance of the app on `db`: its own ISR cache and fan-out.
    async fn instance(
        config: Arc<Config>,
        db: db::Db,
        leptos_options: LeptosOptions,
        guard: Guard,
        routes: Routes,
    ) -> Self {
        Self::instance_on(
            config,
            db,
            leptos_options,
            guard,
            routes,
            ManualClock::new(),
            Readiness::ready(),
        )
        .await
    }

    /// [`instance`](Self::instance) on `clock`, ready as `ready` says.
    async fn instance_on(
        config: Arc<Config>,
        db: db::Db,
        leptos_options: LeptosOptions,
        guard: Guard,
        routes: Routes,
        // The real cache, on a clock the test moves: no test waits for a TTL.
        clock: ManualClock,
        ready: Readiness,
    ) -> Self {
        let Routes { extra, table } = routes.clone();
        let data_id = db::data_id(&db).await.expect("the database's id");
        let mut isr_config = cache::isr_config(&config, &leptos_options, &data_id);
        isr_config.routes = Some(Arc::new(table));
        let isr = IsrCache::with_clock(isr_config, Arc::new(clock.clone()));
        cache::open_second_level(&config, &isr).await;
        let fanout = Fanout::new(&config.database_url, &db);
        let purger =
            Purger::new(isr.clone()).cdn(Cdn::new(config.cdn.clone())).others(fanout.clone());
        let listener =
            fanout.listen(&config.database_url, purger.clone()).await.expect("LISTEN for purges");
        let sign_in = leptos_isr_starter::state::SignIn::from_config(&config);
        let state = AppState {
            leptos_options,
            db: db.clone(),
            config: config.clone(),
            purger,
            ready,
            sign_in,
        };
        Self {
            router: router_with(state.clone(), extra),
            db,
            isr,
            clock,
            config,
            state,
            listener,
            _guard: guard,
            store: None,
            routes,
        }
    }

    /// A second instance of the app on the same database (as behind a load
    /// balancer), serving the same routes on the same clock, with a memory
    /// cache of its own over the same second level. Also what a restart of
    /// this one is, once the test drops it.
    pub async fn another_instance(&self) -> Self {
        self.another(self.state.config.clone(), Readiness::ready()).await
    }

    /// Another instance of a new build, `build`, sharing the database and the
    /// second level, not yet ready (its warm-up is the test's to run).
    pub async fn another_build(&self, build: &str) -> Self {
        let mut config = (*self.state.config).clone();
        config.isr.build_id = Some(build.to_owned());
        self.another(Arc::new(config), Readiness::new()).await
    }

    async fn another(&self, config: Arc<Config>, ready: Readiness) -> Self {
        let state = &self.state;
        let mut other = Self::instance_on(
            config,
            state.db.clone(),
            state.leptos_options.clone(),
            Guard::None,
            self.routes.clone(),
            self.clock.clone(),
            ready,
        )
        .await;
        other.store = self.store.clone();
        other
    }

    /// Sends `request` through the whole router.
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.expect("router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        TestResponse { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    /// A browser-like GET of a page.
    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(page_request(path, None)).await
    }

    /// A browser-like GET of a page with the session cookie `cookie`.
    pub async fn get_signed_in(&self, path: &str, cookie: &str) -> TestResponse {
        self.send(page_request(path, Some(cookie))).await
    }

    /// A GET of `path` with extra request headers.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> TestResponse {
        self.send_with(Method::GET, path, headers).await
    }

    /// A request of any method, with no body, with extra request headers.
    pub async fn send_with(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Body::empty()).expect("request")).await
    }

    /// A GET as an API client sends it.
    pub async fn get_json(&self, path: &str) -> TestResponse {
        let request = Request::get(path).header(ACCEPT, "application/json").body(Body::empty());
        self.send(request.expect("request")).await
    }

    /// Posts a form to a server function, as `fetch` from the hydrated page does.
    pub async fn post_form(&self, path: &str, form: &str, cookie: Option<&str>) -> TestResponse {
        self.post_form_with(path, form, cookie, &[]).await
    }

    /// [`post_form`](Self::post_form) with extra request headers (where a
    /// browser says the request came from, say).
    pub async fn post_form_with(
        &self,
        path: &str,
        form: &str,
        cookie: Option<&str>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        self.send(request.body(Body::from(form.to_owned())).expect("request")).await
    }

    /// `POST /api/preview` with `form` (`token=…&path=…`), as the dashboard's form sends it.
    pub async fn enter_preview(&self, form: &str) -> TestResponse {
        let request = Request::post("/api/preview")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()));
        self.send(request.expect("request")).await
    }

    /// Signs in and returns the `sid=…` cookie pair to send back.
    pub async fn sign_in(&self, email: &str, password: &str) -> String {
        let response = self
            .post_form("/api/auth/login", &format!("email={email}&password={password}"), None)
            .await;
        assert_eq!(response.status, StatusCode::OK, "sign-in failed: {}", response.body);
        response.session_cookie().expect("sign-in sets the session cookie")
    }

    /// Serves the app on a port of its own, for clients outside the process
    /// (a CDN in front); stops when the test's runtime does.
    pub async fn serve(&self) -> std::net::SocketAddr {
        self.serve_on(Server::any_port().await)
    }

    /// Serves the app on `listener`, bound by the caller (when something
    /// must know the address before the app exists); stops when the test's
    /// runtime does.
    pub fn serve_on(&self, listener: tokio::net::TcpListener) -> std::net::SocketAddr {
        let server = Server::on(listener, self.router());
        let addr = server.addr;
        // Never stopped: it lives as long as the test's runtime.
        std::mem::forget(server.stop);
        addr
    }

    /// The whole app as a tower service (for the warm-up).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// An outage of the posts: the `posts` table is renamed away, so every
    /// page that reads it fails with a 500 until [`bring_posts_back`](Self::bring_posts_back).
    pub async fn take_posts_away(&self) {
        sqlx::query("ALTER TABLE posts RENAME TO posts_away")
            .execute(&self.db)
            .await
            .expect("rename posts away");
    }

    /// Ends [`take_posts_away`](Self::take_posts_away)'s outage.
    pub async fn bring_posts_back(&self) {
        sqlx::query("ALTER TABLE posts_away RENAME TO posts")
            .execute(&self.db)
            .await
            .expect("rename posts back");
    }

    /// Retitles `hello-isr` in the database behind the app's back: no purge.
    pub async fn retitle_hello_isr(&self, title: &str) {
        sqlx::query("UPDATE posts SET title = $1 WHERE slug = 'hello-isr'")
            .bind(title)
            .execute(&self.db)
            .await
            .expect("edit");
    }

    /// Saves `hello-isr` with a new title through the editor, as the admin:
    /// the write and its purge, as the app makes them.
    pub async fn edit_hello_isr_as_admin(&self, title: &str) {
        let cookie = self.sign_in_admin().await;
        let form = format!("slug=hello-isr&title={}&body=Text.", title.replace(' ', "+"));
        let saved = self.post_form("/api/dashboard/update_post", &form, Some(&cookie)).await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    }

    /// Resolves once this instance has applied `count` purges in all (the
    /// other instances' arrive through NOTIFY, asynchronously): waits for
    /// them, not for a time, and fails after 10 s.
    pub async fn heard_purges(&self, count: usize) {
        let heard = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            while self.isr.recent_purges().len() < count {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        });
        assert!(heard.await.is_ok(), "this instance never heard of purge {count}");
    }

    /// Signs in as the demo admin.
    pub async fn sign_in_admin(&self) -> String {
        self.sign_in(DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD).await
    }

    /// Signs in as the demo customer.
    pub async fn sign_in_customer(&self) -> String {
        self.sign_in(DEMO_CUSTOMER_EMAIL, DEMO_CUSTOMER_PASSWORD).await
    }
}

/// A router served on a loopback port, with peer addresses as `main` serves
/// the app (`/metrics` reads them), until [`stop`](Self::stop).
pub struct Server {
    pub addr: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// A listener on a loopback port the system picks: bound before anyone
    /// learns its number, so no other test can take it in between.
    pub async fn any_port() -> tokio::net::TcpListener {
        tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port")
    }

    /// Serves `router` on `listener` as the server does, with its default
    /// limits, until [`stop`](Self::stop) (which closes it).
    pub fn on(listener: tokio::net::TcpListener, router: Router) -> Self {
        let limits = Limits {
            max_connections: 1024,
            header_read_timeout: std::time::Duration::from_secs(10),
        };
        Self::with_limits(listener, router, limits)
    }

    /// [`on`](Self::on), within `limits`.
    pub fn with_limits(listener: tokio::net::TcpListener, router: Router, limits: Limits) -> Self {
        let addr = listener.local_addr().expect("bound");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let stopped = async move {
                let _ = stopped.await;
            };
            listen::serve(listener, router, limits, stopped).await;
        });
        Self { addr, stop, task }
    }

    /// Accepts every connection on `listener` and closes it unanswered, as
    /// a client sees an app that is down, until [`stop`](Self::stop).
    pub fn closing_every_connection(listener: tokio::net::TcpListener) -> Self {
        let addr = listener.local_addr().expect("bound");
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    accepted = listener.accept() => drop(accepted),
                }
            }
        });
        Self { addr, stop, task }
    }

    /// Stops accepting and closes every connection (idle ones at once). Once
    /// this returns the listener is closed, so the port refuses connections,
    /// unless a duplicate of the socket is open elsewhere (as `cdn`'s `Port`
    /// keeps one).
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("the server stops");
    }
}

fn page_request(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path).header(ACCEPT, "text/html,application/xhtml+xml");
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    request.body(Body::empty()).expect("request")
}

/// The `X-Cache` header of `response` (`HIT`, `MISS`, …), or `""`.
pub fn x_cache(response: &TestResponse) -> &str {
    response.header("x-cache").unwrap_or("")
}

/// What came back.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl TestResponse {
    /// The page's HTML without the `<!>` markers a render with
    /// `--cfg erase_components` (every build, see `.cargo/config.toml`)
    /// leaves after dynamic text for hydration: `<h1>Title</h1>`, as read.
    pub fn html(&self) -> String {
        self.body.replace("<!>", "")
    }

    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Where a redirect points.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    /// Every `Set-Cookie` line.
    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).collect()
    }

    /// The `sid=…` (or, on https, `__Host-sid=…`) pair of a `Set-Cookie`
    /// that starts a session.
    pub fn session_cookie(&self) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .filter_map(|line| line.split(';').next())
            .find(|pair| {
                let value = pair.strip_prefix("__Host-").unwrap_or(pair).strip_prefix("sid=");
                value.is_some_and(|value| !value.is_empty())
            })
            .map(str::to_owned)
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

fn leptos_options() -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("leptos-isr-starter")
        .site_root("target/site")
        .site_pkg_dir("pkg")
        .build()
}

pub fn random_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos =
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}_{nanos}_{n}", std::process::id())
}

/// `postgres://u@h:5432/test` → `postgres://u@h:5432/{name}` (query string kept).
fn replace_database(url: &str, name: &str) -> String {
    let mut url = url::Url::parse(url).expect("TEST_POSTGRES_URL is a URL");
    url.set_path(name);
    url.into()
}

/// Says that a PostgreSQL run is skipped (no `TEST_POSTGRES_URL`), or, under
/// CI (`CI` set and not empty), fails it: there a test that did not run must
/// not pass.
pub fn postgres_unavailable() {
    let ci = std::env::var_os("CI").is_some_and(|value| !value.is_empty());
    assert!(
        !ci,
        "CI is set but TEST_POSTGRES_URL is not: the PostgreSQL runs cannot be skipped under CI \
         (scripts/test sets it when a server answers on 127.0.0.1:5432)"
    );
    eprintln!("TEST_POSTGRES_URL not set: PostgreSQL run skipped");
}

/// Runs each listed `async fn(TestApp)` as a test on SQLite and, where
/// available, on PostgreSQL (which CI requires: see [`postgres_unavailable`]).
#[macro_export]
macro_rules! db_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use $crate::helpers::{Backend, TestApp};

                #[tokio::test]
                async fn sqlite() {
                    let app = TestApp::start(Backend::Sqlite).await.expect("SQLite is always available");
                    super::$name(app).await;
                }

                #[tokio::test]
                async fn postgres() {
                    let Some(app) = TestApp::start(Backend::Postgres).await else {
                        $crate::helpers::postgres_unavailable();
                        return;
                    };
                    super::$name(app).await;
                }
            }
        )*
    };
}

/// The Redis on 127.0.0.1:6379, as the variables of a `Config` that keeps the
/// cache's second level there under a namespace of the test's own; `None`
/// (the test is skipped) where none answers, except under CI, where the test
/// fails: there a test that did not run must not pass.
pub fn redis_store() -> Option<Vec<(&'static str, String)>> {
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], 6379));
    let reachable =
        std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_millis(500))
            .is_ok();
    if !reachable {
        let ci = std::env::var_os("CI").is_some_and(|value| !value.is_empty());
        assert!(!ci, "CI is set, but no Redis answers on 127.0.0.1:6379: the Redis tests must run");
        eprintln!("skipped: no Redis on 127.0.0.1:6379");
        return None;
    }
    Some(vec![
        ("ISR_STORE_URL", "redis://127.0.0.1:6379".to_owned()),
        ("ISR_STORE_NAMESPACE", format!("isr-test-{}:", random_suffix())),
    ])
}

/// The hashes (`'sha256-…'`) of every inline script in `html`: the tests'
/// own reading, apart from the server's (which hashes only the head and the
/// data after `</html>`; the demo's pages have no other inline script).
pub fn inline_script_hashes(html: &str) -> std::collections::BTreeSet<String> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let mut hashes = std::collections::BTreeSet::new();
    for part in html.split("<script").skip(1) {
        let (open, rest) = part.split_once('>').expect("a whole tag");
        if open.contains("src=") {
            continue;
        }
        let (text, _) = rest.split_once("</script>").expect("a closed script");
        let digest = sha2::Sha256::digest(text.as_bytes());
        hashes.insert(format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest)
        ));
    }
    hashes
}

/// The hashes `script-src` lists in a Content-Security-Policy, in order,
/// repeats kept.
pub fn policy_script_hashes(policy: &str) -> Vec<String> {
    let script_src = policy
        .split(';')
        .map(str::trim)
        .find(|directive| directive.starts_with("script-src "))
        .expect("script-src");
    script_src.split_whitespace().filter(|s| s.starts_with("'sha256-")).map(str::to_owned).collect()
}
