//! Members: the member record, facts (notes), visits, CSV export and GDPR (access export and
//! erasure). The API and the pages call these with the scope the caller was authorized for;
//! input is validated here, so both get the same answers.

use crate::error::AppResult;
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::Store;

/// Adds a member to a gym.
pub async fn create(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    gym: GymId,
    new: NewMember,
) -> AppResult<Member> {
    Ok(store
        .create_member(scope, actor, gym, new.validate()?)
        .await?)
}

/// Changes a member.
pub async fn update(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    gym: GymId,
    id: MemberId,
    patch: MemberPatch,
) -> AppResult<Member> {
    Ok(store
        .update_member(scope, actor, gym, id, patch.validate()?)
        .await?)
}

/// Deletes a member (not the GDPR erasure: see [`erase`]).
pub async fn delete(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    gym: GymId,
    id: MemberId,
) -> AppResult<()> {
    Ok(store.delete_member(scope, actor, gym, id).await?)
}

/// Adds a fact (staff note) about a member.
pub async fn add_fact(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    gym: GymId,
    id: MemberId,
    new: NewMemberFact,
) -> AppResult<MemberFact> {
    Ok(store
        .add_fact(scope, actor, gym, id, new.validate()?)
        .await?)
}

/// Everything stored about a member (GDPR access request); audited by the store.
pub async fn gdpr_export(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    gym: GymId,
    id: MemberId,
) -> AppResult<MemberExport> {
    Ok(store.export_member(scope, actor, gym, id).await?)
}

/// GDPR erasure: the member and every piece of personal data about them; visits stay as
/// anonymous counts. Audited by the store.
pub async fn gdpr_erase(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    gym: GymId,
    id: MemberId,
) -> AppResult<Erasure> {
    Ok(store.erase_member(scope, actor, gym, id).await?)
}

/// A gym's member list as CSV (the import format; cells that would run as spreadsheet formulas
/// are neutralized), with a file name made of the gym's name.
pub struct MembersCsv {
    /// `members-<gym name, ASCII letters and digits>.csv`.
    pub filename: String,
    /// The CSV text, header first.
    pub body: String,
}

/// Every member of the gym as CSV, read page by page.
pub async fn export_csv(store: &dyn Store, scope: &Scope, gym: GymId) -> AppResult<MembersCsv> {
    let g = store.gym(scope, gym).await?;
    let mut out = jarvis_core::csv_import::export_header();
    out.push('\n');
    let mut offset = 0_u64;
    loop {
        let page = PageRequest::new(Some(jarvis_core::page::MAX_LIMIT), Some(offset))
            .map_err(ValidationErrors::from)?;
        let rows = store
            .list_members(scope, gym, &MemberFilter::default(), page)
            .await?;
        for m in &rows.items {
            out.push_str(&jarvis_core::csv_import::export_row(m));
            out.push('\n');
        }
        offset += rows.items.len() as u64;
        if rows.items.is_empty() || offset >= rows.total {
            break;
        }
    }
    let name: String = g
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    Ok(MembersCsv {
        filename: format!("members-{name}.csv"),
        body: out,
    })
}
