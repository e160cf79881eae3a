// Kiosk outages and the error log, `include!`d after `common.rs` by both backends. Outages are
// written in the platform scope (the health job) and read in a gym's scope; the error log is
// written in `TxCtx::Ops` and read in the platform scope.

mod monitor_sql {
    use super::*;
    use crate::accounts::NewEmail;
    use crate::dbtime::DbTime;
    use crate::monitor::*;
    use time::OffsetDateTime;
    use uuid::Uuid;

    #[derive(sqlx::FromRow)]
    struct HealthRow {
        id: DbUuid,
        gym_id: DbUuid,
        franchise_id: DbUuid,
        name: String,
        status: String,
        last_seen_at: Option<OffsetDateTime>,
        paired_at: Option<OffsetDateTime>,
        outage_id: Option<DbUuid>,
        outage_started_at: Option<OffsetDateTime>,
    }

    impl HealthRow {
        fn into_domain(self) -> StoreResult<KioskHealth> {
            Ok(KioskHealth {
                kiosk: self.id.0.into(),
                gym: self.gym_id.0.into(),
                franchise: self.franchise_id.0.into(),
                name: self.name,
                status: KioskStatus::parse(&self.status)
                    .ok_or_else(|| StoreError::corrupt("kiosk status", &self.status))?,
                last_seen_at: self.last_seen_at,
                paired_at: self.paired_at,
                open_outage: self
                    .outage_id
                    .zip(self.outage_started_at)
                    .map(|(o, t)| (o.0, t)),
            })
        }
    }

    const OUTAGE_COLS: &str = "o.id, o.kiosk_id, k.name AS kiosk_name, o.gym_id, o.started_at, \
         o.ended_at, o.offline_alerted_at, o.online_alerted_at";

    #[derive(sqlx::FromRow)]
    struct OutageRow {
        id: DbUuid,
        kiosk_id: DbUuid,
        kiosk_name: String,
        gym_id: DbUuid,
        started_at: OffsetDateTime,
        ended_at: Option<OffsetDateTime>,
        offline_alerted_at: Option<OffsetDateTime>,
        online_alerted_at: Option<OffsetDateTime>,
    }

    impl OutageRow {
        fn into_domain(self) -> StoreResult<KioskOutage> {
            Ok(KioskOutage {
                id: self.id.0,
                kiosk_id: self.kiosk_id.0.into(),
                kiosk_name: self.kiosk_name,
                gym_id: self.gym_id.0.into(),
                started_at: self.started_at,
                ended_at: self.ended_at,
                offline_alerted_at: self.offline_alerted_at,
                online_alerted_at: self.online_alerted_at,
            })
        }
    }

    const ERROR_COLS: &str = "id, fingerprint, kind, source, level, message, count, \
         first_seen_at, last_seen_at, alerted_at";

    #[derive(sqlx::FromRow)]
    struct ErrorRow {
        id: DbUuid,
        fingerprint: String,
        kind: String,
        source: String,
        level: String,
        message: String,
        count: i64,
        first_seen_at: OffsetDateTime,
        last_seen_at: OffsetDateTime,
        alerted_at: Option<OffsetDateTime>,
    }

    impl ErrorRow {
        fn into_domain(self) -> StoreResult<ErrorLogEntry> {
            Ok(ErrorLogEntry {
                id: self.id.0,
                fingerprint: self.fingerprint,
                kind: self.kind,
                source: self.source,
                level: ErrorLevel::parse(&self.level)
                    .ok_or_else(|| StoreError::corrupt("error level", &self.level))?,
                message: self.message,
                count: u64::try_from(self.count).unwrap_or(0),
                first_seen_at: self.first_seen_at,
                last_seen_at: self.last_seen_at,
                alerted_at: self.alerted_at,
            })
        }
    }

    /// Queues alert e-mails inside the transitions's own transaction (the outbox accepts
    /// appends from any context).
    async fn queue_emails(tx: &mut Tx, emails: Vec<NewEmail>) -> StoreResult<()> {
        for e in emails {
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO email_outbox (id, to_address, subject, body_text, body_html, kind, created_at) VALUES (",
            );
            let mut s = qb.separated(", ");
            s.push_bind(DbUuid(e.id))
                .push_bind(e.to_address.trim().to_lowercase())
                .push_bind(e.subject)
                .push_bind(e.body_text)
                .push_bind(e.body_html)
                .push_bind(e.kind)
                .push_bind(now());
            qb.push(")");
            qb.build().execute(&mut **tx).await.map_err(map_db_err)?;
        }
        Ok(())
    }

