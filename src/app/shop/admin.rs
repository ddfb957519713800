//! The admin's product editor: the dashboard's list of products, and a
//! product's price and stock at `/dashboard/products/:id`.
//!
//! A save purges what shows the product (hard, as the post editor's do),
//! then goes to the public page, which shows the change at once.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use server_fn::codec::GetUrl;

use super::{Product, cache};
use crate::AppError;
use crate::app::auth::CurrentUser;
use crate::app::components::{Loading, format_price};
use crate::app::dashboard::{self, save_error, signed_in};
use crate::app::query::{Call, Changed, Query, invalidate_after, tags_of};

/// Highest price accepted, in cents.
pub const MAX_PRICE_CENTS: i64 = 10_000_000;
/// Highest stock accepted.
pub const MAX_STOCK: i64 = 1_000_000;

/// Every product, for the admin's list.
#[server(endpoint = "shop/products_for_admin", input = GetUrl)]
pub async fn products_for_admin() -> Result<Vec<Product>, AppError> {
    dashboard::require_admin().await?;
    super::db::all_products(&crate::state::AppState::current().db).await
}

/// The product `id`, for its editor.
#[server(endpoint = "dashboard/get_product_for_edit", input = GetUrl)]
pub async fn get_product_for_edit(id: i64) -> Result<Product, AppError> {
    dashboard::require_admin().await?;
    let db = crate::state::AppState::current().db;
    super::db::find_product(&db, id).await?.ok_or(AppError::NotFound)
}

/// Saves a product's price (`29.00`) and stock, purges what shows it, opens it.
#[server(endpoint = "dashboard/update_product")]
pub async fn update_product(id: i64, price: String, stock: String) -> Result<Changed, AppError> {
    let user = dashboard::require_admin().await?;
    let price_cents = parse_price(&price).ok_or_else(|| {
        AppError::BadRequest(format!("The price must be an amount like 29.00, got {price:?}."))
    })?;
    let stock = crate::app::components::whole_number("stock", &stock, 0..=MAX_STOCK)?;
    let state = crate::state::AppState::current();
    if !super::db::update_product(&state.db, id, price_cents, stock).await? {
        return Err(AppError::NotFound);
    }
    let changed = state
        .purger
        .changed(&format!("editor (user {})", user.id), super::changed_tags(id), &[])
        .await;
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

/// The admin's list of products, tagged like the lists they come from.
pub fn products_for_admin_query() -> Query<(), Vec<Product>> {
    Query::new(|()| Call::Get(ProductsForAdmin {}), dashboard::CLIENT)
        .tagged(|()| tags_of(cache::products()))
}

/// Products as the editor loads them, by the raw id of the URL.
pub fn product_for_edit_query() -> Query<String, Product> {
    Query::new(
        |id: String| match id.parse::<i64>() {
            Ok(id) => Call::Get(GetProductForEdit { id }),
            Err(_) => Call::Fail(AppError::NotFound),
        },
        dashboard::CLIENT,
    )
    .tagged(|id| tags_of(cache::product(id)))
}

/// The dashboard's section, for admins: every product, with a link to edit it.
pub fn products_section(user: &CurrentUser) -> AnyView {
    dashboard::admin_list(user, "Products", None, products_for_admin_query(), |product| {
        view! {
            <li>
                <span>{product.name} " · " {format_price(product.price_cents)} " · " {product.stock} " in stock"</span>
                <A href=format!("/dashboard/products/{}", product.id) attr:class="button secondary small">"Edit"</A>
            </li>
        }
        .into_any()
    })
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
