//! The real LiteLLM proxy (PyPI `litellm[proxy]`, pinned; `tests/run` installs it in a venv of its own and
//! names its interpreter in `$MAGI_LITELLM_PYTHON`) on a free loopback port in front of the upstream
//! stand-in ([`OpenAiStandin`]), run as MAGI runs it: no database, no master key, one `config.yaml`.
//!
//! The generated config routes these model names to the stand-in's model of the same name
//! (`openai/<name>` with `api_base` the stand-in), each with `model_info` prices of
//! [`INPUT_COST_PER_TOKEN`] and [`OUTPUT_COST_PER_TOKEN`]: [`MODELS`] explicitly, and any other name through
//! a `*` wildcard route (`openai/*`), so a test can use its own model (`standin-500~my-test`) and queue
//! behaviours for it alone ([`OpenAiStandin::queue_for`]). LiteLLM's retries are off (`num_retries: 0`)
//! so that one client request is one upstream request; with its defaults (what `tests/e2e/litellm.rs`
//! found for the pinned version) it makes 3 attempts at a 429, a 5xx, a timeout or a cut JSON answer.
//!
//! LiteLLM takes 10 to 30 s to start, so [`LiteLlm::shared`] starts one instance per test binary, on first
//! use, and keeps it (with its stand-in) until the test process ends: both get a stdin pipe from the test
//! process and exit when it closes. [`LiteLlm::start`] gives a test its own instance, stopped on drop.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::daemon::Daemon;
use crate::openai::OpenAiStandin;
use crate::port::free_port;

/// The LiteLLM release the tests run (`tests/run` installs exactly this one).
pub const LITELLM_VERSION: &str = "1.102.4";

/// The variable naming the Python interpreter that has LiteLLM (`tests/run` sets it to its venv's).
pub const PYTHON_VAR: &str = "MAGI_LITELLM_PYTHON";

/// The Python interpreter to run LiteLLM with: `$MAGI_LITELLM_PYTHON`, else `python3`.
pub fn python() -> String {
    std::env::var(PYTHON_VAR).unwrap_or_else(|_| "python3".to_owned())
}

/// The input price of every model in the generated config, in USD per prompt token.
pub const INPUT_COST_PER_TOKEN: f64 = 0.000_001;
/// The output price of every model in the generated config, in USD per completion token.
pub const OUTPUT_COST_PER_TOKEN: f64 = 0.000_002;

/// The model names the config lists explicitly (each the stand-in's behaviour of that name); any other name
/// reaches the stand-in through the wildcard route.
pub const MODELS: &[&str] = &[
    "standin-ok",
    "standin-429",
    "standin-500",
    "standin-503",
    "standin-stall",
    "standin-drop",
    "standin-slow-stream",
];

/// How long LiteLLM may take to answer `/health/liveliness` after it starts.
const STARTUP: Duration = Duration::from_secs(180);

/// Runs LiteLLM's own CLI in-process, beside a thread that ends the process (and removes the config's
/// directory) when stdin closes: the test process holds the other end of that pipe.
const WRAPPER: &str = r#"
import os, shutil, sys, threading
def lifeline():
    sys.stdin.buffer.read()
    shutil.rmtree(os.environ.get("MAGI_TESTKIT_REMOVE_ON_EXIT", ""), ignore_errors=True)
    os._exit(0)
threading.Thread(target=lifeline, daemon=True).start()
from litellm.proxy.proxy_cli import run_server
run_server(sys.argv[1:])
"#;

/// A running LiteLLM proxy and the stand-in behind it.
#[derive(Debug)]
pub struct LiteLlm {
    port: u16,
    config: PathBuf,
    standin: OpenAiStandin,
    /// Holds `config.yaml` for as long as LiteLLM runs: removed on drop with a test's own instance; the
    /// shared instance lives in a static, never dropped, so its wrapper removes the directory at exit.
    _dir: tempfile::TempDir,
    _daemon: Daemon,
}

