//! The command line carried out: each subcommand opens the store, does one thing, records it in the audit
//! log as done by the Unix user at the terminal (`source` = `cli`), and prints a line or a listing.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::Context as _;
use jiff::Timestamp;
use magi_core::cli::Context;
use magi_core::exit::{self, UsageError};
use magi_core::printable::printable;
use magi_core::table::Table;

use crate::cli::{Command, KeysCommand, PasswordArgs, QuotaCommand, RolesCommand, TeamsCommand};
use crate::error::Error;
use crate::store::{AuditEntry, Changes, NewUser, Store};
use crate::{password, server};

/// Carries out `command` against the database at `db`.
pub fn run(context: &Context, db: &Path, command: Command) -> anyhow::Result<u8> {
    if let Command::Serve(args) = command {
        return server::run(context, db, &args);
    }
    let mut store = Store::open(db).map_err(usage)?;
    give_to_directory_owner(db)?;
    let now = Timestamp::now().as_second();
    let mut out = std::io::stdout().lock();
    let audit = |store: &Store, action: &str, subject: &str, detail: String| {
        store.audit(&AuditEntry {
            at: now,
            actor: operator(),
            action: action.into(),
            subject: subject.into(),
            source: "cli".into(),
            detail,
        })
    };
    match command {
        Command::Serve(_) => unreachable!("handled above"),
        Command::Add(args) => {
            let secret = read_password(&args.password, &args.name)?;
            let hash = password::hash(&secret)?;
            store
                .add_user(
                    &NewUser {
                        name: &args.name,
                        email: &args.email,
                        display_name: args.display_name.as_deref(),
                        role: &args.role,
                        teams: &args.teams,
                    },
                    &hash,
                    now,
                )
                .map_err(usage)?;
            audit(
                &store,
                "user.add",
                &args.name,
                format!("role {}", args.role),
            )?;
            writeln!(
                out,
                "added {} ({}, role {})",
                args.name, args.email, args.role
            )?;
        }
        Command::Remove { name } => {
            store.remove_user(&name).map_err(usage)?;
            audit(&store, "user.remove", &name, String::new())?;
            writeln!(out, "removed {name} with its sessions and keys")?;
        }
        Command::List { json } => {
            let users = store.users()?;
            if json {
                for u in &users {
                    writeln!(out, "{}", serde_json::to_string(u)?)?;
                }
            } else if users.is_empty() {
                writeln!(
                    out,
                    "no accounts yet: magi-users add NAME --email EMAIL --role admin"
                )?;
            } else {
                let mut table =
                    Table::new(["NAME", "EMAIL", "ROLE", "TEAMS", "STATE", "LAST LOGIN"]);
                for u in &users {
                    table.row([
                        u.name.clone(),
                        u.email.clone(),
                        u.role.clone(),
                        u.teams.join(","),
                        (if u.disabled { "disabled" } else { "active" }).to_owned(),
                        u.last_login.map_or("never".into(), when),
                    ]);
                }
                table.write(&mut out)?;
            }
        }
        Command::Set(args) => {
            let teams = args
                .teams
                .map(|t| t.into_iter().filter(|t| !t.is_empty()).collect::<Vec<_>>());
            let changes = Changes {
                email: args.email,
                display_name: args.display_name,
                role: args.role,
                teams,
            };
            store.set_user(&args.name, &changes).map_err(usage)?;
            let mut what = Vec::new();
            if let Some(e) = &changes.email {
                what.push(format!("email {e}"));
            }
            if let Some(n) = &changes.display_name {
                what.push(format!("name {n}"));
            }
            if let Some(r) = &changes.role {
                what.push(format!("role {r}"));
            }
            if let Some(t) = &changes.teams {
                what.push(format!("teams {}", t.join(",")));
            }
            audit(&store, "user.change", &args.name, what.join("; "))?;
            writeln!(out, "changed {}: {}", args.name, what.join("; "))?;
        }
        Command::Disable { name } => {
            let ended = store.set_disabled(&name, true).map_err(usage)?;
            audit(
                &store,
                "user.disable",
                &name,
                format!("{ended} sessions ended"),
            )?;
            writeln!(out, "disabled {name}; {ended} sessions ended")?;
        }
        Command::Quota(QuotaCommand::Set {
            name,
            tokens_per_day,
            limits_db,
        }) => {
            if store.credentials(&name)?.is_none() {
                return Err(usage(Error::NoUser(name)));
            }
            let limits_db =
                limits_db.unwrap_or_else(|| magi_usage::db::default_path(&context.paths));
            magi_usage::policy::Policy::open(&limits_db)?.set_quota(&name, tokens_per_day)?;
            let amount = magi_core::format::thousands(tokens_per_day);
            audit(
                &store,
                "quota.set",
                &name,
                format!("{amount} tokens per day"),
            )?;
            writeln!(out, "quota of {name}: {amount} tokens per day")?;
        }
        Command::Enable { name } => {
            store.set_disabled(&name, false).map_err(usage)?;
            audit(&store, "user.enable", &name, String::new())?;
            writeln!(out, "enabled {name}")?;
        }
        Command::ResetPassword {
            name,
            password: args,
        } => {
            store
                .credentials(&name)?
                .ok_or_else(|| usage(Error::NoUser(name.clone())))?;
            let secret = read_password(&args, &name)?;
            let hash = password::hash(&secret)?;
            let ended = store.set_password(&name, &hash).map_err(usage)?;
            audit(
                &store,
                "user.password",
                &name,
                format!("{ended} sessions ended"),
            )?;
            writeln!(out, "new password set for {name}; {ended} sessions ended")?;
        }
        Command::Roles(RolesCommand::Create { name, permissions }) => {
            store.create_role(&name, &permissions, now).map_err(usage)?;
            audit(&store, "role.create", &name, permissions.join(","))?;
            writeln!(out, "created role {name}: {}", permissions.join(", "))?;
        }
        Command::Roles(RolesCommand::List { json }) => {
            let roles = store.roles()?;
            if json {
                for r in &roles {
                    writeln!(out, "{}", serde_json::to_string(r)?)?;
                }
            } else {
                let mut table = Table::new(["ROLE", "KIND", "USERS", "PERMISSIONS"]).right([2]);
                for r in &roles {
                    table.row([
                        r.name.clone(),
                        (if r.builtin { "built-in" } else { "custom" }).to_owned(),
                        r.users.to_string(),
                        r.permissions.join(","),
                    ]);
                }
                table.write(&mut out)?;
            }
        }
        Command::Roles(RolesCommand::Remove { name }) => {
            store.remove_role(&name).map_err(usage)?;
            audit(&store, "role.remove", &name, String::new())?;
            writeln!(out, "removed role {name}")?;
        }
        Command::Teams(TeamsCommand::Add { name }) => {
            store.add_team(&name, now).map_err(usage)?;
            audit(&store, "team.add", &name, String::new())?;
            writeln!(out, "created team {name}")?;
        }
        Command::Teams(TeamsCommand::List { json }) => {
            let teams = store.teams()?;
            if json {
                for t in &teams {
                    writeln!(out, "{}", serde_json::to_string(t)?)?;
                }
            } else if teams.is_empty() {
                writeln!(out, "no teams yet: magi-users teams add NAME")?;
            } else {
                let mut table = Table::new(["TEAM", "MEMBERS"]);
                for t in &teams {
                    table.row([t.name.clone(), t.members.join(", ")]);
                }
                table.write(&mut out)?;
            }
        }
        Command::Teams(TeamsCommand::Remove { name }) => {
            store.remove_team(&name).map_err(usage)?;
            audit(&store, "team.remove", &name, String::new())?;
            writeln!(out, "removed team {name}")?;
        }
        Command::Keys(KeysCommand::Create {
            user,
            label,
            scopes,
            expires,
        }) => {
            let scopes = if scopes.is_empty() {
                vec!["*".to_string()]
            } else {
                scopes
            };
            let expires = expires.map(|d| now.saturating_add(d.as_secs() as i64));
            let (key, prefix) = store
                .create_key(&user, label.as_deref().unwrap_or(""), &scopes, expires, now)
                .map_err(usage)?;
            audit(
                &store,
                "key.create",
                &user,
                format!("{prefix} scopes {}", scopes.join(",")),
            )?;
            writeln!(out, "{key}")?;
            eprintln!(
                "magi-users: API key {prefix} for {user}{}: shown this once, keep it now (only its hash is stored)",
                expires.map_or(String::new(), |e| format!(", valid until {}", when(e)))
            );
        }
        Command::Keys(KeysCommand::List { user, json }) => {
            let keys = store.keys(user.as_deref()).map_err(usage)?;
            if json {
                for k in &keys {
                    writeln!(out, "{}", serde_json::to_string(k)?)?;
                }
            } else if keys.is_empty() {
                writeln!(out, "no API keys: magi-users keys create USER")?;
            } else {
                let mut table = Table::new([
                    "PREFIX",
                    "USER",
                    "SCOPES",
                    "STATE",
                    "EXPIRES",
                    "LAST USED",
                    "LABEL",
                ]);
                for k in &keys {
                    let state = match (k.revoked, k.expires) {
                        (Some(_), _) => "revoked",
                        (None, Some(e)) if e <= now => "expired",
                        _ => "active",
                    };
                    table.row([
                        k.prefix.clone(),
                        k.user.clone(),
                        k.scopes.join(","),
                        state.to_owned(),
                        k.expires.map_or("never".into(), when),
                        k.last_used.map_or("never".into(), when),
                        printable(&k.label).into_owned(),
                    ]);
                }
                table.write(&mut out)?;
            }
        }
        Command::Keys(KeysCommand::Revoke { prefix }) => {
            let owner = store.revoke_key(&prefix, now).map_err(usage)?;
            let shown = crate::token::key_prefix(&prefix)
                .unwrap_or(&prefix)
                .to_owned();
            audit(&store, "key.revoke", &owner, shown.clone())?;
            writeln!(out, "revoked {shown} of {owner}")?;
        }
        Command::Activity { user, since, json } => {
            let from = now.saturating_sub(since.as_secs() as i64);
            let entries = store.activity(from, user.as_deref())?;
            if json {
                for e in &entries {
                    writeln!(out, "{}", serde_json::to_string(e)?)?;
                }
            } else if !entries.is_empty() {
                // A failed login's user name is whatever the client sent: shown escaped, never run by the
                // terminal.
                let mut table =
                    Table::new(["AT", "ACTOR", "ACTION", "SUBJECT", "SOURCE", "DETAIL"]);
                for e in &entries {
                    table.row([
                        when(e.at),
                        printable(&e.actor).into_owned(),
                        e.action.clone(),
                        printable(&e.subject).into_owned(),
                        e.source.clone(),
                        printable(&e.detail).into_owned(),
                    ]);
                }
                table.write(&mut out)?;
            }
            if entries.is_empty() && !json {
                writeln!(
                    out,
                    "no activity in the last {}",
                    magi_core::config::format_duration(since)
                )?;
            }
        }
    }
    Ok(exit::SUCCESS)
}

