// The one SQL implementation of the storage traits. It is `include!`d by `sqlite.rs` and
// `postgres.rs`, which provide `Db`, `Tx`, `ThisStore` (with `begin(&TxCtx, write)`) and
// `map_db_err`; the SQL below is portable between the two engines.

use crate::TxCtx;
use crate::dbuuid::{DbUuid, db};
use crate::rows::*;
use crate::traits::*;
use jarvis_core::model::*;
use jarvis_core::*;
use sqlx::QueryBuilder;
use sqlx::types::Json;
use std::collections::BTreeMap;

/// Appends the tenant predicate for a table with franchise and gym columns.
fn push_scope(qb: &mut QueryBuilder<Db>, scope: &Scope, franchise_col: &str, gym_col: &str) {
    match *scope {
        Scope::Platform => {}
        Scope::Franchise { franchise } => {
            qb.push(format!(" AND {franchise_col} = "))
                .push_bind(db(franchise));
        }
        Scope::Gym { franchise, gym } => {
            qb.push(format!(" AND {franchise_col} = "))
                .push_bind(db(franchise));
            qb.push(format!(" AND {gym_col} = ")).push_bind(db(gym));
        }
    }
}

/// Appends a case-insensitive `LIKE` over several columns for a user search term.
fn push_search(qb: &mut QueryBuilder<Db>, q: &str, columns: &[&str]) {
    let escaped = q
        .trim()
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let pattern = format!("%{escaped}%");
    qb.push(" AND (");
    for (i, col) in columns.iter().enumerate() {
        if i > 0 {
            qb.push(" OR ");
        }
        qb.push(format!("lower({col}) LIKE "))
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\'");
    }
    qb.push(")");
}

fn push_page(qb: &mut QueryBuilder<Db>, page: PageRequest) {
    qb.push(" LIMIT ").push_bind(i64::from(page.limit));
    qb.push(" OFFSET ")
        .push_bind(i64::try_from(page.offset).unwrap_or(i64::MAX));
}

async fn count(tx: &mut Tx, mut qb: QueryBuilder<Db>) -> StoreResult<u64> {
    let n: i64 = qb
        .build_query_scalar()
        .fetch_one(&mut **tx)
        .await
        .map_err(map_db_err)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Counts the rows a filter matches and fetches one ordered page of them: the two queries every
/// list runs, built by the same `build` so the total and the page always agree.
async fn fetch_page<R>(
    tx: &mut Tx,
    build: impl Fn(&str) -> QueryBuilder<Db>,
    cols: &str,
    order_by: &str,
    page: PageRequest,
) -> StoreResult<(u64, Vec<R>)>
where
    R: for<'r> sqlx::FromRow<'r, <Db as sqlx::Database>::Row> + Send + Unpin,
{
    let total = count(tx, build("COUNT(*)")).await?;
    Ok((total, page_rows(tx, &build, cols, order_by, page).await?))
}

/// The rows of one page of the list `build` selects, in `order_by` order.
async fn page_rows<R>(
    tx: &mut Tx,
    build: &impl Fn(&str) -> QueryBuilder<Db>,
    cols: &str,
    order_by: &str,
    page: PageRequest,
) -> StoreResult<Vec<R>>
where
    R: for<'r> sqlx::FromRow<'r, <Db as sqlx::Database>::Row> + Send + Unpin,
{
    let mut qb = build(cols);
    qb.push(order_by);
    push_page(&mut qb, page);
    qb.build_query_as::<R>()
        .fetch_all(&mut **tx)
        .await
        .map_err(map_db_err)
}

/// [`fetch_page`] for the big lists: counts at most `cap + 1` matching rows, so the pager's
/// total costs at most that many rows however large the list; apply `Page::cap_total(cap)` to
/// the page. `build` must start its query with `SELECT {select} FROM`, as every list's does.
async fn fetch_page_capped<R>(
    tx: &mut Tx,
    build: impl Fn(&str) -> QueryBuilder<Db>,
    cols: &str,
    order_by: &str,
    page: PageRequest,
    cap: u64,
) -> StoreResult<(u64, Vec<R>)>
where
    R: for<'r> sqlx::FromRow<'r, <Db as sqlx::Database>::Row> + Send + Unpin,
{
    // SELECT COUNT(*) FROM (SELECT 1 FROM … WHERE … LIMIT cap + 1) AS capped
    let mut qb = build("COUNT(*) FROM (SELECT 1");
    qb.push(" LIMIT ")
        .push_bind(i64::try_from(cap.saturating_add(1)).unwrap_or(i64::MAX))
        .push(") AS capped");
    let total = count(tx, qb).await?;
    Ok((total, page_rows(tx, &build, cols, order_by, page).await?))
}

/// The page of `rows` (one window of `total`), each row converted to its domain value; a row
/// that does not convert fails the read.
fn page_of<R, T>(
    rows: Vec<R>,
    total: u64,
    page: PageRequest,
    into_domain: impl FnMut(R) -> StoreResult<T>,
) -> StoreResult<Page<T>> {
    Ok(Page {
        items: rows
            .into_iter()
            .map(into_domain)
            .collect::<StoreResult<_>>()?,
        total,
        total_capped: false,
        limit: page.limit,
        offset: page.offset,
    })
}

/// Writes an audit row inside the caller's transaction, so the action and its record commit together.
#[allow(clippy::too_many_arguments)]
async fn audit_tx(
    tx: &mut Tx,
    actor: &Actor,
    franchise: Option<FranchiseId>,
    gym: Option<GymId>,
    action: &str,
    target_type: &str,
    target_id: Option<String>,
    details: serde_json::Value,
) -> StoreResult<AuditEntry> {
    let entry = NewAuditEntry {
        actor_kind: actor.kind.to_string(),
        actor_user_id: actor.user_id,
        franchise_id: franchise,
        gym_id: gym,
        action: action.to_string(),
        target_type: target_type.to_string(),
        target_id,
        ip: actor.ip.clone(),
        user_agent: actor.user_agent.clone(),
        details,
    };
    insert_audit(tx, entry).await
}

/// Appends an audit row. No `RETURNING`: on PostgreSQL that would need the row to be readable
/// in the current context, and identity contexts (MFA, password changes) may append untagged
/// rows they cannot read back.
async fn insert_audit(tx: &mut Tx, e: NewAuditEntry) -> StoreResult<AuditEntry> {
    let entry = AuditEntry {
        id: AuditId::new(),
        at: now(),
        actor_kind: e.actor_kind,
        actor_user_id: e.actor_user_id,
        franchise_id: e.franchise_id,
        gym_id: e.gym_id,
        action: e.action,
        target_type: e.target_type,
        target_id: e.target_id,
        ip: e.ip,
        user_agent: e.user_agent,
        details: e.details,
    };
    let mut qb = QueryBuilder::<Db>::new(format!("INSERT INTO audit_log ({AUDIT_COLS}) VALUES ("));
    let mut s = qb.separated(", ");
    s.push_bind(db(entry.id))
        .push_bind(entry.at)
        .push_bind(entry.actor_kind.clone())
        .push_bind(entry.actor_user_id.map(db))
        .push_bind(entry.franchise_id.map(db))
        .push_bind(entry.gym_id.map(db))
        .push_bind(entry.action.clone())
        .push_bind(entry.target_type.clone())
        .push_bind(entry.target_id.clone())
        .push_bind(entry.ip.clone())
        .push_bind(entry.user_agent.clone())
        .push_bind(Json(entry.details.clone()));
    qb.push(")");
    qb.build().execute(&mut **tx).await.map_err(map_db_err)?;
    Ok(entry)
}

async fn fetch_franchise(tx: &mut Tx, scope: &Scope, id: FranchiseId) -> StoreResult<Franchise> {
    let mut qb = QueryBuilder::<Db>::new(format!(
        "SELECT {FRANCHISE_COLS} FROM franchises WHERE id = "
    ));
    qb.push_bind(db(id));
    if let Some(f) = scope.franchise() {
        qb.push(" AND id = ").push_bind(db(f));
    }
    let row: Option<FranchiseRow> = qb
        .build_query_as()
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_db_err)?;
    row.map(FranchiseRow::into_domain)
        .ok_or(StoreError::NotFound("franchise"))
}

