//! A caching reverse proxy: [`IsrLayer`] in front of any HTTP origin.
//!
//! ```sh
//! cargo run --release -p isr-cache --features server --example reverse_proxy -- \
//!   127.0.0.1:8080 http://127.0.0.1:8000
//! ```
//!
//! Every request is forwarded to the origin, and what the origin's headers
//! allow is stored: the layer runs with [`IsrConfig::http_cache`], the
//! behaviour RFC 9111 asks of a shared cache (a client's `no-cache` is
//! honoured, the query as sent is the key, any status with a lifetime is
//! stored). With `--app-settings`, it runs with [`IsrConfig::new`] instead,
//! an app's cache, to see what those settings change. `scripts/cache-tests`
//! runs the public HTTP cache test suite against it.
//!
//! The forwarding client is hyper-util's: the one hyper itself maintains,
//! and already in the workspace (reqwest is built on it) — a proxy needs no
//! redirects, cookies or decompression, which reqwest would add.

use std::convert::Infallible;
use std::error::Error;

use axum::body::Body;
use http::uri::{Authority, Scheme};
use http::{Request, Response, StatusCode, Uri, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use isr_cache::{IsrCache, IsrConfig, IsrLayer};
use tower::Layer as _;

type Failure = Box<dyn Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let app_settings = args.iter().any(|arg| arg == "--app-settings");
    let mut positional = args.iter().filter(|arg| !arg.starts_with("--"));
    let (Some(listen), Some(origin)) = (positional.next(), positional.next()) else {
        return Err("usage: reverse_proxy [--app-settings] LISTEN_ADDRESS ORIGIN_URL \
                    (e.g. 127.0.0.1:8080 http://127.0.0.1:8000)"
            .into());
    };
    let origin = Origin::parse(origin)?;
    let settings = if app_settings { IsrConfig::new() } else { IsrConfig::http_cache() };
    let cache = IsrCache::new(settings.canonical_host(origin.authority.as_str()));
    let proxy = IsrLayer::new(cache).layer(tower::service_fn(move |request| {
        let origin = origin.clone();
        async move { Ok::<_, Infallible>(origin.forward(request).await) }
    }));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("reverse_proxy listening on http://{}", listener.local_addr()?);
    let app = axum::Router::new().fallback_service(proxy);
    axum::serve(listener, app).await?;
    Ok(())
}

/// Where requests go, and the client that takes them there.
#[derive(Clone)]
struct Origin {
    scheme: Scheme,
    authority: Authority,
    client: Client<HttpConnector, Body>,
}

impl Origin {
    fn parse(url: &str) -> Result<Self, Failure> {
        let uri: Uri = url.parse()?;
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            return Err(format!("the origin must be an absolute http URL, not {url:?}").into());
        };
        if *scheme != Scheme::HTTP {
            return Err("only http origins (a proxy in front of a local server)".into());
        }
        let client = Client::builder(TokioExecutor::new()).build_http();
        Ok(Self { scheme: scheme.clone(), authority: authority.clone(), client })
    }

    /// The request, sent to the origin as it came but for its target and
    /// `Host`; a `502` when the origin cannot be reached.
    async fn forward(&self, mut request: Request<Body>) -> Response<Body> {
        let path_and_query = request.uri().path_and_query().cloned();
        let mut target =
            Uri::builder().scheme(self.scheme.clone()).authority(self.authority.clone());
        if let Some(path_and_query) = path_and_query {
            target = target.path_and_query(path_and_query);
        }
        match target.build() {
            Ok(uri) => *request.uri_mut() = uri,
            Err(_) => return status(StatusCode::BAD_REQUEST),
        }
        if let Ok(host) = self.authority.as_str().parse() {
            request.headers_mut().insert(header::HOST, host);
        }
        match self.client.request(request).await {
            Ok(response) => response.map(Body::new),
            Err(_) => status(StatusCode::BAD_GATEWAY),
        }
    }
}

fn status(code: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = code;
    response
}
