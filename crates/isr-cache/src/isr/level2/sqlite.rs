//! [`SqliteLevel`]: the second level in a SQLite file, so that the cache
//! outlives restarts and deploys, and the processes of one host share it.
//!
//! # A file of its own
//!
//! Not the app's database, even when that is SQLite too:
//!
//! - cache writes (a record per render, counts every few seconds) never
//!   wait for the app's writes, nor hold the app's writers up: SQLite has
//!   one writer per file;
//! - deleting the file (and its `-wal` and `-shm`, with the processes that
//!   use it stopped) clears the cache, and nothing else;
//! - it works the same when the app's data is on PostgreSQL;
//! - the app's migrations know nothing of it: the level makes its own tables.
//!
//! Several processes on one host can open the same file: it is in WAL mode
//! (readers never wait for the writer), and a writer waits up to
//! [`BUSY_TIMEOUT`] for another's write instead of failing. On a network
//! file system WAL does not work; keep the file on a local disk.
//!
//! # Tables
//!
//! `records` (key, bytes, path, tags, generation, expires_at), `leases`
//! (key, holder, until), `generation` (one row), `markers` (kind: `path`,
//! `prefix` or `tag`; name, soft, hard, expires_at) and `requests` (page,
//! count), all `STRICT`. Their version is `PRAGMA user_version`
//! ([`SCHEMA_VERSION`]); a file of another version (an older or newer build)
//! gets its tables dropped and made again: it is a cache. (Two builds of
//! different versions on one file would clear it in turn: during such a
//! deploy, give the new build a new file name.)
//!
//! A record's tags are a JSON array, which `get` reads with `json_each`, so
//! that `get` is one query (the record and the greatest soft and hard
//! generations of the markers for its path, its tags and the prefixes of
//! its path) and `put` one statement, with no tags table to keep in step.
//!
//! # Time
//!
//! Expiry is by the wall clock (Unix milliseconds), which every process on
//! the host shares. Expired records and leases are ignored at once, and
//! deleted by [`SqliteLevel::prune`], which the cache calls now and then.
//! Markers match until pruned, which changes nothing: a marker expires
//! after every record it could purge.
//!
//! # Failures
//!
//! A full disk, a read-only file, a locked database past the busy timeout or
//! a damaged file is an `Err` of the call: the cache logs it and serves from
//! its first level. A record that does not read back (tags that are not
//! JSON, a negative generation) is a miss, so the next render writes it over.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Row, SqliteConnection};

use super::{Found, LevelError, LevelResult, PURGE_MEMORY, Record, SecondLevel, millis};
use crate::isr::clock::Clock;
use crate::isr::{Purge, PurgeMode};

/// The version of the tables, in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 1;
/// How long a write waits for another process's (or connection's) write.
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);
/// How many pages `requests` keeps (the most requested) after a prune.
const TOP_KEPT: i64 = 10_000;

