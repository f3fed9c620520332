//! `magi-users serve`: the forward-auth server the reverse proxy asks about every request.
//!
//! `/auth` (Caddy, Traefik) and `/auth-request` (nginx) answer 200 with the identity headers, which we always
//! set, so a copy forged by the client never reaches the app; without a session a browser is sent to the
//! login page and an API client gets 401. `/login` checks a password (argon2id, off the async threads) behind
//! a CSRF token and the brute-force [`throttle`](crate::throttle), and sets the session cookie; `/logout` ends
//! it. [`serve`] takes a bound listener and a shutdown future, so tests run the real server on port 0.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use jiff::Timestamp;
use magi_core::cli::Context;
use magi_core::config::UsersConfig;
use magi_core::daemon;
use magi_core::exit::{self, UsageError};
use serde_json::json;
use tokio::net::TcpListener;

use crate::cli::ServeArgs;
use crate::error::Error;
use crate::request::{self, client_address, cookie, safe_redirect, wants_html};
use crate::store::{AuditEntry, Principal, Store};
use crate::throttle::{self, Policy};
use crate::{password, token};
use magi_core::format::html_escape;
use magi_usage::keys::bearer;

/// The session cookie.
pub const SESSION_COOKIE: &str = "magi_session";
/// The CSRF cookie the login and logout forms echo back (double submit).
pub const CSRF_COOKIE: &str = "magi_csrf";
/// The identity headers, as Authelia names them and Open WebUI's trusted-header login reads them.
pub const IDENTITY_HEADERS: [&str; 4] = [
    "remote-user",
    "remote-email",
    "remote-name",
    "remote-groups",
];
const POOL_SIZE: usize = 8;
/// Password checks at once: each takes argon2id's 19 MiB for its duration, so a burst of logins must queue
/// rather than take the machine's memory.
const HASHES_AT_ONCE: usize = 2;

/// What the server needs from `[users]`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub login_url: String,
    pub secure_cookies: bool,
    pub cookie_domain: Option<String>,
    pub session_idle: i64,
    pub session_lifetime: i64,
    pub policy: Policy,
    pub trusted_proxies: Vec<IpAddr>,
}

impl From<&UsersConfig> for Settings {
    fn from(c: &UsersConfig) -> Settings {
        Settings {
            login_url: c.login_url.clone(),
            secure_cookies: c.secure_cookies,
            cookie_domain: c.cookie_domain.clone(),
            session_idle: c.session_idle.as_secs() as i64,
            session_lifetime: c.session_lifetime.as_secs() as i64,
            policy: Policy::from(c),
            trusted_proxies: c.trusted_proxies.clone(),
        }
    }
}

/// The shared state: settings and a few open connections to the database.
pub struct App {
    db: PathBuf,
    pool: Mutex<Vec<Store>>,
    settings: Settings,
    hashing: tokio::sync::Semaphore,
    /// Lockouts whose refused attempts have been audited once, with their end: an attacker hammering a
    /// locked account must not fill the audit log.
    refused: Mutex<HashMap<String, i64>>,
    /// The key CSRF tokens are bound to: random per process, so a restart only expires open forms.
    csrf_key: [u8; 32],
}

impl App {
    /// Opens the database (creating it if needed) once, to fail early.
    pub fn new(db: &Path, settings: Settings) -> Result<App, Error> {
        let store = Store::open(db)?;
        Ok(App {
            db: db.to_owned(),
            pool: Mutex::new(vec![store]),
            settings,
            hashing: tokio::sync::Semaphore::new(HASHES_AT_ONCE),
            refused: Mutex::new(HashMap::new()),
            csrf_key: token::random_bytes::<32>()?,
        })
    }

    fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> Result<T, Error>) -> Result<T, Error> {
        let taken = self.pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut store = match taken {
            Some(s) => s,
            None => Store::open(&self.db)?,
        };
        let result = f(&mut store);
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < POOL_SIZE {
            pool.push(store);
        }
        result
    }

    fn audit(&self, action: &str, actor: &str, subject: &str, source: IpAddr, detail: &str) {
        let entry = AuditEntry {
            at: now(),
            actor: actor.into(),
            action: action.into(),
            subject: subject.into(),
            source: source.to_string(),
            detail: detail.into(),
        };
        if let Err(e) = self.with_store(|s| s.audit(&entry)) {
            log::error!("cannot write the audit log: {e}");
        }
    }

    /// Whether this is the first refused attempt of `who` during the lockout ending at `until`.
    fn first_refusal(&self, who: &str, until: i64, now: i64) -> bool {
        let mut refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        refused.retain(|_, end| *end > now);
        refused.insert(who.to_owned(), until) != Some(until)
    }

    /// Who the request is from: its session cookie, else its API key.
    fn who(&self, headers: &HeaderMap) -> Result<Option<Principal>, Error> {
        let now = now();
        let cookies = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok());
        if let Some(id) = cookie(cookies, SESSION_COOKIE)
            && let Some(p) = self.with_store(|s| s.session(id, now, self.settings.session_idle))?
        {
            return Ok(Some(p));
        }
        match headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer)
        {
            Some(key) => self.with_store(|s| s.key(key, now)),
            None => Ok(None),
        }
    }

    fn cookie(&self, name: &str, value: &str, max_age: i64, same_site: &str) -> HeaderValue {
        let mut text =
            format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite={same_site}");
        if self.settings.secure_cookies {
            text.push_str("; Secure");
        }
        if let Some(domain) = &self.settings.cookie_domain {
            text.push_str(&format!("; Domain={domain}"));
        }
        HeaderValue::from_str(&text).expect("cookie values are hex and the domain was checked")
    }
}

fn now() -> i64 {
    Timestamp::now().as_second()
}

/// The largest request body read ([`answer`] refuses a bigger one with 413): every request this server
/// takes is a small form or none.
const MAX_BODY: usize = 16 * 1024;

/// The routes, over shared state.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/auth", any(auth_redirect))
        .route("/auth-request", any(auth_status))
        .route("/login", get(login_page).post(login))
        .route("/logout", get(logout_page).post(logout))
        .route("/admin/users", get(admin_users))
        .route("/admin/activity", get(admin_activity))
        .route("/healthz", get(healthz))
        .with_state(app)
}

/// Serves until `shutdown` completes, within the bounds every MAGI daemon has (a 10 s header timeout, a
/// connection cap from the open-file limit, 10 s to finish on a stop).
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let routes = router(app);
    magi_serve::serve(
        listener,
        magi_serve::Bounds::defaults(),
        move |peer| {
            let routes = routes.clone();
            hyper::service::service_fn(move |request| {
                let routes = routes.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(routes, peer, request).await) }
            })
        },
        shutdown,
    )
    .await;
}

/// The longest a client may take to send a request's body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads the request's body (at most [`MAX_BODY`], within [`BODY_TIMEOUT`]) before the routes see it, so
/// a body that stalls or runs long is answered (408, 413) and its connection freed.
async fn answer(
    mut routes: Router,
    peer: SocketAddr,
    request: Request<hyper::body::Incoming>,
) -> Response {
    use http_body_util::BodyExt as _;
    use tower_service::Service as _;
    let (mut parts, body) = request.into_parts();
    let read = tokio::time::timeout(
        BODY_TIMEOUT,
        http_body_util::Limited::new(body, MAX_BODY).collect(),
    )
    .await;
    let body = match read {
        Err(_) => {
            return (
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time\n",
            )
                .into_response();
        }
        Ok(Err(_)) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is too large\n",
            )
                .into_response();
        }
        Ok(Ok(collected)) => axum::body::Body::from(collected.to_bytes()),
    };
    parts.extensions.insert(ConnectInfo(peer));
    match routes.call(Request::from_parts(parts, body)).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// `magi-users serve`: binds, tells systemd it is ready, keeps the watchdog fed while the database answers,
