import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export {
  collectCspViolations,
  collectPageErrors,
  expectNoReload,
  gotoHydrated,
  markDocument,
  openFirstCard,
  pageTitle,
  siteNav,
  waitForHydration,
} from "../tests/support";

/** The export these tests run against, as ../scripts/e2e-static writes it. */
export const EXPORT_DIR = fileURLToPath(new URL("../../target/e2e-static/site/", import.meta.url));

/** The bytes of `file` in the export (a path relative to its root). */
export function exportFile(file: string): string {
  return fs.readFileSync(path.join(EXPORT_DIR, file), "utf8");
}

/** An exported page: the URL a visitor asks for, and the file that answers it. */
export interface ExportedPage {
  url: string;
  file: string;
}

/**
 * Every page in the export, from the files on disk: `P/index.html` is `P`,
 * `P/index.<query>.html` is `P?<query>` (`~xx` in a file name is the byte
 * 0xxx). The bundle, `_data` and `404.html` are not pages.
 */
export function exportedPages(): ExportedPage[] {
  const pages: ExportedPage[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(path.join(EXPORT_DIR, dir), { withFileTypes: true })) {
      const file = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (file !== "pkg" && file !== "_data") walk(file);
        continue;
      }
      const match = entry.name.match(/^index(?:\.(.+))?\.html$/);
      if (!match) continue;
      const query = match[1] ? `?${match[1].replace(/~([0-9a-fA-F]{2})/g, "%$1")}` : "";
      pages.push({ url: `/${dir}${query}`, file });
    }
  };
  walk("");
  return pages.sort((a, b) => a.url.localeCompare(b.url));
}

/** One rule of `_headers`: a URL path (`*` matches anything) and its headers. */
export interface HeaderRule {
  path: string;
  headers: Map<string, string>;
}

/**
 * The export's `_headers` (Netlify / Cloudflare Pages syntax): a URL path at
 * the start of a line, then its `Name: value` lines, indented.
 */
export function headerRules(): HeaderRule[] {
  const rules: HeaderRule[] = [];
  for (const line of exportFile("_headers").split("\n")) {
    if (line.trim() === "" || line.trim().startsWith("#")) continue;
    if (!/^\s/.test(line)) {
      rules.push({ path: line.trim(), headers: new Map() });
      continue;
    }
    const rule = rules.at(-1);
    const colon = line.indexOf(":");
    if (!rule || colon < 0) throw new Error(`_headers: a header line outside a rule, or no colon: ${line}`);
    rule.headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return rules;
}

/**
 * The headers `_headers` gives the URL path `urlPath`: its own rule, else the
 * first rule whose `*` pattern matches (rules match paths, never queries).
 */
export function headersFor(rules: HeaderRule[], urlPath: string): Map<string, string> | undefined {
  const exact = rules.find((rule) => rule.path === urlPath);
  if (exact) return exact.headers;
  const escape = (part: string) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
  return rules.find((rule) =>
    rule.path.includes("*") && new RegExp(`^${rule.path.split("*").map(escape).join(".*")}$`).test(urlPath),
  )?.headers;
}
