//! The set of providers a shop uses, by id.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::provider::{PaymentProvider, ProviderId};

/// Providers by id. Registration is explicit and a second provider with the same id is refused.
///
/// ```
/// # use tpe_core::Registry;
/// let registry = Registry::new();
/// assert!(registry.is_empty());
/// ```
#[derive(Debug, Default, Clone)]
pub struct Registry {
    providers: BTreeMap<ProviderId, Arc<dyn PaymentProvider>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a provider.
    ///
    /// # Errors
    /// [`DuplicateProvider`] when a provider with the same id is already registered; the
    /// registry is unchanged.
    pub fn register(
        &mut self,
        provider: Arc<dyn PaymentProvider>,
    ) -> Result<(), DuplicateProvider> {
        let id = provider.id();
        if self.providers.contains_key(&id) {
            return Err(DuplicateProvider(id));
        }
        self.providers.insert(id, provider);
        Ok(())
    }

    /// The provider with this id.
    pub fn get(&self, id: &ProviderId) -> Option<&Arc<dyn PaymentProvider>> {
        self.providers.get(id)
    }

    /// The provider whose id is `id`, by name.
    pub fn by_name(&self, id: &str) -> Option<&Arc<dyn PaymentProvider>> {
        self.providers
            .iter()
            .find(|(k, _)| k.as_str() == id)
            .map(|(_, v)| v)
    }

    /// All providers, ordered by id.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn PaymentProvider>> {
        self.providers.values()
    }

    /// Number of providers.
    pub fn len(&self) -> usize {
        self.providers.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }
}

/// Two providers with one id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a provider with id {0} is already registered")]
pub struct DuplicateProvider(pub ProviderId);
