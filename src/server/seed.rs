//! Demo content for a fresh clone: two accounts, a blog about building fast web
//! apps in Rust, a small shop with its campaigns, and a couple of orders, so the
//! site looks real on its first run.
//!
//! [`seed_demo`] writes only into an empty database (one with no `users` row) and
//! leaves any other database untouched, so it is safe to call on every start: it
//! never seeds twice and never mixes demo rows into real data. Everything goes in
//! through one transaction, so a failure leaves the database empty and the next
//! start simply tries again. (Two processes seeding the same empty database at
//! once cannot both succeed: the second trips over the unique email and rolls
//! back.)
//!
//! Invariants:
//! - Every timestamp is fixed, `BASE_TS` (2025-01-06T09:00:00Z) plus a whole
//!   number of days, never the clock. The same seed produces the same rows,
//!   hence the same pages and the same ETags, on every machine and in every test
//!   run. Only the password hashes differ, since their salts are random.
//! - The SQL is portable (`$n` placeholders, `RETURNING id`) and binds only `i64`
//!   and strings, so it runs unchanged on SQLite and PostgreSQL through the Any
//!   driver.
//! - The post `hello-isr` exists and is the oldest post: the end-to-end tests use
//!   it.
//! - Campaigns and orders name their product; the names are resolved to the ids
//!   the database generated, and the unit tests below check that each one exists.
//!
//! The demo passwords are public ([`DEMO_ADMIN_PASSWORD`],
//! [`DEMO_CUSTOMER_PASSWORD`]): turn demo seeding off, or change the passwords,
//! before exposing a deployment.

use anyhow::Context as _;
use sqlx::{AnyConnection, AnyPool, Row};

/// Email of the seeded administrator, "Ada Admin".
pub const DEMO_ADMIN_EMAIL: &str = "admin@example.com";
/// Password of the seeded administrator. Public: for demos and tests only.
pub const DEMO_ADMIN_PASSWORD: &str = "admin-demo-password";
/// Email of the seeded customer, "Casey Customer", who has two orders.
pub const DEMO_CUSTOMER_EMAIL: &str = "customer@example.com";
/// Password of the seeded customer. Public: for demos and tests only.
pub const DEMO_CUSTOMER_PASSWORD: &str = "customer-demo-password";

/// Seconds in a day.
const DAY: i64 = 86_400;

/// 2025-01-06T09:00:00Z, a Monday: when the oldest post, `hello-isr`, was
/// published. Every seeded timestamp is [`day`]`(n)`, that is `BASE_TS + n * DAY`.
const BASE_TS: i64 = 1_736_154_000;

/// Day the catalogue was last edited: 2025-03-07.
const CATALOGUE_DAY: i64 = 60;

/// 09:00 UTC, `n` days after [`BASE_TS`] (before it when `n` is negative).
const fn day(n: i64) -> i64 {
    BASE_TS + n * DAY
}

struct SeedUser {
    email: &'static str,
    name: &'static str,
    password: &'static str,
    /// `admin` or `customer`, as the `users.role` CHECK allows.
    role: &'static str,
    /// Account creation, in days from [`BASE_TS`].
    joined_day: i64,
}

/// Created three days before the first post: 2025-01-03.
const ADMIN: SeedUser = SeedUser {
    email: DEMO_ADMIN_EMAIL,
    name: "Ada Admin",
    password: DEMO_ADMIN_PASSWORD,
    role: "admin",
    joined_day: -3,
};

/// Signed up on 2025-02-16, before both of their orders.
const CUSTOMER: SeedUser = SeedUser {
    email: DEMO_CUSTOMER_EMAIL,
    name: "Casey Customer",
    password: DEMO_CUSTOMER_PASSWORD,
    role: "customer",
    joined_day: 41,
};

struct SeedPost {
    /// Unique, kebab-case: the post's URL.
    slug: &'static str,
    title: &'static str,
    /// One sentence, for listings and meta descriptions.
    summary: &'static str,
    author: &'static str,
    /// Publication, in days from [`BASE_TS`].
    published_day: i64,
    /// `updated_at` is this many days after `published_at`; zero when never revised.
    revised_after_days: i64,
    /// Plain text, no markup; stored joined by a blank line.
    paragraphs: &'static [&'static str],
}

struct SeedProduct {
    /// Also how campaigns and orders refer to the product.
    name: &'static str,
    description: &'static str,
    price_cents: i64,
    stock: i64,
}

struct SeedCampaign {
    slug: &'static str,
    headline: &'static str,
    /// Plain text, no markup; stored joined by a blank line.
    paragraphs: &'static [&'static str],
    cta_label: &'static str,
    /// [`SeedProduct::name`] of the product the call to action links to.
    product: &'static str,
}

/// An order placed by [`CUSTOMER`].
struct SeedOrder {
    /// [`SeedProduct::name`] of the product ordered.
    product: &'static str,
    quantity: i64,
    /// When it was placed, in days from [`BASE_TS`].
    day: i64,
}

const MAYA: &str = "Maya Lindqvist";
const JONAS: &str = "Jonas Ferreira";
const PRIYA: &str = "Priya Raman";
const SAM: &str = "Sam Okafor";

