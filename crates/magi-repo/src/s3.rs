//! The S3-compatible store: signed requests (rusty-s3) over a blocking HTTP client (ureq), with the
//! differences between providers in one table ([`Provider`]).
//!
//! Every PUT carries `Content-MD5`, so a body damaged on the way is refused by the server rather than
//! stored; the returned ETag is checked against the same digest where the server returns one. Objects
//! larger than [`MULTIPART_THRESHOLD`] go up in parts. A request that fails in a way that may pass (a
//! connection error, a timeout, 500, 502, 503, 504, 429, `SlowDown`, `RequestTimeout`) is retried with
//! exponential backoff and jitter until [`Retry::deadline`] has passed, which rides out an outage of a
//! minute; one the server means (400, 403, 404 on the bucket, a bad signature) fails at once with the
//! server's own code and message and the bucket's name. Nothing here sends the `x-amz-checksum-*`
//! headers or aws-chunked bodies that B2 and R2 refuse.

use std::time::{Duration, Instant};

use base64::Engine as _;
use magi_core::backoff::Backoff;
use magi_core::format::hex;
use md5::{Digest, Md5};
use rusty_s3::actions::CreateMultipartUpload;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use url::Url;

use crate::error::StoreError;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::store::{Counters, Listed, MAX_OBJECT, Store};

/// How long a signed URL stays valid: longer than the slowest single request.
const SIGNED_FOR: Duration = Duration::from_secs(900);
/// Objects larger than this are uploaded in parts.
pub const MULTIPART_THRESHOLD: usize = 64 << 20;
/// The size of each part of a multipart upload.
const PART_SIZE: usize = 16 << 20;
/// The most keys a listing reads: far more than a repository of many terabytes holds, far fewer than a
/// bucket stuffed with made-up names would make us keep in memory.
pub const MAX_LISTED: usize = 4_000_000;
/// The longest server error message repeated to the user.
const MAX_MESSAGE: usize = 300;

/// An S3-compatible service and what differs about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Amazon S3.
    Aws,
    /// Backblaze B2's S3-compatible API.
    B2,
    /// Wasabi.
    Wasabi,
    /// Cloudflare R2.
    R2,
    /// MinIO.
    Minio,
    /// Any other S3-compatible server (SeaweedFS, Ceph RGW, Garage, moto, s3s).
    Generic,
}

impl Provider {
    pub const ALL: [Provider; 6] = [
        Provider::Aws,
        Provider::B2,
        Provider::Wasabi,
        Provider::R2,
        Provider::Minio,
        Provider::Generic,
    ];

    /// The provider an endpoint belongs to, by its host name.
    pub fn detect(endpoint: &Url) -> Provider {
        let host = endpoint.host_str().unwrap_or_default().to_ascii_lowercase();
        if host.ends_with(".amazonaws.com") {
            Provider::Aws
        } else if host.ends_with(".backblazeb2.com") {
            Provider::B2
        } else if host.ends_with(".wasabisys.com") {
            Provider::Wasabi
        } else if host.ends_with(".r2.cloudflarestorage.com") {
            Provider::R2
        } else {
            Provider::Generic
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::B2 => "b2",
            Provider::Wasabi => "wasabi",
            Provider::R2 => "r2",
            Provider::Minio => "minio",
            Provider::Generic => "generic",
        }
    }

    pub fn parse(text: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.name() == text)
    }

    /// Virtual-hosted buckets where the provider wants them; path style for self-hosted servers, whose
    /// host names rarely have wildcard DNS.
    pub fn url_style(self) -> UrlStyle {
        match self {
            Provider::Aws | Provider::B2 | Provider::Wasabi => UrlStyle::VirtualHost,
            Provider::R2 | Provider::Minio | Provider::Generic => UrlStyle::Path,
        }
    }

    /// Whether `If-None-Match: *` on a PUT is honoured (AWS since 2024, R2, MinIO); elsewhere a HEAD
    /// comes first, which is enough for objects whose names are unique.
    pub fn conditional_writes(self) -> bool {
        matches!(self, Provider::Aws | Provider::R2 | Provider::Minio)
    }

    /// Days an object is billed for at least, however soon it is deleted (Wasabi's 90-day minimum).
    pub fn minimum_storage_days(self) -> u32 {
        match self {
            Provider::Wasabi => 90,
            _ => 0,
        }
    }
}