async fn fetch_gym(tx: &mut Tx, scope: &Scope, id: GymId) -> StoreResult<Gym> {
    let mut qb = QueryBuilder::<Db>::new(format!("SELECT {GYM_COLS} FROM gyms WHERE id = "));
    qb.push_bind(db(id));
    push_scope(&mut qb, scope, "franchise_id", "id");
    let row: Option<GymRow> = qb
        .build_query_as()
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_db_err)?;
    row.ok_or(StoreError::NotFound("gym"))?.into_domain()
}

async fn fetch_member(tx: &mut Tx, scope: &Scope, gym: GymId, id: MemberId) -> StoreResult<Member> {
    let mut qb =
        QueryBuilder::<Db>::new(format!("SELECT {MEMBER_COLS} FROM members WHERE gym_id = "));
    qb.push_bind(db(gym)).push(" AND id = ").push_bind(db(id));
    push_scope(&mut qb, scope, "franchise_id", "gym_id");
    let row: Option<MemberRow> = qb
        .build_query_as()
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_db_err)?;
    row.ok_or(StoreError::NotFound("member"))?.into_domain()
}

/// Grants a role inside the caller's transaction, after checking the target fits the role and
/// lies within the scope.
async fn insert_membership(
    tx: &mut Tx,
    scope: &Scope,
    actor: &Actor,
    user: UserId,
    role: Role,
    target: MembershipTarget,
) -> StoreResult<Membership> {
    if !target.fits(role) {
        return Err(StoreError::Invalid {
            field: "role",
            message: format!("role {role} does not fit that scope"),
        });
    }
    let (franchise, gym) = match target {
        MembershipTarget::Platform => (None, None),
        MembershipTarget::Franchise(f) => (Some(f), None),
        MembershipTarget::Gym(f, g) => (Some(f), Some(g)),
    };
    let allowed = match (scope, franchise, gym) {
        (Scope::Platform, _, _) => true,
        (Scope::Franchise { franchise: sf }, Some(f), _) => *sf == f,
        (
            Scope::Gym {
                franchise: sf,
                gym: sg,
            },
            Some(f),
            Some(g),
        ) => *sf == f && *sg == g,
        _ => false,
    };
    if !allowed {
        return Err(StoreError::OutOfScope);
    }
    if let Some(g) = gym {
        let gym_row = fetch_gym(tx, scope, g).await?;
        if Some(gym_row.franchise_id) != franchise {
            return Err(StoreError::Invalid {
                field: "gym_id",
                message: "the gym is not in that franchise".into(),
            });
        }
    } else if let Some(f) = franchise {
        fetch_franchise(tx, scope, f).await?;
    }
    let mut qb = QueryBuilder::<Db>::new(format!(
        "INSERT INTO memberships ({MEMBERSHIP_COLS}) VALUES ("
    ));
    let mut s = qb.separated(", ");
    s.push_bind(db(MembershipId::new()))
        .push_bind(db(user))
        .push_bind(role.as_str())
        .push_bind(franchise.map(db))
        .push_bind(gym.map(db))
        .push_bind(now());
    qb.push(format!(") RETURNING {MEMBERSHIP_COLS}"));
    let row: MembershipRow = qb
        .build_query_as()
        .fetch_one(&mut **tx)
        .await
        .map_err(map_db_err)?;
    let m = row.into_domain()?;
    audit_tx(
        tx,
        actor,
        franchise,
        gym,
        "membership.grant",
        "user",
        Some(user.to_string()),
        serde_json::json!({ "role": role.as_str() }),
    )
    .await?;
    Ok(m)
}

/// Names the badge in a duplicate-badge conflict so the caller knows which one.
fn badge_conflict(e: StoreError, badge: &str) -> StoreError {
    match e {
        StoreError::Conflict {
            constraint: "members_gym_badge_key",
            field,
            ..
        } => StoreError::Conflict {
            constraint: "members_gym_badge_key",
            field,
            message: format!("badge `{badge}` is already used by another member of this gym"),
        },
        other => other,
    }
}

#[async_trait::async_trait]
impl FranchiseStore for ThisStore {
    async fn create_franchise(
        &self,
        scope: &Scope,
        actor: &Actor,
        new: NewFranchise,
    ) -> StoreResult<Franchise> {
        if *scope != Scope::Platform {
            return Err(StoreError::OutOfScope);
        }
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let t = now();
        let mut qb = QueryBuilder::<Db>::new(format!(
            "INSERT INTO franchises ({FRANCHISE_COLS}) VALUES ("
        ));
        let mut s = qb.separated(", ");
        s.push_bind(db(FranchiseId::new()))
            .push_bind(new.name)
            .push_bind(t)
            .push_bind(t)
            .push_bind(None::<time::OffsetDateTime>);
        qb.push(format!(") RETURNING {FRANCHISE_COLS}"));
        let row: FranchiseRow = qb
            .build_query_as()
            .fetch_one(&mut *tx)
            .await
            .map_err(map_db_err)?;
        let f = row.into_domain();
        audit_tx(
            &mut tx,
            actor,
            Some(f.id),
            None,
            "franchise.create",
            "franchise",
            Some(f.id.to_string()),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(f)
    }

    async fn franchise(&self, scope: &Scope, id: FranchiseId) -> StoreResult<Franchise> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
        let f = fetch_franchise(&mut tx, scope, id).await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(f)
    }