/// Oldest first; published on weekdays from 2025-01-06 to 2026-10-30.
const POSTS: &[SeedPost] = &[
    SeedPost {
        slug: "hello-isr",
        title: "Hello, ISR: static pages that refresh themselves",
        summary: "Why this starter renders a page once, serves it from cache and quietly rebuilds \
                  it in the background.",
        author: MAYA,
        published_day: 0,
        revised_after_days: 0,
        paragraphs: &[
            "Incremental Static Regeneration, usually shortened to ISR, is a simple idea with a \
             clumsy name. A page is rendered once, stored, and served to every visitor as if it \
             were a static file. Once a revalidation window has passed, the next request still \
             gets the stored copy immediately, but it also triggers a fresh render in the \
             background. When that render finishes, the new HTML replaces the old one and later \
             visitors see the update.",
            "The appeal is that you get most of the speed of a static site without a full rebuild \
             every time an editor fixes a typo. JavaScript frameworks made the pattern famous, and \
             it is often sold as a feature of a particular hosting platform. Nothing about it \
             needs one. It is a cache with a freshness rule and a way to regenerate an entry, and \
             a single Rust binary can do all of that with a modest amount of code.",
            "In this starter every route declares how it is cached, right next to the code that \
             renders it. An article can be regenerated every few minutes and invalidated as soon \
             as it is edited. A product page may need a shorter window because prices and stock \
             change. An account page depends on who is signed in and must never be stored in a \
             shared cache at all. Keeping the policy beside the route means you can read it \
             without digging through proxy configuration.",
            "The posts that follow look at each moving part in turn: the HTTP headers that tell \
             browsers and CDNs what to do, ETags for cheap revalidation, the databases that hold \
             the content, and the Leptos and axum features that make server rendering pleasant. \
             None of it is exotic. The goal is a site that is fast by default, that degrades \
             gracefully when something breaks, and that is boring to operate.",
        ],
    },
    SeedPost {
        slug: "cache-control-directive-by-directive",
        title: "Cache-Control, one directive at a time",
        summary: "A practical tour of max-age, s-maxage, no-cache, no-store, private and \
                  immutable, and when each one earns its place.",
        author: JONAS,
        published_day: 29,
        revised_after_days: 12,
        paragraphs: &[
            "Cache-Control is the header that decides whether a response may be stored, by whom \
             and for how long. It is a list of directives separated by commas, and most of the \
             confusion around it comes from a few names that sound alike but mean quite different \
             things. Reading them one at a time, with a concrete cache in mind, clears most of it \
             up. There are two kinds of cache to keep in mind: the private cache inside each \
             browser, and shared caches such as CDNs and reverse proxies.",
            "max-age sets how many seconds a response stays fresh in any cache. s-maxage does the \
             same for shared caches only and overrides max-age there, which lets you keep a page \
             briefly in browsers but much longer at the edge. private forbids shared caches from \
             storing the response, which is what you want for anything personalised. public \
             explicitly allows shared caching, even in cases where it would otherwise be off, such \
             as responses to requests that carried an Authorization header.",
            "The most misunderstood pair is no-cache and no-store. Despite its name, no-cache does \
             not forbid caching. It lets a cache store the response but requires it to check with \
             the origin before every reuse, which is cheap when combined with ETags. no-store is \
             the strict one: nothing may be written to any cache. Use it for pages that contain \
             secrets or one-time tokens, and prefer no-cache wherever you simply need every \
             visitor to see the latest version.",
            "Finally, immutable tells browsers that a response will not change while it is fresh, \
             so they should not revalidate it even when the user reloads the page. It only makes \
             sense for fingerprinted assets whose URL changes whenever their content does. A \
             typical header for a hashed script is public, max-age=31536000, immutable, while a \
             regenerated HTML page might send public, max-age=0, s-maxage=60, \
             stale-while-revalidate=600 and let the edge do the work.",
        ],
    },
    SeedPost {
        slug: "stale-while-revalidate-in-practice",
        title: "Stale-while-revalidate in practice",
        summary: "How one Cache-Control extension hides regeneration latency from users, and the \
                  failure modes worth knowing about.",
        author: PRIYA,
        published_day: 58,
        revised_after_days: 0,
        paragraphs: &[
            "stale-while-revalidate is a Cache-Control extension defined in RFC 5861. It gives a \
             cache permission to keep serving a response for a while after it has become stale, as \
             long as it starts fetching a fresh copy in the background. With max-age=60, \
             stale-while-revalidate=600, a response is fresh for one minute and may then be served \
             stale for up to ten more minutes while the cache revalidates it.",
            "The effect on users is that almost nobody waits for your origin. The first request \
             after the freshness window gets the old page instantly, and the refresh happens off \
             the critical path. It is the same trade that ISR makes, expressed as a header, which \
             means browsers and many CDNs can apply it without any code on your side. Your server \
             only needs to answer the background request in a reasonable time.",
            "The price is staleness. During the window, visitors may see content that is a few \
             minutes old, so choose the window per route. A blog post can be stale for an hour \
             without anyone noticing. A price usually should not be, and a checkout page should \
             not be cached at all. It is also worth adding stale-if-error, the sibling directive \
             from the same RFC, so that a cache can keep serving the last good page while your \
             origin is down.",
            "One subtle point: the background refresh is triggered by traffic. A page nobody \
             visits is never revalidated, so the first visitor after a long quiet period may be \
             handed something very old before the refresh lands. If that matters, pair \
             stale-while-revalidate with explicit invalidation when content changes, so that \
             saving an edit in the admin area removes the old copy instead of waiting for someone \
             to stumble on it.",
        ],
    },
    SeedPost {
        slug: "etags-and-conditional-requests",
        title: "ETags and conditional requests",
        summary: "Entity tags let a cache ask whether a page has changed and receive a tiny 304 \
                  instead of the whole document.",
        author: SAM,
        published_day: 86,
        revised_after_days: 0,
        paragraphs: &[
            "An ETag is an opaque identifier that a server attaches to a specific version of a \
             response. When a cache holds a stale copy, it sends the tag back in an If-None-Match \
             header. If the resource has not changed, the server answers 304 Not Modified with no \
             body, and the cache keeps using what it already has. For a large HTML page, that \
             turns tens of kilobytes of transfer into a few hundred bytes of headers.",
            "Tags come in two strengths. A strong tag, written as a quoted string, promises that \
             the bytes are identical. A weak tag, prefixed with W/, only promises that the content \
             is equivalent, for example the same article serialised with different whitespace. \
             If-None-Match uses the weak comparison, so either kind works for revalidation. Some \
             proxies turn strong tags into weak ones when they compress a response, which is worth \
             remembering when you debug a mismatch.",
            "The easiest way to produce an ETag is to hash the response body. That is correct, but \
             it means you still render the page before you can answer 304. A cheaper option is to \
             derive the tag from data you already have, such as a post id and its updated_at \
             timestamp, and skip rendering entirely when nothing has changed. It is also why the \
             demo data in this starter uses fixed dates: identical content yields identical tags \
             on every machine.",
            "ETags help with writes too. A client can send If-Match with the tag it last saw, and \
             the server rejects the update with 412 Precondition Failed if someone else changed \
             the resource in the meantime. That is optimistic concurrency control with nothing \
             more than standard headers, and it works as well for an admin form as it does for a \
             public API that several clients edit at once.",
        ],
    },
    SeedPost {
        slug: "sqlite-in-production",
        title: "SQLite in production is not a joke",
        summary: "With WAL mode, a busy timeout and a real backup plan, SQLite comfortably runs a \
                  content site on a single server.",
        author: MAYA,
        published_day: 115,
        revised_after_days: 30,
        paragraphs: &[
            "SQLite has a reputation as a toy for tests and prototypes, yet it runs a remarkable \
             amount of production software. For a site that lives on one server, it removes a \
             whole category of problems: there is no network hop, no separate process to monitor \
             and no connection limit to tune. A query is a function call into a library, so \
             lookups that would take a millisecond over a network often finish in microseconds.",
            "The setting that matters most is the journal mode. In WAL mode, readers do not block \
             the writer and the writer does not block readers, which is exactly the pattern of a \
             web application that reads far more than it writes. There is still only one writer at \
             a time, so configure a busy timeout: concurrent writes then wait briefly for their \
             turn instead of failing at once with a database-is-locked error. Short write \
             transactions do the rest.",
            "With WAL enabled, synchronous=NORMAL is a popular companion. It skips some disk \
             flushes, which makes commits much faster, and the database stays consistent after a \
             crash, although the most recent transactions can be lost if the machine loses power. \
             Decide whether that is acceptable for your data. For a blog, or a small shop whose \
             payments are recorded by an external provider, it usually is.",
            "One more setting is easy to forget: SQLite does not enforce foreign keys unless each \
             connection turns them on with PRAGMA foreign_keys. sqlx enables it by default, but \
             the sqlite3 shell and many other tools do not, so a quick manual fix from the command \
             line can quietly insert rows that break your constraints. Run PRAGMA \
             foreign_key_check after any change made by hand, and keep such changes rare.",
            "Backups deserve a plan from the first day. Copying the database file while the \
             application writes to it can produce a corrupt copy. Use VACUUM INTO or the online \
             backup API to take a consistent snapshot, or run a tool such as Litestream that \
             continuously ships the write-ahead log to object storage. Then restore a backup at \
             least once, on purpose, before you need to. A backup that has never been restored is \
             only a hope.",
        ],
    },
    SeedPost {
        slug: "sizing-a-postgres-connection-pool",
        title: "Sizing a Postgres connection pool",
        summary: "More connections rarely means more throughput: how to choose a pool size, and \
                  when to put PgBouncer in front.",
        author: JONAS,
        published_day: 143,
        revised_after_days: 0,
        paragraphs: &[
            "Every PostgreSQL connection is served by its own backend process on the database \
             server, with its own memory. That makes connections far more expensive than they look \
             from application code, and it is part of why max_connections defaults to a modest \
             100. An application-side pool exists to reuse a small number of these connections \
             across many requests instead of opening a new one for each of them.",
            "It is tempting to make the pool large so that requests never wait for a connection. \
             In practice throughput usually peaks with surprisingly few active connections, on the \
             order of a small multiple of the database server's CPU cores. Beyond that point, \
             queries compete for CPU, locks and disk, and every one of them gets slower. A request \
             that waits a millisecond for a free connection often finishes sooner than one running \
             next to fifty others.",
            "Start with about ten connections per application instance, set an acquire timeout so \
             that an overloaded service fails fast instead of queueing forever, and measure. \
             Remember to multiply by the number of instances: ten replicas with twenty connections \
             each can exhaust the server before any single replica looks busy. sqlx exposes \
             max_connections, min_connections and acquire_timeout on its pool options, which \
             covers most needs.",
            "When you run many instances or short-lived functions, a pooler such as PgBouncer lets \
             thousands of client connections share a few dozen server connections. Transaction \
             pooling gives the biggest savings, but it breaks anything that relies on session \
             state, such as SET commands and session-level advisory locks, and older releases \
             could not handle prepared statements at all. Check those constraints against your \
             driver before you switch.",
        ],
    },
    SeedPost {
        slug: "server-functions-in-leptos",
        title: "Server functions in Leptos",
        summary: "One signature, two compilations: how #[server] turns a Rust function into both \
                  an HTTP endpoint and its client.",
        author: PRIYA,
        published_day: 171,
        revised_after_days: 0,
        paragraphs: &[
            "Server functions are one of the features that make Leptos feel different from other \
             web frameworks. You write an async Rust function, annotate it with #[server], and \
             call it from a component as if it were local. When the crate is compiled for the \
             server, the body runs as an ordinary function and is registered as an HTTP endpoint. \
             When it is compiled to WebAssembly for the browser, the body is replaced by code that \
             serialises the arguments and calls that endpoint.",
            "Because both sides come from the same signature, the request and response types \
             cannot drift apart. Rename a field and the compiler points at every caller. By \
             default the arguments travel as a URL-encoded POST body and the return value comes \
             back as JSON, but the encoding can be chosen per function, for example GET for reads \
             that a cache may store, or a compact binary format for large payloads.",
            "Server functions return a Result, and the error crosses the network as well, which \
             makes it natural to show a validation message in a form without writing any glue \
             code. Inside the function you can reach server-only resources, such as the database \
             pool, through context provided by the integration with axum. Keep those imports \
             behind the ssr feature so they never end up in the WebAssembly bundle.",
            "There is one thing to keep in mind at all times: a server function is a public \
             endpoint. Anyone can call it with any arguments, not only your components. Check \
             authentication and authorisation inside the function, validate inputs exactly as you \
             would for any other API, and never rely on the fact that the button calling it is \
             hidden from some users.",
        ],
    },
    SeedPost {
        slug: "axum-extractors-without-the-mystery",
        title: "Axum extractors without the mystery",
        summary: "Why the order of handler arguments matters, and how to write your own extractor \
                  in axum 0.8.",
        author: SAM,
        published_day: 199,
        revised_after_days: 3,
        paragraphs: &[
            "An axum handler is an async function whose arguments are extractors. Each argument \
             type knows how to pull one thing out of the incoming request: a path parameter, the \
             query string, a header, shared state or the body. Axum runs them in order before the \
             handler itself, and if any of them fails, its rejection is turned into a response and \
             the handler is never called at all.",
            "There are two extractor traits. FromRequestParts only needs the request line and \
             headers, so any number of these extractors can run one after another. FromRequest \
             consumes the whole request, including the body, and can therefore appear only once, \
             as the last argument. That is why Json, Form and String must come last. When the \
             compiler complains that your function is not a valid handler, an extractor in the \
             wrong position is the usual cause.",
            "Writing your own extractor is a good way to remove repetition. A CurrentUser type \
             that implements FromRequestParts can read the session cookie, look the user up and \
             reject the request with 401 when nobody is signed in. Every handler that needs a user \
             then simply takes one as an argument. Since axum 0.8 the extractor traits use native \
             async functions in traits, so the async_trait macro is no longer required.",
            "Version 0.8 changed two more details worth knowing when you upgrade. Path parameters \
             are written with braces, as in /posts/{slug}, instead of a leading colon, and the old \
             syntax is rejected with a clear message when the router is built. And using Option<T> \
             as an extractor now requires the inner type to implement OptionalFromRequestParts, so \
             a malformed value is reported as an error instead of being silently treated as \
             missing.",
        ],
    },
    SeedPost {
        slug: "debugging-hydration-mismatches",
        title: "Debugging hydration mismatches",
        summary: "When the server's HTML and the browser's first render disagree, hydration \
                  breaks, and these are the usual suspects.",
        author: MAYA,
        published_day: 232,
        revised_after_days: 0,
        paragraphs: &[
            "Hydration is the step where WebAssembly running in the browser takes over HTML that \
             the server has already rendered. Instead of building the page again, the client walks \
             the existing DOM and attaches event listeners and reactive state to it. For that to \
             work, the client's first render must produce the same structure as the server's. When \
             it does not, you get warnings in the console and sometimes buttons that do nothing or \
             content that appears twice.",
            "The most common cause is code that renders differently depending on where it runs. \
             Reading the current time, generating random ids, measuring the window or reading \
             local storage all give different answers on the server and in the browser. Render a \
             neutral placeholder on both sides, then fill in the browser-specific value from an \
             effect, which only runs in the browser once hydration has finished.",
            "The second cause is invalid HTML. Browsers repair some markup while parsing it, for \
             example by closing a paragraph when they meet a div inside it, or by inserting a \
             tbody element into a table that lacks one. The DOM the client walks is then not the \
             DOM the server sent. Validating your templates, or comparing the elements panel with \
             the raw response, usually exposes the problem within minutes.",
            "Finally, check that both sides start from the same data. Leptos serialises the values \
             of resources loaded during server rendering into the page, so the client can reuse \
             them instead of fetching again, but only values loaded through resources make that \
             trip. Anything read from a global, an environment variable or a browser API during \
             the first render can differ, and the first render diverges with it.",
        ],
    },
    SeedPost {
        slug: "what-your-cdn-uses-as-a-cache-key",
        title: "What your CDN uses as a cache key",
        summary: "Host, path and query string decide whether two requests share a cached response, \
                  and small details move the hit rate.",
        author: JONAS,
        published_day: 260,
        revised_after_days: 0,
        paragraphs: &[
            "A CDN decides whether it can answer a request from its cache by computing a cache \
             key. By default that key is usually the scheme, host, path and the full query string. \
             Requests with the same key share one cached response, and requests that differ in any \
             of those parts are cached separately, even if your server would have returned exactly \
             the same bytes for all of them.",
            "Query strings are where hit rates quietly disappear. Tracking parameters such as \
             utm_source create a new key for every campaign link, and the same parameters in a \
             different order count as a different URL as well. Most CDNs let you ignore specific \
             parameters, keep an allow list, or sort parameters before building the key. For pages \
             that never read the query string, ignoring it entirely is often the right choice.",
            "Cookies are the other trap. They are rarely part of the key, which is exactly why \
             many CDNs refuse to cache a response that sets a cookie, and some bypass the cache \
             for any request that carries one. If an analytics script or a framework sets a cookie \
             on every page, your cache may be doing nothing at all. Check the response headers at \
             the edge, which usually include a hit or miss indicator, before you trust a \
             dashboard.",
            "Finally, make the origin agree with the key. If your server renders different content \
             based on a header that is not part of the key, such as Accept-Language, the CDN will \
             cheerfully serve one visitor's version to everyone else. Either add that header to \
             the key, send a matching Vary header, or move the variation into the URL itself, for \
             example with a language prefix in the path.",
        ],
    },
    SeedPost {
        slug: "the-vary-header-carefully",
        title: "The Vary header, carefully",
        summary: "Vary tells caches which request headers change a response; used carelessly, it \
                  turns one cache entry into thousands.",
        author: PRIYA,
        published_day: 288,
        revised_after_days: 0,
        paragraphs: &[
            "The Vary response header lists the request headers that were used to select a \
             response. A cache that stores the response must then treat requests with different \
             values of those headers as different variants of the same URL. It is the standard way \
             to say that one address can produce different bodies, and it is what keeps caches \
             from handing a compressed body to a client that cannot decode it.",
            "Vary: Accept-Encoding is the classic, safe example. There are only a handful of \
             realistic values, so a cache ends up holding a gzip variant, a Brotli variant and \
             perhaps an uncompressed one. Most compression middleware, including the compression \
             layer in tower-http, adds this header for you. If you compress responses some other \
             way, add it yourself, or a shared cache may one day hand Brotli bytes to a client \
             that only asked for gzip.",
            "Trouble starts with headers that have many possible values. Vary: User-Agent creates \
             a separate variant for every browser build in the wild, and Vary: Cookie usually \
             creates one per visitor, which amounts to not caching at all. Some caches simply \
             refuse to store such responses. Vary: * goes further still and tells caches that a \
             stored response can never be reused without asking the origin first.",
            "If different users need different content, it is usually better to split the page. \
             Serve a cacheable document that is identical for everyone, and load the personal \
             parts, such as a cart badge or a greeting, from a small uncached endpoint. The shared \
             document stays fast at the edge, only the tiny personal request reaches your server, \
             and the shared part can be regenerated without touching anything specific to a user.",
        ],
    },
    SeedPost {
        slug: "purge-or-expire",
        title: "Purge or expire? Choosing an invalidation strategy",
        summary: "Expiry is simple and safe, targeted purges are fast and precise, and most sites \
                  need a little of both.",
        author: SAM,
        published_day: 317,
        revised_after_days: 0,
        paragraphs: &[
            "There are only two ways to get new content out of a cache: wait for the old copy to \
             expire, or tell the cache to drop it. Expiry is the default and needs no \
             coordination. You choose a lifetime, and the worst case is that visitors see old \
             content for that long. It fails gracefully, because a page that everyone forgot about \
             still refreshes itself eventually.",
            "Purging is precise. When an editor publishes a change, the application asks the cache \
             or CDN to remove specific URLs, and the next visitor gets a fresh render. The hard \
             part is knowing which URLs to purge. Editing a post changes the post page, but also \
             the blog index, the author page, the feed and perhaps the home page. Miss one, and it \
             stays stale until it expires anyway.",
            "Tag-based purging solves that bookkeeping problem. Each response carries a header \
             listing the entities it was built from, such as post-42 and author-3, and the CDN \
             indexes cached objects by those tags. Fastly calls them surrogate keys and Cloudflare \
             calls them cache tags. Purging the tag post-42 then removes every page that mentioned \
             the post, without the application keeping track of any URLs.",
            "In practice, combine the two. Purge, by URL or by tag, for the changes people are \
             waiting to see, and keep a sensible expiry as a safety net for everything else, \
             including bugs in your purge logic. Long lifetimes with reliable purging give the \
             best hit rate, while short lifetimes without purging are easier to reason about. \
             Start simple, and add precision when editors begin asking why their change is not \
             live yet.",
        ],
    },
    SeedPost {
        slug: "brotli-gzip-and-precompression",
        title: "Compression: Brotli, gzip and precompressed assets",
        summary: "Compress dynamic HTML quickly, compress static assets once at build time, and \
                  skip files that are already compressed.",
        author: MAYA,
        published_day: 345,
        revised_after_days: 0,
        paragraphs: &[
            "Text compresses extremely well, and HTML, CSS, JavaScript and WebAssembly all shrink \
             dramatically. Gzip has been supported everywhere for decades, and Brotli, which every \
             modern browser accepts over HTTPS, usually produces noticeably smaller files from the \
             same input. For a WebAssembly bundle the difference between the two can be a \
             meaningful share of the download, and that translates directly into how soon the page \
             becomes interactive.",
            "Compression trades CPU time for bytes. Brotli at its highest quality setting is very \
             slow, far too slow to run on every request. For dynamic responses such as \
             server-rendered HTML, use a moderate level that keeps latency low. The \
             CompressionLayer in tower-http negotiates the encoding from the Accept-Encoding \
             request header and compresses responses on the fly, which is a sensible default for \
             pages.",
            "Static assets are different, because they never change after a build. Compress them \
             once, at the highest settings, and store the .br and .gz files next to the originals. \
             ServeDir in tower-http can serve those precompressed files directly whenever the \
             client accepts them, so the server does no compression work at request time and every \
             visitor still receives the smallest version available.",
            "Two more rules keep things efficient and safe. Do not compress images, video or fonts \
             in formats that are already compressed: you spend CPU and gain nothing. And be \
             careful when one response mixes a secret with text an attacker can influence, because \
             compression can leak information about the secret through the size of the response. \
             Keeping tokens out of compressed page bodies avoids that whole class of problem.",
        ],
    },
    SeedPost {
        slug: "fingerprinted-assets-and-immutable",
        title: "Fingerprinted assets and Cache-Control: immutable",
        summary: "Put a content hash in every asset URL and you can cache it for a year without \
                  ever serving a stale script.",
        author: JONAS,
        published_day: 374,
        revised_after_days: 0,
        paragraphs: &[
            "The fastest request is the one the browser never makes. For scripts, stylesheets and \
             WebAssembly, you get there by letting browsers cache them for a very long time. The \
             catch is obvious: if a file is cached for a year, how does anyone receive the new \
             version after a deploy? The answer is to make sure that a new version never lives at \
             the same URL as an old one.",
            "Fingerprinting puts a hash of a file's content into its name, so app.js becomes \
             something like app.3f9a1c.js. When the content changes, the hash changes, the HTML \
             refers to a new URL, and the browser fetches it as a brand new resource. Old files \
             can stay cached forever without harm, because nothing points at them anymore. Most \
             build tools can do this for you, and cargo-leptos has a setting to hash its output \
             files.",
            "Serve fingerprinted files with Cache-Control: public, max-age=31536000, immutable. \
             The immutable directive stops browsers from revalidating them on reload, which would \
             otherwise cost a burst of 304 responses every time someone presses refresh. Never \
             send this header for anything without a hash in its name. A long-lived favicon or \
             robots.txt without a version is a mistake you cannot take back, because you cannot \
             reach the copies already stored.",
            "The HTML document is the exception that holds everything together. It must stay \
             short-lived or be revalidated on every use, because it is the only place that knows \
             the current asset names. Keep the previous asset files around for a while after each \
             deploy, too. A visitor who loaded the old HTML a minute earlier may still request the \
             old script, and a 404 at that moment means a broken page.",
        ],
    },
    SeedPost {
        slug: "out-of-order-streaming-with-suspense",
        title: "Out-of-order streaming with Suspense",
        summary: "Leptos can send the page shell first and stream slow sections as they finish, \
                  but the right SSR mode depends on the route.",
        author: PRIYA,
        published_day: 402,
        revised_after_days: 0,
        paragraphs: &[
            "Server rendering has a familiar weakness: a page is only as fast as its slowest \
             query. If a sidebar needs a slow recommendation call, the whole page waits for it. \
             Streaming fixes this by sending HTML in pieces. The server flushes everything it can \
             render immediately, and the parts that are still loading follow later in the same \
             response, without a second round trip.",
            "In Leptos the boundaries are Suspense components. In the default out-of-order mode, \
             the server sends the shell with each Suspense fallback in place, then streams the \
             resolved content as each resource finishes, together with a small script that swaps \
             it into position. The browser can start painting and fetching assets before the \
             database has answered, which makes data-heavy pages feel much faster.",
            "The other modes exist for good reasons. In-order streaming sends the page from top to \
             bottom and pauses at each Suspense boundary, so the content arrives in document order \
             and can be shown without running any JavaScript. Async mode waits for every resource \
             before sending anything, which delays the first byte but produces complete HTML, \
             including titles and meta tags that depend on data. That matters for link previews \
             and search engines.",
            "For cached pages the reasoning changes again. If a route is rendered once and then \
             served from a cache for minutes, nobody waits for the render, so streaming buys very \
             little. A complete document is easier to store, compare and serve with an ETag. \
             Leptos also offers a static mode for routes generated ahead of time and regenerated \
             later. Stream dynamic pages, and prefer complete documents for cached ones.",
        ],
    },
    SeedPost {
        slug: "one-query-two-databases",
        title: "One query, two databases: sqlx's Any driver",
        summary: "Running the same SQL on SQLite and PostgreSQL is practical, as long as you stay \
                  inside a small portable subset.",
        author: SAM,
        published_day: 430,
        revised_after_days: 5,
        paragraphs: &[
            "Supporting both SQLite and PostgreSQL sounds like twice the work, but the queries of \
             a typical content site are simple enough to share. sqlx's Any driver picks the \
             concrete database from the connection URL at runtime: a sqlite: URL gives you a file \
             next to the binary, a postgres: URL gives you a managed server, and the application \
             code and query strings stay exactly the same.",
            "The price is a smaller set of types. The Any driver carries only what both databases \
             can represent in the same way: integers, floating-point numbers, text, bytes and \
             booleans. Dates, UUIDs and JSON are not supported directly, so this starter stores \
             times as Unix seconds and money as whole cents, both in BIGINT columns, and converts \
             them at the edges. It is less elegant than native types, but it is portable and easy \
             to compare, sort and cache.",
            "The SQL itself needs a little care. Use $1, $2 placeholders, which PostgreSQL \
             requires and which sqlx also accepts for SQLite. RETURNING works on both, provided \
             the SQLite library is version 3.35 or newer. Avoid database-specific functions in \
             queries and do that work in Rust instead. Upserts are a pleasant exception: INSERT \
             ... ON CONFLICT ... DO UPDATE is written the same way on both.",
            "Call sqlx::any::install_default_drivers before creating the pool, because the Any \
             driver cannot connect until the concrete drivers are registered. Note also that the \
             compile-time checked query macros need a concrete database, so the Any driver pairs \
             with the runtime query functions instead. A suite of integration tests that runs the \
             same queries against both databases, for example SQLite in a temporary file and \
             PostgreSQL in a container, makes up for the checks you give up.",
        ],
    },
    SeedPost {
        slug: "migrations-that-dont-hurt",
        title: "Migrations that don't hurt",
        summary: "Expand, migrate, contract: a pattern for schema changes that keeps old and new \
                  code running side by side.",
        author: MAYA,
        published_day: 463,
        revised_after_days: 0,
        paragraphs: &[
            "A schema migration is easy when you can stop the world, run a script and start the \
             new version. Real deployments rarely work that way. For a short time, old and new \
             instances of the application run at once, so the database must satisfy both of them. \
             The expand and contract pattern makes that window safe by splitting one risky change \
             into several boring ones.",
            "First expand: add new columns or tables without removing anything, and make new \
             columns nullable or give them a default. Deploy code that writes to both the old and \
             the new shape but still reads the old one. Then migrate the existing data, in batches \
             if the table is large, and deploy code that reads the new shape. Only when nothing \
             touches the old column do you contract and drop it, in a later release.",
            "sqlx makes the mechanics simple. The migrate macro embeds the migration files in the \
             binary at compile time, and the migrator records each applied version, with a \
             checksum, in a table of its own. Never edit a migration that has already run anywhere \
             that matters: the checksum will no longer match and the migrator will refuse to \
             continue, which is the right behaviour but an unpleasant surprise in the middle of a \
             deploy.",
            "Each database has its own quirks. PostgreSQL can add a column with a constant default \
             without rewriting the table, but some index builds and type changes still take locks \
             that block writes. SQLite's ALTER TABLE supports only a few operations, so larger \
             changes mean creating a new table, copying the rows across and renaming it, ideally \
             inside one transaction. Rehearse every migration on a copy of production data before \
             trusting it.",
        ],
    },
    SeedPost {
        slug: "argon2-without-blocking-the-runtime",
        title: "Hashing passwords with Argon2 without blocking the runtime",
        summary: "Argon2id is deliberately slow, so run it on Tokio's blocking pool and keep the \
                  async workers free for requests.",
        author: JONAS,
        published_day: 491,
        revised_after_days: 0,
        paragraphs: &[
            "Password hashing is meant to be expensive. Argon2id, the recommended variant of the \
             algorithm that won the Password Hashing Competition, spends both memory and CPU time \
             so that guessing passwords on specialised hardware stays costly. The RustCrypto \
             argon2 crate defaults to 19 MiB of memory, two passes and one lane, which matches the \
             minimum configuration OWASP recommends and takes tens of milliseconds on a typical \
             server.",
            "Tens of milliseconds is a long time inside an async runtime. Tokio runs many tasks on \
             a few worker threads and expects each task to reach an await point quickly. A task \
             that hashes a password occupies its worker for the whole computation, and every other \
             task scheduled on that thread has to wait. During a burst of sign-ins, a handful of \
             hashes can make completely unrelated pages slow.",
            "The fix is to move the work to Tokio's blocking thread pool with spawn_blocking and \
             await the result. The async task is suspended while another thread does the hashing, \
             so the workers keep serving requests. Optimisation matters as well: the hash is \
             dramatically slower in an unoptimised debug build, which is why this project compiles \
             the argon2 crate at opt-level 3 even in development.",
            "Store the complete PHC string that the hasher returns. It records the algorithm, the \
             parameters and the salt next to the hash, so you can raise the cost later and rehash \
             each password when its owner next signs in. And when a sign-in names an email that \
             does not exist, verify against a dummy hash anyway, so that response times do not \
             reveal which addresses have accounts.",
        ],
    },
    SeedPost {
        slug: "tower-layers-in-order",
        title: "Timeouts, request ids and the order of tower layers",
        summary: "Middleware order changes behaviour: a short guide to stacking tower-http layers \
                  around an axum router.",
        author: PRIYA,
        published_day: 519,
        revised_after_days: 0,
        paragraphs: &[
            "Axum builds on tower, so cross-cutting concerns such as tracing, timeouts, \
             compression and request ids are all layers that wrap your router. Each layer is a \
             service that receives the request, may do something with it, calls the service inside \
             it and may then do something with the response. The order in which layers wrap each \
             other decides what each of them sees, and it is easy to get backwards.",
            "With Router::layer, each call wraps everything added before it, so the last layer you \
             add is the outermost one and sees the request first. ServiceBuilder reads the other \
             way round: the layers listed first are the outermost. Pick one style and stick to it. \
             Many teams build the whole stack with a single ServiceBuilder, so that it reads from \
             top to bottom in the order a request travels through it.",
            "A sensible order for a web application starts by assigning a request id, so that \
             everything inside can log it, followed by tracing, so that the span includes the id \
             and covers the whole request. A timeout comes next, so that slow handlers are cut off \
             but still logged, and compression sits closest to the application. Propagating the \
             request id into the response headers gives anyone reporting a bug something you can \
             search for.",
            "Timeouts deserve a thought about what happens afterwards. When one fires, the \
             handler's future is dropped, but work it started elsewhere, such as a spawned task or \
             a query already sent to the database, may carry on regardless. Set statement timeouts \
             in the database as well, keep transactions short, and make any operation that a \
             client might retry idempotent. Finally, choose the status code a timeout returns \
             deliberately, so that clients and load balancers can tell a slow request apart from a \
             crash.",
        ],
    },
    SeedPost {
        slug: "measuring-ttfb-honestly",
        title: "Measuring TTFB honestly",
        summary: "Time to first byte hides DNS, TLS, redirects and cache misses; Server-Timing and \
                  percentiles tell the real story.",
        author: SAM,
        published_day: 547,
        revised_after_days: 0,
        paragraphs: &[
            "Time to first byte measures how long it takes from the start of a navigation until \
             the first byte of the response arrives. It is a useful health metric for \
             server-rendered sites, because everything else waits for it. A single number from a \
             local benchmark says little, though. Real visitors pay for DNS lookups, TLS \
             handshakes, redirects and the distance to your server, and the Web Vitals definition \
             of TTFB includes all of them.",
            "Cached and uncached requests are two different populations. A page served from a CDN \
             edge might arrive in twenty milliseconds, while a cache miss rendered at the origin \
             takes two hundred. An average hides both. Report percentiles, at least the median and \
             the 95th, and split them by cache status if your CDN exposes it. The tail is where \
             users notice slowness, and it is usually dominated by misses.",
            "The Server-Timing header lets the server explain where its own time went. A response \
             carrying Server-Timing: db;dur=12, render;dur=4 shows those phases in the browser's \
             developer tools next to the network timings, and scripts can read them through the \
             Navigation Timing and Resource Timing APIs. Adding it to the render path of a \
             regenerated route makes it obvious whether a slow response was a cache miss, a slow \
             query or a slow render.",
            "Measure in the field as well as in the lab. The Navigation Timing API exposes \
             responseStart for the page itself, and a tiny script can report it to your analytics. \
             Lab tests still catch regressions before they ship, as long as they run against a \
             release build: a debug build of a Rust server can easily be an order of magnitude \
             slower and says nothing about what users experience.",
        ],
    },
    SeedPost {
        slug: "shrinking-the-wasm-bundle",
        title: "Shrinking the WebAssembly bundle",
        summary: "Release profiles, wasm-opt and a little dependency hygiene can cut a Leptos \
                  client bundle dramatically.",
        author: MAYA,
        published_day: 576,
        revised_after_days: 0,
        paragraphs: &[
            "The WebAssembly bundle is the largest thing a Leptos page downloads, and until it has \
             arrived and been compiled, the page is not interactive. Rust's defaults optimise for \
             speed rather than size, so a naive release build is often much larger than it needs \
             to be. A few settings in Cargo.toml and one extra build step usually make a dramatic \
             difference without any changes to the code itself.",
            "Create a separate release profile for the client that inherits from release, sets \
             opt-level to \"z\", enables lto, reduces codegen-units to 1 and sets panic to \
             \"abort\". Together these let the compiler see the whole program at once and drop the \
             unwinding machinery. Keeping them in a profile of their own means the server binary \
             can still be optimised for speed, since its size hardly matters.",
            "Then run wasm-opt, from the Binaryen project, with -Oz on the output. It applies \
             WebAssembly-specific optimisations that the Rust compiler does not, and cargo-leptos \
             can run it for you in release builds. To see what remains, a tool such as twiggy \
             lists the functions that take up the most space, which often points at a single heavy \
             dependency or at generic code instantiated for many different types.",
            "Dependency hygiene does the rest. Avoid pulling large crates into the client for \
             small conveniences, keep server-only code behind the ssr feature, and be wary of \
             formatting-heavy code, since the machinery behind format! and Debug adds up quickly. \
             Serve the result with Brotli, which compresses WebAssembly well. For sites that are \
             mostly static content, Leptos also offers an islands mode in which only the \
             interactive components ship to the browser.",
        ],
    },
    SeedPost {
        slug: "graceful-shutdown-for-axum",
        title: "Graceful shutdown for axum servers",
        summary: "Handle SIGTERM, stop accepting connections, finish the requests in flight and \
                  close the database pool cleanly.",
        author: JONAS,
        published_day: 604,
        revised_after_days: 0,
        paragraphs: &[
            "Every deploy ends the life of a running process, and how it ends matters. If the \
             server exits immediately, requests in flight are cut off, users see errors and a \
             half-finished write may need to be retried. A graceful shutdown stops accepting new \
             connections, lets the current requests finish, releases resources and only then \
             exits. It takes a few lines of code and removes a steady trickle of errors at every \
             deploy.",
            "Orchestrators announce the end with SIGTERM. Kubernetes, for example, sends it to the \
             container and then waits for the termination grace period, thirty seconds by default, \
             before sending SIGKILL. In Tokio, listen for both SIGTERM and Ctrl-C with the signal \
             module, and pass a future that completes on either one to axum::serve through \
             with_graceful_shutdown. The server then stops accepting connections and waits for \
             open requests to complete.",
            "There is a subtle race at the very start. A load balancer may keep routing new \
             requests to an instance for a few seconds after the signal arrives, because removing \
             it from rotation takes time. A short pause before shutting down, or a readiness check \
             that starts failing as soon as the signal arrives, gives the load balancer time to \
             notice. Without one, the last requests sent to the instance meet closed connections.",
            "Once the server future returns, close the database pool explicitly. That lets \
             connections end cleanly, and with SQLite in WAL mode it gives the library a chance to \
             checkpoint the write-ahead log. Flush any telemetry that buffers in memory as well. \
             Finally, make sure the whole sequence fits inside the grace period, with a hard \
             timeout of your own as a backstop in case something hangs.",
        ],
    },
    SeedPost {
        slug: "dates-without-hydration-drift",
        title: "Rendering dates the same on server and client",
        summary: "Time zones and locales are a classic source of hydration bugs: store UTC, format \
                  deterministically, localise after hydration.",
        author: PRIYA,
        published_day: 633,
        revised_after_days: 0,
        paragraphs: &[
            "Dates look harmless until they cause a hydration mismatch. The server formats a \
             timestamp in its own time zone, usually UTC, while the browser formats the same value \
             in the visitor's local zone. Close to midnight the two may not even agree on the day. \
             The client's first render then no longer matches the HTML the server sent, and the \
             framework has to patch the difference or warns about it.",
            "The robust approach is to store and transmit times in UTC, in this starter as Unix \
             seconds, and to format them deterministically while rendering. Pick one format and \
             one zone, for example 6 January 2025 in UTC, and use them on both sides. The time \
             crate can format with a format description checked at compile time, which avoids \
             locale lookups and behaves the same in WebAssembly as on the server.",
            "If visitors should see local times, switch to them after hydration. Render the UTC \
             version inside a time element whose datetime attribute carries the machine-readable \
             value, then update the visible text from an effect that only runs in the browser. The \
             page is correct without JavaScript, search engines see a stable date, and the local \
             version appears a moment later without any mismatch.",
            "Relative times such as \"three days ago\" have the same problem in a stronger form, \
             because they change while a cached page sits at the edge. A page cached for an hour \
             is wrong for everyone who sees it towards the end of that hour. Render absolute dates \
             in cached HTML and compute relative labels in the browser, where the clock belongs to \
             the visitor. The same rule applies to anything derived from the current time.",
        ],
    },
    SeedPost {
        slug: "isr-deploy-checklist",
        title: "An ISR checklist for your next deploy",
        summary: "The questions to answer before you put a cached, server-rendered site in front \
                  of real traffic.",
        author: MAYA,
        published_day: 662,
        revised_after_days: 0,
        paragraphs: &[
            "Incremental regeneration works best when every route has a deliberate cache policy. \
             Before going live, walk through your routes and write down, for each one, how long it \
             may be stale, who may see it and what invalidates it. Pages that differ per user must \
             never be stored in a shared cache, and anything behind a sign-in should say private \
             or no-store explicitly instead of relying on defaults.",
            "Next, check the headers as the world sees them. Request a few pages through the CDN \
             and confirm that Cache-Control, ETag and Vary look the way you expect, that responses \
             setting cookies are not cached by accident, and that fingerprinted assets carry long \
             lifetimes while HTML does not. Then edit a piece of content and time how long the \
             change takes to appear, both with and without an explicit purge.",
            "Then test the unhappy paths. Stop the database and confirm that cached pages keep \
             being served, ideally with stale-if-error, and that uncached routes fail with a clear \
             error instead of hanging. Send a burst of requests to a page whose cache entry has \
             just expired and make sure only one regeneration runs, not one per request. Restart \
             the server under load and watch for errors during shutdown.",
            "Finally, make the system observable. Log cache hits, misses and regenerations with \
             the route name, expose render and query durations through Server-Timing, and keep an \
             eye on the 95th percentile of time to first byte. With those in place, caching stops \
             being a mysterious layer in front of the application and becomes just another part of \
             it that you can reason about, measure and improve.",
        ],
    },
];