/// How long failing requests are retried.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub backoff: Backoff,
    /// No retry starts after this long since the first attempt.
    pub deadline: Duration,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry {
            backoff: Backoff {
                initial: Duration::from_millis(200),
                max: Duration::from_secs(8),
            },
            deadline: Duration::from_secs(120),
        }
    }
}

/// Where a bucket is and how to reach it.
#[derive(Clone)]
pub struct S3Config {
    pub endpoint: Url,
    pub bucket: String,
    pub region: String,
    /// Keys of the repository start with this (`magi/`), so a bucket can hold other things.
    pub prefix: String,
    pub provider: Provider,
    pub access_key: String,
    pub secret_key: String,
    pub retry: Retry,
    /// Object Lock: every object written is retained this many days (COMPLIANCE mode), so the backup's own
    /// credentials cannot delete or overwrite it before then. The bucket must have Object Lock enabled.
    pub lock_days: Option<u32>,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint.as_str())
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

/// A repository in an S3 bucket.
pub struct S3Store {
    bucket: Bucket,
    credentials: Credentials,
    prefix: String,
    provider: Provider,
    retry: Retry,
    agent: ureq::Agent,
    target: String,
    lock_days: Option<u32>,
    /// Requests by method (PUT, GET, HEAD, LIST, DELETE, POST), bytes up and down.
    counted: [AtomicU64; 8],
}

/// One answer of the server.
struct Answer {
    status: u16,
    body: Vec<u8>,
    etag: Option<String>,
    /// `x-amz-version-id`, on a versioned bucket.
    version: Option<String>,
}

/// What one attempt came to.
enum Attempt {
    Done(Answer),
    /// Worth another try: what went wrong.
    Again(String),
}