/// prunes dead sessions, and stops on SIGTERM or SIGINT.
pub fn run(context: &Context, db: &Path, args: &ServeArgs) -> anyhow::Result<u8> {
    let config = &context.config.users;
    let listen = args.listen.unwrap_or(config.listen);
    if !config.secure_cookies {
        log::warn!(
            "[users] secure_cookies = false: session cookies will travel over plain HTTP, where anyone on the \
             network can read them; use it only on a trusted LAN"
        );
    }
    let app = Arc::new(App::new(db, Settings::from(config))?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = daemon::listener(listen)
            .await
            .map_err(|e| UsageError(e.to_string()))?;
        log::info!(
            "forward-auth on http://{listen}/auth (nginx: /auth-request), login at {}",
            app.settings.login_url
        );
        daemon::ready("serving");
        tokio::spawn(upkeep(app.clone(), daemon::watchdog_interval()));
        serve(listener, app, daemon::stop_signal()).await;
        daemon::stopping();
        Ok::<_, anyhow::Error>(exit::SUCCESS)
    })
}

/// Feeds the systemd watchdog while the database answers, and prunes dead sessions every ten minutes.
async fn upkeep(app: Arc<App>, watchdog: Option<Duration>) {
    let tick = watchdog.map_or(Duration::from_secs(600), |w| w / 2);
    let mut last_prune = None::<std::time::Instant>;
    loop {
        let healthy = app.with_store(|s| s.failures("healthz")).is_ok();
        if healthy && watchdog.is_some() {
            daemon::watchdog_ping();
        }
        if last_prune.is_none_or(|t| t.elapsed() >= Duration::from_secs(600)) {
            let idle = app.settings.session_idle;
            match app.with_store(|s| s.prune_sessions(now(), idle)) {
                Ok(n) if n > 0 => log::info!("{n} expired sessions removed"),
                Ok(_) => {}
                Err(e) => log::warn!("cannot prune sessions: {e}"),
            }
            last_prune = Some(std::time::Instant::now());
        }
        tokio::time::sleep(tick).await;
    }
}

fn query_param(uri: &Uri, name: &str) -> Option<String> {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "error": message }).to_string(),
    )
        .into_response()
}

fn internal(e: Error) -> Response {
    log::error!("{e}");
    json_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the user database cannot be read",
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Caddy and Traefik pass any answer on: a browser gets the 302 itself.
    Redirect,
    /// nginx's auth_request passes only 2xx, 401 and 403: a browser gets 401 with the Location to map.
    Status,
}

async fn auth_redirect(State(app): State<Arc<App>>, uri: Uri, headers: HeaderMap) -> Response {
    auth(&app, &uri, &headers, Mode::Redirect)
}

async fn auth_status(State(app): State<Arc<App>>, uri: Uri, headers: HeaderMap) -> Response {
    auth(&app, &uri, &headers, Mode::Status)
}

fn auth(app: &App, uri: &Uri, headers: &HeaderMap, mode: Mode) -> Response {
    let principal = match app.who(headers) {
        Ok(p) => p,
        Err(e) => return internal(e),
    };
    let Some(p) = principal else {
        if wants_html(headers) {
            let location = login_location(
                &app.settings.login_url,
                request::original_url(headers).as_deref(),
            );
            let status = match mode {
                Mode::Redirect => StatusCode::FOUND,
                Mode::Status => StatusCode::UNAUTHORIZED,
            };
            return (status, [(header::LOCATION, location)], "login required\n").into_response();
        }
        let mut response = json_error(
            StatusCode::UNAUTHORIZED,
            "authentication required: log in, or send Authorization: Bearer <API key>",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"magi\""),
        );
        return response;
    };
    if let Some(permission) = query_param(uri, "permission")
        && !p.may(&permission)
    {
        return json_error(
            StatusCode::FORBIDDEN,
            &format!("{} may not {permission}", p.user),
        );
    }
    identity_response(&p)
}

