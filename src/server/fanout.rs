//! Purges reach every instance of the app, not only the one that made them.
//!
//! Each instance keeps its own ISR cache. With several behind a load
//! balancer, an edit purged on one would leave the others serving the old
//! page until it expired. When the database is PostgreSQL, every purge is
//! therefore published with `NOTIFY` on the channel [`CHANNEL`], in the same
//! database the instances already share, and every instance `LISTEN`s and
//! applies the purges of the others. No broker to run, nothing to configure.
//! On SQLite (one file, so one machine) there is nothing to fan out to.
//!
//! - A purge is applied locally first, then published; the publishing
//!   instance ignores its own message (each has a random id).
//! - A notification carries at most 8000 bytes: a purge naming more is split
//!   into several messages (one path, prefix or tag is limited to 1000 bytes).
//! - If the listening connection drops, notifications sent meanwhile are lost:
//!   on reconnecting, the instance marks every page of its own cache stale (a
//!   soft purge of `/`), so visitors get at most one stale page per key while
//!   new ones render, never an old page for the rest of its TTL. It sends
//!   nothing to the CDN: the instance that made a purge sent it there
//!   already, and a purge of `/` would empty the whole CDN zone (Cloudflare
//!   `purge_everything`, Fastly `purge_all`) once per instance for a blip of
//!   the database connection.
//!
//! `NOTIFY` is delivered only when the sending transaction commits, and the
//! app's writes commit before they purge, so no instance can re-render the old
//! data after hearing of the purge.

use std::time::Duration;

use isr_cache::{Purge, PurgeMode};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;
use tokio::task::JoinHandle;

use crate::db::Db;
use crate::purge::{PurgeSink, Purger, Sending};

/// The `LISTEN`/`NOTIFY` channel.
pub const CHANNEL: &str = "isr_purge";

/// PostgreSQL's limit on a notification's payload is 8000 bytes.
const MAX_PAYLOAD: usize = 7900;
/// Longest path, prefix or tag that can be fanned out.
const MAX_ITEM: usize = 1000;

/// Publishes this instance's purges, when there are other instances to tell.
#[derive(Clone)]
pub struct Fanout {
    /// This instance, so that it can skip its own messages.
    instance: u64,
    /// The shared PostgreSQL database; `None` on SQLite.
    db: Option<Db>,
    /// Purges being published, bounded.
    sending: Sending,
}

/// A purge on the wire: the instance that made it, and the purge in
/// [`Purge`]'s own JSON, `{"from": 7, "purge": {"tags": ["posts"], "mode": "hard"}}`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Message {
    from: u64,
    purge: Purge,
}

impl Fanout {
    /// Fan-out over `db` when `database_url` is PostgreSQL; none otherwise.
    pub fn new(database_url: &str, db: &Db) -> Self {
        let postgres = database_url.starts_with("postgres");
        Self {
            instance: random_id(),
            db: postgres.then(|| db.clone()),
            sending: Sending::new("the other instances"),
        }
    }

    /// Tells the other instances about `purge`, in the background (a failure
    /// is logged: the purge has been applied here already).
    pub fn publish(&self, purge: &Purge) {
        let Some(db) = self.db.clone() else { return };
        let payloads = encode(self.instance, purge);
        self.sending.spawn(async move {
            for payload in payloads {
                let sent = sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(CHANNEL)
                    .bind(&payload)
                    .execute(&db)
                    .await;
                if let Err(error) = sent {
                    tracing::warn!(%error, "could not tell the other instances about a purge");
                }
            }
        });
    }

    /// Starts listening for the purges of other instances and applying them
    /// with `purger` (here and in the CDN in front), on PostgreSQL; `None` on SQLite.
    /// Returns once the `LISTEN` is in place: a purge published after this
    /// returns is not missed.
    pub async fn listen(
        &self,
        database_url: &str,
        purger: Purger,
    ) -> Result<Option<JoinHandle<()>>, sqlx::Error> {
        if self.db.is_none() {
            return Ok(None);
        }
        let mut listener = PgListener::connect(database_url).await?;
        listener.listen(CHANNEL).await?;
        let instance = self.instance;
        Ok(Some(tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                match listener.try_recv().await {
                    Ok(Some(notification)) => {
                        backoff = Duration::from_millis(100);
                        apply(instance, notification.payload(), &purger);
                    }
                    Ok(None) => {
                        // The connection dropped; sqlx reconnects and listens
                        // again on the next call. What was sent meanwhile is lost.
                        tracing::warn!(
                            "purge listener reconnecting; marking every page stored here stale"
                        );
                        // This instance only: see the module docs.
                        let everything = Purge {
                            prefixes: vec!["/".into()],
                            mode: PurgeMode::Soft,
                            ..Purge::default()
                        };
                        purger.isr().purge_here(&everything);
                    }
                    Err(error) => {
                        tracing::warn!(%error, "purge listener failed; retrying in {backoff:?}");
                        // A retry's back-off, not a wait for another task.
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                    }
                }
            }
        })))
    }
}

