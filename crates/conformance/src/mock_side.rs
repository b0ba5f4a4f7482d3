//! `mock_side!` and `mock_side_methods!`: what every bank side of the mock bank has, written
//! once.

/// Declares the struct of a bank side of the mock bank (the running bank and a browser-like
/// HTTP client), its `spawn` and `bank` methods, and a `Debug` that shows no secret.
macro_rules! mock_side {
    ($(#[doc = $doc:literal])* $name:ident) => {
        $(#[doc = $doc])*
        pub struct $name {
            bank: tpe_mock_bank::RunningBank,
            http: reqwest::Client,
        }

        impl $name {
            /// Starts a mock bank whose clock reads `now`.
            ///
            /// # Panics
            /// When the mock bank cannot start (no loopback port): the test cannot run at all.
            pub async fn spawn(now: tpe_core::Timestamp) -> Self {
                Self::spawn_with(now, |_| {}).await
            }

            /// [`Self::spawn`] with the configuration changed by `configure` first.
            ///
            /// # Panics
            /// When the mock bank cannot start.
            pub async fn spawn_with(
                now: tpe_core::Timestamp,
                configure: impl FnOnce(&mut tpe_mock_bank::MockBankConfig),
            ) -> Self {
                Self {
                    bank: crate::spawn_mock_bank(now, configure).await,
                    http: crate::browser(),
                }
            }

            /// The running mock bank (scripts, journal).
            pub fn bank(&self) -> &tpe_mock_bank::RunningBank {
                &self.bank
            }

            /// Scripts the mock bank to sign the notifications of `reference` with a wrong
            /// key; `true`: every mock bank side can.
            fn script_wrong_signature(&self, reference: &str) -> bool {
                self.bank.script(
                    reference,
                    tpe_mock_bank::Scenario {
                        wrong_signature: true,
                        ..tpe_mock_bank::Scenario::default()
                    },
                );
                true
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("base_url", &self.bank.base_url())
                    .finish_non_exhaustive()
            }
        }
    };
}

/// The [`BankSide`](crate::bank::BankSide) methods every side of the mock bank answers alike:
/// its `name`, `sign_wrongly` through a scenario of the mock bank, and the `deliveries` its
/// journal records on `$side`. Written inside the `impl BankSide` of a [`mock_side!`] struct.
macro_rules! mock_side_methods {
    ($name:literal, $side:ident) => {
        fn name(&self) -> &'static str {
            $name
        }

        fn sign_wrongly(&self, reference: &str) -> bool {
            self.script_wrong_signature(reference)
        }

        fn deliveries(&self, reference: &str) -> $crate::bank::Deliveries {
            $crate::mock_side::deliveries(
                &self.bank.journal(),
                tpe_mock_bank::Side::$side,
                reference,
            )
        }
    };
}

/// The delivery attempts the journal records for `reference` on `side`.
pub(crate) fn deliveries(
    journal: &[tpe_mock_bank::JournalEntry],
    side: tpe_mock_bank::Side,
    reference: &str,
) -> crate::bank::Deliveries {
    let mine = journal
        .iter()
        .filter(|e| e.side == side && e.reference.as_deref() == Some(reference));
    let mut d = crate::bank::Deliveries::default();
    for e in mine {
        match e.kind {
            tpe_mock_bank::EntryKind::Notification => {
                d.attempts.push((e.attempt.unwrap_or(0), e.status))
            }
            tpe_mock_bank::EntryKind::Withheld if e.detail == "gave_up" => d.gave_up = true,
            _ => {}
        }
    }
    d
}