/// The tables (see the module doc). Its `user_version` is
/// [`SCHEMA_VERSION`] (a test checks).
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS records (
    key TEXT PRIMARY KEY,
    bytes BLOB NOT NULL,
    path TEXT NOT NULL,
    tags TEXT NOT NULL,
    generation INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS records_expiry ON records (expires_at);
CREATE TABLE IF NOT EXISTS leases (
    key TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS generation (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    value INTEGER NOT NULL
) STRICT;
INSERT OR IGNORE INTO generation (only, value) VALUES (1, 0);
CREATE TABLE IF NOT EXISTS markers (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    soft INTEGER NOT NULL,
    hard INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (kind, name)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS requests (
    page TEXT PRIMARY KEY,
    count INTEGER NOT NULL
) STRICT;
PRAGMA user_version = 1;
";

const DROP: &str = "
DROP TABLE IF EXISTS records;
DROP TABLE IF EXISTS leases;
DROP TABLE IF EXISTS generation;
DROP TABLE IF EXISTS markers;
DROP TABLE IF EXISTS requests;
";

/// The record and the greatest marker generations matching it; no row when
/// there is none, it expired, or its tags are not JSON.
const GET: &str = "
WITH record AS (
    SELECT bytes, generation, path, tags FROM records
    WHERE key = ?1 AND expires_at > ?2 AND json_valid(tags)
), matched AS (
    SELECT m.soft, m.hard FROM record
    JOIN markers AS m ON m.kind = 'path' AND m.name = record.path
    UNION ALL
    SELECT m.soft, m.hard FROM record, json_each(record.tags) AS tag
    JOIN markers AS m ON m.kind = 'tag' AND m.name = tag.value
    UNION ALL
    SELECT m.soft, m.hard FROM record
    JOIN markers AS m ON m.kind = 'prefix' AND substr(record.path, 1, length(m.name)) = m.name
)
SELECT bytes, generation,
    (SELECT coalesce(max(soft), 0) FROM matched),
    (SELECT coalesce(max(hard), 0) FROM matched)
FROM record
";

const PUT: &str = "
INSERT INTO records (key, bytes, path, tags, generation, expires_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
ON CONFLICT (key) DO UPDATE SET
    bytes = excluded.bytes,
    path = excluded.path,
    tags = excluded.tags,
    generation = excluded.generation,
    expires_at = excluded.expires_at
";

/// Taken when free, run out or held by the same holder: then (and only
/// then) a row comes back, with the generation.
const LEASE: &str = "
INSERT INTO leases (key, holder, until) VALUES (?1, ?2, ?3)
ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, until = excluded.until
WHERE leases.until <= ?4 OR leases.holder = excluded.holder
RETURNING (SELECT value FROM generation)
";

/// Each `[kind, name]` of the JSON array ?4 keeps the greater of its
/// generations and the new one (?1 soft, ?2 hard: the other is 0).
const MARK: &str = "
INSERT INTO markers (kind, name, soft, hard, expires_at)
SELECT item.value ->> 0, item.value ->> 1, ?1, ?2, ?3 FROM json_each(?4) AS item WHERE true
ON CONFLICT (kind, name) DO UPDATE SET
    soft = max(soft, excluded.soft),
    hard = max(hard, excluded.hard),
    expires_at = max(expires_at, excluded.expires_at)
";

/// Adds each `[page, count]` of the JSON array ?1.
const COUNT: &str = "
INSERT INTO requests (page, count)
SELECT item.value ->> 0, item.value ->> 1 FROM json_each(?1) AS item WHERE true
ON CONFLICT (page) DO UPDATE SET count = count + excluded.count
";

/// A second level in a SQLite file of its own (not the app's database), so
/// that the cache outlives restarts and deploys. The processes of one host
/// can share the file (WAL mode; a write waits up to 2 s for another's);
/// keep it on a local disk. Call [`prune`](Self::prune) now and then.
///
/// The source's module doc says why a file of its own, and how the tables
/// are laid out. Cheap to clone: clones share a pool of connections.
#[derive(Clone)]
pub struct SqliteLevel {
    pool: SqlitePool,
    clock: Arc<dyn Clock>,
    /// This process's writers queue here rather than in SQLite: a writer
    /// SQLite turns away (one writer at a time) sleeps in its busy handler
    /// for milliseconds before it tries again, which a burst of misses (each
    /// a lease and a write) turned into 50 ms waits. Other processes on the
    /// file still meet the busy handler.
    writes: Arc<tokio::sync::Mutex<()>>,
    /// Pages to write, to the task that writes them in batches ([`Batches`]):
    /// at most [`QUEUE`]; past it a write fails at once, as a slow level's
    /// does, rather than pile up pages behind a stalled disk.
    batches: tokio::sync::mpsc::Sender<Write>,
}

/// A page to write, and a lease to give back with it.
struct Page {
    key: String,
    record: Record,
    /// (lease key, holder)
    release: Option<(String, String)>,
}

/// A page queued for [`Batches`], and who waits for it.
struct Write {
    page: Page,
    done: tokio::sync::oneshot::Sender<LevelResult<()>>,
}

/// Group commit: one task writes the pages, every page queued meanwhile
/// (up to [`BATCH`]) in one transaction. A burst of misses, each a page to
/// write, then costs one commit per batch rather than one per page, and
/// the file's one writer (SQLite has one at a time) is held once.
struct Batches {
    pool: SqlitePool,
    clock: Arc<dyn Clock>,
    writes: Arc<tokio::sync::Mutex<()>>,
}

/// The most pages one transaction writes.
const BATCH: usize = 64;

/// The most pages queued for the writer: four batches. A queue that fills
/// means the file cannot keep up; the pages stay in memory, and the writes
/// that failed are counted as the level's errors.
const QUEUE: usize = 4 * BATCH;

impl Batches {
    async fn run(self, mut queue: tokio::sync::mpsc::Receiver<Write>) {
        while let Some(first) = queue.recv().await {
            let mut batch = vec![first];
            while batch.len() < BATCH {
                match queue.try_recv() {
                    Ok(write) => batch.push(write),
                    Err(_) => break,
                }
            }
            let (replies, pages): (Vec<_>, Vec<_>) =
                batch.into_iter().map(|write| (write.done, write.page)).unzip();
            let outcome = self.write(pages).await.map_err(|error| error.to_string());
            for reply in replies {
                let _ = reply.send(outcome.clone().map_err(LevelError::msg));
            }
        }
    }

    async fn write(&self, pages: Vec<Page>) -> LevelResult<()> {
        let _writing = self.writes.lock().await;
        let now = to_i64(self.clock.now_millis());
        let mut transaction = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(failed)?;
        for Page { key, record, release } in pages {
            let tags =
                serde_json::to_string(&record.tags).map_err(|error| LevelError(error.into()))?;
            let expires_at = now.saturating_add(to_i64(millis(record.ttl.min(PURGE_MEMORY))));
            sqlx::query(PUT)
                .bind(&key)
                .bind(record.bytes.as_ref())
                .bind(&record.path)
                .bind(tags)
                .bind(to_i64(record.generation))
                .bind(expires_at)
                .execute(&mut *transaction)
                .await
                .map_err(failed)?;
            if let Some((lease, holder)) = release {
                sqlx::query("DELETE FROM leases WHERE key = ?1 AND holder = ?2")
                    .bind(lease)
                    .bind(holder)
                    .execute(&mut *transaction)
                    .await
                    .map_err(failed)?;
            }
        }
        transaction.commit().await.map_err(failed)
    }
}

impl std::fmt::Debug for SqliteLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteLevel").finish_non_exhaustive()
    }
}

/// Unix time: the processes that share the file must agree on the time,
/// which the cache's monotonic clock (its start differs by process) would not.
struct UnixClock;

impl Clock for UnixClock {
    fn now_millis(&self) -> u64 {
        millis(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default())
    }
}

fn failed(error: sqlx::Error) -> LevelError {
    LevelError(Box::new(error))
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl SqliteLevel {
    /// Opens the cache file at `path` (`data/isr-cache.db`), making its
    /// folder, the file and its tables as needed.
    pub async fn open(path: &Path) -> LevelResult<Self> {
        Self::open_bounded(path, None).await
    }

    /// [`open`](Self::open), with the file bounded to about `max_bytes`
    /// (SQLite's `max_page_count`, on every connection): a flood of new
    /// pages (a crawler walking every `?page=`) fills it to the bound, then
    /// writes fail as on a full disk (the cache logs it and serves from
    /// memory) until [`prune`](Self::prune) frees the expired ones.
    pub async fn open_bounded(path: &Path, max_bytes: Option<u64>) -> LevelResult<Self> {
        if let Some(folder) = path.parent().filter(|folder| !folder.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|error| LevelError(Box::new(error)))?;
        }
        let mut options = Self::options(path);
        if let Some(max_bytes) = max_bytes {
            // The default page size, 4 KiB.
            options = options.pragma("max_page_count", (max_bytes / 4096).max(16).to_string());
        }
        Self::open_with(options, Arc::new(UnixClock)).await
    }

    fn options(path: &Path) -> SqliteConnectOptions {
        SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, a commit survives a crash of the process, not of
            // the machine: enough for a cache.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            // Gives the pages of deleted records back to the file system
            // at each prune.
            .auto_vacuum(SqliteAutoVacuum::Incremental)
    }

    /// A level on `options`, whose records and leases expire by `clock`
    /// (tests move it by hand; every level on one file must share it).
    pub(crate) async fn open_with(
        options: SqliteConnectOptions,
        clock: Arc<dyn Clock>,
    ) -> LevelResult<Self> {
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(BUSY_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(failed)?;
        // IMMEDIATE: two processes opening a new file make its tables once.
        let mut transaction = pool.begin_with("BEGIN IMMEDIATE").await.map_err(failed)?;
        let version: i64 = sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(&mut *transaction)
            .await
            .map_err(failed)?;
        if version != 0 && version != SCHEMA_VERSION {
            tracing::warn!(version, "second level: a cache file of another version, cleared");
            sqlx::raw_sql(DROP).execute(&mut *transaction).await.map_err(failed)?;
        }
        sqlx::raw_sql(SCHEMA).execute(&mut *transaction).await.map_err(failed)?;
        transaction.commit().await.map_err(failed)?;
        let writes: Arc<tokio::sync::Mutex<()>> = Arc::default();
        let (batches, queue) = tokio::sync::mpsc::channel(QUEUE);
        let writer = Batches { pool: pool.clone(), clock: clock.clone(), writes: writes.clone() };
        tokio::spawn(writer.run(queue));
        Ok(Self { pool, clock, writes, batches })
    }

    fn now(&self) -> i64 {
        to_i64(self.clock.now_millis())
    }

    /// Deletes every record whose key does not start with `prefix`: a new
    /// build (the cache's keys start with its namespace) drops the pages of
    /// the builds before it at once, rather than keeping them on disk until
    /// they expire. For a file on one host, where builds follow each other;
    /// returns how many records it deleted.
    pub async fn retain_prefix(&self, prefix: &str) -> LevelResult<u64> {
        let _writing = self.writes.lock().await;
        // `substr` rather than `LIKE`: a prefix may hold `%` or `_`.
        let deleted = sqlx::query("DELETE FROM records WHERE substr(key, 1, length($1)) != $1")
            .bind(prefix)
            .execute(&self.pool)
            .await
            .map_err(failed)?;
        Ok(deleted.rows_affected())
    }

    /// Deletes expired records, markers and leases, and all but the 10,000
    /// most requested pages; gives the space back to the file system.
    pub async fn prune(&self) -> LevelResult<()> {
        let _writing = self.writes.lock().await;
        let now = self.now();
        let mut transaction = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(failed)?;
        prune_in(&mut transaction, now).await.map_err(failed)?;
        transaction.commit().await.map_err(failed)?;
        sqlx::query("PRAGMA incremental_vacuum").execute(&self.pool).await.map_err(failed)?;
        Ok(())
    }

    async fn get_record(&self, key: &str) -> LevelResult<Option<Found>> {
        let row = sqlx::query(GET)
            .bind(key)
            .bind(self.now())
            .fetch_optional(&self.pool)
            .await
            .map_err(failed)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let bytes: Vec<u8> = row.try_get(0).map_err(failed)?;
        let generation: i64 = row.try_get(1).map_err(failed)?;
        let Ok(generation) = u64::try_from(generation) else {
            tracing::warn!(key, generation, "second level: a record with a negative generation");
            return Ok(None);
        };
        let marker = |index| -> LevelResult<u64> {
            let generation: i64 = row.try_get(index).map_err(failed)?;
            u64::try_from(generation).map_err(|_| LevelError::msg("a negative purge generation"))
        };
        Ok(Some(Found {
            bytes: Bytes::from(bytes),
            generation,
            soft: marker(2)?,
            hard: marker(3)?,
        }))
    }

    async fn put_record(&self, key: &str, record: Record) -> LevelResult<()> {
        self.queue_write(key, record, None).await
    }

    /// The write and the release in one transaction (see [`Batches`]).
    async fn put_and_release(
        &self,
        key: &str,
        record: Record,
        lease: &str,
        holder: &str,
    ) -> LevelResult<()> {
        self.queue_write(key, record, Some((lease.to_owned(), holder.to_owned()))).await
    }

    async fn queue_write(
        &self,
        key: &str,
        record: Record,
        release: Option<(String, String)>,
    ) -> LevelResult<()> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        let write = Write { page: Page { key: key.to_owned(), record, release }, done };
        self.batches.try_send(write).map_err(|error| match error {
            tokio::sync::mpsc::error::TrySendError::Full(_) => {
                LevelError::msg("the cache file's write queue is full")
            }
            tokio::sync::mpsc::error::TrySendError::Closed(_) => {
                LevelError::msg("the cache file's writer stopped")
            }
        })?;
        outcome.await.map_err(|_| LevelError::msg("the cache file's writer stopped"))?
    }

    async fn take_lease(&self, key: &str, holder: &str, ttl: Duration) -> LevelResult<Option<u64>> {
        let _writing = self.writes.lock().await;
        let now = self.now();
        let generation: Option<i64> = sqlx::query_scalar(LEASE)
            .bind(key)
            .bind(holder)
            .bind(now.saturating_add(to_i64(millis(ttl))))
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed)?;
        generation
            .map(|generation| {
                u64::try_from(generation)
                    .map_err(|_| LevelError::msg("a negative purge generation"))
            })
            .transpose()
    }

    async fn release_lease(&self, key: &str, holder: &str) -> LevelResult<()> {
        let _writing = self.writes.lock().await;
        sqlx::query("DELETE FROM leases WHERE key = ?1 AND holder = ?2")
            .bind(key)
            .bind(holder)
            .execute(&self.pool)
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn current_generation(&self) -> LevelResult<u64> {
        let generation: i64 = sqlx::query_scalar("SELECT value FROM generation")
            .fetch_one(&self.pool)
            .await
            .map_err(failed)?;
        u64::try_from(generation).map_err(|_| LevelError::msg("a negative purge generation"))
    }

    async fn record_purge(&self, purge: &Purge) -> LevelResult<u64> {
        let _writing = self.writes.lock().await;
        let items: Vec<(&str, &str)> = [("path", &purge.paths), ("prefix", &purge.prefixes)]
            .into_iter()
            .chain([("tag", &purge.tags)])
            .flat_map(|(kind, names)| names.iter().map(move |name| (kind, name.as_str())))
            .collect();
        let items = serde_json::to_string(&items).map_err(|error| LevelError(error.into()))?;
        let expires_at = self.now().saturating_add(to_i64(millis(PURGE_MEMORY)));

        // IMMEDIATE: the generation is read and written under the write lock.
        let mut transaction = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(failed)?;
        let generation: i64 =
            sqlx::query_scalar("UPDATE generation SET value = value + 1 RETURNING value")
                .fetch_one(&mut *transaction)
                .await
                .map_err(failed)?;
        let (soft, hard) = match purge.mode {
            PurgeMode::Soft => (generation, 0),
            PurgeMode::Hard => (0, generation),
        };
        sqlx::query(MARK)
            .bind(soft)
            .bind(hard)
            .bind(expires_at)
            .bind(items)
            .execute(&mut *transaction)
            .await
            .map_err(failed)?;
        transaction.commit().await.map_err(failed)?;
        u64::try_from(generation).map_err(|_| LevelError::msg("a negative purge generation"))
    }

    async fn add_requests(&self, counts: &[(String, u64)]) -> LevelResult<()> {
        let _writing = self.writes.lock().await;
        if counts.is_empty() {
            return Ok(());
        }
        let counts: Vec<(&str, i64)> =
            counts.iter().map(|(page, count)| (page.as_str(), to_i64(*count))).collect();
        let counts = serde_json::to_string(&counts).map_err(|error| LevelError(error.into()))?;
        sqlx::query(COUNT).bind(counts).execute(&self.pool).await.map_err(failed)?;
        Ok(())
    }

    async fn most_requested(&self, limit: usize) -> LevelResult<Vec<String>> {
        sqlx::query_scalar("SELECT page FROM requests ORDER BY count DESC, page LIMIT ?1")
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(failed)
    }
}

async fn prune_in(connection: &mut SqliteConnection, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM records WHERE expires_at <= ?1")
        .bind(now)
        .execute(&mut *connection)
        .await?;
    sqlx::query("DELETE FROM markers WHERE expires_at <= ?1")
        .bind(now)
        .execute(&mut *connection)
        .await?;
    sqlx::query("DELETE FROM leases WHERE until <= ?1").bind(now).execute(&mut *connection).await?;
    sqlx::query(
        "DELETE FROM requests WHERE page NOT IN \
         (SELECT page FROM requests ORDER BY count DESC, page LIMIT ?1)",
    )
    .bind(TOP_KEPT)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

impl SecondLevel for SqliteLevel {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, LevelResult<Option<Found>>> {
        Box::pin(self.get_record(key))
    }

    fn put<'a>(&'a self, key: &'a str, record: Record) -> BoxFuture<'a, LevelResult<()>> {
        Box::pin(self.put_record(key, record))
    }

    fn lease<'a>(
        &'a self,
        key: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, LevelResult<Option<u64>>> {
        Box::pin(self.take_lease(key, holder, ttl))
    }

    fn release<'a>(&'a self, key: &'a str, holder: &'a str) -> BoxFuture<'a, LevelResult<()>> {
        Box::pin(self.release_lease(key, holder))
    }

    fn put_releasing<'a>(
        &'a self,
        key: &'a str,
        record: Record,
        lease: &'a str,
        holder: &'a str,
    ) -> BoxFuture<'a, LevelResult<()>> {
        Box::pin(self.put_and_release(key, record, lease, holder))
    }

    fn generation(&self) -> BoxFuture<'_, LevelResult<u64>> {
        Box::pin(self.current_generation())
    }

    fn purge<'a>(&'a self, purge: &'a Purge) -> BoxFuture<'a, LevelResult<u64>> {
        Box::pin(self.record_purge(purge))
    }

    fn count_requests<'a>(&'a self, counts: &'a [(String, u64)]) -> BoxFuture<'a, LevelResult<()>> {
        Box::pin(self.add_requests(counts))
    }

    fn top_pages(&self, limit: usize) -> BoxFuture<'_, LevelResult<Vec<String>>> {
        Box::pin(self.most_requested(limit))
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;
    use std::time::Duration;

    use bytes::Bytes;
    use sqlx::sqlite::SqliteConnectOptions;

    use super::{PURGE_MEMORY, SCHEMA_VERSION, SqliteLevel};
    use crate::isr::clock::ManualClock;
    use crate::isr::level2::{Record, SecondLevel, checks, conformance};
    use crate::{Purge, PurgeMode};

    fn record(path: &str, tags: &[&str], ttl: Duration) -> Record {
        Record {
            bytes: Bytes::from_static(b"x"),
            path: path.into(),
            tags: tags.iter().map(|tag| (*tag).to_owned()).collect(),
            generation: 0,
            ttl,
        }
    }

    fn file(folder: &tempfile::TempDir) -> PathBuf {
        folder.path().join("cache").join("isr-cache.db")
    }

    /// A level on `path` whose time is `clock`'s.
    async fn at(path: &Path, clock: &ManualClock) -> SqliteLevel {
        std::fs::create_dir_all(path.parent().expect("folder")).expect("folder");
        SqliteLevel::open_with(SqliteLevel::options(path), Arc::new(clock.clone()))
            .await
            .expect("open")
    }

    async fn rows(level: &SqliteLevel, table: &str) -> i64 {
        let sql = match table {
            "records" => "SELECT count(*) FROM records",
            "leases" => "SELECT count(*) FROM leases",
            "markers" => "SELECT count(*) FROM markers",
            _ => "SELECT count(*) FROM requests",
        };
        sqlx::query_scalar(sql).fetch_one(&level.pool).await.expect("count")
    }

    #[tokio::test]
    async fn a_burst_of_writes_lands_whole_and_gives_every_lease_back() {
        let folder = tempfile::tempdir().expect("temp folder");
        let level = SqliteLevel::open(&file(&folder)).await.expect("open");
        let keys: Vec<String> = (0..100).map(|n| format!("burst|{n}")).collect();
        for key in &keys {
            let taken = level.lease(key, "one", Duration::from_secs(30)).await.expect("lease");
            assert_eq!(taken, Some(0));
        }
        // Queued at once: written in a few transactions, each reply its own.
        let writes = keys.iter().map(|key| {
            level.put_releasing(key, record("/burst", &[], Duration::from_secs(60)), key, "one")
        });
        for written in futures_util::future::join_all(writes).await {
            written.expect("written");
        }
        assert_eq!(rows(&level, "records").await, 100);
        assert_eq!(rows(&level, "leases").await, 0, "every lease given back with its page");
    }

    #[tokio::test]
    async fn a_new_build_keeps_only_its_own_records() {
        let folder = tempfile::tempdir().expect("temp folder");
        let level = SqliteLevel::open(&file(&folder)).await.expect("open");
        for key in ["old|a", "old|b", "new|a", "new%|c", "newer|a"] {
            level.put(key, record("/a", &[], Duration::from_secs(60))).await.expect("put");
        }
        assert_eq!(level.retain_prefix("new|").await.expect("retain"), 4, "`%` is no wildcard");
        assert!(level.get("new|a").await.expect("get").is_some());
        assert_eq!(rows(&level, "records").await, 1);
    }

    #[tokio::test]
    async fn sqlite_level_conforms() {
        let folder = tempfile::tempdir().expect("temp folder");
        let path = file(&folder);
        let level = SqliteLevel::open(&path).await.expect("open makes the folder and the file");
        conformance::check(&level, "sqlite").await;
        let version: i64 = sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(&level.pool)
            .await
            .expect("version");
        assert_eq!(version, SCHEMA_VERSION, "the schema sets SCHEMA_VERSION");
        let mode: String =
            sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&level.pool).await.expect("mode");
        assert_eq!(mode, "wal");

        // Opened again (a restart): everything is still there.
        drop(level);
        let level = SqliteLevel::open(&path).await.expect("open again");
        assert!(level.get("sqlite|a").await.expect("get").is_some(), "kept across a restart");
        assert!(level.generation().await.expect("generation") > 0);
    }

    #[tokio::test]
    async fn sqlite_records_markers_and_leases_expire() {
        let folder = tempfile::tempdir().expect("temp folder");
        let clock = ManualClock::new();
        let level = at(&file(&folder), &clock).await;
        level.put("k", record("/x", &["t"], Duration::from_secs(10))).await.expect("put");
        level.put("long", record("/y", &[], PURGE_MEMORY * 4)).await.expect("put");
        level.purge(&Purge::tags(["t"], PurgeMode::Soft)).await.expect("purge");
        level.count_requests(&[("/x".into(), 1)]).await.expect("count");
        assert_eq!(level.lease("k", "one", Duration::from_secs(5)).await.expect("lease"), Some(1));
        assert_eq!(level.lease("k", "two", Duration::from_secs(5)).await.expect("lease"), None);

        clock.advance(Duration::from_secs(5));
        assert_eq!(
            level.lease("k", "two", Duration::from_secs(5)).await.expect("lease"),
            Some(1),
            "a holder that died is replaced when its lease runs out"
        );
        assert!(level.get("k").await.expect("get").is_some(), "not yet");
        clock.advance(Duration::from_secs(5));
        assert_eq!(level.get("k").await.expect("get"), None, "expired");

        level.prune().await.expect("prune");
        assert_eq!((rows(&level, "records").await, rows(&level, "leases").await), (1, 0));
        assert_eq!(rows(&level, "markers").await, 1, "a marker lasts PURGE_MEMORY");

        clock.advance(PURGE_MEMORY - Duration::from_secs(10));
        assert_eq!(level.get("long").await.expect("get"), None, "capped at PURGE_MEMORY");
        level.prune().await.expect("prune");
        assert_eq!((rows(&level, "records").await, rows(&level, "markers").await), (0, 0));
        assert_eq!(rows(&level, "requests").await, 1, "counts are not expired");
    }

    #[tokio::test]
    async fn two_sqlite_levels_on_one_file_share_it() {
        let folder = tempfile::tempdir().expect("temp folder");
        let path = file(&folder);
        let clock = ManualClock::new();
        let one = at(&path, &clock).await;
        let two = at(&path, &clock).await;

        one.put("k", record("/blog/a", &["posts"], Duration::from_secs(60))).await.expect("put");
        let found = two.get("k").await.expect("get").expect("written by the other");
        assert_eq!(found.bytes.as_ref(), b"x");

        assert_eq!(one.lease("k", "one", Duration::from_secs(30)).await.expect("lease"), Some(0));
        assert_eq!(two.lease("k", "two", Duration::from_secs(30)).await.expect("lease"), None);
        one.release("k", "one").await.expect("release");
        assert_eq!(two.lease("k", "two", Duration::from_secs(30)).await.expect("lease"), Some(0));

        let generation = two.purge(&Purge::tags(["posts"], PurgeMode::Hard)).await.expect("purge");
        assert_eq!(one.generation().await.expect("generation"), generation);
        let found = one.get("k").await.expect("get").expect("kept");
        assert_eq!(found.purged(), Some(PurgeMode::Hard), "purged by the other: {found:?}");
        let prefix = Purge { prefixes: vec!["/blog/".into()], ..Purge::default() };
        assert!(one.purge(&prefix).await.expect("purge") > generation, "one counter");

        one.count_requests(&[("/a".into(), 2), ("/b".into(), 1)]).await.expect("count");
        two.count_requests(&[("/b".into(), 2)]).await.expect("count");
        assert_eq!(one.top_pages(10).await.expect("top"), ["/b", "/a"]);

        checks::concurrent_purges(&one, &two, "shared").await;
    }

    #[tokio::test]
    async fn sqlite_corrupt_rows_are_misses_or_errors() {
        let folder = tempfile::tempdir().expect("temp folder");
        let level = SqliteLevel::open(&file(&folder)).await.expect("open");
        let insert = "INSERT INTO records (key, bytes, path, tags, generation, expires_at) \
                      VALUES (?1, x'00', '/x', ?2, ?3, 9223372036854775807)";
        for (key, tags, generation) in [("tags", "posts", 1), ("negative", "[]", -1)] {
            sqlx::query(insert)
                .bind(key)
                .bind(tags)
                .bind(generation)
                .execute(&level.pool)
                .await
                .expect("insert");
            assert_eq!(level.get(key).await.expect("a miss"), None, "{key}");
        }

        level.put("k", record("/x", &[], Duration::from_secs(60))).await.expect("put");
        sqlx::query("INSERT INTO markers VALUES ('path', '/x', -5, 0, 9223372036854775807)")
            .execute(&level.pool)
            .await
            .expect("insert");
        assert!(level.get("k").await.is_err(), "a negative marker");

        sqlx::query("DROP TABLE generation").execute(&level.pool).await.expect("drop");
        assert!(level.generation().await.is_err());
        assert!(level.lease("k", "one", Duration::from_secs(1)).await.is_err());
        assert!(level.purge(&Purge::tags(["t"], PurgeMode::Soft)).await.is_err());
    }

    #[tokio::test]
    async fn sqlite_full_disk_read_only_file_and_bad_folder_are_errors() {
        let folder = tempfile::tempdir().expect("temp folder");
        let path = file(&folder);
        // A database that may not grow past 64 pages: SQLite's own "database
        // or disk is full".
        let small = SqliteLevel::options(&path).pragma("max_page_count", "64");
        std::fs::create_dir_all(path.parent().expect("folder")).expect("folder");
        let level =
            SqliteLevel::open_with(small, Arc::new(ManualClock::new())).await.expect("open");
        let mut big = record("/big", &[], Duration::from_secs(60));
        big.bytes = Bytes::from(vec![0; 1024 * 1024]);
        let error = level.put("big", big).await.expect_err("too big for the file");
        assert!(error.to_string().contains("full"), "{error}");
        level.put("small", record("/small", &[], Duration::from_secs(60))).await.expect("put");
        assert!(level.get("small").await.expect("get").is_some(), "still usable");

        let read_only = SqliteLevel::options(&path).read_only(true);
        let opened = SqliteLevel::open_with(read_only, Arc::new(ManualClock::new())).await;
        assert!(opened.is_err(), "a read-only file cannot be opened for writing");

        let not_a_folder = folder.path().join("file");
        std::fs::write(&not_a_folder, b"").expect("a file");
        assert!(SqliteLevel::open(&not_a_folder.join("cache.db")).await.is_err());
    }

    #[tokio::test]
    async fn sqlite_file_of_another_version_is_cleared() {
        let folder = tempfile::tempdir().expect("temp folder");
        let path = file(&folder);
        std::fs::create_dir_all(path.parent().expect("folder")).expect("folder");
        let options = SqliteConnectOptions::new().filename(&path).create_if_missing(true);
        let other = sqlx::SqlitePool::connect_with(options).await.expect("open");
        sqlx::raw_sql("CREATE TABLE records (key TEXT, value TEXT); PRAGMA user_version = 99;")
            .execute(&other)
            .await
            .expect("another version");
        other.close().await;

        let level = SqliteLevel::open(&path).await.expect("open clears it");
        conformance::check(&level, "cleared").await;
    }

    #[tokio::test]
    #[ignore = "a measurement: cargo test -p isr-cache --all-features --release get_latency -- --ignored --nocapture"]
    async fn sqlite_get_latency() {
        let folder = tempfile::tempdir().expect("temp folder");
        let level = SqliteLevel::open(&file(&folder)).await.expect("open");
        let (p50, p99) = checks::get_latency(&level).await;
        println!("sqlite get of a 20 KB record: p50 {p50:?}, p99 {p99:?}");
    }
}
