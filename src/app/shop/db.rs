//! Shop queries.

use super::Product;
use super::orders::OrderSummary;
use crate::AppResult;
use crate::app::paging::{PageRequest, Paged};
use crate::db::{Db, format_date, like_pattern};

#[derive(sqlx::FromRow)]
struct ProductRow {
    id: i64,
    name: String,
    description: String,
    price_cents: i64,
    stock: i64,
}

impl From<ProductRow> for Product {
    fn from(row: ProductRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            description: row.description,
            price_cents: row.price_cents,
            stock: row.stock,
        }
    }
}

/// One page of products, in catalogue order.
pub async fn list_products(db: &Db, request: PageRequest) -> AppResult<Paged<Product>> {
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products").fetch_one(db).await?;
    let rows: Vec<ProductRow> = sqlx::query_as("SELECT id, name, description, price_cents, stock FROM products ORDER BY id LIMIT $1 OFFSET $2",
    )
    .bind(request.limit())
    .bind(request.offset())
    .fetch_all(db)
    .await?;
    Ok(Paged::from_rows(rows, request, total))
}

/// Products in stock, first `limit` of them, for the home page.
pub async fn featured_products(db: &Db, limit: i64) -> AppResult<Vec<Product>> {
    let rows: Vec<ProductRow> = sqlx::query_as("SELECT id, name, description, price_cents, stock FROM products WHERE stock > 0 ORDER BY id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// The product with `id`, if any.
pub async fn find_product(db: &Db, id: i64) -> AppResult<Option<Product>> {
    let row: Option<ProductRow> = sqlx::query_as(
        "SELECT id, name, description, price_cents, stock FROM products WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(Into::into))
}

/// Products whose name or description contains `text`, case-insensitively.
pub async fn search_products(db: &Db, text: &str, limit: i64) -> AppResult<Vec<Product>> {
    let rows: Vec<ProductRow> = sqlx::query_as(
        r"SELECT id, name, description, price_cents, stock FROM products
          WHERE LOWER(name) LIKE $1 ESCAPE '\' OR LOWER(description) LIKE $1 ESCAPE '\'
          ORDER BY id LIMIT $2",
    )
    .bind(like_pattern(text))
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Number of products.
pub async fn count_products(db: &Db) -> AppResult<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM products").fetch_one(db).await?)
}

/// Every product, in catalogue order (the editor's list).
pub async fn all_products(db: &Db) -> AppResult<Vec<Product>> {
    let rows: Vec<ProductRow> = sqlx::query_as(
        "SELECT id, name, description, price_cents, stock FROM products ORDER BY id",
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Changes a product's price and stock; `false` when there is no product `id`.
pub async fn update_product(db: &Db, id: i64, price_cents: i64, stock: i64) -> AppResult<bool> {
    let result = sqlx::query(
        "UPDATE products SET price_cents = $1, stock = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(price_cents)
    .bind(stock)
    .bind(crate::db::now())
    .bind(id)
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// What [`place_order`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum OrderOutcome {
    /// Ordered: the new order's id.
    Placed { order_id: i64 },
    /// No product `id`.
    NoSuchProduct,
    /// Fewer than asked for are left (maybe none); nothing changed.
    NotEnoughStock { left: i64 },
}

/// Orders `quantity` of product `id` for `user_id`, at today's price, in one
/// transaction. The stock check and the decrement are one conditional
/// `UPDATE`, so concurrent orders can never sell more than there is: the
/// database serialises them (SQLite locks the file, PostgreSQL the row and
/// re-checks the condition).
pub async fn place_order(db: &Db, user_id: i64, id: i64, quantity: i64) -> AppResult<OrderOutcome> {
    let mut tx = db.begin().await?;
    let now = crate::db::now();
    let price: Option<i64> = sqlx::query_scalar(
        "UPDATE products SET stock = stock - $1, updated_at = $2
         WHERE id = $3 AND stock >= $1 RETURNING price_cents",
    )
    .bind(quantity)
    .bind(now)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(price_cents) = price else {
        let left: Option<i64> = sqlx::query_scalar("SELECT stock FROM products WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        return Ok(
            left.map_or(OrderOutcome::NoSuchProduct, |left| OrderOutcome::NotEnoughStock { left })
        );
    };
    let order_id: i64 = sqlx::query_scalar(
        "INSERT INTO orders (user_id, product_id, quantity, total_cents, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(user_id)
    .bind(id)
    .bind(quantity)
    .bind(price_cents * quantity)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(OrderOutcome::Placed { order_id })
}

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

/// Every product's id, in catalogue order: the products' pages for static
/// generation.
pub async fn product_ids(db: &Db) -> AppResult<Vec<i64>> {
    let rows: Vec<(i64,)> =
        sqlx::query_as("SELECT id FROM products ORDER BY id").fetch_all(db).await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}