const PRODUCTS: &[SeedProduct] = &[
    SeedProduct {
        name: "Tenkeyless Mechanical Keyboard",
        description: "An 87-key aluminium keyboard with hot-swappable switch sockets, so you can \
                      try new switches without soldering. It ships with tactile switches and thick \
                      PBT keycaps that will not turn shiny. Connects over USB-C and works on \
                      Linux, macOS and Windows.",
        price_cents: 14_900,
        stock: 24,
    },
    SeedProduct {
        name: "Split Ergonomic Keyboard",
        description: "A fully split, column-staggered keyboard that lets your shoulders relax and \
                      your wrists stay straight. Both halves run open-source firmware, so every \
                      key and layer can be remapped. Tenting feet and two braided cables are \
                      included.",
        price_cents: 24_900,
        stock: 3,
    },
    SeedProduct {
        name: "Felt Desk Mat",
        description: "A 900 by 400 mm mat of dense wool felt that softens keystrokes and gives \
                      your mouse a smooth, even surface. Big enough for a full keyboard, a mouse \
                      and a notebook.",
        price_cents: 3_900,
        stock: 64,
    },
    SeedProduct {
        name: "Vertical Ergonomic Mouse",
        description: "A wireless mouse tilted at 57 degrees, so your forearm rests in a neutral \
                      handshake position. Six programmable buttons, a quiet scroll wheel and a \
                      battery that lasts for weeks.",
        price_cents: 6_900,
        stock: 35,
    },
    SeedProduct {
        name: "Monitor Light Bar",
        description: "Clips onto the top of your monitor and lights the desk without glare on the \
                      screen. The colour temperature adjusts from warm to daylight, and it is \
                      powered over USB-C.",
        price_cents: 7_900,
        stock: 18,
    },
    SeedProduct {
        name: "USB-C Dock, 8-in-1",
        description: "One cable for power, two external displays, gigabit Ethernet and all your \
                      peripherals. Passes up to 100 W of charging through to your laptop. Back in \
                      stock soon.",
        price_cents: 8_900,
        stock: 0,
    },
    SeedProduct {
        name: "Noise-Cancelling Headphones",
        description: "Over-ear headphones with active noise cancelling that turns an open-plan \
                      office into a quiet room. Comfortable for a full day of deep work, with \
                      around 30 hours of battery life.",
        price_cents: 19_900,
        stock: 12,
    },
    SeedProduct {
        name: "Aluminium Laptop Stand",
        description: "Raises your laptop screen to eye level and folds flat into your bag. \
                      Machined from a single piece of aluminium, with silicone pads that keep your \
                      laptop from sliding.",
        price_cents: 4_900,
        stock: 40,
    },
    SeedProduct {
        name: "Keycap Set: Oxide Orange",
        description: "A 140-key PBT keycap set in warm orange and charcoal, with dye-sublimated \
                      legends that never wear off. Fits most mechanical keyboards with standard \
                      cross-shaped stems.",
        price_cents: 5_900,
        stock: 5,
    },
    SeedProduct {
        name: "Braided USB-C Cable Pack",
        description: "Three braided USB-C cables of 0.5, 1 and 2 metres, rated for 100 W charging \
                      and fast data transfer. Each comes with a reusable hook-and-loop strap for \
                      tidy cable runs.",
        price_cents: 2_900,
        stock: 80,
    },
    SeedProduct {
        name: "Walnut Monitor Riser",
        description: "A solid walnut shelf that lifts your monitor to a comfortable height and \
                      frees up space underneath for a keyboard. Finished with natural oil and felt \
                      feet that protect your desk.",
        price_cents: 12_900,
        stock: 9,
    },
    SeedProduct {
        name: "Rubber Duck Debugging Kit",
        description: "Three rubber ducks who listen patiently while you explain, line by line, why \
                      the code should work. Proven to find bugs that hours of staring at a stack \
                      trace could not.",
        price_cents: 2_900,
        stock: 57,
    },
];

