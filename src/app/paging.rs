//! Paging shared by the HTML lists and the JSON API: one parser, one wire type,
//! so `?page=abc` is rejected the same way everywhere.

use serde::{Deserialize, Serialize};

use crate::AppError;

/// Items per page when the request does not say.
pub const DEFAULT_PER_PAGE: u32 = 9;
/// The most items one request may ask for.
pub const MAX_PER_PAGE: u32 = 50;

/// The query of a paged list page (`/blog`, `/products`): keyed by the raw
/// `?page=`, which is checked before any request, loaded by `list`.
pub fn paged_query<T, A>(
    list: fn(u32) -> A,
    keep: crate::app::cache::ClientCache,
) -> crate::app::query::Query<Option<String>, Paged<T>>
where
    T: Serialize + serde::de::DeserializeOwned + 'static,
    A: server_fn::ServerFn<Error = AppError, Output = Paged<T>>
        + Serialize
        + serde::de::DeserializeOwned
        + 'static,
{
    use crate::app::query::{Call, Query};
    Query::new(
        move |page: Option<String>| match crate::app::components::page_from_query(page) {
            Ok(page) => Call::Get(list(page)),
            Err(error) => Call::Fail(error),
        },
        keep,
    )
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Paged<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// 1-based page number.
    pub page: u32,
    /// Page size used.
    pub per_page: u32,
    /// Items in the whole list.
    pub total: u64,
}

impl<T> Paged<T> {
    /// The page `request` asked for, from database rows and the list's `COUNT(*)`.
    pub fn from_rows<R: Into<T>>(rows: Vec<R>, request: PageRequest, total: i64) -> Self {
        Self {
            items: rows.into_iter().map(Into::into).collect(),
            page: request.page,
            per_page: request.per_page,
            total: u64::try_from(total).unwrap_or_default(),
        }
    }

    /// Number of pages, at least 1 (an empty list still has one, empty, page).
    pub fn total_pages(&self) -> u32 {
        let pages = self.total.div_ceil(u64::from(self.per_page.max(1)));
        u32::try_from(pages).unwrap_or(u32::MAX).max(1)
    }
}

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// 1-based page number.
    pub page: u32,
    /// Page size, 1..=[`MAX_PER_PAGE`].
    pub per_page: u32,
}

impl PageRequest {
    /// Parses `page` and `per_page` query values (absent means the default).
    pub fn parse(page: Option<&str>, per_page: Option<&str>) -> Result<Self, AppError> {
        let page = match page {
            None => 1,
            Some(raw) => raw.trim().parse::<u32>().ok().filter(|p| *p >= 1).ok_or_else(|| {
                AppError::BadRequest(format!("page must be a whole number from 1, got {raw:?}"))
            })?,
        };
        let per_page = match per_page {
            None => DEFAULT_PER_PAGE,
            Some(raw) => raw
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_PER_PAGE).contains(n))
                .ok_or_else(|| {
                    AppError::BadRequest(format!(
                        "per_page must be a whole number from 1 to {MAX_PER_PAGE}, got {raw:?}"
                    ))
                })?,
        };
        Ok(Self { page, per_page })
    }

    /// Page `page` at the default size, as the HTML lists ask for it.
    pub fn page(page: u32) -> Result<Self, AppError> {
        if page == 0 {
            return Err(AppError::BadRequest("page must be a whole number from 1, got 0".into()));
        }
        Ok(Self { page, per_page: DEFAULT_PER_PAGE })
    }

    /// Rows to skip, for `OFFSET`.
    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }

    /// Rows to take, for `LIMIT`.
    pub fn limit(&self) -> i64 {
        i64::from(self.per_page)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { page: 1, per_page: DEFAULT_PER_PAGE }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_when_absent() {
        assert_eq!(PageRequest::parse(None, None), Ok(PageRequest::default()));
    }

    #[test]
    fn rejects_garbage_zero_and_huge_pages() {
        for bad in ["abc", "0", "-1", "1.5", ""] {
            assert!(PageRequest::parse(Some(bad), None).is_err(), "page {bad:?}");
        }
        for bad in ["0", "51", "x"] {
            assert!(PageRequest::parse(None, Some(bad)).is_err(), "per_page {bad:?}");
        }
    }

    #[test]
    fn offsets() {
        let request = PageRequest::parse(Some("3"), Some("10")).expect("valid");
        assert_eq!((request.offset(), request.limit()), (20, 10));
    }

    #[test]
    fn total_pages_rounds_up_and_never_zero() {
        let page = |total| Paged::<()> { items: vec![], page: 1, per_page: 9, total };
        assert_eq!(page(0).total_pages(), 1);
        assert_eq!(page(9).total_pages(), 1);
        assert_eq!(page(10).total_pages(), 2);
    }
}
