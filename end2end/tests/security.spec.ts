import { expect, test, type Page } from "@playwright/test";
import {
  ADMIN,
  CUSTOMER,
  collectCspViolations,
  collectPageErrors,
  gotoHydrated,
  signIn,
  siteNav,
} from "./support";

// The Content-Security-Policy (no `unsafe-inline`: the hashes of each page's
// own inline scripts, stored with the page in the cache) lets the whole site
// run: every page hydrates, navigates, signs in, edits and orders without a
// single violation. A policy that missed a script would break hydration, and
// show up here as a violation (and a page that never hydrates).

/** The public pages, their 404 and the sign-in page, each loaded twice (a miss, then a hit). */
const PAGES: [string, number][] = [
  ["/", 200],
  ["/blog", 200],
  ["/blog?page=2", 200],
  ["/blog/hello-isr", 200],
  ["/products", 200],
  ["/products/1", 200],
  ["/search?q=cache", 200],
  ["/landing/launch-week", 200],
  ["/login", 200],
  ["/no/such/page", 404],
];

function expectPolicy(page: Page, header: string | undefined) {
  expect(header, `a Content-Security-Policy on ${page.url()}`).toBeTruthy();
  expect(header).not.toContain("unsafe-inline");
  expect(header).toContain("frame-ancestors 'none'");
}

test("every page hydrates under its Content-Security-Policy, loaded and navigated to", async ({ page }) => {
  const violations = await collectCspViolations(page);
  const errors = collectPageErrors(page);
  for (const [path, status] of PAGES) {
    for (const _visit of [1, 2]) {
      const response = await gotoHydrated(page, path, status);
      expectPolicy(page, response?.headers()["content-security-policy"]);
    }
  }
  // Client-side navigation loads each area's code and data under the same policy.
  await gotoHydrated(page, "/");
  for (const [link, path] of [["Blog", "/blog"], ["Shop", "/products"], ["Search", "/search"]]) {
    await siteNav(page).getByRole("link", { name: link, exact: true }).click();
    await expect(page).toHaveURL(path);
    await expect(page.locator("main h1").first()).toBeVisible();
  }
  expect(violations).toEqual([]);
  expect(errors).toEqual([]);
});

test("signing in, editing a post and ordering break no policy", async ({ page, browser }) => {
  const violations = await collectCspViolations(page);
  const errors = collectPageErrors(page);
  await signIn(page, ADMIN);
  await expect(page).toHaveURL("/dashboard");
  await expect(page.getByRole("heading", { name: "Your account" })).toBeVisible();
  // The first post's editor, and a save (the title as it was).
  await page.locator(".editor-list").first().getByRole("link", { name: "Edit" }).first().click();
  const title = page.locator('input[name="title"]');
  await expect(title).not.toHaveValue("");
  await page.getByRole("button", { name: "Save and view" }).click();
  await expect(page.locator("article.post h1")).toBeVisible();

  // A customer, in a browser of their own, orders.
  const context = await browser.newContext();
  const customer = await context.newPage();
  const customerViolations = await collectCspViolations(customer);
  await signIn(customer, CUSTOMER);
  await expect(customer).toHaveURL("/dashboard");
  await gotoHydrated(customer, "/products/1");
  await customer.getByRole("button", { name: "Buy" }).click();
  await expect(customer.getByRole("status")).toContainText("Ordered.");
  await context.close();

  expect(violations).toEqual([]);
  expect(customerViolations).toEqual([]);
  expect(errors).toEqual([]);
});

test("a form posted from another site is refused and changes nothing", async ({ page, request }) => {
  // What a page elsewhere would send: a cross-site form post. Playwright's
  // request context sends what the test says, like any non-browser client.
  const response = await request.post("/api/auth/login", {
    headers: { origin: "https://evil.example", "sec-fetch-site": "cross-site" },
    form: { email: ADMIN.email, password: ADMIN.password },
    maxRedirects: 0,
  });
  expect(response.status()).toBe(403);
  expect(response.headers()["set-cookie"]).toBeUndefined();
  expect(await response.text()).toContain("only the site's own pages may change anything");
  // The site's own form still signs in.
  await signIn(page, ADMIN);
  await expect(page).toHaveURL("/dashboard");
});