const CAMPAIGNS: &[SeedCampaign] = &[
    SeedCampaign {
        slug: "spring-sale",
        headline: "Spring sale: a calmer desk for the new season",
        paragraphs: &[
            "Longer days deserve a tidier desk. This spring we are featuring the small upgrades \
             that make the biggest difference to a long working day: a felt mat that softens every \
             keystroke, a stand that lifts your screen to eye level and cables that finally stay \
             where you put them.",
            "Every desk mat is cut from dense wool felt and ships flat in recyclable packaging. \
             Pair one with a braided cable pack and your desk will look as organised as your \
             codebase, even if the codebase still has a few TODOs left in it.",
        ],
        cta_label: "Shop the desk mat",
        product: "Felt Desk Mat",
    },
    SeedCampaign {
        slug: "launch-week",
        headline: "Launch week: the split keyboard has landed",
        paragraphs: &[
            "After months of prototypes, the Split Ergonomic Keyboard is finally here. \
             Column-staggered keys, open-source firmware and tenting feet in the box: it is the \
             keyboard we wanted for long days of writing Rust.",
            "The first batch is small and stock is limited, so if you have been waiting, now is \
             the time. Every keyboard is tested by hand before it ships, and the firmware is yours \
             to tinker with from the day it arrives.",
        ],
        cta_label: "Meet the keyboard",
        product: "Split Ergonomic Keyboard",
    },
];

