//! The exit convention and the plumbing of every bank's command-line tools
//! (`tpe <bank> sign|verify`).

/// The outcome of a bank tool's command.
///
/// ```
/// use tpe_core::tool::Exit;
/// assert_eq!([Exit::Success, Exit::Invalid, Exit::Usage].map(Exit::code), [0, 1, 2]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exit {
    /// 0: done, or the signature is valid.
    Success,
    /// 1: the signature or MAC is invalid (and the output says why).
    Invalid,
    /// 2: bad usage (a bad key, a field without `=`, an unreadable file).
    Usage,
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Invalid => 1,
            Self::Usage => 2,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        Self::from(e.code())
    }
}

/// Reads a notification body saved in a file for `tpe <bank> verify`, refusing one larger than
/// any notification the engine accepts ([`RawNotification::MAX_BODY`](crate::RawNotification::MAX_BODY)).
///
/// # Errors
/// A message naming the file: unreadable, or too large.
pub fn read_body_file(path: &std::path::Path) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let max = crate::RawNotification::MAX_BODY;
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut body = Vec::new();
    file.take(u64::try_from(max + 1).unwrap_or(u64::MAX))
        .read_to_end(&mut body)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if body.len() > max {
        return Err(format!("{} is larger than {max} bytes", path.display()));
    }
    Ok(body)
}

/// Writes the verdict of `tpe <bank> verify`: `valid`, or `invalid: <why>`, and returns the exit
/// status that goes with it.
///
/// ```
/// use tpe_core::tool::{Exit, verdict};
/// let mut out = Vec::new();
/// assert_eq!(verdict(&mut out, Err::<(), _>("signature does not match"))?, Exit::Invalid);
/// assert_eq!(out, b"invalid: signature does not match\n");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
/// The write's.
pub fn verdict<E: std::fmt::Display>(
    out: &mut dyn std::io::Write,
    result: Result<(), E>,
) -> std::io::Result<Exit> {
    match result {
        Ok(()) => writeln!(out, "valid").map(|()| Exit::Success),
        Err(why) => writeln!(out, "invalid: {why}").map(|()| Exit::Invalid),
    }
}

/// Runs a tool's command into a buffer: its exit and its output, for tests and examples.
///
/// ```
/// use std::io::Write as _;
/// use tpe_core::tool::{Exit, captured};
/// let (exit, out) = captured(|out| {
///     writeln!(out, "valid").map_or(Exit::Usage, |()| Exit::Success)
/// });
/// assert_eq!((exit, out.as_str()), (Exit::Success, "valid\n"));
/// ```
pub fn captured(run: impl FnOnce(&mut dyn std::io::Write) -> Exit) -> (Exit, String) {
    let mut out = Vec::new();
    let exit = run(&mut out);
    (exit, String::from_utf8_lossy(&out).into_owned())
}
