// Gyms, members and kiosks (issue 5): approval workflow, kiosk pairing and device tokens,
// visits, member facts, class schedules, CSV import jobs and GDPR. `include!`d after
// `common.rs` by both backends, so it shares that file's imports and helpers.

/// Rows per multi-row INSERT in bulk imports: 1000 rows × 21 columns stays under both engines'
/// bind-parameter limits (SQLite 32766, PostgreSQL 65535).
const IMPORT_BATCH: usize = 1000;

async fn fetch_kiosk(tx: &mut Tx, scope: &Scope, gym: GymId, id: KioskId) -> StoreResult<Kiosk> {
    let mut qb =
        QueryBuilder::<Db>::new(format!("SELECT {KIOSK_COLS} FROM kiosks WHERE gym_id = "));
    qb.push_bind(db(gym)).push(" AND id = ").push_bind(db(id));
    push_scope(&mut qb, scope, "franchise_id", "gym_id");
    let row: Option<KioskRow> = qb
        .build_query_as()
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_db_err)?;
    row.ok_or(StoreError::NotFound("kiosk"))?.into_domain()
}

/// Stores heard-latency samples of a kiosk in the tenant `scope`. Copies the kiosk's tenant
/// columns from its row, so a kiosk deleted since the heartbeat stores nothing (instead of
/// failing the batch on a foreign key, which would retry forever).
async fn insert_heard_latency(
    tx: &mut Tx,
    scope: &Scope,
    kiosk: KioskId,
    samples: &[(time::OffsetDateTime, u32)],
) -> StoreResult<()> {
    for (at, ms) in samples {
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO voice_heard_latency (id, franchise_id, gym_id, kiosk_id, latency_ms, at) SELECT ",
        );
        qb.push_bind(db(uuid::Uuid::now_v7()))
            .push(", franchise_id, gym_id, id, ")
            .push_bind(i32::try_from((*ms).min(MAX_HEARD_LATENCY_MS)).unwrap_or(i32::MAX))
            .push(", ")
            .push_bind(crate::dbtime::DbTime::new(*at))
            .push(" FROM kiosks WHERE id = ")
            .push_bind(db(kiosk));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        qb.build().execute(&mut **tx).await.map_err(map_db_err)?;
    }
    Ok(())
}

/// Largest heard latency stored (the heartbeat's own limit; the table checks it too).
const MAX_HEARD_LATENCY_MS: u32 = 60_000;

/// The kiosk (and gym) whose column `col` equals `value`, looked up across tenants: the secret
/// itself is the credential, so there is no scope yet.
async fn kiosk_identity_by(tx: &mut Tx, col: &str, value: &str) -> StoreResult<KioskIdentity> {
    let mut qb = QueryBuilder::<Db>::new(format!("SELECT {KIOSK_COLS} FROM kiosks WHERE {col} = "));
    qb.push_bind(value.to_string());
    let row: Option<KioskRow> = qb
        .build_query_as()
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_db_err)?;
    let kiosk = row.ok_or(StoreError::NotFound("kiosk"))?.into_domain()?;
    let gym = fetch_gym(tx, &Scope::Platform, kiosk.gym_id).await?;
    Ok(KioskIdentity { kiosk, gym })
}

/// The losing side of two concurrent status changes.
fn status_changed(expected: GymStatus, now: GymStatus) -> StoreError {
    StoreError::Conflict {
        constraint: "gyms_status_changed",
        field: "status",
        message: format!(
            "the gym's status changed meanwhile (expected {}, now {}); reload and decide again",
            expected.as_str(),
            now.as_str()
        ),
    }
}

#[async_trait::async_trait]
impl GymAdminStore for ThisStore {
    async fn review_gym(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: GymId,
        from: GymStatus,
        to: GymStatus,
        reason: Option<String>,
    ) -> StoreResult<Gym> {
        let reason = reason
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty());
        if GymStatus::needs_reason(to) && reason.is_none() {
            return Err(StoreError::Invalid {
                field: "reason",
                message: format!("a reason is required to move a gym to {}", to.as_str()),
            });
        }
        if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
            return Err(StoreError::Invalid {
                field: "reason",
                message: "must be at most 500 characters".into(),
            });
        }
        if !from.can_become(to) {
            return Err(StoreError::Invalid {
                field: "status",
                message: format!("a {} gym cannot become {}", from.as_str(), to.as_str()),
            });
        }
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        // No status check here: the conditional UPDATE below is the one place that decides.
        let mut g = fetch_gym(&mut tx, scope, id).await?;
        g.status = to;
        g.status_reason = if GymStatus::needs_reason(to) {
            reason.clone()
        } else {
            None
        };
        g.updated_at = now();
        let mut qb = QueryBuilder::<Db>::new("UPDATE gyms SET status = ");
        qb.push_bind(to.as_str())
            .push(", status_reason = ")
            .push_bind(g.status_reason.clone())
            .push(", updated_at = ")
            .push_bind(g.updated_at)
            .push(" WHERE id = ")
            .push_bind(db(id))
            // Compare-and-set: a concurrent review that committed first (PostgreSQL re-checks
            // this on the updated row) makes this one change nothing, and lose with a conflict.
            .push(" AND status = ")
            .push_bind(from.as_str());
        push_scope(&mut qb, scope, "franchise_id", "id");
        let done = qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        if done.rows_affected() != 1 {
            let now_status = fetch_gym(&mut tx, scope, id).await?.status;
            return Err(status_changed(from, now_status));
        }
        audit_tx(
            &mut tx,
            actor,
            Some(g.franchise_id),
            Some(id),
            "gym.status",
            "gym",
            Some(id.to_string()),
            serde_json::json!({ "from": from.as_str(), "to": to.as_str(), "reason": reason }),
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(g)
    }
}

