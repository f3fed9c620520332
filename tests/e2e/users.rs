//! magi-users end to end: the built binary's command line against its database, and `magi-users serve`
//! behind the real proxies it is made for — Caddy (`forward_auth`) and nginx (`auth_request`) from Debian —
//! in front of a loopback upstream that records the headers it gets: redirects to the login page, the login
//! with its CSRF token, identity headers that replace forged ones, API keys, logout, disabled accounts,
//! sessions that survive a restart and expire when idle, lockouts and their end, admin permissions, and
//! systemd's READY=1.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use magi_testkit::{Caddy, Component, Nginx, WebhookReceiver, bin, flood, free_port, require};
use serde_json::Value;

/// A users.db, a config and, once started, `magi-users serve` on a fixed loopback port.
pub(crate) struct Users {
    dir: tempfile::TempDir,
    pub(crate) port: u16,
    server: Option<Child>,
}

impl Users {
    /// Plain-HTTP cookies (the proxies here speak HTTP) and whatever `[users]` settings `extra` adds.
    pub(crate) fn new(extra: &str) -> Users {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("magi.toml"),
            format!("[users]\nsecure_cookies = false\n{extra}"),
        )
        .unwrap();
        Users {
            dir,
            port: free_port(),
            server: None,
        }
    }

    pub(crate) fn db(&self) -> PathBuf {
        self.dir.path().join("state/users.db")
    }

    fn command(&self) -> Command {
        let mut c = bin("magi-users");
        c.env("MAGI_CONFIG", self.dir.path().join("magi.toml"))
            .env("MAGI_USERS_DB", self.db())
            .env_remove("JOURNAL_STREAM")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("MAGI_LOG");
        c
    }

    /// Runs the command line with `stdin` piped in.
    pub(crate) fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs the command line and returns its stdout, failing the test on a non-zero exit.
    pub(crate) fn ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "magi-users {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json_lines(&self, args: &[&str]) -> Vec<Value> {
        self.ok(args, "")
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Starts the server (with `notify` as its NOTIFY_SOCKET, if given) and waits for /healthz.
    pub(crate) fn start(&mut self, notify: Option<&std::path::Path>) {
        let mut c = self.command();
        c.args(["serve", "--listen", &format!("127.0.0.1:{}", self.port)])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.path().join("serve.log")).unwrap());
        if let Some(socket) = notify {
            c.env("NOTIFY_SOCKET", socket)
                .env("WATCHDOG_USEC", "400000");
        }
        self.server = Some(c.spawn().unwrap());
        let deadline = Instant::now() + Duration::from_secs(20);
        let port = self.port;
        let up = || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && http(
                    "GET",
                    &format!("http://127.0.0.1:{port}/healthz"),
                    &[],
                    None,
                )
                .status
                    == 200
        };
        while !up() {
            assert!(
                Instant::now() < deadline,
                "magi-users serve did not come up: {}",
                std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, and the exit status.
    fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.server.take().expect("the server is running");
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        child.wait().unwrap()
    }
}

