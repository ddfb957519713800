//! The seeded demo: each feature seeds its own rows, in one transaction; an
//! already seeded database is left alone.

use http::StatusCode;
use leptos_isr_starter::server::seed;

use crate::db_tests;
use crate::helpers::TestApp;

db_tests!(
    every_table_is_seeded_and_seeding_again_writes_nothing,
    campaigns_link_to_pages_that_exist,
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

/// Every campaign's button leads to a page that exists: the demo's
/// campaigns link to the demo's products by id (`landing/demo/campaigns.toml`).
async fn campaigns_link_to_pages_that_exist(app: TestApp) {
    let campaigns: Vec<(String, String)> =
        sqlx::query_as("SELECT slug, cta_href FROM campaigns ORDER BY id")
            .fetch_all(&app.db)
            .await
            .expect("campaigns");
    assert!(!campaigns.is_empty());
    for (slug, cta_href) in campaigns {
        assert_eq!(app.get(&cta_href).await.status, StatusCode::OK, "{slug}: {cta_href}");
        let page = app.get(&format!("/landing/{slug}")).await;
        assert!(page.body.contains(&format!("href=\"{cta_href}\"")), "{slug}: {}", page.body);
    }
}
