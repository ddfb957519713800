//! Seeds the demo posts: one Markdown file per post in `demo/`, named by its
//! slug, with TOML front matter between `+++` lines and the body after it.
//!
//! ```text
//! +++
//! title = "Hello, ISR: static pages that refresh themselves"
//! summary = "One sentence, for listings and meta descriptions."
//! author = "Maya Lindqvist"
//! published = 2025-01-06T09:00:00Z
//! updated = 2025-01-18T09:00:00Z   # optional: when it was last revised
//! +++
//!
//! Plain text, one paragraph per line, paragraphs separated by a blank line.
//! ```
//!
//! The files are compiled in (`include_str!`), so the binary needs nothing
//! beside it; a new post is a file and a line in [`POSTS`]. The body is stored
//! as written, less the blank lines around it. Dates are written out, never
//! taken from the clock, so the same seed renders the same pages (and ETags)
//! on every machine. Tests use `hello-isr`: keep it.

use anyhow::Context as _;
use serde::Deserialize;
use sqlx::AnyConnection;

use crate::db::UnixSeconds;

/// `(slug, file)` for each slug, the file being `demo/<slug>.md`.
macro_rules! posts {
    ($($slug:literal),* $(,)?) => {
        &[$(($slug, include_str!(concat!("demo/", $slug, ".md")))),*]
    };
}

/// Every demo post, inserted in this order (ids follow it).
const POSTS: &[(&str, &str)] = posts![
    "hello-isr",
    "cache-control-directive-by-directive",
    "stale-while-revalidate-in-practice",
    "etags-and-conditional-requests",
    "sqlite-in-production",
    "sizing-a-postgres-connection-pool",
    "server-functions-in-leptos",
    "axum-extractors-without-the-mystery",
    "debugging-hydration-mismatches",
    "what-your-cdn-uses-as-a-cache-key",
    "the-vary-header-carefully",
    "purge-or-expire",
    "brotli-gzip-and-precompression",
    "fingerprinted-assets-and-immutable",
    "out-of-order-streaming-with-suspense",
    "one-query-two-databases",
    "migrations-that-dont-hurt",
    "argon2-without-blocking-the-runtime",
    "tower-layers-in-order",
    "measuring-ttfb-honestly",
    "shrinking-the-wasm-bundle",
    "graceful-shutdown-for-axum",
    "dates-without-hydration-drift",
    "isr-deploy-checklist",
];

/// A post's front matter.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    title: String,
    summary: String,
    author: String,
    published: UnixSeconds,
    /// Absent when the post was never revised: then `published`.
    updated: Option<UnixSeconds>,
}

/// A post file, read.
#[derive(Debug)]
struct DemoPost {
    slug: &'static str,
    front: FrontMatter,
    body: &'static str,
}

/// Reads one post file; fails on a missing or malformed front matter, or an
/// empty title, summary, author or body.
fn parse(slug: &'static str, file: &'static str) -> anyhow::Result<DemoPost> {
    let (front, body) = file
        .strip_prefix("+++\n")
        .and_then(|rest| rest.split_once("\n+++\n"))
        .with_context(|| format!("blog/demo/{slug}.md: no front matter between +++ lines"))?;
    let front: FrontMatter =
        toml::from_str(front).with_context(|| format!("blog/demo/{slug}.md: the front matter"))?;
    let body = body.trim();
    let fields = [("title", &front.title), ("summary", &front.summary), ("author", &front.author)];
    for (field, text) in fields {
        anyhow::ensure!(!text.trim().is_empty(), "blog/demo/{slug}.md: the {field} is empty");
    }
    anyhow::ensure!(!body.is_empty(), "blog/demo/{slug}.md: the body is empty");
    Ok(DemoPost { slug, front, body })
}

/// Every post, read, in [`POSTS`] order.
fn posts() -> anyhow::Result<Vec<DemoPost>> {
    POSTS.iter().map(|&(slug, file)| parse(slug, file)).collect()
}

/// Inserts the demo posts.
///
/// # Errors
///
/// When a post file is malformed (nothing is written then) or an insert fails.
pub async fn seed(conn: &mut AnyConnection) -> anyhow::Result<()> {
    for post in posts()? {
        let published = post.front.published;
        sqlx::query(
            "INSERT INTO posts (slug, title, summary, body, author, published_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(post.slug)
        .bind(post.front.title)
        .bind(post.front.summary)
        .bind(post.body)
        .bind(post.front.author)
        .bind(published.0)
        .bind(post.front.updated.unwrap_or(published).0)
        .execute(&mut *conn)
        .await
        .with_context(|| format!("inserting the post {}", post.slug))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::db::is_kebab_case;

    #[test]
    fn every_post_parses_with_a_title_summary_and_body() {
        let posts = posts().expect("every post file is well formed");
        for post in &posts {
            let updated = post.front.updated.unwrap_or(post.front.published);
            assert!(updated >= post.front.published, "{}: updated before published", post.slug);
        }
    }

    #[test]
    fn slugs_are_unique_and_kebab_case() {
        let slugs: HashSet<_> = POSTS.iter().map(|(slug, _)| *slug).collect();
        assert_eq!(slugs.len(), POSTS.len(), "slugs must be unique");
        for slug in slugs {
            assert!(is_kebab_case(slug), "{slug}");
        }
        assert!(!is_kebab_case("Hello-ISR") && !is_kebab_case("a--b") && !is_kebab_case("-a"));
    }

    /// A file in `demo/` that [`POSTS`] does not list would never be seeded.
    #[test]
    fn every_file_in_demo_is_listed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/app/blog/demo");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("src/app/blog/demo")
            .map(|entry| entry.expect("a directory entry").file_name().to_string_lossy().into())
            .collect();
        files.sort();
        let mut listed: Vec<String> = POSTS.iter().map(|(slug, _)| format!("{slug}.md")).collect();
        listed.sort();
        assert_eq!(files, listed);
    }

    #[test]
    fn hello_isr_is_the_oldest_post() {
        let posts = posts().expect("well formed");
        let oldest = posts.iter().min_by_key(|post| post.front.published);
        assert_eq!(oldest.map(|post| post.slug), Some("hello-isr"), "tests open it");
    }

    #[test]
    fn malformed_posts_are_refused() {
        let good = "+++\ntitle = \"T\"\nsummary = \"S\"\nauthor = \"A\"\n\
                    published = 2025-01-06T09:00:00Z\n+++\n\nBody.\n";
        let post = parse("good", good).expect("well formed");
        assert_eq!((post.front.title.as_str(), post.body), ("T", "Body."));
        assert_eq!(post.front.published, UnixSeconds(1_736_154_000));
        for bad in [
            "title = \"T\"\n\nBody.\n",
            "+++\ntitle = \"T\"\nsummary = \"S\"\nauthor = \"A\"\n+++\n\nBody.\n",
            "+++\ntitle = \"\"\nsummary = \"S\"\nauthor = \"A\"\n\
             published = 2025-01-06T09:00:00Z\n+++\n\nBody.\n",
            "+++\ntitle = \"T\"\nsummary = \"S\"\nauthor = \"A\"\n\
             published = 2025-01-06T09:00:00Z\ntags = []\n+++\n\nBody.\n",
            "+++\ntitle = \"T\"\nsummary = \"S\"\nauthor = \"A\"\n\
             published = 2025-01-06T09:00:00Z\n+++\n\n\n",
        ] {
            assert!(parse("bad", bad).is_err(), "{bad}");
        }
    }
}
