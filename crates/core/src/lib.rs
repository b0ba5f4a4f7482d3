#![doc = include_str!("../README.md")]

pub mod api;
pub mod clock;
pub mod codes;
pub mod customer;
pub mod env;
pub mod error;
pub mod form;
pub mod instalments;
pub mod json;
pub mod lifecycle;
pub mod money;
pub mod provider;
pub mod reason;
pub mod reference;
pub mod registry;
#[cfg(feature = "toml")]
pub mod toml;

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
    Ack, BankOutcome, BankReference, BankReferenceFn, Capabilities, CardSummary, FormRules,
    Handled, HttpMethod, IgnoredEvent, InvalidBankReference, InvalidProviderData,
    InvalidProviderId, NonceSource, NotificationChannel, NotificationLimits, NotificationTooLarge,
    OperationReceipt, OperationRequest, OutcomeKind, PaymentProvider, PaymentRequest, Prepared,
    Profile, ProviderData, ProviderId, RawNotification, Redirect, RefundReceipt, RefundRequest,
    RemoteStatus, ReturnUrls, StatusQuery, StatusReport, ThreeDs, ThreeDsStatus, Verified,
    VerifiedNotification,
};
pub use reason::{Lang, Reason, ReasonKind, RetryAdvice};
pub use reference::{PaymentReference, ReferenceError, ReferenceGenerator};
pub use registry::{DuplicateProvider, Registry};
