//! magi-pitr: parse the command line, run, and exit 0 (success), 1 (failure) or 2 (usage error).

use std::process::ExitCode;

use magi_core::exit::{Codes, finish};
use magi_pitr::cli::Cli;

fn main() -> ExitCode {
    let cli: Cli = match magi_core::cli::parse(Codes::TOOL) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    finish("magi-pitr", magi_pitr::run(cli), Codes::TOOL)
}
