import { expect, test } from "@playwright/test";
import { collectCspViolations, collectPageErrors, exportedPages, gotoHydrated } from "./support";

// The export served by nginx alone (deploy/nginx/static.conf) sends the
// app's security headers, and each page's Content-Security-Policy allows its
// own inline scripts (the export's fetch mapping, the page's data): every
// exported page hydrates without a single violation.

test("every exported page hydrates under its Content-Security-Policy", async ({ page }) => {
  test.setTimeout(120_000);
  const violations = await collectCspViolations(page);
  const errors = collectPageErrors(page);
  const pages = exportedPages();
  expect(pages.length).toBeGreaterThan(10);
  for (const { url } of pages) {
    const response = await gotoHydrated(page, url);
    const headers = response?.headers() ?? {};
    const policy = headers["content-security-policy"] ?? "";
    expect(policy, url).toContain("script-src 'self' 'wasm-unsafe-eval' 'sha256-");
    expect(policy, url).not.toContain("unsafe-inline");
    expect(headers["x-content-type-options"], url).toBe("nosniff");
    expect(headers["x-frame-options"], url).toBe("DENY");
  }
  expect(violations).toEqual([]);
  expect(errors).toEqual([]);
});
