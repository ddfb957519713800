//! Orders: what a signed-in visitor bought, on their dashboard. Placing one
//! is `super::place_order`, on the product page.

use leptos::prelude::*;
use leptos_router::components::A;
use serde::{Deserialize, Serialize};
use server_fn::codec::GetUrl;

use super::tags;
use crate::AppError;
use crate::app::components::{Loading, format_price};
use crate::app::dashboard::{self, signed_in};
use crate::app::query::{Call, Query};

/// An order as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSummary {
    pub id: i64,
    pub product_id: i64,
    pub product_name: String,
    pub quantity: i64,
    pub total_cents: i64,
    pub ordered_on: String,
}

/// The signed-in visitor's orders, newest first.
#[server(endpoint = "shop/my_orders", input = GetUrl)]
pub async fn my_orders() -> Result<Vec<OrderSummary>, AppError> {
    let user = crate::app::auth::session::require_user().await?;
    super::db::orders_of(&crate::state::AppState::current().db, user.id).await
}

/// The visitor's orders: invalidated by their next order (tag `orders`).
pub fn my_orders_query() -> Query<(), Vec<OrderSummary>> {
    Query::new(|()| Call::Get(MyOrders {}), dashboard::CLIENT)
        .tagged(|()| vec![tags::ORDERS.to_owned()])
}

/// The dashboard's section: the visitor's orders.
#[component]
pub fn OrdersSection() -> impl IntoView {
    let orders = my_orders_query().resource(|| ());
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                signed_in(orders.await.result, |orders| view! { <OrderTable orders /> }.into_any())
            })}
        </Suspense>
    }
}

#[component]
fn OrderTable(orders: Vec<OrderSummary>) -> impl IntoView {
    view! {
        <section class="section">
            <h2>"Your orders"</h2>
            {if orders.is_empty() {
                view! { <p class="muted">"No orders yet. " <A href="/products">"Visit the shop"</A> "."</p> }.into_any()
            } else {
                view! {
                    <table class="table">
                        <thead>
                            <tr><th>"Order"</th><th>"Product"</th><th>"Qty"</th><th>"Total"</th><th>"Date"</th></tr>
                        </thead>
                        <tbody>
                            {orders.into_iter().map(|order| view! {
                                <tr>
                                    <td>{format!("#{}", order.id)}</td>
                                    <td><A href=format!("/products/{}", order.product_id)>{order.product_name}</A></td>
                                    <td>{order.quantity}</td>
                                    <td>{format_price(order.total_cents)}</td>
                                    <td>{order.ordered_on}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}
