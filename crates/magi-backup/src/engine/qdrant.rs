//! Qdrant through its HTTP API, both ways. Capture: per collection, create a snapshot, download it, delete
//! the server's copy; the version from `GET /` goes into the manifest, because a snapshot restores only
//! onto the same minor version. Restore: check that version before anything is touched, save the
//! collections Qdrant holds now into the safety copy, and after the swap upload each snapshot with
//! `priority=snapshot` (which replaces the collection) and delete the collections the backup lacks; a
//! rollback loads the saved ones the same way.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;
use std::time::Instant;

use magi_core::Probe;
use serde_json::Value;

use super::{Capture, Context, EngineError, Staged, StagedFile, open_staged};
use crate::archive::{Archive, EntryMeta};
use crate::error::{BackupError, io_at};
use crate::manifest::{Method, TargetRecord};
use crate::restore::Plan;
use crate::safety::Safety;

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
    pub fn at(probe: &Probe, context: &Context) -> Result<Qdrant, EngineError> {
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

    fn json(&self, method: &str, path: &str) -> Result<Value, EngineError> {
        let url = format!("{}{path}", self.base);
        let response = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self.agent.post(&url).send_empty(),
        };
        let mut response = response.map_err(EngineError::http(format!("{method} {url}")))?;
        let status = response.status();
        let value: Value = response
            .body_mut()
            .read_json()
            .map_err(EngineError::http(format!(
                "{method} {url}: {status}, not JSON"
            )))?;
        if !status.is_success() {
            let error = value["status"]["error"]
                .as_str()
                .unwrap_or("no reason given");
            return Err(EngineError::answer(format!(
                "{method} {url}: {status}: {error}"
            )));
        }
        Ok(value)
    }

    /// The server's version, from `GET /`.
    pub fn version(&self) -> Result<String, EngineError> {
        self.json("GET", "/")?["version"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| EngineError::answer("GET /: no version in the answer"))
    }

    pub fn collections(&self) -> Result<Vec<String>, EngineError> {
        let value = self.json("GET", "/collections")?;
        Ok(value["result"]["collections"]
            .as_array()
            .ok_or_else(|| {
                EngineError::answer("GET /collections: no collection list in the answer")
            })?
            .iter()
            .filter_map(|c| c["name"].as_str().map(str::to_owned))
            .collect())
    }

    pub fn delete_collection(&self, collection: &str) -> Result<(), EngineError> {
        self.json("DELETE", &format!("/collections/{collection}"))
            .map(|_| ())
    }

    /// Snapshots a collection into `dest`, then deletes the server's copy.
    pub fn snapshot(&self, collection: &str, dest: &mut File) -> Result<(), EngineError> {
        let created = self.json(
            "POST",
            &format!("/collections/{collection}/snapshots?wait=true"),
        )?;
        let name = created["result"]["name"]
            .as_str()
            .ok_or_else(|| EngineError::answer("the snapshot answer has no name"))?
            .to_owned();
        let path = format!("/collections/{collection}/snapshots/{name}");
        let url = format!("{}{path}", self.base);
        let downloaded = (|| {
            let mut response = self
                .agent
                .get(&url)
                .call()
                .map_err(EngineError::http(format!("GET {url}")))?;
            if !response.status().is_success() {
                return Err(EngineError::answer(format!(
                    "GET {url}: {}",
                    response.status()
                )));
            }
            let mut body = response.body_mut().with_config().limit(u64::MAX).reader();
            std::io::copy(&mut body, dest)
                .and_then(|_| dest.flush())
                .map_err(EngineError::io(format!("downloading {url}")))
        })();
        let deleted = self.json("DELETE", &path);
        downloaded?;
        deleted.map(|_| ())
    }

    /// Replaces a collection with a snapshot read from `snapshot`.
    pub fn upload(
        &self,
        collection: &str,
        snapshot: impl Read + 'static,
    ) -> Result<(), EngineError> {
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
            .map_err(EngineError::http(format!("POST {url}")))?;
        if !response.status().is_success() {
            let text = response.body_mut().read_to_string().unwrap_or_default();
            return Err(EngineError::answer(format!(
                "POST {url}: {}: {text}",
                response.status()
            )));
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

    fn stage(&self, context: &Context) -> Result<Staged, EngineError> {
        let probe = self.probe.as_ref().ok_or_else(|| {
            EngineError::answer(
                "the service has no probe and the target no url: give `url = \"http://HOST:PORT\"`",
            )
        })?;
        let qdrant = Qdrant::at(probe, context)?;
        let version = qdrant.version()?;
        let collections = qdrant.collections()?;
        let mut files = Vec::new();
        for collection in &collections {
            let path = context
                .scratch
                .join(format!("{}-{collection}.snapshot", self.service));
            let mut dest = File::create(&path).map_err(EngineError::file("create", &path))?;
            let taken = qdrant.snapshot(collection, &mut dest);
            drop(dest);
            if let Err(e) = taken {
                let _ = std::fs::remove_file(&path);
                return Err(EngineError::collection(collection)(e));
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

/// Whether a downloaded snapshot is whole: a tar archive that reads to its end and holds files.
pub fn check_snapshot(path: &Path) -> Result<(), EngineError> {
    let file = File::open(path).map_err(EngineError::file("open", path))?;
    let mut tar = tar::Archive::new(file);
    let mut count = 0;
    for member in tar
        .entries()
        .map_err(EngineError::io("not a snapshot (tar)"))?
    {
        let mut member = member.map_err(EngineError::io("not a whole snapshot (tar)"))?;
        std::io::copy(&mut member, &mut std::io::sink())
            .map_err(EngineError::io("the snapshot is cut short"))?;
        count += 1;
    }
    if count == 0 {
        return Err(EngineError::answer("the snapshot holds no files"));
    }
    Ok(())
}

// The restore half: checks before a restore, the collections saved before and loaded after the swap.

/// Before a restore touches anything: Qdrant answers and runs the same minor version as the one the
/// snapshots came from.
pub fn check_versions(
    archive: &Archive,
    plan: &Plan,
    context: &Context,
) -> Result<(), BackupError> {
    for index in &plan.snapshots {
        let entry = &archive.manifest.entries[*index];
        let qdrant = qdrant_for(&entry.service, context)?;
        let running = qdrant
            .version()
            .map_err(|e| qdrant_down(&entry.service, &e))?;
        let minor = |v: &str| {
            v.trim_start_matches("qdrant ")
                .split('.')
                .take(2)
                .collect::<Vec<_>>()
                .join(".")
        };
        let taken = entry.engine.as_deref().unwrap_or_default();
        if minor(taken) != minor(&running) {
            return Err(BackupError::target(
                &entry.service,
                "qdrant snapshots",
                format!(
                    "the snapshots come from {taken} and restore only onto the same minor version; this server runs {running}"
                ),
            ));
        }
    }
    Ok(())
}

fn qdrant_for(service: &str, context: &Context) -> Result<Qdrant, BackupError> {
    let probe = context
        .config
        .service(service)
        .and_then(|s| {
            s.backup.iter().find_map(|t| match t {
                magi_core::Target::Qdrant { url } => url.clone().or_else(|| s.probe.clone()),
                _ => None,
            })
        })
        .ok_or_else(|| {
            BackupError::target(
                service,
                "qdrant snapshots",
                "the catalog has no Qdrant target for this service",
            )
        })?;
    Qdrant::at(&probe, context).map_err(BackupError::engine(service, "qdrant snapshots"))
}

/// The Qdrant services a plan replaces collections of.
pub fn qdrant_services(archive: &Archive, plan: &Plan) -> Vec<String> {
    let mut services: Vec<String> = Vec::new();
    let snapshot_services = plan
        .snapshots
        .iter()
        .map(|i| archive.manifest.entries[*i].service.as_str());
    let recorded = archive
        .manifest
        .targets
        .iter()
        .filter(|t| t.kind == "qdrant" && plan.services.contains(&t.service))
        .map(|t| t.service.as_str());
    for service in snapshot_services.chain(recorded) {
        if !services.iter().any(|s| s == service) {
            services.push(service.to_owned());
        }
    }
    services
}

/// Says that Qdrant cannot be asked, and that nothing was changed.
fn qdrant_down(service: &str, error: &EngineError) -> BackupError {
    BackupError::target(
        service,
        "qdrant snapshots",
        format!(
            "Qdrant does not answer ({error}), so its collections can be neither saved nor replaced; nothing was changed: start it (`magi health` says why it is down), or leave {service} out with --service"
        ),
    )
}

/// Saves a snapshot of every collection the Qdrant services of the plan hold now into the safety
/// directory, before anything is replaced.
pub fn save_collections(
    archive: &Archive,
    plan: &Plan,
    context: &Context,
    safety: &mut Safety,
) -> Result<(), BackupError> {
    for service in qdrant_services(archive, plan) {
        let qdrant = qdrant_for(&service, context)?;
        let collections = qdrant
            .collections()
            .map_err(|e| qdrant_down(&service, &e))?;
        let dir = safety.old_snapshots(&service);
        fs::create_dir_all(&dir).map_err(io_at("create", &dir))?;
        for collection in &collections {
            let path = dir.join(format!("{collection}.snapshot"));
            let mut out = File::create(&path).map_err(io_at("create", &path))?;
            qdrant
                .snapshot(collection, &mut out)
                .and_then(|()| out.sync_all().map_err(EngineError::file("sync", &path)))
                .map_err(|e| qdrant_down(&service, &EngineError::collection(collection)(e)))?;
        }
        safety.journal.collections.push((service, collections));
    }
    safety.save()
}

/// Replaces the collections of a Qdrant service with the snapshots in `dir` and deletes those not in
/// `keep`; waits up to a minute for Qdrant to answer first (its container may just have started).
pub fn load_collections(
    service: &str,
    dir: &Path,
    keep: &[String],
    context: &Context,
) -> Result<(), BackupError> {
    let qdrant = qdrant_for(service, context)?;
    let fail = &BackupError::engine(service, "qdrant snapshots");
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Err(e) = qdrant.version() {
        if Instant::now() > deadline {
            return Err(fail(EngineError::answer(format!(
                "Qdrant does not answer: {e}"
            ))));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    for collection in keep {
        let path = dir.join(format!("{collection}.snapshot"));
        if !path.is_file() {
            continue;
        }
        let snapshot = File::open(&path).map_err(io_at("open", &path))?;
        log::info!("{service}: restoring collection {collection}");
        qdrant
            .upload(collection, snapshot)
            .map_err(|e| fail(EngineError::collection(collection)(e)))?;
    }
    for extra in qdrant.collections().map_err(fail)? {
        if !keep.contains(&extra) {
            log::info!("{service}: deleting collection {extra}, which the backup does not have");
            qdrant.delete_collection(&extra).map_err(fail)?;
        }
    }
    Ok(())
}

/// Loads the archive's collections of every Qdrant service of the plan from the staged snapshots.
pub fn load_archive_collections(
    archive: &Archive,
    plan: &Plan,
    context: &Context,
    safety: &Safety,
) -> Result<(), BackupError> {
    for service in qdrant_services(archive, plan) {
        let keep: Vec<String> = archive
            .manifest
            .targets
            .iter()
            .filter(|t| t.service == service && t.kind == "qdrant")
            .flat_map(|t| t.collections.iter().cloned())
            .collect();
        load_collections(&service, &safety.new_snapshots(&service), &keep, context)?;
    }
    Ok(())
}