    fn platform_only(scope: &Scope, what: &'static str) -> StoreResult<()> {
        if matches!(scope, Scope::Platform) {
            Ok(())
        } else {
            Err(StoreError::NotFound(what))
        }
    }

    #[async_trait::async_trait]
    impl MonitorStore for ThisStore {
        async fn kiosk_health(&self, scope: &Scope) -> StoreResult<Vec<KioskHealth>> {
            platform_only(scope, "kiosks")?;
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT k.id, k.gym_id, k.franchise_id, k.name, k.status, k.last_seen_at, \
                 k.paired_at, o.id AS outage_id, o.started_at AS outage_started_at FROM kiosks k \
                 LEFT JOIN kiosk_outages o ON o.kiosk_id = k.id AND o.ended_at IS NULL \
                 WHERE (k.status = ",
            );
            qb.push_bind(KioskStatus::Paired.as_str())
                .push(" OR o.id IS NOT NULL) ORDER BY k.id LIMIT 100000");
            let rows: Vec<HealthRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            rows.into_iter().map(HealthRow::into_domain).collect()
        }

        async fn open_kiosk_outage(
            &self,
            scope: &Scope,
            kiosk: KioskId,
            cutoff: OffsetDateTime,
            started_at: OffsetDateTime,
            emails: Vec<NewEmail>,
        ) -> StoreResult<bool> {
            platform_only(scope, "kiosk")?;
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            // Checked again inside the write: a heartbeat flushed or a revocation since the job
            // read the kiosks wins (compared here rather than in SQL: `paired_at` is not
            // written as fixed-width text everywhere on SQLite).
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT id, gym_id, franchise_id, name, status, last_seen_at, paired_at, \
                 NULL AS outage_id, NULL AS outage_started_at FROM kiosks WHERE id = ",
            );
            qb.push_bind(db(kiosk));
            let row: Option<HealthRow> = qb
                .build_query_as()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            let Some(k) = row.map(HealthRow::into_domain).transpose()? else {
                return Ok(false);
            };
            let seen = k.last_seen_at.or(k.paired_at);
            if k.status != KioskStatus::Paired || seen.is_some_and(|t| t >= cutoff) {
                return Ok(false);
            }
            let alerted = (!emails.is_empty()).then(now);
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO kiosk_outages (id, franchise_id, gym_id, kiosk_id, started_at, \
                 offline_alerted_at) VALUES (",
            );
            let mut s = qb.separated(", ");
            s.push_bind(DbUuid(Uuid::now_v7()))
                .push_bind(db(k.franchise))
                .push_bind(db(k.gym))
                .push_bind(db(kiosk))
                .push_bind(DbTime::new(started_at))
                .push_bind(alerted.map(DbTime::new));
            // One open outage per kiosk (partial unique index): a concurrent run's insert waits
            // for this one and then does nothing, so its e-mails are never queued.
            qb.push(") ON CONFLICT DO NOTHING");
            let inserted = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected();
            if inserted == 1 {
                queue_emails(&mut tx, emails).await?;
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(inserted == 1)
        }

