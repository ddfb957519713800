//! `/search?q=`: each feature's matches for the query (posts, products), each
//! loaded by the feature's own GET data function (see `Feature::search`).

pub mod cache;

use leptos::html::Input;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Route;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::{Lazy, SsrMode, path};

use crate::AppError;
use crate::app::components::{ErrorPage, Loading};
use crate::app::lazy::SearchRoute;
use crate::app::query::Query;
use crate::app::{Feature, feature_parts};

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 100;
/// Results per feature.
#[cfg(feature = "ssr")]
pub const RESULTS_PER_KIND: i64 = 20;

/// Search in the site (see `app::FEATURES`).
pub const FEATURE: Feature = Feature {
    nav: Some(("Search", "/search")),
    #[cfg(feature = "ssr")]
    cache: cache::routes,
    ..Feature::NONE
};

/// The search page.
#[component(transparent)]
pub fn Routes() -> impl leptos_router::MatchNestedRoutes + Clone {
    view! { <Route path=path!("/search") view={Lazy::<SearchRoute>::new()} ssr=SsrMode::Async /> }
        .into_inner()
}

/// The query text, trimmed, or why it cannot be searched for. For the page
/// and for every feature's search data function alike.
pub fn checked(q: &str) -> Result<String, AppError> {
    let q = q.trim();
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::BadRequest(format!(
            "search queries are limited to {MAX_QUERY_CHARS} characters"
        )));
    }
    Ok(q.to_owned())
}

/// One feature's results for `q`: a section headed `label (count)` when
/// there are any, a line saying there are none otherwise.
pub fn results<T>(
    result: Result<Vec<T>, AppError>,
    label: &'static str,
    q: &str,
    view: impl FnOnce(Vec<T>) -> AnyView,
) -> AnyView {
    match result {
        Ok(found) if found.is_empty() => {
            let none = format!("No {} match “{q}”.", label.to_lowercase());
            view! { <p class="muted">{none}</p> }.into_any()
        }
        Ok(found) => view! {
            <section class="section">
                <h2>{format!("{label} ({})", found.len())}</h2>
                {view(found)}
            </section>
        }
        .into_any(),
        Err(error) => view! { <ErrorPage error /> }.into_any(),
    }
}

/// A feature's section of the search page: its `query` (over its own GET
/// data function) for `q`, shown with `list` under `label (count)`.
pub fn section<T>(
    q: String,
    label: &'static str,
    query: Query<String, Vec<T>>,
    list: fn(Vec<T>) -> AnyView,
) -> AnyView
where
    T: Clone + serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    let asked = q.clone();
    let found = query.resource(move || asked.clone());
    view! {
        <Suspense fallback=Loading>
            {move || {
                let q = q.clone();
                Suspend::new(async move { results(found.await.result, label, &q, list) })
            }}
        </Suspense>
    }
    .into_any()
}

/// `/search?q=`.
#[component]
pub fn SearchPage() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();

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
    let results = move || match checked(&q()) {
        Ok(q) if q.is_empty() => {
            view! { <p class="muted">"Type a word, such as “cache” or “keyboard”."</p> }.into_any()
        }
        Ok(q) => feature_parts!(search: fn(String) -> AnyView)
            .map(|section| section(q.clone()))
            .collect_view()
            .into_any(),
        Err(error) => view! { <ErrorPage error /> }.into_any(),
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
                    placeholder="Search the site"
                    aria-label="Search"
                    maxlength=MAX_QUERY_CHARS
                    value=q
                    prop:value=q
                />
                <button type="submit" class="button">"Search"</button>
            </form>
        </header>
        {results}
    }
}
