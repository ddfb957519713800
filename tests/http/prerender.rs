//! Static generation (`server::prerender`): which pages are exported, the
//! files and headers written, crawling, failures, and determinism. The
//! export served by nginx in a browser is `end2end/static`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use leptos_isr_starter::app::cache::resolved;
use leptos_isr_starter::server::prerender::{Options, Summary, export};

use crate::helpers::{TestApp, inline_script_hashes, policy_script_hashes};

/// The demo site, its bundle and a public file in a site root of the test's
/// own. (Bundle names without hashes: Leptos would read the hashes from a
/// `hash.txt` beside the test binary; the nginx-served export in
/// `end2end/static` is the real, hashed one.)
async fn demo() -> (tempfile::TempDir, TestApp) {
    let root = tempfile::tempdir().expect("temp dir");
    for (file, content) in [("pkg/leptos-isr-starter.js", "js"), ("favicon.svg", "<svg/>")] {
        let path = root.path().join(file);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
    }
    let app = TestApp::start_with_site(root.path(), false).await;
    (root, app)
}

/// Exports `app` into a new folder, at a fixed time.
async fn export_of(app: &TestApp) -> (tempfile::TempDir, Summary) {
    let out = tempfile::tempdir().expect("temp dir");
    let mut options = Options::new(out.path());
    options.timestamp = Some(1_796_083_200_000);
    let summary = export(app.state.clone(), &options).await.expect("exports");
    (out, summary)
}

fn read(out: &Path, file: &str) -> String {
    std::fs::read_to_string(out.join(file)).unwrap_or_else(|error| panic!("{file}: {error}"))
}

/// `_headers` as URL → its headers.
fn header_rules(out: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut rules: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current = None;
    for line in read(out, "_headers").lines().filter(|line| !line.starts_with('#')) {
        if let Some(header) = line.strip_prefix("  ") {
            let (name, value) = header.split_once(": ").expect("Name: value");
            let url: &String = current.as_ref().expect("a rule before its headers");
            rules.entry(url.clone()).or_default().insert(name.to_owned(), value.to_owned());
        } else {
            current = Some(line.to_owned());
        }
    }
    rules
}

