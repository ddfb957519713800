//! The site's pages in areas, each a wasm chunk of its own in release builds:
//! the main wasm holds what every page needs (the runtime, the router, the
//! header, the query tier) and the blog, and a visitor downloads, besides,
//! only the area of the page they open, and the next when they navigate to
//! it. The account area (signing in, the dashboard, the editors, the cache
//! panel) is never downloaded by an anonymous visitor.
//!
//! An area's pages are Leptos [`LazyRoute`]s whose views all go through one
//! function, its `view`. With the crate feature `split` (release builds:
//! `scripts/build-site --release`, or `cargo leptos build --release --split
//! --features split`) that function is `#[lazy]`: wasm-split moves it, and
//! all the code only it reaches, out of the main wasm into its chunk, which
//! the router fetches on the way to the first page of the area. Code that
//! several areas share goes into a chunk of its own that each of them loads.
//! One function per area, not per page: a split point per page cuts the
//! shared code into a chunk per combination of pages, each a request of its
//! own (measured: 11 page splits made 89 files). Without the feature (debug
//! builds, plain `cargo leptos watch`, which does not run wasm-split) the
//! pages are ordinary routes.
//!
//! A chunk pays only for code that is mostly its area's own. Shared code
//! costs more in chunks than in the main module: it is cut into a chunk per
//! combination of areas, small files that compress apart, and called
//! through the function table. The blog was an area until measured (issue
//! 14, brotli, on top of the same build): its own code was 5 KB and the
//! chunks it shared with the other areas 45 KB, which in the main module
//! cost 30 KB. In the main module, a blog page loads 182 KB instead of 202,
//! and every other area's pages load 4 to 9 KB less, the blog's 5 KB
//! included. So the blog's pages are ordinary routes; an area whose own code
//! is small belongs there too. (The shop and the home page the other way:
//! the shop in the main module made a blog page 226 KB.)
//!
//! A page opened directly has its area loaded before hydration
//! ([`before_hydration`]), as its server render says in a `<meta
//! name="lazy-area">`.
//!
//! Adding a page to an area: a line in `areas!` below, and
//! `view={Lazy::<ItsRoute>::new()}` on its `<Route>`. A new area is a new
//! block, and a chunk.
//!
//! [`LazyRoute`]: leptos_router::LazyRoute

/// For each area, a module with its page enum, its one `#[lazy]` view and a
/// route type per page (re-exported here).
macro_rules! areas {
    ($(
        $(#[$area_doc:meta])*
        $area:ident {
            $( $(#[$doc:meta])* $route:ident => $page:path, )*
        }
    )*) => {
        $(
            $(#[$area_doc])*
            pub mod $area {
                use leptos::prelude::*;

                /// A page of the area.
                #[derive(Debug, Clone, Copy)]
                pub enum Page {
                    $( $route, )*
                }

                /// The view of a page of the area: the split point of its chunk.
                #[cfg_attr(feature = "split", leptos::lazy($area))]
                pub async fn view(page: Page) -> AnyView {
                    let page = match page {
                        $( Page::$route => $page().into_any(), )*
                    };
                    view! { <leptos_meta::Meta name="lazy-area" content=stringify!($area) /> {page} }
                        .into_any()
                }

                $(
                    $(#[$doc])*
                    pub struct $route;

                    impl leptos_router::LazyRoute for $route {
                        fn data() -> Self {
                            Self
                        }

                        async fn view(_this: Self) -> AnyView {
                            view(Page::$route).await
                        }
                    }
                )*
            }
            pub use $area::{$($route),*};
        )*

        /// Before hydration: loads the chunk of the area of the page first.
        /// Hydration cannot wait for a chunk midway (the page's nodes would
        /// be claimed out of order: a hydration error); loaded, the lazy view
        /// is ready at once. Told by the page's `<meta name="lazy-area">`, not
        /// by the chunk's preload link in the head: Leptos adds that link
        /// only when the render registered the lazy function before the
        /// response started, which it sometimes does not (seen on 1 in 3
        /// renders of `/login`).
        #[cfg(feature = "hydrate")]
        pub async fn before_hydration() {
            #[cfg(feature = "split")]
            {
                let area = leptos::prelude::document()
                    .query_selector("meta[name=lazy-area]")
                    .ok()
                    .flatten()
                    .and_then(|meta| meta.get_attribute("content"));
                match area.as_deref() {
                    $( Some(stringify!($area)) => $area::__preload_view().await, )*
                    _ => {}
                }
            }
        }
    };
}

areas! {
    /// Signing in, the dashboard, the editors: only visitors who sign in
    /// download it.
    account {
        /// `/login`.
        LoginRoute => crate::app::auth::LoginPage,
        /// `/dashboard`.
        DashboardRoute => crate::app::dashboard::DashboardPage,
        /// `/dashboard/posts/:slug`.
        PostEditorRoute => crate::app::blog::admin::PostEditorPage,
        /// `/dashboard/products/:id`.
        ProductEditorRoute => crate::app::shop::admin::ProductEditorPage,
    }
    /// The shop.
    shop {
        /// `/products`.
        ProductIndexRoute => crate::app::shop::ProductIndex,
        /// `/products/:id`.
        ProductRoute => crate::app::shop::ProductPage,
    }
    /// The pages that show every feature: home, search, and the landing
    /// pages, which share the home page's look.
    pages {
        /// `/`.
        HomeRoute => crate::app::home::HomePage,
        /// `/search`.
        SearchRoute => crate::app::search::SearchPage,
        /// `/landing/:campaign`.
        LandingRoute => crate::app::landing::LandingPage,
    }
}
