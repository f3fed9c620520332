//! The man pages: one page per binary, with every subcommand inside it, and `magi(7)`, the overview of the
//! family. Synopsis and options come from clap_mangen over the clap definitions; the sections clap knows
//! nothing of (exit status, environment, files, the units that run the binary) from the registry, the units
//! directory and the family's contracts in [`crate::family`].

use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, italic, roman};

use crate::family;
use crate::registry::{BINARIES, Binary, Exit};
use crate::units::{self, UNIT_DIR, Unit};

const MANUAL: &str = "MAGI ops";

fn source() -> String {
    format!("magi-ops {}", env!("CARGO_PKG_VERSION"))
}

/// The lines every rendering starts with (how to typeset apostrophes); a page has them once, at the top.
fn preamble() -> String {
    Roff::new().render()
}

/// Roff source without the preamble, so that pieces can be put together into one page.
fn body(roff: &Roff) -> String {
    strip(roff.render())
}

fn strip(text: String) -> String {
    text.strip_prefix(&preamble())
        .map(str::to_owned)
        .unwrap_or(text)
}

/// One clap_mangen section as roff source, without the preamble.
fn section(render: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    render(&mut out).expect("rendering into memory cannot fail");
    strip(String::from_utf8(out).expect("clap_mangen writes UTF-8"))
}

/// Lines laid out for a terminal (the after-help texts, examples), kept as they are.
fn preformatted(roff: &mut Roff, text: &str) {
    roff.control("nf", []);
    for line in text.lines() {
        roff.text([roman(line)]);
    }
    roff.control("fi", []);
}

/// The man page of one binary.
pub fn page(binary: &Binary, units: &[Unit]) -> String {
    let cmd = (binary.command)();
    let man = Man::new(cmd.clone())
        .title(binary.name.to_uppercase())
        .source(source())
        .manual(MANUAL);
    let mut text = preamble();
    text.push_str(&section(|w| man.render_title(w)));
    text.push_str(&section(|w| man.render_name_section(w)));
    text.push_str(&section(|w| man.render_synopsis_section(w)));
    text.push_str(&section(|w| man.render_description_section(w)));
    text.push_str(&section(|w| man.render_options_section(w)));
    let subcommands = visible_subcommands(&cmd);
    if !subcommands.is_empty() {
        text.push_str(".SH COMMANDS\n");
        for sub in subcommands {
            commands(&mut text, binary.name, sub);
        }
    }
    let mut roff = Roff::new();
    if binary.exit == Exit::Dispatcher {
        roff.control("SH", ["TOOLS"]);
        roff.text([roman(
            "Any other first word is a tool: magi NAME ARGS runs magi-NAME ARGS, found next to magi \
or on PATH; -v, -q and --config given before NAME are passed on through MAGI_LOG and MAGI_CONFIG.",
        )]);
        tools(&mut roff);
    }
    if let Some(after) = cmd.get_after_long_help().or_else(|| cmd.get_after_help()) {
        roff.control("SH", ["NOTES"]);
        preformatted(&mut roff, &after.to_string());
    }
    exit_status(&mut roff, binary.exit);
    environment(&mut roff, &cmd);
    files(&mut roff, units::running(units, binary.name));
    see_also(&mut roff, Some(binary.name));
    text.push_str(&body(&roff));
    text
}

fn visible_subcommands(cmd: &clap::Command) -> Vec<&clap::Command> {
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .collect()
}

