import { expect, test } from "@playwright/test";
import { CUSTOMER, gotoHydrated, markDocument, expectNoReload, signIn } from "./support";

// The cache headers as the browser received them: on a server-rendered page,
// on the data request a client-side navigation makes, on the hashed bundle,
// and for a signed-in visitor. (tests/http/caching.rs checks every route.)

const POST_POLICY = "public, max-age=0, s-maxage=3600, stale-while-revalidate=604800, stale-if-error=691200";

test("a page arrives with its policy, purge tags, a validator and compression", async ({ page }) => {
  const response = await page.goto("/blog/hello-isr");
  expect(response?.status()).toBe(200);
  const headers = response!.headers();
  expect(headers["cache-control"]).toBe(POST_POLICY);
  expect(headers["surrogate-key"]).toBe("post:hello-isr");
  expect(headers["cache-tag"]).toBe("post:hello-isr");
  expect(headers["etag"]).toMatch(/^"[0-9a-f]{32}"$/);
  expect(headers["content-encoding"]).toBe("br");
  expect(headers["vary"]).toContain("accept-encoding");
});

test("client-side navigation fetches its data with a cacheable GET carrying the page's policy", async ({
  page,
}) => {
  await gotoHydrated(page, "/blog");
  await markDocument(page);

  const link = page.locator(".post-list a").first();
  const title = (await link.textContent())!;
  const slug = (await link.getAttribute("href"))!.replace("/blog/", "");
  const dataResponse = page.waitForResponse((r) => r.url().includes("/api/blog/get_post"));
  await link.click();
  const response = await dataResponse;
  await expect(page.getByRole("heading", { level: 1, name: title })).toBeVisible();
  await expectNoReload(page);

  expect(response.request().method()).toBe("GET");
  expect(new URL(response.url()).pathname).toBe("/api/blog/get_post");
  expect(new URL(response.url()).searchParams.get("slug")).toBe(slug);
  const headers = response.headers();
  expect(headers["cache-control"]).toBe(POST_POLICY);
  expect(headers["surrogate-key"]).toBe(`post:${slug}`);
  expect(headers["etag"]).toMatch(/^"[0-9a-f]{32}"$/);
});

test("the hashed bundle is immutable", async ({ page }) => {
  const bundle = page.waitForResponse((r) => /\/pkg\/.+\.[A-Za-z0-9_-]{8,}\.wasm$/.test(r.url()));
  await gotoHydrated(page, "/");
  const headers = (await bundle).headers();
  expect(headers["cache-control"]).toBe("public, max-age=31536000, immutable");
});

test("a signed-in visitor's pages are private, no-store, and untagged", async ({ page }) => {
  await signIn(page, CUSTOMER);
  await expect(page).toHaveURL("/dashboard");

  const response = await page.goto("/blog/hello-isr");
  const headers = response!.headers();
  expect(headers["cache-control"]).toBe("private, no-store");
  expect(headers["surrogate-key"]).toBeUndefined();
  expect(headers["etag"]).toBeUndefined();
});