    async fn list_franchises(
        &self,
        scope: &Scope,
        filter: &FranchiseFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Franchise>> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
        let build = |select: &str| {
            let mut qb =
                QueryBuilder::<Db>::new(format!("SELECT {select} FROM franchises WHERE 1 = 1"));
            if let Some(f) = scope.franchise() {
                qb.push(" AND id = ").push_bind(db(f));
            }
            if !filter.include_archived {
                qb.push(" AND archived_at IS NULL");
            }
            if let Some(q) = filter.q.as_deref().filter(|q| !q.trim().is_empty()) {
                push_search(&mut qb, q, &["name"]);
            }
            qb
        };
        let (total, rows) =
            fetch_page::<FranchiseRow>(&mut tx, build, FRANCHISE_COLS, " ORDER BY name, id", page)
                .await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(Page {
            items: rows.into_iter().map(FranchiseRow::into_domain).collect(),
            total,
            total_capped: false,
            limit: page.limit,
            offset: page.offset,
        })
    }

    async fn update_franchise(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: FranchiseId,
        patch: FranchisePatch,
    ) -> StoreResult<Franchise> {
        if matches!(scope, Scope::Gym { .. }) {
            return Err(StoreError::OutOfScope);
        }
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let mut f = fetch_franchise(&mut tx, scope, id).await?;
        let mut changed = Vec::new();
        if let Some(name) = patch.name {
            changed.push("name");
            f.name = name;
        }
        f.updated_at = now();
        let mut qb = QueryBuilder::<Db>::new("UPDATE franchises SET name = ");
        qb.push_bind(f.name.clone())
            .push(", updated_at = ")
            .push_bind(f.updated_at)
            .push(" WHERE id = ")
            .push_bind(db(id));
        qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        audit_tx(
            &mut tx,
            actor,
            Some(id),
            None,
            "franchise.update",
            "franchise",
            Some(id.to_string()),
            serde_json::json!({ "fields": changed }),
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(f)
    }

    async fn archive_franchise(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: FranchiseId,
    ) -> StoreResult<Franchise> {
        if *scope != Scope::Platform {
            return Err(StoreError::OutOfScope);
        }
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let mut f = fetch_franchise(&mut tx, scope, id).await?;
        if f.archived_at.is_none() {
            let t = now();
            let mut qb = QueryBuilder::<Db>::new("UPDATE franchises SET archived_at = ");
            qb.push_bind(t)
                .push(", updated_at = ")
                .push_bind(t)
                .push(" WHERE id = ")
                .push_bind(db(id));
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            f.archived_at = Some(t);
            f.updated_at = t;
            audit_tx(
                &mut tx,
                actor,
                Some(id),
                None,
                "franchise.archive",
                "franchise",
                Some(id.to_string()),
                serde_json::json!({}),
            )
            .await?;
        }
        tx.commit().await.map_err(map_db_err)?;
        Ok(f)
    }
}

#[async_trait::async_trait]
impl GymStore for ThisStore {
    async fn create_gym(
        &self,
        scope: &Scope,
        actor: &Actor,
        new: NewGym,
        status: GymStatus,
    ) -> StoreResult<Gym> {
        match *scope {
            Scope::Platform => {}
            Scope::Franchise { franchise } if franchise == new.franchise_id => {}
            _ => return Err(StoreError::OutOfScope),
        }
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let franchise = match fetch_franchise(&mut tx, scope, new.franchise_id).await {
            Ok(f) => f,
            Err(StoreError::NotFound(_)) => {
                return Err(StoreError::Invalid {
                    field: "franchise_id",
                    message: "no such franchise".into(),
                });
            }
            Err(e) => return Err(e),
        };
        if franchise.archived_at.is_some() {
            return Err(StoreError::Invalid {
                field: "franchise_id",
                message: "this franchise is archived".into(),
            });
        }
        let t = now();
        let mut qb = QueryBuilder::<Db>::new(format!("INSERT INTO gyms ({GYM_COLS}) VALUES ("));
        let mut s = qb.separated(", ");
        s.push_bind(db(GymId::new()))
            .push_bind(db(new.franchise_id))
            .push_bind(new.name)
            .push_bind(new.address)
            .push_bind(new.timezone)
            .push_bind(new.locale.as_str())
            .push_bind(status.as_str())
            .push_bind(Json(new.settings))
            .push_bind(t)
            .push_bind(t)
            .push_bind(None::<String>);
        qb.push(format!(") RETURNING {GYM_COLS}"));
        let row: GymRow = qb
            .build_query_as()
            .fetch_one(&mut *tx)
            .await
            .map_err(map_db_err)?;
        let g = row.into_domain()?;
        audit_tx(
            &mut tx,
            actor,
            Some(g.franchise_id),
            Some(g.id),
            "gym.create",
            "gym",
            Some(g.id.to_string()),
            serde_json::json!({ "status": status.as_str() }),
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(g)
    }

    async fn gym(&self, scope: &Scope, id: GymId) -> StoreResult<Gym> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
        let g = fetch_gym(&mut tx, scope, id).await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(g)
    }

    async fn list_gyms(
        &self,
        scope: &Scope,
        filter: &GymFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Gym>> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
        let build = |select: &str| {
            let mut qb = QueryBuilder::<Db>::new(format!("SELECT {select} FROM gyms WHERE 1 = 1"));
            push_scope(&mut qb, scope, "franchise_id", "id");
            if let Some(f) = filter.franchise_id {
                qb.push(" AND franchise_id = ").push_bind(db(f));
            }
            match filter.status {
                Some(s) => {
                    qb.push(" AND status = ").push_bind(s.as_str());
                }
                None => {
                    qb.push(" AND status <> 'archived'");
                }
            }
            if let Some(q) = filter.q.as_deref().filter(|q| !q.trim().is_empty()) {
                push_search(&mut qb, q, &["name"]);
            }
            qb
        };
        // Fixed SQL per whitelisted order, always ending with the id (stable pages).
        let order = match filter.sort {
            GymSort::Name => " ORDER BY name, id",
            GymSort::NameDesc => " ORDER BY name DESC, id DESC",
            GymSort::Status => " ORDER BY status, name, id",
            GymSort::StatusDesc => " ORDER BY status DESC, name, id",
            GymSort::CreatedDesc => " ORDER BY created_at DESC, id DESC",
            GymSort::Created => " ORDER BY created_at, id",
        };
        let (total, rows) = fetch_page::<GymRow>(&mut tx, build, GYM_COLS, order, page).await?;
        tx.commit().await.map_err(map_db_err)?;
        let items = rows
            .into_iter()
            .map(GymRow::into_domain)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page {
            items,
            total,
            total_capped: false,
            limit: page.limit,
            offset: page.offset,
        })
    }

