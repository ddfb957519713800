//! Campaign queries.

use super::Campaign;
use crate::AppResult;
use crate::db::Db;

/// The campaign at `slug`, if any.
pub async fn find_campaign(db: &Db, slug: &str) -> AppResult<Option<Campaign>> {
    let row: Option<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT slug, headline, body, cta_label, cta_href FROM campaigns WHERE slug = $1",
    )
    .bind(slug)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(slug, headline, body, cta_label, cta_href)| {
        // Seeding refuses such a link; a row written another way loses it.
        let cta_href = if super::safe_href(&cta_href) {
            cta_href
        } else {
            tracing::warn!(slug, "a campaign's cta_href is neither a site path nor https: dropped");
            "/".to_owned()
        };
        Campaign { slug, headline, body, cta_label, cta_href }
    }))
}

/// Every campaign's slug: the landing pages for static generation.
pub async fn campaign_slugs(db: &Db) -> AppResult<Vec<String>> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT slug FROM campaigns ORDER BY slug").fetch_all(db).await?;
    Ok(rows.into_iter().map(|(slug,)| slug).collect())
}
