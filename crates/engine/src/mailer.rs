//! Sending e-mails: the [`Mailer`] trait, an SMTP implementation and the default `.eml` outbox
//! folder.
//!
//! Every e-mail carries a `Message-ID` derived from the outbox effect that produced it, so a
//! re-delivery (after a crash between "sent" and "marked delivered") is recognisable, and the
//! file outbox skips it outright.

use std::fmt;
use std::path::{Path, PathBuf};

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::{ExposeSecret as _, SecretString};
use tpe_core::Timestamp;

/// One e-mail, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// Stable id (without angle brackets), e.g. `effect-42.ref@tpe.invalid`.
    pub message_id: String,
    /// Sender.
    pub from: String,
    /// Recipient.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// The `Date` header.
    pub date: Timestamp,
}

impl Email {
    /// The RFC 5322 message, as lettre builds it.
    ///
    /// # Errors
    /// [`MailError::Address`] for an unusable sender or recipient, [`MailError::Build`] otherwise.
    pub fn to_message(&self) -> Result<Message, MailError> {
        let from: Mailbox = self
            .from
            .parse()
            .map_err(|_| MailError::Address { which: "sender" })?;
        let to: Mailbox = self
            .to
            .parse()
            .map_err(|_| MailError::Address { which: "recipient" })?;
        Message::builder()
            .from(from)
            .to(to)
            .subject(self.subject.clone())
            .message_id(Some(format!("<{}>", self.message_id)))
            .date(
                std::time::SystemTime::try_from(self.date)
                    .map_err(|e| MailError::Build(e.to_string()))?,
            )
            .header(ContentType::TEXT_PLAIN)
            .body(self.body.clone())
            .map_err(|e| MailError::Build(e.to_string()))
    }
}

/// Why an e-mail could not be sent. Transient ones are retried by the relay with backoff.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// The sender or recipient address is not a valid mailbox.
    #[error("the {which} address is not a valid e-mail address")]
    Address {
        /// `sender` or `recipient`.
        which: &'static str,
    },
    /// lettre refused to build the message.
    #[error("cannot build the e-mail: {0}")]
    Build(String),
    /// The SMTP server refused or could not be reached.
    #[error("SMTP delivery failed: {message}")]
    Smtp {
        /// lettre's explanation.
        message: String,
        /// The server answered with a permanent (5xx) refusal, e.g. an unknown mailbox.
        permanent: bool,
    },
    /// Writing the `.eml` file failed.
    #[error("cannot write the e-mail file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl MailError {
    /// Whether retrying cannot help: a malformed address, a message that cannot be built, or
    /// a permanent (5xx) SMTP refusal will not get better by themselves.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Address { .. } | Self::Build(_) => true,
            Self::Smtp { permanent, .. } => *permanent,
            Self::Io { .. } => false,
        }
    }

    fn smtp(e: &lettre::transport::smtp::Error) -> Self {
        Self::Smtp {
            message: e.to_string(),
            permanent: e.is_permanent(),
        }
    }
}

/// Something that delivers e-mails.
///
/// Implementations must be idempotent per [`Email::message_id`] where they can (the file outbox
/// is); SMTP cannot be, which is why the id is stable.
#[async_trait::async_trait]
pub trait Mailer: fmt::Debug + Send + Sync + 'static {
    /// Sends one e-mail.
    async fn send(&self, email: &Email) -> Result<(), MailError>;
}

/// The default mailer: one `.eml` file per e-mail in a folder (a local outbox the shop's own mail
/// tooling, or a person, can read).
///
/// ```
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use tpe_engine::{Email, FileMailer, Mailer};
/// let dir = std::env::temp_dir().join("tpe-doc-outbox");
/// let mailer = FileMailer::new(&dir)?;
/// let email = Email { message_id: "effect-1@shop.example".into(), from: "shop@example.fr".into(),
///     to: "client@example.fr".into(), subject: "Merci".into(), body: "…".into(),
///     date: jiff::Timestamp::UNIX_EPOCH };
/// mailer.send(&email).await?;
/// mailer.send(&email).await?; // the same Message-ID: written once
/// assert!(mailer.path_for(&email.message_id).exists());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FileMailer {
    dir: PathBuf,
}

