//! `GET /api/posts?page=&per_page=`: the blog as JSON.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::PostSummary;
use crate::AppResult;
use crate::app::paging::{PageRequest, Paged};
use crate::state::AppState;

/// The blog's API routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/posts", get(list))
}

/// Raw query values: parsed by [`PageRequest::parse`] so that bad values get a
/// JSON 400 that says what was wrong, not axum's plain-text rejection.
#[derive(Deserialize)]
struct ListQuery {
    page: Option<String>,
    per_page: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<Paged<PostSummary>>> {
    let request = PageRequest::parse(query.page.as_deref(), query.per_page.as_deref())?;
    Ok(Json(super::db::list_posts(&state.db, request).await?))
}
