//! Seeds the demo campaigns of `demo/campaigns.toml` (compiled in with
//! `include_str!`), after the shop's seed: a campaign's button links to the
//! product it names. A campaign whose product is not in the database (the shop
//! was removed, or the name is wrong) is still seeded, with no product and a
//! button to the home page, and a warning in the log.

use anyhow::Context as _;
use serde::Deserialize;
use sqlx::AnyConnection;

/// `demo/campaigns.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Campaigns {
    campaign: Vec<DemoCampaign>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoCampaign {
    /// Unique, kebab-case: the page is `/landing/<slug>`.
    slug: String,
    headline: String,
    /// Plain text, paragraphs separated by a blank line; stored trimmed.
    body: String,
    cta_label: String,
    /// The name of the shop's product the button links to.
    product: Option<String>,
}

fn campaigns() -> anyhow::Result<Vec<DemoCampaign>> {
    let campaigns: Campaigns = toml::from_str(include_str!("demo/campaigns.toml"))
        .context("landing/demo/campaigns.toml")?;
    Ok(campaigns.campaign)
}

/// Inserts the demo campaigns.
///
/// # Errors
///
/// When the data file is malformed (nothing is written then) or a query fails.
pub async fn seed(conn: &mut AnyConnection) -> anyhow::Result<()> {
    for campaign in campaigns()? {
        let product_id: Option<i64> = match &campaign.product {
            // The `products` table exists wherever `campaigns` does: its
            // `product_id` refers to it.
            Some(name) => sqlx::query_scalar("SELECT MIN(id) FROM products WHERE name = $1")
                .bind(name)
                .fetch_one(&mut *conn)
                .await
                .with_context(|| {
                    format!("looking up the product of the campaign {}", campaign.slug)
                })?,
            None => None,
        };
        if let (Some(name), None) = (&campaign.product, product_id) {
            tracing::warn!(
                campaign = %campaign.slug,
                product = %name,
                "the campaign's product is not in the database: its button links home"
            );
        }
        let cta_href = product_id.map_or_else(|| "/".to_owned(), |id| format!("/products/{id}"));
        sqlx::query(
            "INSERT INTO campaigns (slug, headline, body, cta_label, cta_href, product_id) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&campaign.slug)
        .bind(&campaign.headline)
        .bind(campaign.body.trim())
        .bind(&campaign.cta_label)
        .bind(cta_href)
        .bind(product_id)
        .execute(&mut *conn)
        .await
        .with_context(|| format!("inserting the campaign {}", campaign.slug))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn is_kebab_case(slug: &str) -> bool {
        !slug.is_empty()
            && !slug.starts_with('-')
            && !slug.ends_with('-')
            && !slug.contains("--")
            && slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    }

    #[test]
    fn campaigns_are_well_formed() {
        let campaigns = campaigns().expect("campaigns.toml is well formed");
        assert!(!campaigns.is_empty());
        let slugs: HashSet<_> = campaigns.iter().map(|campaign| campaign.slug.as_str()).collect();
        assert_eq!(slugs.len(), campaigns.len(), "slugs must be unique");
        for campaign in &campaigns {
            let slug = &campaign.slug;
            assert!(is_kebab_case(slug), "{slug} is not kebab-case");
            for text in [&campaign.headline, &campaign.body, &campaign.cta_label] {
                assert!(!text.trim().is_empty(), "{slug}: an empty field");
            }
        }
    }
}
