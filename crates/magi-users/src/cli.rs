//! The command line of magi-users: accounts (`add`, `remove`, `list`, `set`, `disable`, `enable`,
//! `reset-password`), `roles`, `teams`, `keys`, `activity`, and `serve`, the forward-auth server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use magi_core::cli::CommonArgs;
use magi_core::config::parse_duration;

const EXAMPLES: &str = "\
Examples:
  magi-users add ada --email ada@example.org --role admin     the password is asked for on the terminal
  magi-users add bob --email bob@example.org --team research --password-file bob.pw
  printf '%s\\n' \"$PW\" | magi-users reset-password bob        from stdin when it is not a terminal
  magi-users list --json
  magi-users roles create auditor --permissions audit.read,chat
  magi-users keys create bob --label laptop --scope chat --expires 90d   prints the key once
  magi-users activity --user bob --since 7d
  magi-users serve                                            forward-auth on 127.0.0.1:9091

The reverse proxy asks `serve` about every request: Caddy with `forward_auth 127.0.0.1:9091 { uri /auth \
copy_headers Remote-User Remote-Email Remote-Name Remote-Groups }`, nginx with `auth_request` to \
/auth-request. Passwords are never taken from the command line. The database is users.db in the state \
directory (/var/lib/magi as root), or --db.";