impl LiteLlm {
    /// The instance shared by the tests of this test binary, started on first use. Check
    /// [`require(Component::LiteLLM)`](crate::require) first.
    pub fn shared() -> &'static LiteLlm {
        static SHARED: OnceLock<LiteLlm> = OnceLock::new();
        SHARED.get_or_init(|| LiteLlm::launch(true))
    }

    /// A test's own instance with its own stand-in, stopped on drop.
    pub fn start() -> LiteLlm {
        LiteLlm::launch(false)
    }

    fn launch(for_process: bool) -> LiteLlm {
        let standin = if for_process {
            OpenAiStandin::start_for_process()
        } else {
            OpenAiStandin::start()
        };
        let dir = tempfile::Builder::new()
            .prefix("magi-litellm-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temp dir for LiteLLM: {e}"));
        let config = dir.path().join("config.yaml");
        std::fs::write(&config, config_yaml(&standin.api_base()))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", config.display()));
        let started = Instant::now();
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let mut command = Command::new(python());
            command
                .arg("-c")
                .arg(WRAPPER)
                .arg("--config")
                .arg(&config)
                .arg("--host")
                .arg("127.0.0.1")
                .arg("--port")
                .arg(port.to_string())
                .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
                .env("LITELLM_TELEMETRY", "False")
                .env("LITELLM_LOG", "ERROR")
                .env_remove("DATABASE_URL")
                .env_remove("LITELLM_MASTER_KEY");
            if for_process {
                command.env("MAGI_TESTKIT_REMOVE_ON_EXIT", dir.path());
            }
            let log = dir.path().join("litellm.log");
            let mut daemon = Daemon::spawn_with_lifeline("LiteLLM", command, &log);
            let url = format!("http://127.0.0.1:{port}/health/liveliness");
            match daemon.wait_ready(STARTUP, || ureq::get(&url).call().is_ok()) {
                Ok(()) => {
                    eprintln!(
                        "LiteLLM {LITELLM_VERSION} up on 127.0.0.1:{port} in {:.1}s",
                        started.elapsed().as_secs_f64()
                    );
                    return LiteLlm {
                        port,
                        config,
                        standin,
                        _dir: dir,
                        _daemon: daemon,
                    };
                }
                Err(e) => {
                    last_error = e.message().to_owned();
                    if !last_error.contains("address already in use") {
                        break;
                    }
                }
            }
        }
        panic!("{last_error}")
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT` + `path` (LiteLLM answers both `/v1/...` and `/...`).
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The generated `config.yaml` (a gateway reads the `model_info` prices from it).
    pub fn config_path(&self) -> &Path {
        &self.config
    }

    /// The stand-in behind this LiteLLM.
    pub fn standin(&self) -> &OpenAiStandin {
        &self.standin
    }
}

/// LiteLLM's `config.yaml`: [`MODELS`] and the `*` wildcard, all priced, all pointing at `api_base`.
fn config_yaml(api_base: &str) -> String {
    let entry = |name: &str, model: &str| {
        format!(
            "  - model_name: \"{name}\"\n    litellm_params:\n      model: \"openai/{model}\"\n      \
             api_base: \"{api_base}\"\n      api_key: \"sk-standin\"\n    model_info:\n      \
             input_cost_per_token: {INPUT_COST_PER_TOKEN}\n      \
             output_cost_per_token: {OUTPUT_COST_PER_TOKEN}\n"
        )
    };
    let mut yaml = String::from(
        "# Written by magi-testkit: LiteLLM in front of openai-standin.\nmodel_list:\n",
    );
    for model in MODELS {
        yaml.push_str(&entry(model, model));
    }
    yaml.push_str(&entry("*", "*"));
    yaml.push_str("litellm_settings:\n  num_retries: 0\nrouter_settings:\n  num_retries: 0\n");
    yaml
}
