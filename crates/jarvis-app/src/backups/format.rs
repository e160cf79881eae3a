//! The export format: gzip-compressed JSON lines, written and read as a stream (memory stays
//! flat whatever the size of the database).
//!
//! ```text
//! {"format":"jarvis-export","format_version":1,"schema_version":14,"source_backend":"sqlite",
//!  "created_at":"…","tables":[{"name":"franchises","columns":[{"name":"id","kind":"plain"},…]},…]}
//! {"table":"franchises"}
//! ["0193…","Demo",…]                      one JSON array per row, values in column order
//! {"end":"franchises","rows":1,"checksum":"…"}
//! …                                        every table, referenced tables first
//! {"manifest":{…}}                         row counts and checksums of every table
//! ```
//!
//! A table's checksum is the wrapping sum (4 × 64 bits) of the SHA-256 of each row's canonical
//! form (the row as a JSON object with sorted keys, portable values), so it does not depend on
//! the order rows are read in, the column order, nor the backend.

use jarvis_store::StoreError;
use jarvis_store::dump::{
    DumpLoader, DumpReader, DumpRow, SEEDED_TABLES, TableInfo, canonical_json,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::{BufRead, Write};
use thiserror::Error;

/// The format name in the header.
pub const FORMAT: &str = "jarvis-export";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Rows per page read and per insert batch.
pub const BATCH: u32 = 500;

/// Export and import failures.
#[derive(Debug, Error)]
pub enum FormatError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// The file is not a valid export, or does not match its manifest.
    #[error("invalid export: {0}")]
    Invalid(String),
    /// The export does not fit this database.
    #[error("{0}")]
    Mismatch(String),
    /// The target already holds data.
    #[error(
        "the target database is not empty ({0}); import into a new database, or pass --force-empty to delete its contents first"
    )]
    NotEmpty(String),
}

fn io(e: std::io::Error) -> FormatError {
    FormatError::Io(e.to_string())
}

/// The first line of an export.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// The highest migration of the source database.
    pub schema_version: i64,
    /// `sqlite` or `postgres`.
    pub source_backend: String,
    /// When the export started (RFC 3339).
    pub created_at: String,
    /// Every table, in load order.
    pub tables: Vec<TableInfo>,
}

/// Row count and checksum of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSummary {
    /// Table name.
    pub name: String,
    /// Rows.
    pub rows: u64,
    /// Content checksum (hex).
    pub checksum: String,
}

/// What an export holds: the last line of the file, and the `.manifest.json` of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The source's highest migration.
    pub schema_version: i64,
    /// `sqlite` or `postgres`.
    pub source_backend: String,
    /// When the export started.
    pub created_at: String,
    /// Every table in load order.
    pub tables: Vec<TableSummary>,
}

impl Manifest {
    /// Total rows.
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    /// The tables whose count or checksum differ from `other` (empty = identical content).
    pub fn differences(&self, other: &Manifest) -> Vec<String> {
        let mut out = Vec::new();
        for t in &self.tables {
            match other.tables.iter().find(|o| o.name == t.name) {
                None => out.push(format!("{}: missing", t.name)),
                Some(o) if o.rows != t.rows => {
                    out.push(format!("{}: {} rows, expected {}", t.name, o.rows, t.rows))
                }
                Some(o) if o.checksum != t.checksum => {
                    out.push(format!("{}: checksum differs", t.name))
                }
                Some(_) => {}
            }
        }
        for o in &other.tables {
            if !self.tables.iter().any(|t| t.name == o.name) {
                out.push(format!("{}: unexpected table", o.name));
            }
        }
        out
    }
}

/// The running checksum of a table.
#[derive(Debug, Clone, Default)]
pub struct TableDigest {
    rows: u64,
    lanes: [u64; 4],
}

impl TableDigest {
    /// Adds a row.
    pub fn add(&mut self, table: &TableInfo, row: &DumpRow) {
        let obj: serde_json::Map<String, Value> = table
            .columns
            .iter()
            .zip(row)
            .map(|(c, v)| (c.name.clone(), v.clone()))
            .collect();
        let mut text = String::new();
        canonical_json(&Value::Object(obj), &mut text);
        let hash = Sha256::digest(text.as_bytes());
        for (i, lane) in self.lanes.iter_mut().enumerate() {
            let mut b = [0u8; 8];
            if let Some(chunk) = hash.get(i * 8..i * 8 + 8) {
                b.copy_from_slice(chunk);
            }
            *lane = lane.wrapping_add(u64::from_be_bytes(b));
        }
        self.rows += 1;
    }

    /// The summary of the table so far.
    pub fn summary(&self, name: &str) -> TableSummary {
        TableSummary {
            name: name.to_string(),
            rows: self.rows,
            checksum: self.lanes.iter().map(|l| format!("{l:016x}")).collect(),
        }
    }
}

/// Progress of an export or import.
#[derive(Debug, Clone)]
pub struct Progress<'a> {
    /// The table being copied.
    pub table: &'a str,
    /// Rows copied so far, all tables.
    pub rows: u64,
}

