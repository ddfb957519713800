//! Purges reach the CDN in front of the app: Varnish, through `BAN` requests
//! that `deploy/varnish/default.vcl` turns into bans by tag, path and prefix.
//!
//! Configured with `CDN_VARNISH_URLS` (comma-separated, e.g.
//! `http://127.0.0.1:6081`); unset, there is nothing to tell.
//!
//! Every instance bans what it purges, its own purges and those it hears of
//! from the others (see `fanout`). One ban would do if all instances purged at
//! the same moment; they do not, and a CDN that refetches a page from an
//! instance that has not purged yet would store the old page again. The ban
//! sent once that instance has purged removes it: the CDN ends up right.
//!
//! Varnish bans are hard: a soft purge reaches the CDN as a hard one (the next
//! visitor there waits for a render).

use std::time::Duration;

use isr_cache::Purge;

/// Sends purges to the CDN in front; cheap to clone.
#[derive(Clone)]
pub struct Cdn {
    varnish: Vec<String>,
    client: reqwest::Client,
}

impl Cdn {
    /// Bans on the Varnish servers at `varnish` (base URLs).
    pub fn new(varnish: Vec<String>) -> Self {
        let client =
            reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
        Self { varnish, client }
    }

    /// Bans what `purge` names on every Varnish server, in the background
    /// (failures are logged: the app's own cache is purged already).
    pub fn purge(&self, purge: &Purge) {
        if self.varnish.is_empty() {
            return;
        }
        let headers = [
            ("Surrogate-Key", purge.tags.join(" ")),
            ("X-Purge-Paths", purge.paths.join(" ")),
            ("X-Purge-Prefixes", purge.prefixes.join(" ")),
        ];
        for url in &self.varnish {
            let mut request = self.client.request(ban(), url);
            for (name, value) in headers.iter().filter(|(_, value)| !value.is_empty()) {
                request = request.header(*name, value);
            }
            let url = url.clone();
            tokio::spawn(async move {
                match request.send().await {
                    Ok(response) if response.status().is_success() => {}
                    Ok(response) => {
                        tracing::warn!(%url, status = %response.status(), "the CDN refused a ban");
                    }
                    Err(error) => tracing::warn!(%url, %error, "could not send a ban to the CDN"),
                }
            });
        }
    }
}

fn ban() -> reqwest::Method {
    reqwest::Method::from_bytes(b"BAN").expect("BAN is a valid method name")
}
