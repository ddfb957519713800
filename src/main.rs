//! The server binary: everything is in `leptos_isr_starter::server`.

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1).peekable();
    if args.peek().is_some_and(|first| first == "prerender") {
        // Static generation: `leptos-isr-starter prerender [OUT] …`.
        return leptos_isr_starter::server::prerender::main(args.skip(1)).await;
    }
    if args.peek().is_some_and(|first| first == "create-admin") {
        // An administrator: `leptos-isr-starter create-admin EMAIL`.
        return leptos_isr_starter::server::admin::main(args.skip(1)).await;
    }
    leptos_isr_starter::server::run().await
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The browser half is a library (`hydrate()` in lib.rs); there is no client binary.
}