#[async_trait::async_trait]
impl KioskDeviceStore for ThisStore {
    async fn update_kiosk(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: KioskId,
        patch: KioskPatch,
    ) -> StoreResult<Kiosk> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let mut k = fetch_kiosk(&mut tx, scope, gym, id).await?;
        let mut changed = Vec::new();
        if let Some(name) = patch.name {
            changed.push("name");
            k.name = name;
        }
        if let Some(to) = patch.gym_id.filter(|g| *g != gym) {
            let target = match fetch_gym(&mut tx, scope, to).await {
                Ok(t) => t,
                Err(StoreError::NotFound(_)) => {
                    return Err(StoreError::Invalid {
                        field: "gym_id",
                        message: "no such gym".into(),
                    });
                }
                Err(e) => return Err(e),
            };
            if target.franchise_id != k.franchise_id {
                return Err(StoreError::Invalid {
                    field: "gym_id",
                    message: "a kiosk can only move within its franchise".into(),
                });
            }
            changed.push("gym_id");
            k.gym_id = to;
        }
        let mut qb = QueryBuilder::<Db>::new("UPDATE kiosks SET name = ");
        qb.push_bind(k.name.clone())
            .push(", gym_id = ")
            .push_bind(db(k.gym_id))
            .push(", updated_at = ")
            .push_bind(now())
            .push(" WHERE gym_id = ")
            .push_bind(db(gym))
            .push(" AND id = ")
            .push_bind(db(id));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        audit_tx(
            &mut tx,
            actor,
            Some(k.franchise_id),
            Some(gym),
            "kiosk.update",
            "kiosk",
            Some(id.to_string()),
            serde_json::json!({ "fields": changed, "to_gym": patch.gym_id.map(|g| g.to_string()) }),
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(k)
    }

    async fn set_pairing_code(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: KioskId,
        code_hash: &str,
        expires_at: time::OffsetDateTime,
    ) -> StoreResult<Kiosk> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let mut k = fetch_kiosk(&mut tx, scope, gym, id).await?;
        let mut qb = QueryBuilder::<Db>::new("UPDATE kiosks SET pairing_code_hash = ");
        qb.push_bind(code_hash.to_string())
            .push(", pairing_expires_at = ")
            .push_bind(expires_at)
            .push(", updated_at = ")
            .push_bind(now())
            .push(" WHERE gym_id = ")
            .push_bind(db(gym))
            .push(" AND id = ")
            .push_bind(db(id));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        audit_tx(
            &mut tx,
            actor,
            Some(k.franchise_id),
            Some(gym),
            "kiosk.pairing_code",
            "kiosk",
            Some(id.to_string()),
            serde_json::json!({ "expires_at": expires_at.to_string() }),
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        k.pairing_expires_at = Some(expires_at);
        Ok(k)
    }

    async fn revoke_kiosk(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: KioskId,
    ) -> StoreResult<Kiosk> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let mut k = fetch_kiosk(&mut tx, scope, gym, id).await?;
        let t = now();
        let mut qb = QueryBuilder::<Db>::new(
            "UPDATE kiosks SET device_token_hash = NULL, pairing_code_hash = NULL, \
             pairing_expires_at = NULL, status = ",
        );
        qb.push_bind(KioskStatus::Revoked.as_str())
            .push(", revoked_at = ")
            .push_bind(t)
            .push(", updated_at = ")
            .push_bind(t)
            .push(" WHERE gym_id = ")
            .push_bind(db(gym))
            .push(" AND id = ")
            .push_bind(db(id));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        audit_tx(
            &mut tx,
            actor,
            Some(k.franchise_id),
            Some(gym),
            "kiosk.revoke",
            "kiosk",
            Some(id.to_string()),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        k.status = KioskStatus::Revoked;
        k.pairing_expires_at = None;
        Ok(k)
    }

