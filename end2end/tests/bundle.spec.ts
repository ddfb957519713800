import { expect, test } from "@playwright/test";
import { gotoHydrated } from "./support";

// The wasm bundle as a browser downloads it on a page load: the brotli copy
// that scripts/precompress wrote beside it, sent as it is by the /pkg route
// (src/server/assets.rs), never the raw file and never through the ISR cache.
// (tests/http/assets.rs checks every encoding and the bad paths.)

const WASM = /\/pkg\/[^/]+\.wasm$/;

test("the wasm arrives brotli-compressed, under a third of its size", async ({ page, request }) => {
  const wasm = page.waitForResponse((r) => WASM.test(new URL(r.url()).pathname));
  await gotoHydrated(page, "/");
  const response = await wasm;
  expect(response.status()).toBe(200);

  const headers = await response.allHeaders();
  expect(headers["content-encoding"]).toBe("br");
  expect(headers["vary"]).toContain("accept-encoding");
  expect(headers["cache-status"], "the ISR layer never sees /pkg").toBeUndefined();
  expect(headers["x-cache"]).toBeUndefined();

  // Bytes on the wire, before the browser decodes them. A precompressed copy
  // says its length; one compressed per request (a bundle without copies, as
  // under `cargo leptos watch`) is chunked.
  const { responseBodySize } = await response.request().sizes();
  expect(responseBodySize).toBeGreaterThan(0);
  if (headers["content-length"] !== undefined) {
    expect(Number(headers["content-length"])).toBe(responseBodySize);
  }

  const raw = await request.get(response.url(), { headers: { "accept-encoding": "identity" } });
  expect(raw.headers()["content-encoding"]).toBeUndefined();
  const rawSize = (await raw.body()).length;
  expect(responseBodySize, `${responseBodySize} of ${rawSize} bytes`).toBeLessThan(rawSize / 3);
});
