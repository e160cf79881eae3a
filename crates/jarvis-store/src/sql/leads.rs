// Lead webhook keys and leads, `include!`d after `common.rs` by both backends. The key lookup
// of an unauthenticated delivery runs in `TxCtx::Webhook`; every other query in a tenant scope.

mod leads_sql {
    use super::*;
    use crate::dbtime::DbTime;
    use crate::leads::*;
    use time::OffsetDateTime;

    const LEAD_COLS: &str = "id, franchise_id, gym_id, event_id, body_hash, name, email, phone, \
         message, source, status, created_at, updated_at";

    #[derive(sqlx::FromRow)]
    struct LeadRow {
        id: DbUuid,
        #[allow(dead_code)]
        franchise_id: DbUuid,
        gym_id: DbUuid,
        event_id: String,
        body_hash: String,
        name: String,
        email: Option<String>,
        phone: Option<String>,
        message: Option<String>,
        source: Option<String>,
        status: String,
        created_at: OffsetDateTime,
        updated_at: OffsetDateTime,
    }

    impl LeadRow {
        fn into_domain(self) -> StoreResult<Lead> {
            Ok(Lead {
                id: self.id.0.into(),
                gym_id: self.gym_id.0.into(),
                event_id: self.event_id,
                name: self.name,
                email: self.email,
                phone: self.phone,
                message: self.message,
                source: self.source,
                status: LeadStatus::parse(&self.status)
                    .ok_or_else(|| StoreError::corrupt("lead status", &self.status))?,
                created_at: self.created_at,
                updated_at: self.updated_at,
            })
        }
    }

    #[derive(sqlx::FromRow)]
    struct KeyRow {
        key_id: String,
        franchise_id: DbUuid,
        gym_id: DbUuid,
        sealed_secret: String,
        created_at: OffsetDateTime,
    }

