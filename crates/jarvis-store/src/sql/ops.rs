// The request log and the retention sweep of log tables, `include!`d after `common.rs` by both
// backends. Writes of the log run in `TxCtx::Ops`, deletions in `TxCtx::Purge`.

mod ops_sql {
    use super::*;
    use crate::dbtime::DbTime;
    use crate::ops::*;
    use time::OffsetDateTime;

    #[derive(sqlx::FromRow)]
    struct RequestRow {
        at: OffsetDateTime,
        instance_id: DbUuid,
        method: String,
        route: String,
        status: i32,
        latency_us: i64,
        gym_id: Option<DbUuid>,
    }

    #[derive(sqlx::FromRow)]
    struct VitalRow {
        at: OffsetDateTime,
        day: String,
        page: String,
        metric: String,
        value: f64,
    }

    #[async_trait::async_trait]
    impl OpsStore for ThisStore {
        async fn record_requests(&self, batch: &[RequestLogEntry]) -> StoreResult<u64> {
            if batch.is_empty() {
                return Ok(0);
            }
            let mut tx = self.begin(&TxCtx::Ops, true).await?;
            let mut written = 0u64;
            // Chunks keep each statement under the backends' bind-parameter limits.
            for chunk in batch.chunks(500) {
                let mut qb = QueryBuilder::<Db>::new(
                    "INSERT INTO request_log (id, at, instance_id, method, route, status, latency_us, gym_id) ",
                );
                qb.push_values(chunk, |mut b, e| {
                    b.push_bind(db(uuid::Uuid::now_v7()))
                        .push_bind(DbTime::new(e.at))
                        .push_bind(db(e.instance))
                        .push_bind(e.method.clone())
                        .push_bind(e.route.clone())
                        .push_bind(i64::from(e.status))
                        .push_bind(i64::try_from(e.latency_us).unwrap_or(i64::MAX))
                        .push_bind(e.gym.map(db));
                });
                written += qb
                    .build()
                    .execute(&mut *tx)
                    .await
                    .map_err(map_db_err)?
                    .rows_affected();
            }
            // The monthly counts of the usage limits, in the same transaction as the rows.
            super::usage_sql::count_requests(&mut tx, batch).await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(written)
        }

        async fn recent_requests(
            &self,
            scope: &Scope,
            limit: u32,
        ) -> StoreResult<Vec<RequestLogEntry>> {
            if !matches!(scope, Scope::Platform) {
                return Err(StoreError::NotFound("request log"));
            }
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT at, instance_id, method, route, status, latency_us, gym_id FROM request_log \
                 ORDER BY at DESC, id DESC LIMIT ",
            );
            qb.push_bind(i64::from(limit.min(1000)));
            let rows: Vec<RequestRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(rows
                .into_iter()
                .map(|r| RequestLogEntry {
                    at: r.at,
                    instance: r.instance_id.0.into(),
                    method: r.method,
                    route: r.route,
                    status: u16::try_from(r.status).unwrap_or(0),
                    latency_us: u64::try_from(r.latency_us).unwrap_or(0),
                    gym: r.gym_id.map(|g| g.0.into()),
                })
                .collect())
        }

        async fn record_vitals(&self, batch: &[VitalSample]) -> StoreResult<u64> {
            if batch.is_empty() {
                return Ok(0);
            }
            let mut tx = self.begin(&TxCtx::Ops, true).await?;
            let mut written = 0u64;
            for chunk in batch.chunks(500) {
                let mut qb = QueryBuilder::<Db>::new(
                    "INSERT INTO web_vitals (id, at, day, page, metric, metric_value) ",
                );
                qb.push_values(chunk, |mut b, v| {
                    b.push_bind(db(uuid::Uuid::now_v7()))
                        .push_bind(DbTime::new(v.at))
                        .push_bind(v.day.clone())
                        .push_bind(v.page.clone())
                        .push_bind(v.metric.clone())
                        .push_bind(v.value);
                });
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

        async fn vitals_between(
            &self,
            scope: &Scope,
            from: &str,
            to: &str,
        ) -> StoreResult<Vec<VitalSample>> {
            if !matches!(scope, Scope::Platform) {
                return Err(StoreError::NotFound("web vitals"));
            }
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            // Served by the (day, page, metric, metric_value) index, already in the order wanted.
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT at, day, page, metric, metric_value AS value FROM web_vitals WHERE day >= ",
            );
            qb.push_bind(from.to_string())
                .push(" AND day <= ")
                .push_bind(to.to_string())
                .push(" ORDER BY day, page, metric, metric_value");
            let rows: Vec<VitalRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(rows
                .into_iter()
                .map(|r| VitalSample {
                    at: r.at,
                    day: r.day,
                    page: r.page,
                    metric: r.metric,
                    value: r.value,
                })
                .collect())
        }

        async fn purge_log(
            &self,
            table: LogTable,
            before: OffsetDateTime,
            batch: u32,
        ) -> StoreResult<u64> {
            let (name, at) = (table.table(), table.time_column());
            let mut tx = self.begin(&TxCtx::Purge, true).await?;
            // The oldest `batch` ids first (an index on the time column), then delete exactly
            // those.
            let mut qb = QueryBuilder::<Db>::new(format!(
                "DELETE FROM {name} WHERE id IN (SELECT id FROM {name} WHERE {at} < "
            ));
            qb.push_bind(DbTime::new(before))
                .push(format!(" ORDER BY {at} LIMIT "))
                .push_bind(i64::from(batch.clamp(1, 10_000)))
                .push(")");
            let n = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected();
            tx.commit().await.map_err(map_db_err)?;
            Ok(n)
        }
    }
}
