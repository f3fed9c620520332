//! magi-restore: parse the command line, run, and exit with 0, 1 or 2.

use std::process::ExitCode;

use magi_backup::cli::RestoreCli;
use magi_core::exit::{Codes, finish};

fn main() -> ExitCode {
    let cli: RestoreCli = match magi_core::cli::parse(Codes::TOOL) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    finish("magi-restore", magi_backup::run::restore(cli), Codes::TOOL)
}
