//! Redis: `BGSAVE`, wait until the save is done (`LASTSAVE` changed, or the save counter moved when two
//! saves fall in the same second), check it succeeded, then take `dump.rdb`, which Redis writes under a
//! temporary name and renames, so the file opened afterwards is complete. RESP is spoken directly: four
//! commands do not need a client library.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use magi_core::Probe;

use super::{Capture, Context, EngineError, Staged, StagedFile, meta_from};
use crate::manifest::{Method, TargetRecord};

/// How long a `BGSAVE` may take.
const SAVE_TIMEOUT: Duration = Duration::from_secs(600);
const IO_TIMEOUT: Duration = Duration::from_secs(10);

pub struct RedisTarget {
    pub service: String,
    pub dump: PathBuf,
    pub probe: Option<Probe>,
}

/// A reply of the RESP protocol, as far as these commands need.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
}

/// A connection to Redis.
struct Resp {
    reader: BufReader<TcpStream>,
}

impl Resp {
    fn connect(host: &str, port: u16) -> Result<Resp, EngineError> {
        let address = (host, port)
            .to_socket_addrs()
            .map_err(EngineError::io(format!("cannot resolve {host}:{port}")))?
            .next()
            .ok_or_else(|| EngineError::answer(format!("{host}:{port} resolves to no address")))?;
        let connecting = format!("cannot connect to Redis at {address}");
        let stream = TcpStream::connect_timeout(&address, IO_TIMEOUT)
            .map_err(EngineError::io(connecting.clone()))?;
        stream
            .set_read_timeout(Some(IO_TIMEOUT))
            .and_then(|()| stream.set_write_timeout(Some(IO_TIMEOUT)))
            .map_err(EngineError::io(connecting))?;
        Ok(Resp {
            reader: BufReader::new(stream),
        })
    }

    fn command(&mut self, args: &[&str]) -> Result<Reply, EngineError> {
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        self.reader
            .get_mut()
            .write_all(request.as_bytes())
            .map_err(EngineError::io(format!("Redis {}", args[0])))?;
        self.reply().map_err(|e| match e {
            EngineError::Io { source, .. } => EngineError::io(format!("Redis {}", args[0]))(source),
            EngineError::Answer(text) => EngineError::answer(format!("Redis {}: {text}", args[0])),
            other => other,
        })
    }

    fn reply(&mut self) -> Result<Reply, EngineError> {
        let mut line = String::new();
        self.reader
            .read_line(&mut line)
            .map_err(EngineError::io("reading the reply"))?;
        let line = line.trim_end_matches(['\r', '\n']);
        let (kind, rest) = line.split_at(line.len().min(1));
        match kind {
            "+" => Ok(Reply::Simple(rest.to_owned())),
            "-" => Ok(Reply::Error(rest.to_owned())),
            ":" => rest
                .parse()
                .map(Reply::Integer)
                .map_err(|_| EngineError::answer(format!("bad integer reply {rest:?}"))),
            "$" => {
                let len: i64 = rest
                    .parse()
                    .map_err(|_| EngineError::answer(format!("bad bulk length {rest:?}")))?;
                if len < 0 {
                    return Ok(Reply::Bulk(None));
                }
                let mut data = vec![0; len as usize + 2];
                self.reader
                    .read_exact(&mut data)
                    .map_err(EngineError::io("reading the reply"))?;
                data.truncate(len as usize);
                Ok(Reply::Bulk(Some(data)))
            }
            "" => Err(EngineError::answer("the connection closed")),
            _ => Err(EngineError::answer(format!("unexpected reply {line:?}"))),
        }
    }

    fn integer(&mut self, args: &[&str]) -> Result<i64, EngineError> {
        match self.command(args)? {
            Reply::Integer(n) => Ok(n),
            Reply::Error(e) => Err(EngineError::answer(format!("Redis {}: {e}", args[0]))),
            other => Err(EngineError::answer(format!(
                "Redis {}: unexpected reply {other:?}",
                args[0]
            ))),
        }
    }