        async fn close_kiosk_outage(
            &self,
            scope: &Scope,
            outage: Uuid,
            ended_at: OffsetDateTime,
            emails: Vec<NewEmail>,
        ) -> StoreResult<bool> {
            platform_only(scope, "kiosk outage")?;
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let alerted = (!emails.is_empty()).then(now);
            let mut qb = QueryBuilder::<Db>::new("UPDATE kiosk_outages SET ended_at = ");
            qb.push_bind(DbTime::new(ended_at))
                .push(", online_alerted_at = ")
                .push_bind(alerted.map(DbTime::new))
                .push(" WHERE id = ")
                .push_bind(DbUuid(outage))
                // Compare-and-set: of two runs closing it, the second finds it ended.
                .push(" AND ended_at IS NULL");
            let closed = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected();
            if closed == 1 {
                queue_emails(&mut tx, emails).await?;
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(closed == 1)
        }

        async fn list_kiosk_outages(
            &self,
            scope: &Scope,
            gym: GymId,
            page: PageRequest,
        ) -> StoreResult<Page<KioskOutage>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let build = |select: &str| {
                let mut qb = QueryBuilder::<Db>::new(format!(
                    "SELECT {select} FROM kiosk_outages o JOIN kiosks k ON k.id = o.kiosk_id \
                     WHERE o.gym_id = "
                ));
                qb.push_bind(db(gym));
                push_scope(&mut qb, scope, "o.franchise_id", "o.gym_id");
                qb
            };
            let (total, rows) = fetch_page::<OutageRow>(
                &mut tx,
                build,
                OUTAGE_COLS,
                " ORDER BY o.started_at DESC, o.id DESC",
                page,
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            page_of(rows, total, page, OutageRow::into_domain)
        }

        async fn record_errors(&self, batch: &[ErrorOccurrence]) -> StoreResult<u64> {
            if batch.is_empty() {
                return Ok(0);
            }
            let mut tx = self.begin(&TxCtx::Ops, true).await?;
            let mut written = 0;
            for e in batch {
                let mut qb = QueryBuilder::<Db>::new(format!(
                    "INSERT INTO error_log ({ERROR_COLS}) VALUES ("
                ));
                let mut s = qb.separated(", ");
                s.push_bind(DbUuid(Uuid::now_v7()))
                    .push_bind(e.fingerprint.clone())
                    .push_bind(e.kind.clone())
                    .push_bind(e.source.clone())
                    .push_bind(e.level.as_str())
                    .push_bind(e.message.clone())
                    .push_bind(i64::try_from(e.count).unwrap_or(i64::MAX))
                    .push_bind(DbTime::new(e.first_seen_at))
                    .push_bind(DbTime::new(e.last_seen_at))
                    .push_bind(None::<DbTime>);
                // Two instances recording one fingerprint at once both count.
                qb.push(
                    ") ON CONFLICT (fingerprint) DO UPDATE SET \
                     count = error_log.count + excluded.count, \
                     level = excluded.level, message = excluded.message, \
                     last_seen_at = CASE WHEN excluded.last_seen_at > error_log.last_seen_at \
                     THEN excluded.last_seen_at ELSE error_log.last_seen_at END",
                );
                written += qb
                    .build()
                    .execute(&mut *tx)
                    .await
                    .map_err(map_db_err)?
                    .rows_affected();
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(written)
        }

        async fn claim_error_alert(
            &self,
            fingerprint: &str,
            now: OffsetDateTime,
            window: time::Duration,
            emails: Vec<NewEmail>,
        ) -> StoreResult<bool> {
            let mut tx = self.begin(&TxCtx::Ops, true).await?;
            let mut qb = QueryBuilder::<Db>::new("UPDATE error_log SET alerted_at = ");
            qb.push_bind(DbTime::new(now))
                .push(" WHERE fingerprint = ")
                .push_bind(fingerprint.to_string())
                // Compare-and-set on the last alert: a concurrent claim re-reads the row after
                // this one commits and finds it alerted.
                .push(" AND (alerted_at IS NULL OR alerted_at <= ")
                .push_bind(DbTime::new(now - window))
                .push(")");
            let claimed = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected();
            if claimed == 1 {
                queue_emails(&mut tx, emails).await?;
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(claimed == 1)
        }

        async fn list_errors(
            &self,
            scope: &Scope,
            level: Option<ErrorLevel>,
            page: PageRequest,
        ) -> StoreResult<Page<ErrorLogEntry>> {
            platform_only(scope, "error log")?;
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let build = |select: &str| {
                let mut qb =
                    QueryBuilder::<Db>::new(format!("SELECT {select} FROM error_log WHERE 1 = 1"));
                if let Some(l) = level {
                    qb.push(" AND level = ").push_bind(l.as_str());
                }
                qb
            };
            let (total, rows) = fetch_page_capped::<ErrorRow>(
                &mut tx,
                build,
                ERROR_COLS,
                " ORDER BY last_seen_at DESC, id DESC",
                page,
                self.count_cap,
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(page_of(rows, total, page, ErrorRow::into_domain)?.cap_total(self.count_cap))
        }
    }
}
