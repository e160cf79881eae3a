// The overview's figures, `include!`d after `common.rs` by both backends: the daily rollups the
// triggers of migration 0030 keep, and one count over `member_last_call`, in the
// caller's tenant scope. Sums are cast to BIGINT / DOUBLE PRECISION so both backends decode the
// same types.

mod overview_sql {
    use super::*;
    use crate::dbtime::DbTime;
    use crate::overview::*;
    use jarvis_core::model::LatencyStats;
    use time::{Date, OffsetDateTime};

    #[derive(sqlx::FromRow)]
    struct DayRow {
        day: Date,
        conversations: i64,
        ended: i64,
        duration_secs: i64,
        satisfaction_sum: i64,
        satisfaction_n: i64,
        sentiment_sum: f64,
        sentiment_n: i64,
    }

    /// A summed count as stored (never negative once its rows are in).
    fn nonneg(n: i64) -> u64 {
        u64::try_from(n).unwrap_or(0)
    }

    /// `<col> IN (…)` over the gyms asked.
    fn push_gyms(qb: &mut QueryBuilder<Db>, col: &str, gyms: &[GymId]) {
        qb.push(format!("{col} IN ("));
        let mut s = qb.separated(", ");
        for g in gyms {
            s.push_bind(db(*g));
        }
        qb.push(")");
    }

    #[async_trait::async_trait]
    impl OverviewStore for ThisStore {
        async fn session_days(
            &self,
            scope: &Scope,
            gyms: &[GymId],
            first: Date,
            last: Date,
        ) -> StoreResult<Vec<SessionDay>> {
            if gyms.is_empty() {
                return Ok(Vec::new());
            }
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT day, CAST(SUM(conversations) AS BIGINT) AS conversations, \
                 CAST(SUM(ended) AS BIGINT) AS ended, \
                 CAST(SUM(duration_secs) AS BIGINT) AS duration_secs, \
                 CAST(SUM(satisfaction_sum) AS BIGINT) AS satisfaction_sum, \
                 CAST(SUM(satisfaction_n) AS BIGINT) AS satisfaction_n, \
                 CAST(SUM(sentiment_sum) AS DOUBLE PRECISION) AS sentiment_sum, \
                 CAST(SUM(sentiment_n) AS BIGINT) AS sentiment_n \
                 FROM session_daily WHERE ",
            );
            push_gyms(&mut qb, "gym_id", gyms);
            qb.push(" AND day >= ")
                .push_bind(first)
                .push(" AND day <= ")
                .push_bind(last);
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb.push(" GROUP BY day ORDER BY day");
            let rows: Vec<DayRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(rows
                .into_iter()
                .map(|r| SessionDay {
                    day: r.day,
                    conversations: nonneg(r.conversations),
                    ended: nonneg(r.ended),
                    duration_secs: r.duration_secs,
                    satisfaction_sum: r.satisfaction_sum,
                    satisfaction_n: nonneg(r.satisfaction_n),
                    sentiment_sum: r.sentiment_sum,
                    sentiment_n: nonneg(r.sentiment_n),
                })
                .collect())
        }

        async fn top_topics(
            &self,
            scope: &Scope,
            gyms: &[GymId],
            first: Date,
            last: Date,
            limit: u32,
        ) -> StoreResult<Vec<(String, u64)>> {
            if gyms.is_empty() || limit == 0 {
                return Ok(Vec::new());
            }
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT topic, CAST(SUM(n) AS BIGINT) AS calls FROM topic_daily WHERE ",
            );
            push_gyms(&mut qb, "gym_id", gyms);
            qb.push(" AND day >= ")
                .push_bind(first)
                .push(" AND day <= ")
                .push_bind(last);
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb.push(" GROUP BY topic HAVING SUM(n) > 0 ORDER BY calls DESC, topic LIMIT ")
                .push_bind(i64::from(limit));
            let rows: Vec<(String, i64)> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(rows.into_iter().map(|(t, n)| (t, nonneg(n))).collect())
        }

        async fn talkers(
            &self,
            scope: &Scope,
            gyms: &[GymId],
            since: OffsetDateTime,
        ) -> StoreResult<u64> {
            if gyms.is_empty() {
                return Ok(0);
            }
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM member_last_call WHERE ",
            );
            push_gyms(&mut qb, "gym_id", gyms);
            qb.push(" AND last_at >= ").push_bind(DbTime::new(since));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            let n = count(&mut tx, qb).await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(n)
        }

        async fn latency(
            &self,
            scope: &Scope,
            gym: GymId,
            source: LatencySource,
            first: Date,
            last: Date,
        ) -> StoreResult<LatencyStats> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT CAST(bucket_ms AS BIGINT), CAST(SUM(n) AS BIGINT) FROM latency_daily \
                 WHERE gym_id = ",
            );
            qb.push_bind(db(gym))
                .push(" AND source = ")
                .push_bind(source.as_str())
                .push(" AND day >= ")
                .push_bind(first)
                .push(" AND day <= ")
                .push_bind(last);
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb.push(" GROUP BY bucket_ms");
            let rows: Vec<(i64, i64)> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(LatencyStats::from_histogram(
                rows.into_iter()
                    .map(|(b, n)| (u32::try_from(b).unwrap_or(u32::MAX), nonneg(n)))
                    .collect(),
            ))
        }
    }
}
