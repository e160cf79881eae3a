// The overview's facts, `include!`d after `common.rs` by both backends. One indexed range read
// of a gym's sessions (`voice_sessions_gym_idx`) joined to their analyses by primary key, in
// the caller's tenant scope.

mod overview_sql {
    use super::*;
    use crate::dbtime::DbTime;
    use crate::overview::*;
    use time::OffsetDateTime;

    #[derive(sqlx::FromRow)]
    struct FactRow {
        started_at: OffsetDateTime,
        ended_at: Option<OffsetDateTime>,
        member_id: Option<DbUuid>,
        satisfaction: Option<i32>,
        sentiment_score: Option<f64>,
        topics: Option<Json<Vec<String>>>,
    }

    #[async_trait::async_trait]
    impl OverviewStore for ThisStore {
        async fn session_facts(
            &self,
            scope: &Scope,
            gym: GymId,
            from: OffsetDateTime,
            to: OffsetDateTime,
        ) -> StoreResult<Vec<SessionFact>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT s.started_at, s.ended_at, s.member_id, a.satisfaction, a.sentiment_score, \
                 a.topics FROM voice_sessions s LEFT JOIN session_analyses a \
                 ON a.session_id = s.id AND a.status = 'done' WHERE s.gym_id = ",
            );
            qb.push_bind(db(gym))
                .push(" AND s.started_at >= ")
                .push_bind(DbTime::new(from))
                .push(" AND s.started_at < ")
                .push_bind(DbTime::new(to))
                // Public demo calls are counted apart (`demo_month_to_date`), not as members'.
                .push(" AND NOT s.demo");
            push_scope(&mut qb, scope, "s.franchise_id", "s.gym_id");
            qb.push(" ORDER BY s.started_at DESC LIMIT ")
                .push_bind(i64::from(FACTS_LIMIT));
            let rows: Vec<FactRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(rows
                .into_iter()
                .map(|r| SessionFact {
                    started_at: r.started_at,
                    ended_at: r.ended_at,
                    member_id: r.member_id.map(|m| m.0.into()),
                    satisfaction: r.satisfaction.and_then(|n| u8::try_from(n).ok()),
                    sentiment_score: r.sentiment_score,
                    topics: r.topics.map(|t| t.0).unwrap_or_default(),
                })
                .collect())
        }
    }
}
