import { expect, test } from "@playwright/test";
import { collectPageErrors, expectNoReload, gotoHydrated, markDocument, siteNav } from "../tests/support";

// The release build (scripts/build-site --release: what `cargo leptos build
// --release` makes, wasm-opt included) in a real browser, served by the release
// server (scripts/e2e-server --release). The `release` project also runs
// tests/navigation.spec.ts and tests/editor.spec.ts against it. A server and a
// wasm built with different flags pass every debug test and fail here: the
// wasm panics at hydration (`RuntimeError: unreachable`), and nothing hydrates.

const PUBLIC_PAGES = ["/", "/blog", "/blog/hello-isr", "/products", "/products/1", "/landing/launch-week", "/search?q=cache"];

test("every public page hydrates with no page error", async ({ page }) => {
  const errors = collectPageErrors(page);
  for (const path of PUBLIC_PAGES) {
    await gotoHydrated(page, path);
  }
  expect(errors).toEqual([]);
});

test("client-side navigation loads the next page's data with a GET", async ({ page }) => {
  const errors = collectPageErrors(page);
  await gotoHydrated(page, "/");
  await markDocument(page);
  const data = page.waitForRequest((request) => new URL(request.url()).pathname === "/api/blog/list_posts");

  await siteNav(page).getByRole("link", { name: "Blog", exact: true }).click();
  const request = await data;
  expect(request.method()).toBe("GET");
  expect((await request.response())?.status()).toBe(200);
  await expect(page.locator(".post-list > li")).toHaveCount(9);

  await expectNoReload(page);
  expect(errors).toEqual([]);
});
