//! The application shared by server and browser: the HTML shell, `<App/>` with
//! the route table, the layout, and one folder per feature.
//!
//! Every page that loads data is rendered with `SsrMode::Async`: the response
//! head waits for the data, so the status (404 for an unknown slug, a redirect
//! for a signed-out dashboard) and later the cache headers set while loading
//! reach the HTTP response. Streamed (out-of-order) rendering would send the
//! head before the data exists (leptos issue #3147).

pub mod auth;
pub mod blog;
pub mod cache;
pub mod components;
pub mod dashboard;
pub mod export;
pub mod home;
pub mod landing;
pub mod lazy;
pub mod paging;
pub mod query;
pub mod search;
pub mod shop;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::components::{A, FlatRoutes, Router};

use self::auth::CurrentUser;
use self::components::NotFound;

/// Every feature of the site, in the order its parts appear (navigation,
/// home page sections, search results, dashboard sections) and its demo
/// content is seeded (accounts before the orders that name them). A feature is a
/// folder under `app/` that exports a [`Feature`] and a `Routes` component;
/// registering it is this line and its `<Routes />` line in [`App`].
#[rustfmt::skip] // One line per feature, however many there are.
pub const FEATURES: &[Feature] = &[
    auth::FEATURE,
    home::FEATURE,
    blog::FEATURE,
    shop::FEATURE,
    landing::FEATURE,
    search::FEATURE,
    dashboard::FEATURE,
];

/// What a feature plugs into the rest of the site, besides its pages. Every
/// part is optional but its caching: a feature with pages must say how each
/// is cached (`cache::tests` fails otherwise).
pub struct Feature {
    /// A link in the site's navigation: label, href.
    pub nav: Option<(&'static str, &'static str)>,
    /// A section of the home page, with its own data.
    pub home: Option<HomeSection>,
    /// Its results on the search page, for a query that is not blank (each
    /// feature loads its own, with its own GET data function).
    pub search: Option<fn(String) -> AnyView>,
    /// Its part of the signed-in dashboard, for the visitor signed in.
    pub dashboard: Option<fn(CurrentUser) -> AnyView>,
    /// Its routes and server functions in the site's route table (its
    /// `cache::routes`).
    #[cfg(feature = "ssr")]
    pub cache: fn(isr_cache::RouteTable) -> isr_cache::RouteTable,
    /// Its JSON API: plain axum handlers beside the pages.
    #[cfg(feature = "ssr")]
    pub api: Option<fn() -> axum::Router<crate::state::AppState>>,
    /// Numbers for the admin's "Site" summary on the dashboard.
    #[cfg(feature = "ssr")]
    pub stats: Option<dashboard::StatsFn>,
    /// Inserts its demo content (see `server::seed`), in the transaction
    /// that seeds every feature's.
    #[cfg(feature = "ssr")]
    pub seed: Option<SeedFn>,
    /// The pages of its prerendered routes with parameters, listed from the
    /// database for static generation (Next.js's `generateStaticParams`):
    /// every post, every product. Next to its routes' policies, in its
    /// `cache.rs`; pages only linked to are found by crawling anyway.
    #[cfg(feature = "ssr")]
    pub prerender: Option<PathsFn>,
}

/// A feature's prerendered pages, as paths (`/blog/hello-isr`).
#[cfg(feature = "ssr")]
pub type PathsFn = for<'a> fn(
    &'a crate::db::Db,
) -> std::pin::Pin<
    Box<dyn Future<Output = crate::AppResult<Vec<String>>> + Send + 'a>,
>;

/// A feature's demo seed: inserts its rows on the seeding connection.
#[cfg(feature = "ssr")]
pub type SeedFn =
    for<'c> fn(
        &'c mut sqlx::AnyConnection,
    ) -> std::pin::Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'c>>;

impl Feature {
    /// A feature with no part anywhere yet: start from this in a `const`
    /// with `..Feature::NONE`.
    pub const NONE: Self = Self {
        nav: None,
        home: None,
        search: None,
        dashboard: None,
        #[cfg(feature = "ssr")]
        cache: |table| table,
        #[cfg(feature = "ssr")]
        api: None,
        #[cfg(feature = "ssr")]
        stats: None,
        #[cfg(feature = "ssr")]
        seed: None,
        #[cfg(feature = "ssr")]
        prerender: None,
    };
}