impl S3Store {
    pub fn new(config: &S3Config) -> Result<S3Store, StoreError> {
        let target = format!(
            "bucket '{}' at {}",
            config.bucket,
            config.endpoint.as_str().trim_end_matches('/')
        );
        let bucket = Bucket::new(
            config.endpoint.clone(),
            config.provider.url_style(),
            config.bucket.clone(),
            config.region.clone(),
        )
        .map_err(|e| StoreError::Refused {
            target: target.clone(),
            cause: format!("not a usable bucket name or endpoint: {e}"),
        })?;
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(300)))
            .build()
            .into();
        let mut prefix = config.prefix.trim_matches('/').to_owned();
        if !prefix.is_empty() {
            prefix.push('/');
        }
        Ok(S3Store {
            bucket,
            credentials: Credentials::new(config.access_key.clone(), config.secret_key.clone()),
            prefix,
            provider: config.provider,
            retry: config.retry,
            agent,
            target,
            lock_days: config.lock_days,
            counted: Default::default(),
        })
    }

    pub fn provider(&self) -> Provider {
        self.provider
    }

    fn full(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Sends one request (signed afresh by `sign` on each attempt), retrying what may pass.
    fn send(
        &self,
        method: &str,
        what: &str,
        sign: &dyn Fn() -> Url,
        headers: &[(&str, String)],
        body: Option<&[u8]>,
    ) -> Result<Answer, StoreError> {
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let cause = match self.attempt(method, &sign(), headers, body) {
                Attempt::Done(answer) => match retryable(&answer) {
                    None => return Ok(answer),
                    Some(cause) => cause,
                },
                Attempt::Again(cause) => cause,
            };
            let wait = self.retry.backoff.jittered(attempt, fastrand::f64());
            if started.elapsed() + wait > self.retry.deadline {
                return Err(StoreError::Unavailable {
                    target: self.target.clone(),
                    attempts: attempt,
                    seconds: started.elapsed().as_secs(),
                    cause: format!("{method} {what}: {cause}"),
                });
            }
            log::debug!("{method} {what}: {cause}; retrying in {wait:?}");
            std::thread::sleep(wait);
        }
    }

    fn attempt(
        &self,
        method: &str,
        url: &Url,
        headers: &[(&str, String)],
        body: Option<&[u8]>,
    ) -> Attempt {
        let slot = match method {
            "PUT" => 0,
            "GET" if url.query_pairs().any(|(k, _)| k == "list-type") => 3,
            "GET" => 1,
            "HEAD" => 2,
            "DELETE" => 4,
            _ => 5,
        };
        self.counted[slot].fetch_add(1, Ordering::Relaxed);
        self.counted[6].fetch_add(body.map_or(0, |b| b.len() as u64), Ordering::Relaxed);
        let result = match method {
            "PUT" | "POST" => {
                let mut request = if method == "PUT" {
                    self.agent.put(url.as_str())
                } else {
                    self.agent.post(url.as_str())
                };
                for (name, value) in headers {
                    request = request.header(*name, value);
                }
                request.send(body.unwrap_or_default())
            }
            _ => {
                let mut request = match method {
                    "HEAD" => self.agent.head(url.as_str()),
                    "DELETE" => self.agent.delete(url.as_str()),
                    _ => self.agent.get(url.as_str()),
                };
                for (name, value) in headers {
                    request = request.header(*name, value);
                }
                request.call()
            }
        };
        let mut response = match result {
            Ok(r) => r,
            Err(e) => return Attempt::Again(e.to_string()),
        };
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim_matches('"').to_owned());
        let version = response
            .headers()
            .get("x-amz-version-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = if method == "HEAD" {
            Vec::new()
        } else {
            match response
                .body_mut()
                .with_config()
                .limit(MAX_OBJECT)
                .read_to_vec()
            {
                Ok(bytes) => bytes,
                Err(e) => return Attempt::Again(format!("the answer was cut off: {e}")),
            }
        };
        self.counted[7].fetch_add(body.len() as u64, Ordering::Relaxed);
        Attempt::Done(Answer {
            status,
            body,
            etag,
            version,
        })
    }

    /// The error for an answer that is final and not a success.
    fn refused(&self, what: &str, answer: &Answer) -> StoreError {
        let (code, message) = error_of(&answer.body);
        let cause = match (code.as_deref(), answer.status) {
            (Some("SignatureDoesNotMatch"), _) => {
                "the secret key is wrong (SignatureDoesNotMatch): check [cloud] secret_key".to_owned()
            }
            (Some("InvalidAccessKeyId"), _) => {
                "the access key is unknown to the server (InvalidAccessKeyId): check [cloud] access_key"
                    .to_owned()
            }
            (Some("NoSuchBucket"), _) => "no such bucket (NoSuchBucket)".to_owned(),
            (Some("AccessDenied"), _) => format!(
                "access denied for {what} (AccessDenied{})",
                message.map(|m| format!(": {m}")).unwrap_or_default()
            ),
            (Some(code), status) => format!(
                "{what}: HTTP {status} {code}{}",
                message.map(|m| format!(": {m}")).unwrap_or_default()
            ),
            (None, status) => format!("{what}: HTTP {status}"),
        };
        StoreError::Refused {
            target: self.target.clone(),
            cause,
        }
    }

    /// One PUT, or a multipart upload for a large body; `md5` where the caller has it.
    fn put_sized(
        &self,
        key: &str,
        body: &[u8],
        if_absent: bool,
        md5: Option<[u8; 16]>,
    ) -> Result<(), StoreError> {
        if body.len() > MULTIPART_THRESHOLD {
            self.put_multipart(key, body)
        } else {
            let md5 = md5.unwrap_or_else(|| Md5::digest(body).into());
            self.put_whole(key, body, if_absent, md5)
        }
    }

    fn put_whole(
        &self,
        key: &str,
        body: &[u8],
        if_absent: bool,
        md5: [u8; 16],
    ) -> Result<(), StoreError> {
        let full = self.full(key);
        let content_md5 = base64::engine::general_purpose::STANDARD.encode(md5);
        let mut headers = vec![("content-md5", content_md5.clone())];
        let conditional = if_absent && self.provider.conditional_writes();
        if conditional {
            headers.push(("if-none-match", "*".to_owned()));
        }
        let lock = self.lock_headers();
        headers.extend(lock.iter().cloned());
        let sign = || {
            let mut action = self.bucket.put_object(Some(&self.credentials), &full);
            action
                .headers_mut()
                .insert("content-md5", content_md5.clone());
            if conditional {
                action.headers_mut().insert("if-none-match", "*");
            }
            for (name, value) in &lock {
                action.headers_mut().insert(*name, value.clone());
            }
            action.sign(SIGNED_FOR)
        };
        let answer = self.send("PUT", key, &sign, &headers, Some(body))?;
        match answer.status {
            200..=299 => {}
            412 => {
                return Err(StoreError::Exists {
                    target: self.target.clone(),
                    key: key.to_owned(),
                });
            }
            _ => return Err(self.refused(&format!("PUT {key}"), &answer)),
        }
        check_etag(&answer, &hex(&md5)).map_err(|cause| StoreError::Refused {
            target: self.target.clone(),
            cause: format!("PUT {key}: {cause}"),
        })
    }

    fn put_multipart(&self, key: &str, body: &[u8]) -> Result<(), StoreError> {
        let full = self.full(key);
        let lock = self.lock_headers();
        let sign_create = || {
            let mut action = self
                .bucket
                .create_multipart_upload(Some(&self.credentials), &full);
            for (name, value) in &lock {
                action.headers_mut().insert(*name, value.clone());
            }
            action.sign(SIGNED_FOR)
        };
        let answer = self.send("POST", key, &sign_create, &lock, Some(&[]))?;
        if !(200..=299).contains(&answer.status) {
            return Err(self.refused(&format!("start the multipart upload of {key}"), &answer));
        }
        let created = CreateMultipartUpload::parse_response(&answer.body).map_err(|e| {
            StoreError::Refused {
                target: self.target.clone(),
                cause: format!("start the multipart upload of {key}: an unreadable answer: {e}"),
            }
        })?;
        let upload_id = created.upload_id().to_owned();
        let outcome = (|| {
            let mut etags = Vec::new();
            for (index, part) in body.chunks(PART_SIZE).enumerate() {
                let number = u16::try_from(index + 1).expect("fewer than 10000 parts");
                let md5 = Md5::digest(part);
                let content_md5 = base64::engine::general_purpose::STANDARD.encode(md5);
                let sign = || {
                    let mut action =
                        self.bucket
                            .upload_part(Some(&self.credentials), &full, number, &upload_id);
                    action
                        .headers_mut()
                        .insert("content-md5", content_md5.clone());
                    action.sign(SIGNED_FOR)
                };
                let answer = self.send(
                    "PUT",
                    key,
                    &sign,
                    &[("content-md5", content_md5.clone())],
                    Some(part),
                )?;
                if !(200..=299).contains(&answer.status) {
                    return Err(self.refused(&format!("PUT part {number} of {key}"), &answer));
                }
                let etag = answer.etag.clone().unwrap_or_default();
                check_etag(&answer, &hex(&md5)).map_err(|cause| StoreError::Refused {
                    target: self.target.clone(),
                    cause: format!("PUT part {number} of {key}: {cause}"),
                })?;
                etags.push(etag);
            }
            let complete = self.bucket.complete_multipart_upload(
                Some(&self.credentials),
                &full,
                &upload_id,
                etags.iter().map(String::as_str),
            );
            let url = complete.sign(SIGNED_FOR);
            let xml = self
                .bucket
                .complete_multipart_upload(
                    Some(&self.credentials),
                    &full,
                    &upload_id,
                    etags.iter().map(String::as_str),
                )
                .body();
            let answer = self.send("POST", key, &|| url.clone(), &[], Some(xml.as_bytes()))?;
            // CompleteMultipartUpload can fail inside a 200 answer.
            if !(200..=299).contains(&answer.status) || error_of(&answer.body).0.is_some() {
                return Err(self.refused(&format!("complete the upload of {key}"), &answer));
            }
            Ok(())
        })();
        if outcome.is_err() {
            let sign = || {
                self.bucket
                    .abort_multipart_upload(Some(&self.credentials), &full, &upload_id)
                    .sign(SIGNED_FOR)
            };
            if let Err(e) = self.send("DELETE", key, &sign, &[], None) {
                log::warn!("cannot abort the multipart upload of {key}: {e}");
            }
        }
        outcome
    }

    /// The Object Lock headers of a write, when a retention is configured.
    fn lock_headers(&self) -> Vec<(&'static str, String)> {
        let Some(days) = self.lock_days else {
            return Vec::new();
        };
        let until = jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_hours(24 * i64::from(days)))
            .unwrap_or(jiff::Timestamp::MAX)
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        vec![
            ("x-amz-object-lock-mode", "COMPLIANCE".to_owned()),
            ("x-amz-object-lock-retain-until-date", until),
        ]
    }

    /// The ransomware drill: writes a probe object under the configured retention, then tries to delete
    /// that very version with the backup's own credentials. A bucket that protects its backups refuses.
    pub fn drill(&self) -> Result<Drill, StoreError> {
        if self.lock_days.is_none() {
            return Ok(Drill::NotConfigured);
        }
        let key = format!("drill/probe-{}", std::process::id());
        let full = self.full(&key);
        let body = b"magi-backup cloud verify --drill";
        let content_md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(body));
        let mut headers = vec![("content-md5", content_md5.clone())];
        let lock = self.lock_headers();
        headers.extend(lock.iter().cloned());
        let sign = || {
            let mut action = self.bucket.put_object(Some(&self.credentials), &full);
            action
                .headers_mut()
                .insert("content-md5", content_md5.clone());
            for (name, value) in &lock {
                action.headers_mut().insert(*name, value.clone());
            }
            action.sign(SIGNED_FOR)
        };
        let written = self.send("PUT", &key, &sign, &headers, Some(body))?;
        if !(200..=299).contains(&written.status) {
            let refused = self.refused(&format!("PUT {key} with Object Lock"), &written);
            return Ok(Drill::NoLock(refused.to_string()));
        }
        let Some(version) = written.version else {
            return Ok(Drill::NoLock(
                "the bucket gave the locked write no version: versioning and Object Lock are off"
                    .into(),
            ));
        };
        let sign = || {
            let mut action = self.bucket.delete_object(Some(&self.credentials), &full);
            action.query_mut().insert("versionId", version.clone());
            action.sign(SIGNED_FOR)
        };
        let deleted = self.send("DELETE", &key, &sign, &[], None)?;
        Ok(if (200..=299).contains(&deleted.status) {
            Drill::Deleted
        } else {
            Drill::Refused(
                error_of(&deleted.body)
                    .0
                    .unwrap_or_else(|| format!("HTTP {}", deleted.status)),
            )
        })
    }
}

