//! `magi`: the dispatcher. `magi TOOL ARGS` runs `magi-TOOL ARGS`, found next to this binary or on PATH, as
//! git does; `magi config` shows and checks the configuration every tool reads.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::FromArgMatches;
use magi::cli::{Cli, Command, ConfigCommand, EXAMPLES};
use magi::{dispatch, event, logs};
use magi_core::cli::CommonArgs;
use magi_core::config::{Config, LoadOptions};
use magi_core::exit::{self, Codes};
use magi_core::paths::Paths;

fn main() -> ExitCode {
    let tools = dispatch::installed_tools();
    let matches = with_listing(&tools).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    exit::finish("magi", run(cli, &tools), Codes::TOOL)
}

/// The parser with the installed tools and the examples after the options.
fn with_listing(tools: &[dispatch::Tool]) -> clap::Command {
    magi::cli::command().after_help(format!("{}\n{EXAMPLES}", dispatch::listing(tools)))
}

fn run(cli: Cli, tools: &[dispatch::Tool]) -> anyhow::Result<u8> {
    match cli.command {
        None => {
            print!("{}", with_listing(tools).render_help());
            Ok(exit::USAGE)
        }
        Some(Command::Help { tool: None }) => {
            print!("{}", with_listing(tools).render_long_help());
            Ok(exit::SUCCESS)
        }
        Some(Command::Help { tool: Some(name) }) => dispatch::exec(
            tools,
            OsString::from(name),
            vec![OsString::from("--help")],
            &cli.common,
        ),
        Some(Command::Tool(mut args)) => {
            let name = args.remove(0);
            dispatch::exec(tools, name, args, &cli.common)
        }
        Some(Command::Config(command)) => config(command, &cli.common),
        Some(Command::Logs(args)) => logs::run(&args, &cli.common.start("magi")?.config),
        Some(Command::Event(command)) => {
            magi_core::logging::init("magi", cli.common.verbosity());
            event::run(command)
        }
    }
}

fn config(command: ConfigCommand, common: &CommonArgs) -> anyhow::Result<u8> {
    let context = common.start("magi")?;
    match command {
        ConfigCommand::Show { json } => {
            let config = &context.config;
            if json {
                println!("{}", serde_json::to_string(config)?);
            } else {
                let origin = config
                    .source
                    .as_ref()
                    .map_or("built-in defaults".to_owned(), |p| p.display().to_string());
                println!("# The configuration in effect, from {origin}; secrets are masked.");
                print!("{}", config.to_toml());
            }
            Ok(exit::SUCCESS)
        }
        ConfigCommand::Check { file } => check(file, common, &context.paths),
    }
}

fn check(file: Option<PathBuf>, common: &CommonArgs, paths: &Paths) -> anyhow::Result<u8> {
    let config = match file.or_else(|| common.config.clone()) {
        Some(file) => Config::from_file(&file, paths)?,
        None => {
            let config = Config::load(&LoadOptions::default(), paths)?;
            if config.source.is_none() {
                println!(
                    "no config file at {} and none given: the built-in defaults are in use, and valid",
                    paths.config_file.display()
                );
                return Ok(exit::SUCCESS);
            }
            config
        }
    };
    let source = config
        .source
        .as_ref()
        .context("a checked file has a source")?;
    let core = config
        .services
        .iter()
        .filter(|s| s.tier == magi_core::Tier::Core)
        .count();
    println!(
        "{}: ok ({} services, {core} core; MAGI home {})",
        source.display(),
        config.services.len(),
        config.stack.home.display()
    );
    Ok(exit::SUCCESS)
}