impl PurgeSink for Fanout {
    fn purge(&self, purge: &Purge) {
        self.publish(purge);
    }
}

/// Applies another instance's purge; ignores this instance's own, and
/// anything that is not a purge (logged).
fn apply(instance: u64, payload: &str, purger: &Purger) {
    let message: Message = match serde_json::from_str(payload) {
        Ok(message) => message,
        Err(error) => {
            tracing::warn!(%error, "ignoring a malformed message on {CHANNEL}");
            return;
        }
    };
    let Message { from, purge } = message;
    if from == instance {
        return;
    }
    purger.purge_here(&purge, &format!("instance {from:016x}"));
}

/// `purge` as one or more payloads of at most [`MAX_PAYLOAD`] bytes.
fn encode(instance: u64, purge: &Purge) -> Vec<String> {
    let empty =
        || Message { from: instance, purge: Purge { mode: purge.mode, ..Purge::default() } };
    let mut payloads = Vec::new();
    let mut message = empty();
    let mut in_message = 0;
    for (field, items) in [&purge.paths, &purge.prefixes, &purge.tags].into_iter().enumerate() {
        for item in items {
            if item.len() > MAX_ITEM {
                tracing::warn!(len = item.len(), "not fanning out an oversized purge item");
                continue;
            }
            list(&mut message, field).push(item.clone());
            if to_json(&message).len() > MAX_PAYLOAD {
                // Full: send it without this item, which starts the next one.
                let item = list(&mut message, field).pop();
                payloads.push(to_json(&message));
                message = empty();
                list(&mut message, field).extend(item);
                in_message = 0;
            }
            in_message += 1;
        }
    }
    if in_message > 0 {
        payloads.push(to_json(&message));
    }
    payloads
}

/// Which list of `message` an item of `field` (paths, prefixes, tags) goes to.
fn list(message: &mut Message, field: usize) -> &mut Vec<String> {
    match field {
        0 => &mut message.purge.paths,
        1 => &mut message.purge.prefixes,
        _ => &mut message.purge.tags,
    }
}

fn to_json(message: &Message) -> String {
    serde_json::to_string(message).unwrap_or_default()
}

fn random_id() -> u64 {
    use rand_core::{OsRng, RngCore as _};
    OsRng.next_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(payloads: &[String]) -> Vec<Message> {
        payloads.iter().map(|p| serde_json::from_str(p).expect("valid JSON")).collect()
    }

    #[test]
    fn a_small_purge_is_one_message() {
        let purge = Purge {
            paths: vec!["/blog/a".into()],
            tags: vec!["posts".into()],
            mode: PurgeMode::Hard,
            ..Purge::default()
        };
        let payloads = encode(7, &purge);
        assert_eq!(
            payloads,
            [r#"{"from":7,"purge":{"paths":["/blog/a"],"tags":["posts"],"mode":"hard"}}"#]
        );
        assert_eq!(decode(&payloads), [Message { from: 7, purge }]);
    }

    #[test]
    fn a_large_purge_is_split_and_nothing_is_lost() {
        let tags: Vec<String> = (0..2000).map(|i| format!("product:{i}")).collect();
        let purge = Purge { tags: tags.clone(), prefixes: vec!["/x".into()], ..Purge::default() };
        let payloads = encode(1, &purge);
        assert!(payloads.len() > 1);
        assert!(payloads.iter().all(|p| p.len() <= MAX_PAYLOAD), "every payload fits");
        let messages = decode(&payloads);
        let sent: Vec<String> = messages.iter().flat_map(|m| m.purge.tags.clone()).collect();
        assert_eq!(sent, tags);
        let prefixes: Vec<String> =
            messages.iter().flat_map(|m| m.purge.prefixes.clone()).collect();
        assert_eq!(prefixes, ["/x"]);
        assert!(messages.iter().all(|m| m.purge.mode == PurgeMode::Soft && m.from == 1));
    }

    #[test]
    fn oversized_items_are_skipped() {
        let purge = Purge { tags: vec!["x".repeat(MAX_ITEM + 1), "ok".into()], ..Purge::default() };
        assert_eq!(decode(&encode(1, &purge))[0].purge.tags, ["ok"]);
    }
}
