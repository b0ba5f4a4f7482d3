#![doc = include_str!("../README.md")]

pub mod mutation;
pub mod seeds;

use std::cell::Cell;
use std::sync::Mutex;
use std::time::Duration;

use bolero::generator::TypeGenerator;
use peakmem_alloc::{INSTRUMENTED_SYSTEM, PeakMemAlloc, PeakMemAllocTrait};

pub use bolero;

pub use crate::mutation::{Mutation, Shape};

/// Every binary that links this crate counts its allocations, so a target can bound the peak
/// bytes allocated while it handles one input.
#[global_allocator]
static ALLOCATOR: &PeakMemAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

/// The counter is process-wide: inputs are handled one at a time even when two runs share a
/// binary (`--include-ignored`).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Environment variable: seconds per run of a long (`--ignored`) target, default 60.
pub const SECONDS_VAR: &str = "TPE_FUZZ_SECONDS";
/// Environment variable: milliseconds per run of a bounded target (under plain `cargo test`),
/// default [`BOUNDED_MILLIS`].
pub const BOUNDED_MILLIS_VAR: &str = "TPE_FUZZ_BOUNDED_MS";
/// Default time of one bounded run (structured or raw) of one target.
pub const BOUNDED_MILLIS: u64 = 5_000;
/// Default time of one long run.
pub const LONG_SECONDS: u64 = 60;

/// The time given to one run: bounded (CI) or long (`--ignored`).
pub fn budget(long: bool) -> Duration {
    let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    if long {
        Duration::from_secs(var(SECONDS_VAR).unwrap_or(LONG_SECONDS))
    } else {
        Duration::from_millis(var(BOUNDED_MILLIS_VAR).unwrap_or(BOUNDED_MILLIS))
    }
}

/// Runs `f` and returns its result with the peak bytes allocated meanwhile (by any thread:
/// calls are serialized, but other threads of the process should be idle).
pub fn peak_bytes<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    ALLOCATOR.reset_peak_memory();
    let result = f();
    (result, ALLOCATOR.get_peak_memory())
}

/// How an input reaches the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// The bytes as mutated: a signature, if any, is the seed's.
    AsIs,
    /// The mutated bytes signed again with the test key, as a bank would sign them, so the
    /// parser behind the signature check sees the mutation too.
    Resigned,
}

/// What a parser made of one input.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Accepted; the text renders what was read (compared with what the seed gives).
    Accepted(String),
    /// Refused with one of the typed errors expected of this parser.
    Refused,
    /// A contract broken: an error of a kind this parser must not return, or an answer that
    /// contradicts the input. The run fails with this message.
    Broken(String),
}

impl Verdict {
    /// The verdict on a notification verifier's answer: accepted with its `Debug` rendering, or
    /// refused when the error is one of `allowed` (matched on the error's variant), broken
    /// otherwise.
    pub fn of<T: std::fmt::Debug, E: std::fmt::Debug>(
        result: Result<T, E>,
        allowed: impl Fn(&E) -> bool,
    ) -> Self {
        match result {
            Ok(read) => Self::Accepted(format!("{read:?}")),
            Err(e) if allowed(&e) => Self::Refused,
            Err(e) => Self::Broken(format!("unexpected error {e:?}")),
        }
    }
}

/// A valid input the mutations start from.
#[derive(Debug, Clone)]
pub struct Seed {
    /// Where it comes from.
    pub name: String,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// How its fields are laid out.
    pub shape: Shape,
}

impl Seed {
    /// A seed named `name`.
    pub fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>, shape: Shape) -> Self {
        Self {
            name: name.into(),
            bytes: bytes.into(),
            shape,
        }
    }
}

/// One generated input: a seed, up to [`MAX_MUTATIONS`] mutations, and whether to sign the
/// result again.
#[derive(Debug, Clone, TypeGenerator)]
pub struct Case {
    /// Seed number (modulo the count).
    pub seed: u8,
    /// The mutations, applied in order.
    pub mutations: Vec<Mutation>,
    /// Sign the mutated input again (targets with a signer only).
    pub resign: bool,
}

/// An input that takes longer is printed (a parser slower than linear shows there first).
const SLOW: Duration = Duration::from_secs(1);

/// Most mutations applied to one seed.
pub const MAX_MUTATIONS: usize = 4;

