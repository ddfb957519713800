import { expect, test, type Page } from "@playwright/test";
import { ADMIN, CUSTOMER, gotoHydrated, pageTitle, signIn as submitSignIn, siteNav, waitForHydration } from "./support";

// Every test has its own browser context, so sessions never leak between tests.

function signIn(page: Page, email: string, password: string): Promise<void> {
  return submitSignIn(page, { email, password });
}

test.describe("signed out", () => {
  test("visiting /dashboard redirects to /login", async ({ page, baseURL }) => {
    const response = await page.goto("/dashboard");
    expect(response?.status()).toBe(200);
    await expect(page).toHaveURL("/login");
    await expect(page.getByRole("heading", { level: 1, name: "Sign in" })).toBeVisible();

    // A real HTTP redirect from the server, not only one in the browser.
    const redirectedFrom = response?.request().redirectedFrom();
    expect(redirectedFrom?.url()).toBe(`${baseURL}/dashboard`);
    expect((await redirectedFrom?.response())?.status()).toBe(302);
  });

  test("the Dashboard nav link leads to /login in the browser", async ({ page }) => {
    await gotoHydrated(page, "/");
    await siteNav(page).getByRole("link", { name: "Dashboard", exact: true }).click();
    await expect(page).toHaveURL("/login");
    await expect(page.getByRole("heading", { level: 1, name: "Sign in" })).toBeVisible();
  });

  test("a wrong password shows an alert and stays on /login", async ({ page, context }) => {
    await signIn(page, CUSTOMER.email, "not-the-password");
    await expect(page.getByRole("alert")).toHaveText("Wrong email or password");
    await expect(page).toHaveURL("/login");
    await expect(page.getByRole("heading", { level: 1, name: "Sign in" })).toBeVisible();
    expect((await context.cookies()).find((cookie) => cookie.name === "sid")).toBeUndefined();
  });

  test("an unknown email gets the same message as a wrong password", async ({ page }) => {
    await signIn(page, "nobody@example.com", "whatever-password");
    await expect(page.getByRole("alert")).toHaveText("Wrong email or password");
    await expect(page).toHaveURL("/login");
  });

  test("after five failures the form says how long to wait", async ({ page }) => {
    // An account of its own, new each run (src/throttle.rs: five free
    // failures per account, counted for an hour), so no other test's sign-in
    // and no later run against a reused server is throttled.
    const email = `throttled-${Date.now()}@example.com`;
    for (let failure = 0; failure < 5; failure++) {
      await signIn(page, email, "not-the-password");
      await expect(page.getByRole("alert")).toHaveText("Wrong email or password");
    }
    // At once, on the same page: the fifth failure's wait (a second) has not
    // run out, as it would while a page loads.
    await page.locator('input[name="password"]').fill("not-the-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert")).toHaveText(
      /^Too many failed sign-ins\. Please wait \d+ seconds? before trying again\.$/,
    );
    await expect(page).toHaveURL("/login");
  });
});

