import fs from "node:fs";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { EXPORT_DIR, exportFile, exportedPages, headerRules, headersFor } from "./support";

// The static export served by nginx (deploy/nginx/static.conf) with no app
// running: every page it holds answers 200 with its own file and the headers
// its `_headers` rule gives, which are the app's route table's.

/** The headers the export sets, by their name in `_headers` (lower case). */
const EXPORT_HEADERS = ["cache-control", "cdn-cache-control", "cache-tag", "netlify-cache-tag"];

test.describe("the static export over nginx", () => {
  test("holds the public pages and none of the private ones", () => {
    const urls = exportedPages().map((page) => page.url);
    for (const url of ["/", "/blog", "/blog?page=2", "/blog/hello-isr", "/products", "/landing/launch-week"]) {
      expect(urls, `${url} is exported`).toContain(url);
    }
    for (const url of ["/dashboard", "/login", "/search"]) {
      expect(urls, `${url} is never exported`).not.toContain(url);
    }
    // Every post and every product (the demo seeds 24 and 12), not only what
    // the home page links to.
    expect(urls.filter((url) => /^\/blog\/[^/?]+$/.test(url))).toHaveLength(24);
    expect(urls.filter((url) => /^\/products\/[^/?]+$/.test(url))).toHaveLength(12);
  });

  test("every exported page is 200, its own file, with its _headers rule's headers", async ({ request }) => {
    const rules = headerRules();
    const wrong: string[] = [];
    for (const { url, file } of exportedPages()) {
      const rule = headersFor(rules, new URL(url, "http://x").pathname);
      if (!rule?.get("cache-control")) {
        wrong.push(`${url}: no Cache-Control rule in _headers`);
        continue;
      }
      const response = await request.get(url);
      if (response.status() !== 200) wrong.push(`${url}: status ${response.status()}`);
      if ((await response.text()) !== exportFile(file)) wrong.push(`${url}: not the content of ${file}`);
      for (const name of EXPORT_HEADERS) {
        const want = rule.get(name);
        const got = response.headers()[name];
        if (got !== want) wrong.push(`${url}: ${name} is ${JSON.stringify(got)}, _headers says ${JSON.stringify(want)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  test("the data files answer 200 with JSON and their rule's Cache-Control", async ({ request }) => {
    const rules = headerRules();
    const files = fs
      .readdirSync(path.join(EXPORT_DIR, "_data"), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(EXPORT_DIR, path.join(entry.parentPath, entry.name)));
    expect(files.length, "the export has data for client-side navigation").toBeGreaterThan(0);
    for (const file of files) {
      const url = `/${file.split(path.sep).join("/")}`;
      const response = await request.get(url);
      expect(response.status(), url).toBe(200);
      expect(response.headers()["content-type"], url).toMatch(/^application\/json/);
      expect(() => JSON.parse(exportFile(file)), url).not.toThrow();
      expect(response.headers()["cache-control"], url).toBe(headersFor(rules, url)?.get("cache-control"));
    }
  });

  test("the bundle is immutable, precompressed, and its wasm is application/wasm", async ({ request }) => {
    const wasm = fs.readdirSync(path.join(EXPORT_DIR, "pkg")).find((name) => name.endsWith(".wasm"));
    expect(wasm, "a wasm file in pkg/").toBeDefined();
    const url = `/pkg/${wasm}`;
    for (const encoding of ["br", "gzip"]) {
      const response = await request.get(url, { headers: { "accept-encoding": encoding } });
      expect(response.status()).toBe(200);
      expect(response.headers()["cache-control"]).toBe("public, max-age=31536000, immutable");
      expect(response.headers()["content-type"]).toBe("application/wasm");
      expect(response.headers()["content-encoding"]).toBe(encoding);
      expect(response.headers()["vary"]).toBe("Accept-Encoding");
    }
  });

  test("an unknown path is 404 with the export's 404.html", async ({ request }) => {
    for (const url of ["/no-such-page", "/blog/no-such-post", "/dashboard"]) {
      const response = await request.get(url);
      expect(response.status(), url).toBe(404);
      expect(await response.text(), url).toBe(exportFile("404.html"));
    }
  });

  test("the host's configuration files are not served", async ({ request }) => {
    for (const name of ["_headers", "_headers.nginx", "_redirects"]) {
      const response = await request.get(`/${name}`);
      expect(response.status(), name).toBe(404);
      expect(await response.text(), name).toBe(exportFile("404.html"));
    }
  });

  test("a query that names no file gets the page without it, never another file", async ({ request }) => {
    const blog = exportFile("blog/index.html");
    for (const query of ["page=../../_headers", "utm_source=x", "page=%2e%2e"]) {
      const response = await request.get(`/blog?${query}`);
      expect(response.status(), query).toBe(200);
      expect(await response.text(), query).toBe(blog);
    }
  });
});
