//! Static generation: `leptos-isr-starter prerender [OUT]` (what
//! `scripts/prerender` runs) writes every public page, the bundle, the data
//! client-side navigation needs and the headers to serve them with, as files
//! a static host serves with nothing else running.
//!
//! It runs the app in-process, with no listener and no network: each page is
//! a request to the same router the server serves (its cache layer off), so
//! a page is exported exactly as the server renders it, policy included.
//!
//! - **Which pages.** The route table says which routes are prerendered
//!   ([`isr_cache::RouteTable::prerender`]). Those without parameters are
//!   rendered as they are; each feature lists the pages of its routes with
//!   parameters from the database ([`crate::app::Feature::prerender`]); and
//!   the same-origin links of every page rendered are followed (bounded by
//!   `--max-pages`) to find the rest, such as pages of a list. A link to a
//!   route that is never prerendered (`/dashboard`) is left alone; a page
//!   that renders a 5xx stops the export with its path.
//! - **What it writes** under OUT: each page as `path/index.html`
//!   ([`crate::app::export::page_file`]), `404.html`, the site's files (the
//!   hashed `/pkg` bundle, `public/`), the GET data functions' answers the
//!   pages' client-side navigation asks for ([`crate::app::export`]),
//!   `_headers` (Netlify, Cloudflare Pages) and `_headers.nginx`
//!   (`deploy/nginx/static.conf`) with each file's `Cache-Control`,
//!   `CDN-Cache-Control` and cache tags, and `_redirects` (Netlify) for pages
//!   with a query and, with `--origin`, the routes never exported, proxied
//!   to a running instance.
//! - **Deterministic.** Every page's data is stamped with one export time
//!   (`--timestamp` fixes it) and renders carry no nonce (see
//!   `shared_render_context`), so two exports of the same data and build are
//!   the same bytes.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use axum::Router;
use axum::body::Body;
use http::header::{ACCEPT, ACCEPT_ENCODING, LOCATION};
use http::{Request, StatusCode};
use isr_cache::{CachePolicy, IsrCache, RouteTable};
use tower::ServiceExt as _;

use super::AppState;
use crate::app::export::{Export, data_file, page_file};

/// What to export, and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// The folder to write: created, or replaced when it holds an earlier
    /// export (never a folder that holds anything else).
    pub out: PathBuf,
    /// A running instance to proxy the routes never exported to (`_redirects`).
    pub origin: Option<String>,
    /// The data's time for every page, in Unix milliseconds (default: now).
    pub timestamp: Option<i64>,
    /// Pages rendered at once.
    pub concurrency: usize,
    /// The most pages the crawl may find: a bound on links that never end.
    pub max_pages: usize,
    /// Print progress and the summary on standard error.
    pub progress: bool,
}

impl Options {
    /// The defaults for exporting to `out`.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            out: out.into(),
            origin: None,
            timestamp: None,
            concurrency: cores * 4,
            max_pages: 100_000,
            progress: false,
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Pages written (404.html included), by URL.
    pub pages: Vec<String>,
    /// Data answers written, by URL.
    pub data: usize,
    /// Files written in all, and their bytes.
    pub files: usize,
    pub bytes: u64,
    /// Links to routes that are never prerendered, left to the origin.
    pub not_exported: BTreeSet<String>,
    /// Prerendered pages that answered something other than 200 (a broken
    /// link is a 404), with their status: not written.
    pub skipped: BTreeMap<String, u16>,
}

