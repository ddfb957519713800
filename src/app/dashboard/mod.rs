//! `/dashboard`: the signed-in area. Anyone else is redirected to `/login`.
//!
//! The page is the visitor's name, then each feature's section (see
//! `Feature::dashboard`: the shop's "Your orders", the admin's editors), and
//! for admins the site's numbers (`Feature::stats`) and the cache panel.
//! Everything here depends on who is asking, so none of it may ever be
//! stored by a shared cache.

pub mod cache_panel;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Redirect, Route};
use leptos_router::{Lazy, SsrMode, path};
use serde::{Deserialize, Serialize};
use server_fn::codec::GetUrl;

use crate::AppError;
use crate::app::auth::{CurrentUser, SignOut};
use crate::app::cache::{ClientCache, minutes};
use crate::app::components::{ErrorPage, Loading, set_status};
use crate::app::lazy::DashboardRoute;
use crate::app::query::{Call, Query};
use crate::app::{Feature, feature_parts};

/// The dashboard in the site (see `app::FEATURES`).
pub const FEATURE: Feature = Feature {
    #[cfg(feature = "ssr")]
    cache: routes,
    ..Feature::NONE
};

/// The dashboard's page.
#[component(transparent)]
pub fn Routes() -> impl leptos_router::MatchNestedRoutes + Clone {
    view! { <Route path=path!("/dashboard") view={Lazy::<DashboardRoute>::new()} ssr=SsrMode::Async /> }.into_inner()
}

/// The dashboard's routes in the site's route table: the visitor's own,
/// never shared.
#[cfg(feature = "ssr")]
fn routes(table: isr_cache::RouteTable) -> isr_cache::RouteTable {
    use isr_cache::CachePolicy;

    use crate::app::cache::DataFunctions as _;
    table
        .route("/dashboard", |_| CachePolicy::private())
        .data::<GetDashboard>(|_| CachePolicy::private())
        .write::<cache_panel::PurgeCache>()
}

/// How long the browser keeps signed-in data: the visitor's own orders, the
/// admin's editor.
pub const CLIENT: ClientCache = ClientCache::new(std::time::Duration::from_secs(30), minutes(5));

/// A feature's numbers for the admin's "Site" summary: `(count, label)`.
#[cfg(feature = "ssr")]
pub type StatsFn = fn(
    crate::db::Db,
) -> std::pin::Pin<
    Box<dyn Future<Output = Result<Vec<(i64, &'static str)>, AppError>> + Send>,
>;

/// One number of the "Site" summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stat {
    pub count: i64,
    pub label: String,
}

/// What the dashboard itself shows; the features' sections load their own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub user: CurrentUser,
    /// Each feature's numbers, for admins.
    pub stats: Option<Vec<Stat>>,
    /// The built-in cache, for admins.
    pub cache: Option<cache_panel::CacheStats>,
}

/// The signed-in user's dashboard; `Unauthorized` when nobody is signed in.
#[server(endpoint = "dashboard/get_dashboard", input = GetUrl)]
pub async fn get_dashboard() -> Result<Dashboard, AppError> {
    let user = crate::app::auth::session::require_user().await?;
    if !user.is_admin {
        return Ok(Dashboard { user, stats: None, cache: None });
    }
    let state = crate::state::AppState::current();
    let mut stats = vec![];
    for count in crate::app::FEATURES.iter().filter_map(|feature| feature.stats) {
        let counted = count(state.db.clone()).await?;
        stats.extend(counted.into_iter().map(|(count, label)| Stat { count, label: label.into() }));
    }
    let cache = cache_panel::cache_stats(state.purger.isr());
    Ok(Dashboard { user, stats: Some(stats), cache: Some(cache) })
}

/// The signed-in visitor's dashboard. Its numbers count what any write may
/// change and its cache panel shows purges, so both invalidate it.
pub fn dashboard_query() -> Query<(), Dashboard> {
    Query::new(|()| Call::Get(GetDashboard {}), CLIENT)
        .tagged(|()| vec![crate::tags::ANY_WRITE.into(), cache_panel::PURGED.into()])
}

/// The signed-in admin, or why not: for the features' admin data functions.
#[cfg(feature = "ssr")]
pub async fn require_admin() -> Result<CurrentUser, AppError> {
    let user = crate::app::auth::session::require_user().await?;
    if user.is_admin { Ok(user) } else { Err(AppError::Forbidden) }
}

/// `/dashboard`.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let dashboard = dashboard_query().resource(|| ());

    view! {
        <Title text="Dashboard" />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                signed_in(dashboard.await.result, |dashboard| view! { <DashboardView dashboard /> }.into_any())
            })}
        </Suspense>
    }
}

/// The view of a signed-in page's data: `/login` (a real 302) for a visitor
/// who is not signed in, the error page for other errors.
pub fn signed_in<T>(result: Result<T, AppError>, view: impl FnOnce(T) -> AnyView) -> AnyView {
    match result {
        Ok(data) => view(data),
        Err(AppError::Unauthorized) => {
            // `Redirect` sets Location; the status makes it a real redirect
            // whatever the request's Accept header said.
            set_status(http::StatusCode::FOUND);
            view! { <Redirect path="/login" /> }.into_any()
        }
        Err(error) => view! { <ErrorPage error /> }.into_any(),
    }
}

/// A feature's section of the dashboard for admins (nothing for anyone
/// else): `title`, `note`, and one row per item its `query` loads.
pub fn admin_list<T>(
    user: &CurrentUser,
    title: &'static str,
    note: Option<&'static str>,
    query: Query<(), Vec<T>>,
    row: fn(T) -> AnyView,
) -> AnyView
where
    T: Clone + Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    if !user.is_admin {
        return ().into_any();
    }
    let items = query.resource(|| ());
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                signed_in(items.await.result, |items| view! {
                    <section class="section">
                        <h2>{title}</h2>
                        {note.map(|note| view! { <p class="muted">{note}</p> })}
                        <ul class="editor-list">{items.into_iter().map(row).collect_view()}</ul>
                    </section>
                }.into_any())
            })}
        </Suspense>
    }
    .into_any()
}

/// An error from a save, shown above its button.
pub fn save_error<T: Send + Sync + 'static>(
    value: impl Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
) -> impl IntoView {
    move || match value.get() {
        Some(Err(error)) => {
            Some(view! { <p class="form-error" role="alert">{error.to_string()}</p> })
        }
        _ => None,
    }
}

#[component]
fn DashboardView(dashboard: Dashboard) -> impl IntoView {
    let Dashboard { user, stats, cache } = dashboard;
    let sections = feature_parts!(dashboard: fn(CurrentUser) -> AnyView)
        .map(|section| section(user.clone()))
        .collect_view();
    view! {
        <header class="page-header dashboard-header">
            <div>
                <p class="eyebrow">{if user.is_admin { "Administrator" } else { "Customer" }}</p>
                <h1>"Welcome, " {user.name.clone()}</h1>
                <p class="muted">{user.email.clone()}</p>
            </div>
            <SignOut />
        </header>
        <crate::app::auth::account::AccountPanel />
        {stats.filter(|stats| !stats.is_empty()).map(|stats| view! {
            <section class="section">
                <h2>"Site"</h2>
                <ul class="stats">
                    {stats.into_iter().map(|stat| view! {
                        <li class="card stat"><span class="stat-value">{stat.count}</span>{format!(" {}", stat.label)}</li>
                    }).collect_view()}
                </ul>
            </section>
        })}
        {sections}
        {cache.map(|stats| view! { <cache_panel::CachePanel stats /> })}
    }
}
