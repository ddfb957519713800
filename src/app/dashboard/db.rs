//! Dashboard queries.

use super::OrderSummary;
use crate::AppResult;
use crate::server::db::{Db, format_date};

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: i64,
    product_id: i64,
    product_name: String,
    quantity: i64,
    total_cents: i64,
    created_at: i64,
}

/// A user's orders, newest first.
pub async fn orders_of(db: &Db, user_id: i64) -> AppResult<Vec<OrderSummary>> {
    let rows: Vec<OrderRow> = sqlx::query_as(
        "SELECT orders.id, orders.product_id, products.name AS product_name, orders.quantity,
                orders.total_cents, orders.created_at
         FROM orders JOIN products ON products.id = orders.product_id
         WHERE orders.user_id = $1 ORDER BY orders.created_at DESC, orders.id DESC",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| OrderSummary {
            id: row.id,
            product_id: row.product_id,
            product_name: row.product_name,
            quantity: row.quantity,
            total_cents: row.total_cents,
            ordered_on: format_date(row.created_at),
        })
        .collect())
}

/// Number of orders on the site.
pub async fn count_orders(db: &Db) -> AppResult<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM orders").fetch_one(db).await?)
}
