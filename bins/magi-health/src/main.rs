//! magi-health: parse the command line, run, and exit with the monitoring-plugin code.

use std::process::ExitCode;

use magi_core::exit::{Codes, finish};
use magi_health_lib::cli::Cli;

fn main() -> ExitCode {
    let cli: Cli = match magi_core::cli::parse(Codes::PLUGIN) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    finish("magi-health", magi_health_lib::run(cli), Codes::PLUGIN)
}
