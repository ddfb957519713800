import { expect, test } from "@playwright/test";
import { SITE_NAME, pageTitle, waitForHydration } from "./support";

// Server-rendered HTML: every public page answers 200 with its heading and title,
// before any JavaScript runs.

test.describe("public pages", () => {
  test("home page shows the hero, the latest posts and products", async ({ page }) => {
    const response = await page.goto("/");
    expect(response?.status()).toBe(200);
    await expect(page).toHaveTitle(SITE_NAME);
    await expect(
      page.getByRole("heading", { level: 1, name: "Fast like a static site. Fresh like a dynamic one." }),
    ).toBeVisible();

    const latest = page.locator("section.section", { has: page.getByRole("heading", { name: "Latest posts" }) });
    await expect(latest.locator(".post-list > li")).toHaveCount(3);
    const shop = page.locator("section.section", { has: page.getByRole("heading", { name: "From the shop" }) });
    await expect(shop.locator(".product-grid > li").first()).toBeVisible();

    const nav = page.getByRole("banner").getByRole("navigation");
    for (const name of ["Blog", "Shop", "Search", "Dashboard"]) {
      await expect(nav.getByRole("link", { name, exact: true })).toBeVisible();
    }
  });

  test("blog index lists nine posts on page 1 of 3", async ({ page }) => {
    const response = await page.goto("/blog");
    expect(response?.status()).toBe(200);
    await expect(page).toHaveTitle(pageTitle("Blog"));
    await expect(page.getByRole("heading", { level: 1, name: "Blog" })).toBeVisible();
    await expect(page.locator(".post-list > li")).toHaveCount(9);
    await expect(page.getByText("Page 1 of 3")).toBeVisible();
    await expect(page.locator('a[rel="next"]')).toHaveText("Older →");
    await expect(page.locator('a[rel="prev"]')).toHaveCount(0);
  });

  test("blog page 3 holds the last six posts", async ({ page }) => {
    const response = await page.goto("/blog?page=3");
    expect(response?.status()).toBe(200);
    await expect(page.locator(".post-list > li")).toHaveCount(24 - 2 * 9);
    await expect(page.getByText("Page 3 of 3")).toBeVisible();
    await expect(page.locator('a[rel="prev"]')).toHaveText("← Newer");
    await expect(page.locator('a[rel="prev"]')).toHaveAttribute("href", "/blog?page=2");
    await expect(page.locator('a[rel="next"]')).toHaveCount(0);
  });

  test("a blog post renders its title, byline and body", async ({ page }) => {
    const response = await page.goto("/blog/hello-isr");
    expect(response?.status()).toBe(200);
    const heading = page.getByRole("heading", { level: 1 });
    await expect(heading).toHaveCount(1);
    const title = (await heading.textContent())?.trim() ?? "";
    expect(title).not.toBe("");
    await expect(page).toHaveTitle(pageTitle(title));
    await expect(page.locator("article.post time")).not.toBeEmpty();
    await expect(page.locator("article.post .prose p").first()).not.toBeEmpty();
    await expect(page.getByRole("link", { name: "← Blog" })).toHaveAttribute("href", "/blog");
  });

  test("shop index lists nine of twelve products", async ({ page }) => {
    const response = await page.goto("/products");
    expect(response?.status()).toBe(200);
    await expect(page).toHaveTitle(pageTitle("Shop"));
    await expect(page.getByRole("heading", { level: 1, name: "Shop" })).toBeVisible();
    await expect(page.locator(".product-grid > li")).toHaveCount(9);
    await expect(page.getByText("Page 1 of 2")).toBeVisible();

    const second = await page.goto("/products?page=2");
    expect(second?.status()).toBe(200);
    await expect(page.locator(".product-grid > li")).toHaveCount(12 - 9);
    await expect(page.getByText("Page 2 of 2")).toBeVisible();
  });

  test("a product page shows price and availability", async ({ page }) => {
    // Follow the first card rather than guessing an id.
    await page.goto("/products");
    const card = page.locator(".product-grid .card-title a").first();
    const name = (await card.textContent())?.trim() ?? "";
    const href = await card.getAttribute("href");
    expect(href).toMatch(/^\/products\/\d+$/);

    const response = await page.goto(href!);
    expect(response?.status()).toBe(200);
    await expect(page).toHaveTitle(pageTitle(name));
    await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
    await expect(page.locator("article.product .price")).toHaveText(/^\$\d+\.\d{2}$/);
    await expect(page.getByTestId("availability")).toHaveText(/^(In stock|Only \d+ left|Sold out)$/);
  });

  for (const campaign of ["spring-sale", "launch-week"]) {
    test(`landing page /landing/${campaign} renders its campaign`, async ({ page }) => {
      const response = await page.goto(`/landing/${campaign}`);
      expect(response?.status()).toBe(200);
      const heading = page.getByRole("heading", { level: 1 });
      await expect(heading).toHaveCount(1);
      const headline = (await heading.textContent())?.trim() ?? "";
      expect(headline).not.toBe("");
      await expect(page).toHaveTitle(pageTitle(headline));
      await expect(page.locator(".hero.landing .eyebrow")).toHaveText("Campaign");
      await expect(page.locator(".hero.landing .hero-actions a.button")).toHaveAttribute("href", /^\//);
    });
  }

  test("search page without a query shows the form and a hint", async ({ page }) => {
    const response = await page.goto("/search");
    expect(response?.status()).toBe(200);
    await expect(page).toHaveTitle(pageTitle("Search"));
    await expect(page.getByRole("heading", { level: 1, name: "Search" })).toBeVisible();
    await expect(page.getByRole("searchbox", { name: "Search" })).toHaveValue("");
    await expect(page.getByText(/Type a word/)).toBeVisible();
  });

  test("search results are server-rendered for a ?q= URL", async ({ page }) => {
    const response = await page.goto("/search?q=cache");
    expect(response?.status()).toBe(200);
    await expect(page.getByRole("heading", { level: 2, name: /^Posts \(\d+\)$/ })).toBeVisible();
    await expect(page.locator(".post-list > li").first()).toBeVisible();
    // The box shows the query once the page is live (`prop:value` is set in the browser).
    await waitForHydration(page);
    await expect(page.getByRole("searchbox", { name: "Search" })).toHaveValue("cache");
  });

  test("login page shows the sign-in form", async ({ page }) => {
    const response = await page.goto("/login");
    expect(response?.status()).toBe(200);
    await expect(page).toHaveTitle(pageTitle("Sign in"));
    await expect(page.getByRole("heading", { level: 1, name: "Sign in" })).toBeVisible();
    await expect(page.locator('input[name="email"]')).toBeVisible();
    await expect(page.locator('input[name="password"]')).toHaveAttribute("type", "password");
    await expect(page.getByRole("button", { name: "Sign in" })).toBeEnabled();
  });
});

test.describe("not found", () => {
  const missing = [
    ["an unknown post slug", "/blog/no-such-post"],
    ["an unknown product id", "/products/999999"],
    ["a non-numeric product id", "/products/not-a-number"],
    ["an unknown campaign", "/landing/no-such-campaign"],
    ["a blog page past the end", "/blog?page=99"],
    ["an unknown path", "/no/such/page"],
  ];
  for (const [what, path] of missing) {
    test(`${what} is a 404 page (${path})`, async ({ page }) => {
      const response = await page.goto(path);
      expect(response?.status()).toBe(404);
      await expect(page).toHaveTitle(pageTitle("Page not found"));
      await expect(page.getByRole("heading", { level: 1, name: "Page not found" })).toBeVisible();
      await expect(page.getByRole("link", { name: "Go to the home page" })).toHaveAttribute("href", "/");
    });
  }
});

test.describe("browser bundle", () => {
  test("the script, wasm and stylesheet that pages link to are served", async ({ page, request }) => {
    await page.goto("/");
    const assets: [string | null, string][] = [
      [await page.locator('link[rel="modulepreload"]').getAttribute("href"), "javascript"],
      [await page.locator('link[rel="preload"][as="fetch"]').getAttribute("href"), "application/wasm"],
      [await page.locator('link[rel="stylesheet"]#leptos').getAttribute("href"), "text/css"],
    ];
    for (const [href, type] of assets) {
      expect(href, `a ${type} link in <head>`).toMatch(/^\/pkg\//);
      const response = await request.get(href!);
      expect(response.status(), `GET ${href}`).toBe(200);
      expect(response.headers()["content-type"], `content type of ${href}`).toContain(type);
    }
  });
});