/// 200 with every identity header set from the account, never from the request.
fn identity_response(p: &Principal) -> Response {
    let value = |text: &str, fallback: &str| {
        HeaderValue::from_bytes(text.as_bytes())
            .or_else(|_| HeaderValue::from_bytes(fallback.as_bytes()))
            .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
    };
    let mut response = (StatusCode::OK, "ok\n").into_response();
    let h = response.headers_mut();
    h.insert("remote-user", value(&p.user, "unknown"));
    h.insert("remote-email", value(&p.email, "unknown"));
    h.insert("remote-name", value(&p.name, &p.user));
    h.insert("remote-groups", value(&p.groups.join(","), &p.role));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The login page's URL with `rd` set to where the browser was going.
fn login_location(login_url: &str, original: Option<&str>) -> HeaderValue {
    let mut location = login_url.to_owned();
    if let Some(original) = original {
        let rd: String = url::form_urlencoded::byte_serialize(original.as_bytes()).collect();
        location.push(if location.contains('?') { '&' } else { '?' });
        location.push_str("rd=");
        location.push_str(&rd);
    }
    HeaderValue::from_str(&location).unwrap_or_else(|_| HeaderValue::from_static("/"))
}

/// The CSRF cookie, when it holds a token this server issued.
fn csrf_of(app: &App, headers: &HeaderMap) -> Option<String> {
    let cookies = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok());
    cookie(cookies, CSRF_COOKIE)
        .filter(|t| token::is_our_csrf(&app.csrf_key, t))
        .map(str::to_owned)
}

/// Whether a form post carries this server's CSRF token in both its cookie and its field, and comes from a
/// page of this site (`Origin`, `Sec-Fetch-Site`).
fn csrf_ok(app: &App, headers: &HeaderMap, posted: &str) -> bool {
    request::same_origin(headers) && csrf_of(app, headers).is_some_and(|c| token::same(&c, posted))
}

/// A page with the login or logout form, and a CSRF cookie that matches its hidden field.
fn form_page(
    app: &App,
    headers: &HeaderMap,
    status: StatusCode,
    body: impl Fn(&str) -> String,
) -> Response {
    let csrf = match csrf_of(app, headers) {
        Some(t) => t,
        None => match token::new_csrf(&app.csrf_key) {
            Ok(t) => t,
            Err(e) => return internal(e),
        },
    };
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::HeaderName::from_static("content-security-policy"),
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"),
            ),
        ],
        body(&csrf),
    )
        .into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        app.cookie(CSRF_COOKIE, &csrf, 3600, "Strict"),
    );
    response
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem;line-height:1.5}\
label{display:block;margin-top:1rem}input{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}\
button{margin-top:1.5rem;padding:.6rem 1.2rem;font-size:1rem}[role=alert]{color:#a00;font-weight:600}";

fn login_html(csrf: &str, rd: &str, user: &str, message: Option<&str>) -> String {
    let alert = message.map_or(String::new(), |m| {
        format!("<p role=\"alert\">{}</p>\n", html_escape(m))
    });
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>Sign in to MAGI</title><style>{STYLE}</style></head>\n<body><main>\n<h1>Sign in to MAGI</h1>\n{alert}\
<form method=\"post\" action=\"login\">\n<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
<input type=\"hidden\" name=\"rd\" value=\"{}\">\n\
<label for=\"username\">User name</label>\n<input id=\"username\" name=\"username\" autocomplete=\"username\" required autofocus value=\"{}\">\n\
<label for=\"password\">Password</label>\n<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\n\
<button type=\"submit\">Sign in</button>\n</form>\n</main></body>\n</html>\n",
        html_escape(rd),
        html_escape(user)
    )
}

async fn login_page(State(app): State<Arc<App>>, uri: Uri, headers: HeaderMap) -> Response {
    let rd = query_param(&uri, "rd").unwrap_or_default();
    form_page(&app, &headers, StatusCode::OK, |csrf| {
        login_html(csrf, &rd, "", None)
    })
}

/// The fields of a posted form.
fn form(body: &Bytes) -> impl Fn(&str) -> String + '_ {
    move |name| {
        url::form_urlencoded::parse(body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    }
}