    async fn update_gym(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: GymId,
        patch: GymPatch,
    ) -> StoreResult<Gym> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let mut g = fetch_gym(&mut tx, scope, id).await?;
        let mut changed = Vec::new();
        if let Some(v) = patch.name {
            changed.push("name");
            g.name = v;
        }
        if let Some(v) = patch.address {
            changed.push("address");
            g.address = v;
        }
        if let Some(v) = patch.timezone {
            changed.push("timezone");
            g.timezone = v;
        }
        if let Some(v) = patch.locale {
            changed.push("locale");
            g.locale = v;
        }
        if let Some(v) = patch.settings {
            changed.push("settings");
            g.settings = v;
        }
        g.updated_at = now();
        let mut qb = QueryBuilder::<Db>::new("UPDATE gyms SET name = ");
        qb.push_bind(g.name.clone())
            .push(", address = ")
            .push_bind(g.address.clone())
            .push(", timezone = ")
            .push_bind(g.timezone.clone())
            .push(", locale = ")
            .push_bind(g.locale.as_str())
            .push(", settings = ")
            .push_bind(Json(g.settings.clone()))
            .push(", updated_at = ")
            .push_bind(g.updated_at)
            .push(" WHERE id = ")
            .push_bind(db(id));
        push_scope(&mut qb, scope, "franchise_id", "id");
        qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        audit_tx(
            &mut tx,
            actor,
            Some(g.franchise_id),
            Some(id),
            "gym.update",
            "gym",
            Some(id.to_string()),
            serde_json::json!({ "fields": changed }),
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(g)
    }

    async fn set_gym_status(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: GymId,
        status: GymStatus,
    ) -> StoreResult<Gym> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let mut g = fetch_gym(&mut tx, scope, id).await?;
        let from = g.status;
        g.status = status;
        g.updated_at = now();
        let mut qb = QueryBuilder::<Db>::new("UPDATE gyms SET status = ");
        qb.push_bind(status.as_str())
            .push(", updated_at = ")
            .push_bind(g.updated_at)
            .push(" WHERE id = ")
            .push_bind(db(id));
        push_scope(&mut qb, scope, "franchise_id", "id");
        qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        audit_tx(
            &mut tx,
            actor,
            Some(g.franchise_id),
            Some(id),
            "gym.status",
            "gym",
            Some(id.to_string()),
            serde_json::json!({ "from": from.as_str(), "to": status.as_str() }),
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(g)
    }
}

fn push_member_filter(qb: &mut QueryBuilder<Db>, filter: &MemberFilter) {
    // The term is folded like the stored key (case and accents, in Rust), so both backends
    // match "élodie", "ELODIE" and "elodie" to "Élodie" alike.
    let q = filter.q.as_deref().map(jarvis_core::search::fold);
    if let Some(q) = q.filter(|q| !q.is_empty()) {
        push_search(qb, &q, &["search_key"]);
    }
    if let Some(s) = filter.status {
        qb.push(" AND membership_status = ").push_bind(s.as_str());
    }
    if let Some(t) = &filter.membership_type {
        qb.push(" AND membership_type = ")
            .push_bind(t.to_lowercase());
    }
    if let Some(since) = filter.visited_since {
        qb.push(" AND last_visit_at >= ").push_bind(since);
    }
}

