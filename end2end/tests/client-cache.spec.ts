import { expect, test, type Page, type Request } from "@playwright/test";
import { gotoHydrated, markDocument, expectNoReload } from "./support";

// The client tier (src/app/query.rs): each page's data is a leptos-fetch query
// with a stale time. These tests count the data requests (GET /api/…) the
// browser makes. The server under test runs with CLIENT_CACHE_MAX_SECS (3 in
// scripts/e2e-server), so data goes stale in seconds; the browser's clock is
// moved forward with Playwright's fake clock rather than waited for.

const POST_POLICY = "public, max-age=0, s-maxage=3600, stale-while-revalidate=604800";

/** The data requests the page makes from now on, in order. */
function recordDataRequests(page: Page): Request[] {
  const requests: Request[] = [];
  page.on("request", (request) => {
    if (new URL(request.url()).pathname.startsWith("/api/")) {
      requests.push(request);
    }
  });
  return requests;
}

/** `GET /api/blog/get_post?slug=x` → `get_post?slug=x`, for readable assertions. */
function described(requests: Request[]): string[] {
  return requests.map((request) => {
    const url = new URL(request.url());
    return `${request.method()} ${url.pathname.replace(/^\/api\/\w+\//, "")}${url.search}`;
  });
}

/**
 * Waits until whatever the page had started (a render, an effect, a request
 * it was about to send) has been issued: a request sent from the page after
 * those is seen by Playwright after them.
 */
async function settle(page: Page): Promise<void> {
  const marker = `/favicon.svg?settle=${Math.random()}`;
  const seen = page.waitForResponse((response) => response.url().endsWith(marker));
  await page.evaluate((url) => fetch(url).then((response) => response.arrayBuffer()), marker);
  await seen;
}

/** The stale time cap the server passes to the browser, in milliseconds. */
async function staleCapMs(page: Page): Promise<number> {
  const content = await page.locator('meta[name="client-cache-max-secs"]').getAttribute("content");
  expect(content, "run the server with CLIENT_CACHE_MAX_SECS (scripts/e2e-server sets 3)").toMatch(/^\d+$/);
  return Number(content) * 1000;
}

/**
 * Holds every response to data requests matching `pattern` until `release()`:
 * what the page shows while a refetch is on its way can then be checked.
 */
async function holdResponses(page: Page, pattern: string): Promise<{ release: () => void }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  await page.route(pattern, async (route) => {
    await released;
    await route.continue();
  });
  return { release };
}

test("a page's data comes with it, and going back within the stale time asks for nothing", async ({ page }) => {
  const requests = recordDataRequests(page);
  // A query string of its own: a fresh render, not the copy warmed at start-up.
  await gotoHydrated(page, `/blog?fresh=${Date.now()}`);
  await markDocument(page);
  await settle(page);
  expect(described(requests), "hydration reuses the data rendered into the page").toEqual([]);

  const link = page.locator(".post-list a").first();
  const slug = (await link.getAttribute("href"))!.replace("/blog/", "");
  await link.click();
  await expect(page.locator("article.post h1")).toBeVisible();
  await settle(page);
  expect(described(requests)).toEqual([`GET get_post?slug=${slug}`]);

  await page.getByRole("link", { name: "← Blog" }).click();
  await expect(page.locator(".post-list a").first()).toBeVisible();
  await page.locator(".post-list a").first().click();
  await expect(page.locator("article.post h1")).toBeVisible();
  await settle(page);
  expect(described(requests), "the list and the post again, from the query cache").toEqual([
    `GET get_post?slug=${slug}`,
  ]);
  await expectNoReload(page);
});

test("after the stale time, going back shows the old data at once and refetches it exactly once", async ({
  page,
}) => {
  await page.clock.install();
  const requests = recordDataRequests(page);
  await gotoHydrated(page, `/blog/hello-isr?fresh=${Date.now()}`);
  const cap = await staleCapMs(page);
  const title = (await page.locator("article.post h1").textContent())!;

  await page.getByRole("link", { name: "← Blog" }).click();
  await expect(page.locator(".post-list a").first()).toBeVisible();
  await settle(page);
  expect(described(requests)).toEqual(["GET list_posts?page="]);

  // The post's data is now older than its stale time (but not yet dropped).
  await page.clock.fastForward(cap + 1000);
  const held = await holdResponses(page, "**/api/blog/get_post?*");
  const refetch = page.waitForResponse((response) => response.url().includes("/api/blog/get_post"));
  await page.locator(`.post-list a[href="/blog/hello-isr"]`).click();
  // While the refetch is held back, the cached post is on screen.
  await expect(page.getByRole("heading", { level: 1, name: title })).toBeVisible();
  await expect(page.locator(".loading")).toHaveCount(0);
  held.release();

  const response = await refetch;
  expect(response.request().method()).toBe("GET");
  expect(response.headers()["cache-control"]).toBe(POST_POLICY);
  expect(response.headers()["surrogate-key"]).toBe("post:hello-isr");
  await settle(page);
  expect(described(requests)).toEqual(["GET list_posts?page=", "GET get_post?slug=hello-isr"]);
});

