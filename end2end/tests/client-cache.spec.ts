import { expect, test, type Page, type Request } from "@playwright/test";
import { ADMIN, CUSTOMER, gotoHydrated, markDocument, expectNoReload, purge, signIn } from "./support";

// The client tier (src/app/query/): each page's data is a query
// with a stale time. These tests count the data requests (GET /api/…) the
// browser makes. The server under test runs with CLIENT_CACHE_MAX_SECS (10 in
// scripts/e2e-server), so data goes stale in seconds; the browser's clock is
// moved forward with Playwright's fake clock rather than waited for.

const POST_POLICY = "public, max-age=0, s-maxage=3600, stale-while-revalidate=604800, stale-if-error=691200";

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

/**
 * `GET /api/blog/get_post?slug=x&` → `GET get_post?slug=x`, for readable
 * assertions (server functions' GET encoding ends the query with `&`).
 */
function described(requests: Request[]): string[] {
  return requests.map((request) => {
    const url = new URL(request.url());
    const query = url.search.replace(/&$/, "");
    return `${request.method()} ${url.pathname.replace(/^\/api\/\w+\//, "")}${query}`;
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
  expect(content, "run the server with CLIENT_CACHE_MAX_SECS (scripts/e2e-server sets 10)").toMatch(/^\d+$/);
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
  // A fresh render, not the copy warmed at start-up.
  await purge(page, ["/blog"]);
  await gotoHydrated(page, "/blog");
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
  await purge(page, ["/blog"]);
  await gotoHydrated(page, "/blog");
  const cap = await staleCapMs(page);
  const link = page.locator(".post-list a").first();
  const href = (await link.getAttribute("href"))!;
  const slug = href.replace("/blog/", "");
  const title = (await link.textContent())!;
  await link.click();
  await expect(page.getByRole("heading", { level: 1, name: title })).toBeVisible();
  await page.getByRole("link", { name: "← Blog" }).click();
  await expect(page.locator(".post-list a").first()).toBeVisible();
  await settle(page);
  expect(described(requests)).toEqual([`GET get_post?slug=${slug}`]);

  // The post's data is now older than its stale time (but not yet dropped).
  await page.clock.fastForward(cap + 1000);
  const held = await holdResponses(page, "**/api/blog/get_post?*");
  const refetch = page.waitForResponse((response) => response.url().includes("/api/blog/get_post"));
  await page.locator(`.post-list a[href="${href}"]`).click();
  // While the refetch is held back, the cached post is on screen.
  await expect(page.getByRole("heading", { level: 1, name: title })).toBeVisible();
  await expect(page.locator(".loading")).toHaveCount(0);
  held.release();

  const response = await refetch;
  expect(response.request().method()).toBe("GET");
  expect(response.headers()["cache-control"]).toBe(POST_POLICY);
  expect(response.headers()["surrogate-key"]).toBe(`post:${slug}`);
  await settle(page);
  expect(described(requests)).toEqual([`GET get_post?slug=${slug}`, `GET get_post?slug=${slug}`]);
});

test("data unused for its gc time is dropped: going back loads it again", async ({ page }) => {
  await page.clock.install();
  const requests = recordDataRequests(page);
  await purge(page, ["/products/2"]);
  await gotoHydrated(page, "/products/2");
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
  expect(described(requests)).toEqual(["GET list_products?page=1", "GET get_product?id=2"]);
});

test("a page a shared cache kept past the stale time refetches its data once, in the background", async ({
  browser,
}) => {
  // A post no other test visits, dropped from the cache first.
  const slug = "sizing-a-postgres-connection-pool";
  const path = `/blog/${slug}`;
  const visit = async (clock?: number) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    if (clock !== undefined) {
      await page.clock.install({ time: clock });
    }
    return { context, page, requests: recordDataRequests(page) };
  };

  // The first visitor's request renders the page into the ISR cache.
  const first = await visit();
  await purge(first.page, [path]);
  expect((await first.page.goto(path))?.headers()["x-cache"]).toBe("MISS");
  const cap = await staleCapMs(first.page);
  await first.context.close();

  // The stored page, seen at once: its data is fresh, no request.
  const onTime = await visit();
  const response = await gotoHydrated(onTime.page, path);
  expect(response?.headers()["x-cache"]).toBe("HIT");
  expect(Number(response?.headers()["age"])).toBeLessThan(cap / 1000);
  await settle(onTime.page);
  expect(described(onTime.requests)).toEqual([]);
  await onTime.context.close();

  // The same stored page (a HIT: the same bytes, the same data stamp) an hour
  // later by the visitor's clock: its data is older than its stale time,
  // although it hydrated a moment ago.
  const late = await visit(Date.now() + 60 * 60 * 1000);
  const held = await holdResponses(late.page, "**/api/blog/get_post?*");
  const stored = await gotoHydrated(late.page, path);
  expect(stored?.headers()["x-cache"]).toBe("HIT");
  // The page shows what it came with while the refetch is on its way.
  await expect(late.page.locator("article.post h1")).toBeVisible();
  const refetch = late.page.waitForResponse((r) => r.url().includes("/api/blog/get_post"));
  held.release();
  await refetch;
  await settle(late.page);
  expect(described(late.requests)).toEqual([`GET get_post?slug=${slug}`]);
  await late.context.close();
});

