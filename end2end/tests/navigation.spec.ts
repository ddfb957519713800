import { expect, test } from "@playwright/test";
import {
  collectPageErrors,
  expectNoReload,
  gotoHydrated,
  markDocument,
  openFirstCard,
  pageTitle,
  siteNav,
} from "./support";

// After hydration, links are handled by the Leptos router in the browser: the
// document stays the same (the `__noReload` mark survives) and the new page's
// data comes from a server function.

test.describe("hydration and client-side navigation", () => {
  test("the page hydrates without errors", async ({ page }) => {
    const errors = collectPageErrors(page);
    await gotoHydrated(page, "/");
    await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
    // The server-rendered content is still there after hydration.
    await expect(page.getByRole("heading", { name: "Latest posts" })).toBeVisible();
    expect(errors).toEqual([]);
  });

  test("the Blog nav link navigates without a full page load", async ({ page }) => {
    const errors = collectPageErrors(page);
    await gotoHydrated(page, "/");
    await markDocument(page);

    await siteNav(page).getByRole("link", { name: "Blog", exact: true }).click();
    await expect(page).toHaveURL("/blog");
    await expect(page.getByRole("heading", { level: 1, name: "Blog" })).toBeVisible();
    await expect(page).toHaveTitle(pageTitle("Blog"));
    await expect(page.locator(".post-list > li")).toHaveCount(9);

    await expectNoReload(page);
    expect(errors).toEqual([]);
  });

  test("the Shop nav link navigates without a full page load", async ({ page }) => {
    const errors = collectPageErrors(page);
    await gotoHydrated(page, "/blog");
    await markDocument(page);

    await siteNav(page).getByRole("link", { name: "Shop", exact: true }).click();
    await expect(page).toHaveURL("/products");
    await expect(page.getByRole("heading", { level: 1, name: "Shop" })).toBeVisible();
    await expect(page.locator(".product-grid > li")).toHaveCount(9);

    await expectNoReload(page);
    expect(errors).toEqual([]);
  });

  test("a post card opens the post and ← Blog comes back, in the page", async ({ page }) => {
    const errors = collectPageErrors(page);
    await gotoHydrated(page, "/blog");
    await markDocument(page);

    const { title } = await openFirstCard(page, ".post-list", /^\/blog\/[\w-]+$/);
    await expect(page).toHaveTitle(pageTitle(title));
    await expectNoReload(page);

    await page.getByRole("link", { name: "← Blog" }).click();
    await expect(page).toHaveURL("/blog");
    await expect(page.getByRole("heading", { level: 1, name: "Blog" })).toBeVisible();
    await expect(page.locator(".post-list > li")).toHaveCount(9);

    await expectNoReload(page);
    expect(errors).toEqual([]);
  });

  test("pagination moves to page 2 and back without a full page load", async ({ page }) => {
    const errors = collectPageErrors(page);
    await gotoHydrated(page, "/blog");
    const firstOnPage1 = (await page.locator(".post-list .card-title a").first().textContent())?.trim();
    await markDocument(page);

    await page.getByRole("link", { name: "Older →" }).click();
    await expect(page).toHaveURL("/blog?page=2");
    await expect(page.getByText("Page 2 of 3")).toBeVisible();
    await expect(page.locator(".post-list > li")).toHaveCount(9);
    // Different posts than page 1.
    await expect(page.locator(".post-list .card-title a").first()).not.toHaveText(firstOnPage1 ?? "");
    await expect(page.locator('a[rel="prev"]')).toHaveText("← Newer");
    await expectNoReload(page);

    await page.getByRole("link", { name: "← Newer" }).click();
    await expect(page).toHaveURL("/blog");
    await expect(page.getByText("Page 1 of 3")).toBeVisible();
    await expect(page.locator(".post-list .card-title a").first()).toHaveText(firstOnPage1 ?? "");

    await expectNoReload(page);
    expect(errors).toEqual([]);
  });

  test("a product card opens the product page in the page", async ({ page }) => {
    const errors = collectPageErrors(page);
    await gotoHydrated(page, "/products");
    await markDocument(page);

    await openFirstCard(page, ".product-grid", /^\/products\/\d+$/);
    await expect(page.getByTestId("availability")).toHaveText(/^(In stock|Only \d+ left|Sold out)$/);

    await expectNoReload(page);
    expect(errors).toEqual([]);
  });

  test("browser back and forward work after client-side navigation", async ({ page }) => {
    await gotoHydrated(page, "/");
    await markDocument(page);

    await siteNav(page).getByRole("link", { name: "Blog", exact: true }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Blog" })).toBeVisible();

    await page.goBack();
    await expect(page).toHaveURL("/");
    await expect(
      page.getByRole("heading", { level: 1, name: "Fast like a static site. Fresh like a dynamic one." }),
    ).toBeVisible();

    await page.goForward();
    await expect(page).toHaveURL("/blog");
    await expect(page.getByRole("heading", { level: 1, name: "Blog" })).toBeVisible();
    await expectNoReload(page);
  });

  test("navigating to an unknown post in the browser shows the 404 page", async ({ page }) => {
    await gotoHydrated(page, "/blog/hello-isr");
    await markDocument(page);
    // A client-side navigation to a missing slug: no HTTP status, same page.
    await page.evaluate(() => {
      const link = document.createElement("a");
      link.href = "/blog/no-such-post";
      link.textContent = "missing";
      link.id = "e2e-missing-link";
      document.querySelector("main")?.append(link);
    });
    await page.locator("#e2e-missing-link").click();
    await expect(page).toHaveURL("/blog/no-such-post");
    await expect(page.getByRole("heading", { level: 1, name: "Page not found" })).toBeVisible();
    await expectNoReload(page);
  });
});

test.describe("search", () => {
  /** `/search` with `q=<word>`, whatever else the router put in the query string. */
  const searchedFor = (word: string) => (url: URL) =>
    url.pathname === "/search" && url.searchParams.get("q") === word;

  test("typing a word and submitting shows matching posts", async ({ page }) => {
    const errors = collectPageErrors(page);
    await gotoHydrated(page, "/search");
    await markDocument(page);

    const input = page.getByRole("searchbox", { name: "Search" });
    await input.fill("cache");
    await page.getByRole("button", { name: "Search", exact: true }).click();

    await expect(page).toHaveURL(searchedFor("cache"));
    const postsHeading = page.getByRole("heading", { level: 2, name: /^Posts \(\d+\)$/ });
    await expect(postsHeading).toBeVisible();
    const count = Number((await postsHeading.textContent())?.match(/\((\d+)\)/)?.[1]);
    expect(count).toBeGreaterThan(0);
    const results = page.locator("section.section", { has: postsHeading }).locator(".post-list > li");
    await expect(results).toHaveCount(count);
    await expect(results.first()).toContainText(/cache|ISR|CDN|stale|ETag/i);
    await expect(input).toHaveValue("cache");

    // The search form navigates client-side once hydrated.
    await expectNoReload(page);
    expect(errors).toEqual([]);
  });

  test("submitting the search form leaves a clean ?q=cache URL", async ({ page }) => {
    await gotoHydrated(page, "/search");
    await page.getByRole("searchbox", { name: "Search" }).fill("cache");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await expect(page).toHaveURL("/search?q=cache");
  });

  test("pressing Enter in the search box submits too", async ({ page }) => {
    await gotoHydrated(page, "/search");
    const input = page.getByRole("searchbox", { name: "Search" });
    await input.fill("cache");
    await input.press("Enter");
    await expect(page).toHaveURL(searchedFor("cache"));
    await expect(page.getByRole("heading", { level: 2, name: /^Posts \(\d+\)$/ })).toBeVisible();
  });

  test("a word that matches nothing says so", async ({ page }) => {
    await gotoHydrated(page, "/search");
    await page.getByRole("searchbox", { name: "Search" }).fill("zzqxv");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await expect(page).toHaveURL(searchedFor("zzqxv"));
    await expect(page.getByText("No posts match “zzqxv”.")).toBeVisible();
    await expect(page.getByText("No products match “zzqxv”.")).toBeVisible();
    await expect(page.getByRole("heading", { level: 2, name: /^(Posts|Products) \(/ })).toHaveCount(0);
  });
});
