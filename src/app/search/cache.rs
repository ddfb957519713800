//! How search results are cached.

use isr_cache::CachePolicy;

use crate::app::cache::DAY;

/// Search's cache tags.
pub mod tags {
    use crate::tags::Tag;

    /// Every search result: any write that changes what a search finds purges it.
    pub fn results() -> Tag {
        Tag::new("search")
    }
}

/// Search results: any query may be asked, so no shared TTL beyond the
/// browser's; the purge tag still reaches caches that keep them.
pub fn search() -> CachePolicy {
    CachePolicy::public(5 * crate::app::cache::MINUTE)
        .stale_if_error(DAY)
        .vary(http::header::ACCEPT_ENCODING)
        .tags([tags::results()])
}

/// The search page's routes in the site's route table.
#[cfg(feature = "ssr")]
pub fn routes(table: isr_cache::RouteTable) -> isr_cache::RouteTable {
    table.route("/search", |_| search()).query(["q"])
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use crate::app::cache::resolved;

    #[test]
    fn the_page_reads_only_q() {
        assert_eq!(resolved("/search", Some("q=x&x=1")), resolved("/search", Some("q=x")));
        assert_eq!(resolved("/search", None).1, ["search"]);
    }
}
