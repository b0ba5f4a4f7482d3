//! For test suites that run against PostgreSQL: where the database is, and a loud skip when
//! it is not given.

/// The URL in `TPE_TEST_POSTGRES_URL`, or `None` after a loud notice on standard error that
/// `what` did not run.
///
/// # Panics
/// When the variable is unset or empty while `REQUIRE_POSTGRES=1` (continuous integration):
/// a suite that was meant to run must not pass by skipping.
///
/// ```
/// // Without the variable (and without REQUIRE_POSTGRES=1), nothing runs.
/// if std::env::var("TPE_TEST_POSTGRES_URL").is_err() && std::env::var("REQUIRE_POSTGRES").is_err() {
///     assert!(tpe_store::testing::postgres_url("this example").is_none());
/// }
/// ```
pub fn postgres_url(what: &str) -> Option<String> {
    match std::env::var("TPE_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "REQUIRE_POSTGRES=1 but TPE_TEST_POSTGRES_URL is unset"
            );
            eprintln!("\n*** SKIPPED: TPE_TEST_POSTGRES_URL unset: {what} did not run ***\n");
            None
        }
    }
}
