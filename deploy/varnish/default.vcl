vcl 4.1;
# Varnish in front of leptos-isr-starter: a CDN that does ISR from the app's
# own headers. Nothing here knows the app's routes or TTLs:
#
# - `s-maxage` (Varnish's default) or `CDN-Cache-Control: max-age` (RFC 9213)
#   is how long a page is fresh.
# - `stale-while-revalidate` and `stale-if-error` both count from expiry
#   (RFC 5861), and grace is the longer of the two. Inside the SWR window a
#   stale page is served at once while one background fetch refreshes it.
#   Past it, inside stale-if-error, the visitor waits for a fresh page; if the
#   app answers 5xx, times out or is down, the fetch is abandoned and the
#   request restarted to get the stale page instead (`X-Cache: STALE`,
#   `Cache-Status: varnish; fwd=stale; fwd-status=503; detail=stale-if-error`).
#   A failed background fetch is abandoned too: an error never replaces a
#   good page. (Requests for one such page queue behind its fetch: fine for
#   an outage, and why Varnish Enterprise has a stale vmod for busy sites.)
# - `private`, `no-store`, `no-cache` and `Set-Cookie` are never stored;
#   requests with the session cookie (`sid`) or `Authorization` go straight
#   to the app, and other cookies are dropped (anonymous pages ignore them).
#   `/metrics` and `/api/revalidate` always go to the app, which sees them
#   come through a proxy (`X-Forwarded-For`, added by varnishd).
# - The app purges with `BAN` (from the addresses in `purgers` only), naming
#   tags in `Surrogate-Key` (matched against the stored pages' tags), paths in
#   `X-Purge-Paths` (any query) and prefixes in `X-Purge-Prefixes`: lists
#   separated by spaces, every item matched literally (regex characters
#   escaped; a list holding a quote or a control character is refused, and a
#   path or prefix must start with `/`), so no item bans more than itself.
#
# scripts/varnish (and the CDN tests) replace the backend port.

import std;

backend app {
    .host = "127.0.0.1";
    .port = "3000";
    # A fetch that fails sooner serves a stale page sooner. The app answers
    # every request within REQUEST_TIMEOUT_SECS (30 by default).
    .connect_timeout = 2s;
    .first_byte_timeout = 35s;
    .between_bytes_timeout = 10s;
}

acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.restarts == 0) {
        # Markers this VCL sets for itself (see vcl_hit, vcl_synth): a client
        # must not be able to ask for a stale page.
        unset req.http.X-Stale-Candidate;
        unset req.http.X-Stale-If-Error;
    } else if (req.http.X-Stale-If-Error) {
        # The fresh fetch failed: look the stale page up again.
        set req.hash_always_miss = false;
    } else if (req.http.X-Stale-Candidate) {
        # Past the SWR window (vcl_hit): fetch a fresh page, leaving the
        # stale one in place until it arrives.
        set req.hash_always_miss = true;
    }
    if (req.method == "BAN") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        # A quote or a byte outside printable ASCII could end the ban's
        # argument or hide in it: refused, not guessed at.
        if (req.http.Surrogate-Key + " " + req.http.X-Purge-Paths + " " + req.http.X-Purge-Prefixes
                ~ "[^ -~]|\x22") {
            return (synth(400, "Bad ban list"));
        }
        if (req.http.X-Purge-Paths ~ "(^|\s)[^/\s]" || req.http.X-Purge-Prefixes ~ "(^|\s)[^/\s]") {
            return (synth(400, "Paths and prefixes start with /"));
        }
        # Each list: trimmed (an empty item would match everything), regex
        # characters escaped, items joined as alternatives.
        if (req.http.Surrogate-Key ~ "\S") {
            ban("obj.http.Surrogate-Key ~ (^|\s)("
                + regsuball(regsuball(regsuball(req.http.Surrogate-Key, "^\s+|\s+$", ""),
                    "([.?*+^$()\[\]{}|\\])", "\\\1"), "\s+", "|")
                + ")(\s|$)");
        }
        if (req.http.X-Purge-Paths ~ "\S") {
            ban("obj.http.X-Url ~ ^("
                + regsuball(regsuball(regsuball(req.http.X-Purge-Paths, "^\s+|\s+$", ""),
                    "([.?*+^$()\[\]{}|\\])", "\\\1"), "\s+", "|")
                + ")(\?|$)");
        }
        if (req.http.X-Purge-Prefixes ~ "\S") {
            ban("obj.http.X-Url ~ ^("
                + regsuball(regsuball(regsuball(req.http.X-Purge-Prefixes, "^\s+|\s+$", ""),
                    "([.?*+^$()\[\]{}|\\])", "\\\1"), "\s+", "|")
                + ")");
        }
        return (synth(200, "Banned"));
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # Operations: never cached, and the app must see that a proxy forwarded
    # them (it trusts only direct loopback peers without a token).
    if (req.url ~ "^/(metrics|api/revalidate)(\?|$)") {
        return (pass);
    }
    if (req.http.Authorization || req.http.Cookie ~ "(^|;\s*)(__Host-)?sid=") {
        return (pass);
    }
    unset req.http.Cookie;
    # The same page whatever the tracking parameters (as the built-in cache).
    set req.url = regsuball(req.url, "([?&])(utm_[a-z]+|fbclid|gclid)=[^&]*", "\1");
    set req.url = regsub(regsub(req.url, "&+", "&"), "[?&]+$", "");
    return (hash);
}

