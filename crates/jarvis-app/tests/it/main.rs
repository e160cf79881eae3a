//! Integration tests of the application layer (one binary, modules by subject).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod imports;
mod jobs;
mod smtp;