/// `leptos-isr-starter prerender [OUT] [--origin URL] [--timestamp T]
/// [--concurrency N] [--max-pages N]`: reads the configuration as the server
/// does, migrates and seeds an empty database as it does, and exports.
pub async fn main(args: impl IntoIterator<Item = std::ffi::OsString>) -> anyhow::Result<()> {
    let options = parse(args)?;
    let _ = dotenvy::dotenv();
    // Read before logging starts: its warnings are the server's (sessions
    // signed with a random key), not an export's, which signs nothing.
    let config = crate::config::Config::from_env()?;
    // Not a line per request: thousands of pages would bury the summary.
    super::init_tracing("warn,leptos_isr_starter=info");
    let leptos_options = super::leptos_options()?;
    let db = crate::db::connect(&config.database_url).await?;
    super::seed::seed_if_configured(&db, &config).await.context("seeding the demo content")?;
    let isr = IsrCache::new(isr_cache::IsrConfig::new().enabled(false));
    let state = AppState {
        leptos_options,
        db,
        sign_in: crate::state::SignIn::from_config(&config),
        config: Arc::new(config),
        purger: crate::purge::Purger::new(isr),
        ready: crate::state::Readiness::ready(),
    };
    let started = Instant::now();
    let summary = export(state, &options).await?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "exported {} pages and {} data answers to {}: {} files, {:.1} MB, in {seconds:.1} s",
        summary.pages.len(),
        summary.data,
        options.out.display(),
        summary.files,
        summary.bytes as f64 / 1e6,
    );
    if !summary.not_exported.is_empty() {
        let links = summary.not_exported.iter().cloned().collect::<Vec<_>>().join(" ");
        eprintln!("links to routes never exported (served by the app): {links}");
    }
    for (page, status) in &summary.skipped {
        eprintln!("warning: {page} answered {status}, not exported (a broken link?)");
    }
    Ok(())
}

