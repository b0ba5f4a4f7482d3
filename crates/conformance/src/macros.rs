//! `provider_suite!`: one named test per check.

/// Expands into one `#[test]` per check of [`crate::checks`], each running the check against
/// a fresh harness. `$harness` is an expression giving a future of [`crate::Harness`]
/// (typically the call of an `async fn`); it is evaluated once per test.
///
/// ```ignore
/// tpe_conformance::provider_suite!(harness());
/// ```
#[macro_export]
macro_rules! provider_suite {
    ($harness:expr) => {
        $crate::provider_suite!(@each $harness;
            redirect_accepted_by_bank,
            redirect_tampered_field_refused,
            round_trip_accepted,
            round_trip_refused,
            round_trip_pending,
            round_trip_cancelled,
            flipped_byte_refused,
            signature_missing_refused,
            signature_empty_refused,
            signature_duplicated_refused,
            signature_badly_encoded_refused,
            wrongly_signed_notification_refused,
            stale_notification_refused,
            known_codes_classified,
            random_codes_never_panic,
            amount_zero_decimals_exact,
            amount_two_decimals_exact,
            amount_three_decimals_exact,
            amount_largest_exact,
            amount_zero_handled,
            no_secret_in_output,
            acknowledgement_exact,
            query_status_agrees,
            refund_agrees,
            dyn_provider_works,
            provider_data_round_trip,
            rejection_answered_by_provider,
            capabilities_match_methods,
            unclassified_code_leaves_awaiting,
            bank_references_map_back,
            notification_limits_bounded,
        );
    };
    (@each $harness:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::block_on(async {
                    let harness: $crate::Harness = $harness.await;
                    $crate::report(
                        stringify!($check),
                        $crate::checks::$check(&harness).await,
                    );
                });
            }
        )*
    };
}
