//! [`RedisLevel`]: the second level in Redis, which every instance of a fleet
//! shares.
//!
//! # Keys
//!
//! Every key starts with the level's namespace (`isr:` in the app), so one
//! Redis can hold several caches (and each test a namespace of its own):
//!
//! | key                          | type   | expiry                          |
//! |------------------------------|--------|---------------------------------|
//! | `{ns}r:{key}`                | hash: `bytes`, `generation`, `path`, `tags` (newline-joined) | the record's ttl, at most [`PURGE_MEMORY`] |
//! | `{ns}l:{key}`                | string: the lease's holder | the lease's ttl       |
//! | `{ns}gen`                    | integer: the purge generation | none             |
//! | `{ns}m:path:{mode}:{path}`   | integer: a path marker's generation | [`PURGE_MEMORY`] after its last purge |
//! | `{ns}m:tag:{mode}:{tag}`     | integer: a tag marker's generation  | the same        |
//! | `{ns}m:prefix:{mode}`        | hash: prefix → generation | none: see below          |
//! | `{ns}m:prefix:at`            | sorted set: prefix → its last purge (Unix ms) | none |
//! | `{ns}top`                    | sorted set: page → requests | none (at most [`TOP_KEPT`] pages) |
//!
//! (`{mode}` is `soft` or `hard`.) Path and tag markers are looked up by
//! name, so they are keys of their own that expire by themselves. Prefix
//! markers must be enumerated (which purged prefixes start this path?), so
//! they live in one hash per mode; each purge forgets the prefixes whose last
//! purge is older than [`PURGE_MEMORY`] (`{ns}m:prefix:at` says when that
//! was), so the hashes stay as small as the set of prefixes purged in a week.
//!
//! A record's tags are joined with newlines: a tag cannot hold one (cache
//! tags are `Surrogate-Key` tokens, which hold no whitespace), and an empty
//! tag matches no purge.
//!
//! # One round trip per call
//!
//! `get`, `lease`, `release` and `purge` are Lua scripts, sent by SHA
//! (`EVALSHA`; after a Redis restart the first call loads the script again).
//! Scripts are atomic: a `get` never sees half a purge, two purges get two
//! generations, and a lease is taken or not. `put` is a `MULTI` pipeline
//! (`HSET` + `PEXPIRE`, so a record is never left without its expiry),
//! `count_requests` a pipeline of `ZINCRBY`s, `top_pages` a `ZREVRANGE`.
//!
//! # Timeouts and reconnection
//!
//! [`RedisLevel::connect`] gives up after [`CONNECT_TIMEOUT`] (2 s). After
//! that a [`ConnectionManager`] reconnects by itself: a call that finds the
//! connection dropped fails and starts a reconnection; calls made meanwhile
//! wait for it (one connection attempt, one retry a few hundred
//! milliseconds later, where the `redis` crate's default is six retries with
//! a growing backoff) and fail with it; the first call after Redis is back
//! starts a reconnection that succeeds. Each connection attempt gives up
//! after [`CONNECTION_TIMEOUT`] and each command after [`RESPONSE_TIMEOUT`]
//! (both 500 ms), so a Redis that hangs (rather than refuses) cannot hang a
//! request: a `get` of a 20 KB record takes a fraction of a millisecond, and
//! a purge a few. The cache bounds each call with its own timeout as well.
//!
//! # `maxmemory-policy`: `volatile-ttl` (or `noeviction`)
//!
//! Purges are only as good as their markers and the generation: an evicted
//! `{ns}gen` restarts the count below the records' generations, and an
//! evicted marker brings back what it purged. So:
//!
//! - never `allkeys-*`: they may evict `{ns}gen`, the prefix hashes and
//!   `{ns}top`, which have no TTL so that `volatile-*` policies never do;
//! - not `volatile-lru`/`volatile-lfu`: records are read all the time and
//!   markers never, so those evict markers first;
//! - `volatile-ttl` evicts the keys closest to expiring. Leases (seconds) go
//!   first, then records; a marker expires [`PURGE_MEMORY`] after its purge
//!   and every record it can purge was written before that purge with a ttl
//!   of at most [`PURGE_MEMORY`], so it expires sooner than the marker: the
//!   marker is evicted after them. Redis picks its victims from samples
//!   (`maxmemory-samples`), so that order is nearly but not strictly kept: a
//!   marker in its last days can go before a record it purged.
//!
//! So give Redis the memory the records need (their ttls bound it) and use
//! `volatile-ttl` as the safety net. Where a purge must never be undone,
//! `noeviction`: when Redis is full, `put` and `purge` fail (the cache logs
//! it and serves from its first level; a purge endpoint reports the failure)
//! and nothing is lost; records make room as they expire.
//!
//! # Redis Cluster: not supported
//!
//! The scripts read and write keys they compute (a record's tag and path
//! markers) besides the keys they are given, across many hash slots; a
//! cluster rejects that. A namespace with a hash tag (`{isr}:`) would put
//! every key in one slot, and so on one node, which gains nothing over a
//! single Redis with a replica. [`RedisLevel::connect`] takes a plain
//! `redis://` (or `rediss://`, with a TLS feature of the `redis` crate) URL.
//! Redis 5 or newer (scripts take the time as an argument, not from `TIME`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, RedisError, Script};
use bytes::Bytes;
use futures_util::future::BoxFuture;

