import fs from "node:fs";
import { chromium, defineConfig, devices, type LaunchOptions } from "@playwright/test";

/**
 * Browser tests against the real server (SSR + hydration) on a fresh, seeded
 * SQLite database.
 *
 *   npx playwright test                  # builds and starts ../scripts/e2e-server
 *   E2E_PORT=3100 npx playwright test    # the same on another port
 *   CLIENT_CACHE_MAX_SECS=10 cargo leptos end-to-end
 *                                        # cargo-leptos serves on 3000; reused here
 *                                        # (client-cache.spec.ts needs the cap)
 */
const port = Number(process.env.E2E_PORT ?? 3000);
const baseURL = `http://127.0.0.1:${port}`;

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

export default defineConfig({
  testDir: "./tests",
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
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        launchOptions: chromiumLaunchOptions(),
      },
    },
  ],
  webServer: {
    command: "../scripts/e2e-server",
    url: `${baseURL}/`,
    // `cargo leptos end-to-end` starts its own server first; use it when it is up.
    reuseExistingServer: true,
    // The first run compiles the server and the wasm bundle.
    timeout: 15 * 60 * 1000,
    stdout: "pipe",
    stderr: "pipe",
  },
});
