//! The blog: `/blog` (paged list) and `/blog/:slug`, their data functions,
//! the JSON API `GET /api/posts`, the latest posts on the home page, posts
//! in search results, and the admin's post editor ([`admin`]).

pub mod admin;
#[cfg(feature = "ssr")]
pub mod api;
pub mod cache;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod seed;

pub use cache::tags;

use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::any_nested_route::IntoAnyNestedRoute as _;
use leptos_router::components::{A, Route};
use leptos_router::hooks::{use_params_map, use_query_map};
use leptos_router::{Lazy, SsrMode, path};
use serde::{Deserialize, Serialize};
use server_fn::codec::GetUrl;

use crate::AppError;
use crate::app::components::{ErrorPage, Loading, NotFound, Pagination, Paragraphs};
use crate::app::lazy::PostEditorRoute;
use crate::app::paging::{Paged, paged_query};
use crate::app::query::{Call, Query, tags_of};
use crate::app::{Feature, HomeSection};

/// The blog in the site (see `app::FEATURES`).
pub const FEATURE: Feature = Feature {
    nav: Some(("Blog", "/blog")),
    home: Some(HomeSection {
        cta: ("Read the blog", "/blog"),
        tags: || vec![tags::posts()],
        view: || {
            let list = |posts| view! { <PostList posts /> }.into_any();
            crate::app::home::section(
                "Latest posts",
                ("All posts →", "/blog"),
                latest_posts_query(),
                list,
            )
        },
    }),
    search: Some(|q| {
        let list = |posts| view! { <PostList posts /> }.into_any();
        crate::app::search::section(q, "Posts", search_posts_query(), list)
    }),
    dashboard: Some(admin::posts_section),
    #[cfg(feature = "ssr")]
    cache: cache::routes,
    #[cfg(feature = "ssr")]
    seed: Some(|conn| Box::pin(seed::seed(conn))),
    #[cfg(feature = "ssr")]
    api: Some(api::routes),
    #[cfg(feature = "ssr")]
    stats: Some(|pool| Box::pin(async move { Ok(vec![(db::count_posts(&pool).await?, "posts")]) })),
    #[cfg(feature = "ssr")]
    prerender: Some(|db| Box::pin(cache::prerender(db))),
};

/// The blog's pages.
#[component(transparent)]
pub fn Routes() -> impl leptos_router::MatchNestedRoutes + Clone {
    view! {
        // In the main module, not an area of its own (see `app::lazy`).
        <Route path=path!("/blog") view=BlogIndex ssr=SsrMode::Async />
        <Route path=path!("/blog/:slug") view=PostPage ssr=SsrMode::Async />
        <Route path=path!("/dashboard/posts/:slug") view={Lazy::<PostEditorRoute>::new()} ssr=SsrMode::Async />
    }
    .into_inner()
    // One route, as `--cfg erase_components` (release builds) makes the
    // return type: `AnyNestedRoute`, which several routes are not.
    .into_any_nested_route()
}

/// A post as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostSummary {
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub author: String,
    /// Display date, e.g. `5 March 2026`.
    pub published_on: String,
}

/// A whole post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    pub slug: String,
    pub title: String,
    pub summary: String,
    /// Plain text, paragraphs separated by blank lines.
    pub body: String,
    pub author: String,
    pub published_on: String,
    /// Set when the post changed after it was published.
    pub updated_on: Option<String>,
}

/// One page of posts, newest first.
#[server(endpoint = "blog/list_posts", input = GetUrl)]
pub async fn list_posts(page: u32) -> Result<Paged<PostSummary>, AppError> {
    let request = crate::app::paging::PageRequest::page(page)?;
    db::list_posts(&crate::state::AppState::current().db, request).await
}

/// The post at `slug`, or `None`.
#[server(endpoint = "blog/get_post", input = GetUrl)]
pub async fn get_post(slug: String) -> Result<Option<Post>, AppError> {
    db::find_post(&crate::state::AppState::current().db, &slug).await
}

