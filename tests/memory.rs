//! Renders return their memory: the same page rendered again and again holds
//! no more live heap after 2N renders than after N.
//!
//! A binary of its own, because it counts every byte the process holds (a
//! counting global allocator) and must be the only test running in it. The
//! cache is off, so every request is a full render: the page, its data
//! functions, the reactive tree of the render. A render that leaves anything
//! behind (a reference cycle through a context, a map that keeps every key)
//! shows as growth proportional to the renders: the one this guards against
//! kept about 13 KB a render (`app::query`'s render answers held their own
//! owner).

#[path = "http/helpers.rs"]
#[expect(dead_code, reason = "the HTTP tests' harness; this test needs only part of it")]
mod helpers;

use cap::Cap;
use http::StatusCode;

use crate::helpers::TestApp;

#[global_allocator]
static ALLOCATOR: Cap<std::alloc::System> = Cap::new(std::alloc::System, usize::MAX);

/// Renders per step: the leak above would be 2.6 MB over one step.
const RENDERS: usize = 200;
/// What a step may add, per render: a tenth of that leak, for the
/// allocator's and the runtime's own slack.
const SLACK_PER_RENDER: usize = 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renders_hold_no_memory_after_their_response() {
    let app = TestApp::start_with_vars(&[("ISR_CACHE", "false".to_owned())]).await;
    // A page with data, the not-found page, and a page of the account area.
    for (path, status) in [
        ("/blog/hello-isr", StatusCode::OK),
        ("/nope", StatusCode::NOT_FOUND),
        ("/login", StatusCode::OK),
    ] {
        // The first step fills what is filled once: pools, caches, statements.
        render(&app, path, status).await;
        let after_n = ALLOCATOR.allocated();
        render(&app, path, status).await;
        let after_2n = ALLOCATOR.allocated();
        let grown = after_2n.saturating_sub(after_n);
        eprintln!("{path}: live {after_n} -> {after_2n} bytes over {RENDERS} renders");
        assert!(
            grown < RENDERS * SLACK_PER_RENDER,
            "{path}: {RENDERS} more renders kept {grown} bytes ({} per render; live {after_n} -> {after_2n})",
            grown / RENDERS
        );
    }
}

async fn render(app: &TestApp, path: &str, status: StatusCode) {
    for _ in 0..RENDERS {
        let response = app.get(path).await;
        assert_eq!(response.status, status, "{path}: {}", response.body);
    }
}