use super::{Found, LevelError, LevelResult, PURGE_MEMORY, Record, SecondLevel, millis};
use crate::isr::{Purge, PurgeMode};

/// How long [`RedisLevel::connect`] waits for Redis.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one connection attempt (also a reconnection) may take.
const CONNECTION_TIMEOUT: Duration = Duration::from_millis(500);
/// How long a command may wait for its answer.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
/// How many pages `{ns}top` keeps: the most requested; the others are
/// dropped at each count, so pages with random queries cannot fill Redis.
const TOP_KEPT: usize = 10_000;

/// The record, and the greatest soft and hard generations of the markers
/// for its path, its tags and every purged prefix of its path.
/// `KEYS[1]`: the record. `ARGV[1]`: the namespace.
const GET: &str = r"
local record = redis.call('HMGET', KEYS[1], 'bytes', 'generation', 'path', 'tags')
local bytes, generation, path, tags = record[1], record[2], record[3], record[4]
if not (bytes and generation and path and tags) then
  return false
end
local ns = ARGV[1]

local function number(value, where)
  local n = tonumber(value)
  if not n then
    error('not a generation at ' .. where)
  end
  return n
end

local soft, hard = 0, 0
local function marker(kind, name)
  local key = ns .. 'm:' .. kind .. ':soft:' .. name
  local value = redis.call('GET', key)
  if value then soft = math.max(soft, number(value, key)) end
  key = ns .. 'm:' .. kind .. ':hard:' .. name
  value = redis.call('GET', key)
  if value then hard = math.max(hard, number(value, key)) end
end

-- The greatest generation in `hash` of a prefix of the path: by listing
-- the hash or by looking up each prefix of the path (the empty one too),
-- whichever is shorter.
local function prefixes(hash)
  local best = 0
  local count = redis.call('HLEN', hash)
  if count == 0 then
    return 0
  elseif count <= #path + 1 then
    local all = redis.call('HGETALL', hash)
    for i = 1, #all, 2 do
      local prefix = all[i]
      if string.sub(path, 1, #prefix) == prefix then
        best = math.max(best, number(all[i + 1], hash))
      end
    end
  else
    for i = 0, #path do
      local value = redis.call('HGET', hash, string.sub(path, 1, i))
      if value then best = math.max(best, number(value, hash)) end
    end
  end
  return best
end

marker('path', path)
for tag in string.gmatch(tags, '[^\n]+') do
  marker('tag', tag)
end
soft = math.max(soft, prefixes(ns .. 'm:prefix:soft'))
hard = math.max(hard, prefixes(ns .. 'm:prefix:hard'))
return {bytes, generation, soft, hard}
";

/// Takes the lease unless another holder has it; returns the generation.
/// `KEYS[1]`: the lease, `KEYS[2]`: the generation. ARGV: holder, ttl (ms).
const LEASE: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return false
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return redis.call('GET', KEYS[2]) or '0'
";

/// Deletes the lease if `holder` has it. `KEYS[1]`: the lease. `ARGV[1]`: holder.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 0
";

/// A new generation, kept by every item of the purge (the greater of the
/// marker's and the new one).
/// KEYS: the generation, the soft and hard prefix hashes, the prefixes'
/// purge times. ARGV: namespace, mode, now (Unix ms), PURGE_MEMORY (ms),
/// the number of paths, of prefixes, then the paths, prefixes and tags.
const PURGE: &str = r"
local generation = redis.call('INCR', KEYS[1])
local ns, mode, now, memory = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local paths, prefixes = tonumber(ARGV[5]), tonumber(ARGV[6])
local hash = KEYS[2]
if mode == 'hard' then hash = KEYS[3] end

local function newest(old)
  return math.max(tonumber(old) or 0, generation)
end
local function marker(kind, name)
  local key = ns .. 'm:' .. kind .. ':' .. mode .. ':' .. name
  redis.call('SET', key, newest(redis.call('GET', key)), 'PX', memory)
end

local first = 7
for i = first, #ARGV do
  local item = ARGV[i]
  if i < first + paths then
    marker('path', item)
  elseif i < first + paths + prefixes then
    redis.call('HSET', hash, item, newest(redis.call('HGET', hash, item)))
    redis.call('ZADD', KEYS[4], now, item)
  else
    marker('tag', item)
  end
end

-- Prefixes not purged for PURGE_MEMORY: no record they could purge is left.
local old = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now - tonumber(memory), 'LIMIT', 0, 100)
for _, prefix in ipairs(old) do
  redis.call('HDEL', KEYS[2], prefix)
  redis.call('HDEL', KEYS[3], prefix)
  redis.call('ZREM', KEYS[4], prefix)
