//! Dates, numbers and amounts as a page shows them: the formatter lives in
//! [`jarvis_core::fmt`] so that reports and e-mails built in jarvis-app format the same way.

pub use jarvis_core::fmt::Fmt;
