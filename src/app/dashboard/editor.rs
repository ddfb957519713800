//! The admin's editor: a post's title and body, a product's price and stock.
//!
//! Every save purges the cache tags the change touches (hard: the next
//! visitor waits for a fresh render rather than seeing the old page once
//! more), through the same code as `POST /api/revalidate`, then goes to the
//! public page, which shows the change at once.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};
use server_fn::codec::GetUrl;

use super::signed_in;
use crate::AppError;
use crate::app::blog::{Post, PostSummary};
use crate::app::cache::{self, ClientCache};
use crate::app::components::{Loading, format_price};
use crate::app::query::{Changed, Query, invalidate_after, tags_of};
use crate::app::shop::Product;

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest post body, in bytes.
pub const MAX_BODY_BYTES: usize = 100_000;
/// Highest price accepted, in cents.
pub const MAX_PRICE_CENTS: i64 = 10_000_000;
/// Highest stock accepted.
pub const MAX_STOCK: i64 = 1_000_000;

/// What the editor lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentIndex {
    /// The newest posts.
    pub posts: Vec<PostSummary>,
    pub products: Vec<Product>,
}

/// The editor's list, for the dashboard.
#[cfg(feature = "ssr")]
pub async fn content_index(db: &crate::server::Db) -> Result<ContentIndex, AppError> {
    Ok(ContentIndex {
        posts: crate::app::blog::db::latest_posts(db, 10).await?,
        products: crate::app::shop::db::all_products(db).await?,
    })
}

/// The signed-in admin, or why not.
#[cfg(feature = "ssr")]
async fn require_admin() -> Result<crate::app::auth::CurrentUser, AppError> {
    let user = crate::app::auth::session::current_user().await?.ok_or(AppError::Unauthorized)?;
    if user.is_admin { Ok(user) } else { Err(AppError::Forbidden) }
}

/// The post at `slug`, for its editor.
#[server(endpoint = "dashboard/get_post_for_edit", input = GetUrl)]
pub async fn get_post_for_edit(slug: String) -> Result<Post, AppError> {
    require_admin().await?;
    let db = crate::server::AppState::current().db;
    crate::app::blog::db::find_post(&db, &slug).await?.ok_or(AppError::NotFound)
}

/// The product `id`, for its editor.
#[server(endpoint = "dashboard/get_product_for_edit", input = GetUrl)]
pub async fn get_product_for_edit(id: i64) -> Result<Product, AppError> {
    require_admin().await?;
    let db = crate::server::AppState::current().db;
    crate::app::shop::db::find_product(&db, id).await?.ok_or(AppError::NotFound)
}

/// Saves a post's title and body, purges what shows it, opens the post.
#[server(endpoint = "dashboard/update_post")]
pub async fn update_post(slug: String, title: String, body: String) -> Result<Changed, AppError> {
    let user = require_admin().await?;
    let title = title.trim();
    let body = body.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        return Err(AppError::BadRequest(format!(
            "The title must have 1 to {MAX_TITLE_CHARS} characters."
        )));
    }
    if body.is_empty() || body.len() > MAX_BODY_BYTES {
        return Err(AppError::BadRequest(format!(
            "The body must have 1 to {MAX_BODY_BYTES} bytes."
        )));
    }
    let db = crate::server::AppState::current().db;
    if !crate::app::blog::db::update_post(&db, &slug, title, body).await? {
        return Err(AppError::NotFound);
    }
    // The post itself, every list that shows its title, search results.
    let tags = vec![format!("post:{slug}"), "posts".into(), "search".into()];
    let changed = crate::server::cache::changed(tags, &format!("editor (user {})", user.id));
    leptos_axum::redirect(&format!("/blog/{slug}"));
    Ok(changed)
}

/// Saves a product's price (`29.00`) and stock, purges what shows it, opens it.
#[server(endpoint = "dashboard/update_product")]
pub async fn update_product(id: i64, price: String, stock: String) -> Result<Changed, AppError> {
    let user = require_admin().await?;
    let price_cents = parse_price(&price).ok_or_else(|| {
        AppError::BadRequest(format!("The price must be an amount like 29.00, got {price:?}."))
    })?;
    let stock = crate::app::components::whole_number("stock", &stock, 0..=MAX_STOCK)?;
    let db = crate::server::AppState::current().db;
    if !crate::app::shop::db::update_product(&db, id, price_cents, stock).await? {
        return Err(AppError::NotFound);
    }
    let tags = vec![format!("product:{id}"), "products".into(), "search".into()];
    let changed = crate::server::cache::changed(tags, &format!("editor (user {})", user.id));
    leptos_axum::redirect(&format!("/products/{id}"));
    Ok(changed)
}

/// `29`, `29.5`, `29.50`, `$29.50` → cents; `None` for anything else, a
/// negative amount, more than two decimals, or above [`MAX_PRICE_CENTS`].
pub fn parse_price(text: &str) -> Option<i64> {
    let text = text.trim().trim_start_matches('$');
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if fraction.len() > 2 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cents = format!("{fraction:0<2}").parse::<i64>().ok()?;
    let cents = whole.parse::<i64>().ok()?.checked_mul(100)?.checked_add(cents)?;
    (cents <= MAX_PRICE_CENTS).then_some(cents)
}

