//! How landing pages are cached.

use isr_cache::CachePolicy;

use crate::app::cache::{ClientCache, DAY, HOUR, minutes};

/// The landing pages' cache tags.
pub mod tags {
    use crate::tags::Tag;

    /// One campaign's page, by slug; none for an empty slug.
    pub fn campaign(slug: &str) -> Option<Tag> {
        Tag::named("campaign", slug)
    }
}

/// A campaign's landing page: rewritten by hand, rarely; a week past its week
/// of stale-while-revalidate when the origin fails (see `app::cache`).
pub fn campaign(slug: &str) -> CachePolicy {
    CachePolicy::static_content().stale_if_error(14 * DAY).tags(tags::campaign(slug))
}

/// Landing pages in the browser.
pub const CLIENT: ClientCache = ClientCache::new(HOUR, minutes(120));

/// The landing pages' routes in the site's route table.
#[cfg(feature = "ssr")]
pub fn routes(table: isr_cache::RouteTable) -> isr_cache::RouteTable {
    use crate::app::cache::DataFunctions as _;
    table
        .route("/landing/{campaign}", |r| campaign(r.param("campaign")))
        .prerender()
        .data::<super::GetCampaign>(|args| campaign(&args.slug))
}

/// The landing pages for static generation: every campaign.
#[cfg(feature = "ssr")]
pub async fn prerender(db: &crate::db::Db) -> crate::AppResult<Vec<String>> {
    let slugs = super::db::campaign_slugs(db).await?;
    Ok(slugs.into_iter().map(|slug| format!("/landing/{slug}")).collect())
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::app::cache::{assert_client_fits, resolved};

    #[test]
    fn the_page_and_its_data_function_share_a_policy() {
        assert_eq!(
            resolved("/landing/x", None),
            resolved("/api/landing/get_campaign", Some("slug=x"))
        );
        assert_client_fits(CLIENT, &campaign("spring-sale"));
    }
}
