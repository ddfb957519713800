import { expect, test, type Page, type Response } from "@playwright/test";

/** Every page's `<title>` ends with the site name (see `App` in src/app/mod.rs). */
export const SITE_NAME = "Leptos ISR Starter";

/** The `<title>` of a page whose own title is `title`. */
export function pageTitle(title: string): string {
  return `${title} · ${SITE_NAME}`;
}

/** Resolves once the wasm bundle has hydrated the page (`hydrate()` in src/lib.rs). */
export async function waitForHydration(page: Page): Promise<void> {
  await page.locator('html[data-hydrated="true"]').waitFor({ state: "attached" });
}

/**
 * Loads `path`, checks the status, and waits for hydration, recording any
 * uncaught error in the page (a hydration panic shows up there).
 */
export async function gotoHydrated(page: Page, path: string, status = 200): Promise<Response | null> {
  const response = await page.goto(path);
  expect(response?.status(), `status of ${path}`).toBe(status);
  await waitForHydration(page);
  return response;
}

/**
 * Drops `paths` from the server's ISR cache (a hard purge through the
 * revalidate API, with the token `scripts/e2e-server` sets), so the next visit
 * renders them afresh. A query string of a test's own would not do it: the
 * cache ignores parameters a route does not declare.
 */
export async function purge(page: Page, paths: string[]): Promise<void> {
  const token = process.env.REVALIDATE_TOKEN ?? "e2e-revalidate-token-0123456789abcdef";
  const response = await page.request.post("/api/revalidate", {
    headers: { authorization: `Bearer ${token}` },
    data: { paths, mode: "hard" },
  });
  expect(response.status(), await response.text()).toBe(200);
}

/** The seeded demo accounts (src/server/seed.rs). */
export const CUSTOMER = { email: "customer@example.com", password: "customer-demo-password", name: "Casey Customer" };
export const ADMIN = { email: "admin@example.com", password: "admin-demo-password", name: "Ada Admin" };

/** Fills in and submits the sign-in form (the result is the caller's to check). */
export async function signIn(page: Page, account: { email: string; password: string }): Promise<void> {
  await gotoHydrated(page, "/login");
  await page.locator('input[name="email"]').fill(account.email);
  await page.locator('input[name="password"]').fill(account.password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** Collects uncaught errors thrown in the page from now on. */
export function collectPageErrors(page: Page): Error[] {
  const errors: Error[] = [];
  page.on("pageerror", (error) => errors.push(error));
  return errors;
}

/**
 * Marks the current document. The mark survives client-side navigation and
 * disappears with a full page load: `expectNoReload` checks it is still there.
 */
export async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => {
    (window as unknown as { __noReload?: boolean }).__noReload = true;
  });
}

export async function expectNoReload(page: Page): Promise<void> {
  const marked = await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload);
  expect(marked, "the page was not reloaded (client-side navigation)").toBe(true);
}

/** The site header's navigation (the same on every page). */
export function siteNav(page: Page) {
  return page.getByRole("banner").getByRole("navigation");
}

/**
 * Clicks the first card of the list `list` (`.post-list`, `.product-grid`), whose link must
 * match `href`, and waits for its page: that URL, and a heading that is the card's title.
 */
export async function openFirstCard(page: Page, list: string, href: RegExp): Promise<{ title: string; href: string }> {
  const card = page.locator(`${list} .card-title a`).first();
  const title = (await card.textContent())?.trim() ?? "";
  const link = (await card.getAttribute("href")) ?? "";
  expect(link).toMatch(href);
  await card.click();
  await expect(page).toHaveURL(link);
  await expect(page.getByRole("heading", { level: 1, name: title })).toBeVisible();
  return { title, href: link };
}

/**
 * Collects every Content-Security-Policy violation in `page` from now on,
 * across full page loads: the browser's `securitypolicyviolation` events
 * (reported through a binding that outlives navigations), and its console
 * messages about the policy, which also cover what is refused before any
 * script of the page could listen (an inline script in `<head>`).
 */
export async function collectCspViolations(page: Page): Promise<string[]> {
  const violations: string[] = [];
  await page.exposeBinding("__reportCspViolation", (_source, text: string) => {
    violations.push(text);
  });
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      const report = (window as unknown as { __reportCspViolation: (text: string) => void }).__reportCspViolation;
      report(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ${event.documentURI}`);
    });
  });
  page.on("console", (message) => {
    if (message.text().includes("Content Security Policy")) violations.push(message.text());
  });
  return violations;
}
