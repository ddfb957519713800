//! The baseline of `scripts/bench-isr`: one file served by axum with
//! tower-http's `ServeFile`, on the same runtime as the app, for every path.
//!
//!     cargo run --release --features ssr --example bench_serve_file -- FILE [ADDR]

use anyhow::Context as _;
use axum::Router;
use tower_http::services::ServeFile;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let file = args.next().context("usage: bench_serve_file FILE [ADDR]")?;
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3203".to_owned());
    let app = Router::new().fallback_service(ServeFile::new(file));
    let listener =
        tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("binding {addr}"))?;
    axum::serve(listener, app).await?;
    Ok(())
}
