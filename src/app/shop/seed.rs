//! Seeds the demo shop: the catalogue of `demo/products.toml`, then the orders
//! of `demo/orders.toml`. Orders belong to demo accounts, so this runs after
//! auth's seed. The files are compiled in (`include_str!`).

use std::collections::HashMap;

use anyhow::Context as _;
use serde::Deserialize;
use sqlx::AnyConnection;

use crate::db::UnixSeconds;

/// `demo/products.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Catalogue {
    /// Every product's `updated_at`.
    updated: UnixSeconds,
    product: Vec<DemoProduct>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoProduct {
    /// Unique: how campaigns and orders name the product.
    name: String,
    description: String,
    price_cents: i64,
    stock: i64,
}

/// `demo/orders.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Orders {
    order: Vec<DemoOrder>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoOrder {
    /// The email of the account that placed it.
    customer: String,
    /// [`DemoProduct::name`].
    product: String,
    quantity: i64,
    placed: UnixSeconds,
}

fn catalogue() -> anyhow::Result<Catalogue> {
    toml::from_str(include_str!("demo/products.toml")).context("shop/demo/products.toml")
}

fn orders() -> anyhow::Result<Vec<DemoOrder>> {
    let orders: Orders =
        toml::from_str(include_str!("demo/orders.toml")).context("shop/demo/orders.toml")?;
    Ok(orders.order)
}

/// Inserts the demo products and orders.
///
/// # Errors
///
/// When a data file is malformed (nothing is written then), an order names an
/// unknown product or customer, or an insert fails.
pub async fn seed(conn: &mut AnyConnection) -> anyhow::Result<()> {
    let (catalogue, orders) = (catalogue()?, orders()?);

    // Name → (id, price), for the orders.
    let mut products = HashMap::with_capacity(catalogue.product.len());
    for product in &catalogue.product {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO products (name, description, price_cents, stock, updated_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&product.name)
        .bind(&product.description)
        .bind(product.price_cents)
        .bind(product.stock)
        .bind(catalogue.updated.0)
        .fetch_one(&mut *conn)
        .await
        .with_context(|| format!("inserting the product {}", product.name))?;
        products.insert(product.name.as_str(), (id, product.price_cents));
    }

    for order in &orders {
        let &(product_id, price_cents) = products
            .get(order.product.as_str())
            .with_context(|| format!("an order names the unknown product {:?}", order.product))?;
        let user_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind(&order.customer)
            .fetch_optional(&mut *conn)
            .await?
            .with_context(|| format!("an order names the unknown customer {}", order.customer))?;
        sqlx::query(
            "INSERT INTO orders (user_id, product_id, quantity, total_cents, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(user_id)
        .bind(product_id)
        .bind(order.quantity)
        .bind(price_cents * order.quantity)
        .bind(order.placed.0)
        .execute(&mut *conn)
        .await
        .with_context(|| format!("inserting an order for {}", order.product))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::app::auth::demo::DEMO_USERS;
    use crate::app::shop::{LOW_STOCK, MAX_ORDER_QUANTITY};

    #[test]
    fn products_are_well_formed_and_cover_every_stock_state() {
        let catalogue = catalogue().expect("products.toml is well formed");
        let products = &catalogue.product;
        let names: HashSet<_> = products.iter().map(|product| product.name.as_str()).collect();
        assert_eq!(names.len(), products.len(), "names must be unique");
        for product in products {
            assert!(!product.name.trim().is_empty(), "a product without a name");
            assert!(!product.description.trim().is_empty(), "{}", product.name);
            assert!(product.price_cents > 0 && product.stock >= 0, "{}", product.name);
        }
        let sold_out = products.iter().filter(|product| product.stock == 0).count();
        let low =
            products.iter().filter(|product| (1..=LOW_STOCK).contains(&product.stock)).count();
        let plenty = products.iter().filter(|product| product.stock > LOW_STOCK).count();
        assert!(
            sold_out >= 1 && low >= 2 && plenty >= 1,
            "every stock state is shown: {sold_out} sold out, {low} low, {plenty} plenty"
        );
    }

    #[test]
    fn orders_name_real_products_and_demo_customers() {
        let catalogue = catalogue().expect("well formed");
        let orders = orders().expect("orders.toml is well formed");
        assert!(!orders.is_empty(), "the customer's dashboard lists orders");
        for order in &orders {
            assert!(
                catalogue.product.iter().any(|product| product.name == order.product),
                "an order names the unknown product {:?}",
                order.product
            );
            let customer = DEMO_USERS.iter().find(|user| user.email == order.customer);
            let customer =
                customer.unwrap_or_else(|| panic!("{} is no demo account", order.customer));
            assert!(order.placed.0 >= customer.created_at, "ordered before signing up");
            assert!(order.placed >= catalogue.updated, "ordered before the catalogue existed");
            assert!((1..=MAX_ORDER_QUANTITY).contains(&order.quantity), "{}", order.product);
        }
    }
}
