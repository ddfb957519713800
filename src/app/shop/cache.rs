//! How the shop is cached: its tags, the default policies of its pages, data
//! functions and API, and how long browsers keep its data.

use isr_cache::CachePolicy;

use crate::app::cache::{ClientCache, DAY, HOUR, MINUTE, minutes};

/// The shop's cache tags: its pages carry them, its writes purge them.
pub mod tags {
    use crate::tags::Tag;

    /// Every list of products (the catalogue, the home page's featured ones).
    pub fn products() -> Tag {
        Tag::new("products")
    }

    /// One product, in its canonical form (`007` → `product:7`) so the tag a
    /// purge uses always matches; none for an id that is not a number.
    pub fn product(id: &str) -> Option<Tag> {
        id.parse::<i64>().ok().and_then(|id| Tag::named("product", id))
    }

    /// The signed-in visitor's orders: only their browser shows them (their
    /// pages are private), so no shared cache is ever asked to purge this.
    pub const ORDERS: &str = "orders";
}

/// The catalogue: prices and stock change often.
pub fn products() -> CachePolicy {
    // `frequent()`: ten minutes of stale-while-revalidate.
    CachePolicy::frequent().stale_if_error(10 * MINUTE + DAY).tags([tags::products()])
}

/// One product page: browsers may keep it five minutes too.
pub fn product(id: &str) -> CachePolicy {
    CachePolicy::isr(5 * MINUTE, HOUR)
        .max_age(5 * MINUTE)
        .stale_if_error(HOUR + DAY)
        .tags(tags::product(id))
}

/// What a product page tightens to when only a few are left: the count a
/// shopper sees must stay close to the truth, even where no purge reaches.
pub fn low_stock() -> CachePolicy {
    // With its own stale-if-error: a merge keeps one only when both sides have it.
    CachePolicy::isr(std::time::Duration::from_secs(10), MINUTE).stale_if_error(MINUTE + DAY)
}

/// `GET /api/products/{id}`: API clients may keep it five minutes; a CDN,
/// which the site purges by tag, an hour.
pub fn product_api(id: &str) -> CachePolicy {
    CachePolicy::public(5 * MINUTE)
        .stale_while_revalidate(10 * MINUTE)
        .stale_if_error(10 * MINUTE + DAY)
        .cdn_max_age(HOUR)
        .tags(tags::product(id))
}

/// Products in the browser: prices and stock change often.
pub const CLIENT: ClientCache = ClientCache::new(std::time::Duration::from_secs(30), minutes(10));

/// The shop's routes in the site's route table.
#[cfg(feature = "ssr")]
pub fn routes(table: isr_cache::RouteTable) -> isr_cache::RouteTable {
    use crate::app::cache::DataFunctions as _;
    table
        .route("/products", |_| products())
        .query(["page"])
        .prerender()
        .route("/products/{id}", |r| product(r.param("id")))
        .prerender()
        .data::<super::ListProducts>(|_| products())
        .data::<super::GetProduct>(|args| product(&args.id.to_string()))
        .data::<super::FeaturedProducts>(|_| products())
        .data::<super::SearchProducts>(|_| crate::app::search::cache::search())
        .write::<super::PlaceOrder>()
        .route("/api/products/{id}", |r| product_api(r.param("id")))
        // The visitor's orders and the admin's editor: their own, never shared.
        .data::<super::orders::MyOrders>(|_| CachePolicy::private())
        .route("/dashboard/products/{id}", |_| CachePolicy::private())
        .data::<super::admin::GetProductForEdit>(|_| CachePolicy::private())
        .data::<super::admin::ProductsForAdmin>(|_| CachePolicy::private())
        .write::<super::admin::UpdateProduct>()
}

/// The shop's pages for static generation: every product.
#[cfg(feature = "ssr")]
pub async fn prerender(db: &crate::db::Db) -> crate::AppResult<Vec<String>> {
    let ids = super::db::product_ids(db).await?;
    Ok(ids.into_iter().map(|id| format!("/products/{id}")).collect())
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::app::cache::{assert_client_fits, resolved};

    #[test]
    fn pages_and_their_data_functions_share_a_policy() {
        assert_eq!(resolved("/products/7", None), resolved("/api/shop/get_product", Some("id=7")));
        assert_eq!(
            resolved("/products", None),
            resolved("/api/shop/list_products", Some("page=1"))
        );
    }

    /// Typed arguments: an id that is not a number is the function's 400,
    /// which no cache keeps.
    #[test]
    fn data_functions_parse_their_arguments() {
        let table = crate::app::cache::route_table();
        assert_eq!(
            table.declared_query("/api/shop/get_product").to_vec(),
            [Box::<str>::from("id")]
        );
        assert_eq!(resolved("/api/shop/get_product", Some("id=abc")).0, "no-store");
    }

    #[test]
    fn product_tags_are_canonical_and_only_for_real_ids() {
        assert_eq!(resolved("/products/007", None).1, ["product:7"]);
        assert!(resolved("/products/abc", None).1.is_empty());
    }

    /// Not low stock's 10 s: a visitor's own tab may show a count 30 s old;
    /// what new visitors get stays within 10 s.
    #[test]
    fn browsers_keep_products_no_longer_than_shared_caches() {
        assert_client_fits(CLIENT, &products());
        assert_client_fits(CLIENT, &product("7"));
    }
}
