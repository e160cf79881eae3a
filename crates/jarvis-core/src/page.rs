//! Pagination: every list is bounded.

use serde::{Deserialize, Serialize};

/// Default page size when the caller gives none.
pub const DEFAULT_LIMIT: u32 = 50;
/// Hard maximum page size.
pub const MAX_LIMIT: u32 = 200;

/// A validated limit/offset window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Rows to return (1..=MAX_LIMIT).
    pub limit: u32,
    /// Rows to skip.
    pub offset: u64,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

impl PageRequest {
    /// Builds a window, clamping nothing silently: out-of-range values are errors for the caller
    /// to report, so this only applies defaults.
    pub fn new(limit: Option<u32>, offset: Option<u64>) -> Result<Self, crate::FieldError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(crate::FieldError::new(
                "limit",
                "out_of_range",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        Ok(Self {
            limit,
            offset: offset.unwrap_or(0),
        })
    }
}

/// One page of results plus the total count matching the filter.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Rows matching the filter in all pages.
    pub total: u64,
    /// The limit used.
    pub limit: u32,
    /// The offset used.
    pub offset: u64,
}

impl<T> Page<T> {
    /// Maps the rows, keeping the window.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            limit: self.limit,
            offset: self.offset,
        }
    }
}