end
return generation
";

/// A second level in Redis, which every instance of a fleet shares.
///
/// - Set Redis's `maxmemory-policy` to `volatile-ttl` (or `noeviction`),
///   never `allkeys-*`: an evicted purge marker or purge counter would
///   bring purged pages back.
/// - Redis Cluster is not supported (a script reads keys across slots).
/// - While Redis is away, calls fail within about a second (connection and
///   response timeouts of 500 ms); the connection comes back by itself.
///
/// The source's module doc says why, and how the keys are laid out.
/// Cheap to clone: clones share one connection.
#[derive(Clone)]
pub struct RedisLevel {
    connection: ConnectionManager,
    namespace: String,
    scripts: Scripts,
}

#[derive(Clone)]
struct Scripts {
    get: Script,
    lease: Script,
    release: Script,
    purge: Script,
}

impl std::fmt::Debug for RedisLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the connection: its URL may hold a password.
        f.debug_struct("RedisLevel").field("namespace", &self.namespace).finish_non_exhaustive()
    }
}

fn failed(error: RedisError) -> LevelError {
    LevelError(Box::new(error))
}

impl RedisLevel {
    /// Connects to the Redis at `url` (`redis://host:6379/0`); every key
    /// the level writes starts with `namespace` (`isr:`). Fails after 2 s
    /// when Redis does not answer. Must run in a Tokio runtime: the
    /// connection reconnects on a task of its own.
    pub async fn connect(url: &str, namespace: &str) -> LevelResult<Self> {
        let client = Client::open(url).map_err(failed)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            // One retry, soon: a call waits for a reconnection, so a long
            // backoff would be a long call. The next call tries again.
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(100))
            .set_max_delay(Duration::from_millis(500));
        let connection = tokio::time::timeout(
            CONNECT_TIMEOUT,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| LevelError::msg("Redis did not answer within the connect timeout"))?
        .map_err(failed)?;
        let scripts = Scripts {
            get: Script::new(GET),
            lease: Script::new(LEASE),
            release: Script::new(RELEASE),
            purge: Script::new(PURGE),
        };
        Ok(Self { connection, namespace: namespace.to_owned(), scripts })
    }

    fn key(&self, kind: &str, name: &str) -> String {
        format!("{}{kind}{name}", self.namespace)
    }

    async fn get_record(&self, key: &str) -> LevelResult<Option<Found>> {
        let record_key = self.key("r:", key);
        let found: Option<(Bytes, String, u64, u64)> = self
            .scripts
            .get
            .key(&record_key)
            .arg(&self.namespace)
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(failed)?;
        let Some((bytes, generation, soft, hard)) = found else {
            return Ok(None);
        };
        // A record this level did not write: a miss, so the cache renders
        // the page and writes it over.
        let Ok(generation) = generation.parse() else {
            tracing::warn!(key = record_key, "second level: a record without a valid generation");
            return Ok(None);
        };
        Ok(Some(Found { bytes, generation, soft, hard }))
    }

    async fn put_record(&self, key: &str, record: Record) -> LevelResult<()> {
        let record_key = self.key("r:", key);
        let ttl = millis(record.ttl.min(PURGE_MEMORY));
        ::redis::pipe()
            .atomic()
            .cmd("HSET")
            .arg(&record_key)
            .arg("bytes")
            .arg(record.bytes.as_ref())
            .arg("generation")
            .arg(record.generation)
            .arg("path")
            .arg(&record.path)
            .arg("tags")
            .arg(record.tags.join("\n"))
            .ignore()
            .pexpire(&record_key, i64::try_from(ttl).unwrap_or(i64::MAX))
            .ignore()
            .exec_async(&mut self.connection.clone())
            .await
            .map_err(failed)
    }

    async fn take_lease(&self, key: &str, holder: &str, ttl: Duration) -> LevelResult<Option<u64>> {
        self.scripts
            .lease
            .key(self.key("l:", key))
            .key(self.key("gen", ""))
            .arg(holder)
            // `PX 0` is an error: a lease lasts at least a millisecond.
            .arg(millis(ttl).max(1))
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(failed)
    }

    async fn release_lease(&self, key: &str, holder: &str) -> LevelResult<()> {
        self.scripts
            .release
            .key(self.key("l:", key))
            .arg(holder)
            .invoke_async::<()>(&mut self.connection.clone())
            .await
            .map_err(failed)
    }

    async fn current_generation(&self) -> LevelResult<u64> {
        let generation: Option<u64> = ::redis::cmd("GET")
            .arg(self.key("gen", ""))
            .query_async(&mut self.connection.clone())
            .await
            .map_err(failed)?;
        Ok(generation.unwrap_or(0))
    }

    async fn record_purge(&self, purge: &Purge) -> LevelResult<u64> {
        let mode = match purge.mode {
            PurgeMode::Soft => "soft",
            PurgeMode::Hard => "hard",
        };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let mut invocation = self.scripts.purge.key(self.key("gen", ""));
        invocation
            .key(self.key("m:prefix:soft", ""))
            .key(self.key("m:prefix:hard", ""))
            .key(self.key("m:prefix:at", ""))
            .arg(&self.namespace)
            .arg(mode)
            .arg(millis(now))
            .arg(millis(PURGE_MEMORY))
            .arg(purge.paths.len())
            .arg(purge.prefixes.len())
            .arg(&purge.paths)
            .arg(&purge.prefixes)
            .arg(&purge.tags);
        invocation.invoke_async(&mut self.connection.clone()).await.map_err(failed)
    }

    async fn add_requests(&self, counts: &[(String, u64)]) -> LevelResult<()> {
        if counts.is_empty() {
            return Ok(());
        }
        let top = self.key("top", "");
        let mut pipe = ::redis::pipe();
        for (page, count) in counts {
            pipe.zincr(&top, page, *count).ignore();
        }
        // Ranks count from the least requested: keep the last TOP_KEPT.
        let drop_to = -isize::try_from(TOP_KEPT).unwrap_or(isize::MAX) - 1;
        pipe.zremrangebyrank(&top, 0, drop_to).ignore();
        pipe.exec_async(&mut self.connection.clone()).await.map_err(failed)
    }

    async fn most_requested(&self, limit: usize) -> LevelResult<Vec<String>> {
        // ZREVRANGE's stop is inclusive, and -1 would mean "all".
        let Some(last) = limit.checked_sub(1) else {
            return Ok(Vec::new());
        };
        ::redis::cmd("ZREVRANGE")
            .arg(self.key("top", ""))
            .arg(0)
            .arg(isize::try_from(last).unwrap_or(-1))
            .query_async(&mut self.connection.clone())
            .await
            .map_err(failed)
    }
}

