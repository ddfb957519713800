import fs from "node:fs";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import {
  EXPORT_DIR,
  collectPageErrors,
  expectNoReload,
  gotoHydrated,
  markDocument,
  openFirstCard,
  pageTitle,
  siteNav,
} from "./support";

// Exported pages hydrate and the Leptos router moves between them in the
// browser, its data calls answered by the export's `_data/` files (an inline
// script maps `/api/...?...` to them): nothing but nginx is running.

/** Posts per blog page (`DEFAULT_PER_PAGE` in src/app/paging.rs). */
const PER_PAGE = 9;

/** Every request from now on that failed or was answered 400 or more. */
function collectFailedRequests(page: Page): string[] {
  const failed: string[] = [];
  page.on("requestfailed", (request) => failed.push(`${request.url()}: ${request.failure()?.errorText}`));
  page.on("response", (response) => {
    if (response.status() >= 400) failed.push(`${response.url()}: ${response.status()}`);
  });
  return failed;
}

/** Every request from now on, by path (with its query). */
function collectRequests(page: Page): string[] {
  const paths: string[] = [];
  page.on("request", (request) => {
    const url = new URL(request.url());
    paths.push(url.pathname + url.search);
  });
  return paths;
}

test.describe("the static export in the browser", () => {
  test("a nav link navigates in the page, its data from _data/", async ({ page }) => {
    const errors = collectPageErrors(page);
    await gotoHydrated(page, "/");
    const requests = collectRequests(page);
    await markDocument(page);

    await siteNav(page).getByRole("link", { name: "Blog", exact: true }).click();
    await expect(page).toHaveURL("/blog");
    await expect(page.getByRole("heading", { level: 1, name: "Blog" })).toBeVisible();
    await expect(page).toHaveTitle(pageTitle("Blog"));
    await expect(page.locator(".post-list > li")).toHaveCount(PER_PAGE);

    await expectNoReload(page);
    expect(requests.filter((url) => url.startsWith("/_data/")), "the list came from the export").not.toEqual([]);
    expect(requests.filter((url) => url.startsWith("/api/")), "no call to the app's API").toEqual([]);
    expect(errors).toEqual([]);
  });

  test("blog index → post → catalogue → product → home: no request fails", async ({ page }) => {
    const errors = collectPageErrors(page);
    const failed = collectFailedRequests(page);
    await gotoHydrated(page, "/blog");
    await markDocument(page);

    await openFirstCard(page, ".post-list", /^\/blog\/[\w-]+$/);
    await expect(page.locator("article.post .prose p").first()).not.toBeEmpty();

    await siteNav(page).getByRole("link", { name: "Shop", exact: true }).click();
    await expect(page).toHaveURL("/products");
    await expect(page.getByRole("heading", { level: 1, name: "Shop" })).toBeVisible();
    await expect(page.locator(".product-grid > li")).toHaveCount(PER_PAGE);

    await openFirstCard(page, ".product-grid", /^\/products\/\d+$/);
    await expect(page.getByTestId("availability")).toHaveText(/^(In stock|Only \d+ left|Sold out)$/);

    await page.getByRole("banner").getByRole("link", { name: "Leptos ISR" }).click();
    await expect(page).toHaveURL("/");
    await expect(
      page.getByRole("heading", { level: 1, name: "Fast like a static site. Fresh like a dynamic one." }),
    ).toBeVisible();
    await expect(page.locator(".post-list > li")).toHaveCount(3);

    await expectNoReload(page);
    expect(failed).toEqual([]);
    expect(errors).toEqual([]);
  });

  test("a full load of /blog?page=2 shows page 2", async ({ page }) => {
    const posts = fs
      .readdirSync(path.join(EXPORT_DIR, "blog"), { withFileTypes: true })
      .filter((entry) => entry.isDirectory()).length;
    test.skip(posts <= PER_PAGE, `the export has ${posts} posts: one page, no page 2`);
    const pages = Math.ceil(posts / PER_PAGE);

    const errors = collectPageErrors(page);
    const failed = collectFailedRequests(page);
    await gotoHydrated(page, "/blog");
    const firstOnPage1 = (await page.locator(".post-list .card-title a").first().textContent())?.trim() ?? "";

    await gotoHydrated(page, "/blog?page=2");
    await expect(page.getByText(`Page 2 of ${pages}`)).toBeVisible();
    await expect(page.locator(".post-list > li")).toHaveCount(Math.min(PER_PAGE, posts - PER_PAGE));
    await expect(page.locator(".post-list .card-title a").first()).not.toHaveText(firstOnPage1);
    await expect(page.locator('a[rel="prev"]')).toHaveAttribute("href", "/blog");

    expect(failed).toEqual([]);
    expect(errors).toEqual([]);
  });

  test("the Dashboard link, never exported, shows the 404 page without crashing", async ({ page }) => {
    const errors = collectPageErrors(page);
    await gotoHydrated(page, "/");
    // The answer to a full load of /dashboard, if the link makes one.
    const documents: number[] = [];
    page.on("response", (response) => {
      if (response.request().isNavigationRequest()) documents.push(response.status());
    });

    await siteNav(page).getByRole("link", { name: "Dashboard", exact: true }).click();
    await expect(page).toHaveURL("/dashboard");
    await expect(page.getByRole("heading", { level: 1, name: "Page not found" })).toBeVisible();
    await expect(page).toHaveTitle(pageTitle("Page not found"));
    // A full load, not the router: the export's script keeps links to routes
    // never exported from it, and nginx answers 404.html.
    expect(documents, "one document, the 404 page").toEqual([404]);
    expect(errors).toEqual([]);
  });
});
