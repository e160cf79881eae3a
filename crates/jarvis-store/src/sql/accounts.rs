// Accounts and security SQL, `include!`d after `common.rs` by both backends (it uses the same
// `Db`, `Tx`, `ThisStore`, `map_db_err` and helpers). Identity tables are read and written in
// the named contexts of `TxCtx` (a user's own `Identity`, `SignIn` lookups by e-mail or token
// hash, `Keys`, `Mailer`, `Purge`), never in a tenant scope; lookups by token hash switch to the
// found user's identity before writing. Tenant-tagged tables (invitations, auth events) take the
// caller's scope.

mod accounts_sql {
    use super::*;
    use crate::accounts::*;
    use crate::dbuuid::DbUuid;
    use time::OffsetDateTime;
    use uuid::Uuid;

    const KEY_COLS: &str =
        "kid, algorithm, private_key_enc, public_n, public_e, created_at, retired_at";

    #[derive(sqlx::FromRow)]
    struct KeyRow {
        kid: String,
        algorithm: String,
        private_key_enc: String,
        public_n: String,
        public_e: String,
        created_at: OffsetDateTime,
        retired_at: Option<OffsetDateTime>,
    }

    const SESSION_COLS: &str = "id, user_id, kind, aal, created_at, last_seen_at, expires_at, \
         revoked_at, revoked_reason, ip, user_agent";

    #[derive(sqlx::FromRow)]
    struct SessionRow {
        id: DbUuid,
        user_id: DbUuid,
        kind: String,
        aal: i32,
        created_at: OffsetDateTime,
        last_seen_at: OffsetDateTime,
        expires_at: OffsetDateTime,
        revoked_at: Option<OffsetDateTime>,
        revoked_reason: Option<String>,
        ip: Option<String>,
        user_agent: Option<String>,
    }

    impl SessionRow {
        fn into_domain(self) -> StoreResult<AuthSession> {
            Ok(AuthSession {
                id: self.id.0.into(),
                user_id: self.user_id.0.into(),
                kind: match self.kind.as_str() {
                    "api" => SessionKind::Api,
                    "web" => SessionKind::Web,
                    other => return Err(StoreError::corrupt("session kind", other)),
                },
                aal: u8::try_from(self.aal).unwrap_or(1),
                created_at: self.created_at,
                last_seen_at: self.last_seen_at,
                expires_at: self.expires_at,
                revoked_at: self.revoked_at,
                revoked_reason: self.revoked_reason,
                ip: self.ip,
                user_agent: self.user_agent,
            })
        }
    }

    const INVITATION_COLS: &str = "id, email, display_name, role, franchise_id, gym_id, invited_by, \
         created_at, expires_at, accepted_at, revoked_at";

    #[derive(sqlx::FromRow)]
    struct InvitationRow {
        id: DbUuid,
        email: String,
        display_name: String,
        role: String,
        franchise_id: Option<DbUuid>,
        gym_id: Option<DbUuid>,
        invited_by: Option<DbUuid>,
        created_at: OffsetDateTime,
        expires_at: OffsetDateTime,
        accepted_at: Option<OffsetDateTime>,
        revoked_at: Option<OffsetDateTime>,
    }

    impl InvitationRow {
        fn into_domain(self) -> StoreResult<Invitation> {
            Ok(Invitation {
                id: self.id.0.into(),
                email: self.email,
                display_name: self.display_name,
                role: self
                    .role
                    .parse()
                    .map_err(|_| StoreError::corrupt("role", &self.role))?,
                franchise_id: self.franchise_id.map(|u| u.0.into()),
                gym_id: self.gym_id.map(|u| u.0.into()),
                invited_by: self.invited_by.map(|u| u.0.into()),
                created_at: self.created_at,
                expires_at: self.expires_at,
                accepted_at: self.accepted_at,
                revoked_at: self.revoked_at,
            })
        }
    }

    const EVENT_COLS: &str =
        "id, at, event, user_id, email, franchise_id, gym_id, ip, user_agent, details";

    #[derive(sqlx::FromRow)]
    struct EventRow {
        id: DbUuid,
        at: OffsetDateTime,
        event: String,
        user_id: Option<DbUuid>,
        email: Option<String>,
        franchise_id: Option<DbUuid>,
        gym_id: Option<DbUuid>,
        ip: Option<String>,
        user_agent: Option<String>,
        details: Json<serde_json::Value>,
    }

    const EMAIL_COLS: &str = "id, to_address, subject, body_text, body_html, kind, created_at, sent_at, attempts, \
         last_error, failed_at";

    #[derive(sqlx::FromRow)]
    struct EmailRow {
        id: DbUuid,
        to_address: String,
        subject: String,
        body_text: String,
        body_html: String,
        kind: String,
        created_at: OffsetDateTime,
        sent_at: Option<OffsetDateTime>,
        attempts: i32,
        last_error: Option<String>,
        failed_at: Option<OffsetDateTime>,
    }

    impl EmailRow {
        fn into_domain(self) -> OutboxEmail {
            OutboxEmail {
                id: self.id.0,
                to_address: self.to_address,
                subject: self.subject,
                body_text: self.body_text,
                body_html: self.body_html,
                kind: self.kind,
                created_at: self.created_at,
                sent_at: self.sent_at,
                attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
                last_error: self.last_error,
                failed_at: self.failed_at,
            }
        }
    }

    /// Events tagged with a tenant are appended in that tenant's scope (the policy only lets a
    /// scope tag rows it can see); untagged ones (sign-ins) in the sign-in context.
    fn event_ctx(e: &NewAuthEvent) -> TxCtx {
        match (e.franchise_id, e.gym_id) {
            (Some(franchise), Some(gym)) => TxCtx::Scope(Scope::Gym { franchise, gym }),
            (Some(franchise), None) => TxCtx::Scope(Scope::Franchise { franchise }),
            (None, _) => TxCtx::SignIn,
        }
    }