impl SecondLevel for RedisLevel {
    fn kind(&self) -> &'static str {
        "redis"
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
    use std::io::{BufRead, BufReader};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

    use bytes::Bytes;

    use super::{PURGE_MEMORY, RedisLevel};
    use crate::isr::level2::{Record, SecondLevel, checks, conformance};
    use crate::{Purge, PurgeMode};

    /// The Redis the tests share (each under a namespace of its own).
    const SHARED: &str = "redis://127.0.0.1:6379";

    /// Says why a test that needs Redis did not run; under CI (`CI` set and
    /// not empty) fails it instead: there a test that did not run must not
    /// pass.
    fn unavailable(why: &str) {
        let ci = std::env::var_os("CI").is_some_and(|value| !value.is_empty());
        assert!(!ci, "Redis is required under CI, but {why}");
        eprintln!("skipped: {why}");
    }

    /// A namespace no other run uses.
    fn namespace(test: &str) -> String {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
        format!("isr-test:{test}:{}-{nanos}:", std::process::id())
    }

    /// A level on the shared Redis, or `None` (see [`unavailable`]).
    async fn shared(test: &str) -> Option<RedisLevel> {
        match RedisLevel::connect(SHARED, &namespace(test)).await {
            Ok(level) => Some(level),
            Err(error) => {
                unavailable(&format!("nothing answers at {SHARED} ({error})"));
                None
            }
        }
    }

