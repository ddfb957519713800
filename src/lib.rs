//! leptos-isr-starter: a Leptos 0.8 full-stack app whose every route says how it
//! is cached.
//!
//! The modules read top-down: each uses only those below it.
//!
//! - [`server`] (feature `ssr`): the composition root: the axum router and its
//!   layers, `run`, the CDN and fan-out adapters. Nothing imports it.
//! - [`app`]: the pages, one folder per feature, shared by server and browser.
//! - Below the features: [`state`] (what every server function gets),
//!   [`config`], [`db`], [`purge`] and [`signing`] (server only), [`tags`]
//!   and [`error`] (both halves).
//!
//! `layers_read_top_down` (below) fails on an import that goes up.

pub mod app;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod db;
pub mod error;
#[cfg(feature = "ssr")]
pub mod password;
#[cfg(feature = "ssr")]
pub mod purge;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod signing;
#[cfg(feature = "ssr")]
pub mod state;
pub mod tags;
#[cfg(feature = "ssr")]
pub mod throttle;

pub use error::{AppError, AppResult};

/// The browser entry point: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Readable panics in the browser console while developing; release builds
    // abort on panic and save the formatting code.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    #[cfg(feature = "split")]
    app::query::keep_in_main_module();
    wasm_bindgen_futures::spawn_local(async {
        app::lazy::before_hydration().await;
        leptos::mount::hydrate_body(app::App);
        // A marker for the browser tests (and for anyone debugging): the page is live.
        if let Some(root) = leptos::prelude::document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every `.rs` file under `dir`, with its text.
    fn sources(dir: &Path) -> Vec<(String, String)> {
        let mut found = vec![];
        for entry in std::fs::read_dir(dir).expect("a source folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                found.extend(sources(&path));
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("readable source");
                found.push((path.display().to_string(), text));
            }
        }
        found
    }

    /// The layers of the module docs: `server` is the composition root that
    /// nothing imports; the modules below the features import no feature.
    /// Read from the sources (doc comments aside), so a `use` added anywhere
    /// that points up fails here.
    #[test]
    fn layers_read_top_down() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let below = [
            "config.rs",
            "db.rs",
            "error.rs",
            "password.rs",
            "purge.rs",
            "signing.rs",
            "state.rs",
            "tags.rs",
            "throttle.rs",
        ];
        let mut wrong = vec![];
        for (path, text) in sources(&src) {
            let code = text.lines().filter(|l| !l.trim_start().starts_with("//"));
            let code: String = code.collect::<Vec<_>>().join("\n");
            let name = Path::new(&path).file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let in_app = path.contains("/src/app/");
            if in_app && code.contains("crate::server") {
                wrong.push(format!("{path} imports crate::server"));
            }
            if !in_app && below.contains(&name) && !path.contains("/src/server/") {
                for up in ["crate::app", "crate::server"] {
                    if code.contains(up) {
                        wrong.push(format!("{path} imports {up}"));
                    }
                }
            }
        }
        assert!(wrong.is_empty(), "imports that go up a layer:\n{}", wrong.join("\n"));
    }
}
