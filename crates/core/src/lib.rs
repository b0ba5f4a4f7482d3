//! Core types of tpe: money, customers and their PSD2 check, payment references, the
//! [`PaymentProvider`] trait every bank implements, normalized decline [`Reason`]s, the
//! provider [`Registry`] and the payment [`lifecycle`] as a pure state machine.
//!
//! This crate does no I/O and never reads the clock except in [`clock::SystemClock`].
//!
//! ```
//! use tpe_core::{Amount, Currency, Customer, PostalAddress};
//! let amount = Amount::parse("43,21", Currency::EUR)?;
//! assert_eq!(amount.minor(), 4321);
//! let customer = Customer {
//!     first_name: "Jeanne".into(), last_name: "Martin".into(),
//!     email: "jeanne@example.fr".into(), phone: Some("06 12 34 56 78".into()),
//!     address: Some(PostalAddress { line1: "1 place Bellecour".into(), line2: None,
//!         postcode: "69002".into(), city: "Lyon".into(), country: "FR".into() }),
//! };
//! let checked = customer.validate_for_payment()?;
//! assert_eq!(checked.phone.e164(), "+33612345678");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod api;
pub mod clock;
pub mod codes;
pub mod customer;
pub mod env;
pub mod error;
pub mod form;
pub mod json;
pub mod lifecycle;
pub mod money;
pub mod provider;
pub mod reason;
pub mod reference;
pub mod registry;
pub mod tool;

pub use clock::{Clock, Timestamp};
pub use customer::{
    Country, Customer, CustomerField, FieldProblem, IncompleteCustomer, Phone, PostalAddress,
    ValidatedAddress, ValidatedCustomer,
};
pub use error::{ApiErrorKind, BoxError, ProviderError, Unreadable};
pub use json::JsonStr;
pub use lifecycle::{CheckoutState, CheckoutStatus, Effect, Event, Transition, TransitionError};
pub use money::{Amount, Currency, MoneyError};
pub use provider::{
    Ack, BankOutcome, BankReference, Capabilities, CardSummary, Handled, HttpMethod, IgnoredEvent,
    InvalidBankReference, InvalidProviderData, InvalidProviderId, NonceSource, NotificationChannel,
    NotificationLimits, NotificationTooLarge, OperationReceipt, OperationRequest, OutcomeKind,
    PaymentProvider, PaymentRequest, Prepared, ProviderData, ProviderId, RawNotification, Redirect,
    RefundReceipt, RefundRequest, RemoteStatus, ReturnUrls, StatusQuery, StatusReport, ThreeDs,
    ThreeDsStatus, Verified, VerifiedNotification,
};
pub use reason::{Lang, Reason, ReasonKind, RetryAdvice};
pub use reference::{PaymentReference, ReferenceError, ReferenceGenerator};
pub use registry::{DuplicateProvider, Registry};
