//! Command-line flags every tool shares, and the start-up they imply: `--config`, `--verbose`, `--quiet`.
//!
//! A binary flattens [`CommonArgs`] into its clap parser and calls [`CommonArgs::start`] first thing, which
//! installs logging and loads the configuration, so every tool behaves the same way.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{Config, ConfigError, LoadOptions};
use crate::exit::Codes;
use crate::logging::{self, Sink, Verbosity};
use crate::paths::Paths;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct CommonArgs {
    /// Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml
    /// when not root); without any, the built-in description of the MAGI stack is used
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Say only errors (overrides $MAGI_LOG)
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// What a tool has once it has started: where files live, its configuration, and where logs go.
#[derive(Debug, Clone)]
pub struct Context {
    pub paths: Paths,
    pub config: Config,
    pub sink: Sink,
}

impl CommonArgs {
    pub fn verbosity(&self) -> Verbosity {
        Verbosity {
            verbose: self.verbose,
            quiet: self.quiet,
        }
    }

    /// Installs logging for `program` and loads the configuration.
    pub fn start(&self, program: &'static str) -> Result<Context, ConfigError> {
        let sink = logging::init(program, self.verbosity());
        let paths = Paths::detect();
        let config = Config::load(
            &LoadOptions {
                explicit: self.config.clone(),
            },
            &paths,
        )?;
        log::debug!(
            "configuration: {}",
            config
                .source
                .as_ref()
                .map_or("built-in defaults".into(), |p| p.display().to_string())
        );
        Ok(Context {
            paths,
            config,
            sink,
        })
    }
}

/// Parses the command line, printing help or a usage error the clap way but exiting with the tool's own
/// usage code: clap's is 2, and the health check must say UNKNOWN (3) instead.
pub fn parse<P: clap::Parser>(codes: Codes) -> Result<P, ExitCode> {
    parse_from(std::env::args_os(), codes).map_err(|(code, e)| {
        let _ = e.print();
        ExitCode::from(code)
    })
}

/// [`parse`] over given arguments, returning the exit code and clap's message instead of printing it.
fn parse_from<P, I, T>(args: I, codes: Codes) -> Result<P, (u8, clap::Error)>
where
    P: clap::Parser,
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    P::try_parse_from(args).map_err(|e| (if e.use_stderr() { codes.usage } else { 0 }, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Tool {
        #[arg(long)]
        json: bool,
    }

    #[test]
    fn a_usage_error_exits_with_the_tools_own_code_and_help_with_zero() {
        let (code, _) =
            parse_from::<Tool, _, _>(["magi-health", "--bogus"], Codes::PLUGIN).unwrap_err();
        assert_eq!(code, 3);
        let (code, _) =
            parse_from::<Tool, _, _>(["magi-backup", "--bogus"], Codes::TOOL).unwrap_err();
        assert_eq!(code, 2);
        let (code, help) =
            parse_from::<Tool, _, _>(["magi-health", "--help"], Codes::PLUGIN).unwrap_err();
        assert_eq!(code, 0);
        assert!(help.to_string().contains("--json"));
        assert!(
            parse_from::<Tool, _, _>(["magi-health", "--json"], Codes::PLUGIN)
                .unwrap()
                .json
        );
    }
}
