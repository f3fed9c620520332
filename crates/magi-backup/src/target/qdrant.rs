//! Qdrant through its HTTP API: per collection, create a snapshot, download it, delete the server's copy;
//! the version from `GET /` goes into the manifest, because a snapshot restores only onto the same minor
//! version. Restoring uploads a snapshot with `priority=snapshot`, which replaces the collection.

use std::fs::File;
use std::io::{Read, Write};
use std::time::Duration;

use magi_core::Probe;
use serde_json::Value;

use super::{Capture, Context, Staged, StagedFile, open_staged};
use crate::archive::EntryMeta;
use crate::manifest::{Method, TargetRecord};

pub struct QdrantTarget {
    pub service: String,
    pub probe: Option<Probe>,
}

/// The archive path of a collection's snapshot.
pub fn snapshot_path(collection: &str) -> String {
    format!("snapshots/qdrant/{collection}.snapshot")
}

/// A Qdrant server.
pub struct Qdrant {
    base: String,
    agent: ureq::Agent,
}

impl Qdrant {
    /// The server a probe points at; a catalog container name is replaced by its address.
    pub fn at(probe: &Probe, context: &Context) -> Result<Qdrant, String> {
        let (host, port) = context.address(probe)?;
        let scheme = probe
            .origin()
            .split_once("://")
            .map_or("http", |(s, _)| s)
            .to_owned();
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host
        };
        Ok(Qdrant::new(&format!("{scheme}://{host}:{port}")))
    }

    pub fn new(base: &str) -> Qdrant {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_secs(600)))
            .build()
            .into();
        Qdrant {
            base: base.trim_end_matches('/').to_owned(),
            agent,
        }
    }

    fn json(&self, method: &str, path: &str) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let response = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self.agent.post(&url).send_empty(),
        };
        let mut response = response.map_err(|e| format!("{method} {url}: {e}"))?;
        let status = response.status();
        let value: Value = response
            .body_mut()
            .read_json()
            .map_err(|e| format!("{method} {url}: {status}, not JSON: {e}"))?;
        if !status.is_success() {
            let error = value["status"]["error"]
                .as_str()
                .unwrap_or("no reason given");
            return Err(format!("{method} {url}: {status}: {error}"));
        }
        Ok(value)
    }

    /// The server's version, from `GET /`.
    pub fn version(&self) -> Result<String, String> {
        self.json("GET", "/")?["version"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "GET /: no version in the answer".into())
    }

    pub fn collections(&self) -> Result<Vec<String>, String> {
        let value = self.json("GET", "/collections")?;
        Ok(value["result"]["collections"]
            .as_array()
            .ok_or("GET /collections: no collection list in the answer")?
            .iter()
            .filter_map(|c| c["name"].as_str().map(str::to_owned))
            .collect())
    }

    pub fn delete_collection(&self, collection: &str) -> Result<(), String> {
        self.json("DELETE", &format!("/collections/{collection}"))
            .map(|_| ())
    }

    /// Snapshots a collection into `dest`, then deletes the server's copy.
    pub fn snapshot(&self, collection: &str, dest: &mut File) -> Result<(), String> {
        let created = self.json(
            "POST",
            &format!("/collections/{collection}/snapshots?wait=true"),
        )?;
        let name = created["result"]["name"]
            .as_str()
            .ok_or("the snapshot answer has no name")?
            .to_owned();
        let path = format!("/collections/{collection}/snapshots/{name}");
        let url = format!("{}{path}", self.base);
        let downloaded = (|| {
            let mut response = self
                .agent
                .get(&url)
                .call()
                .map_err(|e| format!("GET {url}: {e}"))?;
            if !response.status().is_success() {
                return Err(format!("GET {url}: {}", response.status()));
            }
            let mut body = response.body_mut().with_config().limit(u64::MAX).reader();
            std::io::copy(&mut body, dest).map_err(|e| format!("downloading {url}: {e}"))?;
            dest.flush().map_err(|e| e.to_string())
        })();
        let deleted = self.json("DELETE", &path);
        downloaded?;
        deleted.map(|_| ())
    }

    /// Replaces a collection with a snapshot read from `snapshot`.
    pub fn upload(&self, collection: &str, snapshot: impl Read + 'static) -> Result<(), String> {
        let boundary = format!("magi-backup-{}", std::process::id());
        let head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"snapshot\"; filename=\"{collection}.snapshot\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        );
        let tail = format!("\r\n--{boundary}--\r\n");
        let body = std::io::Cursor::new(head.into_bytes())
            .chain(snapshot)
            .chain(std::io::Cursor::new(tail.into_bytes()));
        let url = format!(
            "{}/collections/{collection}/snapshots/upload?priority=snapshot&wait=true",
            self.base
        );
        let mut response = self
            .agent
            .post(&url)
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .send(ureq::SendBody::from_owned_reader(body))
            .map_err(|e| format!("POST {url}: {e}"))?;
        if !response.status().is_success() {
            let text = response.body_mut().read_to_string().unwrap_or_default();
            return Err(format!("POST {url}: {}: {text}", response.status()));
        }
        Ok(())
    }
}

impl Capture for QdrantTarget {
    fn service(&self) -> &str {
        &self.service
    }

    fn label(&self) -> String {
        "qdrant snapshots".into()
    }

    fn record(&self) -> TargetRecord {
        TargetRecord::new(&self.service, "qdrant", None)
    }

    fn stage(&self, context: &Context) -> Result<Staged, String> {
        let probe = self.probe.as_ref().ok_or(
            "the service has no probe and the target no url: give `url = \"http://HOST:PORT\"`",
        )?;
        let qdrant = Qdrant::at(probe, context)?;
        let version = qdrant.version()?;
        let collections = qdrant.collections()?;
        let mut files = Vec::new();
        for collection in &collections {
            let path = context
                .scratch
                .join(format!("{}-{collection}.snapshot", self.service));
            let mut dest = File::create(&path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            let taken = qdrant.snapshot(collection, &mut dest);
            drop(dest);
            if let Err(e) = taken {
                let _ = std::fs::remove_file(&path);
                return Err(format!("collection {collection}: {e}"));
            }
            let (file, size) = open_staged(&path)?;
            let meta = EntryMeta {
                path: snapshot_path(collection),
                service: self.service.clone(),
                method: Method::QdrantSnapshot,
                engine: Some(format!("qdrant {version}")),
                collection: Some(collection.clone()),
                mode: 0o600,
                uid: nix::unistd::getuid().as_raw(),
                gid: nix::unistd::getgid().as_raw(),
                mtime: jiff::Timestamp::now().as_second(),
            };
            files.push(StagedFile { meta, file, size });
        }
        Ok(Staged {
            files,
            walk: None,
            record: TargetRecord {
                collections,
                ..self.record()
            },
        })
    }
}
