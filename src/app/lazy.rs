//! The account area (signing in, the dashboard, the editors, the cache
//! panel): one wasm chunk that only visitors who sign in download, so that
//! no anonymous visitor pays for it in the bundle every public page loads.
//!
//! Its pages are Leptos [`LazyRoute`]s whose views all go through one
//! function, [`account_view`]. With the crate feature `split` (release
//! builds: `scripts/build-site --release`, or `cargo leptos build --release
//! --split --features split`) that function is `#[lazy]`: wasm-split moves
//! it, and all the code only it reaches, out of the main wasm into a chunk
//! the router fetches on the way to the first such page (on a first visit
//! to one, before hydration: `before_hydration`). One function, so one
//! chunk: a split point per page would cut the shared code into a chunk per
//! combination of pages, each a request of its own (measured: 11 page splits made 89 files). Without the
//! feature (debug builds, plain `cargo leptos watch`, which does not run
//! wasm-split) the pages are ordinary routes.
//!
//! Adding a page to the area: a variant of [`AccountPage`], its arm in
//! [`AccountPage::view`], a line in `account_routes!` below, and
//! `view={Lazy::<ItsRoute>::new()}` on its `<Route>`.
//!
//! [`LazyRoute`]: leptos_router::LazyRoute

use leptos::prelude::*;

/// A page of the account area.
#[derive(Debug, Clone, Copy)]
pub enum AccountPage {
    Login,
    Dashboard,
    PostEditor,
    ProductEditor,
}

impl AccountPage {
    fn view(self) -> AnyView {
        use super::{auth, blog, dashboard, shop};
        match self {
            Self::Login => auth::LoginPage().into_any(),
            Self::Dashboard => dashboard::DashboardPage().into_any(),
            Self::PostEditor => blog::admin::PostEditorPage().into_any(),
            Self::ProductEditor => shop::admin::ProductEditorPage().into_any(),
        }
    }
}

/// The view of a page of the account area: the one split point of the chunk.
#[cfg_attr(feature = "split", leptos::lazy)]
async fn account_view(page: AccountPage) -> AnyView {
    page.view()
}

/// Before hydration: loads the account area's chunk first when the page is
/// one of its own. Hydration cannot wait for a chunk midway (the page's
/// nodes would be claimed out of order: a hydration error); loaded, the lazy
/// view is ready at once. Told by the path, not by the chunk's preload link
/// in the head: Leptos adds that link only when the render registered the
/// lazy function before the response started, which it sometimes does not
/// (seen on 1 in 3 renders of `/login`).
#[cfg(feature = "hydrate")]
pub async fn before_hydration() {
    #[cfg(feature = "split")]
    if window().location().pathname().is_ok_and(|path| in_account_area(&path)) {
        __preload_account_view().await;
    }
}

/// Whether `path` is a page of the account area: the paths of the routes
/// below.
pub fn in_account_area(path: &str) -> bool {
    let path = path.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(path);
    path == "/login" || path == "/dashboard" || path.starts_with("/dashboard/")
}

/// A route type per page, for `view={Lazy::<DashboardRoute>::new()}`.
macro_rules! account_routes {
    ($($(#[$doc:meta])* $route:ident => $page:ident,)*) => {$(
        $(#[$doc])*
        pub struct $route;

        impl leptos_router::LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            async fn view(_this: Self) -> AnyView {
                account_view(AccountPage::$page).await
            }
        }
    )*};
}

account_routes! {
    /// `/login`.
    LoginRoute => Login,
    /// `/dashboard`.
    DashboardRoute => Dashboard,
    /// `/dashboard/posts/:slug`.
    PostEditorRoute => PostEditor,
    /// `/dashboard/products/:id`.
    ProductEditorRoute => ProductEditor,
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::in_account_area;

    /// The paths `before_hydration` preloads the chunk for are the routes
    /// whose views are in it, and no public page is among them.
    #[test]
    fn the_account_area_is_its_routes() {
        let lazy = ["/login", "/dashboard", "/dashboard/posts/{slug}", "/dashboard/products/{id}"];
        for route in crate::app::route_list() {
            let path = route.path();
            assert_eq!(in_account_area(path), lazy.contains(&path), "{path}");
        }
        assert!(in_account_area("/dashboard/posts/hello-isr") && in_account_area("/login/"));
        assert!(!in_account_area("/dashboards") && !in_account_area("/"));
    }
}