impl FileMailer {
    /// A mailer writing to `dir` (created if missing).
    ///
    /// # Errors
    /// When the folder cannot be created.
    pub fn new(dir: impl AsRef<Path>) -> Result<Self, MailError> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|source| MailError::Io {
            path: dir.clone(),
            source,
        })?;
        Ok(Self { dir })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file an e-mail with this `Message-ID` is written to.
    pub fn path_for(&self, message_id: &str) -> PathBuf {
        // Keep a safe file name whatever the id holds.
        let name: String = message_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@') {
                    c
                } else {
                    '_'
                }
            })
            .take(200)
            .collect();
        self.dir.join(format!("{name}.eml"))
    }
}

#[async_trait::async_trait]
impl Mailer for FileMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let bytes = email.to_message()?.formatted();
        let path = self.path_for(&email.message_id);
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || write_once(&dir, &path, &bytes))
            .await
            .map_err(|e| MailError::Io {
                path: self.dir.clone(),
                source: std::io::Error::other(e.to_string()),
            })?
    }
}

/// Writes `bytes` to `path` atomically unless it exists already: a temporary file in `dir`
/// (removed if anything fails), synced, renamed, then the folder synced so the rename
/// survives a crash.
fn write_once(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), MailError> {
    use std::io::Write as _;
    if path.exists() {
        return Ok(());
    }
    let io = |source| MailError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .suffix(".eml")
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    // A concurrent writer of the same id produced the same message: either rename wins.
    tmp.persist(path).map_err(|e| io(e.error))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod write_tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let ok = dir.path().join("a.eml");
        assert!(write_once(dir.path(), &ok, b"Subject: a\r\n\r\nbody").is_ok());
        // The rename cannot succeed: the target's folder does not exist.
        let bad = dir.path().join("missing").join("b.eml");
        assert!(write_once(dir.path(), &bad, b"Subject: b\r\n\r\nbody").is_err());
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap_or_else(|e| panic!("{e}"))
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        assert_eq!(names, ["a.eml"]);
    }
}

/// SMTP through lettre (STARTTLS on the submission port, or plain on localhost for tests).
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    host: String,
}

impl fmt::Debug for SmtpMailer {
    // The transport may hold credentials: only the host is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer using STARTTLS to `host` on port 587 with these credentials.
    ///
    /// # Errors
    /// [`MailError::Smtp`] when the host is not usable for TLS.
    pub fn starttls(host: &str, user: String, password: SecretString) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
            .map_err(|e| MailError::smtp(&e))?
            .credentials(lettre::transport::smtp::authentication::Credentials::new(
                user,
                password.expose_secret().to_owned(),
            ))
            .build();
        Ok(Self {
            transport,
            host: host.to_owned(),
        })
    }

    /// A mailer speaking plain SMTP to `host:port` without authentication (a local relay or a
    /// test server).
    pub fn plain(host: &str, port: u16) -> Self {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .build();
        Self {
            transport,
            host: host.to_owned(),
        }
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let message = email.to_message()?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| MailError::smtp(&e))
    }
}

/// A mailer that keeps e-mails in memory, for tests and the demo's "e-mails sent" page.
#[derive(Debug, Default, Clone)]
pub struct MemoryMailer {
    sent: std::sync::Arc<std::sync::Mutex<Vec<Email>>>,
}

impl MemoryMailer {
    /// An empty mailer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every e-mail sent so far, in order (re-deliveries included, so tests can see them).
    pub fn sent(&self) -> Vec<Email> {
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

#[async_trait::async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        email.to_message()?;
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(email.clone());
        Ok(())
    }
}
