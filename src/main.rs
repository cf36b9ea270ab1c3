use std::process::ExitCode;

fn main() -> ExitCode {
    postgram::cli::main()
}
