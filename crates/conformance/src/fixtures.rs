//! Fixed inputs of the checks: the time, a customer, references and requests.

use std::sync::OnceLock;

use std::sync::atomic::{AtomicU64, Ordering};

use tpe_core::{
    Amount, Currency, Customer, Lang, PaymentProvider, PaymentReference, PaymentRequest,
    PostalAddress, Prepared, ProviderError, ReferenceGenerator, ReturnUrls, Timestamp,
    ValidatedCustomer,
};

/// The currencies the suite pays in at a bank that takes any ISO 4217 code: no decimals (JPY),
/// two, and three (BHD, KWD, TND).
pub const ANY_CODE_CURRENCIES: [Currency; 8] = [
    Currency::EUR,
    Currency::USD,
    Currency::GBP,
    Currency::CHF,
    Currency::JPY,
    Currency::BHD,
    Currency::KWD,
    Currency::TND,
];

/// 2026-01-01T00:00:00Z: the suite's "now" (the mock bank's clock is fixed to it too).
pub fn now() -> Timestamp {
    Timestamp::constant(1_767_225_600, 0)
}

/// A customer with every field the PSD2 check and the banks' 3-D Secure data need, as a shop's
/// form gives it (before [`Customer::validate_for_payment`]).
pub fn customer_form() -> Customer {
    Customer {
        first_name: "Jeanne".into(),
        last_name: "Martin".into(),
        email: "jeanne@example.fr".into(),
        phone: Some("06 12 34 56 78".into()),
        address: Some(PostalAddress {
            line1: "1 place Bellecour".into(),
            line2: None,
            postcode: "69002".into(),
            city: "Lyon".into(),
            country: "FR".into(),
        }),
    }
}

/// [`customer_form`], validated.
pub fn customer() -> ValidatedCustomer {
    #[allow(clippy::expect_used)] // a constant customer that the core's own tests accept
    customer_form()
        .validate_for_payment()
        .expect("the fixture customer is complete")
}

/// A fresh reference, unique in this process.
pub fn reference() -> PaymentReference {
    static GENERATOR: OnceLock<ReferenceGenerator> = OnceLock::new();
    GENERATOR.get_or_init(ReferenceGenerator::new).next(now())
}

/// A request of `amount` with a fresh reference and the given URLs.
pub fn request(amount: Amount, urls: ReturnUrls) -> PaymentRequest {
    PaymentRequest::new(
        reference(),
        amount,
        customer(),
        "Commande 1042",
        2,
        urls,
        Lang::Fr,
    )
}

/// A request of `amount` as the engine builds it for `provider`: a fresh reference and the
/// bank reference the provider derives from it, with a new nonce each call counting 1, 2, 3…
/// as the store's daily sequence does (`NonceSource::DailySequence`).
///
/// # Errors
/// What [`PaymentProvider::bank_reference`] returns.
pub fn request_for(
    provider: &dyn PaymentProvider,
    amount: Amount,
    urls: ReturnUrls,
) -> Result<PaymentRequest, ProviderError> {
    static NONCE: AtomicU64 = AtomicU64::new(1);
    let request = request(amount, urls);
    let bank_reference = provider.bank_reference(
        &request.reference,
        now(),
        NONCE.fetch_add(1, Ordering::Relaxed),
    )?;
    Ok(request.with_bank_reference(bank_reference))
}

/// [`request_for`] then [`PaymentProvider::prepare`], as the engine starts a checkout.
///
/// # Errors
/// What [`PaymentProvider::bank_reference`] or [`PaymentProvider::prepare`] returns.
pub async fn prepare(
    provider: &dyn PaymentProvider,
    amount: Amount,
    urls: ReturnUrls,
    now: Timestamp,
) -> Result<(PaymentRequest, Prepared), ProviderError> {
    let request = request_for(provider, amount, urls)?;
    let prepared = provider.prepare(&request, now).await?;
    Ok((request, prepared))
}
