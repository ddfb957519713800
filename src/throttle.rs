//! The sign-in throttle: after a few failures, an account, or a client
//! address, must wait before its next attempt, and the wait doubles with each
//! failure after that (1 s, 2 s, 4 s, … up to [`MAX_DELAY`]).
//!
//! - **Per account and per address.** A guesser who tries many passwords on
//!   one account from many addresses is slowed by the account's count; one
//!   who tries one password on many accounts from one address, by the
//!   address's. An address gets more free failures than an account: many
//!   people can share one (an office, a mobile carrier's NAT).
//! - **The same for every email.** The account's count is kept for any email
//!   asked, whether or not an account has it, and a throttled attempt is
//!   refused before the database is asked for the account: the answer and
//!   its timing say nothing about which accounts exist. A throttled attempt
//!   is refused even with the right password, which is what makes guessing
//!   slow.
//! - **In the database**, so every instance of a fleet shares the counts;
//!   keyed by an HMAC of the email or address (under `SESSION_SECRET`), so
//!   the table holds neither. A count lapses after [`WINDOW`] without
//!   failures; such rows are pruned (at most once a minute per instance, on
//!   a failure), so the table holds only the last hour's failures.
//! - A success clears the account's count, not the address's: an attacker
//!   with an account of their own could otherwise reset their address
//!   between guesses.
//! - **Refused cheaply.** Each instance mirrors the waits it has seen (its
//!   own failures', and those it read from the database) in memory, bounded:
//!   a blocked attempt is refused without a query, and a blocked address
//!   before its request reaches the app at all ([`refuse_blocked`]).
//! - **Answered slowly.** A refusal is sent after the rest of the wait, or a
//!   second if that is less ([`TARPIT`]): a client that asks again the moment
//!   it is answered gets one answer a second per connection, not thousands
//!   (measured: a 64-connection flood answered at 33,900 refusals a second
//!   took 69% of the cores from cached pages). A held refusal costs a timer
//!   and a connection, which `MAX_CONNECTIONS` bounds.
//! - The client's address is the connection's peer, or, behind
//!   `TRUSTED_PROXY_HOPS` proxies, the address the outermost of them saw
//!   ([`client_address`]); never a header a client could simply make up.
//!
//! (Why not a rate-limit crate such as `governor` or `tower_governor`: they
//! count requests in memory, per process; this counts failures, shares them
//! across a fleet, and must answer the same for accounts that do not exist.)

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use http::{Extensions, HeaderMap, Method};

use crate::config::Config;
use crate::db::Db;
use crate::state::AppState;
use crate::{AppError, AppResult};

/// Failures of one account before it must wait.
pub const ACCOUNT_FREE_FAILURES: i64 = 5;
/// Failures from one address before it must wait.
pub const ADDRESS_FREE_FAILURES: i64 = 20;
/// The first wait; each failure after it doubles it.
pub const FIRST_DELAY: Duration = Duration::from_secs(1);
/// The longest wait.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Failures older than this are forgotten.
pub const WINDOW: Duration = Duration::from_secs(60 * 60);
/// The longest a refusal is held before it is sent.
pub const TARPIT: Duration = Duration::from_secs(1);

/// The waits an instance mirrors in memory at most (each a key of 60 bytes
/// and a time): past it, the longest-unused are forgotten, and their next
/// attempt asks the database.
const MIRRORED: u64 = 100_000;

/// One instance's throttle: the database's counts, and the waits it has seen
/// mirrored in memory. Cheap to clone; clones share the mirror.
#[derive(Clone)]
pub struct Throttle {
    /// Key to the end of its wait, in unix milliseconds.
    blocked: moka::sync::Cache<String, i64>,
}

impl Default for Throttle {
    fn default() -> Self {
        let blocked =
            moka::sync::Cache::builder().max_capacity(MIRRORED).time_to_live(MAX_DELAY).build();
        Self { blocked }
    }
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle").field("mirrored", &self.blocked.entry_count()).finish()
    }
}

/// Who a sign-in attempt counts against: the keys of its account and of its
/// client's address.
pub struct Attempt {
    account: String,
    address: String,
    /// For the log: a short, stable hash of the email, and the address.
    pub email_hash: String,
    pub client: String,
}

impl Attempt {
    /// The attempt of `client` (an address, or `unknown`) on `email` (already
    /// normalised).
    pub fn new(config: &Config, email: &str, client: Option<IpAddr>) -> Self {
        let client = client_name(client);
        let account = key(config, "account", email);
        let address = key(config, "address", &client);
        let email_hash = account["account:".len()..].chars().take(12).collect();
        Self { account, address, email_hash, client }
    }
}

