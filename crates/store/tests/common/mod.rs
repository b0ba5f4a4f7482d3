//! Shared by the backend test files.
#![allow(dead_code, unreachable_pub, missing_docs, clippy::cast_possible_truncation)]

pub mod suite;
