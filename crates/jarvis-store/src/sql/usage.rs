// Usage measures, snapshots and alerts, and the cost reconciliation, `include!`d after
// `common.rs` by both backends. Everything here runs in the platform scope (the jobs), except
// the reads of snapshots and alerts, which run in the caller's scope.

mod usage_sql {
    use super::*;
    use crate::accounts::NewEmail;
    use crate::dbtime::DbTime;
    use crate::usage::*;
    use jarvis_core::cost::{BudgetPeriod, BudgetThreshold};
    use std::collections::BTreeMap;
    use time::{Date, OffsetDateTime};

    /// The tenant tables whose rows count against a plan: the data a franchise stores. Logs,
    /// queues and rollups (request log, audit, jobs, cost rollups) are the platform's own.
    const ROW_TABLES: &[&str] = &[
        "gyms",
        "members",
        "member_visits",
        "member_facts",
        "kiosks",
        "class_schedules",
        "voice_sessions",
        "conversation_turns",
        "tool_calls",
        "session_analyses",
        "follow_ups",
        "knowledge_entries",
        "knowledge_chunks",
        "leads",
        "http_tools",
    ];

    /// The nil id: request-count rows of requests that named no gym.
    const NO_GYM: uuid::Uuid = uuid::Uuid::nil();

    fn platform_only(scope: &Scope, what: &'static str) -> StoreResult<()> {
        if matches!(scope, Scope::Platform) {
            Ok(())
        } else {
            Err(StoreError::NotFound(what))
        }
    }

    fn count_of(what: &str, n: i64) -> StoreResult<u64> {
        u64::try_from(n).map_err(|_| StoreError::corrupt(what, &n.to_string()))
    }

    fn bound(field: &'static str, n: u64) -> StoreResult<i64> {
        i64::try_from(n).map_err(|_| StoreError::Invalid {
            field,
            message: "is too large".into(),
        })
    }

    /// Sums `(franchise, n)` rows into the per-franchise map.
    fn add_each(
        into: &mut BTreeMap<FranchiseId, DbUsage>,
        rows: Vec<(DbUuid, i64)>,
        what: &str,
        slot: fn(&mut DbUsage) -> &mut u64,
    ) -> StoreResult<()> {
        for (f, n) in rows {
            let n = count_of(what, n)?;
            let e = into.entry(f.0.into()).or_default();
            *slot(e) = slot(e).saturating_add(n);
        }
        Ok(())
    }