#[derive(Debug, Parser)]
#[command(
    name = "magi-users",
    version,
    about = magi_core::tools::about("users"),
    long_about = "Share MAGI safely: accounts with argon2id passwords, roles with permissions, teams, \
sessions, API keys and an audit log, in one SQLite file; and `serve`, the forward-auth server that tells \
Caddy or nginx who each request is from (Remote-User, Remote-Email, Remote-Name, Remote-Groups) so that Open \
WebUI's trusted-header login and the magi-limits gateway see the same person.",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,

    /// The user database (default: users.db in the state directory)
    #[arg(long, global = true, value_name = "FILE", env = "MAGI_USERS_DB")]
    pub db: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an account; the password is asked for, or read from --password-file or stdin
    Add(AddArgs),
    /// Delete an account with its sessions and API keys
    Remove {
        /// The account's login name
        name: String,
    },
    /// List accounts
    List {
        /// One JSON object a line
        #[arg(long)]
        json: bool,
    },
    /// Change an account's email, display name, role or teams
    Set(SetArgs),
    /// Stop an account from logging in and end its sessions; its keys stop working too
    Disable {
        /// The account's login name
        name: String,
    },
    /// Let a disabled account log in again
    Enable {
        /// The account's login name
        name: String,
    },
    /// Set a new password and end every session of the account
    ResetPassword {
        /// The account's login name
        name: String,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Roles and their permissions (built in: admin has every permission, user has `chat`)
    #[command(subcommand)]
    Roles(RolesCommand),
    /// Teams, which become groups in Remote-Groups
    #[command(subcommand)]
    Teams(TeamsCommand),
    /// API keys: `Authorization: Bearer magi_...` instead of a login
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The daily token quota the magi-limits gateway enforces for an account
    #[command(subcommand)]
    Quota(QuotaCommand),
    /// The audit log: logins, failures, lockouts, account, role, team and key changes
    Activity {
        /// Only entries where NAME acted or was acted on
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// How far back
        #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = parse_duration)]
        since: Duration,
        /// One JSON object a line
        #[arg(long)]
        json: bool,
    },
    /// Serve forward-auth (/auth, /auth-request), /login and /logout for the reverse proxy
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct PasswordArgs {
    /// Read the password from the first line of FILE (- for stdin) instead of asking
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The login name: letters, digits, '.', '_', '-', '@'
    pub name: String,
    /// The email address (Remote-Email, which Open WebUI's trusted-header login reads)
    #[arg(long)]
    pub email: String,
    /// The display name (Remote-Name); the login name if not given
    #[arg(long = "name", value_name = "DISPLAY_NAME")]
    pub display_name: Option<String>,
    /// admin, user, or a role made with `roles create`
    #[arg(long, default_value = "user")]
    pub role: String,
    /// A team the account belongs to (repeatable; create it first with `teams add`)
    #[arg(long = "team", value_name = "TEAM")]
    pub teams: Vec<String>,
    #[command(flatten)]
    pub password: PasswordArgs,
}

#[derive(Debug, Args)]
pub struct SetArgs {
    /// The account's login name
    pub name: String,
    /// A new email address
    #[arg(long)]
    pub email: Option<String>,
    /// A new display name (Remote-Name)
    #[arg(long = "name", value_name = "DISPLAY_NAME")]
    pub display_name: Option<String>,
    /// A new role: admin, user, or a role made with `roles create`
    #[arg(long)]
    pub role: Option<String>,
    /// The account's teams, replacing the ones it has (repeatable; --team '' for none)
    #[arg(long = "team", value_name = "TEAM")]
    pub teams: Option<Vec<String>>,
}

#[derive(Debug, Subcommand)]
pub enum QuotaCommand {
    /// Set how many tokens (prompt and completion) the account may use per UTC day; kept in magi-limits'
    /// policy, where `magi-limits quota set` writes too, and a running gateway applies it within a second
    Set {
        /// The account's login name
        name: String,
        /// Tokens per day, e.g. 100000
        tokens_per_day: u64,
        /// magi-limits' database [default: usage.db in the state directory]
        #[arg(long, value_name = "FILE", env = "MAGI_LIMITS_DB")]
        limits_db: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RolesCommand {
    /// Create a custom role
    #[command(
        after_help = "Permissions are words of your choosing. magi-users itself checks users.read \
(GET /admin/users) and audit.read (GET /admin/activity); the proxy can require any permission for a path with \
/auth?permission=NAME; admin holds `*`, every permission."
    )]
    Create {
        /// The role's name
        name: String,
        /// Comma-separated permissions, e.g. chat,audit.read (`*` for all)
        #[arg(long, value_delimiter = ',', required = true)]
        permissions: Vec<String>,
    },
    /// List roles with their permissions
    List {
        /// One JSON object a line
        #[arg(long)]
        json: bool,
    },
    /// Remove a custom role that no account holds
    Remove {
        /// The role's name
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TeamsCommand {
    /// Create a team
    Add {
        /// The team's name
        name: String,
    },
    /// List teams with their members
    List {
        /// One JSON object a line
        #[arg(long)]
        json: bool,
    },
    /// Remove a team (its members stay, without it)
    Remove {
        /// The team's name
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an API key for USER and print it once; only its hash is kept
    Create {
        /// The account the key acts as
        user: String,
        /// What the key is for, shown in listings
        #[arg(long)]
        label: Option<String>,
        /// A permission the key may use (repeatable; default `*`, everything the user's role allows)
        #[arg(long = "scope", value_name = "PERMISSION")]
        scopes: Vec<String>,
        /// The key stops working after this long (e.g. 90d); default never
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        expires: Option<Duration>,
    },
    /// List keys by their visible prefix (the keys themselves are not kept)
    List {
        /// Only USER's keys
        #[arg(long, value_name = "USER")]
        user: Option<String>,
        /// One JSON object a line
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by its prefix (magi_ab12cd34) or the whole key
    Revoke {
        /// The key's visible prefix, or the whole key
        prefix: String,
    },
}

#[derive(Debug, Args)]
#[command(after_help = "Endpoints:
  /auth           forward-auth for Caddy (forward_auth) and Traefik (ForwardAuth): 200 with Remote-User,
                  Remote-Email, Remote-Name and Remote-Groups; a browser without a session is sent to the
                  login page (302), an API client gets 401 with a JSON error. ?permission=P also requires P.
  /auth-request   the same for nginx auth_request, which passes only 2xx, 401 and 403: a browser gets 401
                  with Location set to the login page (map it with auth_request_set and error_page 401).
  /login /logout  the login form (CSRF-protected) and logout; the proxy serves them under [users] login_url.
  /admin/users /admin/activity   JSON for holders of users.read and audit.read.
  /healthz        200 when the database answers.

Caddy (the login page under /magi-users/, everything else behind forward-auth):
  handle_path /magi-users/* {
      reverse_proxy 127.0.0.1:9091
  }
  handle {
      forward_auth 127.0.0.1:9091 {
          uri /auth
          copy_headers Remote-User Remote-Email Remote-Name Remote-Groups
      }
      reverse_proxy 127.0.0.1:3000
  }

nginx:
  location /magi-users/ { proxy_pass http://127.0.0.1:9091/; proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; }
  location = /magi-auth { internal; proxy_pass http://127.0.0.1:9091/auth-request;
      proxy_pass_request_body off; proxy_set_header Content-Length \"\";
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; }
  location / { auth_request /magi-auth;
      auth_request_set $magi_user $upstream_http_remote_user;   (and remote_email, _name, _groups)
      auth_request_set $magi_login $upstream_http_location; error_page 401 = @magi_login;
      proxy_set_header Remote-User $magi_user;                  (and Remote-Email, -Name, -Groups)
      proxy_pass http://127.0.0.1:3000; }
  location @magi_login { if ($magi_login) { return 302 $magi_login; } return 401; }

Under systemd (Type=notify) it sends READY=1 once listening, and WATCHDOG=1 while the database answers.")]
pub struct ServeArgs {
    /// Listen here instead of [users] listen (default 127.0.0.1:9091)
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<SocketAddr>,
}
