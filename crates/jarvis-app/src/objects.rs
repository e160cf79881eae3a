//! The object store: one API (the `object_store` crate) over a local directory (the default,
//! `data_dir/objects`) or an S3-compatible bucket (`storage_url = "s3://bucket/prefix"`), used
//! for backups, exports, reports and uploads.
//!
//! Keys are relative paths with `/` separators (`backups/jarvis-….jsonl.gz`); the configured
//! prefix is added here. Uploads go through [`Objects::put_upload`], which enforces the size
//! limit and checks the declared content type against the allowed list and the content itself.

use crate::config::{Config, StorageConfig, StorageLocation};
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::path::Path;
use std::sync::Arc;
use thiserror::Error;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Object storage failures.
#[derive(Debug, Error)]
pub enum ObjectsError {
    /// Bad configuration or key.
    #[error("object storage: {0}")]
    Config(String),
    /// No object under this key.
    #[error("no object `{0}` in the object store")]
    NotFound(String),
    /// An upload over the size limit.
    #[error("the file is {size} bytes, over the limit of {max} bytes")]
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// An upload whose content type is not allowed or does not match its content.
    #[error("{0}")]
    ContentType(String),
    /// The storage service or directory failed.
    #[error("object storage failed: {0}")]
    Store(String),
    /// A local file could not be read or written.
    #[error("{0}")]
    Io(String),
}

fn store_err(key: &str, e: object_store::Error) -> ObjectsError {
    match e {
        object_store::Error::NotFound { .. } => ObjectsError::NotFound(key.to_string()),
        other => ObjectsError::Store(other.to_string()),
    }
}

/// One stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Its key, without the configured prefix.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time (seconds).
    pub modified: OffsetDateTime,
}

/// The object store of this installation.
#[derive(Clone)]
pub struct Objects {
    inner: Arc<dyn ObjectStore>,
    prefix: String,
    describe: String,
    upload_max: u64,
    allowed: Vec<String>,
}

impl std::fmt::Debug for Objects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Objects")
            .field("at", &self.describe)
            .finish()
    }
}

impl Objects {
    /// The object store the configuration names.
    pub fn from_config(config: &Config) -> Result<Self, ObjectsError> {
        Self::open(&config.storage)
    }

    /// The object store of a storage configuration.
    pub fn open(storage: &StorageConfig) -> Result<Self, ObjectsError> {
        let o = match &storage.location {
            StorageLocation::Dir(dir) => Self::local(dir)?,
            StorageLocation::S3 {
                bucket,
                prefix,
                endpoint,
                region,
                access_key_id,
                secret_access_key,
            } => {
                let mut b = object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(region);
                if let Some(e) = endpoint {
                    b = b
                        .with_endpoint(e)
                        .with_allow_http(e.starts_with("http://"))
                        .with_virtual_hosted_style_request(false);
                }
                if let (Some(id), Some(secret)) = (access_key_id, secret_access_key) {
                    b = b
                        .with_access_key_id(id.expose())
                        .with_secret_access_key(secret.expose());
                }
                let s3 = b.build().map_err(|e| ObjectsError::Config(e.to_string()))?;
                let describe = match endpoint {
                    Some(e) => format!("s3://{bucket}/{prefix} at {e}"),
                    None => format!("s3://{bucket}/{prefix}"),
                };
                Objects {
                    inner: Arc::new(s3),
                    prefix: prefix.trim_matches('/').to_string(),
                    describe,
                    upload_max: 0,
                    allowed: Vec::new(),
                }
            }
        };
        Ok(o.with_upload_limits(
            storage.upload_max_bytes,
            storage.upload_allowed_types.clone(),
        ))
    }