    async fn pair_kiosk(&self, code_hash: &str, token_hash: &str) -> StoreResult<KioskIdentity> {
        let mut tx = self.begin(&TxCtx::Scope(Scope::Platform), true).await?;
        let mut id = kiosk_identity_by(&mut tx, "pairing_code_hash", code_hash).await?;
        let t = now();
        if id.kiosk.pairing_expires_at.is_none_or(|e| e <= t) {
            // An expired code is as good as none; clear it so the hash does not linger.
            let mut qb = QueryBuilder::<Db>::new(
                "UPDATE kiosks SET pairing_code_hash = NULL, pairing_expires_at = NULL WHERE id = ",
            );
            qb.push_bind(db(id.kiosk.id));
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            return Err(StoreError::NotFound("pairing code"));
        }
        // The one rule (`Gym::kiosk_readiness`): active, with valid settings.
        if let Err(not_ready) = id.gym.kiosk_readiness() {
            // The field names the refusal (`gym_inactive`, `gym_misconfigured`).
            return Err(StoreError::Invalid {
                field: not_ready.code(),
                message: not_ready.to_string(),
            });
        }
        // The WHERE repeats the code hash so two concurrent exchanges cannot both win.
        let mut qb = QueryBuilder::<Db>::new(
            "UPDATE kiosks SET pairing_code_hash = NULL, pairing_expires_at = NULL, revoked_at = NULL, device_token_hash = ",
        );
        qb.push_bind(token_hash.to_string())
            .push(", status = ")
            .push_bind(KioskStatus::Paired.as_str())
            .push(", paired_at = ")
            .push_bind(t)
            .push(", updated_at = ")
            .push_bind(t)
            .push(" WHERE id = ")
            .push_bind(db(id.kiosk.id))
            .push(" AND pairing_code_hash = ")
            .push_bind(code_hash.to_string());
        let done = qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound("pairing code"));
        }
        audit_tx(
            &mut tx,
            &Actor::system(),
            Some(id.kiosk.franchise_id),
            Some(id.kiosk.gym_id),
            "kiosk.pair",
            "kiosk",
            Some(id.kiosk.id.to_string()),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        id.kiosk.status = KioskStatus::Paired;
        id.kiosk.paired_at = Some(t);
        id.kiosk.pairing_expires_at = None;
        Ok(id)
    }

    async fn kiosk_by_token(&self, token_hash: &str) -> StoreResult<KioskIdentity> {
        let mut tx = self.begin(&TxCtx::Scope(Scope::Platform), false).await?;
        let id = kiosk_identity_by(&mut tx, "device_token_hash", token_hash).await?;
        tx.commit().await.map_err(map_db_err)?;
        if id.kiosk.status != KioskStatus::Paired {
            return Err(StoreError::NotFound("kiosk"));
        }
        Ok(id)
    }

    async fn record_heartbeat(&self, device: &KioskIdentity, hb: Heartbeat) -> StoreResult<Kiosk> {
        let scope = device.scope();
        let mut tx = self.begin(&TxCtx::Scope(scope), true).await?;
        let t = now();
        let mut qb = QueryBuilder::<Db>::new("UPDATE kiosks SET last_seen_at = ");
        qb.push_bind(t)
            .push(", app_version = ")
            .push_bind(hb.app_version.clone())
            .push(", uptime_secs = ")
            .push_bind(hb.uptime_secs)
            .push(", mic_status = ")
            .push_bind(hb.mic_status.as_str())
            .push(", network_quality = ")
            .push_bind(hb.network_quality.as_str())
            .push(" WHERE id = ")
            .push_bind(db(device.kiosk.id))
            .push(" AND status = ")
            .push_bind(KioskStatus::Paired.as_str());
        push_scope(&mut qb, &scope, "franchise_id", "gym_id");
        let done = qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound("kiosk"));
        }
        if let Some(ms) = hb.voice_latency_ms {
            insert_heard_latency(&mut tx, &scope, device.kiosk.id, &[(t, ms)]).await?;
        }
        let k = fetch_kiosk(&mut tx, &scope, device.kiosk.gym_id, device.kiosk.id).await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(k)
    }

    async fn record_heartbeats(&self, batch: &[PendingHeartbeat]) -> StoreResult<u64> {
        let Some(first) = batch.first() else {
            return Ok(0);
        };
        // One transaction for the batch: on SQLite one turn of the single writer lock instead of
        // one per heartbeat, which is what made heartbeats queue behind each other.
        let mut scope = first.scope();
        let mut tx = self.begin(&TxCtx::Scope(scope), true).await?;
        let mut updated = 0;
        for p in batch {
            if p.scope() != scope {
                scope = p.scope();
                set_ctx(&mut tx, &TxCtx::Scope(scope)).await?;
            }
            let hb = &p.heartbeat;
            // Fixed-width text on SQLite, so `<` orders it like time (see `dbtime`).
            let at = crate::dbtime::DbTime::new(p.received_at);
            let mut qb = QueryBuilder::<Db>::new("UPDATE kiosks SET last_seen_at = ");
            qb.push_bind(at)
                .push(", app_version = ")
                .push_bind(hb.app_version.clone())
                .push(", uptime_secs = ")
                .push_bind(hb.uptime_secs)
                .push(", mic_status = ")
                .push_bind(hb.mic_status.as_str())
                .push(", network_quality = ")
                .push_bind(hb.network_quality.as_str())
                .push(" WHERE id = ")
                .push_bind(db(p.kiosk))
                .push(" AND status = ")
                .push_bind(KioskStatus::Paired.as_str())
                // Latest wins: an instance flushing an older heartbeat never moves presence back.
                .push(" AND (last_seen_at IS NULL OR last_seen_at < ")
                .push_bind(at)
                .push(")");
            push_scope(&mut qb, &scope, "franchise_id", "gym_id");
            updated += qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected();
            // Stored whether or not a newer heartbeat won the row: each sample is a real turn.
            insert_heard_latency(&mut tx, &scope, p.kiosk, &p.heard_latency).await?;
        }
        tx.commit().await.map_err(map_db_err)?;
        Ok(updated)
    }
}

