# Shared by scripts/dev, scripts/test and scripts/build-site: installs what is
# missing, idempotently, at pinned versions. Sourced, not run.
#
# Versions: cargo-leptos is pinned here; wasm-bindgen-cli always matches the
# `wasm-bindgen` crate in Cargo.lock (the two must agree exactly).

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO_LEPTOS_VERSION="0.3.10"
BINARYEN_VERSION="132.0.0"
export PATH="$HOME/.cargo/bin:$ROOT/end2end/node_modules/.bin:$PATH"
# leptos_config reads this at compile time too: set it for every cargo call so
# that all builds share one compiled copy of Leptos.
export LEPTOS_OUTPUT_NAME="leptos-isr-starter"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "error: '$*' needs root; run it once by hand" >&2; return 1
  fi
}

wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

ensure_wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

ensure_wasm_bindgen() {
  local want have
  want="$(wasm_bindgen_version)"
  have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
  if [ "$have" != "$want" ]; then
    say "installing wasm-bindgen-cli $want (matches Cargo.lock; a few minutes, once)"
    # No --locked: the CLI's own lockfile names a crate the registry mirror lacks.
    cargo install wasm-bindgen-cli --version "=$want" --force
  fi
}

ensure_cargo_leptos() {
  if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}' || true)" != "$CARGO_LEPTOS_VERSION" ]; then
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION (builds from source: up to 30 minutes, once)"
    cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
  fi
}

ensure_node_modules() {
  if ! command -v npm >/dev/null; then
    echo "error: Node.js and npm are needed for the browser tests: install them first" >&2
    return 1
  fi
  local stamp="$ROOT/end2end/node_modules/.package-lock.json"
  if [ ! -f "$stamp" ] || [ "$ROOT/end2end/package-lock.json" -nt "$stamp" ]; then
    say "installing the end2end npm packages"
    (cd "$ROOT/end2end" && npm ci --no-audit --no-fund)
  fi
}

# wasm-opt shrinks release wasm; cargo-leptos takes it from PATH. npm's binaryen
# is current (Debian's is too old) and needs no download from elsewhere.
ensure_wasm_opt() {
  if ! command -v wasm-opt >/dev/null; then
    say "installing wasm-opt (npm binaryen $BINARYEN_VERSION)"
    npm install --global --no-audit --no-fund "binaryen@$BINARYEN_VERSION"
  fi
}

# Installs Debian's package $1 unless command $2 (default: $1) is on PATH;
# $3 says what for.
ensure_debian() {
  local package="$1" command="${2:-$1}" why="$3"
  if ! command -v "$command" >/dev/null && [ ! -x "/usr/sbin/$command" ]; then
    say "installing Debian's $package $why"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package"
  fi
}

# Debian's brotli (gzip is always there), for scripts/precompress: the
# reference encoder, and a well-kept command rather than code of our own.
ensure_brotli() { ensure_debian brotli brotli "to precompress the bundle"; }

# Varnish, for the CDN tests (tests/http/cdn.rs) and scripts/varnish.
ensure_varnish() { ensure_debian varnish varnishd "for the CDN tests"; }

# nginx, for the static export's browser tests and scripts/static-server,
# with Debian's brotli_static module (serves the bundle's `.br` copies; it
# loads itself from modules-enabled/, and scripts/static-server loads it).
ensure_nginx() {
  if [ ! -x /usr/sbin/nginx ] || [ ! -f /usr/lib/nginx/modules/ngx_http_brotli_static_module.so ]; then
    say "installing Debian's nginx and its brotli_static module for the static export's tests"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx libnginx-mod-http-brotli-static
  fi
}

# wrk, for the benchmarks (scripts/bench-isr, scripts/soak).
ensure_wrk() { ensure_debian wrk wrk "for the benchmarks"; }

# redis-cli, for scripts/bench-isr (is a Redis there; deleting its keys).
ensure_redis_cli() { ensure_debian redis-tools redis-cli "for the benchmarks"; }

# psql, for scripts/bench-isr (creating and dropping its database).
ensure_psql() { ensure_debian postgresql-client psql "for the benchmarks"; }

# Playwright's own Chromium where it is installed; otherwise Debian's (the
# Playwright config picks whichever exists).
ensure_chromium() {
  if [ -n "$(find "${PLAYWRIGHT_BROWSERS_PATH:-$HOME/.cache/ms-playwright}" -maxdepth 1 -name 'chromium*' 2>/dev/null)" ]; then
    return
  fi
  command -v chromium-browser >/dev/null || ensure_debian chromium chromium "for the browser tests"
}
