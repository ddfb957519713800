import fs from "node:fs";
import { chromium, defineConfig, devices, type LaunchOptions } from "@playwright/test";

/**
 * Browser tests, three projects:
 * - `chromium` (tests/): the real server (SSR + hydration) on a fresh, seeded
 *   SQLite database;
 * - `release` (release/, and tests/navigation and tests/editor again): the
 *   release build (../scripts/e2e-server --release), as `cargo leptos build --release`
 *   makes it, on its own database;
 * - `static` (static/): a static export of such a database served by nginx
 *   alone (../scripts/e2e-static), as a static host would serve it.
 *
 *   npx playwright test                  # builds and starts the three servers
 *   npx playwright test --project static # only the static tests (every server still starts)
 *   E2E_PORT=3100 E2E_STATIC_PORT=3201 E2E_RELEASE_PORT=3301 npx playwright test
 *                                        # the same on other ports
 *   CLIENT_CACHE_MAX_SECS=10 cargo leptos end-to-end
 *                                        # cargo-leptos serves on 3000; reused here
 *                                        # (client-cache.spec.ts needs the cap)
 */
const port = Number(process.env.E2E_PORT ?? 3000);
const baseURL = `http://127.0.0.1:${port}`;
const releasePort = Number(process.env.E2E_RELEASE_PORT ?? 3300);
const releaseURL = `http://127.0.0.1:${releasePort}`;
const staticPort = Number(process.env.E2E_STATIC_PORT ?? 3200);
const staticURL = `http://127.0.0.1:${staticPort}`;

/**
 * Playwright's own Chromium where `npx playwright install` has put it;
 * otherwise a system Chromium (Debian's, or PLAYWRIGHT_CHROMIUM_PATH).
 */
function chromiumLaunchOptions(): LaunchOptions {
  try {
    if (fs.existsSync(chromium.executablePath())) {
      return {};
    }
  } catch {
    // No Playwright browser registry entry for this platform: use the system one.
  }
  return {
    executablePath: process.env.PLAYWRIGHT_CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-dev-shm-usage",
    ],
  };
}

/** A project in Chromium: its tests, and the server they run against (`baseURL`). */
function project(name: string, options: { testDir: string; testMatch?: string[]; baseURL?: string }) {
  const { baseURL: projectURL, ...tests } = options;
  return {
    name,
    ...tests,
    use: { ...devices["Desktop Chrome"], launchOptions: chromiumLaunchOptions(), ...(projectURL ? { baseURL: projectURL } : {}) },
  };
}

/** A server Playwright starts with `command` and waits for at `url` (the first run compiles). */
function server(command: string, url: string, options: { reuse: boolean; minutes: number }) {
  return {
    command,
    url: `${url}/`,
    reuseExistingServer: options.reuse,
    timeout: options.minutes * 60 * 1000,
    stdout: "pipe" as const,
    stderr: "pipe" as const,
  };
}

export default defineConfig({
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  // Tests must be deterministic: a retry would hide a flaky one.
  retries: 0,
  workers: process.env.CI ? 1 : 2,
  reporter: "list",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  use: {
    baseURL,
    trace: "retain-on-failure",
  },
  projects: [
    project("chromium", { testDir: "./tests" }),
    project("release", {
      testDir: ".",
      testMatch: ["release/*.spec.ts", "tests/navigation.spec.ts", "tests/editor.spec.ts", "tests/security.spec.ts"],
      baseURL: releaseURL,
    }),
    project("static", { testDir: "./static", baseURL: staticURL }),
  ],
  // Started one after the other, in this order: the export is a copy of the
  // built bundle, so the app server's own build cannot change it under nginx.
  webServer: [
    // Never another export: its content would not be this database's.
    server("../scripts/e2e-static", staticURL, { reuse: false, minutes: 15 }),
    // `cargo leptos end-to-end` starts its own server first; use it when it is up.
    server("../scripts/e2e-server", baseURL, { reuse: true, minutes: 15 }),
    // Never a server of another build; the first run compiles the release
    // server and wasm (about 15 minutes on 2 cores).
    server("../scripts/e2e-server --release", releaseURL, { reuse: false, minutes: 40 }),
  ],
});