impl Drop for Users {
    fn drop(&mut self) {
        if let Some(mut child) = self.server.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request, redirects not followed, any status returned.
fn http(method: &str, url: &str, headers: &[(&str, &str)], form: Option<&str>) -> Reply {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut request = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let result = match form {
        Some(body) => agent.run(
            request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.to_owned())
                .unwrap(),
        ),
        None => agent.run(request.body(()).unwrap()),
    };
    let mut response = result.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    Reply {
        status: response.status().as_u16(),
        headers,
        body: response.body_mut().read_to_string().unwrap_or_default(),
    }
}

/// A browser: keeps cookies, accepts HTML.
#[derive(Default)]
pub(crate) struct Browser {
    cookies: BTreeMap<String, String>,
}

impl Browser {
    pub(crate) fn send(
        &mut self,
        method: &str,
        url: &str,
        extra: &[(&str, &str)],
        form: Option<&str>,
    ) -> Reply {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut headers = vec![("accept", "text/html,application/xhtml+xml")];
        if !cookie.is_empty() {
            headers.push(("cookie", cookie.as_str()));
        }
        headers.extend_from_slice(extra);
        let reply = http(method, url, &headers, form);
        for (k, v) in &reply.headers {
            if k.eq_ignore_ascii_case("set-cookie") {
                let (pair, attributes) = v.split_once(';').unwrap_or((v, ""));
                let (name, value) = pair.split_once('=').unwrap();
                if attributes.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.into(), value.into());
                }
            }
        }
        reply
    }

    pub(crate) fn get(&mut self, url: &str) -> Reply {
        self.send("GET", url, &[], None)
    }

    /// Opens the form at `page` and posts it with `fields` and its CSRF token.
    fn submit(&mut self, page: &str, fields: &[(&str, &str)]) -> Reply {
        let form = self.get(page);
        assert_eq!(form.status, 200, "{page}: {}", form.body);
        let csrf = hidden(&form.body, "csrf");
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        body.append_pair("csrf", &csrf);
        for (k, v) in fields {
            body.append_pair(k, v);
        }
        let action = page.split('?').next().unwrap();
        self.send("POST", action, &[], Some(&body.finish()))
    }

    pub(crate) fn login(&mut self, base: &str, user: &str, password: &str, rd: &str) -> Reply {
        let page = format!("{base}/magi-users/login?rd={}", encode(rd));
        self.submit(
            &page,
            &[("username", user), ("password", password), ("rd", rd)],
        )
    }
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The value of the hidden input `name` in an HTML form.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {html}"))
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// The users the proxy tests share: ada (user, team research), root (admin), and an API key of ada's.
pub(crate) fn seed(users: &Users) -> String {
    users.ok(&["teams", "add", "research"], "");
    users.ok(
        &[
            "add",
            "ada",
            "--email",
            "ada@example.org",
            "--name",
            "Ada Lovelace",
            "--team",
            "research",
            "--password-file",
            "-",
        ],
        "ada-password\n",
    );
    users.ok(
        &[
            "add",
            "root",
            "--email",
            "root@example.org",
            "--role",
            "admin",
        ],
        "root-password\n",
    );
    users
        .ok(&["keys", "create", "ada", "--label", "laptop"], "")
        .trim()
        .to_owned()
}

fn caddy(users: &Users, upstream: &WebhookReceiver) -> Caddy {
    let upstream = upstream.url("").trim_start_matches("http://").to_owned();
    Caddy::start(&format!(
        "\thandle_path /magi-users/* {{\n\t\treverse_proxy 127.0.0.1:{users}\n\t}}\n\
         \thandle {{\n\
         \t\tforward_auth 127.0.0.1:{users} {{\n\
         \t\t\turi /auth\n\
         \t\t\tcopy_headers Remote-User Remote-Email Remote-Name Remote-Groups\n\
         \t\t}}\n\
         \t\treverse_proxy {upstream}\n\
         \t}}",
        users = users.port
    ))
}

