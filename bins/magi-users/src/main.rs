//! magi-users: parse the command line, run, and exit with 0, 1 or 2. Everything else is in `magi-users-lib`.

use std::process::ExitCode;

use magi_core::exit::{Codes, finish};
use magi_users::cli::Cli;

fn main() -> ExitCode {
    let cli: Cli = match magi_core::cli::parse(Codes::TOOL) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    finish("magi-users", magi_users::run(cli), Codes::TOOL)
}