/// Placed on 2025-03-27 and 2025-06-05.
const ORDERS: &[SeedOrder] = &[
    SeedOrder { product: "Tenkeyless Mechanical Keyboard", quantity: 1, day: 80 },
    SeedOrder { product: "Braided USB-C Cable Pack", quantity: 2, day: 150 },
];

/// Seeds the demo content when the configuration asks for it (`SEED_DEMO`,
/// which defaults to off when `LEPTOS_ENV=PROD`); what the server does at
/// start-up.
///
/// # Errors
///
/// As [`seed_demo`].
pub async fn seed_if_configured(
    db: &AnyPool,
    config: &crate::server::Config,
) -> anyhow::Result<()> {
    if config.seed_demo {
        seed_demo(db).await
    } else {
        tracing::info!("demo seeding is off (SEED_DEMO)");
        Ok(())
    }
}

/// Fills an empty database with the demo content; does nothing if any user
/// exists.
///
/// Call it after the migrations. Every row is inserted in one transaction, so
/// either all of the content is there or none of it is.
///
/// # Errors
///
/// When a query or a password hash fails; nothing has been written then.
pub async fn seed_demo(db: &AnyPool) -> anyhow::Result<()> {
    let existing_users = sqlx::query("SELECT COUNT(*) FROM users")
        .fetch_one(db)
        .await
        .context("counting users")?
        .try_get::<i64, _>(0)?;
    if existing_users > 0 {
        tracing::debug!(existing_users, "the database has users: not seeding demo content");
        return Ok(());
    }

    // Argon2 is slow on purpose: hash both passwords side by side, off the async
    // workers, before the transaction opens so that no write lock waits on them.
    let (admin_hash, customer_hash) =
        tokio::try_join!(hash_password(ADMIN.password), hash_password(CUSTOMER.password))?;

    let mut tx = db.begin().await.context("opening the seed transaction")?;

    insert_user(&mut tx, &ADMIN, &admin_hash).await?;
    let customer_id = insert_user(&mut tx, &CUSTOMER, &customer_hash).await?;

    for post in POSTS {
        insert_post(&mut tx, post).await?;
    }

    let mut catalogue = Vec::with_capacity(PRODUCTS.len());
    for product in PRODUCTS {
        let id = insert_product(&mut tx, product).await?;
        catalogue.push((product, id));
    }

    for campaign in CAMPAIGNS {
        let (_, product_id) = find_product(&catalogue, campaign.product)?;
        insert_campaign(&mut tx, campaign, product_id).await?;
    }

    for order in ORDERS {
        let (product, product_id) = find_product(&catalogue, order.product)?;
        insert_order(&mut tx, customer_id, product_id, product.price_cents, order).await?;
    }

    tx.commit().await.context("committing the seed transaction")?;

    let users = 2; // ADMIN and CUSTOMER
    let rows = users + POSTS.len() + PRODUCTS.len() + CAMPAIGNS.len() + ORDERS.len();
    tracing::info!(
        rows,
        users,
        posts = POSTS.len(),
        products = PRODUCTS.len(),
        campaigns = CAMPAIGNS.len(),
        orders = ORDERS.len(),
        admin = DEMO_ADMIN_EMAIL,
        customer = DEMO_CUSTOMER_EMAIL,
        "seeded demo content into the empty database"
    );
    Ok(())
}

