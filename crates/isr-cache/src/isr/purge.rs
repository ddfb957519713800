//! What a purge names, and which stored entries it matches.

use super::entry::Entry;

/// How a purge treats what it matches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PurgeMode {
    /// Mark stale: the next request gets the old page at once and a fresh one
    /// is rendered in the background (if the page allows serving stale).
    #[default]
    Soft,
    /// Drop: the next request renders afresh.
    Hard,
}

/// What to invalidate. Paths match whatever the query; prefixes match the
/// start of the path; tags match the entry's `Surrogate-Key` tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purge {
    pub paths: Vec<String>,
    pub prefixes: Vec<String>,
    pub tags: Vec<String>,
    pub mode: PurgeMode,
}

impl Purge {
    /// A purge of `tags`.
    pub fn tags<I: IntoIterator<Item = T>, T: Into<String>>(tags: I, mode: PurgeMode) -> Self {
        Self { tags: tags.into_iter().map(Into::into).collect(), mode, ..Self::default() }
    }

    pub(super) fn matches(&self, entry: &Entry) -> bool {
        self.paths.contains(&entry.path)
            || self.prefixes.iter().any(|prefix| entry.path.starts_with(prefix.as_str()))
            || self.tags.iter().any(|tag| entry.tags.contains(tag))
    }
}

/// A purge that happened, for the dashboard.
#[derive(Debug, Clone)]
pub struct PurgeRecord {
    pub purge: Purge,
    pub matched: usize,
    /// Clock milliseconds.
    pub at: u64,
}
