//! What every bank API client does the same way, whatever its HTTP library: check the base
//! URL it is given, and read an answer without trusting its size.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use url::Url;

use crate::error::{BoxError, ProviderError, Unreadable};
use crate::provider::ProviderId;

/// Whether `url` is a plain base URL: a host, and no credentials, query or fragment.
///
/// ```
/// use url::Url;
/// assert!(tpe_core::api::is_plain_base(&Url::parse("https://api.example/v2/")?));
/// assert!(!tpe_core::api::is_plain_base(&Url::parse("https://u:p@api.example/")?));
/// # Ok::<(), url::ParseError>(())
/// ```
pub fn is_plain_base(url: &Url) -> bool {
    url.host_str().is_some_and(|h| !h.is_empty())
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none()
}

/// The default TCP/TLS connect timeout of a bank's API.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The default timeout of a whole request to a bank's API.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// [`DEFAULT_CONNECT_TIMEOUT`], for `#[serde(default = "…")]`.
pub fn default_connect_timeout() -> Duration {
    DEFAULT_CONNECT_TIMEOUT
}

/// [`DEFAULT_REQUEST_TIMEOUT`], for `#[serde(default = "…")]`.
pub fn default_request_timeout() -> Duration {
    DEFAULT_REQUEST_TIMEOUT
}

/// A bank configuration with the two timeouts of its API client, written in TOML as
/// `connect_timeout_ms` and `request_timeout_ms` beside its other keys (a `deny_unknown_fields`
/// schema cannot flatten a shared struct, so the configuration keeps the fields and lends them).
///
/// ```
/// use std::time::Duration;
/// use tpe_core::api::ApiTimeouts;
///
/// struct Config {
///     connect: Duration,
///     request: Duration,
/// }
///
/// impl ApiTimeouts for Config {
///     fn timeouts_mut(&mut self) -> (&mut Duration, &mut Duration) {
///         (&mut self.connect, &mut self.request)
///     }
/// }
///
/// let c = Config { connect: Duration::ZERO, request: Duration::ZERO }
///     .with_timeouts(Duration::from_secs(1), Duration::from_secs(2));
/// assert_eq!((c.connect, c.request), (Duration::from_secs(1), Duration::from_secs(2)));
/// ```
pub trait ApiTimeouts: Sized {
    /// The connect timeout and the whole-request timeout, in that order.
    fn timeouts_mut(&mut self) -> (&mut Duration, &mut Duration);

    /// With other timeouts: `connect` for the TCP/TLS connection, `request` for a whole
    /// request. The provider refuses a zero one when it is built.
    #[must_use]
    fn with_timeouts(mut self, connect: Duration, request: Duration) -> Self {
        let (c, r) = self.timeouts_mut();
        (*c, *r) = (connect, request);
        self
    }
}

/// Why an answer was not read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError<E> {
    /// Larger than the bound, declared or streamed.
    #[error("API answer larger than {0} bytes")]
    TooLarge(usize),
    /// The transport failed.
    #[error(transparent)]
    Transport(E),
}

impl<E: Into<BoxError>> ReadError<E> {
    /// The provider's [`ProviderError::Transport`]: retryable when the transport failed, not
    /// when the answer is too large.
    pub fn into_provider_error(self, provider: &ProviderId) -> ProviderError {
        match self {
            Self::TooLarge(max) => ProviderError::transport(
                provider,
                false,
                Unreadable(format!("API answer larger than {max} bytes").into()),
            ),
            Self::Transport(e) => ProviderError::transport(provider, true, e),
        }
    }
}

/// The next chunk of an answer `R`, `None` at the end (`|r| Box::pin(r.chunk())` for a
/// `reqwest::Response`).
pub type NextChunk<'a, E> = Pin<Box<dyn Future<Output = Result<Option<Bytes>, E>> + Send + 'a>>;

/// Reads the answer `source` chunk by chunk (`next`), refusing one over `max` bytes: declared
/// so (`content_length`) or streamed so.
///
/// ```
/// use bytes::Bytes;
/// use tpe_core::api::{NextChunk, ReadError, read_bounded};
/// fn next(chunks: &mut Vec<Bytes>) -> NextChunk<'_, std::io::Error> {
///     let chunk = chunks.pop();
///     Box::pin(async move { Ok(chunk) })
/// }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let chunks = vec![Bytes::from_static(b"de"), Bytes::from_static(b"ux")];
/// assert_eq!(&read_bounded(chunks.clone(), None, 4, next).await.unwrap()[..], b"uxde");
/// assert!(matches!(read_bounded(chunks.clone(), None, 3, next).await, Err(ReadError::TooLarge(3))));
/// assert!(matches!(read_bounded(chunks, Some(9), 8, next).await, Err(ReadError::TooLarge(8))));
/// # });
/// ```
///
/// # Errors
/// [`ReadError::TooLarge`], or the transport's error.
pub async fn read_bounded<R, E>(
    mut source: R,
    content_length: Option<u64>,
    max: usize,
    next: impl for<'a> Fn(&'a mut R) -> NextChunk<'a, E>,
) -> Result<Bytes, ReadError<E>> {
    if content_length.is_some_and(|n| n > u64::try_from(max).unwrap_or(u64::MAX)) {
        return Err(ReadError::TooLarge(max));
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = next(&mut source).await.map_err(ReadError::Transport)? {
        if body.len() + chunk.len() > max {
            return Err(ReadError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
