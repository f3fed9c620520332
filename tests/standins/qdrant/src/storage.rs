//! The stand-in's storage: collections with their points, and per-collection snapshots, as files.
//!
//! Layout under the storage directory, shaped after Qdrant's own: `collections/{c}/config.json` (vector size
//! and distance) and `collections/{c}/points.json` (the points in id order); `snapshots/{c}/{name}` (a tar of
//! the collection's directory) beside `{name}.checksum` (its SHA-256 in hex). Every change is written to disk
//! before it is acknowledged, so a container restart keeps the data, as Qdrant's does.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Why a request cannot be carried out; rendered in Qdrant's error envelope with the matching status.
#[derive(Debug)]
pub enum StoreError {
    /// 404: the collection or snapshot does not exist.
    NotFound(String),
    /// 400: the request is malformed or does not fit the collection.
    BadInput(String),
    /// 409: the collection exists already.
    Conflict(String),
    /// 500: the disk failed us.
    Io(String),
}

impl From<io::Error> for StoreError {
    fn from(e: io::Error) -> Self {
        StoreError::Io(format!("Service internal error: {e}"))
    }
}

impl StoreError {
    pub fn status(&self) -> u16 {
        match self {
            StoreError::NotFound(_) => 404,
            StoreError::BadInput(_) => 400,
            StoreError::Conflict(_) => 409,
            StoreError::Io(_) => 500,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            StoreError::NotFound(m)
            | StoreError::BadInput(m)
            | StoreError::Conflict(m)
            | StoreError::Io(m) => m,
        }
    }
}

/// The vector parameters of a collection, as `PUT /collections/{c}` gives them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorParams {
    pub size: usize,
    pub distance: String,
}

/// One stored point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub id: Value,
    pub vector: Vec<f32>,
    #[serde(default)]
    pub payload: serde_json::Map<String, Value>,
}

/// What Qdrant reports about a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotInfo {
    pub name: String,
    pub creation_time: String,
    pub size: u64,
    pub checksum: String,
}

/// The storage directory and the operations on it.
#[derive(Debug)]
pub struct Storage {
    root: PathBuf,
}

const DISTANCES: [&str; 4] = ["Cosine", "Euclid", "Dot", "Manhattan"];

impl Storage {
    /// Opens (and creates) a storage directory.
    pub fn open(root: &Path) -> io::Result<Storage> {
        fs::create_dir_all(root.join("collections"))?;
        fs::create_dir_all(root.join("snapshots"))?;
        Ok(Storage {
            root: root.to_owned(),
        })
    }

    fn collection_dir(&self, name: &str) -> PathBuf {
        self.root.join("collections").join(name)
    }

    fn snapshot_dir(&self, name: &str) -> PathBuf {
        self.root.join("snapshots").join(name)
    }

