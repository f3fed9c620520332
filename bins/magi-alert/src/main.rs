//! `magi-alert`: parse the command line, run it (`magi_alert::run`), and exit with the family's codes.

use std::process::ExitCode;

use magi_core::exit::{Codes, finish};

fn main() -> ExitCode {
    let cli: magi_alert::cli::Cli = match magi_core::cli::parse(Codes::TOOL) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    finish("magi-alert", magi_alert::run(cli), Codes::TOOL)
}
