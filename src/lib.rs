//! leptos-isr-starter: a Leptos 0.8 full-stack app whose every route says how it
//! is cached.
//!
//! - [`app`]: the pages, one folder per feature, shared by server and browser.
//! - [`server`] (feature `ssr`): axum wiring, configuration, database.
//! - [`error`]: the one error type both halves speak.

pub mod app;
pub mod error;
#[cfg(feature = "ssr")]
pub mod server;

pub use error::{AppError, AppResult};

/// The browser entry point: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Readable panics in the browser console while developing; release builds
    // abort on panic and save the formatting code.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // A marker for the browser tests (and for anyone debugging): the page is live.
    if let Some(root) = leptos::prelude::document().document_element() {
        let _ = root.set_attribute("data-hydrated", "true");
    }
}