/// The newest posts, for the home page.
#[server(endpoint = "blog/latest_posts", input = GetUrl)]
pub async fn latest_posts() -> Result<Vec<PostSummary>, AppError> {
    db::latest_posts(&crate::state::AppState::current().db, 3).await
}

/// Posts whose title, summary or body contains `q`.
#[server(endpoint = "blog/search_posts", input = GetUrl)]
pub async fn search_posts(q: String) -> Result<Vec<PostSummary>, AppError> {
    let q = crate::app::search::checked(&q)?;
    let db = crate::state::AppState::current().db;
    db::search_posts(&db, &q, crate::app::search::RESULTS_PER_KIND).await
}

/// Pages of posts, by the raw `?page=` (checked before any request).
pub fn posts_query() -> Query<Option<String>, Paged<PostSummary>> {
    paged_query(|page| ListPosts { page }, cache::CLIENT).tagged(|_| tags_of(cache::posts()))
}

/// Posts by slug.
pub fn post_query() -> Query<String, Option<Post>> {
    Query::new(|slug| Call::Get(GetPost { slug }), cache::CLIENT)
        .tagged(|slug| tags_of(cache::post(slug)))
}

/// The newest posts.
pub fn latest_posts_query() -> Query<(), Vec<PostSummary>> {
    Query::new(|()| Call::Get(LatestPosts {}), cache::CLIENT).tagged(|()| tags_of(cache::posts()))
}

/// Posts found by query text; kept as long as the posts they show.
pub fn search_posts_query() -> Query<String, Vec<PostSummary>> {
    Query::new(|q| Call::Get(SearchPosts { q }), cache::CLIENT)
        .tagged(|_| tags_of(crate::app::search::cache::search()))
}

/// `/blog`: every post, newest first, nine to a page.
#[component]
pub fn BlogIndex() -> impl IntoView {
    let query = use_query_map();
    let posts = posts_query().resource(move || query.read().get("page"));

    view! {
        <Title text="Blog" />
        <Meta name="description" content="Notes on building fast, fresh web apps in Rust." />
        <header class="page-header">
            <h1>"Blog"</h1>
            <p class="lede">"Notes on caching, rendering and shipping fast web apps in Rust."</p>
        </header>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match posts.await.result {
                    Ok(paged) if paged.page > paged.total_pages() => view! { <NotFound /> }.into_any(),
                    Ok(paged) => {
                        let total_pages = paged.total_pages();
                        view! {
                            <PostList posts=paged.items />
                            <Pagination base="/blog" page=paged.page total_pages />
                        }
                            .into_any()
                    }
                    Err(error) => view! { <ErrorPage error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Cards linking to posts.
#[component]
pub fn PostList(posts: Vec<PostSummary>) -> impl IntoView {
    view! {
        <ul class="card-grid post-list">
            {posts
                .into_iter()
                .map(|post| {
                    view! {
                        <li class="card">
                            <p class="meta">{post.published_on} " · " {post.author}</p>
                            <h2 class="card-title">
                                <A href=format!("/blog/{}", post.slug)>{post.title}</A>
                            </h2>
                            <p>{post.summary}</p>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

/// `/blog/:slug`: one post; an unknown slug is a 404.
#[component]
pub fn PostPage() -> impl IntoView {
    let params = use_params_map();
    let post = post_query().resource(move || params.read().get("slug").unwrap_or_default());

    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match post.await.result {
                    Ok(Some(post)) => view! { <PostView post /> }.into_any(),
                    Ok(None) => view! { <NotFound /> }.into_any(),
                    Err(error) => view! { <ErrorPage error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn PostView(post: Post) -> impl IntoView {
    view! {
        <Title text=post.title.clone() />
        <Meta name="description" content=post.summary.clone() />
        <article class="post">
            <p class="meta">
                <A href="/blog">"← Blog"</A>
                " · "
                <time>{post.published_on}</time>
                " · "
                {post.author}
                {post.updated_on.map(|on| view! { " · updated " {on} })}
            </p>
            <h1>{post.title}</h1>
            <p class="lede">{post.summary}</p>
            <div class="prose">
                <Paragraphs text=post.body />
            </div>
        </article>
    }
}
