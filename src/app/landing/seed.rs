//! Seeds the demo campaigns of `demo/campaigns.toml` (compiled in with
//! `include_str!`). A campaign's button is a plain link: landing pages know
//! nothing of the shop, so either comes out of the app without the other.

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
    /// Where the button goes.
    cta_href: String,
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
        anyhow::ensure!(
            super::safe_href(&campaign.cta_href),
            "the campaign {}'s cta_href {:?} must be a path on this site or an https:// URL",
            campaign.slug,
            campaign.cta_href
        );
        sqlx::query(
            "INSERT INTO campaigns (slug, headline, body, cta_label, cta_href) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&campaign.slug)
        .bind(&campaign.headline)
        .bind(campaign.body.trim())
        .bind(&campaign.cta_label)
        .bind(&campaign.cta_href)
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
    use crate::db::is_kebab_case;

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
            assert!(super::super::safe_href(&campaign.cta_href), "{slug}: {}", campaign.cta_href);
        }
    }

    #[test]
    fn only_site_paths_and_https_are_safe_links() {
        use super::super::safe_href;
        for safe in ["/products/1", "/", "/blog?page=2#top", "https://example.com/x", "https://a.b"]
        {
            assert!(safe_href(safe), "{safe}");
        }
        for unsafe_href in [
            "javascript:alert(1)",
            "JAVASCRIPT:alert(1)",
            "data:text/html,<script>",
            "http://example.com",
            "//evil.example",
            "/\\evil.example",
            "/\tx",
            "https://",
            "https://user@evil.example",
            "products/1",
            "",
        ] {
            assert!(!safe_href(unsafe_href), "{unsafe_href}");
        }
    }
}
