//! magi-limits: parse the command line, run, and exit with 0, 1 or 2.

use std::process::ExitCode;

use magi_core::exit::{Codes, finish};
use magi_limits::cli::Cli;

/// The gateway allocates and frees small buffers for every request and chunk; mimalloc does that in a
/// fraction of glibc's time (the limits benchmark prints the difference as throughput).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli: Cli = match magi_core::cli::parse(Codes::TOOL) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    finish(
        "magi-limits",
        magi_limits::run(cli, magi_users::gateway_keys),
        Codes::TOOL,
    )
}