/// Hashes on tokio's blocking pool: argon2 would otherwise hold an async worker
/// for tens of milliseconds.
async fn hash_password(password: &'static str) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || crate::app::auth::password::hash(password))
        .await
        .context("the password hashing task failed")?
}

/// The product called `name` and the id the database gave it.
fn find_product(
    catalogue: &[(&'static SeedProduct, i64)],
    name: &str,
) -> anyhow::Result<(&'static SeedProduct, i64)> {
    catalogue
        .iter()
        .find(|(product, _)| product.name == name)
        .copied()
        .with_context(|| format!("the demo content refers to an unknown product {name:?}"))
}

/// Returns the new user's id.
async fn insert_user(
    conn: &mut AnyConnection,
    user: &SeedUser,
    password_hash: &str,
) -> anyhow::Result<i64> {
    let row = sqlx::query(
        "INSERT INTO users (email, name, password_hash, role, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(user.email)
    .bind(user.name)
    .bind(password_hash)
    .bind(user.role)
    .bind(day(user.joined_day))
    .fetch_one(conn)
    .await
    .with_context(|| format!("inserting the user {}", user.email))?;
    row.try_get::<i64, _>("id").context("reading the new user's id")
}

async fn insert_post(conn: &mut AnyConnection, post: &SeedPost) -> anyhow::Result<()> {
    let published_at = day(post.published_day);
    let updated_at = day(post.published_day + post.revised_after_days);
    sqlx::query(
        "INSERT INTO posts (slug, title, summary, body, author, published_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(post.slug)
    .bind(post.title)
    .bind(post.summary)
    .bind(post.paragraphs.join("\n\n"))
    .bind(post.author)
    .bind(published_at)
    .bind(updated_at)
    .execute(conn)
    .await
    .with_context(|| format!("inserting the post {}", post.slug))?;
    Ok(())
}

/// Returns the new product's id.
async fn insert_product(conn: &mut AnyConnection, product: &SeedProduct) -> anyhow::Result<i64> {
    let row = sqlx::query(
        "INSERT INTO products (name, description, price_cents, stock, updated_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(product.name)
    .bind(product.description)
    .bind(product.price_cents)
    .bind(product.stock)
    .bind(day(CATALOGUE_DAY))
    .fetch_one(conn)
    .await
    .with_context(|| format!("inserting the product {}", product.name))?;
    row.try_get::<i64, _>("id").context("reading the new product's id")
}

async fn insert_campaign(
    conn: &mut AnyConnection,
    campaign: &SeedCampaign,
    product_id: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO campaigns (slug, headline, body, cta_label, cta_href, product_id) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(campaign.slug)
    .bind(campaign.headline)
    .bind(campaign.paragraphs.join("\n\n"))
    .bind(campaign.cta_label)
    .bind(format!("/products/{product_id}"))
    .bind(product_id)
    .execute(conn)
    .await
    .with_context(|| format!("inserting the campaign {}", campaign.slug))?;
    Ok(())
}

async fn insert_order(
    conn: &mut AnyConnection,
    user_id: i64,
    product_id: i64,
    price_cents: i64,
    order: &SeedOrder,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO orders (user_id, product_id, quantity, total_cents, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user_id)
    .bind(product_id)
    .bind(order.quantity)
    .bind(price_cents * order.quantity)
    .bind(day(order.day))
    .execute(conn)
    .await
    .with_context(|| format!("inserting an order for {}", order.product))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// Day of the newest post: 2026-10-30, a Friday.
    const LAST_POST_DAY: i64 = 662;

    fn is_kebab_case(slug: &str) -> bool {
        !slug.is_empty()
            && !slug.starts_with('-')
            && !slug.ends_with('-')
            && !slug.contains("--")
            && slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    }

    #[test]
    fn dates_are_the_documented_ones() {
        assert_eq!(day(0), 1_736_154_000, "2025-01-06T09:00:00Z");
        assert_eq!(day(LAST_POST_DAY), 1_793_350_800, "2026-10-30T09:00:00Z");
    }

    #[test]
    fn posts_are_well_formed() {
        assert_eq!(POSTS.len(), 24);
        let slugs: HashSet<_> = POSTS.iter().map(|post| post.slug).collect();
        assert_eq!(slugs.len(), POSTS.len(), "slugs must be unique");
        let authors: HashSet<_> = POSTS.iter().map(|post| post.author).collect();
        assert_eq!(authors.len(), 4);
        for post in POSTS {
            assert!(is_kebab_case(post.slug), "{}", post.slug);
            assert!(!post.title.is_empty() && !post.summary.is_empty(), "{}", post.slug);
            assert!((3..=5).contains(&post.paragraphs.len()), "{}", post.slug);
            for paragraph in post.paragraphs {
                let words = paragraph.split_whitespace().count();
                assert!((60..=120).contains(&words), "{}: {words} words", post.slug);
                assert!(!paragraph.contains('\n'), "{}", post.slug);
            }
            assert!((0..=LAST_POST_DAY).contains(&post.published_day), "{}", post.slug);
            assert!(post.revised_after_days >= 0, "{}", post.slug);
        }
    }

    #[test]
    fn hello_isr_is_the_oldest_post() {
        let oldest = POSTS.iter().min_by_key(|post| post.published_day);
        assert_eq!(oldest.map(|post| post.slug), Some("hello-isr"));
        let days: Vec<_> = POSTS.iter().map(|post| post.published_day).collect();
        assert!(days.windows(2).all(|pair| pair[0] < pair[1]), "oldest first, one per day");
        assert_eq!(days.first(), Some(&0));
        assert_eq!(days.last(), Some(&LAST_POST_DAY));
    }

    #[test]
    fn products_cover_every_stock_state() {
        assert_eq!(PRODUCTS.len(), 12);
        let names: HashSet<_> = PRODUCTS.iter().map(|product| product.name).collect();
        assert_eq!(names.len(), PRODUCTS.len(), "names must be unique");
        for product in PRODUCTS {
            assert!((2_900..=24_900).contains(&product.price_cents), "{}", product.name);
            assert!((0..=80).contains(&product.stock), "{}", product.name);
        }
        let sold_out = PRODUCTS.iter().filter(|product| product.stock == 0).count();
        let low = PRODUCTS.iter().filter(|product| (1..=5).contains(&product.stock)).count();
        assert!(sold_out >= 1 && low >= 2, "sold out: {sold_out}, low: {low}");
    }

    #[test]
    fn campaigns_and_orders_refer_to_real_products() {
        let names: HashSet<_> = PRODUCTS.iter().map(|product| product.name).collect();
        let slugs: Vec<_> = CAMPAIGNS.iter().map(|campaign| campaign.slug).collect();
        assert_eq!(slugs, ["spring-sale", "launch-week"]);
        for campaign in CAMPAIGNS {
            assert!(names.contains(campaign.product), "{}", campaign.slug);
            assert_eq!(campaign.paragraphs.len(), 2, "{}", campaign.slug);
        }
        let quantities: Vec<_> = ORDERS.iter().map(|order| order.quantity).collect();
        assert_eq!(quantities, [1, 2]);
        for order in ORDERS {
            assert!(names.contains(order.product), "{}", order.product);
            assert!(order.day >= CUSTOMER.joined_day, "ordered before signing up");
            assert!(order.day >= CATALOGUE_DAY, "ordered before the catalogue existed");
        }
    }
}