#[async_trait::async_trait]
impl ActivityStore for ThisStore {
    async fn record_visit(
        &self,
        scope: &Scope,
        gym: GymId,
        member: MemberId,
        kiosk: Option<KioskId>,
    ) -> StoreResult<Visit> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let m = fetch_member(&mut tx, scope, gym, member).await?;
        let t = now();
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO member_visits (id, gym_id, franchise_id, member_id, kiosk_id, at) VALUES (",
        );
        let mut s = qb.separated(", ");
        s.push_bind(db(VisitId::new()))
            .push_bind(db(gym))
            .push_bind(db(m.franchise_id))
            .push_bind(db(member))
            .push_bind(kiosk.map(db))
            .push_bind(t);
        qb.push(format!(") RETURNING {VISIT_COLS}"));
        let row: VisitRow = qb
            .build_query_as()
            .fetch_one(&mut *tx)
            .await
            .map_err(map_db_err)?;
        let mut qb = QueryBuilder::<Db>::new(
            "UPDATE members SET visit_count = visit_count + 1, last_visit_at = ",
        );
        qb.push_bind(t)
            .push(" WHERE gym_id = ")
            .push_bind(db(gym))
            .push(" AND id = ")
            .push_bind(db(member));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(row.into_domain())
    }

    async fn record_scan_visit(
        &self,
        scope: &Scope,
        gym: GymId,
        member: MemberId,
        kiosk: Option<KioskId>,
        debounce: time::Duration,
    ) -> StoreResult<Option<Visit>> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let m = fetch_member(&mut tx, scope, gym, member).await?;
        let t = now();
        // One conditional statement decides: of concurrent scans, only the one whose update
        // finds the last visit outside the window counts (PostgreSQL re-evaluates the WHERE on
        // the row a concurrent winner just updated; SQLite serializes writers).
        let mut qb = QueryBuilder::<Db>::new(
            "UPDATE members SET visit_count = visit_count + 1, last_visit_at = ",
        );
        qb.push_bind(t)
            .push(" WHERE gym_id = ")
            .push_bind(db(gym))
            .push(" AND id = ")
            .push_bind(db(member))
            .push(" AND (last_visit_at IS NULL OR last_visit_at <= ")
            .push_bind(t - debounce)
            .push(")");
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        let done = qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        if done.rows_affected() != 1 {
            tx.commit().await.map_err(map_db_err)?;
            return Ok(None);
        }
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO member_visits (id, gym_id, franchise_id, member_id, kiosk_id, at) VALUES (",
        );
        let mut s = qb.separated(", ");
        s.push_bind(db(VisitId::new()))
            .push_bind(db(gym))
            .push_bind(db(m.franchise_id))
            .push_bind(db(member))
            .push_bind(kiosk.map(db))
            .push_bind(t);
        qb.push(format!(") RETURNING {VISIT_COLS}"));
        let row: VisitRow = qb
            .build_query_as()
            .fetch_one(&mut *tx)
            .await
            .map_err(map_db_err)?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(Some(row.into_domain()))
    }

    async fn list_visits(
        &self,
        scope: &Scope,
        gym: GymId,
        member: MemberId,
        page: PageRequest,
    ) -> StoreResult<Page<Visit>> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
        fetch_member(&mut tx, scope, gym, member).await?;
        let build = |select: &str| {
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {select} FROM member_visits WHERE gym_id = "
            ));
            qb.push_bind(db(gym))
                .push(" AND member_id = ")
                .push_bind(db(member));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb
        };
        let (total, rows) = fetch_page::<VisitRow>(
            &mut tx,
            build,
            VISIT_COLS,
            " ORDER BY at DESC, id DESC",
            page,
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(Page {
            items: rows.into_iter().map(VisitRow::into_domain).collect(),
            total,
            total_capped: false,
            limit: page.limit,
            offset: page.offset,
        })
    }

    async fn add_fact(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        member: MemberId,
        new: NewMemberFact,
    ) -> StoreResult<MemberFact> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let m = fetch_member(&mut tx, scope, gym, member).await?;
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO member_facts (id, gym_id, franchise_id, member_id, note, source, created_at) VALUES (",
        );
        let mut s = qb.separated(", ");
        s.push_bind(db(MemberFactId::new()))
            .push_bind(db(gym))
            .push_bind(db(m.franchise_id))
            .push_bind(db(member))
            .push_bind(new.note)
            .push_bind(new.source.as_str())
            .push_bind(now());
        qb.push(format!(") RETURNING {FACT_COLS}"));
        let row: FactRow = qb
            .build_query_as()
            .fetch_one(&mut *tx)
            .await
            .map_err(map_db_err)?;
        let f = row.into_domain()?;
        audit_tx(
            &mut tx,
            actor,
            Some(m.franchise_id),
            Some(gym),
            "member.fact.add",
            "member",
            Some(member.to_string()),
            serde_json::json!({ "fact_id": f.id.to_string() }),
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(f)
    }

    async fn list_facts(
        &self,
        scope: &Scope,
        gym: GymId,
        member: MemberId,
        page: PageRequest,
    ) -> StoreResult<Page<MemberFact>> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
        fetch_member(&mut tx, scope, gym, member).await?;
        let build = |select: &str| {
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {select} FROM member_facts WHERE gym_id = "
            ));
            qb.push_bind(db(gym))
                .push(" AND member_id = ")
                .push_bind(db(member));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb
        };
        let (total, rows) = fetch_page::<FactRow>(
            &mut tx,
            build,
            FACT_COLS,
            " ORDER BY created_at DESC, id DESC",
            page,
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        page_of(rows, total, page, FactRow::into_domain)
    }

    async fn delete_fact(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        member: MemberId,
        id: MemberFactId,
    ) -> StoreResult<()> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let m = fetch_member(&mut tx, scope, gym, member).await?;
        let mut qb = QueryBuilder::<Db>::new("DELETE FROM member_facts WHERE gym_id = ");
        qb.push_bind(db(gym))
            .push(" AND member_id = ")
            .push_bind(db(member))
            .push(" AND id = ")
            .push_bind(db(id));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        let done = qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("fact"));
        }
        audit_tx(
            &mut tx,
            actor,
            Some(m.franchise_id),
            Some(gym),
            "member.fact.delete",
            "member",
            Some(member.to_string()),
            serde_json::json!({ "fact_id": id.to_string() }),
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(())
    }
}