/// A feature's section of the home page.
#[derive(Clone, Copy)]
pub struct HomeSection {
    /// A call to action in the hero: label, href.
    pub cta: (&'static str, &'static str),
    /// The cache tags of what the section shows: the home page carries them,
    /// so a write that changes the section purges the page.
    pub tags: fn() -> Vec<crate::tags::Tag>,
    /// The section, which loads its own data.
    pub view: fn() -> AnyView,
}

/// Each feature's `field` (an `Option`), as an iterator over the features
/// that have one: `feature_parts!(nav: (&'static str, &'static str))`.
///
/// Read from [`FEATURES`] at compile time, into a constant of that field
/// alone: code that iterates the table itself holds all its function
/// pointers, which would keep every feature's home, search and dashboard
/// views in the main wasm, out of the lazily loaded areas (`app::lazy`)
/// whose pages alone use them.
macro_rules! feature_parts {
    ($field:ident: $ty:ty) => {{
        const PARTS: [Option<$ty>; $crate::app::FEATURES.len()] = {
            let mut parts = [None; $crate::app::FEATURES.len()];
            let mut i = 0;
            while i < parts.len() {
                parts[i] = $crate::app::FEATURES[i].$field;
                i += 1;
            }
            parts
        };
        PARTS.iter().flatten()
    }};
}
pub(crate) use feature_parts;

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HashedStylesheet options=options.clone() id="leptos" />
                <AutoReload options=options.clone() />
                // Before the app's scripts: an exported page's data requests go to files.
                <export::ExportHead />
                {export::hydrates().then(|| view! { <HydrationScripts options /> })}
                <query::ClientCacheCap />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The root component: metadata, layout and every route of the site.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    query::provide_query_client();

    view! {
        <Title formatter=|title: String| {
            if title.is_empty() { "Leptos ISR Starter".to_owned() } else { format!("{title} · Leptos ISR Starter") }
        } />
        <Router>
            <SiteHeader />
            <main class="container">
                // Each feature's pages (with `FEATURES` above). Flat: no page
                // nests in another's outlet, and `<FlatRoutes>` is 9 KB brotli
                // less of every page's wasm than `<Routes>`. A feature that
                // wants nested routes (a `<ParentRoute>`) switches back.
                <FlatRoutes fallback=|| view! { <NotFound /> }>
                    <home::Routes />
                    <landing::Routes />
                    <blog::Routes />
                    <shop::Routes />
                    <search::Routes />
                    <auth::Routes />
                    <dashboard::Routes />
                </FlatRoutes>
            </main>
            <SiteFooter />
        </Router>
    }
}

/// The app's routes, generated once per process.
///
/// Not per router: while Leptos generates a route list it sets a process-wide
/// flag that stops every resource from loading (leptos_server's
/// `SuppressResourceLoad`), so building a router while another one serves
/// (as parallel tests do) would leave those pages' renders waiting forever.
#[cfg(feature = "ssr")]
pub fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| leptos_axum::generate_route_list(App)).clone()
}

/// The JSON API: plain axum handlers beside the pages, each feature's own.
#[cfg(feature = "ssr")]
pub fn api_routes() -> axum::Router<crate::state::AppState> {
    FEATURES
        .iter()
        .filter_map(|feature| feature.api)
        .fold(axum::Router::new(), |router, api| router.merge(api()))
}

/// Site navigation. The same for every visitor, signed in or not, so that
/// every public page can be cached once for everyone.
#[component]
fn SiteHeader() -> impl IntoView {
    view! {
        <header class="site-header">
            <nav class="container nav">
                <A href="/" attr:class="brand">
                    <span class="brand-mark">"◆"</span>
                    " Leptos ISR"
                </A>
                <ul class="nav-links">
                    {feature_parts!(nav: (&'static str, &'static str))
                        .map(|&(label, href)| view! { <li><A href=href>{label}</A></li> })
                        .collect_view()}
                    <li><A href="/dashboard" attr:class="nav-cta">"Dashboard"</A></li>
                </ul>
            </nav>
        </header>
    }
}

#[component]
fn SiteFooter() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <div class="container">
                <p>
                    "Built with Leptos and axum. Pages are rendered once, cached, and regenerated in the background. "
                    <A href="/landing/launch-week">"Launch week"</A>
                    " · "
                    <A href="/landing/spring-sale">"Spring sale"</A>
                </p>
            </div>
        </footer>
    }
}