    /// A local directory (created if missing).
    pub fn local(dir: &Path) -> Result<Self, ObjectsError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            ObjectsError::Config(format!("cannot create directory {}: {e}", dir.display()))
        })?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| ObjectsError::Config(e.to_string()))?
            .with_automatic_cleanup(true);
        Ok(Objects {
            inner: Arc::new(fs),
            prefix: String::new(),
            describe: dir.display().to_string(),
            upload_max: 0,
            allowed: Vec::new(),
        })
    }

    /// Any `object_store` implementation (tests: `InMemory`).
    pub fn from_store(inner: Arc<dyn ObjectStore>, describe: impl Into<String>) -> Self {
        Objects {
            inner,
            prefix: String::new(),
            describe: describe.into(),
            upload_max: 0,
            allowed: Vec::new(),
        }
    }

    /// Sets the upload size limit and the allowed content types.
    pub fn with_upload_limits(mut self, max_bytes: u64, allowed_types: Vec<String>) -> Self {
        self.upload_max = max_bytes;
        self.allowed = allowed_types;
        self
    }

    /// Where the objects are, for messages (no credentials).
    pub fn describe(&self) -> &str {
        &self.describe
    }

    fn path(&self, key: &str) -> Result<ObjectPath, ObjectsError> {
        let key = key.trim_matches('/');
        if key.is_empty()
            || key
                .split('/')
                .any(|p| p.is_empty() || p == "." || p == "..")
        {
            return Err(ObjectsError::Config(format!("invalid object key `{key}`")));
        }
        let full = if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.prefix)
        };
        ObjectPath::parse(&full)
            .map_err(|e| ObjectsError::Config(format!("invalid object key `{key}`: {e}")))
    }

    /// Stores `data` under `key`, replacing what was there.
    pub async fn put(&self, key: &str, data: Bytes) -> Result<(), ObjectsError> {
        let path = self.path(key)?;
        self.inner
            .put(&path, PutPayload::from_bytes(data))
            .await
            .map_err(|e| store_err(key, e))?;
        Ok(())
    }

    /// Streams a local file to `key` (multipart for large files: memory stays flat).
    pub async fn put_file(&self, key: &str, file: &Path) -> Result<u64, ObjectsError> {
        let path = self.path(key)?;
        let mut f = tokio::fs::File::open(file)
            .await
            .map_err(|e| ObjectsError::Io(format!("cannot read {}: {e}", file.display())))?;
        let mut w = object_store::buffered::BufWriter::new(self.inner.clone(), path);
        let mut total = 0u64;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f
                .read(&mut buf)
                .await
                .map_err(|e| ObjectsError::Io(format!("cannot read {}: {e}", file.display())))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            w.write_all(buf.get(..n).unwrap_or_default())
                .await
                .map_err(|e| ObjectsError::Store(e.to_string()))?;
        }
        w.shutdown()
            .await
            .map_err(|e| ObjectsError::Store(e.to_string()))?;
        Ok(total)
    }

    /// The content of `key`.
    pub async fn get(&self, key: &str) -> Result<Bytes, ObjectsError> {
        let path = self.path(key)?;
        let r = self.inner.get(&path).await.map_err(|e| store_err(key, e))?;
        r.bytes().await.map_err(|e| store_err(key, e))
    }

    /// Streams `key` into a local file (memory stays flat); answers its size.
    pub async fn get_to_file(&self, key: &str, file: &Path) -> Result<u64, ObjectsError> {
        let path = self.path(key)?;
        let r = self.inner.get(&path).await.map_err(|e| store_err(key, e))?;
        let mut out = tokio::fs::File::create(file)
            .await
            .map_err(|e| ObjectsError::Io(format!("cannot write {}: {e}", file.display())))?;
        let mut stream = r.into_stream();
        let mut total = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| store_err(key, e))?;
            total += chunk.len() as u64;
            out.write_all(&chunk)
                .await
                .map_err(|e| ObjectsError::Io(format!("cannot write {}: {e}", file.display())))?;
        }
        out.flush()
            .await
            .map_err(|e| ObjectsError::Io(format!("cannot write {}: {e}", file.display())))?;
        Ok(total)
    }

    /// Every object whose key starts with the folder `prefix` (e.g. `backups`), sorted by key.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, ObjectsError> {
        let path = if prefix.trim_matches('/').is_empty() {
            if self.prefix.is_empty() {
                None
            } else {
                Some(ObjectPath::from(self.prefix.as_str()))
            }
        } else {
            Some(self.path(prefix)?)
        };
        let metas: Vec<object_store::ObjectMeta> = self
            .inner
            .list(path.as_ref())
            .try_collect()
            .await
            .map_err(|e| store_err(prefix, e))?;
        let strip = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let mut out: Vec<ObjectInfo> = metas
            .into_iter()
            .map(|m| ObjectInfo {
                key: m
                    .location
                    .as_ref()
                    .strip_prefix(&strip)
                    .unwrap_or(m.location.as_ref())
                    .to_string(),
                size: m.size,
                modified: OffsetDateTime::from_unix_timestamp(m.last_modified.timestamp())
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// Deletes `key` (deleting a missing key is not an error).
    pub async fn delete(&self, key: &str) -> Result<(), ObjectsError> {
        let path = self.path(key)?;
        match self.inner.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_err(key, e)),
        }
    }

    /// Stores an upload after checking its size against `upload_max_bytes`, its declared
    /// content type against `upload_allowed_types`, and that the content is what the type says
    /// (magic bytes for images and PDF, UTF-8 for text, a parse for JSON).
    pub async fn put_upload(
        &self,
        key: &str,
        content_type: &str,
        data: Bytes,
    ) -> Result<(), ObjectsError> {
        check_upload(&data, content_type, self.upload_max, &self.allowed)?;
        self.put(key, data).await
    }
}

/// The upload checks of [`Objects::put_upload`].
pub fn check_upload(
    data: &[u8],
    content_type: &str,
    max: u64,
    allowed: &[String],
) -> Result<(), ObjectsError> {
    let size = data.len() as u64;
    if size > max {
        return Err(ObjectsError::TooLarge { size, max });
    }
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if !allowed.contains(&essence) {
        return Err(ObjectsError::ContentType(format!(
            "content type `{essence}` is not accepted (accepted: {})",
            allowed.join(", ")
        )));
    }
    let sniffed = sniff(data);
    let ok = match essence.as_str() {
        "image/png" => sniffed == Some("image/png"),
        "image/jpeg" => sniffed == Some("image/jpeg"),
        "application/pdf" => sniffed == Some("application/pdf"),
        "application/json" => serde_json::from_slice::<serde_json::Value>(data).is_ok(),
        t if t.starts_with("text/") => {
            sniffed.is_none() && std::str::from_utf8(data).is_ok() && !data.contains(&0)
        }
        // Other allowed types: at least not one of the types recognised above in disguise.
        _ => sniffed.is_none(),
    };
    if ok {
        Ok(())
    } else {
        Err(ObjectsError::ContentType(format!(
            "the content is not {essence}{}",
            sniffed
                .map(|s| format!(" (it looks like {s})"))
                .unwrap_or_default()
        )))
    }
}

/// The type recognised from the first bytes, if any.
fn sniff(data: &[u8]) -> Option<&'static str> {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"%PDF-", "application/pdf"),
        (b"GIF8", "image/gif"),
        (b"PK\x03\x04", "application/zip"),
        (b"\x1f\x8b", "application/gzip"),
        (b"\x7fELF", "application/x-executable"),
        (b"MZ", "application/x-msdownload"),
    ];
    MAGIC
        .iter()
        .find(|(m, _)| data.starts_with(m))
        .map(|(_, t)| *t)
}
