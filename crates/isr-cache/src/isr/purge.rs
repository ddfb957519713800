//! What a purge names, and which stored entries it matches.

use super::entry::Entry;

/// How a purge treats what it matches. With the `serde` feature, `"soft"`
/// or `"hard"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
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
///
/// A plain value: build it with a struct literal and `..Purge::default()`,
/// or [`Purge::tags`]. With the `serde` feature it reads and writes
///
/// ```json
/// {"paths": ["/blog/hello"], "prefixes": ["/blog/"], "tags": ["posts"], "mode": "soft"}
/// ```
///
/// where a missing list is empty, a missing `mode` is soft, and an unknown
/// field is an error (a typo must not purge less than was meant); empty
/// lists are left out when written. Nothing checks the items: a purge API
/// open to others should limit what it accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct Purge {
    /// Paths, matched exactly (any query).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Vec::is_empty"))]
    pub paths: Vec<String>,
    /// Path prefixes: every path that starts with one.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Vec::is_empty"))]
    pub prefixes: Vec<String>,
    /// Tags, as the stored responses' `Surrogate-Key` names them.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Vec::is_empty"))]
    pub tags: Vec<String>,
    /// Soft (the default) or hard.
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

#[cfg(all(test, feature = "serde"))]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<Purge, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn missing_lists_are_empty_and_the_mode_is_soft() {
        assert_eq!(read("{}").expect("valid"), Purge::default());
        let purge = read(r#"{"tags": ["posts"], "mode": "hard"}"#).expect("valid");
        assert_eq!(purge, Purge::tags(["posts"], PurgeMode::Hard));
        let purge = read(r#"{"paths": ["/a"], "prefixes": ["/b/"]}"#).expect("valid");
        assert_eq!(
            (purge.paths, purge.prefixes, purge.mode),
            (vec!["/a".into()], vec!["/b/".into()], PurgeMode::Soft)
        );
    }

    #[test]
    fn typos_and_unknown_modes_are_errors() {
        let error = read(r#"{"tagz": ["posts"]}"#).expect_err("unknown field");
        assert!(error.to_string().contains("unknown field `tagz`"), "{error}");
        let error = read(r#"{"mode": "gentle"}"#).expect_err("unknown mode");
        assert!(error.to_string().contains("expected `soft` or `hard`"), "{error}");
        assert!(read(r#"{"tags": "posts"}"#).is_err(), "a list, not a string");
    }

    #[test]
    fn written_without_empty_lists_and_read_back() {
        let purge =
            Purge { prefixes: vec!["/blog/".into()], mode: PurgeMode::Hard, ..Purge::default() };
        let json = serde_json::to_string(&purge).expect("serialize");
        assert_eq!(json, r#"{"prefixes":["/blog/"],"mode":"hard"}"#);
        assert_eq!(read(&json).expect("valid"), purge);
    }
}