    async fn fetch_session(tx: &mut Tx, id: Uuid) -> StoreResult<Option<AuthSession>> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {SESSION_COLS} FROM auth_sessions WHERE id = "
        ));
        qb.push_bind(DbUuid(id));
        let row: Option<SessionRow> = qb
            .build_query_as()
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_db_err)?;
        row.map(SessionRow::into_domain).transpose()
    }

    async fn revoke_family(tx: &mut Tx, id: Uuid, reason: &str) -> StoreResult<()> {
        let mut qb = QueryBuilder::<Db>::new("UPDATE auth_sessions SET revoked_at = ");
        qb.push_bind(now())
            .push(", revoked_reason = ")
            .push_bind(reason.to_string())
            .push(" WHERE revoked_at IS NULL AND id = ")
            .push_bind(DbUuid(id));
        qb.build().execute(&mut **tx).await.map_err(map_db_err)?;
        Ok(())
    }

    /// Adds a current refresh token to a session and marks it used now.
    async fn issue_sibling(
        tx: &mut Tx,
        sid: DbUuid,
        new_hash: &str,
        t: OffsetDateTime,
    ) -> StoreResult<AuthSession> {
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO auth_refresh_tokens (token_hash, session_id, created_at) VALUES (",
        );
        let mut s = qb.separated(", ");
        s.push_bind(new_hash.to_string())
            .push_bind(sid)
            .push_bind(t);
        qb.push(")");
        qb.build().execute(&mut **tx).await.map_err(map_db_err)?;
        let mut qb = QueryBuilder::<Db>::new("UPDATE auth_sessions SET last_seen_at = ");
        qb.push_bind(t).push(" WHERE id = ").push_bind(sid);
        qb.build().execute(&mut **tx).await.map_err(map_db_err)?;
        fetch_session(tx, sid.0)
            .await?
            .ok_or(StoreError::NotFound("session"))
    }

    async fn fetch_invitation(tx: &mut Tx, scope: &Scope, id: Uuid) -> StoreResult<Invitation> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {INVITATION_COLS} FROM invitations WHERE id = "
        ));
        qb.push_bind(DbUuid(id));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        let row: Option<InvitationRow> = qb
            .build_query_as()
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_db_err)?;
        row.ok_or(StoreError::NotFound("invitation"))?.into_domain()
    }

    #[async_trait::async_trait]
    impl AccountStore for ThisStore {
        async fn add_signing_key(&self, actor: &Actor, key: SigningKeyRecord) -> StoreResult<()> {
            let mut tx = self.begin(&TxCtx::Keys, true).await?;
            let mut qb = QueryBuilder::<Db>::new("UPDATE signing_keys SET retired_at = ");
            qb.push_bind(key.created_at)
                .push(" WHERE retired_at IS NULL");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            let mut qb =
                QueryBuilder::<Db>::new(format!("INSERT INTO signing_keys ({KEY_COLS}) VALUES ("));
            let mut s = qb.separated(", ");
            s.push_bind(key.kid.clone())
                .push_bind(key.algorithm)
                .push_bind(key.private_key_enc)
                .push_bind(key.public_n)
                .push_bind(key.public_e)
                .push_bind(key.created_at)
                .push_bind(key.retired_at);
            qb.push(")");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            audit_tx(
                &mut tx,
                actor,
                None,
                None,
                "key.rotate",
                "signing_key",
                Some(key.kid),
                serde_json::json!({}),
            )
            .await?;
            tx.commit().await.map_err(map_db_err)
        }

        async fn signing_keys(&self, since: OffsetDateTime) -> StoreResult<Vec<SigningKeyRecord>> {
            let mut tx = self.begin(&TxCtx::Keys, false).await?;
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {KEY_COLS} FROM signing_keys WHERE retired_at IS NULL OR retired_at > "
            ));
            qb.push_bind(since)
                .push(" ORDER BY created_at DESC, kid DESC");
            let rows: Vec<KeyRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(rows
                .into_iter()
                .map(|r| SigningKeyRecord {
                    kid: r.kid,
                    algorithm: r.algorithm,
                    private_key_enc: r.private_key_enc,
                    public_n: r.public_n,
                    public_e: r.public_e,
                    created_at: r.created_at,
                    retired_at: r.retired_at,
                })
                .collect())
        }

        async fn create_session(&self, new: NewSession) -> StoreResult<AuthSession> {
            let mut tx = self.begin(&TxCtx::Identity(new.user_id), true).await?;
            let t = now();
            let id = Uuid::now_v7();
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO auth_sessions (id, user_id, kind, aal, token_hash, created_at, last_seen_at, \
                 expires_at, ip, user_agent) VALUES (",
            );
            let mut s = qb.separated(", ");
            s.push_bind(DbUuid(id))
                .push_bind(db(new.user_id))
                .push_bind(new.kind.as_str())
                .push_bind(i32::from(new.aal))
                .push_bind(new.token_hash)
                .push_bind(t)
                .push_bind(t)
                .push_bind(new.expires_at)
                .push_bind(new.ip)
                .push_bind(new.user_agent);
            qb.push(")");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            if let Some(h) = new.refresh_hash {
                let mut qb = QueryBuilder::<Db>::new(
                    "INSERT INTO auth_refresh_tokens (token_hash, session_id, created_at) VALUES (",
                );
                let mut s = qb.separated(", ");
                s.push_bind(h).push_bind(DbUuid(id)).push_bind(t);
                qb.push(")");
                qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            }
            let session = fetch_session(&mut tx, id)
                .await?
                .ok_or(StoreError::NotFound("session"))?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(session)
        }

        async fn session(&self, user: UserId, id: SessionId) -> StoreResult<Option<AuthSession>> {
            let id = id.0;
            let mut tx = self.begin(&TxCtx::Identity(user), false).await?;
            let s = fetch_session(&mut tx, id).await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(s.filter(|s| s.user_id == user))
        }

        async fn session_by_token_hash(&self, hash: &str) -> StoreResult<Option<AuthSession>> {
            let mut tx = self.begin(&TxCtx::SignIn, false).await?;
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {SESSION_COLS} FROM auth_sessions WHERE kind = 'web' AND token_hash = "
            ));
            qb.push_bind(hash.to_string());
            let row: Option<SessionRow> = qb
                .build_query_as()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            row.map(SessionRow::into_domain).transpose()
        }

        async fn rotate_refresh_token(
            &self,
            old_hash: &str,
            new_hash: &str,
            idle: time::Duration,
            grace: time::Duration,
        ) -> StoreResult<RefreshOutcome> {
            let mut tx = self.begin(&TxCtx::SignIn, true).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT session_id, used_at FROM auth_refresh_tokens WHERE token_hash = ",
            );
            qb.push_bind(old_hash.to_string());
            let found: Option<(DbUuid, Option<OffsetDateTime>)> = qb
                .build_query_as()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            let Some((sid, used_at)) = found else {
                return Ok(RefreshOutcome::Invalid);
            };
            let Some(session) = fetch_session(&mut tx, sid.0).await? else {
                return Ok(RefreshOutcome::Invalid);
            };
            // Found by its hash; everything written from here on belongs to that user.
            set_ctx(&mut tx, &TxCtx::Identity(session.user_id)).await?;
            let t = now();
            // Within the grace window a second use is a concurrent refresh, not a theft.
            let concurrent = |used: OffsetDateTime| t - used <= grace && session.is_live(t, idle);
            if let Some(used) = used_at
                && concurrent(used)
            {
                let s = issue_sibling(&mut tx, sid, new_hash, t).await?;
                tx.commit().await.map_err(map_db_err)?;
                return Ok(RefreshOutcome::Rotated(s));
            }
            if used_at.is_some() {
                // A rotated token came back: someone holds a copy. Kill the whole family.
                revoke_family(&mut tx, sid.0, "reuse").await?;
                tx.commit().await.map_err(map_db_err)?;
                return Ok(RefreshOutcome::Reused(session));
            }
            if !session.is_live(t, idle) {
                return Ok(RefreshOutcome::Invalid);
            }
            // Only the first of two concurrent rotations wins the `used_at IS NULL` race.
            let mut qb = QueryBuilder::<Db>::new("UPDATE auth_refresh_tokens SET used_at = ");
            qb.push_bind(t)
                .push(" WHERE used_at IS NULL AND token_hash = ")
                .push_bind(old_hash.to_string());
            let n = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected();
            if n != 1 {
                // Another transaction used it just now: the same concurrent-refresh case.
                if !grace.is_zero() {
                    let s = issue_sibling(&mut tx, sid, new_hash, t).await?;
                    tx.commit().await.map_err(map_db_err)?;
                    return Ok(RefreshOutcome::Rotated(s));
                }
                revoke_family(&mut tx, sid.0, "reuse").await?;
                tx.commit().await.map_err(map_db_err)?;
                return Ok(RefreshOutcome::Reused(session));
            }
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO auth_refresh_tokens (token_hash, session_id, created_at) VALUES (",
            );
            let mut s = qb.separated(", ");
            s.push_bind(new_hash.to_string())
                .push_bind(sid)
                .push_bind(t);
            qb.push(")");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            let mut qb = QueryBuilder::<Db>::new("UPDATE auth_sessions SET last_seen_at = ");
            qb.push_bind(t).push(" WHERE id = ").push_bind(sid);
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            let session = fetch_session(&mut tx, sid.0)
                .await?
                .ok_or(StoreError::NotFound("session"))?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(RefreshOutcome::Rotated(session))
        }

        async fn elevate_session(
            &self,
            user: UserId,
            id: SessionId,
            new_token_hash: Option<String>,
        ) -> StoreResult<()> {
            let id = id.0;
            let mut tx = self.begin(&TxCtx::Identity(user), true).await?;
            let mut qb =
                QueryBuilder::<Db>::new("UPDATE auth_sessions SET aal = 2, last_seen_at = ");
            qb.push_bind(now());
            if let Some(h) = new_token_hash {
                qb.push(", token_hash = ").push_bind(h);
            }
            qb.push(" WHERE revoked_at IS NULL AND id = ")
                .push_bind(DbUuid(id))
                .push(" AND user_id = ")
                .push_bind(db(user));
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)
        }

        async fn touch_session(&self, user: UserId, id: SessionId) -> StoreResult<()> {
            let id = id.0;
            let mut tx = self.begin(&TxCtx::Identity(user), true).await?;
            let mut qb = QueryBuilder::<Db>::new("UPDATE auth_sessions SET last_seen_at = ");
            qb.push_bind(now())
                .push(" WHERE id = ")
                .push_bind(DbUuid(id))
                .push(" AND user_id = ")
                .push_bind(db(user));
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)
        }

        async fn list_sessions(&self, user: UserId) -> StoreResult<Vec<AuthSession>> {
            let mut tx = self.begin(&TxCtx::Identity(user), false).await?;
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {SESSION_COLS} FROM auth_sessions WHERE revoked_at IS NULL AND user_id = "
            ));
            qb.push_bind(db(user))
                .push(" AND expires_at > ")
                .push_bind(now())
                .push(" ORDER BY created_at DESC, id DESC LIMIT 200");
            let rows: Vec<SessionRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            rows.into_iter().map(SessionRow::into_domain).collect()
        }

        async fn revoke_session(
            &self,
            user: UserId,
            id: SessionId,
            reason: &str,
        ) -> StoreResult<bool> {
            let id = id.0;
            let mut tx = self.begin(&TxCtx::Identity(user), true).await?;
            let mut qb = QueryBuilder::<Db>::new("UPDATE auth_sessions SET revoked_at = ");
            qb.push_bind(now())
                .push(", revoked_reason = ")
                .push_bind(reason.to_string())
                .push(" WHERE revoked_at IS NULL AND id = ")
                .push_bind(DbUuid(id))
                .push(" AND user_id = ")
                .push_bind(db(user));
            let n = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected();
            tx.commit().await.map_err(map_db_err)?;
            Ok(n == 1)
        }

        async fn revoke_user_sessions(
            &self,
            user: UserId,
            keep: Option<SessionId>,
            reason: &str,
        ) -> StoreResult<u64> {
            let keep = keep.map(|k| k.0);
            let mut tx = self.begin(&TxCtx::Identity(user), true).await?;
            let mut qb = QueryBuilder::<Db>::new("UPDATE auth_sessions SET revoked_at = ");
            qb.push_bind(now())
                .push(", revoked_reason = ")
                .push_bind(reason.to_string())
                .push(" WHERE revoked_at IS NULL AND user_id = ")
                .push_bind(db(user));
            if let Some(k) = keep {
                qb.push(" AND id <> ").push_bind(DbUuid(k));
            }
            let n = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected();
            tx.commit().await.map_err(map_db_err)?;
            Ok(n)
        }

        async fn totp_factor(&self, user: UserId) -> StoreResult<Option<TotpFactor>> {
            let mut tx = self.begin(&TxCtx::Identity(user), false).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT secret_enc, confirmed_at, last_used_step FROM mfa_factors WHERE kind = 'totp' AND user_id = ",
            );
            qb.push_bind(db(user));
            let row: Option<(String, Option<OffsetDateTime>, Option<i64>)> = qb
                .build_query_as()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(
                row.map(|(secret_enc, confirmed_at, last_used_step)| TotpFactor {
                    secret_enc,
                    confirmed_at,
                    last_used_step,
                }),
            )
        }

        async fn begin_totp(&self, user: UserId, secret_enc: String) -> StoreResult<()> {
            let mut tx = self.begin(&TxCtx::Identity(user), true).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT confirmed_at FROM mfa_factors WHERE kind = 'totp' AND user_id = ",
            );
            qb.push_bind(db(user));
            let existing: Option<(Option<OffsetDateTime>,)> = qb
                .build_query_as()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            if matches!(existing, Some((Some(_),))) {
                return Err(StoreError::Conflict {
                    constraint: "mfa_factors_user_kind_key",
                    field: "mfa",
                    message: "a second factor is already enrolled; disable it first".into(),
                });
            }
            let mut qb = QueryBuilder::<Db>::new(
                "DELETE FROM mfa_factors WHERE kind = 'totp' AND user_id = ",
            );
            qb.push_bind(db(user));
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO mfa_factors (id, user_id, kind, secret_enc, created_at) VALUES (",
            );
            let mut s = qb.separated(", ");
            s.push_bind(DbUuid(Uuid::now_v7()))
                .push_bind(db(user))
                .push_bind("totp")
                .push_bind(secret_enc)
                .push_bind(now());
            qb.push(")");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)
        }

        async fn accept_totp_step(
            &self,
            actor: &Actor,
            user: UserId,
            step: i64,
            confirm_with_codes: Option<Vec<String>>,
        ) -> StoreResult<bool> {
            let mut tx = self.begin(&TxCtx::Identity(user), true).await?;
            let t = now();
            // The replay guard is this conditional update: a step is accepted at most once,
            // and never one older than the last accepted, even across instances.
            let mut qb = QueryBuilder::<Db>::new("UPDATE mfa_factors SET last_used_step = ");
            qb.push_bind(step);
            if confirm_with_codes.is_some() {
                qb.push(", confirmed_at = ").push_bind(t);
            } else {
                qb.push(" ");
            }
            qb.push(" WHERE kind = 'totp' AND user_id = ")
                .push_bind(db(user))
                .push(" AND (last_used_step IS NULL OR last_used_step < ")
                .push_bind(step)
                .push(")");
            if confirm_with_codes.is_some() {
                qb.push(" AND confirmed_at IS NULL");
            } else {
                qb.push(" AND confirmed_at IS NOT NULL");
            }
            let n = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected();
            if n != 1 {
                return Ok(false);
            }
            if let Some(codes) = confirm_with_codes {
                let mut qb =
                    QueryBuilder::<Db>::new("DELETE FROM mfa_recovery_codes WHERE user_id = ");
                qb.push_bind(db(user));
                qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
                for c in codes {
                    let mut qb = QueryBuilder::<Db>::new(
                        "INSERT INTO mfa_recovery_codes (id, user_id, code_hash, created_at) VALUES (",
                    );
                    let mut s = qb.separated(", ");
                    s.push_bind(DbUuid(Uuid::now_v7()))
                        .push_bind(db(user))
                        .push_bind(c)
                        .push_bind(t);
                    qb.push(")");
                    qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
                }
                audit_tx(
                    &mut tx,
                    actor,
                    None,
                    None,
                    "mfa.enroll",
                    "user",
                    Some(user.to_string()),
                    serde_json::json!({ "kind": "totp" }),
                )
                .await?;
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(true)
        }

        async fn remove_totp(&self, actor: &Actor, user: UserId) -> StoreResult<()> {
            let mut tx = self.begin(&TxCtx::Identity(user), true).await?;
            let mut qb = QueryBuilder::<Db>::new("DELETE FROM mfa_factors WHERE user_id = ");
            qb.push_bind(db(user));
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            let mut qb = QueryBuilder::<Db>::new("DELETE FROM mfa_recovery_codes WHERE user_id = ");
            qb.push_bind(db(user));
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            audit_tx(
                &mut tx,
                actor,
                None,
                None,
                "mfa.disable",
                "user",
                Some(user.to_string()),
                serde_json::json!({}),
            )
            .await?;
            tx.commit().await.map_err(map_db_err)
        }

        async fn use_recovery_code(&self, user: UserId, code_hash: &str) -> StoreResult<bool> {
            let mut tx = self.begin(&TxCtx::Identity(user), true).await?;
            let mut qb = QueryBuilder::<Db>::new("UPDATE mfa_recovery_codes SET used_at = ");
            qb.push_bind(now())
                .push(" WHERE used_at IS NULL AND user_id = ")
                .push_bind(db(user))
                .push(" AND code_hash = ")
                .push_bind(code_hash.to_string());
            let n = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected();
            tx.commit().await.map_err(map_db_err)?;
            Ok(n == 1)
        }

        async fn recovery_codes_left(&self, user: UserId) -> StoreResult<u64> {
            let mut tx = self.begin(&TxCtx::Identity(user), false).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT COUNT(*) FROM mfa_recovery_codes WHERE used_at IS NULL AND user_id = ",
            );
            qb.push_bind(db(user));
            let n = count(&mut tx, qb).await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(n)
        }

        async fn throttle_locked_until(&self, key: &str) -> StoreResult<Option<OffsetDateTime>> {
            let mut tx = self.begin(&TxCtx::SignIn, false).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT locked_until FROM login_throttles WHERE throttle_key = ",
            );
            qb.push_bind(key.to_string());
            let row: Option<(Option<OffsetDateTime>,)> = qb
                .build_query_as()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(row
                .and_then(|(l,)| l)
                .filter(|until| *until > OffsetDateTime::now_utc()))
        }

        async fn throttle_failure(
            &self,
            key: &str,
            policy: &LockoutPolicy,
        ) -> StoreResult<Option<OffsetDateTime>> {
            let mut tx = self.begin(&TxCtx::SignIn, true).await?;
            let t = now();
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT failures, last_failure FROM login_throttles WHERE throttle_key = ",
            );
            qb.push_bind(key.to_string());
            let row: Option<(i32, OffsetDateTime)> = qb
                .build_query_as()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            let failures = match row {
                Some((n, last)) if t - last < policy.window => n.saturating_add(1),
                _ => 1,
            };
            // Back-off: the lock doubles with every failure past the threshold, up to the cap.
            let locked_until = (failures >= policy.max_failures).then(|| {
                let extra = u32::try_from(failures - policy.max_failures)
                    .unwrap_or(0)
                    .min(16);
                let lock = (policy.base_lock * 2_i32.pow(extra)).min(policy.max_lock);
                t + lock
            });
            let mut qb =
                QueryBuilder::<Db>::new("DELETE FROM login_throttles WHERE throttle_key = ");
            qb.push_bind(key.to_string());
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO login_throttles (throttle_key, failures, last_failure, locked_until) VALUES (",
            );
            let mut s = qb.separated(", ");
            s.push_bind(key.to_string())
                .push_bind(failures)
                .push_bind(t)
                .push_bind(locked_until);
            qb.push(")");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(locked_until)
        }

        async fn throttle_clear(&self, key: &str) -> StoreResult<()> {
            let mut tx = self.begin(&TxCtx::SignIn, true).await?;
            let mut qb =
                QueryBuilder::<Db>::new("DELETE FROM login_throttles WHERE throttle_key = ");
            qb.push_bind(key.to_string());
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)
        }

        async fn create_password_reset(
            &self,
            user: UserId,
            token_hash: &str,
            expires_at: OffsetDateTime,
        ) -> StoreResult<()> {
            let mut tx = self.begin(&TxCtx::Identity(user), true).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES (",
            );
            let mut s = qb.separated(", ");
            s.push_bind(token_hash.to_string())
                .push_bind(db(user))
                .push_bind(now())
                .push_bind(expires_at);
            qb.push(")");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)
        }

        async fn consume_password_reset(
            &self,
            token_hash: &str,
            new_password_hash: String,
        ) -> StoreResult<Option<UserId>> {
            let mut tx = self.begin(&TxCtx::SignIn, true).await?;
            let t = now();
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT user_id FROM password_resets WHERE used_at IS NULL AND token_hash = ",
            );
            qb.push_bind(token_hash.to_string())
                .push(" AND expires_at > ")
                .push_bind(t);
            let row: Option<(DbUuid,)> = qb
                .build_query_as()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            let Some((uid,)) = row else {
                return Ok(None);
            };
            let user: UserId = uid.0.into();
            // Found by its hash; the reset and the new password are written as that user.
            set_ctx(&mut tx, &TxCtx::Identity(user)).await?;
            let mut qb = QueryBuilder::<Db>::new("UPDATE password_resets SET used_at = ");
            qb.push_bind(t)
                .push(" WHERE used_at IS NULL AND token_hash = ")
                .push_bind(token_hash.to_string());
            let n = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected();
            if n != 1 {
                return Ok(None);
            }
            // Every other outstanding reset link of this user dies with this one.
            let mut qb = QueryBuilder::<Db>::new("UPDATE password_resets SET used_at = ");
            qb.push_bind(t)
                .push(" WHERE used_at IS NULL AND user_id = ")
                .push_bind(uid);
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            let mut qb = QueryBuilder::<Db>::new("UPDATE users SET updated_at = ");
            qb.push_bind(t).push(" WHERE id = ").push_bind(uid);
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            put_credentials(&mut tx, user, new_password_hash).await?;
            audit_tx(
                &mut tx,
                &Actor::user(user, None, None),
                None,
                None,
                "user.password_reset",
                "user",
                Some(user.to_string()),
                serde_json::json!({}),
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(Some(user))
        }

        async fn set_password_hash(
            &self,
            actor: &Actor,
            user: UserId,
            hash: String,
        ) -> StoreResult<()> {
            let mut tx = self.begin(&TxCtx::Identity(user), true).await?;
            let mut qb = QueryBuilder::<Db>::new("UPDATE users SET updated_at = ");
            qb.push_bind(now()).push(" WHERE id = ").push_bind(db(user));
            let n = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected();
            if n != 1 {
                return Err(StoreError::NotFound("user"));
            }
            put_credentials(&mut tx, user, hash).await?;
            audit_tx(
                &mut tx,
                actor,
                None,
                None,
                "user.password_change",
                "user",
                Some(user.to_string()),
                serde_json::json!({}),
            )
            .await?;
            tx.commit().await.map_err(map_db_err)
        }

        async fn create_invitation(
            &self,
            scope: &Scope,
            actor: &Actor,
            new: NewInvitation,
        ) -> StoreResult<Invitation> {
            if !new.target.fits(new.role) {
                return Err(StoreError::Invalid {
                    field: "role",
                    message: format!("role {} does not fit that scope", new.role),
                });
            }
            let (franchise, gym) = match new.target {
                MembershipTarget::Platform => (None, None),
                MembershipTarget::Franchise(f) => (Some(f), None),
                MembershipTarget::Gym(f, g) => (Some(f), Some(g)),
            };
            let covered = match (franchise, gym) {
                (None, _) => *scope == Scope::Platform,
                (Some(f), g) => {
                    scope.covers(f, g)
                        || (g.is_none()
                            && matches!(scope, Scope::Franchise { franchise } if *franchise == f))
                }
            };
            if !covered {
                return Err(StoreError::OutOfScope);
            }
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            if let (Some(f), Some(g)) = (franchise, gym) {
                let gym_row = fetch_gym(&mut tx, scope, g).await?;
                if gym_row.franchise_id != f {
                    return Err(StoreError::NotFound("gym"));
                }
            } else if let Some(f) = franchise {
                fetch_franchise(&mut tx, scope, f).await?;
            }
            let id = Uuid::now_v7();
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO invitations (id, email, display_name, role, franchise_id, gym_id, token_hash, \
                 invited_by, created_at, expires_at) VALUES (",
            );
            let mut s = qb.separated(", ");
            s.push_bind(DbUuid(id))
                .push_bind(new.email.trim().to_lowercase())
                .push_bind(new.display_name)
                .push_bind(new.role.as_str())
                .push_bind(franchise.map(db))
                .push_bind(gym.map(db))
                .push_bind(new.token_hash)
                .push_bind(actor.user_id.map(db))
                .push_bind(now())
                .push_bind(new.expires_at);
            qb.push(")");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            let inv = fetch_invitation(&mut tx, scope, id).await?;
            audit_tx(
                &mut tx,
                actor,
                franchise,
                gym,
                "invitation.create",
                "invitation",
                Some(id.to_string()),
                serde_json::json!({ "role": new.role.as_str() }),
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(inv)
        }

        async fn list_invitations(
            &self,
            scope: &Scope,
            pending_only: bool,
            page: PageRequest,
        ) -> StoreResult<Page<Invitation>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let t = now();
            let build = |select: &str| {
                let mut qb = QueryBuilder::<Db>::new(format!(
                    "SELECT {select} FROM invitations WHERE 1 = 1"
                ));
                push_scope(&mut qb, scope, "franchise_id", "gym_id");
                if pending_only {
                    qb.push(" AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ")
                        .push_bind(t);
                }
                qb
            };
            let (total, rows) = fetch_page::<InvitationRow>(
                &mut tx,
                build,
                INVITATION_COLS,
                " ORDER BY created_at DESC, id DESC",
                page,
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            page_of(rows, total, page, InvitationRow::into_domain)
        }

        async fn invitation(&self, scope: &Scope, id: InvitationId) -> StoreResult<Invitation> {
            let id = id.0;
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let inv = fetch_invitation(&mut tx, scope, id).await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(inv)
        }

        async fn revoke_invitation(
            &self,
            scope: &Scope,
            actor: &Actor,
            id: InvitationId,
        ) -> StoreResult<Invitation> {
            let id = id.0;
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let inv = fetch_invitation(&mut tx, scope, id).await?;
            if inv.accepted_at.is_some() || inv.revoked_at.is_some() {
                return Err(StoreError::Conflict {
                    constraint: "invitations_pending",
                    field: "id",
                    message: "the invitation is no longer pending".into(),
                });
            }
            let mut qb = QueryBuilder::<Db>::new("UPDATE invitations SET revoked_at = ");
            qb.push_bind(now())
                .push(" WHERE id = ")
                .push_bind(DbUuid(id));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            let inv = fetch_invitation(&mut tx, scope, id).await?;
            audit_tx(
                &mut tx,
                actor,
                inv.franchise_id,
                inv.gym_id,
                "invitation.revoke",
                "invitation",
                Some(id.to_string()),
                serde_json::json!({}),
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(inv)
        }

        async fn renew_invitation(
            &self,
            scope: &Scope,
            actor: &Actor,
            id: InvitationId,
            token_hash: &str,
            expires_at: OffsetDateTime,
        ) -> StoreResult<Invitation> {
            let id = id.0;
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let inv = fetch_invitation(&mut tx, scope, id).await?;
            if inv.accepted_at.is_some() || inv.revoked_at.is_some() {
                return Err(StoreError::Conflict {
                    constraint: "invitations_pending",
                    field: "id",
                    message: "the invitation is no longer pending".into(),
                });
            }
            let mut qb = QueryBuilder::<Db>::new("UPDATE invitations SET token_hash = ");
            qb.push_bind(token_hash.to_string())
                .push(", expires_at = ")
                .push_bind(expires_at)
                .push(" WHERE id = ")
                .push_bind(DbUuid(id));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            let inv = fetch_invitation(&mut tx, scope, id).await?;
            audit_tx(
                &mut tx,
                actor,
                inv.franchise_id,
                inv.gym_id,
                "invitation.resend",
                "invitation",
                Some(id.to_string()),
                serde_json::json!({}),
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(inv)
        }

        async fn invitation_by_token_hash(&self, hash: &str) -> StoreResult<Option<Invitation>> {
            let mut tx = self.begin(&TxCtx::SignIn, false).await?;
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {INVITATION_COLS} FROM invitations WHERE accepted_at IS NULL AND revoked_at IS NULL AND token_hash = "
            ));
            qb.push_bind(hash.to_string())
                .push(" AND expires_at > ")
                .push_bind(now());
            let row: Option<InvitationRow> = qb
                .build_query_as()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            row.map(InvitationRow::into_domain).transpose()
        }

        async fn accept_invitation(
            &self,
            actor: &Actor,
            token_hash: &str,
            password_hash: String,
            locale: Locale,
        ) -> StoreResult<User> {
            let mut tx = self.begin(&TxCtx::SignIn, true).await?;
            let t = now();
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {INVITATION_COLS} FROM invitations WHERE accepted_at IS NULL AND revoked_at IS NULL AND token_hash = "
            ));
            qb.push_bind(token_hash.to_string())
                .push(" AND expires_at > ")
                .push_bind(t);
            let row: Option<InvitationRow> = qb
                .build_query_as()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            let inv = row
                .ok_or(StoreError::NotFound("invitation"))?
                .into_domain()?;
            let target = inv
                .target()
                .ok_or_else(|| StoreError::corrupt("invitation target", "gym without franchise"))?;
            let mut qb =
                QueryBuilder::<Db>::new(format!("SELECT {USER_COLS} FROM users WHERE email = "));
            qb.push_bind(inv.email.clone());
            let existing: Option<UserRow> = qb
                .build_query_as()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            let user = match existing {
                Some(row) => row.into_domain()?,
                None => {
                    // A new user is created in their own identity context, password included.
                    let id = UserId::new();
                    set_ctx(&mut tx, &TxCtx::Identity(id)).await?;
                    let mut qb = QueryBuilder::<Db>::new(
                        "INSERT INTO users (id, email, display_name, locale, created_at, updated_at) VALUES (",
                    );
                    let mut s = qb.separated(", ");
                    s.push_bind(db(id))
                        .push_bind(inv.email.clone())
                        .push_bind(inv.display_name.clone())
                        .push_bind(locale.as_str())
                        .push_bind(t)
                        .push_bind(t);
                    qb.push(format!(") RETURNING {USER_COLS}"));
                    let row: UserRow = qb
                        .build_query_as()
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(map_db_err)?;
                    put_credentials(&mut tx, id, password_hash).await?;
                    row.into_domain()?
                }
            };
            // The role is granted, and the invitation closed, in the invitation's own tenant.
            let scope = match target {
                MembershipTarget::Platform => Scope::Platform,
                MembershipTarget::Franchise(franchise) => Scope::Franchise { franchise },
                MembershipTarget::Gym(franchise, gym) => Scope::Gym { franchise, gym },
            };
            set_ctx(&mut tx, &TxCtx::Scope(scope)).await?;
            let mut qb = QueryBuilder::<Db>::new("UPDATE invitations SET accepted_at = ");
            qb.push_bind(t)
                .push(" WHERE id = ")
                .push_bind(DbUuid(inv.id.0));
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            let actor = Actor {
                user_id: Some(user.id),
                ..actor.clone()
            };
            // Already holding that role there is fine: accepting changes nothing. Checked first
            // rather than by catching the unique violation, which on PostgreSQL would abort the
            // whole transaction (the audit row and the commit would then fail).
            let mut qb =
                QueryBuilder::<Db>::new("SELECT COUNT(*) FROM memberships WHERE user_id = ");
            qb.push_bind(db(user.id))
                .push(" AND role = ")
                .push_bind(inv.role.as_str());
            match inv.franchise_id {
                Some(f) => qb.push(" AND franchise_id = ").push_bind(db(f)),
                None => qb.push(" AND franchise_id IS NULL"),
            };
            match inv.gym_id {
                Some(g) => qb.push(" AND gym_id = ").push_bind(db(g)),
                None => qb.push(" AND gym_id IS NULL"),
            };
            if count(&mut tx, qb).await? == 0 {
                insert_membership(&mut tx, &scope, &actor, user.id, inv.role, target).await?;
            }
            audit_tx(
                &mut tx,
                &actor,
                inv.franchise_id,
                inv.gym_id,
                "invitation.accept",
                "invitation",
                Some(inv.id.to_string()),
                serde_json::json!({ "role": inv.role.as_str() }),
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(user)
        }

        async fn record_auth_event(&self, e: NewAuthEvent) -> StoreResult<()> {
            let mut tx = self.begin(&event_ctx(&e), true).await?;
            let mut qb =
                QueryBuilder::<Db>::new(format!("INSERT INTO auth_events ({EVENT_COLS}) VALUES ("));
            let mut s = qb.separated(", ");
            s.push_bind(DbUuid(Uuid::now_v7()))
                .push_bind(now())
                .push_bind(e.event)
                .push_bind(e.user_id.map(db))
                .push_bind(e.email)
                .push_bind(e.franchise_id.map(db))
                .push_bind(e.gym_id.map(db))
                .push_bind(e.ip)
                .push_bind(e.user_agent)
                .push_bind(Json(e.details));
            qb.push(")");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)
        }

        async fn list_auth_events(
            &self,
            scope: &Scope,
            filter: &AuthEventFilter,
            page: PageRequest,
        ) -> StoreResult<Page<AuthEvent>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let build = |select: &str| {
                let mut qb = QueryBuilder::<Db>::new(format!(
                    "SELECT {select} FROM auth_events WHERE 1 = 1"
                ));
                push_scope(&mut qb, scope, "franchise_id", "gym_id");
                if let Some(ev) = &filter.event {
                    qb.push(" AND event = ").push_bind(ev.clone());
                }
                if let Some(u) = filter.user_id {
                    qb.push(" AND user_id = ").push_bind(db(u));
                }
                qb
            };
            let (total, rows) = fetch_page::<EventRow>(
                &mut tx,
                build,
                EVENT_COLS,
                " ORDER BY at DESC, id DESC",
                page,
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(Page {
                items: rows
                    .into_iter()
                    .map(|r| AuthEvent {
                        id: r.id.0.into(),
                        at: r.at,
                        event: r.event,
                        user_id: r.user_id.map(|u| u.0.into()),
                        email: r.email,
                        franchise_id: r.franchise_id.map(|u| u.0.into()),
                        gym_id: r.gym_id.map(|u| u.0.into()),
                        ip: r.ip,
                        user_agent: r.user_agent,
                        details: r.details.0,
                    })
                    .collect(),
                total,
                total_capped: false,
                limit: page.limit,
                offset: page.offset,
            })
        }

        async fn enqueue_email(&self, email: NewEmail) -> StoreResult<Uuid> {
            let mut tx = self.begin(&TxCtx::Mailer, true).await?;
            let id = email.id;
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO email_outbox (id, to_address, subject, body_text, body_html, kind, created_at) VALUES (",
            );
            let mut s = qb.separated(", ");
            s.push_bind(DbUuid(id))
                .push_bind(email.to_address.trim().to_lowercase())
                .push_bind(email.subject)
                .push_bind(email.body_text)
                .push_bind(email.body_html)
                .push_bind(email.kind)
                .push_bind(now());
            qb.push(")");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(id)
        }

        async fn pending_emails(&self, limit: u32) -> StoreResult<Vec<OutboxEmail>> {
            let mut tx = self.begin(&TxCtx::Mailer, false).await?;
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {EMAIL_COLS} FROM email_outbox WHERE sent_at IS NULL AND failed_at IS NULL ORDER BY created_at, id LIMIT "
            ));
            qb.push_bind(i64::from(limit.min(500)));
            let rows: Vec<EmailRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(rows.into_iter().map(EmailRow::into_domain).collect())
        }

        async fn outbox_depth(&self) -> StoreResult<OutboxDepth> {
            let mut tx = self.begin(&TxCtx::Mailer, false).await?;
            let (pending, failed): (i64, i64) = sqlx::query_as(
                "SELECT COALESCE(SUM(CASE WHEN sent_at IS NULL AND failed_at IS NULL THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END), 0) FROM email_outbox",
            )
            .fetch_one(&mut *tx)
            .await
            .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(OutboxDepth {
                pending: u64::try_from(pending).unwrap_or(0),
                failed: u64::try_from(failed).unwrap_or(0),
            })
        }

        async fn claim_emails(
            &self,
            owner: Uuid,
            limit: u32,
            lease: time::Duration,
        ) -> StoreResult<Vec<OutboxEmail>> {
            let t = now();
            let mut tx = self.begin(&TxCtx::Mailer, true).await?;
            // Pick (skipping rows another claimer holds, on PostgreSQL), then take them in one
            // statement; SQLite serializes writers, which gives the same semantics.
            let mut qb = QueryBuilder::<Db>::new(
                "WITH picked AS MATERIALIZED (SELECT id FROM email_outbox WHERE sent_at IS NULL \
                 AND failed_at IS NULL AND (claim_expires_at IS NULL OR claim_expires_at < ",
            );
            qb.push_bind(crate::dbtime::DbTime::new(t))
                .push(") ORDER BY created_at, id LIMIT ")
                .push_bind(i64::from(limit.min(500)))
                .push(FOR_UPDATE_SKIP_LOCKED)
                .push(") UPDATE email_outbox SET claimed_by = ")
                .push_bind(DbUuid(owner))
                .push(", claim_expires_at = ")
                .push_bind(crate::dbtime::DbTime::new(t + lease))
                .push(format!(
                    " WHERE id IN (SELECT id FROM picked) RETURNING {EMAIL_COLS}"
                ));
            let rows: Vec<EmailRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            let mut mails: Vec<OutboxEmail> = rows.into_iter().map(EmailRow::into_domain).collect();
            // RETURNING keeps no order.
            mails.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
            Ok(mails)
        }

        async fn emails_to(&self, address: &str, limit: u32) -> StoreResult<Vec<OutboxEmail>> {
            let mut tx = self.begin(&TxCtx::Mailer, false).await?;
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {EMAIL_COLS} FROM email_outbox WHERE to_address = "
            ));
            qb.push_bind(address.trim().to_lowercase())
                .push(" ORDER BY created_at DESC, id DESC LIMIT ")
                .push_bind(i64::from(limit.min(500)));
            let rows: Vec<EmailRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(rows.into_iter().map(EmailRow::into_domain).collect())
        }

        async fn purge_expired(&self, before: OffsetDateTime) -> StoreResult<u64> {
            let mut tx = self.begin(&TxCtx::Purge, true).await?;
            // Bounded batches keep each run short; the periodic task comes back for the rest.
            let statements: [(&str, &str); 5] = [
                (
                    "DELETE FROM auth_refresh_tokens WHERE session_id IN (SELECT id FROM auth_sessions WHERE (expires_at < ",
                    " OR revoked_at < $b) LIMIT 500)",
                ),
                (
                    "DELETE FROM auth_sessions WHERE id IN (SELECT id FROM auth_sessions WHERE (expires_at < ",
                    " OR revoked_at < $b) LIMIT 500)",
                ),
                (
                    "DELETE FROM password_resets WHERE token_hash IN (SELECT token_hash FROM password_resets WHERE (expires_at < ",
                    " OR used_at < $b) LIMIT 500)",
                ),
                (
                    "DELETE FROM email_outbox WHERE id IN (SELECT id FROM email_outbox WHERE (sent_at < ",
                    " OR failed_at < $b) LIMIT 500)",
                ),
                (
                    "DELETE FROM login_throttles WHERE throttle_key IN (SELECT throttle_key FROM login_throttles WHERE (last_failure < ",
                    " AND (locked_until IS NULL OR locked_until < $b)) LIMIT 500)",
                ),
            ];
            let mut total = 0;
            for (head, tail) in statements {
                let mut qb = QueryBuilder::<Db>::new(head);
                qb.push_bind(before);
                // The tail may compare `before` again; each use is its own bound parameter.
                let mut parts = tail.split("$b");
                if let Some(first) = parts.next() {
                    qb.push(first);
                }
                for rest in parts {
                    qb.push_bind(before).push(rest);
                }
                total += qb
                    .build()
                    .execute(&mut *tx)
                    .await
                    .map_err(map_db_err)?
                    .rows_affected();
            }
            // Shared throttle windows that ended (their times are fixed-width text on SQLite).
            let mut qb = QueryBuilder::<Db>::new(
                "DELETE FROM throttles WHERE throttle_key IN (SELECT throttle_key FROM throttles WHERE expires_at < ",
            );
            qb.push_bind(crate::dbtime::DbTime::new(before))
                .push(" LIMIT 500)");
            total += qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected();
            tx.commit().await.map_err(map_db_err)?;
            Ok(total)
        }

        async fn mark_email_sent(&self, id: Uuid) -> StoreResult<()> {
            let mut tx = self.begin(&TxCtx::Mailer, true).await?;
            let mut qb = QueryBuilder::<Db>::new("UPDATE email_outbox SET sent_at = ");
            // The bodies held single-use links: nothing readable or sealed outlives the send.
            qb.push_bind(now())
                .push(", attempts = attempts + 1, body_text = '', body_html = '' WHERE id = ")
                .push_bind(DbUuid(id));
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)
        }

        async fn mark_email_failed(
            &self,
            id: Uuid,
            error: &str,
            retry_at: Option<OffsetDateTime>,
        ) -> StoreResult<()> {
            let mut tx = self.begin(&TxCtx::Mailer, true).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "UPDATE email_outbox SET attempts = attempts + 1, claimed_by = NULL, last_error = ",
            );
            // Errors come from the remote server: keep them short in the row.
            let error: String = error.chars().take(500).collect();
            qb.push_bind(error);
            match retry_at {
                // The claim's expiry doubles as "not before": no drain takes it earlier.
                Some(at) => {
                    qb.push(", claim_expires_at = ")
                        .push_bind(crate::dbtime::DbTime::new(at));
                }
                // Given up: the bodies held single-use links, and nothing will open them now.
                None => {
                    qb.push(
                        ", claim_expires_at = NULL, body_text = '', body_html = '', failed_at = ",
                    )
                    .push_bind(now());
                }
            }
            qb.push(" WHERE id = ")
                .push_bind(DbUuid(id))
                .push(" AND sent_at IS NULL");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)
        }
    }
}
