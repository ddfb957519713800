//! The baseline of `scripts/bench-isr`: one file served by axum with
//! tower-http's `ServeFile`, on the same runtime as the app, for every path.
//!
//!     cargo run --release --features ssr --example bench_serve_file -- FILE [ADDR]

use anyhow::Context as _;
use axum::Router;
use axum::serve::ListenerExt as _;
use tower_http::services::ServeFile;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let file = args.next().context("usage: bench_serve_file FILE [ADDR]")?;
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3203".to_owned());
    let app = Router::new().fallback_service(ServeFile::new(file));
    let listener =
        tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("binding {addr}"))?;
    // As the app's server does: without it, a body written after its head
    // waits for the client's delayed ACK (Nagle), 40 ms a response.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}
