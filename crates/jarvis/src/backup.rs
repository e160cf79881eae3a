//! `jarvis backup …`, `jarvis export` and `jarvis import`: the CLI side of
//! `jarvis_app::backups` (progress bars on a terminal, plain lines otherwise).

use clap::Subcommand;
use jarvis_app::backups::{self, format::ImportOptions};
use jarvis_app::config::Config;
use jarvis_app::objects::Objects;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum BackupCommand {
    /// Take a backup now into the object store (storage_url, under backups/). SQLite: a
    /// consistent `VACUUM INTO` snapshot while the server keeps writing; PostgreSQL: a logical,
    /// portable export in one snapshot transaction. Both restore on either backend.
    Create,
    /// List the backups in the object store, newest first.
    List,
    /// Restore a backup into a scratch SQLite database and compare every table's row count and
    /// checksum with the backup's manifest. Nothing is written to the live database.
    Verify {
        /// The backup id (`jarvis backup list`); default: the newest.
        id: Option<String>,
    },
    /// Restore a backup into the configured database. Stop the servers first. The database
    /// must be empty (freshly created) unless --force-empty.
    Restore {
        /// The backup id (`jarvis backup list`).
        id: String,
        /// Delete every row of the target database first (DESTRUCTIVE).
        #[arg(long)]
        force_empty: bool,
    },
}

fn bar(what: &str) -> indicatif::ProgressBar {
    let b = indicatif::ProgressBar::new_spinner();
    b.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    b.set_message(what.to_string());
    b.enable_steady_tick(std::time::Duration::from_millis(120));
    b
}

fn progress(
    b: &indicatif::ProgressBar,
    verb: &'static str,
) -> impl Fn(backups::format::Progress<'_>) + Send + Sync {
    let b = b.clone();
    move |p| b.set_message(format!("{verb} {} — {} rows", p.table, p.rows))
}

fn objects(config: &Config) -> Result<Objects, String> {
    Objects::from_config(config).map_err(|e| e.to_string())
}

pub async fn run(cmd: BackupCommand, config: &Config) -> Result<(), String> {
    let scratch = backups::scratch_dir(config);
    match cmd {
        BackupCommand::Create => {
            let objects = objects(config)?;
            let store = backups::open_owner(config)
                .await
                .map_err(|e| e.to_string())?;
            let b = bar("snapshot");
            let on = progress(&b, "backing up");
            let r = backups::create(store.as_ref(), &objects, &scratch, &on).await;
            b.finish_and_clear();
            store.close().await;
            let made = r.map_err(|e| e.to_string())?;
            println!(
                "backup {} taken: {} tables, {} rows, {} bytes, in {}",
                made.id,
                made.manifest.tables.len(),
                made.manifest.total_rows(),
                made.size,
                objects.describe()
            );
            Ok(())
        }
        BackupCommand::List => {
            let objects = objects(config)?;
            let list = backups::list(&objects).await.map_err(|e| e.to_string())?;
            if list.is_empty() {
                println!("no backups in {}", objects.describe());
            }
            for e in list {
                println!(
                    "{}  {}  {:>12} bytes{}",
                    e.id,
                    e.at.format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default(),
                    e.size,
                    if e.has_manifest {
                        ""
                    } else {
                        "  (no manifest: incomplete)"
                    }
                );
            }
            Ok(())
        }
        BackupCommand::Verify { id } => {
            let objects = objects(config)?;
            let id = match id {
                Some(id) => id,
                None => backups::list(&objects)
                    .await
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .next()
                    .map(|e| e.id)
                    .ok_or_else(|| format!("no backups in {}", objects.describe()))?,
            };
            let b = bar("verifying");
            let r = backups::verify(&objects, &id, &scratch).await;
            b.finish_and_clear();
            let v = r.map_err(|e| e.to_string())?;
            println!(
                "backup {id} verified: {} tables, {} rows restored identically (schema version {}, from {})",
                v.manifest.tables.len(),
                v.manifest.total_rows(),
                v.manifest.schema_version,
                v.manifest.source_backend
            );
            Ok(())
        }
        BackupCommand::Restore { id, force_empty } => {
            let objects = objects(config)?;
            let store = backups::open_owner(config)
                .await
                .map_err(|e| e.to_string())?;
            let b = bar("downloading");
            let on = progress(&b, "restoring");
            let r = backups::restore(
                store.as_ref(),
                &objects,
                &id,
                &scratch,
                ImportOptions { force_empty },
                &on,
            )
            .await;
            b.finish_and_clear();
            store.close().await;
            let m = r.map_err(|e| e.to_string())?;
            println!(
                "backup {id} restored: {} tables, {} rows, checksums match",
                m.tables.len(),
                m.total_rows()
            );
            Ok(())
        }
    }
}

pub async fn export(config: &Config, file: PathBuf) -> Result<(), String> {
    let store = backups::open_owner(config)
        .await
        .map_err(|e| e.to_string())?;
    let b = bar("exporting");
    let on = progress(&b, "exporting");
    let r = backups::export_file(store.as_ref(), &file, &on).await;
    b.finish_and_clear();
    store.close().await;
    let m = r.map_err(|e| e.to_string())?;
    println!(
        "exported {} tables, {} rows to {} (schema version {})",
        m.tables.len(),
        m.total_rows(),
        file.display(),
        m.schema_version
    );
    Ok(())
}

pub async fn import(config: &Config, file: PathBuf, force_empty: bool) -> Result<(), String> {
    let store = backups::open_owner(config)
        .await
        .map_err(|e| e.to_string())?;
    let b = bar("importing");
    let on = progress(&b, "importing");
    let r = backups::import_file(store.as_ref(), &file, ImportOptions { force_empty }, &on).await;
    b.finish_and_clear();
    let r = match r {
        // Check what landed, not only what was read.
        Ok(m) => match backups::checksums(store.as_ref()).await {
            Ok(got) => {
                let diff = m.differences(&got);
                if diff.is_empty() {
                    Ok(m)
                } else {
                    Err(format!(
                        "imported, but the database differs from the export: {}",
                        diff.join("; ")
                    ))
                }
            }
            Err(e) => Err(e.to_string()),
        },
        Err(e) => Err(e.to_string()),
    };
    store.close().await;
    let m = r?;
    println!(
        "imported {} tables, {} rows from {} (exported from {}); checksums match",
        m.tables.len(),
        m.total_rows(),
        file.display(),
        m.source_backend
    );
    Ok(())
}