test.describe("signed in", () => {
  test("a customer signs in, sees their orders, and signs out", async ({ page }) => {
    await signIn(page, CUSTOMER.email, CUSTOMER.password);

    await expect(page).toHaveURL("/dashboard");
    await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${CUSTOMER.name}` })).toBeVisible();
    await expect(page).toHaveTitle(pageTitle("Dashboard"));
    await expect(page.getByText(CUSTOMER.email, { exact: true })).toBeVisible();
    // Customers do not see the site statistics.
    await expect(page.getByRole("heading", { name: "Site", exact: true })).toHaveCount(0);

    await expect(page.getByRole("heading", { level: 2, name: "Your orders" })).toBeVisible();
    const orders = page.locator("table.table");
    await expect(orders.locator("thead th")).toHaveText(["Order", "Product", "Qty", "Total", "Date"]);
    await expect(orders.locator("tbody tr")).toHaveCount(2);
    await expect(orders.locator("tbody tr td:first-child")).toHaveText([/^#\d+$/, /^#\d+$/]);
    await expect(orders.locator("tbody tr td:nth-child(4)")).toHaveText([/^\$\d+\.\d{2}$/, /^\$\d+\.\d{2}$/]);

    // A reload renders the dashboard on the server from the session cookie.
    const reloaded = await page.reload();
    expect(reloaded?.status()).toBe(200);
    await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${CUSTOMER.name}` })).toBeVisible();
    await waitForHydration(page);

    await page.getByRole("button", { name: "Sign out", exact: true }).click();
    await expect(page).toHaveURL("/");
    await expect(
      page.getByRole("heading", { level: 1, name: "Fast like a static site. Fresh like a dynamic one." }),
    ).toBeVisible();

    // The session is gone: the dashboard sends us to sign in again.
    await page.goto("/dashboard");
    await expect(page).toHaveURL("/login");
    await expect(page.getByRole("heading", { level: 1, name: "Sign in" })).toBeVisible();
  });

  test("an admin sees the site statistics", async ({ page }) => {
    await signIn(page, ADMIN.email, ADMIN.password);
    await expect(page).toHaveURL("/dashboard");
    await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${ADMIN.name}` })).toBeVisible();
    await expect(page.locator(".eyebrow")).toHaveText("Administrator");
    await expect(page.getByRole("heading", { level: 2, name: "Site" })).toBeVisible();
    const site = page.locator("section", { has: page.getByRole("heading", { level: 2, name: "Site" }) });
    const stats = site.locator("ul.stats > li");
    await expect(stats).toHaveCount(3);
    await expect(stats.nth(0)).toHaveText(/^24 posts$/);
    await expect(stats.nth(1)).toHaveText(/^12 products$/);
    await expect(stats.nth(2)).toHaveText(/^\d+ orders$/);
    // And the cache panel, with its counters.
    const cache = page.getByTestId("cache-panel");
    await expect(cache.getByRole("heading", { level: 2, name: "Cache" })).toBeVisible();
    await expect(cache.locator("ul.stats > li").first()).toHaveText(/^(\d+%|–) hit rate$/);
  });

  test("the session cookie is HttpOnly and SameSite=Lax", async ({ page, context }) => {
    await signIn(page, CUSTOMER.email, CUSTOMER.password);
    await expect(page).toHaveURL("/dashboard");
    await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${CUSTOMER.name}` })).toBeVisible();

    const sid = (await context.cookies()).find((cookie) => cookie.name === "sid");
    expect(sid, "the sid cookie is set").toBeDefined();
    expect(sid?.httpOnly).toBe(true);
    expect(sid?.sameSite).toBe("Lax");
    expect(sid?.path).toBe("/");
    // A 256-bit id and its HMAC-SHA256 signature (base64url): a forged id fails it.
    expect(sid?.value).toMatch(/^[0-9a-f]{64}\.[A-Za-z0-9_-]{43}$/);
    // Served over plain http here, so not Secure (it would be over https).
    expect(sid?.secure).toBe(false);
    // Scripts cannot read it.
    expect(await page.evaluate(() => document.cookie)).not.toContain("sid=");
  });

  test("two browsers sign in as different users independently", async ({ browser }) => {
    const customer = await browser.newContext();
    const admin = await browser.newContext();
    try {
      const customerPage = await customer.newPage();
      const adminPage = await admin.newPage();
      await signIn(customerPage, CUSTOMER.email, CUSTOMER.password);
      await signIn(adminPage, ADMIN.email, ADMIN.password);
      await expect(customerPage.getByRole("heading", { level: 1, name: `Welcome, ${CUSTOMER.name}` })).toBeVisible();
      await expect(adminPage.getByRole("heading", { level: 1, name: `Welcome, ${ADMIN.name}` })).toBeVisible();

      // Signing one out leaves the other signed in.
      await customerPage.getByRole("button", { name: "Sign out", exact: true }).click();
      await expect(customerPage).toHaveURL("/");
      await adminPage.reload();
      await expect(adminPage.getByRole("heading", { level: 1, name: `Welcome, ${ADMIN.name}` })).toBeVisible();
    } finally {
      await customer.close();
      await admin.close();
    }
  });
});
