//! Cache tags: names for the data pages show (`post:hello`, `products`), so
//! that a write can purge every page that shows what it changed.
//!
//! Each feature names its own tags with typed constructors (`blog::tags::post`)
//! that both its pages' policies and its writes use, so the tag a page
//! carries and the tag a purge names cannot drift apart. Both halves use
//! this module: the browser invalidates its queries by the same names.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A cache tag that pages' policies carry and purges name: purged from the
/// built-in cache, the CDN in front and the browser's queries.
///
/// Tags that only the browser's queries carry (the dashboard's `orders`)
/// are plain `&'static str`s passed to `Purger::changed` as `browser_only`:
/// no shared cache stores what they name, so no CDN is ever asked to purge
/// them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    /// A tag for a whole kind of data (`posts`).
    pub fn new(name: &'static str) -> Self {
        Self(name.to_owned())
    }

    /// `{kind}:{id}` for one thing (`post:hello`), or `None` when `id` is
    /// empty: a URL that names nothing gets no tag.
    pub fn named(kind: &'static str, id: impl fmt::Display) -> Option<Self> {
        let id = id.to_string();
        (!id.is_empty()).then(|| Self(format!("{kind}:{id}")))
    }

    /// The tag as it appears in headers and purges.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<Tag> for String {
    fn from(tag: Tag) -> Self {
        tag.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A browser-only tag that every write's [`Changed`] carries: for queries
/// whose data any write may change (the dashboard's site numbers).
pub const ANY_WRITE: &str = "write";

/// What a write changed, as cache tags. The server has purged the shared
/// ones by the time the browser sees this (`Purger::changed`);
/// `app::query::invalidate_after` invalidates all of them in the browser.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Changed {
    pub tags: Vec<String>,
}