impl Store for S3Store {
    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        let full = self.full(key);
        let sign = || {
            self.bucket
                .head_object(Some(&self.credentials), &full)
                .sign(SIGNED_FOR)
        };
        let answer = self.send("HEAD", key, &sign, &[], None)?;
        match answer.status {
            200..=299 => Ok(true),
            404 => Ok(false),
            _ => Err(self.refused(&format!("HEAD {key}"), &answer)),
        }
    }

    fn put(&self, key: &str, body: &[u8], if_absent: bool) -> Result<(), StoreError> {
        if if_absent && !self.provider.conditional_writes() && self.exists(key)? {
            return Err(StoreError::Exists {
                target: self.target.clone(),
                key: key.to_owned(),
            });
        }
        self.put_sized(key, body, if_absent, None)
    }

    fn put_pack(&self, key: &str, body: &[u8], md5: [u8; 16]) -> Result<(), StoreError> {
        self.put_sized(key, body, false, Some(md5))
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let full = self.full(key);
        let sign = || {
            self.bucket
                .get_object(Some(&self.credentials), &full)
                .sign(SIGNED_FOR)
        };
        let answer = self.send("GET", key, &sign, &[], None)?;
        match answer.status {
            200..=299 => Ok(Some(answer.body)),
            404 if error_of(&answer.body).0.as_deref() != Some("NoSuchBucket") => Ok(None),
            _ => Err(self.refused(&format!("GET {key}"), &answer)),
        }
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        let full = self.full(key);
        let sign = || {
            self.bucket
                .delete_object(Some(&self.credentials), &full)
                .sign(SIGNED_FOR)
        };
        let answer = self.send("DELETE", key, &sign, &[], None)?;
        match answer.status {
            200..=299 | 404 => Ok(()),
            _ => Err(self.refused(&format!("DELETE {key}"), &answer)),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<Listed>, StoreError> {
        let full_prefix = self.full(prefix);
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let sign = || {
                let mut action = self.bucket.list_objects_v2(Some(&self.credentials));
                action.with_prefix(full_prefix.as_str());
                if let Some(token) = &token {
                    action.with_continuation_token(token.as_str());
                }
                action.sign(SIGNED_FOR)
            };
            let answer = self.send("GET", &format!("the listing of {prefix}"), &sign, &[], None)?;
            if !(200..=299).contains(&answer.status) {
                return Err(self.refused(&format!("LIST {prefix}"), &answer));
            }
            let (contents, next) =
                parse_listing(&answer.body).map_err(|e| StoreError::Refused {
                    target: self.target.clone(),
                    cause: format!("LIST {prefix}: an unreadable listing: {e}"),
                })?;
            for content in contents {
                let Some(key) = content.key.strip_prefix(&self.prefix) else {
                    continue;
                };
                found.push(Listed {
                    key: key.to_owned(),
                    ..content
                });
            }
            if found.len() > MAX_LISTED {
                return Err(StoreError::Refused {
                    target: self.target.clone(),
                    cause: format!(
                        "LIST {prefix}: more than {MAX_LISTED} objects, more than a repository holds; is the prefix shared with something else?"
                    ),
                });
            }
            match next {
                Some(next) if !next.is_empty() => token = Some(next),
                _ => break,
            }
        }
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(found)
    }

    fn describe(&self) -> String {
        self.target.clone()
    }

    fn counters(&self) -> Counters {
        let n = |i: usize| self.counted[i].load(Ordering::Relaxed);
        Counters {
            put: n(0),
            get: n(1),
            head: n(2),
            list: n(3),
            delete: n(4),
            post: n(5),
            bytes_up: n(6),
            bytes_down: n(7),
        }
    }
}

