//! How the home page is cached.

use isr_cache::CachePolicy;

use crate::app::cache::DAY;

/// The home page's cache tags.
pub mod tags {
    use crate::tags::Tag;

    /// The home page's own copy.
    pub fn home() -> Tag {
        Tag::new("home")
    }
}

/// The home page: marketing copy that changes rarely, plus what the features'
/// home sections show, so their edits purge it too (each section adds its
/// tags: see `app::HomeSection`); a week past its week of
/// stale-while-revalidate when the origin fails (see `app::cache`).
pub fn home() -> CachePolicy {
    let shown = crate::app::FEATURES.iter().filter_map(|feature| feature.home.as_ref());
    CachePolicy::static_content()
        .stale_if_error(14 * DAY)
        .tags([tags::home()])
        .tags(shown.flat_map(|section| (section.tags)()))
}

/// The home page's routes in the site's route table.
#[cfg(feature = "ssr")]
pub fn routes(table: isr_cache::RouteTable) -> isr_cache::RouteTable {
    table.route("/", |_| home()).prerender()
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::app::cache::resolved;

    /// The sections' edits purge the page that shows them.
    #[test]
    fn the_page_carries_its_sections_tags() {
        assert_eq!(resolved("/", None).1, ["home", "posts", "products"]);
        assert_eq!(home().to_string(), resolved("/", None).0);
    }
}
