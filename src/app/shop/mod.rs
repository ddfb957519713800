//! The shop: `/products` (paged list) and `/products/:id`, their data
//! functions, the JSON API `GET /api/products/:id`, orders ([`orders`]),
//! products on the home page and in search results, and the admin's product
//! editor ([`admin`]).

pub mod admin;
#[cfg(feature = "ssr")]
pub mod api;
pub mod cache;
#[cfg(feature = "ssr")]
pub mod db;
pub mod orders;
#[cfg(feature = "ssr")]
pub mod seed;

pub use cache::tags;

use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::any_nested_route::IntoAnyNestedRoute as _;
use leptos_router::components::{A, Route};
use leptos_router::hooks::{use_params_map, use_query_map};
use leptos_router::{Lazy, SsrMode, path};
use serde::{Deserialize, Serialize};
use server_fn::codec::GetUrl;

use crate::AppError;
use crate::app::components::{ErrorPage, Loading, NotFound, Pagination, Paragraphs, format_price};
use crate::app::lazy::{ProductEditorRoute, ProductIndexRoute, ProductRoute};
use crate::app::paging::{Paged, paged_query};
use crate::app::query::{Call, Changed, Query, invalidate_after, tags_of};
use crate::app::{Feature, HomeSection};

/// The shop in the site (see `app::FEATURES`).
pub const FEATURE: Feature = Feature {
    nav: Some(("Shop", "/products")),
    home: Some(HomeSection {
        cta: ("Visit the shop", "/products"),
        tags: || vec![tags::products()],
        view: || {
            let list = |products| view! { <ProductGrid products /> }.into_any();
            let more = ("All products →", "/products");
            crate::app::home::section("From the shop", more, featured_products_query(), list)
        },
    }),
    search: Some(|q| {
        let list = |products| view! { <ProductGrid products /> }.into_any();
        crate::app::search::section(q, "Products", search_products_query(), list)
    }),
    dashboard: Some(|user| {
        view! {
            {admin::products_section(&user)}
            <orders::OrdersSection />
        }
        .into_any()
    }),
    #[cfg(feature = "ssr")]
    cache: cache::routes,
    #[cfg(feature = "ssr")]
    seed: Some(|conn| Box::pin(seed::seed(conn))),
    #[cfg(feature = "ssr")]
    api: Some(api::routes),
    #[cfg(feature = "ssr")]
    stats: Some(|pool| {
        Box::pin(async move {
            Ok(vec![
                (db::count_products(&pool).await?, "products"),
                (db::count_orders(&pool).await?, "orders"),
            ])
        })
    }),
    #[cfg(feature = "ssr")]
    prerender: Some(|db| Box::pin(cache::prerender(db))),
};

/// The shop's pages.
#[component(transparent)]
pub fn Routes() -> impl leptos_router::MatchNestedRoutes + Clone {
    view! {
        <Route path=path!("/products") view={Lazy::<ProductIndexRoute>::new()} ssr=SsrMode::Async />
        <Route path=path!("/products/:id") view={Lazy::<ProductRoute>::new()} ssr=SsrMode::Async />
        <Route path=path!("/dashboard/products/:id") view={Lazy::<ProductEditorRoute>::new()} ssr=SsrMode::Async />
    }
    .into_inner()
    // One route, as `--cfg erase_components` (release builds) makes the
    // return type: `AnyNestedRoute`, which several routes are not.
    .into_any_nested_route()
}

/// Stock at or below this shows "only N left".
pub const LOW_STOCK: i64 = 5;
/// Most of one product one order may take.
pub const MAX_ORDER_QUANTITY: i64 = 10;

/// A product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub price_cents: i64,
    pub stock: i64,
}

impl Product {
    /// What the stock badge says.
    pub fn availability(&self) -> String {
        match self.stock {
            0 => "Sold out".to_owned(),
            n if n <= LOW_STOCK => format!("Only {n} left"),
            _ => "In stock".to_owned(),
        }
    }

    /// How the product tightens its pages' cache policy: when only a few are
    /// left, the count shown must stay close to the truth.
    #[cfg(feature = "ssr")]
    pub fn cache_policy(&self) -> Option<isr_cache::CachePolicy> {
        (self.stock <= LOW_STOCK).then(cache::low_stock)
    }