async fn login(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let field = form(&body);
    let (user, secret, rd) = (field("username"), field("password"), field("rd"));
    let page = |status, message: &str| {
        form_page(&app, &headers, status, |csrf| {
            login_html(csrf, &rd, &user, Some(message))
        })
    };
    if !csrf_ok(&app, &headers, &field("csrf")) {
        return page(
            StatusCode::FORBIDDEN,
            "This form has expired. Please sign in again.",
        );
    }
    let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let address = client_address(forwarded, peer, &app.settings.trusted_proxies);
    let account_key = throttle::account_key(&user);
    let address_key = format!("addr:{address}");
    let started = now();
    let policy = app.settings.policy;
    // The attempt is counted before its password is checked, in one write transaction: a hundred guesses
    // sent at once see each other's failures, and those past the lockout are refused unchecked.
    let reserved = app.with_store(|s| {
        s.reserve_failures(
            [&account_key, &address_key],
            started,
            started - policy.lockout.as_secs() as i64,
            |[account, from_address]| {
                let locked = throttle::locked_until(&account, started)
                    .into_iter()
                    .chain(throttle::locked_until(&from_address, started))
                    .max();
                if let Some(until) = locked {
                    return (Err(until), None);
                }
                let on_account = throttle::fail(&policy, &account, started);
                let on_address = throttle::fail(&policy, &from_address, started);
                (
                    Ok((on_account, on_address)),
                    Some([on_account.record, on_address.record]),
                )
            },
        )
    });
    let shown_user: String = user.chars().take(64).collect();
    let (on_account, on_address) = match reserved {
        Err(e) => return internal(e),
        Ok(Ok(verdicts)) => verdicts,
        Ok(Err(until)) => {
            if app.first_refusal(&format!("{account_key} {address_key}"), until, started) {
                app.audit(
                    "login.locked",
                    &shown_user,
                    &shown_user,
                    address,
                    "attempt while locked out (further ones until the lockout ends are not recorded)",
                );
            }
            let at = crate::command::when(until);
            return page(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Too many failed sign-ins. Try again after {at}."),
            );
        }
    };
    let credentials = match app.with_store(|s| s.credentials(&user)) {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    let stored = credentials.as_ref().map(|(_, hash, _)| hash.clone());
    let matches = match app.hashing.acquire().await {
        Ok(_permit) => {
            tokio::task::spawn_blocking(move || password::verify(&secret, stored.as_deref()))
                .await
                .unwrap_or(false)
        }
        Err(_) => false,
    };
    let outcome = match credentials {
        Some((id, _, false)) if matches => Ok(id),
        Some((_, _, true)) if matches => Err("account disabled"),
        Some(_) => Err("wrong password"),
        None => Err("unknown user"),
    };
    match outcome {
        Ok(id) => {
            let settings = &app.settings;
            let created = app.with_store(|s| {
                s.clear_failures(&account_key)?;
                s.clear_failures(&address_key)?;
                s.create_session(id, now(), settings.session_lifetime, &address.to_string())
            });
            let session = match created {
                Ok(s) => s,
                Err(e) => return internal(e),
            };
            app.audit("login", &user, &user, address, "");
            let host = request::host(&headers);
            let target = safe_redirect(&rd, host).unwrap_or_else(|| "/".into());
            let mut response = (
                StatusCode::SEE_OTHER,
                [(
                    header::LOCATION,
                    HeaderValue::from_str(&target).unwrap_or(HeaderValue::from_static("/")),
                )],
                "signed in\n",
            )
                .into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                app.cookie(SESSION_COOKIE, &session, settings.session_lifetime, "Lax"),
            );
            response
        }
        Err(reason) => {
            app.audit("login.failed", &shown_user, &shown_user, address, reason);
            for (verdict, key) in [(&on_account, &account_key), (&on_address, &address_key)] {
                if verdict.locked {
                    app.audit(
                        "login.lockout",
                        &shown_user,
                        key,
                        address,
                        &format!(
                            "{} failures; locked for {}s",
                            verdict.record.count,
                            policy.lockout.as_secs()
                        ),
                    );
                }
            }
            tokio::time::sleep(on_account.delay.max(on_address.delay)).await;
            page(StatusCode::UNAUTHORIZED, "Wrong user name or password.")
        }
    }
}

