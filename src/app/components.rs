//! Components every feature uses: the 404 and error pages, pagination,
//! paragraphs of plain text, prices.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::AppError;

pub use crate::error::set_status;

/// The 404 page, with status 404.
#[component]
pub fn NotFound() -> impl IntoView {
    set_status(http::StatusCode::NOT_FOUND);
    view! {
        <Title text="Page not found" />
        <section class="error-page">
            <p class="error-code">"404"</p>
            <h1>"Page not found"</h1>
            <p>"The page you asked for does not exist, or it has moved."</p>
            <p>
                <A href="/">"Go to the home page"</A>
                " or "
                <A href="/search">"search the site"</A>
                "."
            </p>
        </section>
    }
}

/// An error page with the status that `error` maps to.
#[component]
pub fn ErrorPage(error: AppError) -> impl IntoView {
    if error == AppError::NotFound {
        return view! { <NotFound /> }.into_any();
    }
    set_status(error.status());
    let title = match error.status().as_u16() {
        400 => "That request did not make sense",
        401 => "Please sign in",
        403 => "Not allowed",
        _ => "Something went wrong",
    };
    view! {
        <Title text=title />
        <section class="error-page">
            <p class="error-code">{error.status().as_u16()}</p>
            <h1>{title}</h1>
            <p>{error.to_string()}</p>
            <p><A href="/">"Go to the home page"</A></p>
        </section>
    }
    .into_any()
}

/// Shown while data loads during client-side navigation.
#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading" aria-busy="true">"Loading…"</p> }
}

/// Previous / next links and the current position in a paged list.
#[component]
pub fn Pagination(
    /// The list's path, e.g. `/blog`.
    base: &'static str,
    /// Current 1-based page.
    page: u32,
    /// Number of pages.
    total_pages: u32,
) -> impl IntoView {
    let href = move |page: u32| {
        if page <= 1 { base.to_owned() } else { format!("{base}?page={page}") }
    };
    view! {
        <nav class="pagination" aria-label="Pagination">
            {(page > 1)
                .then(|| view! { <A href=href(page - 1) attr:rel="prev" attr:class="button secondary">"← Newer"</A> })}
            <span class="pagination-position">{format!("Page {page} of {total_pages}")}</span>
            {(page < total_pages)
                .then(|| view! { <A href=href(page + 1) attr:rel="next" attr:class="button secondary">"Older →"</A> })}
        </nav>
    }
}

/// Plain text whose paragraphs are separated by blank lines, as `<p>`s.
/// Text, never HTML: what an editor types cannot inject markup.
#[component]
pub fn Paragraphs(text: String) -> impl IntoView {
    text.split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| view! { <p>{p.to_owned()}</p> })
        .collect_view()
}

/// `2900` → `$29.00`.
pub fn format_price(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}${}.{:02}", cents / 100, cents % 100)
}

/// A form field that must hold a whole number within `range`, or a 400 that
/// names the field (`"The stock must be a whole number from 0 to 1000000."`).
#[cfg(feature = "ssr")]
pub fn whole_number(
    field: &str,
    text: &str,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, AppError> {
    text.trim().parse::<i64>().ok().filter(|n| range.contains(n)).ok_or_else(|| {
        AppError::BadRequest(format!(
            "The {field} must be a whole number from {} to {}.",
            range.start(),
            range.end()
        ))
    })
}

/// Reads `?page=` for a paged list page (absent means 1); a 400 error when it is not a page number.
pub fn page_from_query(raw: Option<String>) -> Result<u32, AppError> {
    crate::app::paging::PageRequest::parse(raw.as_deref(), None).map(|request| request.page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices() {
        assert_eq!(format_price(2900), "$29.00");
        assert_eq!(format_price(5), "$0.05");
        assert_eq!(format_price(-150), "-$1.50");
    }
}
