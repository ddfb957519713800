//! `GET /api/products/{id}`: one product as JSON.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use isr_cache::CachePolicy;

use super::Product;
use crate::state::AppState;
use crate::{AppError, AppResult};

/// The shop's API routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/products/{id}", get(show))
}

/// The id is taken as text so that a malformed one gets a JSON 400, not axum's
/// plain-text rejection. Like the product page, low stock tightens the route's
/// cache policy (`cache::product_api`), here by returning the policy.
async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<(Option<CachePolicy>, Json<Product>)> {
    let id: i64 = id.parse().ok().filter(|id| *id > 0).ok_or_else(|| {
        AppError::BadRequest(format!("product id must be a positive whole number, got {id:?}"))
    })?;
    let product = super::db::find_product(&state.db, id).await?.ok_or(AppError::NotFound)?;
    Ok((product.cache_policy(), Json(product)))
}