#[async_trait::async_trait]
impl MemberStore for ThisStore {
    async fn create_member(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        new: NewMember,
    ) -> StoreResult<Member> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let g = fetch_gym(&mut tx, scope, gym).await?;
        let t = now();
        let badge = new.badge_id.clone();
        let key = new.search_key();
        let mut qb = QueryBuilder::<Db>::new(format!(
            "INSERT INTO members ({MEMBER_COLS}, search_key) VALUES ("
        ));
        let mut s = qb.separated(", ");
        s.push_bind(db(MemberId::new()))
            .push_bind(db(g.id))
            .push_bind(db(g.franchise_id))
            .push_bind(new.badge_id)
            .push_bind(new.first_name)
            .push_bind(new.last_name)
            .push_bind(new.email)
            .push_bind(new.phone)
            .push_bind(new.birth_date)
            .push_bind(new.preferred_language.as_str())
            .push_bind(new.membership_type)
            .push_bind(new.membership_status.as_str())
            .push_bind(new.membership_end_date)
            .push_bind(Json(new.goals))
            .push_bind(new.limitations)
            .push_bind(new.consent_voice)
            .push_bind(new.consent_transcripts)
            .push_bind(0_i64)
            .push_bind(None::<time::OffsetDateTime>)
            .push_bind(t)
            .push_bind(t)
            .push_bind(key);
        qb.push(format!(") RETURNING {MEMBER_COLS}"));
        let row: MemberRow = qb
            .build_query_as()
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| badge_conflict(map_db_err(e), &badge))?;
        let m = row.into_domain()?;
        audit_tx(
            &mut tx,
            actor,
            Some(m.franchise_id),
            Some(m.gym_id),
            "member.create",
            "member",
            Some(m.id.to_string()),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(m)
    }

    async fn member(&self, scope: &Scope, gym: GymId, id: MemberId) -> StoreResult<Member> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
        let m = fetch_member(&mut tx, scope, gym, id).await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(m)
    }

    async fn members_by_ids(
        &self,
        scope: &Scope,
        gym: GymId,
        ids: &[MemberId],
    ) -> StoreResult<Vec<Member>> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
        let mut out = Vec::with_capacity(ids.len());
        // Chunks keep the statement well under both backends' bound-parameter limits.
        for chunk in ids.chunks(500) {
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {MEMBER_COLS} FROM members WHERE gym_id = "
            ));
            qb.push_bind(db(gym)).push(" AND id IN (");
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(db(*id));
            }
            qb.push(")");
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            let rows: Vec<MemberRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            for r in rows {
                out.push(r.into_domain()?);
            }
        }
        tx.commit().await.map_err(map_db_err)?;
        Ok(out)
    }

    async fn member_by_badge(&self, scope: &Scope, gym: GymId, badge: &str) -> StoreResult<Member> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
        let mut qb =
            QueryBuilder::<Db>::new(format!("SELECT {MEMBER_COLS} FROM members WHERE gym_id = "));
        qb.push_bind(db(gym))
            .push(" AND badge_id = ")
            .push_bind(badge.to_string());
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        let row: Option<MemberRow> = qb
            .build_query_as()
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_db_err)?;
        tx.commit().await.map_err(map_db_err)?;
        row.ok_or(StoreError::NotFound("member"))?.into_domain()
    }

    async fn list_members(
        &self,
        scope: &Scope,
        gym: GymId,
        filter: &MemberFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Member>> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
        // A gym outside the scope is "not found", not an empty list, so ids do not leak.
        fetch_gym(&mut tx, scope, gym).await?;
        let build = |select: &str| {
            let mut qb =
                QueryBuilder::<Db>::new(format!("SELECT {select} FROM members WHERE gym_id = "));
            qb.push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            push_member_filter(&mut qb, filter);
            qb
        };
        let (total, rows) = fetch_page_capped::<MemberRow>(
            &mut tx,
            build,
            MEMBER_COLS,
            match filter.sort {
                MemberSort::Name => " ORDER BY last_name, first_name, id",
                MemberSort::CreatedDesc => " ORDER BY created_at DESC, id DESC",
                MemberSort::LastVisitDesc => " ORDER BY last_visit_at DESC NULLS LAST, id",
                MemberSort::Badge => " ORDER BY badge_id, id",
            },
            page,
            self.count_cap,
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        let items = rows
            .into_iter()
            .map(MemberRow::into_domain)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page {
            items,
            total,
            total_capped: false,
            limit: page.limit,
            offset: page.offset,
        }
        .cap_total(self.count_cap))
    }

    async fn update_member(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: MemberId,
        patch: MemberPatch,
    ) -> StoreResult<Member> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let mut m = fetch_member(&mut tx, scope, gym, id).await?;
        let before = m.clone();
        patch.apply(&mut m);
        m.updated_at = now();
        let changed: Vec<&str> = [
            ("badge_id", before.badge_id != m.badge_id),
            ("first_name", before.first_name != m.first_name),
            ("last_name", before.last_name != m.last_name),
            ("email", before.email != m.email),
            ("phone", before.phone != m.phone),
            ("birth_date", before.birth_date != m.birth_date),
            (
                "preferred_language",
                before.preferred_language != m.preferred_language,
            ),
            (
                "membership_type",
                before.membership_type != m.membership_type,
            ),
            (
                "membership_status",
                before.membership_status != m.membership_status,
            ),
            (
                "membership_end_date",
                before.membership_end_date != m.membership_end_date,
            ),
            ("goals", before.goals != m.goals),
            ("limitations", before.limitations != m.limitations),
            ("consent_voice", before.consent_voice != m.consent_voice),
            (
                "consent_transcripts",
                before.consent_transcripts != m.consent_transcripts,
            ),
        ]
        .into_iter()
        .filter_map(|(f, c)| c.then_some(f))
        .collect();
        let mut qb = QueryBuilder::<Db>::new("UPDATE members SET badge_id = ");
        qb.push_bind(m.badge_id.clone())
            .push(", first_name = ")
            .push_bind(m.first_name.clone())
            .push(", last_name = ")
            .push_bind(m.last_name.clone())
            .push(", email = ")
            .push_bind(m.email.clone())
            .push(", phone = ")
            .push_bind(m.phone.clone())
            .push(", birth_date = ")
            .push_bind(m.birth_date)
            .push(", preferred_language = ")
            .push_bind(m.preferred_language.as_str())
            .push(", membership_type = ")
            .push_bind(m.membership_type.clone())
            .push(", membership_status = ")
            .push_bind(m.membership_status.as_str())
            .push(", membership_end_date = ")
            .push_bind(m.membership_end_date)
            .push(", goals = ")
            .push_bind(Json(m.goals.clone()))
            .push(", limitations = ")
            .push_bind(m.limitations.clone())
            .push(", consent_voice = ")
            .push_bind(m.consent_voice)
            .push(", consent_transcripts = ")
            .push_bind(m.consent_transcripts)
            .push(", search_key = ")
            .push_bind(m.search_key())
            .push(", updated_at = ")
            .push_bind(m.updated_at)
            .push(" WHERE gym_id = ")
            .push_bind(db(gym))
            .push(" AND id = ")
            .push_bind(db(id));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        qb.build()
            .execute(&mut *tx)
            .await
            .map_err(|e| badge_conflict(map_db_err(e), &m.badge_id))?;
        audit_tx(
            &mut tx,
            actor,
            Some(m.franchise_id),
            Some(gym),
            "member.update",
            "member",
            Some(id.to_string()),
            serde_json::json!({ "fields": changed }),
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(m)
    }

    async fn delete_member(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: MemberId,
    ) -> StoreResult<()> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let m = fetch_member(&mut tx, scope, gym, id).await?;
        // Their conversations go with them: once the member row is gone, nothing would find
        // (nor export, nor erase) transcripts left behind. Sessions stay, unlinked, for costs.
        voice_sql::erase_voice(&mut tx, scope, gym, id).await?;
        let mut qb = QueryBuilder::<Db>::new("DELETE FROM members WHERE gym_id = ");
        qb.push_bind(db(gym)).push(" AND id = ").push_bind(db(id));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        audit_tx(
            &mut tx,
            actor,
            Some(m.franchise_id),
            Some(gym),
            "member.delete",
            "member",
            Some(id.to_string()),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl KioskStore for ThisStore {
    async fn create_kiosk(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        new: NewKiosk,
    ) -> StoreResult<Kiosk> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let g = fetch_gym(&mut tx, scope, gym).await?;
        let t = now();
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO kiosks (id, gym_id, franchise_id, name, status, created_at, updated_at) VALUES (",
        );
        let mut s = qb.separated(", ");
        s.push_bind(db(KioskId::new()))
            .push_bind(db(g.id))
            .push_bind(db(g.franchise_id))
            .push_bind(new.name)
            .push_bind(KioskStatus::Unpaired.as_str())
            .push_bind(t)
            .push_bind(t);
        qb.push(format!(") RETURNING {KIOSK_COLS}"));
        let row: KioskRow = qb
            .build_query_as()
            .fetch_one(&mut *tx)
            .await
            .map_err(map_db_err)?;
        let k = row.into_domain()?;
        audit_tx(
            &mut tx,
            actor,
            Some(k.franchise_id),
            Some(k.gym_id),
            "kiosk.create",
            "kiosk",
            Some(k.id.to_string()),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(k)
    }

    async fn kiosk(&self, scope: &Scope, gym: GymId, id: KioskId) -> StoreResult<Kiosk> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
        let mut qb =
            QueryBuilder::<Db>::new(format!("SELECT {KIOSK_COLS} FROM kiosks WHERE gym_id = "));
        qb.push_bind(db(gym)).push(" AND id = ").push_bind(db(id));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        let row: Option<KioskRow> = qb
            .build_query_as()
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_db_err)?;
        tx.commit().await.map_err(map_db_err)?;
        row.ok_or(StoreError::NotFound("kiosk"))?.into_domain()
    }

    async fn list_kiosks(
        &self,
        scope: &Scope,
        gym: GymId,
        page: PageRequest,
    ) -> StoreResult<Page<Kiosk>> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
        fetch_gym(&mut tx, scope, gym).await?;
        let build = |select: &str| {
            let mut qb =
                QueryBuilder::<Db>::new(format!("SELECT {select} FROM kiosks WHERE gym_id = "));
            qb.push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb
        };
        let (total, rows) =
            fetch_page::<KioskRow>(&mut tx, build, KIOSK_COLS, " ORDER BY name, id", page).await?;
        tx.commit().await.map_err(map_db_err)?;
        let items = rows
            .into_iter()
            .map(KioskRow::into_domain)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page {
            items,
            total,
            total_capped: false,
            limit: page.limit,
            offset: page.offset,
        })
    }
}

