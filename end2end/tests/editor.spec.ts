import { expect, test, type Browser, type Page } from "@playwright/test";
import { ADMIN, gotoHydrated, signIn } from "./support";

// An admin edits a post in the dashboard; the public page, which the ISR cache
// held, shows the new text at once: to the admin and to an anonymous visitor.

async function signInAsAdmin(page: Page): Promise<void> {
  await signIn(page, ADMIN);
  await expect(page).toHaveURL("/dashboard");
}

/** The post page as a visitor with no session sees it. */
async function anonymousTitle(browser: Browser, path: string): Promise<{ title: string; xCache: string }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const response = await page.goto(path);
  const title = (await page.locator("article.post h1").textContent()) ?? "";
  const xCache = response?.headers()["x-cache"] ?? "";
  await context.close();
  return { title, xCache };
}

async function saveTitle(page: Page, editPath: string, title: string): Promise<void> {
  await gotoHydrated(page, editPath);
  await page.locator('input[name="title"]').fill(title);
  await page.getByRole("button", { name: "Save and view" }).click();
}

test("an admin's edit purges the cached page and every visitor sees it", async ({ page, browser }) => {
  await signInAsAdmin(page);
  const editLink = page.locator(".editor-list").first().getByRole("link", { name: "Edit" }).nth(1);
  const editPath = (await editLink.getAttribute("href"))!;
  const slug = editPath.replace("/dashboard/posts/", "");
  const postPath = `/blog/${slug}`;

  // The public page is in the cache.
  const before = await anonymousTitle(browser, postPath);
  expect((await anonymousTitle(browser, postPath)).xCache).toBe("HIT");

  const edited = `Edited in the browser ${Date.now()}`;
  try {
    await saveTitle(page, editPath, edited);
    // The save lands the admin on the public page, showing the change.
    await expect(page).toHaveURL(postPath);
    await expect(page.getByRole("heading", { level: 1, name: edited })).toBeVisible();

    // An anonymous visitor gets it too: the purge dropped the stored page.
    const after = await anonymousTitle(browser, postPath);
    expect(after.title).toBe(edited);
    expect(after.xCache).toBe("MISS");
    expect((await anonymousTitle(browser, postPath)).xCache).toBe("HIT");
  } finally {
    await saveTitle(page, editPath, before.title);
    await expect(page).toHaveURL(postPath);
  }
  expect((await anonymousTitle(browser, postPath)).title).toBe(before.title);
});

test("a bad price is refused with a message and nothing is lost", async ({ page }) => {
  await signInAsAdmin(page);
  await gotoHydrated(page, "/dashboard/products/1");
  const stock = page.locator('input[name="stock"]');
  const stockBefore = await stock.inputValue();
  await page.locator('input[name="price"]').fill("twelve");
  await page.getByRole("button", { name: "Save and view" }).click();
  await expect(page.getByRole("alert")).toContainText("The price must be an amount like 29.00");
  await expect(page).toHaveURL("/dashboard/products/1");
  await expect(page.locator('input[name="price"]')).toHaveValue("twelve");
  await expect(stock).toHaveValue(stockBefore);
});