/// A progress callback.
pub type OnProgress<'a> = &'a (dyn Fn(Progress<'_>) + Send + Sync);

fn line<W: Write>(w: &mut W, v: &impl Serialize) -> Result<(), FormatError> {
    serde_json::to_writer(&mut *w, v).map_err(|e| FormatError::Io(e.to_string()))?;
    w.write_all(b"\n").map_err(io)
}

/// Writes every table of `reader` to `w` (uncompressed lines; wrap `w` in a gzip encoder) and
/// answers the manifest. Ends the read.
pub async fn export<W: Write>(
    mut reader: Box<dyn DumpReader>,
    w: &mut W,
    on_progress: OnProgress<'_>,
) -> Result<Manifest, FormatError> {
    let schema_version = reader.schema_version().await?;
    let tables = reader.tables().await?;
    let created_at = jarvis_store::dump::time_text(time::OffsetDateTime::now_utc())?;
    let header = Header {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        schema_version,
        source_backend: reader.backend().name().into(),
        created_at: created_at.clone(),
        tables: tables.clone(),
    };
    line(w, &header)?;
    let mut summaries = Vec::with_capacity(tables.len());
    let mut total = 0u64;
    for t in &tables {
        line(w, &serde_json::json!({ "table": t.name }))?;
        let mut digest = TableDigest::default();
        let mut cursor = None;
        loop {
            let (rows, next) = reader.page(t, cursor.as_ref(), BATCH).await?;
            for row in &rows {
                digest.add(t, row);
                line(w, row)?;
            }
            total += rows.len() as u64;
            on_progress(Progress {
                table: &t.name,
                rows: total,
            });
            if rows.len() < BATCH as usize {
                break;
            }
            cursor = next;
        }
        let s = digest.summary(&t.name);
        line(
            w,
            &serde_json::json!({ "end": t.name, "rows": s.rows, "checksum": s.checksum }),
        )?;
        summaries.push(s);
    }
    reader.finish().await?;
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        schema_version,
        source_backend: header.source_backend,
        created_at,
        tables: summaries,
    };
    line(w, &serde_json::json!({ "manifest": manifest }))?;
    w.flush().map_err(io)?;
    Ok(manifest)
}

/// Row counts and checksums of every table, read from the database (nothing written).
pub async fn checksums(reader: Box<dyn DumpReader>) -> Result<Manifest, FormatError> {
    export(reader, &mut std::io::sink(), &|_| {}).await
}

/// Import options.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Delete the target's rows first instead of refusing a non-empty target.
    pub force_empty: bool,
}

fn next_line<R: BufRead>(r: &mut R, buf: &mut String) -> Result<bool, FormatError> {
    buf.clear();
    let n = r.read_line(buf).map_err(io)?;
    Ok(n > 0)
}

