//! Blog queries.

use super::{Post, PostSummary};
use crate::AppResult;
use crate::app::paging::{PageRequest, Paged};
use crate::db::{Db, format_date, like_pattern};

#[derive(sqlx::FromRow)]
struct PostSummaryRow {
    slug: String,
    title: String,
    summary: String,
    author: String,
    published_at: i64,
}

impl From<PostSummaryRow> for PostSummary {
    fn from(row: PostSummaryRow) -> Self {
        Self {
            slug: row.slug,
            title: row.title,
            summary: row.summary,
            author: row.author,
            published_on: format_date(row.published_at),
        }
    }
}

#[derive(sqlx::FromRow)]
struct PostRow {
    slug: String,
    title: String,
    summary: String,
    body: String,
    author: String,
    published_at: i64,
    updated_at: i64,
}

impl From<PostRow> for Post {
    fn from(row: PostRow) -> Self {
        Self {
            slug: row.slug,
            title: row.title,
            summary: row.summary,
            body: row.body,
            author: row.author,
            published_on: format_date(row.published_at),
            // Same-day edits are not worth a second date.
            updated_on: (row.updated_at - row.published_at > 86_400)
                .then(|| format_date(row.updated_at)),
        }
    }
}

/// One page of posts, newest first.
pub async fn list_posts(db: &Db, request: PageRequest) -> AppResult<Paged<PostSummary>> {
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM posts").fetch_one(db).await?;
    let rows: Vec<PostSummaryRow> = sqlx::query_as(
        "SELECT slug, title, summary, author, published_at FROM posts
         ORDER BY published_at DESC, id DESC LIMIT $1 OFFSET $2",
    )
    .bind(request.limit())
    .bind(request.offset())
    .fetch_all(db)
    .await?;
    Ok(Paged::from_rows(rows, request, total))
}

/// The newest `limit` posts.
pub async fn latest_posts(db: &Db, limit: i64) -> AppResult<Vec<PostSummary>> {
    let rows: Vec<PostSummaryRow> = sqlx::query_as(
        "SELECT slug, title, summary, author, published_at FROM posts
         ORDER BY published_at DESC, id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// The post at `slug`, if any.
pub async fn find_post(db: &Db, slug: &str) -> AppResult<Option<Post>> {
    let row: Option<PostRow> = sqlx::query_as(
        "SELECT slug, title, summary, body, author, published_at, updated_at
         FROM posts WHERE slug = $1",
    )
    .bind(slug)
    .fetch_optional(db)
    .await?;
    Ok(row.map(Into::into))
}

/// Posts whose title, summary or body contains `text`, case-insensitively.
pub async fn search_posts(db: &Db, text: &str, limit: i64) -> AppResult<Vec<PostSummary>> {
    let rows: Vec<PostSummaryRow> = sqlx::query_as(
        r"SELECT slug, title, summary, author, published_at FROM posts
          WHERE LOWER(title) LIKE $1 ESCAPE '\' OR LOWER(summary) LIKE $1 ESCAPE '\'
             OR LOWER(body) LIKE $1 ESCAPE '\'
          ORDER BY published_at DESC, id DESC LIMIT $2",
    )
    .bind(like_pattern(text))
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Number of posts.
pub async fn count_posts(db: &Db) -> AppResult<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM posts").fetch_one(db).await?)
}

/// Changes a post's title and body; `false` when there is no post at `slug`.
pub async fn update_post(db: &Db, slug: &str, title: &str, body: &str) -> AppResult<bool> {
    let result =
        sqlx::query("UPDATE posts SET title = $1, body = $2, updated_at = $3 WHERE slug = $4")
            .bind(title)
            .bind(body)
            .bind(crate::db::now())
            .bind(slug)
            .execute(db)
            .await?;
    Ok(result.rows_affected() == 1)
}

/// Every post's slug, in publication order: the posts' pages for static
/// generation.
pub async fn post_slugs(db: &Db) -> AppResult<Vec<String>> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT slug FROM posts ORDER BY published_at DESC, slug")
            .fetch_all(db)
            .await?;
    Ok(rows.into_iter().map(|(slug,)| slug).collect())
}