/// Whether an accepted mutated input must read as its seed reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Oracle {
    /// Signed input: taken as it is, a mutated input is accepted only when it reads exactly as
    /// one of the seeds (a mutation the signature does not cover and the parser ignores, such
    /// as a field outside the signed part); raw bytes are never accepted.
    Signed,
    /// Unsigned input (configuration, plain forms): anything may be accepted; the target's own
    /// check says whether what was read agrees with the input.
    Unsigned,
}

type Check = dyn Fn(&[u8]) -> Verdict + Send + Sync;
type Signer = dyn Fn(&[u8]) -> Vec<u8> + Send + Sync;

/// A fuzz target: a parser, its seeds and its contract.
pub struct Target {
    name: &'static str,
    seeds: Vec<Seed>,
    readings: Vec<String>,
    oracle: Oracle,
    signer: Option<Box<Signer>>,
    per_byte: usize,
    fixed: usize,
    check: Box<Check>,
}

/// Counts of the run on this thread.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    inputs: u64,
    accepted: u64,
    peak: usize,
    slowest: Duration,
}

thread_local! {
    static COUNTS: Cell<Counts> = const {
        Cell::new(Counts { inputs: 0, accepted: 0, peak: 0, slowest: Duration::ZERO })
    };
}

fn count(f: impl FnOnce(&mut Counts)) {
    COUNTS.with(|c| {
        let mut counts = c.get();
        f(&mut counts);
        c.set(counts);
    });
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("name", &self.name)
            .field("seeds", &self.seeds.len())
            .finish_non_exhaustive()
    }
}

impl Target {
    /// A target named `name` checking each input with `check`. Every seed is run once here: a
    /// seed that panics or breaks the contract fails at once.
    ///
    /// The default allocation bound is 16 bytes per input byte plus 64 KiB.
    pub fn new(
        name: &'static str,
        oracle: Oracle,
        seeds: Vec<Seed>,
        check: impl Fn(&[u8]) -> Verdict + Send + Sync + 'static,
    ) -> Self {
        assert!(!seeds.is_empty(), "{name}: no seed");
        let mut readings = Vec::new();
        for seed in &seeds {
            match check(&seed.bytes) {
                Verdict::Accepted(reading) => readings.push(reading),
                Verdict::Refused => {}
                Verdict::Broken(why) => panic!("{name}: seed {}: {why}", seed.name),
            }
        }
        Self {
            name,
            seeds,
            readings,
            oracle,
            signer: None,
            per_byte: 16,
            fixed: 64 * 1024,
            check: Box::new(check),
        }
    }

    /// Signs mutated inputs again with `signer` ([`Mode::Resigned`]), as the bank would sign
    /// them: the signing is done before the input is handed over, outside the allocation count.
    pub fn resigning(mut self, signer: impl Fn(&[u8]) -> Vec<u8> + Send + Sync + 'static) -> Self {
        self.signer = Some(Box::new(signer));
        self
    }

    /// Sets the allocation bound: `per_byte` bytes per input byte plus `fixed` bytes.
    pub fn allocation_bound(mut self, per_byte: usize, fixed: usize) -> Self {
        self.per_byte = per_byte;
        self.fixed = fixed;
        self
    }

    /// How many seeds were accepted as they are (each one a reading mutated inputs may match).
    pub fn accepted_seeds(&self) -> usize {
        self.readings.len()
    }

    /// Runs one structured case.
    ///
    /// # Panics
    /// When the contract is broken (the fuzzing engine reports the case).
    pub fn structured(&self, case: &Case) {
        let start = std::time::Instant::now();
        self.structured_case(case);
        let took = start.elapsed();
        if took > SLOW {
            eprintln!(
                "fuzz {}: slow input ({} ms): {case:?}",
                self.name,
                took.as_millis()
            );
        }
    }

    fn structured_case(&self, case: &Case) {
        let seed = &self.seeds[usize::from(case.seed) % self.seeds.len()];
        let mut input = seed.bytes.clone();
        for m in case.mutations.iter().take(MAX_MUTATIONS) {
            m.apply(&mut input, seed.shape);
        }
        let unchanged = input == seed.bytes;
        match &self.signer {
            Some(sign) if case.resign => self.run(&sign(&input), Mode::Resigned, false),
            _ => self.run(&input, Mode::AsIs, unchanged),
        }
    }

