//! `/dashboard`: the signed-in area. Anyone else is redirected to `/login`.
//!
//! Everything here depends on who is asking, so none of it may ever be stored
//! by a shared cache.

pub mod cache_panel;
#[cfg(feature = "ssr")]
pub mod db;
pub mod editor;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Redirect};
use serde::{Deserialize, Serialize};
use server_fn::codec::GetUrl;

use crate::AppError;
use crate::app::auth::{CurrentUser, SignOut};
use crate::app::cache::ClientCache;
use crate::app::components::{ErrorPage, Loading, format_price, set_status};
use crate::app::query::Query;

/// An order as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSummary {
    pub id: i64,
    pub product_id: i64,
    pub product_name: String,
    pub quantity: i64,
    pub total_cents: i64,
    pub ordered_on: String,
}

/// Site-wide numbers, for admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteStats {
    pub posts: i64,
    pub products: i64,
    pub orders: i64,
}

/// What the dashboard shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub user: CurrentUser,
    pub orders: Vec<OrderSummary>,
    /// Only for admins.
    pub stats: Option<SiteStats>,
    /// What an admin can edit.
    pub content: Option<editor::ContentIndex>,
    /// The built-in cache, for admins.
    pub cache: Option<cache_panel::CacheStats>,
}

/// The signed-in user's dashboard; `Unauthorized` when nobody is signed in.
#[server(endpoint = "dashboard/get_dashboard", input = GetUrl)]
pub async fn get_dashboard() -> Result<Dashboard, AppError> {
    let user = crate::app::auth::session::current_user().await?.ok_or(AppError::Unauthorized)?;
    let db = crate::server::AppState::current().db;
    let (stats, content, cache) = if user.is_admin {
        let stats = SiteStats {
            posts: crate::app::blog::db::count_posts(&db).await?,
            products: crate::app::shop::db::count_products(&db).await?,
            orders: db::count_orders(&db).await?,
        };
        let cache = cache_panel::cache_stats(&crate::server::AppState::current().isr);
        (Some(stats), Some(editor::content_index(&db).await?), Some(cache))
    } else {
        (None, None, None)
    };
    Ok(Dashboard { orders: db::orders_of(&db, user.id).await?, user, stats, content, cache })
}

/// The signed-in visitor's dashboard: their orders and, for admins, the
/// content and the cache, so every write shows here.
pub fn dashboard_query() -> Query<(), Dashboard> {
    Query::new(|()| get_dashboard(), ClientCache::DASHBOARD)
        .tagged(|()| ["orders", "posts", "products", "cache"].map(String::from).to_vec())
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

#[component]
fn DashboardView(dashboard: Dashboard) -> impl IntoView {
    let Dashboard { user, orders, stats, content, cache } = dashboard;
    view! {
        <header class="page-header dashboard-header">
            <div>
                <p class="eyebrow">{if user.is_admin { "Administrator" } else { "Customer" }}</p>
                <h1>"Welcome, " {user.name}</h1>
                <p class="muted">{user.email}</p>
            </div>
            <SignOut />
        </header>
        {stats.map(|stats| view! {
            <section class="section">
                <h2>"Site"</h2>
                <ul class="stats">
                    <li class="card stat"><span class="stat-value">{stats.posts}</span> " posts"</li>
                    <li class="card stat"><span class="stat-value">{stats.products}</span> " products"</li>
                    <li class="card stat"><span class="stat-value">{stats.orders}</span> " orders"</li>
                </ul>
            </section>
        })}
        {content.map(|content| view! { <editor::ContentList content /> })}
        {cache.map(|stats| view! { <cache_panel::CachePanel stats /> })}
        <section class="section">
            <h2>"Your orders"</h2>
            {if orders.is_empty() {
                view! { <p class="muted">"No orders yet. " <A href="/products">"Visit the shop"</A> "."</p> }.into_any()
            } else {
                view! {
                    <table class="table">
                        <thead>
                            <tr><th>"Order"</th><th>"Product"</th><th>"Qty"</th><th>"Total"</th><th>"Date"</th></tr>
                        </thead>
                        <tbody>
                            {orders.into_iter().map(|order| view! {
                                <tr>
                                    <td>{format!("#{}", order.id)}</td>
                                    <td><A href=format!("/products/{}", order.product_id)>{order.product_name}</A></td>
                                    <td>{order.quantity}</td>
                                    <td>{format_price(order.total_cents)}</td>
                                    <td>{order.ordered_on}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}
