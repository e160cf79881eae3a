//! Embedded, per-backend plain-SQL migrations.

use serde::Serialize;

/// One embedded migration and whether the database has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrationInfo {
    /// Version number (file prefix).
    pub version: i64,
    /// Description (file name without prefix).
    pub description: String,
    /// Whether it is applied.
    pub applied: bool,
}

/// Pairs embedded migrations with the set of applied versions.
pub(crate) fn pair(migrator: &sqlx::migrate::Migrator, applied: &[i64]) -> Vec<MigrationInfo> {
    migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| MigrationInfo {
            version: m.version,
            description: m.description.to_string(),
            applied: applied.contains(&m.version),
        })
        .collect()
}