async fn fetch_class(
    tx: &mut Tx,
    scope: &Scope,
    gym: GymId,
    id: ClassScheduleId,
) -> StoreResult<ClassSchedule> {
    let mut qb = QueryBuilder::<Db>::new(format!(
        "SELECT {CLASS_COLS} FROM class_schedules WHERE gym_id = "
    ));
    qb.push_bind(db(gym)).push(" AND id = ").push_bind(db(id));
    push_scope(&mut qb, scope, "franchise_id", "gym_id");
    let row: Option<ClassRow> = qb
        .build_query_as()
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_db_err)?;
    row.ok_or(StoreError::NotFound("class"))?.into_domain()
}

#[async_trait::async_trait]
impl ScheduleStore for ThisStore {
    async fn create_class(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        new: NewClassSchedule,
    ) -> StoreResult<ClassSchedule> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let g = fetch_gym(&mut tx, scope, gym).await?;
        let t = now();
        let mut qb = QueryBuilder::<Db>::new(format!(
            "INSERT INTO class_schedules ({CLASS_COLS}) VALUES ("
        ));
        let mut s = qb.separated(", ");
        s.push_bind(db(ClassScheduleId::new()))
            .push_bind(db(gym))
            .push_bind(db(g.franchise_id))
            .push_bind(new.name)
            .push_bind(new.coach)
            .push_bind(new.room)
            .push_bind(new.weekday.map(|w| w.as_str()))
            .push_bind(new.date)
            .push_bind(new.start_time)
            .push_bind(new.duration_minutes)
            .push_bind(new.capacity)
            .push_bind(new.recurring)
            .push_bind(t)
            .push_bind(t);
        qb.push(format!(") RETURNING {CLASS_COLS}"));
        let row: ClassRow = qb
            .build_query_as()
            .fetch_one(&mut *tx)
            .await
            .map_err(map_db_err)?;
        let c = row.into_domain()?;
        audit_tx(
            &mut tx,
            actor,
            Some(g.franchise_id),
            Some(gym),
            "class.create",
            "class",
            Some(c.id.to_string()),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(c)
    }

    async fn class(
        &self,
        scope: &Scope,
        gym: GymId,
        id: ClassScheduleId,
    ) -> StoreResult<ClassSchedule> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
        let c = fetch_class(&mut tx, scope, gym, id).await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(c)
    }

    async fn list_classes(
        &self,
        scope: &Scope,
        gym: GymId,
        weekday: Option<Weekday>,
        page: PageRequest,
    ) -> StoreResult<Page<ClassSchedule>> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
        fetch_gym(&mut tx, scope, gym).await?;
        let build = |select: &str| {
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {select} FROM class_schedules WHERE gym_id = "
            ));
            qb.push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            if let Some(w) = weekday {
                qb.push(" AND weekday = ").push_bind(w.as_str());
            }
            qb
        };
        // Weekly classes Monday→Sunday, then one-off classes by date.
        let order = " ORDER BY CASE weekday WHEN 'mon' THEN 1 WHEN 'tue' THEN 2 WHEN 'wed' THEN 3 \
             WHEN 'thu' THEN 4 WHEN 'fri' THEN 5 WHEN 'sat' THEN 6 WHEN 'sun' THEN 7 ELSE 8 END, \
             date, start_time, name, id";
        let (total, rows) = fetch_page::<ClassRow>(&mut tx, build, CLASS_COLS, order, page).await?;
        tx.commit().await.map_err(map_db_err)?;
        page_of(rows, total, page, ClassRow::into_domain)
    }

    async fn update_class(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: ClassScheduleId,
        new: NewClassSchedule,
    ) -> StoreResult<ClassSchedule> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let old = fetch_class(&mut tx, scope, gym, id).await?;
        let mut qb = QueryBuilder::<Db>::new("UPDATE class_schedules SET name = ");
        qb.push_bind(new.name)
            .push(", coach = ")
            .push_bind(new.coach)
            .push(", room = ")
            .push_bind(new.room)
            .push(", weekday = ")
            .push_bind(new.weekday.map(|w| w.as_str()))
            .push(", date = ")
            .push_bind(new.date)
            .push(", start_time = ")
            .push_bind(new.start_time)
            .push(", duration_minutes = ")
            .push_bind(new.duration_minutes)
            .push(", capacity = ")
            .push_bind(new.capacity)
            .push(", recurring = ")
            .push_bind(new.recurring)
            .push(", updated_at = ")
            .push_bind(now())
            .push(" WHERE gym_id = ")
            .push_bind(db(gym))
            .push(" AND id = ")
            .push_bind(db(id));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        let c = fetch_class(&mut tx, scope, gym, id).await?;
        audit_tx(
            &mut tx,
            actor,
            Some(old.franchise_id),
            Some(gym),
            "class.update",
            "class",
            Some(id.to_string()),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(c)
    }

    async fn delete_class(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: ClassScheduleId,
    ) -> StoreResult<()> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let old = fetch_class(&mut tx, scope, gym, id).await?;
        let mut qb = QueryBuilder::<Db>::new("DELETE FROM class_schedules WHERE gym_id = ");
        qb.push_bind(db(gym)).push(" AND id = ").push_bind(db(id));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        audit_tx(
            &mut tx,
            actor,
            Some(old.franchise_id),
            Some(gym),
            "class.delete",
            "class",
            Some(id.to_string()),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(())
    }
}