    fn availability_class(&self) -> &'static str {
        match self.stock {
            0 => "badge sold-out",
            n if n <= LOW_STOCK => "badge low-stock",
            _ => "badge in-stock",
        }
    }
}

/// One page of products.
#[server(endpoint = "shop/list_products", input = GetUrl)]
pub async fn list_products(page: u32) -> Result<Paged<Product>, AppError> {
    let request = crate::app::paging::PageRequest::page(page)?;
    db::list_products(&crate::state::AppState::current().db, request).await
}

/// The product with `id`, or `None`. Low stock tightens the page's cache policy.
#[server(endpoint = "shop/get_product", input = GetUrl)]
pub async fn get_product(id: i64) -> Result<Option<Product>, AppError> {
    let product = db::find_product(&crate::state::AppState::current().db, id).await?;
    if let Some(policy) = product.as_ref().and_then(Product::cache_policy) {
        crate::app::cache::tighten(policy);
    }
    Ok(product)
}

/// Products to show off on the home page.
#[server(endpoint = "shop/featured_products", input = GetUrl)]
pub async fn featured_products() -> Result<Vec<Product>, AppError> {
    db::featured_products(&crate::state::AppState::current().db, 4).await
}

/// Products whose name or description contains `q`.
#[server(endpoint = "shop/search_products", input = GetUrl)]
pub async fn search_products(q: String) -> Result<Vec<Product>, AppError> {
    let q = crate::app::search::checked(&q)?;
    let db = crate::state::AppState::current().db;
    db::search_products(&db, &q, crate::app::search::RESULTS_PER_KIND).await
}

/// Pages of products, by the raw `?page=` (checked before any request).
pub fn products_query() -> Query<Option<String>, Paged<Product>> {
    paged_query(|page| ListProducts { page }, cache::CLIENT).tagged(|_| tags_of(cache::products()))
}

/// The products on the home page.
pub fn featured_products_query() -> Query<(), Vec<Product>> {
    Query::new(|()| Call::Get(FeaturedProducts {}), cache::CLIENT)
        .tagged(|()| tags_of(cache::products()))
}

/// Products found by query text.
pub fn search_products_query() -> Query<String, Vec<Product>> {
    Query::new(|q| Call::Get(SearchProducts { q }), cache::CLIENT)
        .tagged(|_| tags_of(crate::app::search::cache::search()))
}

/// Products by the raw id of the URL; one that is not a number is `None`
/// without a request.
pub fn product_query() -> Query<String, Option<Product>> {
    Query::new(
        |id: String| match id.parse::<i64>() {
            Ok(id) => Call::Get(GetProduct { id }),
            Err(_) => Call::Null,
        },
        cache::CLIENT,
    )
    .tagged(|id| tags_of(cache::product(id)))
}

/// Orders `quantity` of product `id` for the signed-in visitor. The stock
/// shown everywhere changes, so the product, the lists and search are purged,
/// and the visitor's orders (`orders`, their dashboard) change too.
#[server(endpoint = "shop/place_order")]
pub async fn place_order(id: i64, quantity: String) -> Result<Changed, AppError> {
    use db::OrderOutcome;
    let user = crate::app::auth::session::require_user().await?;
    let quantity =
        crate::app::components::whole_number("quantity", &quantity, 1..=MAX_ORDER_QUANTITY)?;
    let state = crate::state::AppState::current();
    match db::place_order(&state.db, user.id, id, quantity).await? {
        OrderOutcome::Placed { order_id } => {
            tracing::info!(user_id = user.id, order_id, product_id = id, quantity, "order placed");
        }
        OrderOutcome::NoSuchProduct => return Err(AppError::NotFound),
        OrderOutcome::NotEnoughStock { left: 0 } => {
            return Err(AppError::BadRequest("Sold out, sorry.".into()));
        }
        OrderOutcome::NotEnoughStock { left } => {
            return Err(AppError::BadRequest(format!("Only {left} left: order fewer.")));
        }
    }
    let source = format!("order (user {})", user.id);
    Ok(state.purger.changed(&source, changed_tags(id), &[tags::ORDERS]).await)
}

/// What a change to product `id` (its stock, its price) changes: the
/// product, every list that shows it, search results.
#[cfg(feature = "ssr")]
fn changed_tags(id: i64) -> impl IntoIterator<Item = crate::tags::Tag> {
    tags::product(&id.to_string())
        .into_iter()
        .chain([tags::products(), crate::app::search::cache::tags::results()])
}