/// The text of the first `<name>` element in `xml`, entities decoded.
fn element<'a>(xml: &'a str, name: &str) -> Option<std::borrow::Cow<'a, str>> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    let raw = &xml[start..end];
    if !raw.contains('&') {
        return Some(std::borrow::Cow::Borrowed(raw));
    }
    Some(std::borrow::Cow::Owned(
        raw.replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&#34;", "\"")
            .replace("&amp;", "&"),
    ))
}

/// Reads one page of a ListObjectsV2 answer: its objects and the continuation token. Written here
/// rather than taken from rusty-s3 because servers differ in what they leave out (some omit the ETag
/// rusty-s3 requires); only the key and size are needed.
fn parse_listing(body: &[u8]) -> Result<(Vec<Listed>, Option<String>), String> {
    let xml = std::str::from_utf8(body).map_err(|e| format!("not UTF-8: {e}"))?;
    if !xml.contains("<ListBucketResult") {
        return Err("not a ListBucketResult".into());
    }
    let mut found = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<Contents>") {
        let after = &rest[start + "<Contents>".len()..];
        let end = after
            .find("</Contents>")
            .ok_or("a <Contents> element is not closed")?;
        let content = &after[..end];
        let key = element(content, "Key").ok_or("an object without a <Key>")?;
        let size = element(content, "Size")
            .ok_or("an object without a <Size>")?
            .trim()
            .parse::<u64>()
            .map_err(|e| format!("a <Size> that is not a number: {e}"))?;
        found.push(Listed {
            key: key.into_owned(),
            size,
            etag: element(content, "ETag")
                .map(|e| e.trim_matches('"').to_owned())
                .unwrap_or_default(),
            modified: element(content, "LastModified").and_then(|t| t.trim().parse().ok()),
        });
        rest = &after[end..];
    }
    let truncated = element(xml, "IsTruncated").is_some_and(|t| t.trim() == "true");
    let next = element(xml, "NextContinuationToken").map(|t| t.into_owned());
    Ok((found, if truncated { next } else { None }))
}

