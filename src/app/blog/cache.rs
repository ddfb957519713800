//! How the blog is cached: its tags, the default policies of its pages, data
//! functions and API, and how long browsers keep its data.

use isr_cache::CachePolicy;

use crate::app::cache::{ClientCache, DAY, HOUR, MINUTE, minutes};

/// The blog's cache tags: its pages carry them, its writes purge them.
pub mod tags {
    use crate::tags::Tag;

    /// Every list of posts (the index, the home page's latest posts, the API).
    pub fn posts() -> Tag {
        Tag::new("posts")
    }

    /// One post, by slug; none for an empty slug.
    pub fn post(slug: &str) -> Option<Tag> {
        Tag::named("post", slug)
    }
}

/// Lists of posts (the blog index, `GET /api/posts`): new posts should appear
/// within minutes even without a purge.
pub fn posts() -> CachePolicy {
    CachePolicy::isr(5 * MINUTE, HOUR).stale_if_error(HOUR + DAY).tags([tags::posts()])
}

/// One post: edits purge it, so it can stay an hour fresh and a week stale.
pub fn post(slug: &str) -> CachePolicy {
    CachePolicy::isr(HOUR, 7 * DAY).stale_if_error(8 * DAY).tags(tags::post(slug))
}

/// Posts and lists of posts, in the browser (search results show posts too).
pub const CLIENT: ClientCache = ClientCache::new(minutes(5), minutes(30));

/// The blog's routes in the site's route table.
#[cfg(feature = "ssr")]
pub fn routes(table: isr_cache::RouteTable) -> isr_cache::RouteTable {
    use crate::app::cache::DataFunctions as _;
    table
        .route("/blog", |_| posts())
        .query(["page"])
        .prerender()
        .route("/blog/{slug}", |r| post(r.param("slug")))
        .prerender()
        .data::<super::ListPosts>(|_| posts())
        .data::<super::GetPost>(|args| post(&args.slug))
        .data::<super::LatestPosts>(|_| posts())
        .data::<super::SearchPosts>(|_| crate::app::search::cache::search())
        .route("/api/posts", |_| posts())
        .query(["page", "per_page"])
        // The editor (see `admin`): the admin's own, never shared.
        .route("/dashboard/posts/{slug}", |_| CachePolicy::private())
        .data::<super::admin::GetPostForEdit>(|_| CachePolicy::private())
        .data::<super::admin::PostsForAdmin>(|_| CachePolicy::private())
        .write::<super::admin::UpdatePost>()
}

/// The blog's pages for static generation: every post (the index and its
/// pages are found from there by crawling).
#[cfg(feature = "ssr")]
pub async fn prerender(db: &crate::db::Db) -> crate::AppResult<Vec<String>> {
    let slugs = super::db::post_slugs(db).await?;
    Ok(slugs.into_iter().map(|slug| format!("/blog/{slug}")).collect())
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::app::cache::{assert_client_fits, resolved};

    #[test]
    fn pages_and_their_data_functions_share_a_policy() {
        assert_eq!(
            resolved("/blog/hello", None),
            resolved("/api/blog/get_post", Some("slug=hello"))
        );
        assert_eq!(resolved("/blog", None), resolved("/api/blog/list_posts", Some("page=2")));
        assert_eq!(resolved("/blog/hello", None).1, ["post:hello"]);
    }

    #[test]
    fn data_functions_declare_their_arguments() {
        let table = crate::app::cache::route_table();
        let declared = |path: &str| table.declared_query(path).to_vec();
        assert_eq!(declared("/api/blog/get_post"), [Box::<str>::from("slug")]);
        assert_eq!(declared("/api/blog/search_posts"), [Box::<str>::from("q")]);
        assert!(declared("/api/blog/latest_posts").is_empty());
    }

    #[test]
    fn browsers_keep_posts_no_longer_than_shared_caches() {
        assert_client_fits(CLIENT, &posts());
        assert_client_fits(CLIENT, &post("hello"));
    }
}