/// `/products`: the catalogue.
#[component]
pub fn ProductIndex() -> impl IntoView {
    let query = use_query_map();
    let products = products_query().resource(move || query.read().get("page"));

    view! {
        <Title text="Shop" />
        <Meta name="description" content="Gear for people who build for the web." />
        <header class="page-header">
            <h1>"Shop"</h1>
            <p class="lede">"Gear for people who build for the web. Prices and stock are always current."</p>
        </header>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match products.await.result {
                    Ok(paged) if paged.page > paged.total_pages() => view! { <NotFound /> }.into_any(),
                    Ok(paged) => {
                        let total_pages = paged.total_pages();
                        view! {
                            <ProductGrid products=paged.items />
                            <Pagination base="/products" page=paged.page total_pages />
                        }
                            .into_any()
                    }
                    Err(error) => view! { <ErrorPage error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Product cards.
#[component]
pub fn ProductGrid(products: Vec<Product>) -> impl IntoView {
    view! {
        <ul class="card-grid product-grid">
            {products
                .into_iter()
                .map(|product| {
                    let class = product.availability_class();
                    let availability = product.availability();
                    view! {
                        <li class="card product-card">
                            <div class="product-art" aria-hidden="true">{product.name.chars().next().unwrap_or('◆').to_string()}</div>
                            <h2 class="card-title">
                                <A href=format!("/products/{}", product.id)>{product.name}</A>
                            </h2>
                            <p class="price">{format_price(product.price_cents)}</p>
                            <span class=class>{availability}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

/// `/products/:id`: one product; an unknown or malformed id is a 404.
#[component]
pub fn ProductPage() -> impl IntoView {
    let params = use_params_map();
    let product = product_query().resource(move || params.read().get("id").unwrap_or_default());
    // Owned by the page, not the view: the order refetches the product (its
    // stock changed), and the new view must still show how the order went.
    let order = ServerAction::<PlaceOrder>::new();
    invalidate_after(order);
    Effect::watch(move || params.read().get("id"), move |_, _, _| order.value().set(None), false);

    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match product.await.result {
                    Ok(Some(product)) => view! { <ProductView product order /> }.into_any(),
                    Ok(None) => view! { <NotFound /> }.into_any(),
                    Err(error) => view! { <ErrorPage error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ProductView(product: Product, order: ServerAction<PlaceOrder>) -> impl IntoView {
    let class = product.availability_class();
    let availability = product.availability();
    view! {
        <Title text=product.name.clone() />
        <Meta name="description" content=product.description.clone() />
        <article class="product">
            <p class="meta"><A href="/products">"← Shop"</A></p>
            <div class="product-layout">
                <div class="product-art large" aria-hidden="true">{product.name.chars().next().unwrap_or('◆').to_string()}</div>
                <div>
                    <h1>{product.name}</h1>
                    <p class="price large">{format_price(product.price_cents)}</p>
                    <p><span class=class data-testid="availability">{availability}</span></p>
                    <OrderForm order id=product.id in_stock={product.stock > 0} />
                    <div class="prose"><Paragraphs text=product.description /></div>
                </div>
            </div>
        </article>
    }
}

/// Quantity and "Buy", the same for every visitor (the page is cached for
/// everyone): whether they are signed in shows only in the answer.
#[component]
fn OrderForm(order: ServerAction<PlaceOrder>, id: i64, in_stock: bool) -> impl IntoView {
    let outcome = move || {
        match order.value().get() {
        Some(Ok(_)) => Some(
            view! { <p class="form-ok" role="status">"Ordered. " <A href="/dashboard">"See your orders"</A></p> }
                .into_any(),
        ),
        Some(Err(AppError::Unauthorized)) => Some(
            view! { <p class="form-error" role="alert"><A href="/login">"Sign in"</A> " to order."</p> }
                .into_any(),
        ),
        Some(Err(error)) => {
            Some(view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any())
        }
        None => None,
    }
    };
    view! {
        <ActionForm action=order attr:class="order-form">
            <input type="hidden" name="id" value=id />
            <label>
                "Quantity "
                <input type="number" name="quantity" value="1" min="1" max=MAX_ORDER_QUANTITY required />
            </label>
            <button type="submit" class="button" disabled=move || !in_stock || order.pending().get()>
                "Buy"
            </button>
            {outcome}
        </ActionForm>
    }
}
