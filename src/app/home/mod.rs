//! `/`: the marketing home page: a hero, then each feature's home section
//! (the latest posts, some products), each loading its own data.

pub mod cache;

use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::components::{A, Route};
use leptos_router::{Lazy, SsrMode, path};

use crate::app::components::{ErrorPage, Loading};
use crate::app::lazy::HomeRoute;
use crate::app::query::Query;
use crate::app::{Feature, HomeSection, feature_parts};

/// The home page in the site (see `app::FEATURES`).
pub const FEATURE: Feature = Feature {
    #[cfg(feature = "ssr")]
    cache: cache::routes,
    ..Feature::NONE
};

/// The home page's route.
#[component(transparent)]
pub fn Routes() -> impl leptos_router::MatchNestedRoutes + Clone {
    view! { <Route path=path!("/") view={Lazy::<HomeRoute>::new()} ssr=SsrMode::Async /> }
        .into_inner()
}

/// A feature's section of the home page: `title`, a link to more, and what
/// its `query` (over its own GET data function) loads, shown with `list`.
pub fn section<T>(
    title: &'static str,
    (more, href): (&'static str, &'static str),
    query: Query<(), Vec<T>>,
    list: fn(Vec<T>) -> AnyView,
) -> AnyView
where
    T: Clone + serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    let items = query.resource(|| ());
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match items.await.result {
                    Ok(items) => view! {
                        <section class="section">
                            <div class="section-header">
                                <h2>{title}</h2>
                                <A href=href>{more}</A>
                            </div>
                            {list(items)}
                        </section>
                    }
                    .into_any(),
                    Err(error) => view! { <ErrorPage error /> }.into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

/// `/`.
#[component]
pub fn HomePage() -> impl IntoView {
    let sections = || feature_parts!(home: HomeSection);
    let actions = sections().enumerate().map(|(i, section)| {
        let (label, href) = section.cta;
        let class = if i == 0 { "button" } else { "button secondary" };
        view! { <A href=href attr:class=class>{label}</A> }
    });

    view! {
        <Title text="" />
        <Meta name="description" content="A Leptos starter that is fast like a static site and fresh like a dynamic one." />
        <section class="hero">
            <h1>"Fast like a static site. Fresh like a dynamic one."</h1>
            <p class="lede">
                "Every page here is rendered once, served from cache to everyone, regenerated in the background when it ages, and purged the moment its data changes."
            </p>
            <p class="hero-actions">{actions.collect_view()}</p>
        </section>
        {sections().map(|section| (section.view)()).collect_view()}
    }
}
