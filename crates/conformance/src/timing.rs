//! Timing helpers for the providers' criterion benches (`iter_custom`).

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Iterations timed together by [`best_chunks`].
pub const CHUNK: u64 = 32;

/// Times `iters` calls of `f` in chunks of [`CHUNK`] and reports the fastest chunk's rate for
/// all of them: on a machine shared with other jobs, this leaves out the time the thread spent
/// preempted, which wall time over long samples includes. For criterion's `iter_custom`.
///
/// ```
/// let total = tpe_conformance::timing::best_chunks(64, || 2 + 2);
/// assert!(total < std::time::Duration::from_secs(1));
/// ```
pub fn best_chunks<O>(iters: u64, mut f: impl FnMut() -> O) -> Duration {
    let mut best = Duration::MAX;
    let mut done = 0;
    while done < iters {
        let n = CHUNK.min(iters - done);
        let start = Instant::now();
        for _ in 0..n {
            black_box(f());
        }
        let per = start.elapsed() / u32::try_from(n).unwrap_or(1);
        best = best.min(per);
        done += n;
    }
    best * u32::try_from(iters).unwrap_or(u32::MAX)
}