/// Inserts or replaces a user's password hash; runs in that user's identity context.
async fn put_credentials(tx: &mut Tx, user: UserId, hash: String) -> StoreResult<()> {
    let mut qb = QueryBuilder::<Db>::new(
        "INSERT INTO user_credentials (user_id, password_hash, updated_at) VALUES (",
    );
    let t = now();
    let mut s = qb.separated(", ");
    s.push_bind(db(user)).push_bind(hash).push_bind(t);
    qb.push(") ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at");
    qb.build().execute(&mut **tx).await.map_err(map_db_err)?;
    Ok(())
}

/// Appends the "holds a membership visible in the scope" predicate on `users` (nothing for the
/// platform, which sees every user).
fn push_user_in_scope(qb: &mut QueryBuilder<Db>, scope: &Scope) {
    if *scope != Scope::Platform {
        qb.push(" AND EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id");
        push_scope(qb, scope, "m.franchise_id", "m.gym_id");
        qb.push(")");
    }
}

/// The memberships of some users that the scope sees, by user.
async fn scoped_memberships(
    tx: &mut Tx,
    scope: &Scope,
    users: &[UserId],
) -> StoreResult<BTreeMap<UserId, Vec<Membership>>> {
    let mut out: BTreeMap<UserId, Vec<Membership>> = BTreeMap::new();
    if users.is_empty() {
        return Ok(out);
    }
    let mut qb = QueryBuilder::<Db>::new(format!(
        "SELECT {MEMBERSHIP_COLS} FROM memberships WHERE user_id IN ("
    ));
    let mut s = qb.separated(", ");
    for u in users {
        s.push_bind(db(*u));
    }
    qb.push(")");
    push_scope(&mut qb, scope, "franchise_id", "gym_id");
    qb.push(" ORDER BY created_at, id");
    let rows: Vec<MembershipRow> = qb
        .build_query_as()
        .fetch_all(&mut **tx)
        .await
        .map_err(map_db_err)?;
    for r in rows {
        let m = r.into_domain()?;
        out.entry(m.user_id).or_default().push(m);
    }
    Ok(out)
}

/// The user if the scope sees them.
async fn fetch_team_user(tx: &mut Tx, scope: &Scope, id: UserId) -> StoreResult<User> {
    let mut qb = QueryBuilder::<Db>::new(format!("SELECT {USER_COLS} FROM users WHERE id = "));
    qb.push_bind(db(id));
    push_user_in_scope(&mut qb, scope);
    let row: Option<UserRow> = qb
        .build_query_as()
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_db_err)?;
    row.ok_or(StoreError::NotFound("user"))?.into_domain()
}

/// Refuses to take the super admin role away from its last enabled holder: `user` is about to
/// lose it (disabled, or that membership revoked). Needs the platform scope (only it sees
/// super admin memberships); the row lock makes two concurrent removals queue, and the count
/// runs after the lock so it sees what the first one committed.
async fn keep_one_super_admin(tx: &mut Tx, scope: &Scope, user: UserId) -> StoreResult<()> {
    if *scope != Scope::Platform {
        return Err(StoreError::OutOfScope);
    }
    let mut qb = QueryBuilder::<Db>::new(
        "SELECT id FROM memberships WHERE role = 'super_admin' ORDER BY id",
    );
    qb.push(FOR_UPDATE);
    let _: Vec<(DbUuid,)> = qb
        .build_query_as()
        .fetch_all(&mut **tx)
        .await
        .map_err(map_db_err)?;
    let mut qb = QueryBuilder::<Db>::new(
        "SELECT COUNT(DISTINCT m.user_id) FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.role = 'super_admin' AND u.disabled_at IS NULL AND u.id <> ",
    );
    qb.push_bind(db(user));
    if count(tx, qb).await? == 0 {
        return Err(StoreError::Conflict {
            constraint: "last_super_admin",
            field: "id",
            message: "this is the last enabled super admin; make someone else super admin first"
                .into(),
        });
    }
    Ok(())
}

/// Ends every live session of a user; runs in that user's identity context.
async fn revoke_all_sessions(tx: &mut Tx, user: UserId, reason: &str) -> StoreResult<u64> {
    let mut qb = QueryBuilder::<Db>::new("UPDATE auth_sessions SET revoked_at = ");
    qb.push_bind(now())
        .push(", revoked_reason = ")
        .push_bind(reason.to_string())
        .push(" WHERE revoked_at IS NULL AND user_id = ")
        .push_bind(db(user));
    Ok(qb
        .build()
        .execute(&mut **tx)
        .await
        .map_err(map_db_err)?
        .rows_affected())
}