/// A client as its throttle row and the log name it: its address, or
/// `unknown` (a request with no peer, as in-process tests send).
fn client_name(client: Option<IpAddr>) -> String {
    client.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

/// The row of `value` (an email or an address) of `kind`: an HMAC under the
/// session key, so the table holds neither.
fn key(config: &Config, kind: &str, value: &str) -> String {
    format!("{kind}:{}", config.session_key.sign("sign-in-throttle", &format!("{kind}:{value}")))
}

impl Throttle {
    /// How long the attempt must wait before it may be checked; `None`: it
    /// may be checked now.
    pub async fn wait(&self, db: &Db, attempt: &Attempt) -> AppResult<Option<Duration>> {
        let now = now_millis();
        let mirrored = [&attempt.account, &attempt.address]
            .into_iter()
            .filter_map(|key| self.blocked.get(key))
            .max();
        if let Some(wait) = mirrored.and_then(|until| left(until, now)) {
            return Ok(Some(wait));
        }
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT key, blocked_until FROM sign_in_throttle
             WHERE (key = $1 OR key = $2) AND blocked_until > $3",
        )
        .bind(&attempt.account)
        .bind(&attempt.address)
        .bind(now)
        .fetch_all(db)
        .await?;
        let mut until = 0;
        for (key, blocked_until) in rows {
            // Another instance's wait: refused here without a query too.
            self.blocked.insert(key, blocked_until);
            until = until.max(blocked_until);
        }
        Ok(left(until, now))
    }

    /// Counts a failed attempt against its account and address; how many
    /// failures the account has now.
    pub async fn failed(&self, db: &Db, attempt: &Attempt) -> AppResult<i64> {
        let now = now_millis();
        prune(db, now).await?;
        let account = self.count(db, &attempt.account, ACCOUNT_FREE_FAILURES, now).await?;
        self.count(db, &attempt.address, ADDRESS_FREE_FAILURES, now).await?;
        Ok(account)
    }

    /// Forgets the account's failures (a success; its address's stay).
    pub async fn succeeded(&self, db: &Db, attempt: &Attempt) -> AppResult<()> {
        self.blocked.invalidate(&attempt.account);
        sqlx::query("DELETE FROM sign_in_throttle WHERE key = $1")
            .bind(&attempt.account)
            .execute(db)
            .await?;
        Ok(())
    }

    /// One more failure for `key`; past `free` failures, a wait from now.
    async fn count(&self, db: &Db, key: &str, free: i64, now: i64) -> AppResult<i64> {
        let failures = add_failure(db, key, now).await?;
        if let Some(delay) = delay(failures, free) {
            let until = now + millis(delay);
            sqlx::query("UPDATE sign_in_throttle SET blocked_until = $2 WHERE key = $1")
                .bind(key)
                .bind(until)
                .execute(db)
                .await?;
            self.blocked.insert(key.to_owned(), until);
        }
        Ok(failures)
    }

    /// How long `client` must wait, by this instance's mirror alone.
    fn address_wait(&self, config: &Config, client: Option<IpAddr>) -> Option<Duration> {
        let until = self.blocked.get(&key(config, "address", &client_name(client)))?;
        left(until, now_millis())
    }
}

/// Refuses a POST to `sign_in` (the sign-in's path) from an address this
/// instance knows must wait, before the request reaches the app: no body
/// read, no server function, no query. Everything else goes on (the sign-in
/// itself checks the database).
pub async fn refuse_blocked(
    State((state, sign_in)): State<(AppState, &'static str)>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() == Method::POST && request.uri().path() == sign_in {
        let client = client_address(
            request.extensions(),
            request.headers(),
            state.config.trusted_proxy_hops,
        );
        if let Some(wait) = state.sign_in.throttle.address_wait(&state.config, client) {
            hold(wait).await;
            let mut response = throttled(wait).into_response();
            let retry_after = crate::error::retry_after_value(wait);
            response.headers_mut().insert(http::header::RETRY_AFTER, retry_after);
            return response;
        }
    }
    next.run(request).await
}

/// Holds a refusal for the rest of `wait`, at most [`TARPIT`].
pub async fn hold(wait: Duration) {
    tokio::time::sleep(wait.min(TARPIT)).await;
}

/// The answer to a throttled sign-in, which says how long to wait (and, in
/// a server function, sets `Retry-After`).
pub fn throttled(wait: Duration) -> AppError {
    let seconds = crate::error::whole_seconds(wait);
    let unit = if seconds == 1 { "second" } else { "seconds" };
    AppError::too_many_requests(
        wait,
        format!("Too many failed sign-ins. Please wait {seconds} {unit} before trying again."),
    )
}