/// A store error the caller can fix (an unknown user, a bad name) becomes a usage error (exit 2).
fn usage(e: Error) -> anyhow::Error {
    if e.is_usage() {
        UsageError(e.to_string()).into()
    } else {
        e.into()
    }
}

/// When root runs the command line, a database it has just created belongs to root, and `serve` (running as
/// the owner of the state directory, `magi` under the shipped unit) could not open it: hand it over.
fn give_to_directory_owner(db: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;
    if !nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    let (file, owner) = (std::fs::metadata(db)?, std::fs::metadata(dir)?);
    if (file.uid(), file.gid()) != (owner.uid(), owner.gid()) {
        nix::unistd::chown(
            db,
            Some(nix::unistd::Uid::from_raw(owner.uid())),
            Some(nix::unistd::Gid::from_raw(owner.gid())),
        )
        .with_context(|| {
            format!(
                "{}: cannot give it to the owner of {}",
                db.display(),
                dir.display()
            )
        })?;
    }
    Ok(())
}

/// A Unix time as `2026-11-24 05:30:00 UTC`.
pub fn when(at: i64) -> String {
    Timestamp::from_second(at).map_or_else(|_| at.to_string(), magi_core::format::time)
}

/// Who is at the terminal, for the audit log: the user behind sudo if there is one.
fn operator() -> String {
    if let Ok(sudo) = std::env::var("SUDO_USER")
        && !sudo.is_empty()
    {
        return sudo;
    }
    let uid = nix::unistd::getuid();
    nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map_or_else(|| format!("uid {uid}"), |u| u.name)
}

