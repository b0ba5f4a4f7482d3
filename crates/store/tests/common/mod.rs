//! Shared by the backend test files.
// Test helpers: a failed unwrap is a failed test.
#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

pub mod instalments;
pub mod suite;
