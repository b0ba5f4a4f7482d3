//! The exit convention of every `tpe` command, and the plumbing of the banks' tools
//! (`tpe <bank> sign|verify`).

/// The outcome of a command, and the process exit status that goes with it. Every subcommand
/// follows it; the `--help` text and the README list it.
///
/// ```
/// use tpe_cli::Exit;
/// let codes = [Exit::Success, Exit::CheckFailed, Exit::Usage, Exit::Failure].map(Exit::code);
/// assert_eq!(codes, [0, 1, 2, 3]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exit {
    /// 0: done; the signature is valid; every row of the tour is as expected.
    Success,
    /// 1: a check failed, and the output says why: a signature or MAC refused, a row of the
    /// tour different from what the lifecycle says.
    CheckFailed,
    /// 2: bad usage or configuration: an unknown option (clap's own errors exit 2 too), a bad
    /// key, a field without `=`, an unreadable or invalid file.
    Usage,
    /// 3: the command could not run: an address already in use, a store or disk error, the
    /// runtime could not start.
    Failure,
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::CheckFailed => 1,
            Self::Usage => 2,
            Self::Failure => 3,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        Self::from(e.code())
    }
}

/// The exit convention as the `--help` text shows it.
pub(crate) const EXIT_HELP: &str = "Exit status: 0 done (or valid); 1 a check failed (a signature refused, a tour row differs); 2 bad usage or configuration; 3 could not run (address in use, store or I/O error).";

/// Reads a notification body saved in a file for `tpe <bank> verify`, refusing one larger than
/// any notification the engine accepts ([`RawNotification::MAX_BODY`](tpe_core::RawNotification::MAX_BODY)).
///
/// # Errors
/// A message naming the file: unreadable, or too large.
pub fn read_body_file(path: &std::path::Path) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let max = tpe_core::RawNotification::MAX_BODY;
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
/// use tpe_cli::{Exit, tool::verdict};
/// let mut out = Vec::new();
/// assert_eq!(verdict(&mut out, Err::<(), _>("signature does not match"))?, Exit::CheckFailed);
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
        Err(why) => writeln!(out, "invalid: {why}").map(|()| Exit::CheckFailed),
    }
}

/// Runs a tool's command into a buffer: its exit and its output, for tests and examples.
///
/// ```
/// use std::io::Write as _;
/// use tpe_cli::{Exit, tool::captured};
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

/// The `NAME=VALUE` arguments of a `sign` tool as pairs; an error names the argument that is
/// not one by its first 40 characters only.
///
/// ```
/// let fields = ["A=1".to_owned(), "B==2".to_owned()];
/// assert_eq!(tpe_cli::tool::field_pairs(&fields), Ok(vec![("A", "1"), ("B", "=2")]));
/// assert!(tpe_cli::tool::field_pairs(&["=1".to_owned()]).unwrap_err().contains("empty name"));
/// ```
///
/// # Errors
/// A field without `=`, or with an empty name.
pub fn field_pairs(fields: &[String]) -> Result<Vec<(&str, &str)>, String> {
    fields
        .iter()
        .map(|f| match f.split_once('=') {
            None => {
                let shown: String = f.chars().take(40).collect();
                Err(format!("field {shown:?} has no '=' (NAME=VALUE)"))
            }
            Some(("", _)) => Err("a field has an empty name".to_owned()),
            Some(pair) => Ok(pair),
        })
        .collect()
}

/// [`field_pairs`], or its error written to `out` and `None`: the tool then exits
/// [`Exit::Usage`].
///
/// # Errors
/// Writing to `out`.
pub fn field_pairs_or_usage<'f>(
    fields: &'f [String],
    out: &mut dyn std::io::Write,
) -> std::io::Result<Option<Vec<(&'f str, &'f str)>>> {
    match field_pairs(fields) {
        Ok(pairs) => Ok(Some(pairs)),
        Err(e) => {
            writeln!(out, "error: {e}")?;
            Ok(None)
        }
    }
}

/// Parses `args` as a subcommand `C` of `tpe`.
#[cfg(test)]
pub(crate) fn parse_subcommand<C: clap::Subcommand>(args: &[&str]) -> Result<C, clap::Error> {
    let command = C::augment_subcommands(clap::Command::new("tpe").subcommand_required(true));
    let matches =
        command.try_get_matches_from(std::iter::once("tpe").chain(args.iter().copied()))?;
    C::from_arg_matches(&matches)
}

/// [`parse_subcommand`] and runs it with `run`, capturing its output: the bank modules' tests
/// drive their tools through this.
#[cfg(test)]
pub(crate) fn run_subcommand<C: clap::Subcommand>(
    args: &[&str],
    run: impl FnOnce(&C, &mut dyn std::io::Write) -> Exit,
) -> (Exit, String) {
    let cmd = parse_subcommand::<C>(args).unwrap_or_else(|e| panic!("{e}"));
    captured(|out| run(&cmd, out))
}
