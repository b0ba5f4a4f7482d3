//! Verifying an IPN of 50 fields. Run:
//! `taskset -c 1 cargo bench -p tpe-lyra -- --warm-up-time 1 --measurement-time 3`.
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)] // a bench panics on setup errors

fn main() {}
