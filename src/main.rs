//! The `hallmark` command; see `hallmark --help`.
fn main() -> std::process::ExitCode {
    hallmark_cli::main()
}
