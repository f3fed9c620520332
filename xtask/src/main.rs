//! `cargo xtask`: repository tasks (`gen`), run through the alias in .cargo/config.toml.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Repository tasks for MAGI ops contributors
#[derive(Debug, Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write completions/ and man/ from the clap definitions of every binary (commit the result)
    Gen {
        /// Write under this directory instead of the repository
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let Command::Gen { out } = Cli::parse().command;
    let root = xtask::root();
    match xtask::write(&root, out.as_deref().unwrap_or(&root)) {
        Ok(written) => {
            println!("wrote {} files under completions/ and man/", written.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cargo xtask gen: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