    /// The names of all collections, sorted.
    pub fn collections(&self) -> Result<Vec<String>, StoreError> {
        let mut names = Vec::new();
        for entry in fs::read_dir(self.root.join("collections"))? {
            let entry = entry?;
            if entry.path().join("config.json").is_file() {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Creates a collection; an existing one is a conflict, as in Qdrant.
    pub fn create(&self, name: &str, params: &VectorParams) -> Result<(), StoreError> {
        check_name(name)?;
        if params.size == 0 {
            return Err(StoreError::BadInput(
                "Wrong input: vector size must be greater than 0".into(),
            ));
        }
        if !DISTANCES.contains(&params.distance.as_str()) {
            return Err(StoreError::BadInput(format!(
                "Wrong input: unknown distance '{}' (Cosine, Euclid, Dot, Manhattan)",
                params.distance
            )));
        }
        if self.exists(name) {
            return Err(StoreError::Conflict(format!(
                "Wrong input: Collection `{name}` already exists!"
            )));
        }
        let dir = self.collection_dir(name);
        fs::create_dir_all(&dir)?;
        write_json(&dir.join("points.json"), &Vec::<Point>::new())?;
        write_json(&dir.join("config.json"), params)?;
        Ok(())
    }

    fn exists(&self, name: &str) -> bool {
        self.collection_dir(name).join("config.json").is_file()
    }

    fn require(&self, name: &str) -> Result<PathBuf, StoreError> {
        check_name(name)?;
        if self.exists(name) {
            Ok(self.collection_dir(name))
        } else {
            Err(StoreError::NotFound(format!(
                "Not found: Collection `{name}` doesn't exist!"
            )))
        }
    }

    /// A collection's vector parameters.
    pub fn params(&self, name: &str) -> Result<VectorParams, StoreError> {
        read_json(&self.require(name)?.join("config.json"))
    }

    /// A collection's points, in id order.
    pub fn points(&self, name: &str) -> Result<Vec<Point>, StoreError> {
        read_json(&self.require(name)?.join("points.json"))
    }

    /// Deletes a collection; `false` if there was none. Its snapshots stay, and can still be downloaded,
    /// deleted or recovered from.
    pub fn delete(&self, name: &str) -> Result<bool, StoreError> {
        check_name(name)?;
        if !self.exists(name) {
            return Ok(false);
        }
        fs::remove_dir_all(self.collection_dir(name))?;
        Ok(true)
    }

    /// Inserts or replaces points by id.
    pub fn upsert(&self, name: &str, new: Vec<Point>) -> Result<(), StoreError> {
        let dir = self.require(name)?;
        let params = self.params(name)?;
        if let Some(bad) = new.iter().find(|p| p.vector.len() != params.size) {
            return Err(StoreError::BadInput(format!(
                "Wrong input: Vector dimension error: expected dim: {}, got {}",
                params.size,
                bad.vector.len()
            )));
        }
        if let Some(bad) = new.iter().find(|p| id_key(&p.id).is_none()) {
            return Err(StoreError::BadInput(format!(
                "Wrong input: point id {} is neither an unsigned integer nor a UUID",
                bad.id
            )));
        }
        let mut points = self.points(name)?;
        for point in new {
            points.retain(|p| p.id != point.id);
            points.push(point);
        }
        points.sort_by_key(|p| id_key(&p.id));
        write_json(&dir.join("points.json"), &points)?;
        Ok(())
    }

    /// Writes a snapshot of a collection: a tar of its directory, with a checksum beside it.
    pub fn create_snapshot(&self, name: &str) -> Result<SnapshotInfo, StoreError> {
        let dir = self.require(name)?;
        let now = jiff::Timestamp::now();
        let stamp = now.strftime("%Y-%m-%d-%H-%M-%S").to_string();
        let snapshot_dir = self.snapshot_dir(name);
        fs::create_dir_all(&snapshot_dir)?;
        let mut serial = u64::from(now.subsec_nanosecond().unsigned_abs());
        let mut file_name = format!("{name}-{serial}-{stamp}.snapshot");
        while snapshot_dir.join(&file_name).exists() {
            serial += 1;
            file_name = format!("{name}-{serial}-{stamp}.snapshot");
        }
        let mut builder = tar::Builder::new(Vec::new());
        builder.mode(tar::HeaderMode::Deterministic);
        builder.append_dir_all(".", &dir)?;
        let bytes = builder.into_inner()?;
        let checksum = hex_sha256(&bytes);
        let path = snapshot_dir.join(&file_name);
        write_atomically(&path, &bytes)?;
        write_atomically(&checksum_path(&path), checksum.as_bytes())?;
        self.snapshot_info(&path)
    }

    fn snapshot_info(&self, path: &Path) -> Result<SnapshotInfo, StoreError> {
        let metadata = fs::metadata(path)?;
        let checksum = match fs::read_to_string(checksum_path(path)) {
            Ok(sum) => sum.trim().to_owned(),
            Err(_) => hex_sha256(&fs::read(path)?),
        };
        let modified = metadata
            .modified()
            .ok()
            .and_then(|t| jiff::Timestamp::try_from(t).ok())
            .unwrap_or_else(jiff::Timestamp::now);
        Ok(SnapshotInfo {
            name: file_name(path),
            creation_time: modified.strftime("%Y-%m-%dT%H:%M:%S").to_string(),
            size: metadata.len(),
            checksum,
        })
    }

    /// The snapshots of a collection, oldest first.
    pub fn snapshots(&self, name: &str) -> Result<Vec<SnapshotInfo>, StoreError> {
        self.require(name)?;
        let dir = self.snapshot_dir(name);
        let mut infos = Vec::new();
        if dir.is_dir() {
            for entry in fs::read_dir(&dir)? {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "snapshot") {
                    infos.push(self.snapshot_info(&path)?);
                }
            }
        }
        infos.sort_by(|a, b| (&a.creation_time, &a.name).cmp(&(&b.creation_time, &b.name)));
        Ok(infos)
    }

    /// The path of one snapshot file, if it exists.
    pub fn snapshot_path(&self, name: &str, snapshot: &str) -> Result<PathBuf, StoreError> {
        check_name(name)?;
        check_name(snapshot)?;
        let path = self.snapshot_dir(name).join(snapshot);
        if path.is_file() {
            Ok(path)
        } else {
            Err(StoreError::NotFound(format!(
                "Not found: Snapshot {snapshot} of collection {name} not found"
            )))
        }
    }

    /// Deletes one snapshot and its checksum.
    pub fn delete_snapshot(&self, name: &str, snapshot: &str) -> Result<(), StoreError> {
        let path = self.snapshot_path(name, snapshot)?;
        fs::remove_file(&path)?;
        match fs::remove_file(checksum_path(&path)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Replaces a collection's data with a snapshot's (creating the collection if needed). The snapshot is
    /// checked whole before anything is replaced; `checksum`, when given, must match its SHA-256.
    pub fn restore(
        &self,
        name: &str,
        snapshot: &[u8],
        checksum: Option<&str>,
    ) -> Result<(), StoreError> {
        check_name(name)?;
        if let Some(expected) = checksum {
            let actual = hex_sha256(snapshot);
            if !actual.eq_ignore_ascii_case(expected) {
                return Err(StoreError::BadInput(format!(
                    "Wrong input: Snapshot checksum mismatch: expected {expected}, got {actual}"
                )));
            }
        }
        let staging = self.root.join(format!(".restore-{name}"));
        if staging.exists() {
            fs::remove_dir_all(&staging)?;
        }
        fs::create_dir_all(&staging)?;
        let unpacked = tar::Archive::new(snapshot)
            .unpack(&staging)
            .map_err(|e| StoreError::BadInput(format!("Wrong input: invalid snapshot: {e}")));
        let checked = unpacked.and_then(|()| {
            let params: VectorParams = read_json(&staging.join("config.json"))?;
            let points: Vec<Point> = read_json(&staging.join("points.json"))?;
            if points.iter().any(|p| p.vector.len() != params.size) {
                return Err(StoreError::BadInput(
                    "Wrong input: invalid snapshot: a point does not match the vector size".into(),
                ));
            }
            Ok(())
        });
        if let Err(e) = checked {
            fs::remove_dir_all(&staging)?;
            return Err(e);
        }
        let dir = self.collection_dir(name);
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::rename(&staging, &dir)?;
        Ok(())
    }
}

/// Names become path segments: keep them to one plain segment.
fn check_name(name: &str) -> Result<(), StoreError> {
    if name.is_empty() || name.contains('/') || name.contains('\0') || name.starts_with('.') {
        Err(StoreError::BadInput(format!(
            "Wrong input: invalid name '{name}'"
        )))
    } else {
        Ok(())
    }
}

/// Qdrant orders points by id: integers first, numerically, then UUIDs.
fn id_key(id: &Value) -> Option<(u8, u64, String)> {
    match id {
        Value::Number(n) => n.as_u64().map(|n| (0, n, String::new())),
        Value::String(s) if is_uuid(s) => Some((1, 0, s.to_ascii_lowercase())),
        _ => None,
    }
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn checksum_path(snapshot: &Path) -> PathBuf {
    let mut name = snapshot.as_os_str().to_owned();
    name.push(".checksum");
    PathBuf::from(name)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, StoreError> {
    let text = fs::read(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => StoreError::BadInput(format!(
            "Wrong input: invalid snapshot: {} is missing",
            file_name(path)
        )),
        _ => e.into(),
    })?;
    serde_json::from_slice(&text).map_err(|e| {
        StoreError::BadInput(format!(
            "Wrong input: invalid snapshot: {}: {e}",
            file_name(path)
        ))
    })
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| StoreError::Io(format!("Service internal error: {e}")))?;
    Ok(write_atomically(path, &bytes)?)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(".tmp");
    fs::write(&temp, bytes)?;
    fs::rename(&temp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn point(id: Value, vector: Vec<f32>, text: &str) -> Point {
        let payload = json!({ "text": text }).as_object().cloned().unwrap();
        Point {
            id,
            vector,
            payload,
        }
    }

    fn params() -> VectorParams {
        VectorParams {
            size: 3,
            distance: "Cosine".into(),
        }
    }

    #[test]
    fn a_snapshot_restores_the_collection_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        storage.create("memories", &params()).unwrap();
        let before = vec![
            point(json!(2), vec![0.1, 0.2, 0.3], "second"),
            point(
                json!("6f1f4c1e-8f0a-4d7e-9a55-0c1d2e3f4a5b"),
                vec![1.0, 0.0, 0.0],
                "uuid",
            ),
            point(json!(1), vec![0.3, 0.2, 0.1], "first"),
        ];
        storage.upsert("memories", before).unwrap();
        let info = storage.create_snapshot("memories").unwrap();
        let path = storage.snapshot_path("memories", &info.name).unwrap();
        assert!(path.starts_with(dir.path().join("snapshots/memories")));
        let bytes = fs::read(&path).unwrap();
        assert_eq!(info.checksum, hex_sha256(&bytes));
        assert_eq!(info.size, bytes.len() as u64);
        let saved = storage.points("memories").unwrap();
        assert_eq!(saved[0].id, json!(1), "integer ids first, in order");

        storage
            .upsert(
                "memories",
                vec![point(json!(9), vec![0.0, 0.0, 1.0], "later")],
            )
            .unwrap();
        assert_eq!(storage.points("memories").unwrap().len(), 4);
        storage
            .restore("memories", &bytes, Some(&info.checksum))
            .unwrap();
        assert_eq!(storage.points("memories").unwrap(), saved);

        storage.restore("copy", &bytes, None).unwrap();
        assert_eq!(storage.params("copy").unwrap(), params());
        assert_eq!(storage.points("copy").unwrap(), saved);
        assert_eq!(storage.collections().unwrap(), ["copy", "memories"]);

        assert_eq!(
            storage.snapshots("memories").unwrap(),
            std::slice::from_ref(&info)
        );
        storage.delete_snapshot("memories", &info.name).unwrap();
        assert!(storage.snapshots("memories").unwrap().is_empty());
        assert!(matches!(
            storage.snapshot_path("memories", &info.name),
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn a_bad_snapshot_leaves_the_collection_alone() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        storage.create("c", &params()).unwrap();
        storage
            .upsert("c", vec![point(json!(1), vec![1.0, 2.0, 3.0], "kept")])
            .unwrap();
        let info = storage.create_snapshot("c").unwrap();
        let bytes = fs::read(storage.snapshot_path("c", &info.name).unwrap()).unwrap();
        let err = storage
            .restore("c", &bytes, Some(&"0".repeat(64)))
            .unwrap_err();
        assert!(err.message().contains("checksum mismatch"), "{err:?}");
        let err = storage.restore("c", b"not a tar", None).unwrap_err();
        assert_eq!(err.status(), 400, "{err:?}");
        assert_eq!(storage.points("c").unwrap().len(), 1);
    }

    #[test]
    fn upsert_checks_dimensions_and_ids() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        storage.create("c", &params()).unwrap();
        let err = storage
            .upsert("c", vec![point(json!(1), vec![1.0], "short")])
            .unwrap_err();
        assert_eq!(
            err.message(),
            "Wrong input: Vector dimension error: expected dim: 3, got 1"
        );
        let err = storage
            .upsert("c", vec![point(json!("nope"), vec![1.0, 2.0, 3.0], "x")])
            .unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(matches!(
            storage.create("c", &params()),
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            storage.points("nope"),
            Err(StoreError::NotFound(_))
        ));
        assert!(storage.delete("c").unwrap());
        assert!(!storage.delete("c").unwrap());
    }
}
