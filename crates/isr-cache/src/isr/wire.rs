//! Entries as the second level stores them: `ISR1`, a postcard payload, and
//! an xxh3 checksum of the payload. A record that is cut short, altered,
//! written by another program or another version, or stored under another
//! key does not decode, so it is never served: the cache renders the page
//! and overwrites it.
//!
//! A key whose response `Vary`s holds a pointer (the header names) at its
//! primary key, and the entries at their full keys, as in memory.

use std::collections::BTreeSet;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use serde_bytes::Bytes as Raw;

use super::entry::Entry;

/// The format's magic and version: a change of layout is a new version, and
/// old records are then foreign (skipped, and overwritten).
const MAGIC: &[u8; 4] = b"ISR1";

#[derive(Serialize, Deserialize)]
enum Wire<'a> {
    #[serde(borrow)]
    Entry(WireEntry<'a>),
    Vary {
        key: &'a str,
        #[serde(borrow)]
        names: Vec<&'a str>,
    },
}

#[derive(Serialize, Deserialize)]
struct WireEntry<'a> {
    /// The key it was stored under: another key's record is foreign.
    key: &'a str,
    status: u16,
    #[serde(borrow)]
    headers: Vec<(&'a str, &'a Raw)>,
    identity: &'a Raw,
    gzip: Option<&'a Raw>,
    brotli: Option<&'a Raw>,
    compressible: bool,
    vary: Vec<&'a str>,
    explicitly_shared: bool,
    path: &'a str,
    target: &'a str,
    tags: Vec<&'a str>,
    stored_at: u64,
    ttl: u64,
    swr: u64,
    sie: u64,
}

/// What a record holds.
pub(super) enum Decoded {
    Entry(Box<Entry>),
    /// The request headers the key's responses vary on.
    Vary(Vec<HeaderName>),
}

/// Why a record was not used.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refused {
    /// Not ours, or not this version's.
    Foreign,
    /// Cut short or altered.
    Corrupt,
    /// Stored under another key.
    OtherKey,
}

fn seal(payload: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(MAGIC.len() + payload.len() + 8);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(payload);
    out.extend_from_slice(&xxhash_rust::xxh3::xxh3_64(payload).to_le_bytes());
    Bytes::from(out)
}

/// `entry`, stored at `key`.
pub(super) fn entry(key: &str, entry: &Entry) -> Bytes {
    let (gzip, brotli) = entry.made();
    let wire = Wire::Entry(WireEntry {
        key,
        status: entry.status.as_u16(),
        headers: entry
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), Raw::new(value.as_bytes())))
            .collect(),
        identity: Raw::new(&entry.identity.body),
        gzip: gzip.map(|variant| Raw::new(&variant.body)),
        brotli: brotli.map(|variant| Raw::new(&variant.body)),
        compressible: entry.compressible(),
        vary: entry.vary.iter().map(HeaderName::as_str).collect(),
        explicitly_shared: entry.explicitly_shared,
        path: &entry.path,
        target: &entry.target,
        tags: entry.tags.iter().map(String::as_str).collect(),
        stored_at: entry.stored_at,
        ttl: entry.ttl,
        swr: entry.swr,
        sie: entry.sie,
    });
    // Serialising plain data into a Vec cannot fail.
    seal(&postcard::to_stdvec(&wire).unwrap_or_default())
}

/// The pointer stored at a primary `key` whose responses vary on `names`.
pub(super) fn vary(key: &str, names: &[HeaderName]) -> Bytes {
    let wire = Wire::Vary { key, names: names.iter().map(HeaderName::as_str).collect() };
    seal(&postcard::to_stdvec(&wire).unwrap_or_default())
}