    async fn fetch_lead(tx: &mut Tx, scope: &Scope, gym: GymId, id: LeadId) -> StoreResult<Lead> {
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {LEAD_COLS} FROM leads WHERE id = "));
        qb.push_bind(db(id))
            .push(" AND gym_id = ")
            .push_bind(db(gym));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        let row: Option<LeadRow> = qb
            .build_query_as()
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_db_err)?;
        row.ok_or(StoreError::NotFound("lead"))?.into_domain()
    }

    #[async_trait::async_trait]
    impl LeadStore for ThisStore {
        async fn put_lead_webhook(
            &self,
            scope: &Scope,
            actor: &Actor,
            gym: GymId,
            key_id: &str,
            sealed_secret: &str,
        ) -> StoreResult<LeadWebhookKey> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let g = fetch_gym(&mut tx, scope, gym).await?;
            let t = now();
            let mut qb = QueryBuilder::<Db>::new("DELETE FROM lead_webhooks WHERE gym_id = ");
            qb.push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO lead_webhooks (gym_id, franchise_id, key_id, sealed_secret, created_at) VALUES (",
            );
            let mut s = qb.separated(", ");
            s.push_bind(db(gym))
                .push_bind(db(g.franchise_id))
                .push_bind(key_id.to_string())
                .push_bind(sealed_secret.to_string())
                .push_bind(DbTime::new(t));
            qb.push(")");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            audit_tx(
                &mut tx,
                actor,
                Some(g.franchise_id),
                Some(gym),
                "lead_webhook.rotate",
                "gym",
                Some(gym.to_string()),
                serde_json::json!({ "key_id": key_id }),
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(LeadWebhookKey {
                key_id: key_id.to_string(),
                gym_id: gym,
                created_at: DbTime::new(t).0,
            })
        }

        async fn lead_webhook(
            &self,
            scope: &Scope,
            gym: GymId,
        ) -> StoreResult<Option<LeadWebhookKey>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            fetch_gym(&mut tx, scope, gym).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT key_id, franchise_id, gym_id, sealed_secret, created_at FROM lead_webhooks WHERE gym_id = ",
            );
            qb.push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            let row: Option<KeyRow> = qb
                .build_query_as()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(row.map(|r| LeadWebhookKey {
                key_id: r.key_id,
                gym_id: r.gym_id.0.into(),
                created_at: r.created_at,
            }))
        }

        async fn lead_webhook_by_key(&self, key_id: &str) -> StoreResult<Option<StoredLeadKey>> {
            let mut tx = self.begin(&TxCtx::Webhook, false).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT key_id, franchise_id, gym_id, sealed_secret, created_at FROM lead_webhooks WHERE key_id = ",
            );
            qb.push_bind(key_id.to_string());
            let row: Option<KeyRow> = qb
                .build_query_as()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(row.map(|r| StoredLeadKey {
                key_id: r.key_id,
                franchise_id: r.franchise_id.0.into(),
                gym_id: r.gym_id.0.into(),
                sealed_secret: r.sealed_secret,
            }))
        }

        async fn record_lead(
            &self,
            scope: &Scope,
            gym: GymId,
            lead: ValidLead,
            body_hash: &str,
        ) -> StoreResult<RecordedLead> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let g = fetch_gym(&mut tx, scope, gym).await?;
            let t = DbTime::new(now());
            let id = LeadId::new();
            let mut qb =
                QueryBuilder::<Db>::new(format!("INSERT INTO leads ({LEAD_COLS}) VALUES ("));
            let mut s = qb.separated(", ");
            s.push_bind(db(id))
                .push_bind(db(g.franchise_id))
                .push_bind(db(gym))
                .push_bind(lead.event_id.clone())
                .push_bind(body_hash.to_string())
                .push_bind(lead.name)
                .push_bind(lead.email)
                .push_bind(lead.phone)
                .push_bind(lead.message)
                .push_bind(lead.source)
                .push_bind(LeadStatus::New.as_str())
                .push_bind(t)
                .push_bind(t);
            // A concurrent or later redelivery of the same event finds the first row.
            qb.push(") ON CONFLICT (gym_id, event_id) DO NOTHING");
            let created = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected()
                == 1;
            let mut qb =
                QueryBuilder::<Db>::new(format!("SELECT {LEAD_COLS} FROM leads WHERE gym_id = "));
            qb.push_bind(db(gym))
                .push(" AND event_id = ")
                .push_bind(lead.event_id);
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            let row: LeadRow = qb
                .build_query_as()
                .fetch_one(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            let body_hash = row.body_hash.clone();
            Ok(RecordedLead {
                lead: row.into_domain()?,
                body_hash,
                created,
            })
        }

        async fn list_leads(
            &self,
            scope: &Scope,
            gym: GymId,
            status: Option<LeadStatus>,
            sort: LeadSort,
            page: PageRequest,
        ) -> StoreResult<Page<Lead>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let build = |select: &str| {
                let mut qb =
                    QueryBuilder::<Db>::new(format!("SELECT {select} FROM leads WHERE gym_id = "));
                qb.push_bind(db(gym));
                push_scope(&mut qb, scope, "franchise_id", "gym_id");
                if let Some(st) = status {
                    qb.push(" AND status = ").push_bind(st.as_str());
                }
                qb
            };
            let (total, rows) = fetch_page::<LeadRow>(
                &mut tx,
                build,
                LEAD_COLS,
                match sort {
                    LeadSort::CreatedDesc => " ORDER BY created_at DESC, id DESC",
                    LeadSort::Created => " ORDER BY created_at, id",
                    // Follow-up order (new, contacted, converted), not the keys' alphabet.
                    LeadSort::Status => {
                        " ORDER BY CASE status WHEN 'new' THEN 0 WHEN 'contacted' THEN 1 \
                         ELSE 2 END, created_at DESC, id DESC"
                    }
                },
                page,
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            page_of(rows, total, page, LeadRow::into_domain)
        }

        async fn lead(&self, scope: &Scope, gym: GymId, id: LeadId) -> StoreResult<Lead> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let l = fetch_lead(&mut tx, scope, gym, id).await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(l)
        }

        async fn set_lead_status(
            &self,
            scope: &Scope,
            actor: &Actor,
            gym: GymId,
            id: LeadId,
            status: LeadStatus,
        ) -> StoreResult<Lead> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let before = fetch_lead(&mut tx, scope, gym, id).await?;
            if before.status == status {
                tx.commit().await.map_err(map_db_err)?;
                return Ok(before);
            }
            let mut qb = QueryBuilder::<Db>::new("UPDATE leads SET status = ");
            qb.push_bind(status.as_str())
                .push(", updated_at = ")
                .push_bind(DbTime::new(now()))
                .push(" WHERE id = ")
                .push_bind(db(id))
                .push(" AND gym_id = ")
                .push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            let after = fetch_lead(&mut tx, scope, gym, id).await?;
            let franchise = match scope.franchise() {
                Some(f) => f,
                None => fetch_gym(&mut tx, scope, gym).await?.franchise_id,
            };
            // Ids and statuses only: the lead's contact details are personal data.
            audit_tx(
                &mut tx,
                actor,
                Some(franchise),
                Some(gym),
                "lead.status",
                "lead",
                Some(id.to_string()),
                serde_json::json!({ "from": before.status.as_str(), "to": status.as_str() }),
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(after)
        }
    }
}