async fn logout_page(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    form_page(&app, &headers, StatusCode::OK, |csrf| {
        format!(
            "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Sign out of MAGI</title><style>{STYLE}</style></head>\n\
<body><main>\n<h1>Sign out of MAGI</h1>\n<form method=\"post\" action=\"logout\">\n<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
<button type=\"submit\">Sign out</button>\n</form>\n</main></body>\n</html>\n"
        )
    })
}

async fn logout(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !csrf_ok(&app, &headers, &form(&body)("csrf")) {
        return json_error(
            StatusCode::FORBIDDEN,
            "the sign-out form has expired: open it again",
        );
    }
    let cookies = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok());
    if let Some(id) = cookie(cookies, SESSION_COOKIE) {
        match app.with_store(|s| s.end_session(id)) {
            Ok(Some(user)) => {
                let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
                app.audit(
                    "logout",
                    &user,
                    &user,
                    client_address(forwarded, peer, &app.settings.trusted_proxies),
                    "",
                );
            }
            Ok(None) => {}
            Err(e) => return internal(e),
        }
    }
    let mut response = (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, HeaderValue::from_static("login"))],
        "signed out\n",
    )
        .into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, app.cookie(SESSION_COOKIE, "", 0, "Lax"));
    response
}

/// Why an admin request may not proceed, or `None` when its user holds `permission`.
fn refusal(app: &App, headers: &HeaderMap, permission: &str) -> Option<Response> {
    match app.who(headers) {
        Ok(Some(p)) if p.may(permission) => None,
        Ok(Some(p)) => Some(json_error(
            StatusCode::FORBIDDEN,
            &format!("{} may not {permission}", p.user),
        )),
        Ok(None) => Some(json_error(
            StatusCode::UNAUTHORIZED,
            "authentication required",
        )),
        Err(e) => Some(internal(e)),
    }
}

fn json_list<T: serde::Serialize>(items: Result<Vec<T>, Error>) -> Response {
    match items {
        Ok(items) => (
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::to_string(&items).unwrap_or_else(|_| "[]".into()),
        )
            .into_response(),
        Err(e) => internal(e),
    }
}

async fn admin_users(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    refusal(&app, &headers, "users.read")
        .unwrap_or_else(|| json_list(app.with_store(|s| s.users())))
}

async fn admin_activity(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    refusal(&app, &headers, "audit.read")
        .unwrap_or_else(|| json_list(app.with_store(|s| s.activity(now() - 7 * 86400, None))))
}

async fn healthz(State(app): State<Arc<App>>) -> Response {
    match app.with_store(|s| s.failures("healthz")) {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => internal(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_location_carries_the_original_url() {
        let l = login_location("/magi-users/login", Some("https://magi.lan/c/1?x=a&b"));
        assert_eq!(
            l,
            "/magi-users/login?rd=https%3A%2F%2Fmagi.lan%2Fc%2F1%3Fx%3Da%26b"
        );
        assert_eq!(
            login_location("https://auth.lan/login?x=1", None),
            "https://auth.lan/login?x=1"
        );
    }

    #[test]
    fn cookies_are_secure_unless_configured_off() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::from(&UsersConfig::defaults());
        settings.cookie_domain = Some("example.org".into());
        let app = App::new(&dir.path().join("users.db"), settings.clone()).unwrap();
        let cookie = app.cookie(SESSION_COOKIE, "ab", 60, "Lax");
        assert_eq!(
            cookie,
            "magi_session=ab; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure; Domain=example.org"
        );
        settings.secure_cookies = false;
        let app = App::new(&dir.path().join("users.db"), settings).unwrap();
        assert!(
            !app.cookie(CSRF_COOKIE, "ab", 60, "Strict")
                .to_str()
                .unwrap()
                .contains("Secure")
        );
    }

    #[test]
    fn the_login_form_escapes_what_it_echoes() {
        let html = login_html("00", "\"><script>", "<b>", Some("a & b"));
        assert!(
            !html.contains("<script>") && !html.contains("<b>"),
            "{html}"
        );
        assert!(html.contains("&quot;&gt;&lt;script&gt;") && html.contains("a &amp; b"));
        assert!(html.contains("<label for=\"password\">"));
    }
}