/// The command line, with the defaults of [`Options::new`].
fn parse(args: impl IntoIterator<Item = std::ffi::OsString>) -> anyhow::Result<Options> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_args(args);
    let mut options = Options::new("target/static");
    options.progress = true;
    while let Some(arg) = parser.next()? {
        match arg {
            Value(out) => options.out = out.into(),
            Long("origin") => {
                let origin: String = parser.value()?.parse()?;
                if !(origin.starts_with("http://") || origin.starts_with("https://")) {
                    bail!("--origin must be an http:// or https:// URL, got {origin:?}");
                }
                options.origin = Some(origin.trim_end_matches('/').to_owned());
            }
            Long("timestamp") => options.timestamp = Some(timestamp(&parser.value()?.string()?)?),
            Long("concurrency") => options.concurrency = parser.value()?.parse::<usize>()?.max(1),
            Long("max-pages") => options.max_pages = parser.value()?.parse()?,
            Long("help") | Short('h') => {
                println!(
                    "usage: leptos-isr-starter prerender [OUT] [--origin URL] [--timestamp MILLIS|RFC3339] [--concurrency N] [--max-pages N]"
                );
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    Ok(options)
}

/// Unix milliseconds, or an RFC 3339 time.
fn timestamp(text: &str) -> anyhow::Result<i64> {
    if let Ok(millis) = text.parse::<i64>() {
        return Ok(millis);
    }
    let time = chrono::DateTime::parse_from_rfc3339(text).with_context(|| {
        format!("--timestamp takes Unix milliseconds or an RFC 3339 time, got {text:?}")
    })?;
    Ok(time.timestamp_millis())
}

/// Exports the site `state` serves to `options.out`.
pub async fn export(state: AppState, options: &Options) -> anyhow::Result<Summary> {
    let table = state
        .purger
        .isr()
        .config()
        .routes
        .clone()
        .unwrap_or_else(|| Arc::new(crate::app::cache::route_table()));
    // The cache layer off: every page is a fresh render.
    let mut state = state;
    let mut isr_config = state.purger.isr().config().clone();
    isr_config.enabled = false;
    state.purger = crate::purge::Purger::new(IsrCache::new(isr_config));
    let router = super::router(state.clone());

    let out = prepare(&options.out)?;
    let loaded_at = options.timestamp.unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
    let export = Export::new(loaded_at, &route_regex(table.prerendered()));
    let mut files = Files::new(
        out.clone(),
        super::security::SecurityHeaders::new(&state.config.public_url, None),
    );

    // The pages: those of routes without parameters, and what features list.
    let mut start: Vec<String> =
        table.prerendered().filter(|p| !p.contains('{')).map(str::to_owned).collect();
    for feature in crate::app::FEATURES {
        if let Some(list) = feature.prerender {
            for path in list(&state.db).await.context("listing the pages to prerender")? {
                if !table.is_prerendered(&path) {
                    bail!(
                        "{path} was listed for static generation, but its route is not prerendered"
                    );
                }
                start.push(path);
            }
        }
    }
    let mut summary = Summary {
        pages: Vec::new(),
        data: 0,
        files: 0,
        bytes: 0,
        not_exported: BTreeSet::new(),
        skipped: BTreeMap::new(),
    };
    let mut crawl = Crawl::new(options.max_pages);
    for url in start {
        crawl.found(&table, &url, &mut summary);
    }

    let mut progress = Progress::new(options.progress);
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.len() < options.concurrency {
            let Some(url) = crawl.next() else { break };
            let (router, export) = (router.clone(), export.clone());
            running.spawn(async move {
                let fetched = fetch(router, &url, "text/html", Some(export)).await;
                (url, fetched)
            });
        }
        let Some(joined) = running.join_next().await else { break };
        let (url, fetched) = joined.context("a render panicked")?;
        let page = fetched.with_context(|| format!("rendering {url}"))?;
        match page.status {
            StatusCode::OK => {
                for link in isr_cache::isr::links(&String::from_utf8_lossy(&page.body)) {
                    crawl.found(&table, &link, &mut summary);
                }
                let (path, query) = split(&url);
                files.page(&url, &page_file(&decoded(path)?, query), page.policy, &page.body)?;
                summary.pages.push(url);
            }
            status if status.is_redirection() => {
                // Followed, not written: a static host would need a rule of its own.
                if let Some(location) = page.location {
                    crawl.found(&table, &location, &mut summary);
                }
                summary.skipped.insert(url, status.as_u16());
            }
            status if status.is_server_error() => {
                bail!(
                    "{url} rendered {status}: a prerendered page must render; the export stops here"
                )
            }
            status => {
                summary.skipped.insert(url, status.as_u16());
            }
        }
        progress.tick(summary.pages.len(), crawl.found_count());
    }

    // The not-found page, at a path no route has; served at any URL, so it
    // does not hydrate (see `Export::hydrate`).
    let not_found = Export { hydrate: false, ..export.clone() };
    let missing = fetch(router.clone(), "/404", "text/html", Some(not_found)).await?;
    if missing.status != StatusCode::NOT_FOUND {
        bail!("the not-found page answered {}", missing.status);
    }
    files.page("/404.html", "/404.html", missing.policy, &missing.body)?;
    summary.pages.push("/404.html".to_owned());

    // The data answers client-side navigation between those pages asks for.
    let calls = export.calls();
    let mut running = tokio::task::JoinSet::new();
    let mut calls = calls.into_iter();
    loop {
        while running.len() < options.concurrency {
            let Some((path, query)) = calls.next() else { break };
            let router = router.clone();
            running.spawn(async move {
                let query = browser_query(&path, &query);
                let url = if query.is_empty() { path.clone() } else { format!("{path}?{query}") };
                (path, query.clone(), fetch(router, &url, "application/json", None).await)
            });
        }
        let Some(joined) = running.join_next().await else { break };
        let (path, query, fetched) = joined.context("a data function panicked")?;
        let answer = fetched.with_context(|| format!("loading {path}?{query}"))?;
        if answer.status != StatusCode::OK {
            // The browser would get this error from the app too; a static
            // host would serve it as a 200, which the client cannot read.
            tracing::warn!(path, query, status = %answer.status, "data answer not exported");
            continue;
        }
        let file = data_file(&path, &query);
        files.write(Some(&file), &file, answer.policy, &answer.body)?;
        summary.data += 1;
    }

    // The site's own files: the bundle and public/.
    let site = PathBuf::from(&*state.leptos_options.site_root);
    files.copy_site(&site, state.leptos_options.hash_files)?;
    files.finish(options.origin.as_deref(), &table)?;
    summary.pages.sort();
    summary.files = files.count;
    summary.bytes = files.bytes;
    progress.done(summary.pages.len());
    Ok(summary)
}

/// The folder to export to, empty: created, or emptied when it holds an
/// earlier export (it has a `_headers`). Anything else is refused, so a typo
/// in OUT never deletes someone's files.
fn prepare(out: &Path) -> anyhow::Result<PathBuf> {
    if out.exists() {
        let earlier = out.join("_headers").is_file();
        let empty = std::fs::read_dir(out)?.next().is_none();
        if !earlier && !empty {
            bail!(
                "{} exists and is not an earlier export (no _headers in it): choose another folder",
                out.display()
            );
        }
        std::fs::remove_dir_all(out).with_context(|| format!("emptying {}", out.display()))?;
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    Ok(out.to_path_buf())
}

/// The pages found so far and those still to render.
struct Crawl {
    seen: HashSet<String>,
    queue: VecDeque<String>,
    max: usize,
}

impl Crawl {
    fn new(max: usize) -> Self {
        Self { seen: HashSet::new(), queue: VecDeque::new(), max }
    }

    /// Queues the page at `link` (a same-origin path and query) if its route
    /// is prerendered, once, under its canonical URL: the query parameters
    /// the route declares, sorted, as the cache keys it.
    fn found(&mut self, table: &RouteTable, link: &str, summary: &mut Summary) {
        let (path, query) = split(link);
        if !table.is_prerendered(path) {
            if table.resolve(path, None).and_then(|r| r.pattern).is_some() {
                summary.not_exported.insert(path.to_owned());
            }
            return;
        }
        let declared = table.declared_query(path);
        let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .filter(|(name, _)| declared.iter().any(|d| **d == **name))
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        pairs.sort();
        let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        let url = if query.is_empty() { path.to_owned() } else { format!("{path}?{query}") };
        if self.seen.len() < self.max && self.seen.insert(url.clone()) {
            self.queue.push_back(url);
        }
    }

    fn next(&mut self) -> Option<String> {
        self.queue.pop_front()
    }

    fn found_count(&self) -> usize {
        self.seen.len()
    }
}

/// `path` and `query` of a URL (no fragment).
fn split(url: &str) -> (&str, &str) {
    let url = url.split('#').next().unwrap_or(url);
    url.split_once('?').unwrap_or((url, ""))
}

/// A URL path as a file path: percent-decoded, refused when it could leave
/// the export (`..`, a backslash, a NUL).
fn decoded(path: &str) -> anyhow::Result<String> {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8()?.into_owned();
    if decoded.split('/').any(|segment| segment == "..") || decoded.contains(['\\', '\0']) {
        bail!("{path} cannot be a file of the export");
    }
    Ok(decoded)
}

/// The query exactly as the browser sends it for `path?query`: a GET data
/// call's arguments as `serde_qs` encodes them, then through the URL parser
/// every browser uses (WHATWG, the `url` crate), which percent-encodes a few
/// bytes `serde_qs` leaves alone. The exported file's name comes from this,
/// as the page's script computes it from the URL the browser fetches.
fn browser_query(path: &str, query: &str) -> String {
    url::Url::parse(&format!("http://export.invalid{path}?{query}"))
        .ok()
        .and_then(|url| url.query().map(str::to_owned))
        .unwrap_or_else(|| query.to_owned())
}

/// A response of the app, read whole.
struct Fetched {
    status: StatusCode,
    /// Its final policy, as its headers say.
    policy: Option<CachePolicy>,
    location: Option<String>,
    body: axum::body::Bytes,
}

/// `GET url` from the app in-process, as an anonymous visitor.
async fn fetch(
    router: Router,
    url: &str,
    accept: &'static str,
    export: Option<Export>,
) -> anyhow::Result<Fetched> {
    let mut request = Request::get(url)
        .header(ACCEPT, accept)
        // Plain bytes: static hosts compress as they serve.
        .header(ACCEPT_ENCODING, "identity")
        .body(Body::empty())?;
    if let Some(export) = export {
        request.extensions_mut().insert(export);
    }
    let response = router.oneshot(request).await?;
    let status = response.status();
    let policy = CachePolicy::from_headers(response.headers());
    let location =
        response.headers().get(LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    Ok(Fetched { status, policy, location, body })
}

/// The files of an export, and the headers each is served with.
struct Files {
    out: PathBuf,
    count: usize,
    bytes: u64,
    /// URL → headers, for `_headers`.
    rules: BTreeMap<String, Vec<(&'static str, String)>>,
    /// File (as nginx's `$uri` names it) → headers, for `_headers.nginx`.
    by_file: BTreeMap<String, Vec<(&'static str, String)>>,
    /// Pages with a query: (path, query), for `_redirects`.
    query_pages: Vec<(String, String)>,
    /// The headers of every response (see `server::security`).
    security: Arc<super::security::SecurityHeaders>,
    /// Path → the inline scripts of its pages, with any query: static hosts
    /// match `_headers` on the path alone, so its policy allows them all.
    page_scripts: BTreeMap<String, BTreeSet<String>>,
}

impl Files {
    fn new(out: PathBuf, security: Arc<super::security::SecurityHeaders>) -> Self {
        Self {
            out,
            count: 0,
            bytes: 0,
            rules: BTreeMap::new(),
            by_file: BTreeMap::new(),
            query_pages: Vec::new(),
            security,
            page_scripts: BTreeMap::new(),
        }
    }

    /// Writes the page at `url` to `file`.
    fn page(
        &mut self,
        url: &str,
        file: &str,
        policy: Option<CachePolicy>,
        body: &[u8],
    ) -> anyhow::Result<()> {
        let (path, query) = split(url);
        let rule = if query.is_empty() {
            Some(path)
        } else {
            // Static hosts match `_headers` on the path alone: the page's
            // rule is its path's, the same route and policy.
            self.query_pages.push((path.to_owned(), query.to_owned()));
            None
        };
        self.write(rule, file, policy, body)?;
        // Its Content-Security-Policy: by file for nginx, and for `_headers`
        // its path's, which allows the scripts of every page at the path.
        let scripts = super::security::app_script_hashes(&String::from_utf8_lossy(body));
        let policy = self.security.policy(&scripts);
        if let Some(headers) = self.by_file.get_mut(file) {
            headers.push(("Content-Security-Policy", policy));
        }
        self.page_scripts.entry(path.to_owned()).or_default().extend(scripts);
        Ok(())
    }

    /// Writes `file` with `policy`'s headers: for nginx by file, and in
    /// `_headers` under the URL `rule`, if any.
    fn write(
        &mut self,
        rule: Option<&str>,
        file: &str,
        policy: Option<CachePolicy>,
        body: &[u8],
    ) -> anyhow::Result<()> {
        self.save(file, body)?;
        let headers = headers(policy.as_ref());
        if let Some(url) = rule {
            self.rules.insert(url.to_owned(), headers.clone());
        }
        self.by_file.insert(file.to_owned(), headers);
        Ok(())
    }

    fn save(&mut self, file: &str, body: &[u8]) -> anyhow::Result<()> {
        let path = self.out.join(file.trim_start_matches('/'));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, body).with_context(|| format!("writing {}", path.display()))?;
        self.count += 1;
        self.bytes += body.len() as u64;
        Ok(())
    }

    /// Copies the site's files (the `/pkg` bundle, `public/`), each served
    /// as the server serves it: the bundle immutable when its names are
    /// hashed, the rest under the files' policy.
    fn copy_site(&mut self, site: &Path, hashed: bool) -> anyhow::Result<()> {
        let mut stack = vec![site.to_path_buf()];
        let mut copied = Vec::new();
        while let Some(dir) = stack.pop() {
            let entries =
                std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?;
            for entry in entries {
                let path = entry?.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    copied.push(path);
                }
            }
        }
        copied.sort();
        for path in copied {
            let relative = path.strip_prefix(site)?.to_string_lossy().replace('\\', "/");
            let body = std::fs::read(&path)?;
            if relative.starts_with("pkg/") {
                self.save(&relative, &body)?;
            } else {
                let url = format!("/{relative}");
                self.write(Some(&url), &url, Some(crate::app::cache::files()), &body)?;
            }
        }
        let bundle = headers(Some(&crate::app::cache::bundle(hashed)));
        self.rules.insert("/pkg/*".to_owned(), bundle.clone());
        self.by_file.insert("~^/pkg/".to_owned(), bundle);
        Ok(())
    }

    /// Writes `_headers`, `_headers.nginx` and `_redirects`.
    fn finish(&mut self, origin: Option<&str>, table: &RouteTable) -> anyhow::Result<()> {
        for (path, scripts) in &self.page_scripts {
            let scripts: Vec<String> = scripts.iter().cloned().collect();
            if let Some(headers) = self.rules.get_mut(path) {
                headers.push(("Content-Security-Policy", self.security.policy(&scripts)));
            }
        }
        // Every file: the fixed security headers, and the policy without
        // hashes where a page's own does not replace it (nginx: the maps'
        // default; static.conf adds the fixed ones).
        let fixed = self.security.fixed().map(|(name, value)| (name, value.to_owned())).collect();
        self.rules.insert("/*".to_owned(), fixed);
        let headers_file = netlify_headers(&self.rules);
        self.save("_headers", headers_file.as_bytes())?;
        let nginx = nginx_maps(&self.by_file, &self.security.policy(&[]));
        self.save("_headers.nginx", nginx.as_bytes())?;
        let redirects = redirects(&self.query_pages, origin, table);
        if !redirects.is_empty() {
            self.save("_redirects", redirects.as_bytes())?;
        }
        // GitHub Pages: serve `_data/` and `_headers`-style names as they are.
        self.save(".nojekyll", b"")?;
        Ok(())
    }
}

/// The headers a static host sends with a file of `policy`: `Cache-Control`,
/// `CDN-Cache-Control` where the policy has one, and its tags as Cloudflare
/// (`Cache-Tag`) and Netlify (`Netlify-Cache-Tag`) read them.
fn headers(policy: Option<&CachePolicy>) -> Vec<(&'static str, String)> {
    let Some(policy) = policy else { return vec![("Cache-Control", "no-store".to_owned())] };
    let text = |value: http::HeaderValue| value.to_str().unwrap_or_default().to_owned();
    let mut headers = vec![("Cache-Control", text(policy.cache_control()))];
    if let Some(cdn) = policy.cdn_cache_control() {
        headers.push(("CDN-Cache-Control", text(cdn)));
    }
    if let Some(tags) = policy.cache_tag() {
        headers.push(("Cache-Tag", text(tags.clone())));
        headers.push(("Netlify-Cache-Tag", text(tags)));
    }
    headers
}

/// `_headers`, in the syntax Netlify and Cloudflare Pages share: a URL
/// pattern, then its headers indented.
fn netlify_headers(rules: &BTreeMap<String, Vec<(&'static str, String)>>) -> String {
    let mut text =
        String::from("# Generated by `leptos-isr-starter prerender` from the route table.\n");
    for (url, headers) in rules {
        text.push_str(url);
        text.push('\n');
        for (name, value) in headers {
            text.push_str(&format!("  {name}: {value}\n"));
        }
    }
    text
}

/// The same headers for nginx (`deploy/nginx/static.conf` includes this):
/// one `map` per header from the file served (`$uri` after `try_files`) to
/// its value; empty means no such header.
fn nginx_maps(by_file: &BTreeMap<String, Vec<(&'static str, String)>>, policy: &str) -> String {
    let mut text = String::from(
        "# Generated by `leptos-isr-starter prerender`: included by deploy/nginx/static.conf.\n",
    );
    for (name, variable, default) in [
        ("Cache-Control", "export_cache_control", ""),
        ("CDN-Cache-Control", "export_cdn_cache_control", ""),
        ("Cache-Tag", "export_cache_tag", ""),
        ("Content-Security-Policy", "export_csp", policy),
    ] {
        text.push_str(&format!("map $uri ${variable} {{\n  default \"{default}\";\n"));
        for (file, headers) in by_file {
            if let Some((_, value)) = headers.iter().find(|(header, _)| *header == name) {
                text.push_str(&format!("  \"{file}\" \"{value}\";\n"));
            }
        }
        text.push_str("}\n");
    }
    text
}

/// `_redirects` (Netlify's syntax): the pages with a query rewritten to their
/// files, and with an origin,
/// every route never exported proxied to it. Empty when there is neither.
fn redirects(query_pages: &[(String, String)], origin: Option<&str>, table: &RouteTable) -> String {
    // One rule per path and set of parameters, its values placeholders:
    // `/blog page=:page /blog/index.page=:page.html 200!` (`!`: the path's
    // own index.html must not shadow it).
    let rules: BTreeSet<String> = query_pages
        .iter()
        .map(|(path, query)| {
            let names: Vec<String> = form_urlencoded::parse(query.as_bytes())
                .map(|(name, _)| name.into_owned())
                .collect();
            let matched = names.iter().map(|name| format!("{name}=:{name}")).collect::<Vec<_>>();
            let file = page_file(path, &matched.join("&")).replace("~3a", ":");
            format!("{path} {} {file} 200!", matched.join(" "))
        })
        .collect();
    let mut lines: Vec<String> = rules.into_iter().collect();
    if let Some(origin) = origin {
        let dynamic = |pattern: &&str| {
            let path = sample(pattern);
            !table.is_prerendered(&path)
                && table.resolve(&path, None).is_some_and(|r| r.scope == isr_cache::Scope::Dynamic)
        };
        for pattern in table.patterns().filter(dynamic) {
            let (from, to) = netlify_pattern(pattern);
            lines.push(format!("{from} {origin}{to} 200"));
        }
    }
    if lines.is_empty() {
        return String::new();
    }
    let mut text = String::from("# Generated by `leptos-isr-starter prerender`.\n");
    for line in lines {
        text.push_str(&line);
        text.push('\n');
    }
    text
}

/// A JavaScript regular expression literal matching the paths of
/// `patterns` (`/blog/{slug}` → `[^/]+` for the parameter), with or without
/// a trailing slash.
fn route_regex<'a>(patterns: impl Iterator<Item = &'a str>) -> String {
    let alternatives: Vec<String> = patterns
        .map(|pattern| {
            pattern
                .trim_end_matches('/')
                .split('/')
                .map(|segment| {
                    if segment.starts_with("{*") {
                        ".*".to_owned()
                    } else if segment.starts_with('{') {
                        "[^/]+".to_owned()
                    } else {
                        segment
                            .chars()
                            .map(|c| {
                                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                                    c.to_string()
                                } else {
                                    format!("\\{c}")
                                }
                            })
                            .collect()
                    }
                })
                .collect::<Vec<_>>()
                .join("\\/")
        })
        .collect();
    format!("/^(?:{})\\/?$/", alternatives.join("|"))
}

/// A path that matches `pattern` (`/blog/{slug}` → `/blog/x`).
fn sample(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|segment| if segment.starts_with('{') { "x" } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

/// An axum pattern in Netlify's syntax, as the rule's source and target:
/// `{name}` is `:name`, a catch-all `{*rest}` is `*` and `:splat`.
fn netlify_pattern(pattern: &str) -> (String, String) {
    let (mut from, mut to) = (Vec::new(), Vec::new());
    for segment in pattern.split('/') {
        if segment.starts_with("{*") {
            from.push("*".to_owned());
            to.push(":splat".to_owned());
        } else if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            from.push(format!(":{name}"));
            to.push(format!(":{name}"));
        } else {
            from.push(segment.to_owned());
            to.push(segment.to_owned());
        }
    }
    (from.join("/"), to.join("/"))
}

/// Progress on standard error: pages done / found, every second at most.
struct Progress {
    on: bool,
    started: Instant,
    last: Option<Instant>,
}

impl Progress {
    fn new(on: bool) -> Self {
        Self { on, started: Instant::now(), last: None }
    }

    fn tick(&mut self, done: usize, found: usize) {
        if !self.on || self.last.is_some_and(|last| last.elapsed() < Duration::from_secs(1)) {
            return;
        }
        self.last = Some(Instant::now());
        eprintln!(
            "prerendering: {done}/{found} pages ({:.0} s)",
            self.started.elapsed().as_secs_f64()
        );
    }

    fn done(&self, pages: usize) {
        if self.on {
            eprintln!("prerendering: {pages} pages done");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_reads_its_options() {
        let args = [
            "out",
            "--origin",
            "https://app.example.com/",
            "--timestamp",
            "2026-12-01T00:00:00Z",
            "--concurrency",
            "3",
        ];
        let options = parse(args.map(Into::into)).expect("parses");
        assert_eq!(options.out, PathBuf::from("out"));
        assert_eq!(options.origin.as_deref(), Some("https://app.example.com"));
        assert_eq!(options.timestamp, Some(1_796_083_200_000));
        assert_eq!(options.concurrency, 3);
        assert!(parse(["--origin", "app.example.com"].map(Into::into)).is_err(), "not a URL");
        assert!(parse(["--timestamp", "yesterday"].map(Into::into)).is_err());
        assert!(parse(["--frobnicate"].map(Into::into)).is_err());
    }

    #[test]
    fn routes_become_netlify_patterns() {
        assert_eq!(netlify_pattern("/dashboard"), ("/dashboard".into(), "/dashboard".into()));
        assert_eq!(
            netlify_pattern("/dashboard/posts/{slug}"),
            ("/dashboard/posts/:slug".into(), "/dashboard/posts/:slug".into())
        );
        assert_eq!(netlify_pattern("/pkg/{*file}"), ("/pkg/*".into(), "/pkg/:splat".into()));
    }

    #[test]
    fn exported_routes_are_one_regular_expression() {
        let regex = route_regex(["/", "/blog", "/blog/{slug}", "/files/{*rest}"].into_iter());
        assert_eq!(regex, r"/^(?:|\/blog|\/blog\/[^/]+|\/files\/.*)\/?$/");
    }

    #[test]
    fn paths_that_could_leave_the_export_are_refused() {
        assert_eq!(decoded("/blog/hello%20world").expect("decodes"), "/blog/hello world");
        assert!(decoded("/blog/%2e%2e/secret").is_err());
        assert!(decoded("/blog/..").is_err());
    }

    #[test]
    fn data_queries_are_read_as_the_browser_sends_them() {
        assert_eq!(browser_query("/api/x", "slug=hello-isr"), "slug=hello-isr");
        // The URL parser percent-encodes what a query may not hold as is.
        assert_eq!(browser_query("/api/x", "q=a b\"c"), "q=a%20b%22c");
    }

    /// nginx serving an export sends the app's fixed security headers,
    /// written out in `deploy/nginx/static.conf`: the two stay equal.
    #[test]
    fn static_conf_sends_the_apps_security_headers() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/nginx/static.conf");
        let conf = std::fs::read_to_string(path).expect("static.conf");
        let security = super::super::security::SecurityHeaders::new("http://example.com", None);
        for (name, value) in security.fixed() {
            let line = format!("add_header {name} \"{value}\" always;");
            assert!(conf.contains(&line), "static.conf lacks {line}");
        }
        assert!(conf.contains("add_header Content-Security-Policy $export_csp always;"));
    }

    #[test]
    fn headers_files_give_each_url_its_headers() {
        let mut rules = BTreeMap::new();
        rules.insert("/blog/a".to_owned(), vec![("Cache-Control", "public".to_owned())]);
        rules.insert("/pkg/*".to_owned(), vec![("Cache-Control", "immutable".to_owned())]);
        let text = netlify_headers(&rules);
        assert!(
            text.ends_with(
                "/blog/a\n  Cache-Control: public\n/pkg/*\n  Cache-Control: immutable\n"
            ),
            "{text}"
        );
        let nginx = nginx_maps(&rules, "default-src 'self'");
        assert!(
            nginx.contains(
                "map $uri $export_cache_control {\n  default \"\";\n  \"/blog/a\" \"public\";\n"
            ),
            "{nginx}"
        );
    }
}