/// The record stored at `key`. Bodies are slices of `bytes`, not copies.
pub(super) fn decode(key: &str, bytes: &Bytes) -> Result<Decoded, Refused> {
    let payload = bytes.strip_prefix(MAGIC.as_slice()).ok_or(Refused::Foreign)?;
    let split = payload.len().checked_sub(8).ok_or(Refused::Corrupt)?;
    let (payload, sum) = payload.split_at(split);
    if sum != xxhash_rust::xxh3::xxh3_64(payload).to_le_bytes() {
        return Err(Refused::Corrupt);
    }
    let wire: Wire<'_> = postcard::from_bytes(payload).map_err(|_| Refused::Corrupt)?;
    let names = |names: Vec<&str>| -> Result<Vec<HeaderName>, Refused> {
        names.into_iter().map(|n| HeaderName::try_from(n).map_err(|_| Refused::Corrupt)).collect()
    };
    let wire = match wire {
        Wire::Vary { key: stored, names: list } => {
            return if stored == key {
                Ok(Decoded::Vary(names(list)?))
            } else {
                Err(Refused::OtherKey)
            };
        }
        Wire::Entry(wire) if wire.key != key => return Err(Refused::OtherKey),
        Wire::Entry(wire) => wire,
    };
    let mut headers = HeaderMap::with_capacity(wire.headers.len());
    for (name, value) in wire.headers {
        let name = HeaderName::try_from(name).map_err(|_| Refused::Corrupt)?;
        let value = HeaderValue::from_bytes(value).map_err(|_| Refused::Corrupt)?;
        headers.append(name, value);
    }
    let body = |raw: &Raw| bytes.slice_ref(raw);
    let status = StatusCode::from_u16(wire.status).map_err(|_| Refused::Corrupt)?;
    let tags: BTreeSet<String> = wire.tags.into_iter().map(str::to_owned).collect();
    Entry::restored(
        status,
        headers,
        [Some(body(wire.identity)), wire.gzip.map(body), wire.brotli.map(body)],
        wire.compressible,
        names(wire.vary)?,
        wire.explicitly_shared,
        (wire.path.to_owned(), wire.target.to_owned(), tags),
        (wire.stored_at, wire.ttl, wire.swr, wire.sie),
    )
    .map(|entry| Decoded::Entry(Box::new(entry)))
    .ok_or(Refused::Corrupt)
}

#[cfg(test)]
mod tests {
    use http::header::{CACHE_CONTROL, CONTENT_TYPE};

    use super::*;
    use crate::isr::IsrConfig;
    use crate::isr::entry::Encoding;
    use crate::isr::storable::storable;

    fn page() -> Entry {
        let mut headers = HeaderMap::new();
        headers.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("public, s-maxage=60, stale-while-revalidate=600"),
        );
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
        headers.insert("surrogate-key", HeaderValue::from_static("posts post:hello"));
        let policy = storable(StatusCode::OK, &headers, &IsrConfig::new(), 0).expect("storable");
        let body = Bytes::from("<p>hello</p>".repeat(100));
        Entry::new(StatusCode::OK, headers, body, &policy, "/blog/hello".into(), 1_234)
            .with_target("/blog/hello?page=2".into())
    }

    #[test]
    fn an_entry_comes_back_whole_with_its_encodings() {
        let original = page();
        original.variant(Encoding::Brotli);
        let bytes = entry("k", &original);
        let Ok(Decoded::Entry(back)) = decode("k", &bytes) else { panic!("decodes") };
        assert_eq!(back.status, original.status);
        assert_eq!(back.headers, original.headers);
        assert_eq!(back.identity.body, original.identity.body);
        assert_eq!(back.identity.etag, original.identity.etag);
        assert_eq!(
            (back.path.as_str(), back.target.as_str(), &back.tags),
            (original.path.as_str(), original.target.as_str(), &original.tags)
        );
        assert_eq!(
            (back.stored_at, back.ttl, back.swr, back.sie),
            (original.stored_at, original.ttl, original.swr, original.sie)
        );
        assert_eq!(back.encodings_made(), [Encoding::Brotli], "brotli came with it, gzip did not");
        assert_eq!(
            back.made().1.map(|v| &v.body),
            original.made().1.map(|v| &v.body),
            "the same brotli body"
        );
    }

    #[test]
    fn vary_pointers_come_back() {
        let names = [HeaderName::from_static("accept-language")];
        let Ok(Decoded::Vary(back)) = decode("k", &vary("k", &names)) else { panic!("decodes") };
        assert_eq!(back, names);
    }

    #[test]
    fn foreign_corrupt_and_misplaced_records_are_refused() {
        let bytes = entry("k", &page());
        assert_eq!(decode("other", &bytes).err(), Some(Refused::OtherKey));
        assert_eq!(decode("k", &Bytes::from_static(b"<html>")).err(), Some(Refused::Foreign));
        assert_eq!(decode("k", &Bytes::from_static(b"ISR1")).err(), Some(Refused::Corrupt));
        let mut flipped = bytes.to_vec();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 1;
        assert_eq!(decode("k", &Bytes::from(flipped)).err(), Some(Refused::Corrupt));
        let cut = bytes.slice(..bytes.len() - 1);
        assert_eq!(decode("k", &cut).err(), Some(Refused::Corrupt));
        assert!(decode("k", &bytes).is_ok(), "the original still decodes");
    }
}