/// What the ransomware drill found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drill {
    /// The delete of a locked version was refused (the server's code): backups are immutable.
    Refused(String),
    /// The backup's credentials deleted a locked version: the bucket does not protect its backups.
    Deleted,
    /// A locked write was refused or not versioned: Object Lock is not on for the bucket.
    NoLock(String),
    /// No `lock_days` is configured.
    NotConfigured,
}

/// Why an answer is worth retrying, if it is.
fn retryable(answer: &Answer) -> Option<String> {
    let code = error_of(&answer.body).0;
    match (answer.status, code.as_deref()) {
        (500 | 502 | 503 | 504 | 429, code) => Some(format!(
            "HTTP {}{}",
            answer.status,
            code.map(|c| format!(" {c}")).unwrap_or_default()
        )),
        (_, Some(code @ ("SlowDown" | "RequestTimeout" | "InternalError"))) => {
            Some(format!("HTTP {} {code}", answer.status))
        }
        _ => None,
    }
}

/// The `<Code>` and `<Message>` of an S3 error document, made safe to print.
fn error_of(body: &[u8]) -> (Option<String>, Option<String>) {
    let text = String::from_utf8_lossy(&body[..body.len().min(16 << 10)]);
    let field = |name: &str| {
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        let start = text.find(&open)? + open.len();
        let end = start + text[start..].find(&close)?;
        let value: String = text[start..end].chars().take(MAX_MESSAGE).collect();
        Some(magi_core::printable::printable(value.trim()).into_owned())
    };
    if !text.contains("<Error") {
        return (None, None);
    }
    (field("Code"), field("Message"))
}