    /// Seconds between two timestamp columns, summed, in each backend's dialect.
    fn seconds_sum() -> &'static str {
        match BACKEND {
            Backend::Sqlite => {
                "CAST(ROUND(COALESCE(SUM((julianday(ended_at) - julianday(started_at)) * 86400.0), 0)) AS INTEGER)"
            }
            Backend::Postgres => {
                "CAST(COALESCE(SUM(EXTRACT(EPOCH FROM (ended_at - started_at))), 0) AS BIGINT)"
            }
        }
    }

    async fn db_size(tx: &mut Tx) -> StoreResult<u64> {
        let sql = match BACKEND {
            Backend::Sqlite => {
                "SELECT CAST(c.page_count * s.page_size AS INTEGER) \
                 FROM pragma_page_count() c, pragma_page_size() s"
            }
            Backend::Postgres => "SELECT CAST(pg_database_size(current_database()) AS BIGINT)",
        };
        let n: i64 = sqlx::query_scalar(sql)
            .fetch_one(&mut **tx)
            .await
            .map_err(map_db_err)?;
        count_of("database size", n)
    }

    #[derive(sqlx::FromRow)]
    struct SnapshotRow {
        scope_key: String,
        franchise_id: Option<DbUuid>,
        metric: String,
        period: String,
        value: i64,
        limit_value: i64,
        taken_at: OffsetDateTime,
    }

    fn scope_of(key: &str, franchise: Option<DbUuid>) -> StoreResult<UsageScope> {
        match franchise {
            Some(f) => Ok(UsageScope::Franchise(f.0.into())),
            None if key == "platform" => Ok(UsageScope::Platform),
            None => Err(StoreError::corrupt("usage scope", key)),
        }
    }

    impl SnapshotRow {
        fn into_domain(self) -> StoreResult<UsageSnapshot> {
            Ok(UsageSnapshot {
                scope: scope_of(&self.scope_key, self.franchise_id)?,
                metric: UsageMetric::parse(&self.metric)
                    .ok_or_else(|| StoreError::corrupt("usage metric", &self.metric))?,
                period: BudgetPeriod::parse(&self.period)
                    .ok_or_else(|| StoreError::corrupt("usage period", &self.period))?,
                value: count_of("usage value", self.value)?,
                limit: count_of("usage limit", self.limit_value)?,
                taken_at: self.taken_at,
            })
        }
    }

    #[derive(sqlx::FromRow)]
    struct AlertRow {
        id: DbUuid,
        scope_key: String,
        franchise_id: Option<DbUuid>,
        metric: String,
        period: String,
        threshold_percent: i32,
        value: i64,
        limit_value: i64,
        created_at: OffsetDateTime,
    }

    impl AlertRow {
        fn into_domain(self) -> StoreResult<UsageAlert> {
            Ok(UsageAlert {
                id: self.id.0,
                alert: NewUsageAlert {
                    scope: scope_of(&self.scope_key, self.franchise_id)?,
                    metric: UsageMetric::parse(&self.metric)
                        .ok_or_else(|| StoreError::corrupt("usage metric", &self.metric))?,
                    period: BudgetPeriod::parse(&self.period)
                        .ok_or_else(|| StoreError::corrupt("usage period", &self.period))?,
                    threshold: BudgetThreshold::from_percent(i64::from(self.threshold_percent))
                        .ok_or_else(|| {
                            StoreError::corrupt("threshold", &self.threshold_percent.to_string())
                        })?,
                    value: count_of("usage value", self.value)?,
                    limit: count_of("usage limit", self.limit_value)?,
                },
                created_at: self.created_at,
            })
        }
    }

    /// Queues an e-mail in the alert's transaction (same columns as the outbox's own insert).
    async fn queue_email(tx: &mut Tx, email: NewEmail) -> StoreResult<()> {
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO email_outbox (id, to_address, subject, body_text, body_html, kind, created_at) VALUES (",
        );
        let mut s = qb.separated(", ");
        s.push_bind(DbUuid(email.id))
            .push_bind(email.to_address.trim().to_lowercase())
            .push_bind(email.subject)
            .push_bind(email.body_text)
            .push_bind(email.body_html)
            .push_bind(email.kind)
            .push_bind(DbTime::new(now()));
        qb.push(")");
        qb.build().execute(&mut **tx).await.map_err(map_db_err)?;
        Ok(())
    }

    /// Adds a batch of request-log rows to the monthly per-gym counts (in the log's own
    /// transaction, `ops` context).
    pub(super) async fn count_requests(
        tx: &mut Tx,
        batch: &[crate::ops::RequestLogEntry],
    ) -> StoreResult<()> {
        let mut counts: BTreeMap<(uuid::Uuid, String), i64> = BTreeMap::new();
        for e in batch {
            let gym = e.gym.map_or(NO_GYM, |g| g.as_uuid());
            *counts
                .entry((gym, BudgetPeriod::of(e.at).to_string()))
                .or_default() += 1;
        }
        for ((gym, period), n) in counts {
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO request_counts (gym_id, period, requests) VALUES (",
            );
            let mut s = qb.separated(", ");
            s.push_bind(DbUuid(gym)).push_bind(period).push_bind(n);
            qb.push(
                ") ON CONFLICT (gym_id, period) DO UPDATE SET \
                 requests = request_counts.requests + excluded.requests",
            );
            qb.build().execute(&mut **tx).await.map_err(map_db_err)?;
        }
        Ok(())
    }

    #[async_trait::async_trait]
    impl UsageStore for ThisStore {
        async fn measure_usage(
            &self,
            scope: &Scope,
            period: BudgetPeriod,
        ) -> StoreResult<UsageMeasures> {
            platform_only(scope, "usage")?;
            let mut tx = self.begin(&TxCtx::Scope(Scope::Platform), false).await?;
            let mut per: BTreeMap<FranchiseId, DbUsage> = BTreeMap::new();
            // Every franchise appears, even with nothing counted yet.
            let ids: Vec<DbUuid> = sqlx::query_scalar("SELECT id FROM franchises")
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            for id in ids {
                per.entry(id.0.into()).or_default();
            }
            for table in ROW_TABLES {
                let rows: Vec<(DbUuid, i64)> = QueryBuilder::<Db>::new(format!(
                    "SELECT franchise_id, CAST(COUNT(*) AS BIGINT) FROM {table} GROUP BY franchise_id"
                ))
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
                add_each(&mut per, rows, "row count", |u| &mut u.rows)?;
            }
            let month = period.to_string();
            let rows: Vec<(DbUuid, i64)> = QueryBuilder::<Db>::new(
                "SELECT g.franchise_id, CAST(COALESCE(SUM(c.requests), 0) AS BIGINT) \
                 FROM request_counts c JOIN gyms g ON g.id = c.gym_id WHERE c.period = ",
            )
            .push_bind(month.clone())
            .push(" GROUP BY g.franchise_id")
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .map_err(map_db_err)?;
            add_each(&mut per, rows, "requests", |u| &mut u.api_requests)?;
            let all_requests: i64 = QueryBuilder::<Db>::new(
                "SELECT CAST(COALESCE(SUM(requests), 0) AS BIGINT) FROM request_counts WHERE period = ",
            )
            .push_bind(month)
            .build_query_scalar()
            .fetch_one(&mut *tx)
            .await
            .map_err(map_db_err)?;

            let from = DbTime::new(period.first_day().midnight().assume_utc());
            let to = DbTime::new(period.end_day().midnight().assume_utc());
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT franchise_id, {} FROM voice_sessions WHERE ended_at IS NOT NULL \
                 AND started_at >= ",
                seconds_sum()
            ));
            qb.push_bind(from)
                .push(" AND started_at < ")
                .push_bind(to)
                .push(" GROUP BY franchise_id");
            let rows: Vec<(DbUuid, i64)> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            // A clock that jumped back could give a negative duration: it counts as none.
            let rows = rows.into_iter().map(|(f, n)| (f, n.max(0))).collect();
            add_each(&mut per, rows, "voice seconds", |u| &mut u.voice_seconds)?;

            let rows: Vec<(DbUuid, i64)> = QueryBuilder::<Db>::new(
                "SELECT franchise_id, CAST(COALESCE(SUM(cost_pico), 0) AS BIGINT) FROM cost_daily \
                 WHERE day >= ",
            )
            .push_bind(period.first_day())
            .push(" AND day < ")
            .push_bind(period.end_day())
            .push(" GROUP BY franchise_id")
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .map_err(map_db_err)?;
            add_each(&mut per, rows, "cost", |u| &mut u.ai_cost_pico)?;
            let db_bytes = db_size(&mut tx).await?;
            tx.commit().await.map_err(map_db_err)?;

            let mut platform = DbUsage::default();
            for u in per.values() {
                platform.rows = platform.rows.saturating_add(u.rows);
                platform.voice_seconds = platform.voice_seconds.saturating_add(u.voice_seconds);
                platform.ai_cost_pico = platform.ai_cost_pico.saturating_add(u.ai_cost_pico);
            }
            platform.api_requests = count_of("requests", all_requests)?;
            Ok(UsageMeasures {
                franchises: per.into_iter().collect(),
                platform,
                db_bytes,
            })
        }

        async fn put_usage_snapshots(
            &self,
            scope: &Scope,
            snaps: &[UsageSnapshot],
        ) -> StoreResult<()> {
            platform_only(scope, "usage")?;
            let mut tx = self.begin(&TxCtx::Scope(Scope::Platform), true).await?;
            for s in snaps {
                let mut qb = QueryBuilder::<Db>::new(
                    "INSERT INTO usage_snapshots (scope_key, franchise_id, metric, period, value, \
                     limit_value, taken_at) VALUES (",
                );
                let mut b = qb.separated(", ");
                b.push_bind(s.scope.key())
                    .push_bind(s.scope.franchise().map(db))
                    .push_bind(s.metric.as_str())
                    .push_bind(s.period.to_string())
                    .push_bind(bound("value", s.value)?)
                    .push_bind(bound("limit", s.limit)?)
                    .push_bind(DbTime::new(s.taken_at));
                qb.push(
                    ") ON CONFLICT (scope_key, metric) DO UPDATE SET period = excluded.period, \
                     value = excluded.value, limit_value = excluded.limit_value, \
                     taken_at = excluded.taken_at",
                );
                qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(())
        }

        async fn usage_snapshots(&self, scope: &Scope) -> StoreResult<Vec<UsageSnapshot>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT scope_key, franchise_id, metric, period, value, limit_value, taken_at \
                 FROM usage_snapshots WHERE 1 = 1",
            );
            match scope {
                Scope::Platform => {}
                Scope::Franchise { franchise } | Scope::Gym { franchise, .. } => {
                    qb.push(" AND franchise_id = ").push_bind(db(*franchise));
                }
            }
            qb.push(" ORDER BY scope_key, metric LIMIT 10000");
            let rows: Vec<SnapshotRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            rows.into_iter().map(SnapshotRow::into_domain).collect()
        }

        async fn usage_alert_once(
            &self,
            scope: &Scope,
            alert: NewUsageAlert,
            emails: Vec<NewEmail>,
        ) -> StoreResult<bool> {
            platform_only(scope, "usage")?;
            let mut tx = self.begin(&TxCtx::Scope(Scope::Platform), true).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO usage_alerts (id, scope_key, franchise_id, metric, period, \
                 threshold_percent, value, limit_value, created_at) VALUES (",
            );
            let mut b = qb.separated(", ");
            b.push_bind(DbUuid(uuid::Uuid::now_v7()))
                .push_bind(alert.scope.key())
                .push_bind(alert.scope.franchise().map(db))
                .push_bind(alert.metric.as_str())
                .push_bind(alert.period.to_string())
                .push_bind(i64::from(alert.threshold.percent()))
                .push_bind(bound("value", alert.value)?)
                .push_bind(bound("limit", alert.limit)?)
                .push_bind(DbTime::new(now()));
            // Of concurrent firings (any instance), the unique key lets exactly one insert.
            qb.push(
                ") ON CONFLICT (scope_key, metric, period, threshold_percent) DO NOTHING \
                 RETURNING id",
            );
            let fired: Option<DbUuid> = qb
                .build_query_scalar()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            if fired.is_some() {
                for e in emails {
                    queue_email(&mut tx, e).await?;
                }
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(fired.is_some())
        }

        async fn list_usage_alerts(
            &self,
            scope: &Scope,
            limit: u32,
        ) -> StoreResult<Vec<UsageAlert>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT id, scope_key, franchise_id, metric, period, threshold_percent, value, \
                 limit_value, created_at FROM usage_alerts WHERE 1 = 1",
            );
            match scope {
                Scope::Platform => {}
                Scope::Franchise { franchise } | Scope::Gym { franchise, .. } => {
                    qb.push(" AND franchise_id = ").push_bind(db(*franchise));
                }
            }
            qb.push(" ORDER BY created_at DESC, id DESC LIMIT ")
                .push_bind(i64::from(limit.clamp(1, 1000)));
            let rows: Vec<AlertRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            rows.into_iter().map(AlertRow::into_domain).collect()
        }

        async fn put_billed_costs(&self, scope: &Scope, days: &[(Date, u64)]) -> StoreResult<()> {
            platform_only(scope, "costs")?;
            let mut tx = self.begin(&TxCtx::Scope(Scope::Platform), true).await?;
            let at = DbTime::new(now());
            for (day, micros) in days {
                let mut qb = QueryBuilder::<Db>::new(
                    "INSERT INTO billed_costs (id, day, billed_micros, fetched_at) VALUES (",
                );
                let mut b = qb.separated(", ");
                b.push_bind(DbUuid(uuid::Uuid::now_v7()))
                    .push_bind(*day)
                    .push_bind(bound("billed", *micros)?)
                    .push_bind(at);
                qb.push(
                    ") ON CONFLICT (day) DO UPDATE SET billed_micros = excluded.billed_micros, \
                     fetched_at = excluded.fetched_at",
                );
                qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(())
        }

        async fn cost_days(
            &self,
            scope: &Scope,
            from: Date,
            to: Date,
        ) -> StoreResult<Vec<CostDay>> {
            platform_only(scope, "costs")?;
            if to <= from {
                return Ok(Vec::new());
            }
            let mut tx = self.begin(&TxCtx::Scope(Scope::Platform), false).await?;
            let metered: Vec<(Date, i64)> = QueryBuilder::<Db>::new(
                "SELECT day, CAST(COALESCE(SUM(cost_pico), 0) AS BIGINT) FROM cost_daily \
                 WHERE day >= ",
            )
            .push_bind(from)
            .push(" AND day < ")
            .push_bind(to)
            .push(" GROUP BY day")
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .map_err(map_db_err)?;
            let billed: Vec<(Date, i64)> = QueryBuilder::<Db>::new(
                "SELECT day, billed_micros FROM billed_costs WHERE day >= ",
            )
            .push_bind(from)
            .push(" AND day < ")
            .push_bind(to)
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .map_err(map_db_err)?;
            let alerted: Vec<Date> =
                QueryBuilder::<Db>::new("SELECT day FROM cost_alerts WHERE day >= ")
                    .push_bind(from)
                    .push(" AND day < ")
                    .push_bind(to)
                    .build_query_scalar()
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            let metered: BTreeMap<Date, i64> = metered.into_iter().collect();
            let billed: BTreeMap<Date, i64> = billed.into_iter().collect();
            let mut out = Vec::new();
            let mut day = from;
            // At most ten years of days: the page and the job ask for weeks.
            while day < to && out.len() < 3660 {
                out.push(CostDay {
                    day,
                    metered_pico: count_of("cost", metered.get(&day).copied().unwrap_or(0))?,
                    billed_micros: billed
                        .get(&day)
                        .map(|b| count_of("billed", *b))
                        .transpose()?,
                    alerted: alerted.contains(&day),
                });
                let Some(next) = day.next_day() else { break };
                day = next;
            }
            Ok(out)
        }

        async fn cost_alert_once(
            &self,
            scope: &Scope,
            day: CostDay,
            emails: Vec<NewEmail>,
        ) -> StoreResult<bool> {
            platform_only(scope, "costs")?;
            let mut tx = self.begin(&TxCtx::Scope(Scope::Platform), true).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO cost_alerts (id, day, metered_pico, billed_micros, created_at) VALUES (",
            );
            let mut b = qb.separated(", ");
            b.push_bind(DbUuid(uuid::Uuid::now_v7()))
                .push_bind(day.day)
                .push_bind(bound("metered", day.metered_pico)?)
                .push_bind(bound("billed", day.billed_micros.unwrap_or(0))?)
                .push_bind(DbTime::new(now()));
            qb.push(") ON CONFLICT (day) DO NOTHING RETURNING id");
            let fired: Option<DbUuid> = qb
                .build_query_scalar()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            if fired.is_some() {
                for e in emails {
                    queue_email(&mut tx, e).await?;
                }
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(fired.is_some())
        }
    }
}