test("data unused for its gc time is dropped: going back loads it again", async ({ page }) => {
  await page.clock.install();
  const requests = recordDataRequests(page);
  await gotoHydrated(page, `/products/2?fresh=${Date.now()}`);
  const cap = await staleCapMs(page);
  const name = (await page.locator("article.product h1").textContent())!;

  await page.getByRole("link", { name: "← Shop" }).click();
  await expect(page.locator(".product-grid a").first()).toBeVisible();

  // gc time is four times the stale time under the cap (ClientCache::capped).
  await page.clock.fastForward(4 * cap + 1000);
  const held = await holdResponses(page, "**/api/shop/get_product?*");
  await page.locator(`.product-grid a[href="/products/2"]`).click();
  // Nothing cached to show: the page waits for its data.
  await expect(page.locator(".loading")).toBeVisible();
  held.release();
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  await settle(page);
  expect(described(requests)).toEqual(["GET list_products?page=", "GET get_product?id=2"]);
});

test("a page a shared cache kept past the stale time refetches its data once, in the background", async ({
  browser,
}) => {
  const path = `/blog/hello-isr?fresh=${Date.now()}`;
  // The first visitor's request renders the page into the ISR cache.
  const first = await browser.newContext();
  const firstPage = await first.newPage();
  expect((await firstPage.goto(path))?.headers()["x-cache"]).toBe("MISS");
  const cap = await staleCapMs(firstPage);
  await first.close();

  // A visitor now gets the stored page (a HIT: the same bytes, the same data
  // stamp) an hour later by their clock: the data is older than its stale time.
  const late = await browser.newContext();
  const page = await late.newPage();
  await page.clock.install({ time: Date.now() + 60 * 60 * 1000 });
  const requests = recordDataRequests(page);
  const held = await holdResponses(page, "**/api/blog/get_post?*");
  const response = await gotoHydrated(page, path);
  expect(response?.headers()["x-cache"]).toBe("HIT");
  // The page shows what it came with while the refetch is on its way.
  await expect(page.locator("article.post h1")).toBeVisible();
  const refetch = page.waitForResponse((r) => r.url().includes("/api/blog/get_post"));
  held.release();
  await refetch;
  await settle(page);
  expect(described(requests)).toEqual(["GET get_post?slug=hello-isr"]);
  await late.close();

  // The same stored page, seen at once (by a clock that agrees with the
  // server's), is fresh: no request.
  const onTime = await browser.newContext();
  const onTimePage = await onTime.newPage();
  const onTimeRequests = recordDataRequests(onTimePage);
  const again = await gotoHydrated(onTimePage, path);
  expect(again?.headers()["x-cache"]).toBe("HIT");
  expect(Number(again?.headers()["age"])).toBeLessThan(cap / 1000);
  await settle(onTimePage);
  expect(described(onTimeRequests)).toEqual([]);
  await onTime.close();
});

test("after an admin's edit, the browser refetches the edited post and the list showing it", async ({ page }) => {
  await gotoHydrated(page, "/login");
  await page.locator('input[name="email"]').fill("admin@example.com");
  await page.locator('input[name="password"]').fill("admin-demo-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL("/dashboard");
  await markDocument(page);

  // All in one document, by client-side navigation: the blog index and a
  // post go into the query cache, well within their stale time.
  const requests = recordDataRequests(page);
  await page.getByRole("banner").getByRole("link", { name: "Blog" }).click();
  const link = page.locator(".post-list a").nth(1);
  const slug = (await link.getAttribute("href"))!.replace("/blog/", "");
  const before = (await link.textContent())!;
  await link.click();
  await expect(page.getByRole("heading", { level: 1, name: before })).toBeVisible();

  const edited = `Edited for the client cache ${Date.now()}`;
  try {
    // To the editor through the dashboard, save, and land on the post.
    await page.getByRole("banner").getByRole("link", { name: "Dashboard" }).click();
    await page.locator(`a[href="/dashboard/posts/${slug}"]`).click();
    await expect(page.locator('input[name="title"]')).toHaveValue(before);
    await settle(page);
    requests.length = 0;
    await page.locator('input[name="title"]').fill(edited);
    await page.getByRole("button", { name: "Save and view" }).click();
    await expect(page).toHaveURL(`/blog/${slug}`);
    await expect(page.getByRole("heading", { level: 1, name: edited })).toBeVisible();

    // The list was invalidated by the save's tags too: going back refetches it.
    await page.getByRole("link", { name: "← Blog" }).click();
    await expect(page.locator(".post-list")).toContainText(edited);
    await settle(page);
    await expectNoReload(page);
    expect(described(requests)).toEqual([
      "POST update_post",
      `GET get_post?slug=${slug}`,
      "GET list_posts?page=",
    ]);
  } finally {
    await page.goto(`/dashboard/posts/${slug}`);
    await page.locator('input[name="title"]').fill(before);
    await page.getByRole("button", { name: "Save and view" }).click();
    await expect(page.getByRole("heading", { level: 1, name: before })).toBeVisible();
  }
});
