//! `/landing/:campaign`: marketing landing pages, one per campaign row.

pub mod cache;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod seed;

pub use cache::tags;

use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::components::{A, Route};
use leptos_router::hooks::use_params_map;
use leptos_router::{Lazy, SsrMode, path};
use serde::{Deserialize, Serialize};
use server_fn::codec::GetUrl;

use crate::AppError;
use crate::app::Feature;
use crate::app::components::{ErrorPage, Loading, NotFound, Paragraphs};
use crate::app::lazy::LandingRoute;
use crate::app::query::{Call, Query, tags_of};

/// Landing pages in the site (see `app::FEATURES`).
pub const FEATURE: Feature = Feature {
    #[cfg(feature = "ssr")]
    cache: cache::routes,
    #[cfg(feature = "ssr")]
    seed: Some(|conn| Box::pin(seed::seed(conn))),
    #[cfg(feature = "ssr")]
    prerender: Some(|db| Box::pin(cache::prerender(db))),
    ..Feature::NONE
};

/// The landing pages.
#[component(transparent)]
pub fn Routes() -> impl leptos_router::MatchNestedRoutes + Clone {
    view! { <Route path=path!("/landing/:campaign") view={Lazy::<LandingRoute>::new()} ssr=SsrMode::Async /> }
        .into_inner()
}

/// A campaign's landing page content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    pub slug: String,
    pub headline: String,
    pub body: String,
    pub cta_label: String,
    pub cta_href: String,
}

/// Whether `href` may be a campaign's button: a path on this site (one `/`,
/// then no `//`-style host, backslash, space or control character) or an
/// `https://` URL. Anything else (`javascript:`, `data:`, `http:`, `//evil`)
/// is refused when seeded, and never rendered as a link.
pub fn safe_href(href: &str) -> bool {
    let visible = !href.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\');
    let path = href.starts_with('/') && !href.starts_with("//");
    let https = href
        .strip_prefix("https://")
        .and_then(|rest| rest.split(['/', '?', '#']).next())
        .is_some_and(|host| !host.is_empty() && !host.contains('@'));
    visible && (path || https)
}

/// The campaign at `slug`, or `None`.
#[server(endpoint = "landing/get_campaign", input = GetUrl)]
pub async fn get_campaign(slug: String) -> Result<Option<Campaign>, AppError> {
    db::find_campaign(&crate::state::AppState::current().db, &slug).await
}

/// Campaigns by slug.
pub fn campaign_query() -> Query<String, Option<Campaign>> {
    Query::new(|slug| Call::Get(GetCampaign { slug }), cache::CLIENT)
        .tagged(|slug| tags_of(cache::campaign(slug)))
}

/// `/landing/:campaign`; an unknown campaign is a 404.
#[component]
pub fn LandingPage() -> impl IntoView {
    let params = use_params_map();
    let campaign =
        campaign_query().resource(move || params.read().get("campaign").unwrap_or_default());

    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match campaign.await.result {
                    Ok(Some(campaign)) => view! {
                        <Title text=campaign.headline.clone() />
                        <Meta name="description" content=campaign.headline.clone() />
                        <section class="hero landing">
                            <p class="eyebrow">"Campaign"</p>
                            <h1>{campaign.headline}</h1>
                            <div class="prose"><Paragraphs text=campaign.body /></div>
                            <p class="hero-actions">
                                <A href=campaign.cta_href attr:class="button">{campaign.cta_label}</A>
                            </p>
                        </section>
                    }
                    .into_any(),
                    Ok(None) => view! { <NotFound /> }.into_any(),
                    Err(error) => view! { <ErrorPage error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