/// A subcommand as a `.SS` with its synopsis, description, options and notes; then its own subcommands.
fn commands(out: &mut String, parent: &str, sub: &clap::Command) {
    let path = format!("{parent} {}", sub.get_name());
    let man = Man::new(
        sub.clone()
            .bin_name(&path)
            .disable_help_flag(true)
            .disable_version_flag(true)
            .disable_help_subcommand(true),
    );
    let mut head = Roff::new();
    head.control("SS", [path.as_str()]);
    out.push_str(&body(&head));
    let without_headings = |text: String| -> String {
        text.lines()
            .filter(|l| !l.starts_with(".SH "))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    out.push_str(&without_headings(section(|w| {
        man.render_synopsis_section(w)
    })));
    let mut roff = Roff::new();
    if let Some(about) = sub.get_long_about().or_else(|| sub.get_about()) {
        roff.control("PP", []);
        roff.text([roman(about.to_string())]);
    }
    out.push_str(&body(&roff));
    out.push_str(&without_headings(section(|w| {
        man.render_options_section(w)
    })));
    if let Some(after) = sub.get_after_long_help().or_else(|| sub.get_after_help()) {
        let mut roff = Roff::new();
        roff.control("PP", []);
        preformatted(&mut roff, &after.to_string());
        out.push_str(&body(&roff));
    }
    for child in visible_subcommands(sub) {
        commands(out, &path, child);
    }
}

fn exit_status(roff: &mut Roff, exit: Exit) {
    roff.control("SH", ["EXIT STATUS"]);
    let codes: &[(&str, &str)] = match exit {
        Exit::Tool | Exit::Dispatcher => &[
            ("0", "Success."),
            (
                "1",
                "Failure: the job could not be done; the last line on stderr says why.",
            ),
            (
                "2",
                "Usage or configuration error: a bad option, or a config file that does not parse.",
            ),
        ],
        Exit::Plugin => &[
            ("0", "OK: every service is healthy."),
            (
                "1",
                "WARNING: degraded (an optional service down, a core service slow or ill).",
            ),
            ("2", "CRITICAL: down (a core service is not working)."),
            (
                "3",
                "UNKNOWN: the check could not be made, or a usage or configuration error.",
            ),
        ],
    };
    for (code, meaning) in codes {
        roff.control("TP", []);
        roff.text([bold(*code)]);
        roff.text([roman(*meaning)]);
    }
    if exit == Exit::Dispatcher {
        roff.control("PP", []);
        roff.text([roman(
            "magi TOOL replaces itself with magi-TOOL, so its exit status is the tool's.",
        )]);
    }
}

fn environment(roff: &mut Roff, cmd: &clap::Command) {
    roff.control("SH", ["ENVIRONMENT"]);
    let mut own = Vec::new();
    collect_env(cmd, &mut own);
    for (name, help) in family::ENVIRONMENT
        .iter()
        .map(|(n, h)| ((*n).to_owned(), (*h).to_owned()))
        .chain(own)
    {
        roff.control("TP", []);
        roff.text([bold(name)]);
        roff.text([roman(help)]);
    }
}

/// The environment variables the command line itself reads (`env =` in clap), with their help.
fn collect_env(cmd: &clap::Command, out: &mut Vec<(String, String)>) {
    for arg in cmd.get_arguments() {
        if let Some(env) = arg.get_env() {
            let name = env.to_string_lossy().into_owned();
            if !out.iter().any(|(n, _)| *n == name) {
                let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
                out.push((
                    name,
                    format!("{help} (as --{}).", arg.get_long().unwrap_or_default()),
                ));
            }
        }
    }
    for sub in cmd.get_subcommands() {
        collect_env(sub, out);
    }
}

fn files(roff: &mut Roff, units: Vec<&Unit>) {
    roff.control("SH", ["FILES"]);
    for (path, what) in family::FILES {
        roff.control("TP", []);
        roff.text([italic(*path)]);
        roff.text([roman(*what)]);
    }
    for unit in units {
        roff.control("TP", []);
        roff.text([italic(format!("{UNIT_DIR}/{}", unit.name))]);
        roff.text([roman(format!("{}.", unit.description))]);
    }
}

fn see_also(roff: &mut Roff, this: Option<&str>) {
    roff.control("SH", ["SEE ALSO"]);
    let mut refs: Vec<String> = Vec::new();
    if this.is_some() {
        refs.push("magi(7)".into());
    }
    refs.extend(
        BINARIES
            .iter()
            .filter(|b| Some(b.name) != this)
            .map(|b| format!("{}(1)", b.name)),
    );
    refs.extend(family::SEE_ALSO.iter().map(|s| (*s).to_owned()));
    roff.text([roman(refs.join(", "))]);
}

/// `magi(7)`: the family, how the tools fit together, and the contracts they share.
pub fn overview(units: &[Unit], journald: &[String]) -> String {
    let mut roff = Roff::new();
    roff.control("TH", ["MAGI", "7", "", source().as_str(), MANUAL]);
    roff.control("SH", ["NAME"]);
    roff.text([roman(format!("magi - {}", family::SUMMARY))]);
    roff.control("SH", ["DESCRIPTION"]);
    paragraphs(&mut roff, family::DESCRIPTION);
    roff.control("SH", ["TOOLS"]);
    tools(&mut roff);
    for (title, body) in family::SECTIONS {
        roff.control("SH", [*title]);
        paragraphs(&mut roff, body);
    }
    roff.control("SH", ["UNITS"]);
    roff.text([roman(format!(
        "Installed in {UNIT_DIR}; enable them with systemctl enable --now UNIT."
    ))]);
    for unit in units {
        roff.control("TP", []);
        roff.text([bold(unit.name.clone())]);
        roff.text([roman(format!("{}.", unit.description))]);
    }
    roff.control("SH", ["FILES"]);
    for (path, what) in family::FILES {
        roff.control("TP", []);
        roff.text([italic(*path)]);
        roff.text([roman(*what)]);
    }
    roff.control("TP", []);
    roff.text([italic(family::JOURNALD_DROPIN)]);
    roff.text([roman(format!(
        "The journal's retention for the whole host: {}.",
        journald.join(", ")
    ))]);
    roff.control("SH", ["ENVIRONMENT"]);
    for (name, help) in family::ENVIRONMENT {
        roff.control("TP", []);
        roff.text([bold(*name)]);
        roff.text([roman(*help)]);
    }
    exit_status(&mut roff, Exit::Tool);
    roff.control("PP", []);
    roff.text([roman(
        "magi-health uses the monitoring-plugin codes instead: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
    )]);
    see_also(&mut roff, None);
    roff.render()
}

/// Each binary of the registry with its summary line.
fn tools(roff: &mut Roff) {
    for binary in BINARIES {
        let about = (binary.command)()
            .get_about()
            .map(|a| a.to_string())
            .unwrap_or_default();
        roff.control("TP", []);
        roff.text([bold(binary.name), roman("(1)")]);
        roff.text([roman(about)]);
    }
}

/// Paragraphs separated by blank lines; an indented line starts a preformatted block (examples).
fn paragraphs(roff: &mut Roff, text: &str) {
    for (i, block) in text.split("\n\n").enumerate() {
        if i > 0 {
            roff.control("PP", []);
        }
        if block.starts_with("  ") {
            preformatted(roff, block);
        } else {
            roff.text([roman(block.replace('\n', " "))]);
        }
    }
}