/// The editor's list on the dashboard.
#[component]
pub fn ContentList(content: ContentIndex) -> impl IntoView {
    view! {
        <section class="section">
            <h2>"Content"</h2>
            <p class="muted">"Saving a change purges the pages that show it from the cache."</p>
            <div class="editor-lists">
                <ul class="editor-list">
                    {content.posts.into_iter().map(|post| view! {
                        <li>
                            <span>{post.title}</span>
                            <A href=format!("/dashboard/posts/{}", post.slug) attr:class="button secondary small">"Edit"</A>
                        </li>
                    }).collect_view()}
                </ul>
                <ul class="editor-list">
                    {content.products.into_iter().map(|product| view! {
                        <li>
                            <span>{product.name} " · " {format_price(product.price_cents)} " · " {product.stock} " in stock"</span>
                            <A href=format!("/dashboard/products/{}", product.id) attr:class="button secondary small">"Edit"</A>
                        </li>
                    }).collect_view()}
                </ul>
            </div>
        </section>
    }
}

/// An error from a save, shown above its button.
fn save_error<T: Send + Sync + 'static>(
    value: impl Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
) -> impl IntoView {
    move || match value.get() {
        Some(Err(error)) => {
            Some(view! { <p class="form-error" role="alert">{error.to_string()}</p> })
        }
        _ => None,
    }
}

/// Posts as the editor loads them, tagged like their public page.
pub fn post_for_edit_query() -> Query<String, Post> {
    Query::new(get_post_for_edit, ClientCache::DASHBOARD).tagged(|slug| tags_of(cache::post(slug)))
}

/// Products as the editor loads them, by the raw id of the URL.
pub fn product_for_edit_query() -> Query<String, Product> {
    Query::new(
        |id: String| async move {
            match id.parse::<i64>() {
                Ok(id) => get_product_for_edit(id).await,
                Err(_) => Err(AppError::NotFound),
            }
        },
        ClientCache::DASHBOARD,
    )
    .tagged(|id| tags_of(cache::product(id)))
}

/// `/dashboard/posts/:slug`.
#[component]
pub fn PostEditorPage() -> impl IntoView {
    let params = use_params_map();
    let post =
        post_for_edit_query().resource(move || params.read().get("slug").unwrap_or_default());
    view! {
        <Title text="Edit post" />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                signed_in(post.await.result, |post| view! { <PostForm post /> }.into_any())
            })}
        </Suspense>
    }
}

#[component]
fn PostForm(post: Post) -> impl IntoView {
    let save = ServerAction::<UpdatePost>::new();
    invalidate_after(save);
    view! {
        <section class="card editor">
            <p class="meta"><A href="/dashboard">"← Dashboard"</A></p>
            <h1>"Edit post"</h1>
            <ActionForm action=save attr:class="stack">
                <input type="hidden" name="slug" value=post.slug.clone() />
                <label>"Title" <input type="text" name="title" value=post.title required maxlength=MAX_TITLE_CHARS /></label>
                <label>"Body" <textarea name="body" rows="16" required>{post.body}</textarea></label>
                {save_error(save.value())}
                <button type="submit" class="button" disabled=move || save.pending().get()>"Save and view"</button>
            </ActionForm>
        </section>
    }
}

/// `/dashboard/products/:id`.
#[component]
pub fn ProductEditorPage() -> impl IntoView {
    let params = use_params_map();
    let product =
        product_for_edit_query().resource(move || params.read().get("id").unwrap_or_default());
    view! {
        <Title text="Edit product" />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                signed_in(product.await.result, |product| view! { <ProductForm product /> }.into_any())
            })}
        </Suspense>
    }
}

#[component]
fn ProductForm(product: Product) -> impl IntoView {
    let save = ServerAction::<UpdateProduct>::new();
    invalidate_after(save);
    let price = format_price(product.price_cents).trim_start_matches('$').to_owned();
    view! {
        <section class="card editor">
            <p class="meta"><A href="/dashboard">"← Dashboard"</A></p>
            <h1>"Edit " {product.name}</h1>
            <ActionForm action=save attr:class="stack">
                <input type="hidden" name="id" value=product.id />
                <label>"Price" <input type="text" name="price" value=price inputmode="decimal" required /></label>
                <label>"Stock" <input type="number" name="stock" value=product.stock min="0" max=MAX_STOCK required /></label>
                {save_error(save.value())}
                <button type="submit" class="button" disabled=move || save.pending().get()>"Save and view"</button>
            </ActionForm>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices() {
        assert_eq!(parse_price("29"), Some(2900));
        assert_eq!(parse_price("29.5"), Some(2950));
        assert_eq!(parse_price(" $29.05 "), Some(2905));
        assert_eq!(parse_price("0.99"), Some(99));
        for bad in ["", "abc", "-1", "1.234", ".5", "1,00", "100000.01", "1e3"] {
            assert_eq!(parse_price(bad), None, "{bad:?}");
        }
    }
}
