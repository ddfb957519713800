//! Purges reach the CDN in front of the app:
//!
//! - **Varnish**: `BAN` requests, which `deploy/varnish/default.vcl` turns into
//!   bans by tag (`Surrogate-Key`), path and prefix. `CDN_VARNISH_URLS`.
//! - **Cloudflare**: the zone's purge API, by tag (`Cache-Tag`) and by prefix
//!   (a path purge is a prefix purge there: it also drops longer paths);
//!   purging `/` purges everything. `CLOUDFLARE_ZONE_ID`, `CLOUDFLARE_API_TOKEN`.
//! - **Fastly**: the service's purge API, by surrogate key, soft when the purge
//!   is soft; purging `/` purges all. Fastly has no prefix purge, so paths and
//!   other prefixes are left to their TTL there. `FASTLY_SERVICE_ID`,
//!   `FASTLY_API_TOKEN`.
//!
//! Every instance purges what it purges, its own purges and those it hears of
//! from the others (see `fanout`). One purge would do if all instances purged
//! at the same moment; they do not, and a CDN that refetches a page from an
//! instance that has not purged yet would store the old page again. The purge
//! sent once that instance has purged removes it: the CDN ends up right.
//!
//! Varnish bans and Cloudflare purges are hard: a soft purge reaches them as a
//! hard one (the next visitor there waits for a render).

use std::time::Duration;

use isr_cache::{Purge, PurgeMode};

/// Where to send purges (from `Config`).
#[derive(Clone, Default)]
pub struct CdnSettings {
    /// Varnish servers' base URLs.
    pub varnish: Vec<String>,
    pub cloudflare: Option<Cloudflare>,
    pub fastly: Option<Fastly>,
}

/// A Cloudflare zone.
#[derive(Clone)]
pub struct Cloudflare {
    /// `https://api.cloudflare.com/client/v4` (another for tests).
    pub api_url: String,
    pub zone_id: String,
    pub token: String,
    /// The site's host, which Cloudflare's prefixes start with.
    pub host: String,
}

/// A Fastly service.
#[derive(Clone)]
pub struct Fastly {
    /// `https://api.fastly.com` (another for tests).
    pub api_url: String,
    pub service_id: String,
    pub token: String,
}

impl std::fmt::Debug for CdnSettings {
    // By hand: the API tokens never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CdnSettings")
            .field("varnish", &self.varnish)
            .field("cloudflare_zone", &self.cloudflare.as_ref().map(|c| &c.zone_id))
            .field("fastly_service", &self.fastly.as_ref().map(|f| &f.service_id))
            .finish()
    }
}

/// Cloudflare takes at most 30 tags or prefixes per call.
const CLOUDFLARE_BATCH: usize = 30;
/// Fastly takes at most 256 surrogate keys per call.
const FASTLY_BATCH: usize = 256;

/// Sends purges to the CDN in front; cheap to clone.
#[derive(Clone)]
pub struct Cdn {
    settings: CdnSettings,
    client: reqwest::Client,
}

impl Cdn {
    pub fn new(settings: CdnSettings) -> Self {
        let client =
            reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
        Self { settings, client }
    }

    /// Sends what `purge` names to every CDN configured, in the background
    /// (failures are logged: the app's own cache is purged already).
    pub fn purge(&self, purge: &Purge) {
        let mut requests = self.varnish(purge);
        requests.extend(self.cloudflare(purge));
        requests.extend(self.fastly(purge));
        if requests.is_empty() {
            return;
        }
        tokio::spawn(async move {
            for (cdn, request) in requests {
                match request.send().await {
                    Ok(response) if response.status().is_success() => {}
                    Ok(response) => {
                        tracing::warn!(cdn, status = %response.status(), "the CDN refused a purge");
                    }
                    Err(error) => tracing::warn!(cdn, %error, "could not send a purge to the CDN"),
                }
            }
        });
    }

    fn varnish(&self, purge: &Purge) -> Vec<(&'static str, reqwest::RequestBuilder)> {
        let headers = [
            ("Surrogate-Key", purge.tags.join(" ")),
            ("X-Purge-Paths", purge.paths.join(" ")),
            ("X-Purge-Prefixes", purge.prefixes.join(" ")),
        ];
        let ban = reqwest::Method::from_bytes(b"BAN").expect("BAN is a valid method name");
        self.settings
            .varnish
            .iter()
            .map(|url| {
                let mut request = self.client.request(ban.clone(), url);
                for (name, value) in headers.iter().filter(|(_, value)| !value.is_empty()) {
                    request = request.header(*name, value);
                }
                ("varnish", request)
            })
            .collect()
    }

    fn cloudflare(&self, purge: &Purge) -> Vec<(&'static str, reqwest::RequestBuilder)> {
        let Some(zone) = &self.settings.cloudflare else { return Vec::new() };
        let call = |body: serde_json::Value| {
            let url = format!("{}/zones/{}/purge_cache", zone.api_url, zone.zone_id);
            ("cloudflare", self.client.post(url).bearer_auth(&zone.token).json(&body))
        };
        if purges_everything(purge) {
            return vec![call(serde_json::json!({ "purge_everything": true }))];
        }
        let prefixes: Vec<String> = purge
            .paths
            .iter()
            .chain(&purge.prefixes)
            .map(|path| format!("{}{path}", zone.host))
            .collect();
        let tags =
            purge.tags.chunks(CLOUDFLARE_BATCH).map(|tags| serde_json::json!({ "tags": tags }));
        let prefixes = prefixes
            .chunks(CLOUDFLARE_BATCH)
            .map(|prefixes| serde_json::json!({ "prefixes": prefixes }));
        tags.chain(prefixes).map(call).collect()
    }

    fn fastly(&self, purge: &Purge) -> Vec<(&'static str, reqwest::RequestBuilder)> {
        let Some(service) = &self.settings.fastly else { return Vec::new() };
        let base = format!("{}/service/{}", service.api_url, service.service_id);
        let authed = |request: reqwest::RequestBuilder| {
            let request = request.header("Fastly-Key", &service.token);
            if purge.mode == PurgeMode::Soft {
                request.header("Fastly-Soft-Purge", "1")
            } else {
                request
            }
        };
        if purges_everything(purge) {
            return vec![("fastly", authed(self.client.post(format!("{base}/purge_all"))))];
        }
        purge
            .tags
            .chunks(FASTLY_BATCH)
            .map(|keys| {
                let request = self
                    .client
                    .post(format!("{base}/purge"))
                    .header("Surrogate-Key", keys.join(" "));
                ("fastly", authed(request))
            })
            .collect()
    }
}

/// A purge of every path.
fn purges_everything(purge: &Purge) -> bool {
    purge.prefixes.iter().any(|prefix| prefix == "/")
}