/// One more failure for `key` in the database (a count that lapsed starts
/// again at one); how many it has now.
async fn add_failure(db: &Db, key: &str, now: i64) -> AppResult<i64> {
    let window_start = now - millis(WINDOW);
    let failures: i64 = sqlx::query_scalar(
        "INSERT INTO sign_in_throttle (key, failures, blocked_until, updated_at)
         VALUES ($1, 1, 0, $2)
         ON CONFLICT (key) DO UPDATE SET
           failures = CASE WHEN sign_in_throttle.updated_at < $3 THEN 1
                      ELSE sign_in_throttle.failures + 1 END,
           updated_at = $2
         RETURNING failures",
    )
    .bind(key)
    .bind(now)
    .bind(window_start)
    .fetch_one(db)
    .await?;
    Ok(failures)
}

/// The wait after `failures` failures, of which `free` cost none.
fn delay(failures: i64, free: i64) -> Option<Duration> {
    // Negative before the free failures are used up: no wait.
    let doublings = u32::try_from(failures.saturating_sub(free).min(31)).ok()?;
    let delay = FIRST_DELAY.saturating_mul(2u32.saturating_pow(doublings));
    Some(delay.min(MAX_DELAY))
}

/// Deletes the counts that have lapsed, at most once a minute.
async fn prune(db: &Db, now: i64) -> AppResult<()> {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let last = LAST.load(Ordering::Relaxed);
    if now - last < 60_000
        || LAST.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_err()
    {
        return Ok(());
    }
    sqlx::query("DELETE FROM sign_in_throttle WHERE updated_at < $1 AND blocked_until < $2")
        .bind(now - millis(WINDOW))
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}

/// The client of a request: the connection's peer, or, behind `hops`
/// trusted proxies, the address the outermost of them appended to
/// `X-Forwarded-For` (the `hops`-th from the right: what the client wrote
/// itself stands to the left of it and is never read).
pub fn client_address(extensions: &Extensions, headers: &HeaderMap, hops: usize) -> Option<IpAddr> {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(peer)| peer.ip());
    if hops == 0 {
        return peer;
    }
    forwarded_for(headers).into_iter().rev().nth(hops - 1).or(peer)
}

/// The addresses of every `X-Forwarded-For` header, in order; unreadable
/// entries are dropped.
fn forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|entry| entry.trim().parse().ok())
        .collect()
}

/// What is left at `now` of a wait that ends at `until` (unix milliseconds).
fn left(until: i64, now: i64) -> Option<Duration> {
    let left = until - now;
    (left > 0).then(|| Duration::from_millis(left.unsigned_abs()))
}

fn now_millis() -> i64 {
    millis(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default())
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_start_after_the_free_failures_and_double() {
        assert_eq!(delay(4, 5), None);
        assert_eq!(delay(5, 5), Some(Duration::from_secs(1)));
        assert_eq!(delay(6, 5), Some(Duration::from_secs(2)));
        assert_eq!(delay(8, 5), Some(Duration::from_secs(8)));
        assert_eq!(delay(30, 5), Some(MAX_DELAY));
        assert_eq!(delay(i64::MAX, 5), Some(MAX_DELAY));
    }

    fn request(peer: &str, forwarded: &[&str]) -> http::request::Parts {
        let mut request = http::Request::builder();
        for value in forwarded {
            request = request.header("x-forwarded-for", *value);
        }
        let (mut parts, ()) = request.body(()).expect("request").into_parts();
        parts.extensions.insert(ConnectInfo(peer.parse::<SocketAddr>().expect("address")));
        parts
    }

    #[test]
    fn the_client_is_the_peer_unless_proxies_are_trusted() {
        let parts = request("192.0.2.1:5000", &["198.51.100.7"]);
        assert_eq!(
            client_address(&parts.extensions, &parts.headers, 0),
            Some("192.0.2.1".parse().expect("ip"))
        );
        assert_eq!(
            client_address(&parts.extensions, &parts.headers, 1),
            Some("198.51.100.7".parse().expect("ip"))
        );
    }

    #[test]
    fn a_forged_forwarded_for_is_never_read() {
        // The client wrote 203.0.113.9 itself; the one trusted proxy appended
        // the address it saw.
        let parts = request("10.0.0.2:5000", &["203.0.113.9, 198.51.100.7"]);
        assert_eq!(
            client_address(&parts.extensions, &parts.headers, 1),
            Some("198.51.100.7".parse().expect("ip"))
        );
        let parts = request("10.0.0.2:5000", &["203.0.113.9", "198.51.100.7, 10.0.0.1"]);
        assert_eq!(
            client_address(&parts.extensions, &parts.headers, 2),
            Some("198.51.100.7".parse().expect("ip"))
        );
        // Fewer entries than proxies: the peer.
        let parts = request("10.0.0.2:5000", &[]);
        assert_eq!(
            client_address(&parts.extensions, &parts.headers, 1),
            Some("10.0.0.2".parse().expect("ip"))
        );
    }
}