/// Loads an export (uncompressed lines; wrap the file in a gzip decoder) into `loader`'s
/// database: checks the format and the schema version, refuses a non-empty target unless
/// `force_empty`, inserts in batches in foreign-key order, checks each table's rows and
/// checksum against the file's own, and commits only when the whole file matched its manifest.
pub async fn import<R: BufRead>(
    mut loader: Box<dyn DumpLoader>,
    r: &mut R,
    opts: ImportOptions,
    on_progress: OnProgress<'_>,
) -> Result<Manifest, FormatError> {
    let mut buf = String::new();
    if !next_line(r, &mut buf)? {
        return Err(FormatError::Invalid("the file is empty".into()));
    }
    let header: Header =
        serde_json::from_str(&buf).map_err(|e| FormatError::Invalid(format!("bad header: {e}")))?;
    if header.format != FORMAT {
        return Err(FormatError::Invalid(format!(
            "not a JARVIS export (format `{}`)",
            header.format
        )));
    }
    if header.format_version != FORMAT_VERSION {
        return Err(FormatError::Mismatch(format!(
            "export format version {} is not supported by this build (it reads version {FORMAT_VERSION})",
            header.format_version
        )));
    }
    let target_version = loader.schema_version().await?;
    if target_version != header.schema_version {
        return Err(FormatError::Mismatch(format!(
            "the export is at schema version {} and the target database at {target_version}: import with the JARVIS release that wrote the export (the target is migrated to that release's schema), then upgrade",
            header.schema_version
        )));
    }
    let target = loader.tables().await?;
    for t in &header.tables {
        let Some(tt) = target.iter().find(|x| x.name == t.name) else {
            return Err(FormatError::Mismatch(format!(
                "table {} of the export does not exist in the target",
                t.name
            )));
        };
        let mut a: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        let mut b: Vec<&str> = tt.columns.iter().map(|c| c.name.as_str()).collect();
        a.sort_unstable();
        b.sort_unstable();
        if a != b {
            return Err(FormatError::Mismatch(format!(
                "table {} has other columns in the export than in the target",
                t.name
            )));
        }
    }
    if let Some(t) = target
        .iter()
        .find(|t| !header.tables.iter().any(|h| h.name == t.name))
    {
        return Err(FormatError::Mismatch(format!(
            "table {} of the target is not in the export",
            t.name
        )));
    }
    // Reference rows the migrations wrote do not make a database non-empty; the export's
    // own rows replace them.
    let mut nonempty = Vec::new();
    let mut any = false;
    for t in &target {
        let n = loader.count(&t.name).await?;
        any |= n > 0;
        if n > 0 && !SEEDED_TABLES.contains(&t.name.as_str()) {
            nonempty.push(format!("{} has {n} rows", t.name));
        }
    }
    if !nonempty.is_empty() && !opts.force_empty {
        let shown: Vec<String> = nonempty.iter().take(5).cloned().collect();
        return Err(FormatError::NotEmpty(shown.join(", ")));
    }
    if any {
        loader.clear(&target).await?;
    }

    let mut summaries: Vec<TableSummary> = Vec::new();
    let mut total = 0u64;
    let mut manifest: Option<Manifest> = None;
    let mut current: Option<(usize, TableDigest, Vec<DumpRow>)> = None;
    let mut next_table = 0usize;
    while next_line(r, &mut buf)? {
        let text = buf.trim_end();
        if text.is_empty() {
            continue;
        }
        if manifest.is_some() {
            return Err(FormatError::Invalid("data after the manifest".into()));
        }
        if text.starts_with('[') {
            let Some((idx, digest, batch)) = current.as_mut() else {
                return Err(FormatError::Invalid("a row outside of a table".into()));
            };
            let table = header
                .tables
                .get(*idx)
                .ok_or_else(|| FormatError::Invalid("bad table index".into()))?;
            let row: DumpRow = serde_json::from_str(text)
                .map_err(|e| FormatError::Invalid(format!("bad row in {}: {e}", table.name)))?;
            if row.len() != table.columns.len() {
                return Err(FormatError::Invalid(format!(
                    "a row of {} has {} values for {} columns",
                    table.name,
                    row.len(),
                    table.columns.len()
                )));
            }
            digest.add(table, &row);
            batch.push(row);
            if batch.len() >= BATCH as usize {
                loader.insert(table, batch).await?;
                total += batch.len() as u64;
                batch.clear();
                on_progress(Progress {
                    table: &table.name,
                    rows: total,
                });
            }
            continue;
        }
        let ctl: Value = serde_json::from_str(text)
            .map_err(|e| FormatError::Invalid(format!("bad line: {e}")))?;
        if let Some(name) = ctl.get("table").and_then(Value::as_str) {
            if current.is_some() {
                return Err(FormatError::Invalid(format!(
                    "table {name} starts inside another"
                )));
            }
            let expected = header.tables.get(next_table).map(|t| t.name.as_str());
            if expected != Some(name) {
                return Err(FormatError::Invalid(format!(
                    "table {name} is out of the header's order"
                )));
            }
            if jarvis_store::dump::TRIGGER_ROLLUPS
                .iter()
                .any(|(t, _)| *t == name)
            {
                // What the triggers added while the sources loaded gives way to the export.
                if let Some(t) = target.iter().find(|t| t.name == name) {
                    loader.clear(std::slice::from_ref(t)).await?;
                }
            }
            current = Some((next_table, TableDigest::default(), Vec::new()));
            next_table += 1;
        } else if let Some(name) = ctl.get("end").and_then(Value::as_str) {
            let Some((idx, digest, batch)) = current.take() else {
                return Err(FormatError::Invalid(format!("end of {name} outside of it")));
            };
            let table = header
                .tables
                .get(idx)
                .ok_or_else(|| FormatError::Invalid("bad table index".into()))?;
            if table.name != name {
                return Err(FormatError::Invalid(format!(
                    "end of {name} inside {}",
                    table.name
                )));
            }
            if !batch.is_empty() {
                loader.insert(table, &batch).await?;
                total += batch.len() as u64;
            }
            on_progress(Progress {
                table: &table.name,
                rows: total,
            });
            let s = digest.summary(name);
            let rows = ctl.get("rows").and_then(Value::as_u64);
            let sum = ctl.get("checksum").and_then(Value::as_str);
            if rows != Some(s.rows) || sum != Some(s.checksum.as_str()) {
                return Err(FormatError::Invalid(format!(
                    "table {name}: {} rows read do not match the file's count or checksum (damaged file?)",
                    s.rows
                )));
            }
            summaries.push(s);
        } else if let Some(m) = ctl.get("manifest") {
            if current.is_some() {
                return Err(FormatError::Invalid("manifest inside a table".into()));
            }
            let m: Manifest = serde_json::from_value(m.clone())
                .map_err(|e| FormatError::Invalid(format!("bad manifest: {e}")))?;
            manifest = Some(m);
        } else {
            return Err(FormatError::Invalid("unknown line".into()));
        }
    }
    let Some(manifest) = manifest else {
        return Err(FormatError::Invalid(
            "the file ends before its manifest (truncated?)".into(),
        ));
    };
    let read = Manifest {
        tables: summaries,
        ..manifest.clone()
    };
    let diff = manifest.differences(&read);
    if !diff.is_empty() {
        return Err(FormatError::Invalid(format!(
            "the content does not match the manifest: {}",
            diff.join("; ")
        )));
    }
    loader.commit().await?;
    Ok(manifest)
}