#[async_trait::async_trait]
impl UserStore for ThisStore {
    async fn create_user(
        &self,
        actor: &Actor,
        new: NewUser,
        grant: Option<(Role, MembershipTarget)>,
    ) -> StoreResult<User> {
        let mut tx = self.begin(&TxCtx::Scope(Scope::Platform), true).await?;
        let t = now();
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO users (id, email, display_name, locale, created_at, updated_at) VALUES (",
        );
        let mut s = qb.separated(", ");
        s.push_bind(db(UserId::new()))
            .push_bind(new.email.to_lowercase())
            .push_bind(new.display_name)
            .push_bind(new.locale.as_str())
            .push_bind(t)
            .push_bind(t);
        qb.push(format!(") RETURNING {USER_COLS}"));
        let row: UserRow = qb
            .build_query_as()
            .fetch_one(&mut *tx)
            .await
            .map_err(map_db_err)?;
        let u = row.into_domain()?;
        audit_tx(
            &mut tx,
            actor,
            None,
            None,
            "user.create",
            "user",
            Some(u.id.to_string()),
            serde_json::json!({}),
        )
        .await?;
        if let Some((role, target)) = grant {
            insert_membership(&mut tx, &Scope::Platform, actor, u.id, role, target).await?;
        }
        if let Some(hash) = new.password_hash {
            // Credentials are only ever written in their owner's identity context.
            set_ctx(&mut tx, &TxCtx::Identity(u.id)).await?;
            put_credentials(&mut tx, u.id, hash).await?;
        }
        tx.commit().await.map_err(map_db_err)?;
        Ok(u)
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<(User, Option<String>)>> {
        let mut tx = self.begin(&TxCtx::SignIn, false).await?;
        let mut qb =
            QueryBuilder::<Db>::new(format!("SELECT {USER_COLS} FROM users WHERE email = "));
        qb.push_bind(email.trim().to_lowercase());
        let row: Option<UserRow> = qb
            .build_query_as()
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_db_err)?;
        let Some(user) = row.map(UserRow::into_domain).transpose()? else {
            tx.commit().await.map_err(map_db_err)?;
            return Ok(None);
        };
        let mut qb =
            QueryBuilder::<Db>::new("SELECT password_hash FROM user_credentials WHERE user_id = ");
        qb.push_bind(db(user.id));
        let hash: Option<String> = qb
            .build_query_scalar()
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_db_err)?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(Some((user, hash)))
    }

    async fn user(&self, id: UserId) -> StoreResult<User> {
        let mut tx = self.begin(&TxCtx::Identity(id), false).await?;
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {USER_COLS} FROM users WHERE id = "));
        qb.push_bind(db(id));
        let row: Option<UserRow> = qb
            .build_query_as()
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_db_err)?;
        tx.commit().await.map_err(map_db_err)?;
        row.ok_or(StoreError::NotFound("user"))?.into_domain()
    }

    async fn add_membership(
        &self,
        scope: &Scope,
        actor: &Actor,
        user: UserId,
        role: Role,
        target: MembershipTarget,
    ) -> StoreResult<Membership> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let m = insert_membership(&mut tx, scope, actor, user, role, target).await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(m)
    }

    async fn memberships_of_user(&self, user: UserId) -> StoreResult<Vec<Membership>> {
        let mut tx = self.begin(&TxCtx::Identity(user), false).await?;
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {MEMBERSHIP_COLS} FROM memberships WHERE user_id = "
        ));
        qb.push_bind(db(user)).push(" ORDER BY created_at, id");
        let rows: Vec<MembershipRow> = qb
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .map_err(map_db_err)?;
        tx.commit().await.map_err(map_db_err)?;
        rows.into_iter().map(MembershipRow::into_domain).collect()
    }

    async fn list_users(
        &self,
        scope: &Scope,
        filter: &UserFilter,
        page: PageRequest,
    ) -> StoreResult<Page<TeamMember>> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
        let build = |select: &str| {
            let mut qb = QueryBuilder::<Db>::new(format!("SELECT {select} FROM users WHERE 1 = 1"));
            push_user_in_scope(&mut qb, scope);
            if let Some(q) = filter.q.as_deref().filter(|q| !q.trim().is_empty()) {
                push_search(&mut qb, q, &["display_name", "email"]);
            }
            qb
        };
        let (total, rows) = fetch_page::<UserRow>(
            &mut tx,
            build,
            USER_COLS,
            match filter.sort {
                UserSort::Name => " ORDER BY display_name, email, id",
                UserSort::NameDesc => " ORDER BY display_name DESC, email DESC, id DESC",
                UserSort::Email => " ORDER BY email, id",
                UserSort::EmailDesc => " ORDER BY email DESC, id DESC",
                // Portable on both backends: no boolean ordering, no NULLS FIRST/LAST.
                UserSort::State => {
                    " ORDER BY CASE WHEN disabled_at IS NULL THEN 0 ELSE 1 END, display_name, email, id"
                }
                UserSort::StateDesc => {
                    " ORDER BY CASE WHEN disabled_at IS NULL THEN 1 ELSE 0 END, display_name, email, id"
                }
            },
            page,
        )
        .await?;
        let users = rows
            .into_iter()
            .map(UserRow::into_domain)
            .collect::<StoreResult<Vec<_>>>()?;
        let ids: Vec<UserId> = users.iter().map(|u| u.id).collect();
        let mut ms = scoped_memberships(&mut tx, scope, &ids).await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(Page {
            items: users
                .into_iter()
                .map(|user| TeamMember {
                    memberships: ms.remove(&user.id).unwrap_or_default(),
                    user,
                })
                .collect(),
            total,
            total_capped: false,
            limit: page.limit,
            offset: page.offset,
        })
    }

    async fn team_member(&self, scope: &Scope, id: UserId) -> StoreResult<TeamMember> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
        let user = fetch_team_user(&mut tx, scope, id).await?;
        let mut ms = scoped_memberships(&mut tx, scope, &[id]).await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(TeamMember {
            memberships: ms.remove(&id).unwrap_or_default(),
            user,
        })
    }

    async fn set_user_disabled(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: UserId,
        disabled: bool,
    ) -> StoreResult<User> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let mut user = fetch_team_user(&mut tx, scope, id).await?;
        if user.disabled_at.is_some() == disabled {
            tx.commit().await.map_err(map_db_err)?;
            return Ok(user);
        }
        if disabled {
            // Their super admin role, if any, is only visible from their own identity.
            set_ctx(&mut tx, &TxCtx::Identity(id)).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT COUNT(*) FROM memberships WHERE role = 'super_admin' AND user_id = ",
            );
            qb.push_bind(db(id));
            let is_super_admin = count(&mut tx, qb).await? > 0;
            if is_super_admin {
                set_ctx(&mut tx, &TxCtx::Scope(*scope)).await?;
                keep_one_super_admin(&mut tx, scope, id).await?;
            }
        }
        // The profile and the sessions are written in the user's own identity context.
        set_ctx(&mut tx, &TxCtx::Identity(id)).await?;
        let t = now();
        let mut qb = QueryBuilder::<Db>::new("UPDATE users SET disabled_at = ");
        qb.push_bind(disabled.then_some(t))
            .push(", updated_at = ")
            .push_bind(t)
            .push(" WHERE id = ")
            .push_bind(db(id));
        qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        user.disabled_at = disabled.then_some(t);
        let revoked = if disabled {
            revoke_all_sessions(&mut tx, id, "user_disabled").await?
        } else {
            0
        };
        set_ctx(&mut tx, &TxCtx::Scope(*scope)).await?;
        audit_tx(
            &mut tx,
            actor,
            scope.franchise(),
            scope.gym(),
            if disabled {
                "user.disable"
            } else {
                "user.enable"
            },
            "user",
            Some(id.to_string()),
            serde_json::json!({ "sessions_revoked": revoked }),
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(user)
    }

    async fn revoke_membership(
        &self,
        scope: &Scope,
        actor: &Actor,
        user: UserId,
        id: MembershipId,
    ) -> StoreResult<Membership> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {MEMBERSHIP_COLS} FROM memberships WHERE id = "
        ));
        qb.push_bind(db(id))
            .push(" AND user_id = ")
            .push_bind(db(user));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        let row: Option<MembershipRow> = qb
            .build_query_as()
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_db_err)?;
        let m = row
            .ok_or(StoreError::NotFound("membership"))?
            .into_domain()?;
        if m.role == Role::SuperAdmin {
            let owner = fetch_team_user(&mut tx, scope, user).await?;
            if owner.disabled_at.is_none() {
                keep_one_super_admin(&mut tx, scope, user).await?;
            }
        }
        let mut qb = QueryBuilder::<Db>::new("DELETE FROM memberships WHERE id = ");
        qb.push_bind(db(id));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        audit_tx(
            &mut tx,
            actor,
            m.franchise_id,
            m.gym_id,
            "membership.revoke",
            "user",
            Some(user.to_string()),
            serde_json::json!({ "role": m.role.as_str(), "membership_id": id.to_string() }),
        )
        .await?;
        // They sign in again with what is left; sessions are theirs, so their identity writes.
        set_ctx(&mut tx, &TxCtx::Identity(user)).await?;
        revoke_all_sessions(&mut tx, user, "membership_revoked").await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(m)
    }
}

