vcl 4.1;
# Varnish in front of leptos-isr-starter: a CDN that does ISR from the app's
# own headers. Nothing here knows the app's routes or TTLs:
#
# - `s-maxage` (Varnish's default) or `CDN-Cache-Control: max-age` (RFC 9213)
#   is how long a page is fresh; `stale-while-revalidate` becomes grace, so a
#   stale page is served at once while one background fetch refreshes it;
#   `stale-if-error` keeps it longer for when the app fails.
# - `private`, `no-store`, `no-cache` and `Set-Cookie` are never stored;
#   requests with the session cookie (`sid`) or `Authorization` go straight
#   to the app, and other cookies are dropped (anonymous pages ignore them).
# - The app purges with `BAN` (from the addresses in `purgers` only), naming
#   tags in `Surrogate-Key` (matched against the stored pages' tags), paths in
#   `X-Purge-Paths` (any query) and prefixes in `X-Purge-Prefixes`.
#
# scripts/varnish (and the CDN tests) replace the backend port.

import std;

backend app {
    .host = "127.0.0.1";
    .port = "3000";
}

acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "BAN") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        # Space-separated lists, matched literally: regex characters escaped.
        if (req.http.Surrogate-Key) {
            ban("obj.http.Surrogate-Key ~ (^|\s)("
                + regsuball(regsuball(req.http.Surrogate-Key, "([.?*+^$()\[\]{}|\\])", "\\\1"), "\s+", "|")
                + ")(\s|$)");
        }
        if (req.http.X-Purge-Paths) {
            ban("obj.http.X-Url ~ ^("
                + regsuball(regsuball(req.http.X-Purge-Paths, "([.?*+^$()\[\]{}|\\])", "\\\1"), "\s+", "|")
                + ")(\?|$)");
        }
        if (req.http.X-Purge-Prefixes) {
            ban("obj.http.X-Url ~ ^("
                + regsuball(regsuball(req.http.X-Purge-Prefixes, "([.?*+^$()\[\]{}|\\])", "\\\1"), "\s+", "|")
                + ")");
        }
        return (synth(200, "Banned"));
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    if (req.http.Authorization || req.http.Cookie ~ "(^|;\s*)sid=") {
        return (pass);
    }
    unset req.http.Cookie;
    # The same page whatever the tracking parameters (as the built-in cache).
    set req.url = regsuball(req.url, "([?&])(utm_[a-z]+|fbclid|gclid)=[^&]*", "\1");
    set req.url = regsub(regsub(req.url, "&+", "&"), "[?&]+$", "");
    return (hash);
}

sub vcl_backend_response {
    # For path and prefix bans (ban lurker friendly: on the object, not the request).
    set beresp.http.X-Url = bereq.url;
    if (beresp.http.CDN-Cache-Control ~ "max-age=\d+") {
        set beresp.ttl = std.duration(
            regsub(beresp.http.CDN-Cache-Control, ".*max-age=(\d+).*", "\1") + "s", beresp.ttl);
    }
    if (beresp.http.Cache-Control ~ "stale-while-revalidate=\d+") {
        set beresp.grace = std.duration(
            regsub(beresp.http.Cache-Control, ".*stale-while-revalidate=(\d+).*", "\1") + "s", 0s);
    } else {
        set beresp.grace = 0s;
    }
    if (beresp.http.Cache-Control ~ "stale-if-error=\d+") {
        set beresp.keep = std.duration(
            regsub(beresp.http.Cache-Control, ".*stale-if-error=(\d+).*", "\1") + "s", 0s);
    }
    if (beresp.http.Cache-Control ~ "(private|no-store|no-cache)" || beresp.http.Set-Cookie) {
        set beresp.uncacheable = true;
        set beresp.ttl = 120s;
    }
    return (deliver);
}

sub vcl_deliver {
    unset resp.http.X-Url;
    # What this cache did, as the app's own cache says it (RFC 9211 appends).
    if (obj.uncacheable) {
        set resp.http.X-Cache = "PASS";
    } else if (obj.hits > 0 && obj.ttl <= 0s) {
        set resp.http.X-Cache = "STALE";
    } else if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    if (resp.http.Cache-Status) {
        set resp.http.Cache-Status = resp.http.Cache-Status + ", varnish; " + std.tolower(resp.http.X-Cache);
    } else {
        set resp.http.Cache-Status = "varnish; " + std.tolower(resp.http.X-Cache);
    }
}
