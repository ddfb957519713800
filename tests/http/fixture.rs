//! Pages of the tests' own, for rules that are not about the demo: how a
//! cache treats any page (hits, validators, compression, query keys,
//! purges, stale serving) is tested on these, so the tests hold whatever a
//! fork does to the blog and the shop, and say every number they rely on.
//!
//! Two routes, one plain axum handler, each with an entry of its own in the
//! route table (the app's table, plus these), at [`policy`] or the test's own:
//!
//! | route | query read | tags |
//! |---|---|---|
//! | `GET /fixture/{name}` | none | `fixture:{name} fixtures` |
//! | `GET /fixtures?page=` (a list) | `page` | `fixtures` |
//!
//! Their HTML names the page, its version and the query the handler saw, so
//! a test can tell a new render from a stored one and see which parameters
//! reached the render. [`Fixture::fail`] makes them answer 500, as a page
//! does when its database is down.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, RawQuery};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use isr_cache::CachePolicy;

use crate::helpers::TestApp;

pub const HOUR: Duration = Duration::from_secs(60 * 60);
pub const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// The fixture pages' policy unless a test asks for another: an hour fresh,
/// a day of stale-while-revalidate, two days of stale-if-error.
pub fn policy() -> CachePolicy {
    CachePolicy::isr(HOUR, DAY).stale_if_error(2 * DAY)
}

/// [`policy`] as `Cache-Control` says it.
pub const CACHE_CONTROL: &str =
    "public, max-age=0, s-maxage=3600, stale-while-revalidate=86400, stale-if-error=172800";

/// What the fixture pages show, and whether they fail; shared with the test.
#[derive(Debug, Default)]
pub struct Fixture {
    renders: AtomicU64,
    version: AtomicU64,
    failing: AtomicBool,
    /// When set, renders wait for a permit (see [`Fixture::hold`]).
    gate: std::sync::Mutex<Option<Arc<tokio::sync::Semaphore>>>,
    /// Renders that have started (and may be waiting at the gate).
    entered: AtomicU64,
}

impl Fixture {
    /// The app (SQLite) with the fixture pages at [`policy`].
    pub async fn start() -> (TestApp, Arc<Self>) {
        Self::start_with(policy(), &[]).await
    }

    /// The app (SQLite, with `vars` for its `Config`) with the fixture pages
    /// at `policy`.
    pub async fn start_with(policy: CachePolicy, vars: &[(&str, String)]) -> (TestApp, Arc<Self>) {
        let fixture = Arc::new(Self::default());
        let item = fixture.clone();
        let list = fixture.clone();
        let routes = Router::new()
            .route(
                "/fixture/{name}",
                get(move |Path(name): Path<String>, RawQuery(query): RawQuery| async move {
                    let page = item.render(&name, query.as_deref());
                    item.pass_gate().await;
                    page
                }),
            )
            .route(
                "/fixtures",
                get(move |RawQuery(query): RawQuery| async move {
                    list.render("list", query.as_deref())
                }),
            );
        let list_policy = policy.clone().tag("fixtures");
        let table = leptos_isr_starter::app::cache::route_table()
            .route("/fixture/{name}", move |route| {
                let name = route.param("name");
                policy.clone().tags([format!("fixture:{name}"), "fixtures".to_owned()])
            })
            .route("/fixtures", move |_| list_policy.clone())
            .query(["page"]);
        (TestApp::start_with_routes(routes, table, vars).await, fixture)
    }

    /// How many times a fixture page was rendered (failed renders included).
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::SeqCst)
    }

    /// Changes every fixture page, as an edit behind the caches' back (no purge).
    pub fn edit(&self) {
        self.version.fetch_add(1, Ordering::SeqCst);
    }

    /// Holds every render of a fixture page, once it has read its data,
    /// until [`open`](Self::open): a test can act (edit, purge) while one is
    /// under way.
    pub fn hold(&self) {
        *self.gate.lock().expect("lock") = Some(Arc::new(tokio::sync::Semaphore::new(0)));
    }

    /// Lets the renders held by [`hold`](Self::hold) go on, and every later one.
    pub fn open(&self) {
        if let Some(gate) = self.gate.lock().expect("lock").take() {
            gate.close();
        }
    }

    /// Resolves once `count` renders have started.
    pub async fn entered(&self, count: u64) {
        while self.entered.load(Ordering::SeqCst) < count {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    async fn pass_gate(&self) {
        self.entered.fetch_add(1, Ordering::SeqCst);
        let gate = self.gate.lock().expect("lock").clone();
        if let Some(gate) = gate {
            // Closed by `open`: every render held goes on.
            let _ = gate.acquire().await;
        }
    }

    /// Makes every render fail with a 500 (`true`) or succeed again.
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    fn render(&self, name: &str, query: Option<&str>) -> Response {
        self.renders.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return (StatusCode::INTERNAL_SERVER_ERROR, "the fixture is failing").into_response();
        }
        Html(page(name, self.version.load(Ordering::SeqCst), query.unwrap_or_default()))
            .into_response()
    }
}

/// A fixture page's HTML: the same bytes for the same name, version and
/// query, and a few kilobytes of it, so that compression and ranges have
/// something to work on.
pub fn page(name: &str, version: u64, query: &str) -> String {
    let filler = "<p>A paragraph of a fixture page, long enough to be worth compressing.</p>\n";
    format!(
        "<!DOCTYPE html>\n<html><head><title>Fixture {name}</title></head><body>\n\
         <h1>Fixture {name}, version {version}</h1>\n<p>query: [{query}]</p>\n{}</body></html>\n",
        filler.repeat(50)
    )
}
