//! The server binary: everything is in `leptos_isr_starter::server`.

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    leptos_isr_starter::server::run().await
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The browser half is a library (`hydrate()` in lib.rs); there is no client binary.
}