/// The new password: from `--password-file` (`-` for stdin), asked twice on a terminal, or the first line
/// of stdin when it is not one. Never from the command line.
fn read_password(args: &PasswordArgs, name: &str) -> anyhow::Result<String> {
    let secret = match &args.password_file {
        Some(path) if path.as_os_str() == "-" => first_line(&mut std::io::stdin().lock())?,
        Some(path) => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("{}: cannot read the password file", path.display()))?;
            first_line(&mut std::io::BufReader::new(file))?
        }
        None if std::io::stdin().is_terminal() => {
            let first = prompt(&format!("New password for {name}: "))?;
            if prompt("Again: ")? != first {
                return Err(UsageError("the two passwords differ; nothing changed".into()).into());
            }
            first
        }
        None => first_line(&mut std::io::stdin().lock())?,
    };
    password::check_new(&secret).map_err(usage)?;
    Ok(secret)
}

fn first_line(input: &mut dyn BufRead) -> anyhow::Result<String> {
    let mut line = String::new();
    input.read_line(&mut line).context("reading the password")?;
    let line = line.trim_end_matches(['\n', '\r']).to_owned();
    if line.is_empty() {
        return Err(UsageError(
            "no password given: type it at the prompt, or give --password-file FILE (- for stdin)"
                .into(),
        )
        .into());
    }
    Ok(line)
}

/// Asks on the terminal with echo off.
fn prompt(text: &str) -> anyhow::Result<String> {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    let saved = tcgetattr(&stdin).context("reading the terminal settings")?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    tcsetattr(&stdin, SetArg::TCSANOW, &quiet).context("turning off echo")?;
    eprint!("{text}");
    let line = first_line(&mut stdin.lock());
    let restored = tcsetattr(&stdin, SetArg::TCSANOW, &saved);
    eprintln!();
    restored.context("restoring the terminal")?;
    line
}
