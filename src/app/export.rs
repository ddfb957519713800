//! What a page written by static generation (`scripts/prerender`, see
//! `server::prerender`) carries, and where its files go.
//!
//! An exported site is served by a static host with nothing else running, so
//! every request an exported page makes must be a file:
//!
//! - A page at `/blog/hello` is the file `blog/hello/index.html`, and one
//!   with a query (`/blog?page=2`) is `blog/index.page=2.html`
//!   ([`page_file`]). Static hosts ignore query strings, so those are served
//!   by rewrite rules (`deploy/nginx/static.conf`, Netlify's `_redirects`),
//!   and reached by client-side navigation everywhere.
//! - Client-side navigation loads data from the GET data functions
//!   (`/api/blog/get_post?slug=hello`). Their answers are exported too, at
//!   [`data_file`] (`/_data/api/blog/get_post/slug=hello.json`), and an
//!   exported page carries a small script ([`ExportHead`]) that sends the
//!   app's same-origin GETs under `/api/` there. A script, not a server_fn
//!   client of our own: it costs pages served by the app nothing (not a byte
//!   of wasm), and the data functions stay plain `#[server]` functions.
//! - A link to a route that is never exported (`/dashboard`) is a full page
//!   load on an exported page, not client-side navigation: the static host
//!   then answers it (its 404 page, or the app behind a `_redirects` proxy)
//!   rather than the page asking for data that was never exported.
//! - Every page of one export stamps its data with the export's time (the
//!   `loaded_at` of [`crate::app::query::Loaded`]), so the browser still knows
//!   how old the data is, and two exports of the same data are the same bytes.

use leptos::prelude::*;

/// The static-export marker of a render: its data's timestamp and the data
/// calls it made. The prerender command puts it in its requests' extensions;
/// a render reads it from the request ([`current`]).
#[cfg(feature = "ssr")]
#[derive(Clone, Debug)]
pub struct Export {
    /// The time every exported page's data is stamped with, in Unix millis.
    pub loaded_at: i64,
    /// A JavaScript regular expression matching the paths of the exported
    /// routes: links elsewhere load the page from the host.
    pub routes: std::sync::Arc<str>,
    /// Whether the page hydrates. Not the 404 page: a static host serves it
    /// at every URL it has no file for, where the router would render that
    /// URL's route over it (`/dashboard`'s, say).
    pub hydrate: bool,
    /// The GET data calls renders made, as `(path, query)`: the answers
    /// client-side navigation between exported pages needs.
    pub calls: std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<(String, String)>>>,
}

#[cfg(feature = "ssr")]
impl Export {
    /// A marker stamping data with `loaded_at`, for an export of the routes
    /// `routes` matches, with no calls yet.
    pub fn new(loaded_at: i64, routes: &str) -> Self {
        Self { loaded_at, routes: routes.into(), hydrate: true, calls: Default::default() }
    }

    /// The calls recorded so far, sorted.
    pub fn calls(&self) -> Vec<(String, String)> {
        self.calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }
}

/// The export marker of the request being rendered, if it is an export's.
#[cfg(feature = "ssr")]
pub fn current() -> Option<Export> {
    use_context::<http::request::Parts>()?.extensions.get::<Export>().cloned()
}

/// Whether the page being rendered hydrates: every page but an export's
/// 404 page ([`Export::hydrate`]).
pub fn hydrates() -> bool {
    #[cfg(feature = "ssr")]
    return current().is_none_or(|export| export.hydrate);
    #[cfg(not(feature = "ssr"))]
    true
}

/// Notes that the render called the GET data function at `path` with
/// `arguments` (encoded as its client encodes them, `serde_qs`), when the
/// render is an export's.
#[cfg(feature = "ssr")]
pub fn record<A: serde::Serialize>(path: &str, arguments: &A) {
    let Some(export) = current() else { return };
    match serde_qs::to_string(arguments) {
        Ok(query) => {
            export
                .calls
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert((path.to_owned(), query));
        }
        Err(error) => tracing::warn!(path, %error, "cannot encode a data call for the export"),
    }
}

/// Where the export keeps the answer to `GET path?query`: under `/_data`,
/// the path, then the query without empty pairs (`page=1&` is `page=1`)
/// made safe as a file name ([`file_name`]), `_` when empty. [`SCRIPT`]
/// computes the same in the browser.
pub fn data_file(path: &str, query: &str) -> String {
    let query = query.split('&').filter(|pair| !pair.is_empty()).collect::<Vec<_>>().join("&");
    let name = if query.is_empty() { "_".to_owned() } else { file_name(&query) };
    format!("/_data{path}/{name}.json")
}

