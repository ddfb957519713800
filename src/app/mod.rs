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
pub mod home;
pub mod landing;
pub mod paging;
pub mod query;
pub mod search;
pub mod shop;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::{SsrMode, path};

use self::components::NotFound;

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
                <HydrationScripts options />
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
                <Routes fallback=|| view! { <NotFound /> }>
                    <Route path=path!("/") view=home::HomePage ssr=SsrMode::Async />
                    <Route path=path!("/landing/:campaign") view=landing::LandingPage ssr=SsrMode::Async />
                    <Route path=path!("/blog") view=blog::BlogIndex ssr=SsrMode::Async />
                    <Route path=path!("/blog/:slug") view=blog::PostPage ssr=SsrMode::Async />
                    <Route path=path!("/products") view=shop::ProductIndex ssr=SsrMode::Async />
                    <Route path=path!("/products/:id") view=shop::ProductPage ssr=SsrMode::Async />
                    <Route path=path!("/search") view=search::SearchPage ssr=SsrMode::Async />
                    <Route path=path!("/login") view=auth::LoginPage ssr=SsrMode::Async />
                    <Route path=path!("/dashboard") view=dashboard::DashboardPage ssr=SsrMode::Async />
                    <Route path=path!("/dashboard/posts/:slug") view=dashboard::editor::PostEditorPage ssr=SsrMode::Async />
                    <Route path=path!("/dashboard/products/:id") view=dashboard::editor::ProductEditorPage ssr=SsrMode::Async />
                </Routes>
            </main>
            <SiteFooter />
        </Router>
    }
}

/// The JSON API: plain axum handlers beside the pages, one group per feature.
#[cfg(feature = "ssr")]
pub fn api_routes() -> axum::Router<crate::server::AppState> {
    axum::Router::new()
        .merge(blog::api::routes())
        .merge(shop::api::routes())
        .merge(auth::preview::routes())
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
                    <li><A href="/blog">"Blog"</A></li>
                    <li><A href="/products">"Shop"</A></li>
                    <li><A href="/search">"Search"</A></li>
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
