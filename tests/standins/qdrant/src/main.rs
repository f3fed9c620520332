//! `qdrant-standin`: a STAND-IN for the Qdrant vector database server, for the MAGI ops tests only.
//!
//! The upstream Qdrant server cannot be had on the test machines, so this program speaks Qdrant's documented
//! HTTP wire format (REST API of Qdrant 1.12) for the subset our tools use: the service root and probes
//! (`/`, `/readyz`, `/healthz`), collections (list, create, info with `points_count`, delete), points (upsert,
//! scroll) and per-collection snapshots (create, list, download, delete, upload with `priority=snapshot`,
//! recover from a `file://` or `http://` location). It is not Qdrant: there is no search, no index and no
//! WAL; data are JSON files under the storage directory.
//!
//! Usage: `qdrant-standin [--storage DIR] [--listen ADDR] [--unready-flag FILE]` (defaults `/qdrant/storage`
//! and `0.0.0.0:6333`, as in the Qdrant container). While FILE exists the probes answer 503.

mod api;
mod multipart;
mod storage;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

struct Args {
    storage: PathBuf,
    listen: String,
    unready_flag: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        storage: PathBuf::from("/qdrant/storage"),
        listen: "0.0.0.0:6333".into(),
        unready_flag: None,
    };
    let mut iter = std::env::args().skip(1);
    while let Some(flag) = iter.next() {
        let mut value = || iter.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--storage" => args.storage = PathBuf::from(value()?),
            "--listen" => args.listen = value()?,
            "--unready-flag" => args.unready_flag = Some(PathBuf::from(value()?)),
            "--help" | "-h" => {
                return Err(
                    "usage: qdrant-standin [--storage DIR] [--listen ADDR] [--unready-flag FILE]"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument '{other}' (try --help)")),
        }
    }
    Ok(args)
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let storage = storage::Storage::open(&args.storage)
        .map_err(|e| format!("cannot open the storage {}: {e}", args.storage.display()))?;
    let listener = TcpListener::bind(&args.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    eprintln!(
        "qdrant-standin {}: Qdrant stand-in serving {} on {}",
        api::VERSION,
        args.storage.display(),
        args.listen
    );
    api::serve(listener, api::Api::new(storage, args.unready_flag))
        .map_err(|e| format!("the server stopped: {e}"))
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("qdrant-standin: {message}");
            ExitCode::FAILURE
        }
    }
}
