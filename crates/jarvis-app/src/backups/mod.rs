//! Backups, exports and imports of a whole installation.
//!
//! One portable format ([`format`]) serves both: `jarvis export FILE` / `jarvis import FILE`
//! move an installation between SQLite and PostgreSQL, and a backup is an export stored in the
//! object store under `backups/` with its manifest beside it. On SQLite the backup is taken
//! from a `VACUUM INTO` snapshot (consistent while writes continue); on PostgreSQL from one
//! repeatable-read transaction as the owner connection (every tenant's rows).
//!
//! Retention keeps the newest backup of each of the last `keep_daily` days with a backup, plus
//! the newest of each of the `keep_weekly` ISO weeks before the oldest daily one.

pub mod format;

use crate::config::Config;
use crate::objects::{Objects, ObjectsError};
use format::{FormatError, ImportOptions, Manifest, OnProgress};
use jarvis_store::{Backend, ConnectOptions, Store, StoreError};
use std::collections::BTreeSet;
use std::io::{BufReader, BufWriter};
use std::path::Path;
use std::sync::Arc;
use thiserror::Error;
use time::OffsetDateTime;
use time::macros::format_description;

/// Backup failures.
#[derive(Debug, Error)]
pub enum BackupError {
    /// The export or import failed.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The object store failed.
    #[error(transparent)]
    Objects(#[from] ObjectsError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A local file failed.
    #[error("{0}")]
    Io(String),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Open(#[from] crate::store::OpenError),
    /// No such backup.
    #[error("no backup `{0}` (see `jarvis backup list`)")]
    NotFound(String),
    /// A verification found differences.
    #[error("backup {id} does not restore identically: {}", differences.join("; "))]
    Differs {
        /// The backup.
        id: String,
        /// What differs.
        differences: Vec<String>,
    },
}

fn io(e: std::io::Error) -> BackupError {
    BackupError::Io(e.to_string())
}

/// Folder of the backups in the object store.
pub const PREFIX: &str = "backups";

/// Writes a gzip-compressed export of `store` to `file`.
pub async fn export_file(
    store: &dyn Store,
    file: &Path,
    on_progress: OnProgress<'_>,
) -> Result<Manifest, BackupError> {
    let reader = store.dump_reader().await?;
    let f = std::fs::File::create(file)
        .map_err(|e| BackupError::Io(format!("cannot create {}: {e}", file.display())))?;
    let mut gz = flate2::write::GzEncoder::new(BufWriter::new(f), flate2::Compression::fast());
    let manifest = format::export(reader, &mut gz, on_progress).await?;
    let inner = gz.finish().map_err(io)?;
    let f = inner
        .into_inner()
        .map_err(|e| BackupError::Io(e.to_string()))?;
    f.sync_all().map_err(io)?;
    Ok(manifest)
}

/// Loads a gzip-compressed export from `file` into `store` (see [`format::import`]).
pub async fn import_file(
    store: &dyn Store,
    file: &Path,
    opts: ImportOptions,
    on_progress: OnProgress<'_>,
) -> Result<Manifest, BackupError> {
    let f = std::fs::File::open(file)
        .map_err(|e| BackupError::Io(format!("cannot read {}: {e}", file.display())))?;
    let mut r = BufReader::new(flate2::read::GzDecoder::new(BufReader::new(f)));
    let loader = store.dump_loader().await?;
    Ok(format::import(loader, &mut r, opts, on_progress).await?)
}

/// Row counts and checksums of every table of `store`.
pub async fn checksums(store: &dyn Store) -> Result<Manifest, BackupError> {
    Ok(format::checksums(store.dump_reader().await?).await?)
}

/// A stored backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupEntry {
    /// Its id (`jarvis-20261130T021500123Z`).
    pub id: String,
    /// When it was taken.
    pub at: OffsetDateTime,
    /// Compressed size in bytes.
    pub size: u64,
    /// Whether its manifest is there.
    pub has_manifest: bool,
}

const ID_TIME: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second][subsecond digits:3]Z");

/// The id of a backup taken at `at`.
pub fn backup_id(at: OffsetDateTime) -> String {
    let t = at.to_offset(time::UtcOffset::UTC);
    format!("jarvis-{}", t.format(ID_TIME).unwrap_or_default())
}

fn time_of(id: &str) -> Option<OffsetDateTime> {
    let t = id.strip_prefix("jarvis-")?;
    time::PrimitiveDateTime::parse(t, ID_TIME)
        .ok()
        .map(|p| p.assume_utc())
}

fn data_key(id: &str) -> String {
    format!("{PREFIX}/{id}.jsonl.gz")
}

