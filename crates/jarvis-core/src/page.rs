//! Pagination: every list is bounded.

use serde::{Deserialize, Serialize};

/// Default page size when the caller gives none.
pub const DEFAULT_LIMIT: u32 = 50;
/// Hard maximum page size.
pub const MAX_LIMIT: u32 = 200;
/// Largest offset: SQL binds it as a signed 64-bit integer.
pub const MAX_OFFSET: u64 = i64::MAX as u64;
/// Most rows the big lists (calls, members, audit, errors) count for their pager's total: past
/// it, counting every row is the slowest part of a page, and "10,000+" says enough.
pub const COUNT_CAP: u64 = 10_000;

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
        let offset = offset.unwrap_or(0);
        if offset > MAX_OFFSET {
            return Err(crate::FieldError::new(
                "offset",
                "out_of_range",
                format!("must be at most {MAX_OFFSET}"),
            ));
        }
        Ok(Self { limit, offset })
    }
}

/// One page of results plus the total count matching the filter.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Rows matching the filter in all pages; a lower bound when `total_capped`.
    pub total: u64,
    /// Whether more rows than `total` match: the list stopped counting at its cap.
    #[serde(default)]
    pub total_capped: bool,
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
            total_capped: self.total_capped,
            limit: self.limit,
            offset: self.offset,
        }
    }

    /// Applies a count cap: a total counted past `cap` (the store counts at most `cap + 1`
    /// rows) becomes `cap`, marked as a lower bound.
    pub fn cap_total(mut self, cap: u64) -> Self {
        if self.total > cap {
            self.total = cap;
            self.total_capped = true;
        }
        self
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn window_bounds_are_enforced() {
        assert_eq!(
            PageRequest::new(None, None).unwrap(),
            PageRequest::default()
        );
        assert_eq!(PageRequest::new(Some(0), None).unwrap_err().field, "limit");
        assert_eq!(
            PageRequest::new(Some(MAX_LIMIT + 1), None)
                .unwrap_err()
                .field,
            "limit"
        );
        assert_eq!(
            PageRequest::new(Some(MAX_LIMIT), Some(MAX_OFFSET))
                .unwrap()
                .offset,
            MAX_OFFSET
        );
        // Past i64::MAX the storage layer could not bind it; refused rather than clamped.
        assert_eq!(
            PageRequest::new(None, Some(MAX_OFFSET + 1))
                .unwrap_err()
                .field,
            "offset"
        );
    }
}