async fn fetch_import(
    tx: &mut Tx,
    scope: &Scope,
    gym: GymId,
    id: ImportJobId,
) -> StoreResult<ImportJob> {
    let mut qb = QueryBuilder::<Db>::new(format!(
        "SELECT {IMPORT_COLS} FROM member_imports WHERE gym_id = "
    ));
    qb.push_bind(db(gym)).push(" AND id = ").push_bind(db(id));
    push_scope(&mut qb, scope, "franchise_id", "gym_id");
    let row: Option<ImportRow> = qb
        .build_query_as()
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_db_err)?;
    row.ok_or(StoreError::NotFound("import job"))?.into_domain()
}

#[async_trait::async_trait]
impl ImportStore for ThisStore {
    async fn create_import_job(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        dry_run: bool,
        skip_bad_rows: bool,
    ) -> StoreResult<ImportJob> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let g = fetch_gym(&mut tx, scope, gym).await?;
        let t = now();
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO member_imports (id, gym_id, franchise_id, status, dry_run, skip_bad_rows, \
             total_rows, processed_rows, created_at, updated_at) VALUES (",
        );
        let mut s = qb.separated(", ");
        s.push_bind(db(ImportJobId::new()))
            .push_bind(db(gym))
            .push_bind(db(g.franchise_id))
            .push_bind(ImportStatus::Queued.as_str())
            .push_bind(dry_run)
            .push_bind(skip_bad_rows)
            .push_bind(0_i64)
            .push_bind(0_i64)
            .push_bind(t)
            .push_bind(t);
        qb.push(format!(") RETURNING {IMPORT_COLS}"));
        let row: ImportRow = qb
            .build_query_as()
            .fetch_one(&mut *tx)
            .await
            .map_err(map_db_err)?;
        let j = row.into_domain()?;
        audit_tx(
            &mut tx,
            actor,
            Some(g.franchise_id),
            Some(gym),
            "member.import.start",
            "import",
            Some(j.id.to_string()),
            serde_json::json!({ "dry_run": dry_run, "skip_bad_rows": skip_bad_rows }),
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(j)
    }