fn manifest_key(id: &str) -> String {
    format!("{PREFIX}/{id}.manifest.json")
}

/// What `create` did.
#[derive(Debug, Clone)]
pub struct Created {
    /// The backup's id.
    pub id: String,
    /// Its manifest.
    pub manifest: Manifest,
    /// Compressed size in bytes.
    pub size: u64,
}

/// Takes a backup of `store` into `objects`, using `scratch` for temporary files.
pub async fn create(
    store: &dyn Store,
    objects: &Objects,
    scratch: &Path,
    on_progress: OnProgress<'_>,
) -> Result<Created, BackupError> {
    std::fs::create_dir_all(scratch).map_err(io)?;
    let dir = tempfile::Builder::new()
        .prefix("backup-")
        .tempdir_in(scratch)
        .map_err(io)?;
    let id = backup_id(OffsetDateTime::now_utc());
    let file = dir.path().join("backup.jsonl.gz");
    let manifest = match store.backend() {
        Backend::Sqlite => {
            // A consistent copy while writes go on, then a read of the copy.
            let snap = dir.path().join("snapshot.db");
            store.snapshot_into(&snap).await?;
            let mut opts = ConnectOptions::new(format!("sqlite://{}", snap.display()));
            opts.max_connections = 1;
            let copy = jarvis_store::connect(&opts).await?;
            let m = export_file(copy.as_ref(), &file, on_progress).await;
            copy.close().await;
            m?
        }
        Backend::Postgres => export_file(store, &file, on_progress).await?,
    };
    let size = objects.put_file(&data_key(&id), &file).await?;
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Io(e.to_string()))?;
    objects.put(&manifest_key(&id), json.into()).await?;
    Ok(Created { id, manifest, size })
}

/// Every backup in `objects`, newest first.
pub async fn list(objects: &Objects) -> Result<Vec<BackupEntry>, BackupError> {
    let all = objects.list(PREFIX).await?;
    let mut out = Vec::new();
    for o in &all {
        let Some(name) = o.key.strip_prefix(&format!("{PREFIX}/")) else {
            continue;
        };
        let Some(id) = name.strip_suffix(".jsonl.gz") else {
            continue;
        };
        let Some(at) = time_of(id) else {
            continue;
        };
        out.push(BackupEntry {
            id: id.to_string(),
            at,
            size: o.size,
            has_manifest: all.iter().any(|m| m.key == manifest_key(id)),
        });
    }
    out.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.id.cmp(&a.id)));
    Ok(out)
}

/// The stored manifest of a backup.
pub async fn manifest(objects: &Objects, id: &str) -> Result<Manifest, BackupError> {
    let bytes = match objects.get(&manifest_key(id)).await {
        Err(ObjectsError::NotFound(_)) => return Err(BackupError::NotFound(id.into())),
        r => r?,
    };
    serde_json::from_slice(&bytes)
        .map_err(|e| BackupError::Format(FormatError::Invalid(format!("bad manifest: {e}"))))
}

async fn download(
    objects: &Objects,
    id: &str,
    dir: &Path,
) -> Result<std::path::PathBuf, BackupError> {
    let file = dir.join("backup.jsonl.gz");
    match objects.get_to_file(&data_key(id), &file).await {
        Err(ObjectsError::NotFound(_)) => Err(BackupError::NotFound(id.into())),
        r => r.map(|_| file).map_err(Into::into),
    }
}

/// The result of a verification.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The backup's manifest, matched by the restored copy.
    pub manifest: Manifest,
}

/// Restores a backup into a scratch SQLite database (under `scratch`) and compares its row
/// counts and checksums with the backup's manifest.
pub async fn verify(objects: &Objects, id: &str, scratch: &Path) -> Result<Verified, BackupError> {
    std::fs::create_dir_all(scratch).map_err(io)?;
    let dir = tempfile::Builder::new()
        .prefix("verify-")
        .tempdir_in(scratch)
        .map_err(io)?;
    let expected = manifest(objects, id).await?;
    let file = download(objects, id, dir.path()).await?;
    let mut opts = ConnectOptions::new(format!(
        "sqlite://{}",
        dir.path().join("scratch.db").display()
    ));
    opts.max_connections = 2;
    let db = jarvis_store::connect(&opts).await?;
    let result = async {
        db.migrate().await?;
        import_file(db.as_ref(), &file, ImportOptions::default(), &|_| {}).await?;
        let got = checksums(db.as_ref()).await?;
        let differences = expected.differences(&got);
        if differences.is_empty() {
            Ok(Verified { manifest: expected })
        } else {
            Err(BackupError::Differs {
                id: id.into(),
                differences,
            })
        }
    }
    .await;
    db.close().await;
    result
}

