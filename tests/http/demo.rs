//! The seeded demo: each feature seeds its own rows, in one transaction, and
//! they refer to each other by name. A campaign finds its product; a campaign
//! whose product is gone (the shop removed) is seeded anyway; an already seeded
//! database is left alone.

use http::StatusCode;
use leptos_isr_starter::app::landing;
use leptos_isr_starter::server::seed;

use crate::db_tests;
use crate::helpers::TestApp;

db_tests!(
    every_table_is_seeded_and_seeding_again_writes_nothing,
    campaigns_link_to_their_products,
    a_campaign_whose_product_is_gone_still_seeds,
);

async fn row_counts(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for query in [
        "SELECT COUNT(*) FROM users",
        "SELECT COUNT(*) FROM posts",
        "SELECT COUNT(*) FROM products",
        "SELECT COUNT(*) FROM campaigns",
        "SELECT COUNT(*) FROM orders",
    ] {
        counts.push(sqlx::query_scalar(query).fetch_one(&app.db).await.expect(query));
    }
    counts
}

async fn every_table_is_seeded_and_seeding_again_writes_nothing(app: TestApp) {
    let seeded = row_counts(&app).await;
    assert!(seeded.iter().all(|&rows| rows > 0), "{seeded:?}");

    seed::seed_demo(&app.db).await.expect("seeding a seeded database");

    assert_eq!(row_counts(&app).await, seeded);
}

/// `(slug, cta_href, product_id)` of every campaign.
async fn campaigns(app: &TestApp) -> Vec<(String, String, Option<i64>)> {
    sqlx::query_as("SELECT slug, cta_href, product_id FROM campaigns ORDER BY id")
        .fetch_all(&app.db)
        .await
        .expect("campaigns")
}

async fn campaigns_link_to_their_products(app: TestApp) {
    let campaigns = campaigns(&app).await;
    assert!(!campaigns.is_empty());
    for (slug, cta_href, product_id) in campaigns {
        let product_id = product_id.unwrap_or_else(|| panic!("{slug} has no product"));
        assert_eq!(cta_href, format!("/products/{product_id}"), "{slug}");
        assert_eq!(app.get(&cta_href).await.status, StatusCode::OK, "{slug}");
        let page = app.get(&format!("/landing/{slug}")).await;
        assert!(page.body.contains(&format!("href=\"{cta_href}\"")), "{slug}: {}", page.body);
    }
}

async fn a_campaign_whose_product_is_gone_still_seeds(app: TestApp) {
    // As if the shop had been removed: no product has the names campaigns give.
    sqlx::query("DELETE FROM campaigns").execute(&app.db).await.expect("delete campaigns");
    sqlx::query("UPDATE products SET name = 'Gone: ' || name")
        .execute(&app.db)
        .await
        .expect("rename products");

    let mut conn = app.db.acquire().await.expect("a connection");
    landing::seed::seed(&mut conn).await.expect("campaigns seed without their products");
    drop(conn);

    let campaigns = campaigns(&app).await;
    assert!(!campaigns.is_empty());
    for (slug, cta_href, product_id) in campaigns {
        assert_eq!((cta_href.as_str(), product_id), ("/", None), "{slug}");
        let page = app.get(&format!("/landing/{slug}")).await;
        assert_eq!(page.status, StatusCode::OK, "{slug}");
    }
}