    /// Deletes the test's keys from the shared Redis.
    async fn clear(level: &RedisLevel) {
        let mut connection = level.connection.clone();
        let keys: Vec<String> = ::redis::cmd("KEYS")
            .arg(format!("{}*", level.namespace))
            .query_async(&mut connection)
            .await
            .expect("KEYS");
        if !keys.is_empty() {
            ::redis::cmd("DEL").arg(keys).exec_async(&mut connection).await.expect("DEL");
        }
    }

    async fn command<T: ::redis::FromRedisValue>(level: &RedisLevel, args: &[&str]) -> T {
        let mut cmd = ::redis::cmd(args[0]);
        cmd.arg(&args[1..]);
        cmd.query_async(&mut level.connection.clone()).await.expect("command")
    }

    fn record(ttl: Duration) -> Record {
        Record {
            bytes: Bytes::from_static(b"x"),
            path: "/x".into(),
            tags: vec!["t".into()],
            generation: 0,
            ttl,
        }
    }

    #[tokio::test]
    async fn redis_level_conforms() {
        let Some(level) = shared("conforms").await else { return };
        conformance::check(&level, &level.namespace.clone()).await;
        clear(&level).await;
    }

    #[tokio::test]
    async fn two_redis_levels_purge_at_once() {
        let Some(one) = shared("concurrent").await else { return };
        let two = RedisLevel::connect(SHARED, &one.namespace).await.expect("a second connection");
        checks::concurrent_purges(&one, &two, "concurrent").await;
        clear(&one).await;
    }