    /// Runs raw bytes: taken as they are, or, for a target that signs, signed (one input in
    /// two, by the first byte) so raw bytes reach the parser behind the signature too.
    ///
    /// # Panics
    /// When the contract is broken.
    pub fn raw(&self, input: &[u8]) {
        match &self.signer {
            Some(sign) if input.first().is_some_and(|b| b % 2 == 1) => {
                self.run(&sign(input), Mode::Resigned, false);
            }
            _ => self.run(input, Mode::AsIs, false),
        }
    }

    fn run(&self, input: &[u8], mode: Mode, unchanged: bool) {
        let start = std::time::Instant::now();
        let (verdict, mut peak) = peak_bytes(|| (self.check)(input));
        let took = start.elapsed();
        let bound = input
            .len()
            .saturating_mul(self.per_byte)
            .saturating_add(self.fixed);
        if peak > bound {
            // A long-lived store of the parser (the mock bank's journal, its capped session
            // maps) may have just doubled its capacity: that growth is paid once, not per input.
            // A cost of the input itself shows again on a second run.
            peak = peak_bytes(|| (self.check)(input)).1;
        }
        count(|c| {
            c.inputs += 1;
            c.peak = c.peak.max(peak);
            c.slowest = c.slowest.max(took);
        });
        assert!(
            peak <= bound,
            "{}: {peak} bytes allocated for an input of {} bytes (bound {bound})",
            self.name,
            input.len()
        );
        match verdict {
            Verdict::Refused => {}
            Verdict::Broken(why) => panic!("{}: {why}", self.name),
            Verdict::Accepted(reading) => {
                count(|c| c.accepted += 1);
                let genuine = match (self.oracle, mode) {
                    (Oracle::Unsigned, _) | (Oracle::Signed, Mode::Resigned) => true,
                    (Oracle::Signed, Mode::AsIs) => unchanged || self.readings.contains(&reading),
                };
                assert!(
                    genuine,
                    "{}: a mutated input verified and reads differently from every seed: {reading}",
                    self.name
                );
            }
        }
    }

    /// Prints what this thread ran (`cargo test -- --nocapture` shows it) and resets the
    /// counts.
    pub fn report(&self, run: &str) {
        let c = COUNTS.with(|c| c.take());
        eprintln!(
            "fuzz {} {run}: {} inputs ({} accepted), peak {} bytes allocated for one input, \
             slowest input {} ms",
            self.name,
            c.inputs,
            c.accepted,
            c.peak,
            c.slowest.as_millis()
        );
    }
}

/// Declares the tests of one target: `bounded`, run by every `cargo test` (a structured run
/// then a raw run, each [`budget`]`(false)` long), and `long`, ignored unless asked for
/// (`cargo test --release -p tpe-fuzz -- --ignored`, [`SECONDS_VAR`] seconds per run).
///
/// The runs of one binary never overlap: the allocation counter is process-wide, and another
/// thread generating inputs would count in the peak of the input being handled.
///
/// `$target` is an expression building the [`Target`], evaluated once.
#[macro_export]
macro_rules! fuzz_target {
    ($target:expr) => {
        fn __target() -> &'static $crate::Target {
            static TARGET: ::std::sync::OnceLock<$crate::Target> = ::std::sync::OnceLock::new();
            TARGET.get_or_init(|| $target)
        }

        fn __run(long: bool) {
            // A failing input ends the run: nothing is observed after the panic.
            let target = ::std::panic::AssertUnwindSafe(__target());
            $crate::bolero::check!()
                .with_type::<$crate::Case>()
                .with_test_time($crate::budget(long))
                .for_each(|case| target.structured(case));
            target.report(if long {
                "long structured"
            } else {
                "structured"
            });
            $crate::bolero::check!()
                .with_test_time($crate::budget(long))
                .for_each(|input: &[u8]| target.raw(input));
            target.report(if long { "long raw" } else { "raw" });
        }

        #[test]
        fn bounded() {
            __run(false);
        }

        #[test]
        #[ignore = "long run: cargo test --release -p tpe-fuzz -- --ignored"]
        fn long() {
            __run(true);
        }
    };
}