/// Restores a backup into `store` (refused when it holds data, unless `force_empty`).
pub async fn restore(
    store: &dyn Store,
    objects: &Objects,
    id: &str,
    scratch: &Path,
    opts: ImportOptions,
    on_progress: OnProgress<'_>,
) -> Result<Manifest, BackupError> {
    std::fs::create_dir_all(scratch).map_err(io)?;
    let dir = tempfile::Builder::new()
        .prefix("restore-")
        .tempdir_in(scratch)
        .map_err(io)?;
    let file = download(objects, id, dir.path()).await?;
    import_file(store, &file, opts, on_progress).await
}

/// The ids retention keeps: the newest backup of each of the last `keep_daily` days (UTC) that
/// have one, then the newest of each of the `keep_weekly` ISO weeks that have one among the
/// backups older than the oldest daily backup kept.
pub fn retained(entries: &[BackupEntry], keep_daily: u32, keep_weekly: u32) -> BTreeSet<String> {
    let mut sorted: Vec<&BackupEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.id.cmp(&a.id)));
    let mut keep = BTreeSet::new();
    let mut days = BTreeSet::new();
    let mut oldest_daily: Option<OffsetDateTime> = None;
    for e in &sorted {
        if days.len() >= keep_daily as usize {
            break;
        }
        if days.insert(e.at.date()) {
            keep.insert(e.id.clone());
            oldest_daily = Some(e.at);
        }
    }
    let mut weeks = BTreeSet::new();
    for e in &sorted {
        if weeks.len() >= keep_weekly as usize {
            break;
        }
        if let Some(o) = oldest_daily
            && (e.at >= o || e.at.date() == o.date())
        {
            continue;
        }
        let (y, w, _) = e.at.date().to_iso_week_date();
        if weeks.insert((y, w)) {
            keep.insert(e.id.clone());
        }
    }
    keep
}

/// Deletes the backups retention does not keep; answers the deleted ids.
pub async fn apply_retention(
    objects: &Objects,
    keep_daily: u32,
    keep_weekly: u32,
) -> Result<Vec<String>, BackupError> {
    let entries = list(objects).await?;
    let keep = retained(&entries, keep_daily, keep_weekly);
    let mut deleted = Vec::new();
    for e in entries.iter().filter(|e| !keep.contains(&e.id)) {
        objects.delete(&data_key(&e.id)).await?;
        objects.delete(&manifest_key(&e.id)).await?;
        deleted.push(e.id.clone());
    }
    Ok(deleted)
}

/// The daily backup job: a backup, then retention.
pub const BACKUP_DAILY: crate::jobs::JobSpec = crate::jobs::JobSpec::new(
    "backups.daily",
    "back up the database to the object store, then apply retention",
)
.schedule("23 2 * * *")
.lease(time::Duration::minutes(10))
.retry(jarvis_core::model::RetryPolicy {
    max_attempts: 3,
    base_delay: time::Duration::minutes(5),
    max_delay: time::Duration::minutes(30),
});

/// Binds [`BACKUP_DAILY`] to its handler.
pub fn register(
    registry: &mut crate::jobs::Registry,
    store: Arc<dyn Store>,
    config: &Config,
) -> Result<(), crate::jobs::RegistryError> {
    let storage = config.storage.clone();
    let scratch = config.data_dir.join("tmp");
    let backup = config.backup;
    registry.register(BACKUP_DAILY, move |_, _| {
        let store = store.clone();
        let storage = storage.clone();
        let scratch = scratch.clone();
        async move {
            let objects = Objects::open(&storage).map_err(crate::jobs::JobError::permanent)?;
            let made = create(store.as_ref(), &objects, &scratch, &|_| {})
                .await
                .map_err(crate::jobs::JobError::retryable)?;
            tracing::info!(
                backup = %made.id,
                rows = made.manifest.total_rows(),
                bytes = made.size,
                at = objects.describe(),
                "backup taken"
            );
            let deleted = apply_retention(&objects, backup.keep_daily, backup.keep_weekly)
                .await
                .map_err(crate::jobs::JobError::retryable)?;
            if !deleted.is_empty() {
                tracing::info!(deleted = deleted.len(), "old backups deleted by retention");
            }
            Ok(())
        }
    })
}

/// The scratch directory of backups, verifications and restores (`data_dir/tmp`).
pub fn scratch_dir(config: &Config) -> std::path::PathBuf {
    config.data_dir.join("tmp")
}

/// The store of a configuration, opened as the owner (migrations run).
pub async fn open_owner(config: &Config) -> Result<Arc<dyn Store>, BackupError> {
    Ok(crate::store::open_store(config).await?)
}