    /// `INFO section` as `key:value` pairs.
    fn info(&mut self, section: &str) -> Result<Vec<(String, String)>, EngineError> {
        match self.command(&["INFO", section])? {
            Reply::Bulk(Some(text)) => Ok(String::from_utf8_lossy(&text)
                .lines()
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
                .collect()),
            Reply::Error(e) => Err(EngineError::answer(format!("Redis INFO: {e}"))),
            other => Err(EngineError::answer(format!(
                "Redis INFO: unexpected reply {other:?}"
            ))),
        }
    }
}

fn field<'a>(info: &'a [(String, String)], key: &str) -> Option<&'a str> {
    info.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Whether the bytes start like an RDB file: `REDIS` and a four-digit version.
pub fn is_rdb_header(bytes: &[u8]) -> bool {
    bytes.len() >= 9 && &bytes[..5] == b"REDIS" && bytes[5..9].iter().all(u8::is_ascii_digit)
}

impl Capture for RedisTarget {
    fn service(&self) -> &str {
        &self.service
    }

    fn label(&self) -> String {
        format!("redis {}", self.dump.display())
    }

    fn record(&self) -> TargetRecord {
        TargetRecord::new(&self.service, "redis", Some(&self.dump))
    }

    fn stage(&self, context: &Context) -> Result<Staged, EngineError> {
        let probe = self.probe.as_ref().ok_or_else(|| {
            EngineError::answer(
                "the service has no probe and the target no url: give `url = \"redis://HOST:PORT\"`",
            )
        })?;
        let (host, port) = context.address(probe)?;
        let mut redis = Resp::connect(&host, port)?;
        let version = field(&redis.info("server")?, "redis_version").map(str::to_owned);
        let before_time = redis.integer(&["LASTSAVE"])?;
        let saves = |info: &[(String, String)]| {
            field(info, "rdb_saves").and_then(|v| v.parse::<i64>().ok())
        };
        let before_saves = saves(&redis.info("persistence")?);
        match redis.command(&["BGSAVE"])? {
            Reply::Simple(_) => {}
            Reply::Error(e) if e.contains("already in progress") => {}
            Reply::Error(e) => return Err(EngineError::answer(format!("BGSAVE refused: {e}"))),
            other => {
                return Err(EngineError::answer(format!(
                    "BGSAVE: unexpected reply {other:?}"
                )));
            }
        }
        let started = Instant::now();
        loop {
            std::thread::sleep(Duration::from_millis(50));
            let info = redis.info("persistence")?;
            let in_progress = field(&info, "rdb_bgsave_in_progress") == Some("1");
            let lastsave = redis.integer(&["LASTSAVE"])?;
            let moved =
                lastsave != before_time || (before_saves.is_some() && saves(&info) != before_saves);
            if moved && !in_progress {
                if field(&info, "rdb_last_bgsave_status") != Some("ok") {
                    return Err(EngineError::answer(
                        "BGSAVE failed (rdb_last_bgsave_status is not ok; see the Redis log)",
                    ));
                }
                break;
            }
            if started.elapsed() > SAVE_TIMEOUT {
                return Err(EngineError::answer(format!(
                    "BGSAVE did not finish within {}s",
                    SAVE_TIMEOUT.as_secs()
                )));
            }
        }
        let path = context.home().join(&self.dump);
        // One open and one stat of the same file: Redis may rename a newer dump into place at any time.
        let file = std::fs::File::open(&path).map_err(EngineError::file("open", &path))?;
        let metadata = file.metadata().map_err(EngineError::file("read", &path))?;
        let mut meta = meta_from(
            &metadata,
            self.dump.display().to_string(),
            &self.service,
            Method::RedisBgsave,
        );
        meta.engine = version.map(|v| format!("redis {v}"));
        let size = metadata.len();
        Ok(Staged {
            files: vec![StagedFile { meta, file, size }],
            walk: None,
            record: self.record(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rdb_headers_are_recognised() {
        assert!(is_rdb_header(b"REDIS0011\xfa\x09redis-ver"));
        assert!(!is_rdb_header(b"REDIS"));
        assert!(!is_rdb_header(b"SQLite format 3\0"));
    }
}