    async fn import_job(
        &self,
        scope: &Scope,
        gym: GymId,
        id: ImportJobId,
    ) -> StoreResult<ImportJob> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
        let j = fetch_import(&mut tx, scope, gym, id).await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(j)
    }

    async fn list_import_jobs(
        &self,
        scope: &Scope,
        gym: GymId,
        page: PageRequest,
    ) -> StoreResult<Page<ImportJob>> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
        fetch_gym(&mut tx, scope, gym).await?;
        let build = |select: &str| {
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {select} FROM member_imports WHERE gym_id = "
            ));
            qb.push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb
        };
        let (total, rows) = fetch_page::<ImportRow>(
            &mut tx,
            build,
            IMPORT_COLS,
            " ORDER BY created_at DESC, id DESC",
            page,
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        page_of(rows, total, page, ImportRow::into_domain)
    }

    async fn import_progress(
        &self,
        scope: &Scope,
        gym: GymId,
        id: ImportJobId,
        status: ImportStatus,
        total_rows: u64,
        processed_rows: u64,
    ) -> StoreResult<bool> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let mut qb = QueryBuilder::<Db>::new("UPDATE member_imports SET status = ");
        qb.push_bind(status.as_str())
            .push(", total_rows = ")
            .push_bind(i64::try_from(total_rows).unwrap_or(i64::MAX))
            .push(", processed_rows = ")
            .push_bind(i64::try_from(processed_rows).unwrap_or(i64::MAX))
            .push(", updated_at = ")
            .push_bind(now())
            .push(" WHERE gym_id = ")
            .push_bind(db(gym))
            .push(" AND id = ")
            .push_bind(db(id))
            // A finished (or swept) job stays finished: a late progress tick never revives it.
            .push(" AND status IN ('queued', 'running')");
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        let done = qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn fail_stale_imports(
        &self,
        stale_before: time::OffsetDateTime,
        report: serde_json::Value,
    ) -> StoreResult<u64> {
        // System maintenance across tenants, like purging ended sessions.
        let mut tx = self.begin(&TxCtx::Scope(Scope::Platform), true).await?;
        let t = now();
        let mut qb = QueryBuilder::<Db>::new("UPDATE member_imports SET status = ");
        qb.push_bind(ImportStatus::Failed.as_str())
            .push(", report = ")
            .push_bind(Json(report))
            .push(", finished_at = ")
            .push_bind(t)
            .push(", updated_at = ")
            .push_bind(t)
            .push(", upload = NULL, upload_meta = NULL")
            .push(" WHERE status = 'running' AND updated_at < ")
            .push_bind(stale_before);
        let done = qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(done.rows_affected())
    }

    async fn finish_import_job(
        &self,
        scope: &Scope,
        gym: GymId,
        id: ImportJobId,
        status: ImportStatus,
        report: serde_json::Value,
    ) -> StoreResult<ImportJob> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let t = now();
        let mut qb = QueryBuilder::<Db>::new("UPDATE member_imports SET status = ");
        qb.push_bind(status.as_str())
            .push(", report = ")
            .push_bind(Json(report))
            .push(
                ", processed_rows = total_rows, upload = NULL, upload_meta = NULL, finished_at = ",
            )
            .push_bind(t)
            .push(", updated_at = ")
            .push_bind(t)
            .push(" WHERE gym_id = ")
            .push_bind(db(gym))
            .push(" AND id = ")
            .push_bind(db(id))
            // The first outcome stands (a retried run finishing late changes nothing).
            .push(" AND status IN ('queued', 'running')");
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        let j = fetch_import(&mut tx, scope, gym, id).await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(j)
    }

    async fn save_import_upload(
        &self,
        scope: &Scope,
        gym: GymId,
        id: ImportJobId,
        data: &[u8],
        meta: serde_json::Value,
    ) -> StoreResult<()> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let mut qb = QueryBuilder::<Db>::new("UPDATE member_imports SET upload = ");
        qb.push_bind(data.to_vec())
            .push(", upload_meta = ")
            .push_bind(Json(meta))
            .push(", updated_at = ")
            .push_bind(now())
            .push(" WHERE gym_id = ")
            .push_bind(db(gym))
            .push(" AND id = ")
            .push_bind(db(id))
            .push(" AND status IN ('queued', 'running')");
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        let done = qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound("import job"));
        }
        tx.commit().await.map_err(map_db_err)?;
        Ok(())
    }

    async fn import_upload(
        &self,
        scope: &Scope,
        gym: GymId,
        id: ImportJobId,
    ) -> StoreResult<(Option<Vec<u8>>, Option<serde_json::Value>)> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT upload, upload_meta FROM member_imports WHERE gym_id = ",
        );
        qb.push_bind(db(gym)).push(" AND id = ").push_bind(db(id));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        let row: Option<(Option<Vec<u8>>, Option<Json<serde_json::Value>>)> = qb
            .build_query_as()
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_db_err)?;
        tx.commit().await.map_err(map_db_err)?;
        let (data, meta) = row.ok_or(StoreError::NotFound("import job"))?;
        Ok((data, meta.map(|m| m.0)))
    }

    async fn member_badges(&self, scope: &Scope, gym: GymId) -> StoreResult<Vec<String>> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
        fetch_gym(&mut tx, scope, gym).await?;
        let mut qb = QueryBuilder::<Db>::new("SELECT badge_id FROM members WHERE gym_id = ");
        qb.push_bind(db(gym));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        let badges: Vec<String> = qb
            .build_query_scalar()
            .fetch_all(&mut *tx)
            .await
            .map_err(map_db_err)?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(badges)
    }

    async fn insert_members_bulk(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        job: Option<ImportJobId>,
        rows: &[NewMember],
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> StoreResult<u64> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let g = fetch_gym(&mut tx, scope, gym).await?;
        let t = now();
        let mut written = 0_u64;
        for chunk in rows.chunks(IMPORT_BATCH) {
            let mut qb = QueryBuilder::<Db>::new(format!(
                "INSERT INTO members ({MEMBER_COLS}, search_key) "
            ));
            // Every column is bound from a typed `NewMember` field: nothing else from the file
            // can reach the statement.
            qb.push_values(chunk, |mut b, m| {
                b.push_bind(db(MemberId::new()))
                    .push_bind(db(gym))
                    .push_bind(db(g.franchise_id))
                    .push_bind(m.badge_id.clone())
                    .push_bind(m.first_name.clone())
                    .push_bind(m.last_name.clone())
                    .push_bind(m.email.clone())
                    .push_bind(m.phone.clone())
                    .push_bind(m.birth_date)
                    .push_bind(m.preferred_language.as_str())
                    .push_bind(m.membership_type.clone())
                    .push_bind(m.membership_status.as_str())
                    .push_bind(m.membership_end_date)
                    .push_bind(Json(m.goals.clone()))
                    .push_bind(m.limitations.clone())
                    .push_bind(m.consent_voice)
                    .push_bind(m.consent_transcripts)
                    .push_bind(0_i64)
                    .push_bind(None::<time::OffsetDateTime>)
                    .push_bind(t)
                    .push_bind(t)
                    .push_bind(m.search_key());
            });
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            written += chunk.len() as u64;
            progress(written);
        }
        if let Some(job) = job {
            // The job row is touched last, in this transaction: the commit carries a fresh
            // `updated_at` (SQLite blocks other writers, heartbeats included, until then), and
            // a job already declared interrupted by the stale sweep writes nothing.
            // Wiping the upload here marks, atomically with the rows, that they were written:
            // a retry after a crash before the job finished knows not to insert them again.
            let mut qb = QueryBuilder::<Db>::new("UPDATE member_imports SET processed_rows = ");
            qb.push_bind(i64::try_from(written).unwrap_or(i64::MAX))
                .push(", upload = NULL, updated_at = ")
                .push_bind(now())
                .push(" WHERE gym_id = ")
                .push_bind(db(gym))
                .push(" AND id = ")
                .push_bind(db(job))
                .push(" AND status IN ('queued', 'running')");
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            let done = qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            if done.rows_affected() != 1 {
                return Err(StoreError::Conflict {
                    constraint: "member_imports_stopped",
                    field: "import",
                    message: "this import was marked as interrupted while it ran".into(),
                });
            }
        }
        audit_tx(
            &mut tx,
            actor,
            Some(g.franchise_id),
            Some(gym),
            "member.import",
            "gym",
            Some(gym.to_string()),
            serde_json::json!({ "inserted": written }),
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(written)
    }
}

