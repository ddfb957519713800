//! `/search?q=`: posts and products whose text contains the query.

use leptos::html::Input;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};
use serde::{Deserialize, Serialize};
use server_fn::codec::GetUrl;

use crate::AppError;
use crate::app::blog::{PostList, PostSummary};
use crate::app::cache::{self, ClientCache};
use crate::app::components::{ErrorPage, Loading};
use crate::app::query::{Query, tags_of};
use crate::app::shop::{Product, ProductGrid};

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 100;
/// Results per kind.
#[cfg(feature = "ssr")]
const RESULTS_PER_KIND: i64 = 20;

/// What a search found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    pub query: String,
    pub posts: Vec<PostSummary>,
    pub products: Vec<Product>,
}

/// Searches posts and products. A blank query finds nothing.
#[server(endpoint = "search/search", input = GetUrl)]
pub async fn search(q: String) -> Result<SearchResults, AppError> {
    let query = q.trim().to_owned();
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::BadRequest(format!(
            "search queries are limited to {MAX_QUERY_CHARS} characters"
        )));
    }
    if query.is_empty() {
        return Ok(SearchResults { query, posts: vec![], products: vec![] });
    }
    let db = crate::server::AppState::current().db;
    Ok(SearchResults {
        posts: crate::app::blog::db::search_posts(&db, &query, RESULTS_PER_KIND).await?,
        products: crate::app::shop::db::search_products(&db, &query, RESULTS_PER_KIND).await?,
        query,
    })
}

/// Results by query text; kept as long as the posts they show.
pub fn search_query() -> Query<String, SearchResults> {
    Query::new(search, ClientCache::POSTS).tagged(|_| tags_of(cache::search()))
}

/// `/search?q=`.
#[component]
pub fn SearchPage() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let results = search_query().resource(q);

    // A plain GET form that works without JavaScript; once hydrated, submitting
    // navigates client-side to exactly `/search?q=…` (the router's `<Form>`
    // would append an empty `&=` for the unnamed button, splitting cache keys).
    let navigate = use_navigate();
    let input = NodeRef::<Input>::new();
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if let Some(input) = input.get() {
            let text = input.value();
            let encoded: String = form_urlencoded::byte_serialize(text.trim().as_bytes()).collect();
            navigate(&format!("/search?q={encoded}"), Default::default());
        }
    };

    view! {
        <Title text="Search" />
        <header class="page-header">
            <h1>"Search"</h1>
            <form method="get" action="/search" class="search-form" on:submit=on_submit>
                <input
                    node_ref=input
                    type="search"
                    name="q"
                    placeholder="Search posts and products"
                    aria-label="Search"
                    maxlength=MAX_QUERY_CHARS
                    value=q
                    prop:value=q
                />
                <button type="submit" class="button">"Search"</button>
            </form>
        </header>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match results.await.result {
                    Ok(results) if results.query.is_empty() => {
                        view! { <p class="muted">"Type a word, such as “cache” or “keyboard”."</p> }.into_any()
                    }
                    Ok(results) if results.posts.is_empty() && results.products.is_empty() => {
                        view! { <p class="muted">"Nothing matches “" {results.query} "”."</p> }.into_any()
                    }
                    Ok(results) => view! {
                        {(!results.posts.is_empty()).then(|| view! {
                            <section class="section">
                                <h2>{format!("Posts ({})", results.posts.len())}</h2>
                                <PostList posts=results.posts />
                            </section>
                        })}
                        {(!results.products.is_empty()).then(|| view! {
                            <section class="section">
                                <h2>{format!("Products ({})", results.products.len())}</h2>
                                <ProductGrid products=results.products />
                            </section>
                        })}
                    }
                    .into_any(),
                    Err(error) => view! { <ErrorPage error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
