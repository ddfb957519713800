//! `/`: the marketing home page, with the latest posts and some products.

use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::components::A;
use serde::{Deserialize, Serialize};
use server_fn::codec::GetUrl;

use crate::AppError;
use crate::app::blog::{PostList, PostSummary};
use crate::app::cache::{self, ClientCache};
use crate::app::components::{ErrorPage, Loading};
use crate::app::query::{Query, tags_of};
use crate::app::shop::{Product, ProductGrid};

/// What the home page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HomeData {
    pub latest_posts: Vec<PostSummary>,
    pub featured_products: Vec<Product>,
}

/// The home page's data.
#[server(endpoint = "home/get_home", input = GetUrl)]
pub async fn get_home() -> Result<HomeData, AppError> {
    let db = crate::server::AppState::current().db;
    Ok(HomeData {
        latest_posts: crate::app::blog::db::latest_posts(&db, 3).await?,
        featured_products: crate::app::shop::db::featured_products(&db, 4).await?,
    })
}

/// The home page's data.
pub fn home_query() -> Query<(), HomeData> {
    Query::new(|()| get_home(), ClientCache::LANDING).tagged(|()| tags_of(cache::home()))
}

/// `/`.
#[component]
pub fn HomePage() -> impl IntoView {
    let home = home_query().resource(|| ());

    view! {
        <Title text="" />
        <Meta name="description" content="A Leptos starter that is fast like a static site and fresh like a dynamic one." />
        <section class="hero">
            <h1>"Fast like a static site. Fresh like a dynamic one."</h1>
            <p class="lede">
                "Every page here is rendered once, served from cache to everyone, regenerated in the background when it ages, and purged the moment its data changes."
            </p>
            <p class="hero-actions">
                <A href="/blog" attr:class="button">"Read the blog"</A>
                <A href="/products" attr:class="button secondary">"Visit the shop"</A>
            </p>
        </section>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match home.await.result {
                    Ok(home) => view! {
                        <section class="section">
                            <div class="section-header">
                                <h2>"Latest posts"</h2>
                                <A href="/blog">"All posts →"</A>
                            </div>
                            <PostList posts=home.latest_posts />
                        </section>
                        <section class="section">
                            <div class="section-header">
                                <h2>"From the shop"</h2>
                                <A href="/products">"All products →"</A>
                            </div>
                            <ProductGrid products=home.featured_products />
                        </section>
                    }
                    .into_any(),
                    Err(error) => view! { <ErrorPage error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