/// The export's file for the page at `path?query` (`path` decoded, from
/// `/`): `path/index.html`, or `path/index.<query>.html` with a query.
pub fn page_file(path: &str, query: &str) -> String {
    let dir = path.trim_end_matches('/');
    if query.is_empty() {
        format!("{dir}/index.html")
    } else {
        format!("{dir}/index.{}.html", file_name(query))
    }
}

/// `text` with every byte outside `A-Z a-z 0-9 . = -` written `~xx`
/// (lowercase hex): a file name on every file system and static host, and
/// one-to-one, so two queries never share a file (and `_`, escaped, is free
/// to name the empty query).
pub fn file_name(text: &str) -> String {
    let mut name = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'=' | b'-') {
            name.push(char::from(byte));
        } else {
            name.push_str(&format!("~{byte:02x}"));
        }
    }
    name
}

/// The script of an exported page, `ROUTES` standing for [`Export::routes`]:
///
/// - The browser's half of [`data_file`]: `fetch` is replaced so that a GET
///   of this origin's `/api/…` reads the exported answer instead, its query
///   without empty pairs (the browser's client ends it with `&`). Other
///   requests pass untouched (a `Request` is copied only for a GET: copying
///   one with a body would use the body up). `URL.search`
///   is ASCII (the URL parser percent-encodes the rest), so escaping its
///   UTF-16 code units is escaping its bytes, as [`file_name`] does.
/// - A click on a same-origin link whose path no exported route matches is
///   kept from the router (caught first, on the way down, and stopped there),
///   so the browser loads it as a page.
pub const SCRIPT: &str = r#"(()=>{const f=window.fetch,R=ROUTES,n=q=>(q=q.split("&").filter(Boolean).join("&"))?q.replace(/[^A-Za-z0-9.=-]/g,c=>"~"+c.charCodeAt(0).toString(16).padStart(2,"0")):"_";window.fetch=(i,o)=>{const m=(o&&o.method)||(i instanceof Request?i.method:"GET");if(m.toUpperCase()!=="GET")return f(i,o);const r=new Request(i,o),u=new URL(r.url);return u.origin===location.origin&&u.pathname.startsWith("/api/")?f("/_data"+u.pathname+"/"+n(u.search.slice(1))+".json",{headers:r.headers,signal:r.signal}):f(i,o)};document.addEventListener("click",e=>{const a=e.target.closest&&e.target.closest("a[href]");if(!a)return;const u=new URL(a.href,location.href);if(u.origin===location.origin&&!R.test(u.pathname))e.stopPropagation()},true)})()"#;

/// In an exported page's `<head>`: the export's time, and its [`SCRIPT`],
/// before the app's own scripts. Nothing in a page the app serves.
#[component]
pub fn ExportHead() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let export =
        current().map(|export| (export.loaded_at, SCRIPT.replace("ROUTES", &export.routes)));
    #[cfg(not(feature = "ssr"))]
    let export: Option<(i64, String)> = None;
    export.map(|(loaded_at, script)| {
        view! {
            <meta name="static-export" content=loaded_at.to_string() />
            <script inner_html=script></script>
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_index_files_and_queries_name_them() {
        assert_eq!(page_file("/", ""), "/index.html");
        assert_eq!(page_file("/blog", ""), "/blog/index.html");
        assert_eq!(page_file("/blog/", ""), "/blog/index.html");
        assert_eq!(page_file("/blog", "page=2"), "/blog/index.page=2.html");
        assert_eq!(page_file("/", "page=2"), "/index.page=2.html");
    }

    #[test]
    fn data_answers_are_files_named_by_their_query() {
        assert_eq!(
            data_file("/api/blog/get_post", "slug=hello-isr"),
            "/_data/api/blog/get_post/slug=hello-isr.json"
        );
        assert_eq!(data_file("/api/blog/latest_posts", ""), "/_data/api/blog/latest_posts/_.json");
        // The browser's client ends its queries with `&`.
        assert_eq!(data_file("/api/x", "page=1&"), data_file("/api/x", "page=1"));
        assert_eq!(data_file("/api/x", "&"), data_file("/api/x", ""));
        // Separators, escapes and the escape character itself, one-to-one.
        assert_eq!(file_name("q=a%20b&x=/~_"), "q=a~2520b~26x=~2f~7e~5f");
        assert_ne!(file_name("a_b"), file_name("a~5fb"));
    }
}
