//! Builders of [`ProviderError`](tpe_core::ProviderError) for this provider, so every error
//! names it: the core's shared constructors with this provider's id bound.

tpe_core::provider_errors!(crate::Worldline::ID);
