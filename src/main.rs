//! The `tpe` binary: see [`tpe_cli`].

fn main() -> std::process::ExitCode {
    tpe_cli::main()
}
