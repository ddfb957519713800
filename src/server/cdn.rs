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
//!
//! Only items that every CDN reads as exactly themselves are sent: tags and
//! paths that pass `cache::check_tag` and `cache::check_path` (no spaces,
//! which separate items in the headers, no quotes, no control characters, no
//! `*`). Others are dropped and logged. The VCL escapes what is left, so a tag
//! such as `a.b` bans `a.b` and not `axb` (a ban is a regular expression).

use std::time::Duration;

use isr_cache::{Purge, PurgeMode};

use super::cache::{check_path, check_tag};
pub use crate::config::{CdnSettings, Cloudflare, Fastly};
use crate::purge::Sending;

impl crate::purge::PurgeSink for Cdn {
    fn purge(&self, purge: &Purge) {
        Cdn::purge(self, purge);
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
    sending: Sending,
}

impl Cdn {
    pub fn new(settings: CdnSettings) -> Self {
        // Not `unwrap_or_default()`: the default client has no timeout, and
        // a purge to a CDN that never answers would be held for ever.
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client (its TLS backend) can be built");
        Self { settings, client, sending: Sending::new("the CDN") }
    }

    /// Sends what `purge` names to every CDN configured, in the background
    /// (failures are logged: the app's own cache is purged already). Items a
    /// CDN could read as more than themselves are left out (see the module docs).
    pub fn purge(&self, purge: &Purge) {
        let purge = &sendable(purge);
        let mut requests = self.varnish(purge);
        requests.extend(self.cloudflare(purge));
        requests.extend(self.fastly(purge));
        if requests.is_empty() {
            return;
        }
        self.sending.spawn(async move {
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
        if headers.iter().all(|(_, value)| value.is_empty()) {
            return Vec::new();
        }
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

/// `purge` without the items a CDN could read as more than themselves (in a
/// `Surrogate-Key` list, a Varnish ban, a Cloudflare prefix), each logged.
fn sendable(purge: &Purge) -> Purge {
    let keep = |items: &[String], check: fn(&str) -> Result<(), &'static str>| {
        items
            .iter()
            .filter(|item| match check(item) {
                Ok(()) => true,
                Err(why) => {
                    tracing::warn!(item = %item.escape_debug(), why, "not sent to the CDN");
                    false
                }
            })
            .cloned()
            .collect()
    };
    Purge {
        paths: keep(&purge.paths, check_path),
        prefixes: keep(&purge.prefixes, check_path),
        tags: keep(&purge.tags, check_tag),
        mode: purge.mode,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varnish_headers(purge: &Purge) -> Vec<(String, String)> {
        let cdn = Cdn::new(CdnSettings {
            varnish: vec!["http://127.0.0.1:6081".into()],
            ..CdnSettings::default()
        });
        let purge = sendable(purge);
        cdn.varnish(&purge)
            .into_iter()
            .map(|(_, request)| request.build().expect("a request"))
            .flat_map(|request| {
                request
                    .headers()
                    .iter()
                    .map(|(name, value)| {
                        (name.to_string(), value.to_str().unwrap_or_default().to_owned())
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Items that would split into several, or add to a ban, never leave.
    #[test]
    fn only_items_matched_literally_reach_varnish() {
        let purge = Purge {
            paths: vec!["/blog/a b".into(), "/blog/a.b".into(), "blog".into(), "/x\"\n".into()],
            prefixes: vec!["/".into(), "/*".into(), "".into()],
            tags: vec!["posts".into(), ".*".into(), "a|b".into(), "a b".into(), "x:y".into()],
            mode: PurgeMode::Hard,
        };
        let mut headers = varnish_headers(&purge);
        headers.sort();
        assert_eq!(
            headers,
            [
                ("surrogate-key".to_owned(), "posts x:y".to_owned()),
                ("x-purge-paths".to_owned(), "/blog/a.b".to_owned()),
                ("x-purge-prefixes".to_owned(), "/".to_owned()),
            ]
        );
        let cdn = Cdn::new(CdnSettings { varnish: vec!["http://v".into()], ..Default::default() });
        let nothing = Purge { tags: vec!["a|b".into()], ..Purge::default() };
        assert!(cdn.varnish(&sendable(&nothing)).is_empty(), "nothing left, nothing sent");
    }
}