    #[tokio::test]
    async fn redis_records_markers_and_leases_expire() {
        let Some(level) = shared("expire").await else { return };
        let ns = &level.namespace;
        let pttl = |key: String| {
            let level = &level;
            async move { command::<i64>(level, &["PTTL", &key]).await }
        };

        level.put("short", record(Duration::from_secs(90))).await.expect("put");
        let left = pttl(format!("{ns}r:short")).await;
        assert!((1..=90_000).contains(&left), "expires with its ttl: {left} ms left");

        level.put("long", record(PURGE_MEMORY * 4)).await.expect("put");
        let memory = i64::try_from(PURGE_MEMORY.as_millis()).expect("fits");
        let left = pttl(format!("{ns}r:long")).await;
        assert!(left <= memory && left > memory - 60_000, "capped at PURGE_MEMORY: {left} ms left");

        level.put("gone", record(Duration::ZERO)).await.expect("put");
        assert_eq!(level.get("gone").await.expect("get"), None, "a ttl that ran out");

        let purge = Purge {
            paths: vec!["/x".into()],
            tags: vec!["t".into()],
            mode: PurgeMode::Hard,
            ..Purge::default()
        };
        level.purge(&purge).await.expect("purge");
        for marker in [format!("{ns}m:path:hard:/x"), format!("{ns}m:tag:hard:t")] {
            let left = pttl(marker.clone()).await;
            assert!(left <= memory && left > memory - 60_000, "{marker}: {left} ms left");
        }

        let ttl = Duration::from_millis(20);
        assert_eq!(level.lease("k", "one", ttl).await.expect("lease"), Some(1));
        let left = pttl(format!("{ns}l:k")).await;
        assert!((1..=20).contains(&left), "the lease expires with its ttl: {left} ms left");
        assert_eq!(level.lease("k", "two", ttl).await.expect("lease"), None, "held by one");
        // Redis's own expiry: poll until it lets "two" in (bounded).
        let deadline = Instant::now() + Duration::from_secs(2);
        let taken = loop {
            if let Some(generation) = level.lease("k", "two", ttl).await.expect("lease") {
                break generation;
            }
            assert!(Instant::now() < deadline, "the lease of a holder that died never ran out");
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        assert_eq!(taken, 1, "a holder that died is replaced when its lease runs out");
        clear(&level).await;
    }

    #[tokio::test]
    async fn redis_prefixes_match_listed_or_looked_up_and_are_forgotten() {
        let Some(level) = shared("prefixes").await else { return };
        let ns = level.namespace.clone();
        let mut record = record(Duration::from_secs(60));
        record.path = "/a/b".into();
        level.put("k", record).await.expect("put");
        let prefixes = |prefixes: &[&str], mode| Purge {
            prefixes: prefixes.iter().map(|prefix| (*prefix).to_owned()).collect(),
            mode,
            ..Purge::default()
        };

        // Fewer prefixes than the path has: the script lists them.
        let hard = level.purge(&prefixes(&["/a/", "/b"], PurgeMode::Hard)).await.expect("purge");
        let found = level.get("k").await.expect("get").expect("kept");
        assert_eq!((found.soft, found.hard), (0, hard));

        // More: it looks up each prefix of the path, the empty one too.
        let others: Vec<String> = (0..10).map(|n| format!("/z{n}")).collect();
        let others: Vec<&str> = others.iter().map(String::as_str).collect();
        level.purge(&prefixes(&others, PurgeMode::Soft)).await.expect("purge");
        let found = level.get("k").await.expect("get").expect("kept");
        assert_eq!((found.soft, found.hard), (0, hard), "none of them matches");
        let all = level.purge(&prefixes(&[""], PurgeMode::Soft)).await.expect("purge");
        let found = level.get("k").await.expect("get").expect("kept");
        assert_eq!((found.soft, found.hard), (all, hard), "the empty prefix matches every path");

        // A prefix last purged longer than PURGE_MEMORY ago is forgotten at the next purge.
        let at = format!("{ns}m:prefix:at");
        let _: () = command(&level, &["ZADD", &at, "0", "/a/"]).await;
        level.purge(&prefixes(&["/c"], PurgeMode::Soft)).await.expect("purge");
        let hard_hash = format!("{ns}m:prefix:hard");
        assert!(!command::<bool>(&level, &["HEXISTS", &hard_hash, "/a/"]).await, "forgotten");
        assert!(command::<bool>(&level, &["HEXISTS", &hard_hash, "/b"]).await, "still recent");
        let found = level.get("k").await.expect("get").expect("kept");
        assert_eq!(found.hard, 0);
        clear(&level).await;
    }

    #[tokio::test]
    async fn redis_corrupt_values_are_misses_or_errors() {
        let Some(level) = shared("corrupt").await else { return };
        let ns = level.namespace.clone();
        let key = |name: &str| format!("{ns}r:{name}");

        let generation = key("generation");
        let _: () =
            command(&level, &["HSET", &generation, "bytes", "x", "generation", "two"]).await;
        let _: () = command(&level, &["HSET", &generation, "path", "/x", "tags", ""]).await;
        assert_eq!(level.get("generation").await.expect("a miss"), None, "not a number");

        let _: () = command(&level, &["HSET", &key("half"), "bytes", "x", "generation", "1"]).await;
        assert_eq!(level.get("half").await.expect("a miss"), None, "no path, no tags");

        let _: () = command(&level, &["SET", &key("string"), "x"]).await;
        assert!(level.get("string").await.is_err(), "not a hash");

        level.put("marked", record(Duration::from_secs(60))).await.expect("put");
        let _: () = command(&level, &["SET", &format!("{ns}m:tag:soft:t"), "soon"]).await;
        assert!(level.get("marked").await.is_err(), "a marker that is not a generation");

        let _: () = command(&level, &["SET", &format!("{ns}gen"), "many"]).await;
        assert!(level.generation().await.is_err());
        assert!(level.lease("k", "one", Duration::from_secs(1)).await.is_err());
        assert!(level.purge(&Purge::tags(["t"], PurgeMode::Soft)).await.is_err());
        clear(&level).await;
    }

    #[tokio::test]
    async fn redis_connect_gives_up_when_nothing_answers() {
        let port = free_port();
        let started = Instant::now();
        let connected = RedisLevel::connect(&format!("redis://127.0.0.1:{port}"), "isr:").await;
        assert!(connected.is_err(), "nothing listens on {port}");
        assert!(started.elapsed() < super::CONNECT_TIMEOUT + Duration::from_millis(500));
    }

    /// A `redis-server` of the test's own, on `port`, that keeps nothing.
    struct Server {
        child: Child,
    }

    impl Server {
        /// Started and ready, or `None` (see [`unavailable`]).
        async fn start(port: u16) -> Option<Self> {
            let spawned = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn();
            let mut child = match spawned {
                Ok(child) => child,
                Err(error) => {
                    unavailable(&format!("redis-server could not start ({error})"));
                    return None;
                }
            };
            // Ready when it says so; its log is read to the end, so that it
            // never blocks on a full pipe.
            let stdout = child.stdout.take().expect("piped");
            let (ready, is_ready) = tokio::sync::oneshot::channel();
            std::thread::spawn(move || {
                let mut ready = Some(ready);
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if line.contains("Ready to accept connections") {
                        ready.take().map(|ready| ready.send(()));
                    }
                }
            });
            let server = Self { child };
            tokio::time::timeout(Duration::from_secs(10), is_ready)
                .await
                .expect("redis-server ready within 10 s")
                .expect("redis-server ready (not exited)");
            Some(server)
        }

        fn signal(&self, signal: &str) {
            let status = Command::new("kill")
                .args([&format!("-{signal}"), &self.child.id().to_string()])
                .status()
                .expect("kill");
            assert!(status.success(), "kill -{signal}");
        }

        fn stop(&mut self) {
            self.child.kill().expect("kill redis-server");
            self.child.wait().expect("redis-server exits");
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            // It may have stopped already.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn free_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.local_addr().expect("its address").port()
    }

    /// A call must come back, with an error, soon.
    async fn fails_soon(level: &RedisLevel, why: &str) {
        let started = Instant::now();
        let result = tokio::time::timeout(Duration::from_secs(10), level.get("k"))
            .await
            .unwrap_or_else(|_| panic!("{why}: the call hung"));
        assert!(result.is_err(), "{why}: {result:?}");
        let took = started.elapsed();
        assert!(took < Duration::from_secs(3), "{why}: the error took {took:?}");
    }

    /// A call succeeds again within a few tries (the first may still see
    /// the connection that failed), on the same `RedisLevel`.
    async fn answers_again(level: &RedisLevel) -> Option<bytes::Bytes> {
        for _ in 0..3 {
            if let Ok(found) = level.get("k").await {
                return found.map(|found| found.bytes);
            }
        }
        panic!("the level did not reconnect");
    }

    #[tokio::test]
    async fn redis_calls_fail_fast_while_redis_is_away_and_reconnect() {
        let port = free_port();
        let Some(mut server) = Server::start(port).await else { return };
        let level = RedisLevel::connect(&format!("redis://127.0.0.1:{port}"), "isr-test:")
            .await
            .expect("connect");
        level.put("k", record(Duration::from_secs(60))).await.expect("put");
        assert!(level.get("k").await.expect("get").is_some());

        // Hung: the response timeout ends the call.
        server.signal("STOP");
        fails_soon(&level, "a hung Redis").await;
        server.signal("CONT");
        assert_eq!(answers_again(&level).await.as_deref(), Some(&b"x"[..]));

        // Gone: the dropped connection, then the failed reconnections.
        server.stop();
        for _ in 0..3 {
            fails_soon(&level, "no Redis").await;
        }

        // Back (empty): the same level reconnects and loads its scripts again.
        let _server = Server::start(port).await.expect("redis-server starts again");
        assert_eq!(answers_again(&level).await, None, "a new, empty Redis");
        level.put("k", record(Duration::from_secs(60))).await.expect("put");
        assert!(level.get("k").await.expect("get").is_some());
    }

    #[tokio::test]
    #[ignore = "a measurement: cargo test -p isr-cache --all-features --release get_latency -- --ignored --nocapture"]
    async fn redis_get_latency() {
        let Some(level) = shared("latency").await else { return };
        let (p50, p99) = checks::get_latency(&level).await;
        println!("redis get of a 20 KB record: p50 {p50:?}, p99 {p99:?}");
        clear(&level).await;
    }
}
