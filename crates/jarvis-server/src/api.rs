//! Shared API shapes: pagination bodies and list parameters.

use jarvis_core::{Page, PageRequest};
use serde::{Deserialize, Serialize};

/// One page of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PageBody<T> {
    /// Rows of this page.
    pub items: Vec<T>,
    /// Rows matching the filter across all pages; a lower bound when `total_capped`.
    pub total: u64,
    /// Whether the list stopped counting at 10,000 (calls, members, audit, errors): more rows
    /// match than `total`, page on with `offset` until a page comes back short.
    pub total_capped: bool,
    /// Page size used.
    pub limit: u32,
    /// Offset used.
    pub offset: u64,
}

impl<T> From<Page<T>> for PageBody<T> {
    fn from(p: Page<T>) -> Self {
        Self {
            items: p.items,
            total: p.total,
            total_capped: p.total_capped,
            limit: p.limit,
            offset: p.offset,
        }
    }
}

/// `limit` (1–200, default 50) and `offset` (default 0).
#[derive(Debug, Deserialize, utoipa::IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Rows to skip (default 0).
    pub offset: Option<u64>,
}

impl Paging {
    /// Validates into a page request (400 naming `limit` when out of range).
    pub fn request(&self) -> Result<PageRequest, crate::error::ApiError> {
        PageRequest::new(self.limit, self.offset).map_err(|e| {
            crate::error::ApiError::bad_request("invalid_query", e.to_string())
                .with_details(serde_json::json!({ "field": e.field }))
        })
    }
}