#[async_trait::async_trait]
impl GdprStore for ThisStore {
    async fn export_member(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: MemberId,
    ) -> StoreResult<MemberExport> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let member = fetch_member(&mut tx, scope, gym, id).await?;
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {FACT_COLS} FROM member_facts WHERE gym_id = "
        ));
        qb.push_bind(db(gym))
            .push(" AND member_id = ")
            .push_bind(db(id));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        qb.push(" ORDER BY created_at, id");
        let facts: Vec<FactRow> = qb
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .map_err(map_db_err)?;
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {VISIT_COLS} FROM member_visits WHERE gym_id = "
        ));
        qb.push_bind(db(gym))
            .push(" AND member_id = ")
            .push_bind(db(id));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        qb.push(" ORDER BY at, id");
        let visits: Vec<VisitRow> = qb
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .map_err(map_db_err)?;
        let voice = voice_sql::export_voice(&mut tx, scope, gym, id).await?;
        audit_tx(
            &mut tx,
            actor,
            Some(member.franchise_id),
            Some(gym),
            "member.gdpr_export",
            "member",
            Some(id.to_string()),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(MemberExport {
            exported_at: now(),
            member,
            facts: facts
                .into_iter()
                .map(FactRow::into_domain)
                .collect::<StoreResult<Vec<_>>>()?,
            visits: visits.into_iter().map(VisitRow::into_domain).collect(),
            voice_sessions: voice.sessions,
            turns: voice.turns,
            tool_calls: voice.tool_calls,
            analyses: voice.analyses,
            follow_ups: voice.follow_ups,
        })
    }

    async fn erase_member(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: MemberId,
    ) -> StoreResult<Erasure> {
        let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
        let m = fetch_member(&mut tx, scope, gym, id).await?;
        // Conversations first: their rows are found through the member's sessions.
        let voice = voice_sql::erase_voice(&mut tx, scope, gym, id).await?;
        let mut qb = QueryBuilder::<Db>::new("DELETE FROM member_facts WHERE gym_id = ");
        qb.push_bind(db(gym))
            .push(" AND member_id = ")
            .push_bind(db(id));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        let facts = qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        // Visits stay as anonymous counts; only the link to the person goes.
        let mut qb =
            QueryBuilder::<Db>::new("UPDATE member_visits SET member_id = NULL WHERE gym_id = ");
        qb.push_bind(db(gym))
            .push(" AND member_id = ")
            .push_bind(db(id));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        let visits = qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        let mut qb = QueryBuilder::<Db>::new("DELETE FROM members WHERE gym_id = ");
        qb.push_bind(db(gym)).push(" AND id = ").push_bind(db(id));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
        let out = Erasure {
            member_id: id,
            facts_deleted: facts.rows_affected(),
            visits_anonymized: visits.rows_affected(),
            sessions_anonymized: voice.sessions_anonymized,
            turns_deleted: voice.turns_deleted,
            tool_calls_deleted: voice.tool_calls_deleted,
            analyses_deleted: voice.analyses_deleted,
            follow_ups_deleted: voice.follow_ups_deleted,
        };
        // The audit row names only the (now meaningless) id and counts: no personal data.
        audit_tx(
            &mut tx,
            actor,
            Some(m.franchise_id),
            Some(gym),
            "member.gdpr_erase",
            "member",
            Some(id.to_string()),
            serde_json::json!({
                "facts_deleted": out.facts_deleted,
                "visits_anonymized": out.visits_anonymized,
                "sessions_anonymized": out.sessions_anonymized,
                "turns_deleted": out.turns_deleted,
                "tool_calls_deleted": out.tool_calls_deleted,
                "analyses_deleted": out.analyses_deleted,
                "follow_ups_deleted": out.follow_ups_deleted,
            }),
        )
        .await?;
        tx.commit().await.map_err(map_db_err)?;
        Ok(out)
    }
}