fn nginx(users: &Users, upstream: &WebhookReceiver) -> Nginx {
    Nginx::start(&format!(
        r#"
        location /magi-users/ {{
            proxy_pass http://127.0.0.1:{users}/;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
        location = /magi-auth {{
            internal;
            proxy_pass http://127.0.0.1:{users}/auth-request;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
        location / {{
            auth_request /magi-auth;
            auth_request_set $magi_user $upstream_http_remote_user;
            auth_request_set $magi_email $upstream_http_remote_email;
            auth_request_set $magi_name $upstream_http_remote_name;
            auth_request_set $magi_groups $upstream_http_remote_groups;
            auth_request_set $magi_login $upstream_http_location;
            error_page 401 = @magi_login;
            proxy_set_header Remote-User $magi_user;
            proxy_set_header Remote-Email $magi_email;
            proxy_set_header Remote-Name $magi_name;
            proxy_set_header Remote-Groups $magi_groups;
            proxy_pass {upstream};
        }}
        location @magi_login {{
            if ($magi_login) {{
                return 302 $magi_login;
            }}
            return 401;
        }}"#,
        users = users.port,
        upstream = upstream.url("")
    ))
}

/// The whole browser and API-client story through one proxy at `base`.
fn forward_auth_story(users: &Users, upstream: &WebhookReceiver, base: &str, key: &str) {
    let original = format!("{base}/c/42?x=1");
    let mut browser = Browser::default();
    let anonymous = browser.get(&original);
    assert_eq!(anonymous.status, 302, "{anonymous:?}");
    let location = anonymous.header("location").unwrap();
    assert_eq!(
        location.strip_prefix(base).unwrap_or(location),
        format!("/magi-users/login?rd={}", encode(&original)),
        "nginx makes the location absolute, Caddy passes it on"
    );
    let api = http(
        "GET",
        &format!("{base}/v1/models"),
        &[("accept", "application/json")],
        None,
    );
    assert_eq!(api.status, 401, "an API client is not redirected");
    assert!(
        upstream.requests().is_empty(),
        "nothing reached the upstream"
    );

    let wrong = browser.login(base, "ada", "not-her-password", &original);
    let unknown = browser.login(base, "nobody", "not-her-password", &original);
    assert_eq!((wrong.status, unknown.status), (401, 401));
    assert!(wrong.body.contains("Wrong user name or password."));
    assert_eq!(
        wrong.body.replace("value=\"ada\"", "value=\"nobody\""),
        unknown.body,
        "an unknown user and a wrong password get the same page"
    );
    assert!(!browser.cookies.contains_key("magi_session"));

    let login = browser.login(base, "ada", "ada-password", &original);
    assert_eq!(login.status, 303, "{login:?}");
    assert_eq!(login.header("location"), Some(original.as_str()));
    let set_cookie = login.header("set-cookie").unwrap();
    assert!(
        set_cookie.starts_with("magi_session=")
            && set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );

    let forged = [
        ("remote-user", "root"),
        ("remote-groups", "admin"),
        ("remote-email", "root@example.org"),
    ];
    let through = browser.send("GET", &original, &forged, None);
    assert_eq!(through.status, 200, "{through:?}");
    let seen = upstream.requests().pop().expect("the upstream was reached");
    assert_eq!(seen.path, "/c/42?x=1");
    assert_eq!(seen.header("remote-user"), Some("ada"));
    assert_eq!(seen.header("remote-email"), Some("ada@example.org"));
    assert_eq!(seen.header("remote-name"), Some("Ada Lovelace"));
    assert_eq!(seen.header("remote-groups"), Some("user,research"));
    let copies = seen
        .headers
        .iter()
        .filter(|(k, _)| k == "remote-user")
        .count();
    assert_eq!(copies, 1, "the forged copy is gone: {:?}", seen.headers);

    let bearer = format!("Bearer {key}");
    let with_key = http(
        "GET",
        &format!("{base}/v1/models"),
        &[("authorization", &bearer), ("remote-user", "root")],
        None,
    );
    assert_eq!(with_key.status, 200);
    assert_eq!(
        upstream.requests().pop().unwrap().header("remote-user"),
        Some("ada")
    );
    let last = if key.ends_with('0') { '1' } else { '0' };
    let bad_key = format!("Bearer {}{last}", &key[..key.len() - 1]);
    let rejected = http(
        "GET",
        &format!("{base}/v1/models"),
        &[("authorization", &bad_key)],
        None,
    );
    assert_eq!(rejected.status, 401);

    let logout = browser.submit(&format!("{base}/magi-users/logout"), &[]);
    assert_eq!(logout.status, 303, "{logout:?}");
    let session = browser.cookies.get("magi_session").cloned();
    assert!(session.is_none(), "the cookie is cleared");
    let mut replay = Browser::default();
    replay.cookies.insert(
        "magi_session".into(),
        set_cookie["magi_session=".len()..set_cookie.find(';').unwrap()].into(),
    );
    assert_eq!(
        replay.get(&original).status,
        302,
        "a logged-out session is dead"
    );

    assert_eq!(browser.login(base, "ada", "ada-password", "/").status, 303);
    assert_eq!(browser.get(&original).status, 200);
    users.ok(&["disable", "ada"], "");
    assert_eq!(
        browser.get(&original).status,
        302,
        "a disabled account's session ends"
    );
    assert_eq!(
        http(
            "GET",
            &format!("{base}/v1/models"),
            &[("authorization", &bearer)],
            None
        )
        .status,
        401,
        "and its keys stop working"
    );
    assert_eq!(
        browser.login(base, "ada", "ada-password", "/").status,
        401,
        "a disabled account cannot log in"
    );
    users.ok(&["enable", "ada"], "");
}

#[test]
fn users_forward_auth_behind_caddy() {
    if !require(Component::Caddy) {
        return;
    }
    let mut users = Users::new("");
    let key = seed(&users);
    users.start(None);
    let upstream = WebhookReceiver::start();
    let proxy = caddy(&users, &upstream);
    forward_auth_story(&users, &upstream, &proxy.url(""), &key);
}

#[test]
fn users_forward_auth_behind_nginx() {
    if !require(Component::Nginx) {
        return;
    }
    let mut users = Users::new("");
    let key = seed(&users);
    users.start(None);
    let upstream = WebhookReceiver::start();
    let proxy = nginx(&users, &upstream);
    forward_auth_story(&users, &upstream, &proxy.url(""), &key);
}

#[test]
fn users_sessions_survive_restarts_expire_and_lockouts_end() {
    if !require(Component::Caddy) {
        return;
    }
    let mut users = Users::new(
        "session_idle = \"3s\"\nbackoff_after = 2\nlockout_after = 3\nlockout = \"3s\"\n",
    );
    seed(&users);
    let socket_path = users.dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&socket_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    users.start(Some(&socket_path));
    let mut buf = [0u8; 256];
    let n = notify.recv(&mut buf).unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).contains("READY=1"),
        "systemd is told it is ready"
    );
    let n = notify.recv(&mut buf).unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).contains("WATCHDOG=1"),
        "and the watchdog is fed"
    );
    let log = std::fs::read_to_string(users.dir.path().join("serve.log")).unwrap();
    assert!(
        log.contains("secure_cookies = false"),
        "plain-HTTP cookies are warned about: {log}"
    );
    let upstream = WebhookReceiver::start();
    let proxy = caddy(&users, &upstream);
    let base = proxy.url("");

    let mut ada = Browser::default();
    assert_eq!(ada.login(&base, "ada", "ada-password", "/").status, 303);
    let mut root = Browser::default();
    assert_eq!(root.login(&base, "root", "root-password", "/").status, 303);
    let admin_users = format!("{base}/magi-users/admin/users");
    assert_eq!(
        ada.get(&admin_users).status,
        403,
        "a user may not list users"
    );
    let listed = root.get(&admin_users);
    assert_eq!(listed.status, 200);
    let listed: Value = serde_json::from_str(&listed.body).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let permission = format!("{base}/magi-users/auth?permission=users.manage");
    assert_eq!(ada.get(&permission).status, 403);
    assert_eq!(root.get(&permission).status, 200);

    assert!(users.stop().success(), "SIGTERM ends the server cleanly");
    users.start(None);
    assert_eq!(
        ada.get(&format!("{base}/x")).status,
        200,
        "sessions survive a restart"
    );

    for _ in 0..3 {
        let failed = ada.login(&base, "bob", "guess", "/");
        assert_eq!(failed.status, 401);
    }
    let locked = root.login(&base, "root", "root-password", "/");
    assert_eq!(
        locked.status, 429,
        "the address is locked out: {}",
        locked.body
    );
    assert!(locked.body.contains("Too many failed sign-ins"));
    assert_eq!(root.login(&base, "root", "root-password", "/").status, 429);
    std::thread::sleep(Duration::from_millis(3500));
    assert_eq!(
        ada.get(&format!("{base}/x")).status,
        302,
        "an idle session expires"
    );
    assert_eq!(
        root.login(&base, "root", "root-password", "/").status,
        303,
        "the lockout has expired"
    );

    let actions: Vec<String> = users
        .json_lines(&["activity", "--json"])
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    for expected in [
        "user.add",
        "key.create",
        "login",
        "login.failed",
        "login.lockout",
        "login.locked",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
    let failed: Vec<Value> = users
        .json_lines(&["activity", "--json", "--user", "bob"])
        .into_iter()
        .filter(|e| e["action"] == "login.failed")
        .collect();
    assert_eq!(failed.len(), 3);
    assert_eq!(failed[0]["source"], "127.0.0.1");
    let refused = actions.iter().filter(|a| *a == "login.locked").count();
    assert_eq!(refused, 1, "refused attempts are audited once per lockout");
}

#[test]
fn users_cli_manages_accounts_roles_teams_and_keys() {
    let users = Users::new("");
    seed(&users);
    let mode = std::fs::metadata(users.db()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let listed = users.json_lines(&["list", "--json"]);
    let names: Vec<&str> = listed.iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ada", "root"]);
    assert_eq!(listed[0]["teams"][0], "research");
    assert!(!users.ok(&["list"], "").contains("ada-password"));
    let dump = std::fs::read(users.db()).unwrap();
    assert!(
        !String::from_utf8_lossy(&dump).contains("ada-password"),
        "only hashes are stored"
    );

    let again = users.run(
        &[
            "add",
            "ada",
            "--email",
            "a@example.org",
            "--password-file",
            "-",
        ],
        "another-password\n",
    );
    assert_eq!(again.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(
        stderr.trim(),
        "magi-users: error: a user named 'ada' already exists"
    );
    let short = users.run(
        &[
            "add",
            "bob",
            "--email",
            "b@example.org",
            "--password-file",
            "-",
        ],
        "short\n",
    );
    assert_eq!(short.status.code(), Some(2));
    let nobody = users.run(&["disable", "nobody"], "");
    assert_eq!(nobody.status.code(), Some(2));

    users.ok(
        &[
            "roles",
            "create",
            "auditor",
            "--permissions",
            "audit.read,chat",
        ],
        "",
    );
    users.ok(&["set", "ada", "--role", "auditor"], "");
    let roles = users.json_lines(&["roles", "list", "--json"]);
    let auditor = roles.iter().find(|r| r["name"] == "auditor").unwrap();
    assert_eq!(
        auditor["permissions"],
        serde_json::json!(["audit.read", "chat"])
    );
    assert_eq!(auditor["users"], 1);
    let in_use = users.run(&["roles", "remove", "auditor"], "");
    assert_eq!(in_use.status.code(), Some(2));

    let key = users.ok(
        &[
            "keys",
            "create",
            "ada",
            "--scope",
            "chat",
            "--expires",
            "30d",
        ],
        "",
    );
    let prefix = &key.trim()[..13];
    let keys = users.json_lines(&["keys", "list", "--user", "ada", "--json"]);
    assert_eq!(keys.len(), 2);
    assert!(
        keys.iter()
            .any(|k| k["prefix"] == prefix && k["scopes"] == serde_json::json!(["chat"]))
    );
    assert!(
        !users.ok(&["keys", "list"], "").contains(key.trim()),
        "keys are shown once"
    );
    users.ok(&["keys", "revoke", prefix], "");
    let revoked = users.json_lines(&["keys", "list", "--json"]);
    assert!(
        revoked
            .iter()
            .any(|k| k["prefix"] == prefix && k["revoked"].is_i64())
    );

    users.ok(
        &["reset-password", "ada", "--password-file", "-"],
        "a-new-password\n",
    );
    users.ok(&["teams", "remove", "research"], "");
    assert!(users.json_lines(&["teams", "list", "--json"]).is_empty());
    users.ok(&["remove", "ada"], "");
    assert_eq!(users.json_lines(&["list", "--json"]).len(), 1);

    let activity = users.json_lines(&["activity", "--json", "--user", "ada"]);
    let actions: Vec<&str> = activity
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "user.add",
            "key.create",
            "user.change",
            "key.create",
            "key.revoke",
            "user.password",
            "user.remove"
        ]
    );
    assert!(activity.iter().all(|e| e["source"] == "cli"));
}

/// Runs `magi-users ARGS` on a terminal (util-linux `script` gives it a pty), typing each of `typed` after
/// the prompt that asks for it; returns what the terminal showed and the exit code.
fn on_terminal(users: &Users, args: &str, typed: &[&str]) -> (String, Option<i32>) {
    let command = format!("{} {args}", magi_testkit::bin_path("magi-users").display());
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("MAGI_CONFIG", users.dir.path().join("magi.toml"))
        .env("MAGI_USERS_DB", users.db())
        .env_remove("JOURNAL_STREAM")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut shown = String::new();
    for (i, text) in typed.iter().enumerate() {
        let prompt = if i == 0 {
            "New password for"
        } else {
            "Again: "
        };
        let mut buf = [0u8; 256];
        while !shown.contains(prompt) {
            let n = stdout.read(&mut buf).unwrap();
            assert!(n > 0, "no prompt {prompt:?}; the terminal showed {shown:?}");
            shown.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        shown = shown.replacen(prompt, "", 1);
        stdin.write_all(format!("{text}\n").as_bytes()).unwrap();
    }
    stdout.read_to_string(&mut shown).unwrap();
    (shown, child.wait().unwrap().code())
}

#[test]
fn users_passwords_are_asked_for_on_a_terminal_without_echo() {
    let users = Users::new("");
    let (shown, code) = on_terminal(
        &users,
        "add tty --email tty@example.org",
        &["typed-secret", "typed-secret"],
    );
    assert_eq!(code, Some(0), "{shown}");
    assert!(
        !shown.contains("typed-secret"),
        "the password was echoed: {shown}"
    );
    assert_eq!(users.json_lines(&["list", "--json"])[0]["name"], "tty");
    let (shown, code) = on_terminal(
        &users,
        "reset-password tty",
        &["one-password", "another-one"],
    );
    assert_eq!(code, Some(2), "{shown}");
    assert!(shown.contains("the two passwords differ"), "{shown}");
}

/// A form fetched and ready to post: the browser holding its CSRF cookie, and its token.
fn ready_login(base: &str) -> (Browser, String) {
    let mut browser = Browser::default();
    let form = browser.get(&format!("{base}/login"));
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = hidden(&form.body, "csrf");
    (browser, csrf)
}

fn login_form(csrf: &str, user: &str, password: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", csrf)
        .append_pair("username", user)
        .append_pair("password", password)
        .append_pair("rd", "/")
        .finish()
}

/// Finding 5: a hundred wrong passwords sent at once are counted before any is checked, so the lockout
/// holds them off, is recorded, and the right password sent right after is refused too.
#[test]
fn users_parallel_guesses_cannot_outrun_the_lockout() {
    let mut users = Users::new("backoff_after = 100\nlockout_after = 5\nlockout = \"60s\"\n");
    seed(&users);
    users.start(None);
    let base = format!("http://127.0.0.1:{}", users.port);
    let ready: Vec<(Browser, String)> = (0..100).map(|_| ready_login(&base)).collect();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(ready.len()));
    let statuses: Vec<u16> = ready
        .into_iter()
        .map(|(mut browser, csrf)| {
            let barrier = barrier.clone();
            let url = format!("{base}/login");
            std::thread::spawn(move || {
                let body = login_form(&csrf, "ada", "wrong-guess");
                barrier.wait();
                browser.send("POST", &url, &[], Some(&body)).status
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        checked <= 5,
        "at most lockout_after guesses are checked: {statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        100 - checked,
        "the rest are refused unchecked: {statuses:?}"
    );
    let (mut browser, csrf) = ready_login(&base);
    let right = browser.send(
        "POST",
        &format!("{base}/login"),
        &[],
        Some(&login_form(&csrf, "ada", "ada-password")),
    );
    assert_eq!(
        right.status, 429,
        "the right password during the lockout is refused"
    );
    let actions: Vec<Value> = users.json_lines(&["activity", "--json"]);
    assert!(
        actions.iter().any(|a| a["action"] == "login.lockout"),
        "the lockout is recorded: {actions:?}"
    );
}

/// Findings 6 and 7: failed logins with huge or hostile names neither grow the database with the name nor
/// put escape codes on the admin's terminal.
#[test]
fn users_hostile_login_names_are_bounded_and_shown_escaped() {
    // No lockout: the attacker is taken to rotate addresses.
    let mut users = Users::new("backoff_after = 100000\nlockout_after = 100000\n");
    seed(&users);
    users.start(None);
    let base = format!("http://127.0.0.1:{}", users.port);
    let (mut browser, csrf) = ready_login(&base);
    let url = format!("{base}/login");
    let mut huge = std::net::TcpStream::connect(("127.0.0.1", users.port)).unwrap();
    huge.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    huge.write_all(
        b"POST /login HTTP/1.1\r\nhost: magi\r\ncontent-type: application/x-www-form-urlencoded\r\n\
          content-length: 2097152\r\n\r\nusername=",
    )
    .unwrap();
    let mut body = huge.try_clone().unwrap();
    // The server answers once the limit is passed and closes: the rest of the body may not be taken.
    let writer = std::thread::spawn(move || {
        let _ = body.write_all(&vec![b'x'; 2 << 20]);
    });
    let mut answer = [0u8; 12];
    huge.read_exact(&mut answer).unwrap();
    drop(huge);
    writer.join().unwrap();
    assert_eq!(&answer, b"HTTP/1.1 413", "a 2 MiB form is refused unread");
    for i in 0..300 {
        let name = format!("{i:04}{}", "n".repeat(8 * 1024));
        let reply = browser.send("POST", &url, &[], Some(&login_form(&csrf, &name, "p")));
        assert_eq!(reply.status, 401);
    }
    let hostile = "mallory\x1b[2J\x1b]0;pwned\x07\nroot  login  ok";
    let reply = browser.send("POST", &url, &[], Some(&login_form(&csrf, hostile, "p")));
    assert_eq!(reply.status, 401);
    let db = rusqlite::Connection::open(users.db()).unwrap();
    let longest: i64 = db
        .query_row("SELECT max(length(key)) FROM throttle", [], |r| r.get(0))
        .unwrap();
    assert!(longest < 80, "throttle keys are bounded: {longest} bytes");
    db.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    let db_bytes = std::fs::metadata(users.db()).unwrap().len();
    assert!(
        db_bytes < 1 << 20,
        "300 failed logins with 8 KiB names keep the database small: {db_bytes} bytes"
    );
    let shown = users.ok(&["activity"], "");
    assert!(
        !shown.contains('\x1b') && !shown.contains('\x07'),
        "{shown:?}"
    );
    assert!(shown.contains("mallory\\x1b[2J"), "{shown}");
    assert!(
        !shown.lines().any(|l| l.starts_with("root")),
        "no forged line: {shown}"
    );
}

/// Finding 9: a flood of idle and half-sent connections past the open-file limit is shed by the header
/// timeout, so /healthz (what forward-auth's health checks ask) answers again within seconds; a body that
/// stalls is answered 408.
#[test]
fn users_a_flood_of_idle_connections_is_shed_and_a_stalled_body_times_out() {
    let mut users = Users::new("");
    users.start(None);
    let limited = Command::new("prlimit")
        .args([
            "--pid",
            &users.server.as_ref().unwrap().id().to_string(),
            "--nofile=256:256",
        ])
        .status()
        .unwrap();
    assert!(limited.success());
    let idle = flood::idle_connections(
        users.port,
        300,
        b"POST /login HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nuser",
    );
    assert!(idle.len() > 256, "the flood got past the open-file limit");
    let answered = flood::status_line_despite_flood(
        users.port,
        b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        Duration::from_secs(30),
    );
    assert_eq!(&answered, b"HTTP/1.1 200");
    let mut stalled = idle.into_iter().nth(1).unwrap();
    stalled
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut head = [0u8; 12];
    stalled
        .read_exact(&mut head)
        .expect("the half-sent body is answered");
    assert_eq!(&head, b"HTTP/1.1 408");
}

/// Finding 8: a CSRF token the client made up (the same in its cookie and its field) is refused, and so is
/// a post from another site's page; `X-Forwarded-For` from a peer that is no trusted proxy names nobody;
/// `Ada` cannot be added beside `ada`.
#[test]
fn users_forged_csrf_other_origins_forged_addresses_and_case_twins_are_refused() {
    let mut users = Users::new("trusted_proxies = []\n");
    seed(&users);
    users.start(None);
    let base = format!("http://127.0.0.1:{}", users.port);
    let url = format!("{base}/login");
    let made_up = "a".repeat(64);
    let forged = http(
        "POST",
        &url,
        &[("cookie", &format!("magi_csrf={made_up}"))],
        Some(&login_form(&made_up, "ada", "ada-password")),
    );
    assert_eq!(forged.status, 403, "a made-up token: {}", forged.body);

    let origin = format!("http://127.0.0.1:{}", users.port);
    for (header, value, expected) in [
        ("origin", "https://evil.example", 403),
        ("sec-fetch-site", "cross-site", 403),
        ("origin", origin.as_str(), 401),
    ] {
        let (mut browser, csrf) = ready_login(&base);
        let reply = browser.send(
            "POST",
            &url,
            &[(header, value)],
            Some(&login_form(&csrf, "ada", "wrong")),
        );
        assert_eq!(reply.status, expected, "{header}: {value}");
    }

    let (mut browser, csrf) = ready_login(&base);
    let reply = browser.send(
        "POST",
        &url,
        &[("x-forwarded-for", "10.9.9.9")],
        Some(&login_form(&csrf, "ada", "wrong")),
    );
    assert_eq!(reply.status, 401);
    let failed: Vec<Value> = users
        .json_lines(&["activity", "--json"])
        .into_iter()
        .filter(|e| e["action"] == "login.failed")
        .collect();
    assert!(!failed.is_empty());
    assert!(
        failed.iter().all(|e| e["source"] == "127.0.0.1"),
        "the forged address is not recorded: {failed:?}"
    );

    let twin = users.run(
        &[
            "add",
            "Ada",
            "--email",
            "ada2@example.org",
            "--password-file",
            "-",
        ],
        "another-password\n",
    );
    assert!(!twin.status.success(), "Ada beside ada");
    assert_eq!(users.json_lines(&["list", "--json"]).len(), 2);
}