test("after an admin's edit, the browser refetches the edited post and the list showing it", async ({ page }) => {
  await signIn(page, ADMIN);
  await expect(page).toHaveURL("/dashboard");
  await markDocument(page);

  // All in one document, by client-side navigation: the blog index and a
  // post go into the query cache, well within their stale time. (Not the
  // post editor.spec.ts edits: the two may run at once.)
  const requests = recordDataRequests(page);
  await page.getByRole("banner").getByRole("link", { name: "Blog" }).click();
  const link = page.locator(".post-list a").nth(3);
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
    // Everything tagged post:{slug} or posts that this tab had loaded, once
    // each: the post, the list, and the editor's own copy (it was on screen).
    expect(described(requests).sort()).toEqual(
      [
        "POST update_post",
        `GET get_post?slug=${slug}`,
        `GET get_post_for_edit?slug=${slug}`,
        "GET list_posts?page=1",
      ].sort(),
    );
  } finally {
    await page.goto(`/dashboard/posts/${slug}`);
    await page.locator('input[name="title"]').fill(before);
    await page.getByRole("button", { name: "Save and view" }).click();
    await expect(page.getByRole("heading", { level: 1, name: before })).toBeVisible();
  }
});

test("whoever signs in next in the same tab never sees the previous visitor's cached data", async ({
  page,
  context,
}) => {
  await signIn(page, CUSTOMER);
  await expect(page.getByRole("heading", { level: 1, name: "Welcome, Casey Customer" })).toBeVisible();
  await markDocument(page);

  // The session ends without the tab knowing (it expired, or cookies were
  // cleared): the customer's dashboard is still in the tab's query cache.
  await context.clearCookies();
  // Record every heading the page ever shows from now on.
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { __headings: string[] }).__headings = seen;
    new MutationObserver(() => {
      document.querySelectorAll("h1").forEach((h1) => seen.push(h1.textContent ?? ""));
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
  await page.getByRole("banner").getByRole("link", { name: "Blog" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Blog" })).toBeVisible();
  await page.evaluate(() => {
    const anchor = document.createElement("a");
    anchor.href = "/login";
    document.body.append(anchor);
    anchor.click();
  });
  await expect(page.getByRole("heading", { level: 1, name: "Sign in" })).toBeVisible();

  // The admin signs in, in the same document, and lands on the dashboard.
  await page.locator('input[name="email"]').fill(ADMIN.email);
  await page.locator('input[name="password"]').fill(ADMIN.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Welcome, Ada Admin" })).toBeVisible();
  await expectNoReload(page);
  const headings = await page.evaluate(() => (window as unknown as { __headings: string[] }).__headings);
  expect(headings).toContain("Welcome, Ada Admin");
  expect(headings.filter((heading) => heading.includes("Casey"))).toEqual([]);
});

test("an order refetches the product's stock and the buyer's orders, which were cached", async ({ page }) => {
  await signIn(page, ADMIN);
  const orders = page.locator("section", { has: page.getByRole("heading", { name: "Your orders" }) });
  await expect(orders).toBeVisible();
  const ordersBefore = await orders.locator("tbody tr").count();
  await markDocument(page);

  // A product with only a few left (seeded), by client-side navigation.
  await page.getByRole("banner").getByRole("link", { name: "Shop" }).click();
  await page.locator(".product-grid .card", { hasText: /Only \d+ left/ }).first().getByRole("link").click();
  const availability = page.getByTestId("availability");
  const left = Number((await availability.textContent())!.match(/Only (\d+) left/)![1]);
  const id = new URL(page.url()).pathname.replace("/products/", "");

  const requests = recordDataRequests(page);
  await page.getByRole("button", { name: "Buy" }).click();
  await expect(page.getByRole("status")).toContainText("Ordered.");
  await expect(availability).toHaveText(left > 1 ? `Only ${left - 1} left` : "Sold out");

  // The dashboard's sections, cached at sign-in and still within their stale
  // time, were invalidated by what the order changed: the orders (tag
  // `orders`), the admin's product list (`products`), the site's numbers
  // (every write). It shows the new order; the list of posts is reused.
  await page.getByRole("link", { name: "See your orders" }).click();
  await expect(orders.locator("tbody tr")).toHaveCount(ordersBefore + 1);
  await settle(page);
  await expectNoReload(page);
  const seen = described(requests);
  expect(seen.slice(0, 2)).toEqual(["POST place_order", `GET get_product?id=${id}`]);
  expect(seen.slice(2).sort()).toEqual(["GET get_dashboard", "GET my_orders", "GET products_for_admin"]);
});

test("a visitor who is not signed in is asked to sign in, and nothing is ordered", async ({ page }) => {
  await gotoHydrated(page, "/products/1");
  const availability = await page.getByTestId("availability").textContent();
  await page.getByRole("button", { name: "Buy" }).click();
  await expect(page.getByRole("alert")).toHaveText("Sign in to order.");
  await expect(page.getByRole("alert").getByRole("link", { name: "Sign in" })).toHaveAttribute("href", "/login");
  await page.reload();
  await expect(page.getByTestId("availability")).toHaveText(availability!);
});