/// Checks a single-part upload's ETag against the MD5 that was sent, where the server gives a plain one.
fn check_etag(answer: &Answer, md5_hex: &str) -> Result<(), String> {
    match &answer.etag {
        Some(etag) if etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit()) => {
            if etag.eq_ignore_ascii_case(md5_hex) {
                Ok(())
            } else {
                Err(format!(
                    "the server stored a body whose MD5 is {etag}, not the {md5_hex} that was sent"
                ))
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_are_told_apart_by_their_endpoints() {
        let of = |u: &str| Provider::detect(&u.parse().unwrap());
        assert_eq!(of("https://s3.eu-west-1.amazonaws.com"), Provider::Aws);
        assert_eq!(of("https://s3.us-west-004.backblazeb2.com"), Provider::B2);
        assert_eq!(
            of("https://s3.eu-central-1.wasabisys.com"),
            Provider::Wasabi
        );
        assert_eq!(
            of("https://0123abcd.r2.cloudflarestorage.com"),
            Provider::R2
        );
        assert_eq!(of("http://127.0.0.1:9000"), Provider::Generic);
        assert_eq!(
            of("https://evil.amazonaws.com.example.org"),
            Provider::Generic
        );
        for p in Provider::ALL {
            assert_eq!(Provider::parse(p.name()), Some(p));
        }
        assert_eq!(Provider::Wasabi.minimum_storage_days(), 90);
    }

    #[test]
    fn server_errors_are_read_and_sorted_into_retry_or_refuse() {
        let answer = |status, body: &str| Answer {
            status,
            body: body.as_bytes().to_vec(),
            etag: None,
            version: None,
        };
        let slow = answer(
            503,
            "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Reduce your rate</Message></Error>",
        );
        assert!(retryable(&slow).unwrap().contains("SlowDown"));
        let denied = answer(
            403,
            "<Error><Code>SignatureDoesNotMatch</Code><Message>nope\u{1b}[2J</Message></Error>",
        );
        assert_eq!(retryable(&denied), None);
        let (code, message) = error_of(&denied.body);
        assert_eq!(code.as_deref(), Some("SignatureDoesNotMatch"));
        assert!(
            !message.unwrap().contains('\u{1b}'),
            "escapes are spelled out"
        );
        assert_eq!(error_of(b"<html>502</html>"), (None, None));
        assert!(retryable(&answer(502, "<html>bad gateway</html>")).is_some());
    }

    #[test]
    fn listings_are_read_whatever_optional_fields_a_server_leaves_out() {
        let page = br#"<?xml version="1.0"?><ListBucketResult><Name>b</Name>
            <Contents><Key>magi/data/ab/x&amp;y</Key><Size>12</Size><ETag>&quot;0123&quot;</ETag>
            <LastModified>2026-12-04T07:00:00.000Z</LastModified></Contents>
            <Contents><Key>magi/index/i</Key><Size>3</Size></Contents>
            <IsTruncated>true</IsTruncated><NextContinuationToken>t1</NextContinuationToken>
            </ListBucketResult>"#;
        let (found, next) = parse_listing(page).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].key, "magi/data/ab/x&y");
        assert_eq!((found[0].size, found[0].etag.as_str()), (12, "0123"));
        assert!(found[0].modified.is_some());
        assert_eq!((found[1].etag.as_str(), found[1].modified), ("", None));
        assert_eq!(next.as_deref(), Some("t1"));
        assert!(parse_listing(b"<Error><Code>x</Code></Error>").is_err());
        assert!(parse_listing(b"<ListBucketResult><Contents><Key>k</Key>").is_err());
        assert!(parse_listing(b"<ListBucketResult><Contents><Size>1</Size></Contents>").is_err());
    }

    #[test]
    fn a_wrong_etag_is_caught_and_a_multipart_one_is_left_alone() {
        let with = |etag: &str| Answer {
            status: 200,
            body: Vec::new(),
            etag: Some(etag.into()),
            version: None,
        };
        let md5 = hex(&Md5::digest(b"pack"));
        assert!(check_etag(&with(&md5), &md5).is_ok());
        assert!(check_etag(&with(&"0".repeat(32)), &md5).is_err());
        assert!(check_etag(&with("abc-3"), &md5).is_ok());
    }
}
