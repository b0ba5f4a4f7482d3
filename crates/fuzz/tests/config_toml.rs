//! Every provider's `from_toml_str`, each input given to the five providers: each answer is a
//! configuration or a `ProviderError::Config`, and an error never quotes a secret of the input.

#[path = "common/config.rs"]
mod config;

use tpe_fuzz::{Oracle, Target};

tpe_fuzz::fuzz_target!(
    Target::new(
        "config_toml",
        Oracle::Unsigned,
        config::seeds(config::TOML),
        config::toml
    )
    // The readers go through the `toml` crate's document model, linear but heavy: a list item
    // of two bytes (`1,` or `a,`) becomes a value of about 160 bytes (measured: 5.1 MB for a
    // 64 KB array). Configuration is the operator's file, not bank input: bound at 128 per byte.
    .allocation_bound(128, 64 * 1024)
);