#[tokio::test]
async fn public_pages_are_exported_and_signed_in_ones_never() {
    let (_site, app) = demo().await;
    let (out, summary) = export_of(&app).await;
    let out = out.path();
    for file in [
        "index.html",
        "blog/index.html",
        "blog/hello-isr/index.html",
        "products/index.html",
        "products/1/index.html",
        "landing/launch-week/index.html",
        "landing/spring-sale/index.html",
        "404.html",
        "favicon.svg",
        "pkg/leptos-isr-starter.js",
    ] {
        assert!(out.join(file).is_file(), "{file} exported; wrote {:?}", summary.pages);
    }
    for never in ["dashboard", "login", "search", "api"] {
        assert!(!out.join(never).exists(), "/{never} is never exported");
    }
    // Every post is listed from the database, and each is a page.
    let posts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM posts")
        .fetch_one(&app.db)
        .await
        .expect("count posts");
    let exported = summary.pages.iter().filter(|page| page.starts_with("/blog/")).count();
    assert_eq!(exported as i64, posts, "{:?}", summary.pages);
    // The nav's Dashboard link was seen and left to the app.
    assert!(summary.not_exported.contains("/dashboard"), "{:?}", summary.not_exported);
    assert!(summary.skipped.is_empty(), "no broken link: {:?}", summary.skipped);

    let post = read(out, "blog/hello-isr/index.html");
    assert!(post.contains("Hello, ISR"), "the post itself");
    assert!(post.contains(r#"<meta name="static-export" content="1796083200000""#), "{post}");
    assert!(post.contains(r#"window.fetch="#), "the data script");
    // Every page hydrates but the 404 page, which a static host serves at
    // any URL: hydrated at `/dashboard`, the router would render that route.
    let hydration = r#"<script type="module""#;
    assert!(post.contains(hydration), "pages hydrate");
    let missing = read(out, "404.html");
    assert!(missing.contains("Page not found"), "the not-found page");
    assert!(!missing.contains(hydration), "the 404 page does not hydrate");
}

#[tokio::test]
async fn the_data_client_navigation_needs_is_exported() {
    let (_site, app) = demo().await;
    let (out, summary) = export_of(&app).await;
    let out = out.path();
    assert!(summary.data > 0);
    let post = read(out, "_data/api/blog/get_post/slug=hello-isr.json");
    let post: serde_json::Value = serde_json::from_str(&post).expect("JSON");
    assert_eq!(post["slug"], "hello-isr", "{post}");
    for file in [
        "_data/api/blog/list_posts/page=1.json",
        "_data/api/blog/latest_posts/_.json",
        "_data/api/shop/get_product/id=1.json",
        "_data/api/shop/featured_products/_.json",
        "_data/api/landing/get_campaign/slug=launch-week.json",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }
    // The signed-in area's data is never exported.
    assert!(!out.join("_data/api/dashboard").exists());
}

/// `_headers` gives every page its route's policy and tags, from the route
/// table, and the hashed bundle `immutable`.
#[tokio::test]
async fn headers_come_from_the_route_table() {
    let (_site, app) = demo().await;
    let (out, summary) = export_of(&app).await;
    let rules = header_rules(out.path());
    let table = leptos_isr_starter::app::cache::route_table();
    for page in summary.pages.iter().filter(|page| *page != "/404.html" && !page.contains('?')) {
        let (policy, tags) = resolved(page, None);
        let rule = rules.get(page).unwrap_or_else(|| panic!("{page} has a rule"));
        // The route's default, or as the page's loader tightened it: a
        // product with few left is cached seconds, on a static host too.
        let default = table.resolve(page, None).expect("resolves").policy;
        let low = default.merge(leptos_isr_starter::app::shop::cache::low_stock()).to_string();
        assert!(
            rule["Cache-Control"] == policy || rule["Cache-Control"] == low,
            "{page}: {rule:?}"
        );
        if tags.is_empty() {
            assert!(!rule.contains_key("Cache-Tag"), "{page}");
        } else {
            assert_eq!(rule["Cache-Tag"], tags.join(","), "{page}");
            assert_eq!(rule["Netlify-Cache-Tag"], tags.join(","), "{page}");
        }
    }
    let bundle = leptos_isr_starter::app::cache::bundle(false).to_string();
    assert_eq!(rules["/pkg/*"]["Cache-Control"], bundle, "names without hashes: asked again");
    let (policy, _) = resolved("/api/blog/get_post", Some("slug=hello-isr"));
    assert_eq!(rules["/_data/api/blog/get_post/slug=hello-isr.json"]["Cache-Control"], policy);
    let nginx = read(out.path(), "_headers.nginx");
    assert!(
        nginx.contains(&format!(
            "\"/blog/hello-isr/index.html\" \"{}\";",
            resolved("/blog/hello-isr", None).0
        )),
        "{nginx}"
    );
}

fn policy_hashes(policy: &str) -> BTreeSet<String> {
    policy_script_hashes(policy).into_iter().collect()
}

/// A static host serves the app's security headers: each page's policy
/// allows its own inline scripts (the export's script included) and, in
/// `_headers`, those of every page at its path with a query too, since a
/// static host matches rules on the path alone.
#[tokio::test]
async fn exported_pages_carry_the_security_headers_and_their_scripts_hashes() {
    let (_site, app) = demo().await;
    let (out, summary) = export_of(&app).await;
    let rules = header_rules(out.path());
    assert_eq!(rules["/*"]["X-Content-Type-Options"], "nosniff");
    assert_eq!(rules["/*"]["X-Frame-Options"], "DENY");
    let nginx = read(out.path(), "_headers.nginx");
    assert!(nginx.contains("map $uri $export_csp {\n  default \"default-src 'self';"), "{nginx}");
    for page in summary.pages.iter().filter(|page| !page.contains('?') && *page != "/404.html") {
        let file = if page == "/" {
            "index.html".to_owned()
        } else {
            format!("{}/index.html", &page[1..])
        };
        let scripts = inline_script_hashes(&read(out.path(), &file));
        assert!(scripts.len() >= 2, "{page}: the export's script and the page's data at least");
        let policy = &rules[page]["Content-Security-Policy"];
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert!(policy_hashes(policy).is_superset(&scripts), "{page}: {policy}");
        let line = nginx
            .lines()
            .find(|line| line.starts_with(&format!("  \"/{file}\" \"default-src")))
            .unwrap_or_else(|| panic!("{file} has a policy for nginx"));
        assert_eq!(policy_hashes(line), scripts, "{file}: exactly its own scripts");
    }
}

/// Pages only linked to are found: the blog's second page is in no list.
#[tokio::test]
async fn links_are_crawled_to_pages_no_list_names() {
    let (_site, app) = demo().await;
    for n in 0..12 {
        sqlx::query(
            "INSERT INTO posts (slug, title, summary, body, author, published_at, updated_at) \
             VALUES ($1, $2, 'More.', 'More.', 'Test', $3, $3)",
        )
        .bind(format!("more-{n}"))
        .bind(format!("More {n}"))
        .bind(1_000 + i64::from(n))
        .execute(&app.db)
        .await
        .expect("insert a post");
    }
    let posts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM posts")
        .fetch_one(&app.db)
        .await
        .expect("count posts");
    let last = (posts + 8) / 9;
    let (out, summary) = export_of(&app).await;
    for page in 2..=last {
        assert!(
            summary.pages.contains(&format!("/blog?page={page}")),
            "{page}: {:?}",
            summary.pages
        );
    }
    let oldest = read(out.path(), &format!("blog/index.page={last}.html"));
    assert!(oldest.contains("More 0"), "the oldest post is on the last page");
    let redirects = read(out.path(), "_redirects");
    let rule = "/blog page=:page /blog/index.page=:page.html 200!";
    assert!(redirects.lines().any(|line| line == rule), "{rule} in {redirects}");
}

#[tokio::test]
async fn a_page_that_fails_stops_the_export_and_names_itself() {
    let (_site, app) = demo().await;
    // The pages that show posts fail; the list of posts' slugs still loads.
    sqlx::query("ALTER TABLE posts RENAME COLUMN summary TO summary_away")
        .execute(&app.db)
        .await
        .expect("rename a column away");
    let out = tempfile::tempdir().expect("temp dir");
    let error = export(app.state.clone(), &Options::new(out.path())).await.expect_err("fails");
    let message = format!("{error:#}");
    assert!(message.contains("rendered 500 Internal Server Error"), "{message}");
    // Which page fails first depends on the order renders finish: one that
    // shows posts.
    let page = message.split(" rendered").next().unwrap_or_default();
    assert!(page == "/" || page.starts_with("/blog"), "names the page: {message}");
}

#[tokio::test]
async fn two_exports_of_the_same_data_are_the_same_files() {
    let (_site, app) = demo().await;
    let (first, _) = export_of(&app).await;
    let (second, _) = export_of(&app).await;
    let files = |root: &Path| {
        let mut files = BTreeMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).expect("read dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let name = path.strip_prefix(root).expect("inside").to_owned();
                    files.insert(name, std::fs::read(&path).expect("read"));
                }
            }
        }
        files
    };
    let (first, second) = (files(first.path()), files(second.path()));
    assert!(first.len() > 20, "{} files", first.len());
    assert_eq!(first.keys().collect::<Vec<_>>(), second.keys().collect::<Vec<_>>());
    for (name, bytes) in &first {
        assert!(bytes == &second[name], "{} differs between two exports", name.display());
    }
}

#[tokio::test]
async fn a_folder_that_is_not_an_export_is_never_emptied() {
    let (_site, app) = demo().await;
    let out = tempfile::tempdir().expect("temp dir");
    std::fs::write(out.path().join("thesis.tex"), "years of work").expect("write");
    let error = export(app.state.clone(), &Options::new(out.path())).await.expect_err("refused");
    assert!(format!("{error:#}").contains("not an earlier export"), "{error:#}");
    assert_eq!(read(out.path(), "thesis.tex"), "years of work");
}

/// With an origin, `_redirects` proxies the routes never exported to it.
#[tokio::test]
async fn the_hybrid_deploy_proxies_the_signed_in_area() {
    let (_site, app) = demo().await;
    let out = tempfile::tempdir().expect("temp dir");
    let mut options = Options::new(out.path());
    options.origin = Some("https://app.example.com".to_owned());
    export(app.state.clone(), &options).await.expect("exports");
    let redirects = read(out.path(), "_redirects");
    for rule in [
        "/dashboard https://app.example.com/dashboard 200",
        "/dashboard/posts/:slug https://app.example.com/dashboard/posts/:slug 200",
        "/login https://app.example.com/login 200",
        "/search https://app.example.com/search 200",
    ] {
        assert!(redirects.lines().any(|line| line == rule), "{rule} in\n{redirects}");
    }
    for kept in ["/blog", "/products", "/landing", "/pkg", "/_data"] {
        let proxied = format!("https://app.example.com{kept}");
        assert!(!redirects.contains(&proxied), "{kept} stays static:\n{redirects}");
    }
}