#[async_trait::async_trait]
impl AuditStore for ThisStore {
    async fn record_audit(&self, scope: &Scope, entry: NewAuditEntry) -> StoreResult<AuditEntry> {
        if let Some(f) = entry.franchise_id
            && !scope.covers(f, entry.gym_id)
            && !(entry.gym_id.is_none()
                && scope.covers_franchise(f)
                && !matches!(scope, Scope::Gym { .. }))
        {
            return Err(StoreError::OutOfScope);
        }
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let e = insert_audit(&mut tx, entry).await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(e)
    }

    async fn list_audit(
        &self,
        scope: &Scope,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> StoreResult<Page<AuditEntry>> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
        let build = |select: &str| {
            let mut qb =
                QueryBuilder::<Db>::new(format!("SELECT {select} FROM audit_log WHERE 1 = 1"));
            match *scope {
                Scope::Platform => {}
                // Tenant scopes see only rows tagged with their tenant; platform rows stay hidden.
                _ => push_scope(&mut qb, scope, "franchise_id", "gym_id"),
            }
            if let Some(a) = &filter.action {
                qb.push(" AND action = ").push_bind(a.clone());
            }
            if let Some(g) = filter.gym_id {
                qb.push(" AND gym_id = ").push_bind(db(g));
            }
            if let Some(u) = filter.actor_user_id {
                qb.push(" AND actor_user_id = ").push_bind(db(u));
            }
            qb
        };
        let (total, rows) = fetch_page_capped::<AuditRow>(
            &mut tx,
            build,
            AUDIT_COLS,
            match filter.sort {
                AuditSort::AtDesc => " ORDER BY at DESC, id DESC",
                AuditSort::At => " ORDER BY at, id",
            },
            page,
            self.count_cap,
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(Page {
            items: rows.into_iter().map(AuditRow::into_domain).collect(),
            total,
            total_capped: false,
            limit: page.limit,
            offset: page.offset,
        }
        .cap_total(self.count_cap))
    }
}

/// Rows per batch of the search-key backfill.
const BACKFILL_BATCH: i64 = 500;

/// Computes the search key of every member that has none yet (rows from before migration 0006,
/// or written by an older binary during a rolling upgrade). Plain SQL cannot fold accents, so
/// this runs in Rust after migrating, in small transactions; it is idempotent, so instances
/// migrating at once may both run it.
async fn backfill_search_keys(store: &ThisStore) -> StoreResult<u64> {
    let mut done = 0_u64;
    loop {
        // Platform scope: on PostgreSQL the policies bind the table owner too (FORCE).
        let mut tx = store.begin(&TxCtx::Scope(Scope::Platform), true).await?;
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT id, first_name, last_name, badge_id, email FROM members \
             WHERE search_key = '' LIMIT ",
        );
        qb.push_bind(BACKFILL_BATCH);
        let rows: Vec<(
            crate::dbuuid::DbUuid,
            String,
            String,
            String,
            Option<String>,
        )> = qb
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .map_err(map_db_err)?;
        for (id, first, last, badge, email) in &rows {
            let key = jarvis_core::search::member_key(first, last, badge, email.as_deref());
            let mut qb = QueryBuilder::<Db>::new("UPDATE members SET search_key = ");
            qb.push_bind(key).push(" WHERE id = ").push_bind(*id);
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        }
        tx.commit().await.map_err(map_db_err)?;
        done += rows.len() as u64;
        if (rows.len() as i64) < BACKFILL_BATCH {
            return Ok(done);
        }
    }
}

#[async_trait::async_trait]
impl Maintenance for ThisStore {
    fn backend(&self) -> Backend {
        BACKEND
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(map_db_err)
            .map(|_| ())
    }

    async fn migrations(&self) -> StoreResult<Vec<MigrationInfo>> {
        Ok(pair(&MIGRATOR, &self.applied_versions().await?))
    }

    async fn migrate(&self) -> StoreResult<Vec<MigrationInfo>> {
        // PostgreSQL: the cluster-wide role first, tolerating other databases racing for it.
        self.ensure_app_role().await?;
        let before = self.applied_versions().await?;
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        backfill_search_keys(self).await?;
        voice_sql::seed_voice_defaults(self).await?;
        Ok(pair(&MIGRATOR, &self.applied_versions().await?)
            .into_iter()
            .filter(|m| !before.contains(&m.version))
            .collect())
    }

    async fn schema(&self) -> StoreResult<BTreeMap<String, Vec<String>>> {
        let rows: Vec<(String, String)> = sqlx::query_as(SCHEMA_SQL)
            .fetch_all(&self.pool)
            .await
            .map_err(map_db_err)?;
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (table, column) in rows {
            out.entry(table).or_default().push(column);
        }
        Ok(out)
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn refresh_statistics(&self) -> StoreResult<()> {
        sqlx::raw_sql(ANALYZE_SQL)
            .execute(&self.pool)
            .await
            .map_err(map_db_err)
            .map(|_| ())
    }

    fn pool_status(&self) -> crate::PoolStatus {
        crate::PoolStatus {
            open: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }
}