sub vcl_hit {
    if (obj.ttl >= 0s) {
        return (deliver);
    }
    if (req.http.X-Stale-If-Error) {
        # Back from a failed fetch (vcl_synth): the last good page.
        return (deliver);
    }
    if (obj.ttl + std.duration(obj.http.X-Swr, 0s) > 0s) {
        # stale-while-revalidate: served at once, refreshed in the background.
        return (deliver);
    }
    # Past the SWR window, inside stale-if-error: the visitor waits for a
    # fresh page, and gets this one if that fails. (Varnish 7 has no
    # `return (miss)` here: a restart that always misses does it. Such
    # fetches are not coalesced; the app's own cache coalesces its renders.)
    set req.http.X-Stale-Candidate = "1";
    return (restart);
}

sub vcl_backend_response {
    if (beresp.status >= 500 && (bereq.is_bgfetch || bereq.http.X-Stale-Candidate)) {
        # A stale page is there to serve instead: keep it, drop the error.
        return (abandon);
    }
    # For path and prefix bans (ban lurker friendly: on the object, not the request).
    set beresp.http.X-Url = bereq.url;
    if (beresp.http.CDN-Cache-Control ~ "max-age=\d+") {
        set beresp.ttl = std.duration(
            regsub(beresp.http.CDN-Cache-Control, ".*max-age=(\d+).*", "\1") + "s", beresp.ttl);
    }
    # The stale windows, from CDN-Cache-Control when it names them (RFC 9213).
    set beresp.http.X-Swr = "0s";
    if (beresp.http.CDN-Cache-Control ~ "stale-while-revalidate=\d+") {
        set beresp.http.X-Swr =
            regsub(beresp.http.CDN-Cache-Control, ".*stale-while-revalidate=(\d+).*", "\1") + "s";
    } else if (beresp.http.Cache-Control ~ "stale-while-revalidate=\d+") {
        set beresp.http.X-Swr =
            regsub(beresp.http.Cache-Control, ".*stale-while-revalidate=(\d+).*", "\1") + "s";
    }
    set beresp.grace = std.duration(beresp.http.X-Swr, 0s);
    if (beresp.http.CDN-Cache-Control ~ "stale-if-error=\d+") {
        set beresp.http.X-Sie =
            regsub(beresp.http.CDN-Cache-Control, ".*stale-if-error=(\d+).*", "\1") + "s";
    } else if (beresp.http.Cache-Control ~ "stale-if-error=\d+") {
        set beresp.http.X-Sie =
            regsub(beresp.http.Cache-Control, ".*stale-if-error=(\d+).*", "\1") + "s";
    }
    if (std.duration(beresp.http.X-Sie, 0s) > beresp.grace) {
        set beresp.grace = std.duration(beresp.http.X-Sie, 0s);
    }
    unset beresp.http.X-Sie;
    if (beresp.http.Cache-Control ~ "(private|no-store|no-cache)" || beresp.http.Set-Cookie) {
        set beresp.uncacheable = true;
        set beresp.ttl = 120s;
    }
    return (deliver);
}

sub vcl_backend_error {
    if (bereq.is_bgfetch || bereq.http.X-Stale-Candidate) {
        # Down or timed out, with a stale page to serve instead (see above).
        return (abandon);
    }
}

sub vcl_synth {
    if (resp.status == 503 && req.http.X-Stale-Candidate && !req.http.X-Stale-If-Error) {
        # The fetch was abandoned: start again, to deliver the stale page.
        set req.http.X-Stale-If-Error = "1";
        return (restart);
    }
}

sub vcl_deliver {
    unset resp.http.X-Url;
    unset resp.http.X-Swr;
    # What this cache did, as the app's own cache says it (RFC 9211 appends).
    if (req.http.X-Stale-If-Error && obj.ttl < 0s) {
        set resp.http.X-Cache = "STALE";
    } else if (obj.uncacheable) {
        set resp.http.X-Cache = "PASS";
    } else if (obj.hits > 0 && obj.ttl <= 0s) {
        set resp.http.X-Cache = "STALE";
    } else if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    if (req.http.X-Stale-If-Error && obj.ttl < 0s) {
        set resp.http.Cache-Status = resp.http.Cache-Status + ", "
            + "varnish; fwd=stale; fwd-status=503; detail=stale-if-error";
    } else {
        set resp.http.Cache-Status = resp.http.Cache-Status + ", "
            + "varnish; " + std.tolower(resp.http.X-Cache);
    }
    # No Cache-Status from the app: no leading separator.
    set resp.http.Cache-Status = regsub(resp.http.Cache-Status, "^, ", "");
}
