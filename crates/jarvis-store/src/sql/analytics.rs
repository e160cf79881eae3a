// Churn scores and weekly reports, `include!`d after `common.rs` by both backends. Every query
// runs in the caller's tenant scope; the report's e-mails are queued in the report row's
// transaction (`voice_sql::insert_email`).

mod analytics_sql {
    use super::*;
    use crate::accounts::NewEmail;
    use crate::analytics::*;
    use crate::dbtime::DbTime;
    use jarvis_core::churn::*;
    use time::{Date, Duration, OffsetDateTime};

    const REPORT_COLS: &str =
        "id, franchise_id, gym_id, week, starts_at, object_key, size_bytes, created_at";

    const CHURN_COLS: &str = "c.member_id, c.gym_id, c.score, c.level, c.factors, c.computed_at, \
         m.first_name, m.last_name, m.badge_id";

    #[derive(sqlx::FromRow)]
    struct SignalsRow {
        id: DbUuid,
        last_visit_at: Option<OffsetDateTime>,
        membership_end_date: Option<Date>,
        visits_recent: i64,
        visits_prior: i64,
        sentiment_avg: Option<f64>,
        cancellation_intents: i64,
    }

    #[derive(sqlx::FromRow)]
    struct ChurnRow {
        member_id: DbUuid,
        gym_id: DbUuid,
        score: i32,
        level: String,
        factors: Json<Vec<ChurnFactor>>,
        computed_at: OffsetDateTime,
        first_name: String,
        last_name: String,
        badge_id: String,
    }

    impl ChurnRow {
        fn into_domain(self) -> StoreResult<ChurnListEntry> {
            Ok(ChurnListEntry {
                churn: MemberChurn {
                    member_id: self.member_id.0.into(),
                    gym_id: self.gym_id.0.into(),
                    score: u8::try_from(self.score)
                        .map_err(|_| StoreError::corrupt("churn score", &self.score.to_string()))?,
                    level: ChurnLevel::parse(&self.level)
                        .ok_or_else(|| StoreError::corrupt("churn level", &self.level))?,
                    factors: self.factors.0,
                    computed_at: self.computed_at,
                },
                first_name: self.first_name,
                last_name: self.last_name,
                badge_id: self.badge_id,
            })
        }
    }

    #[derive(sqlx::FromRow)]
    struct ReportRow {
        id: DbUuid,
        #[allow(dead_code)]
        franchise_id: DbUuid,
        gym_id: DbUuid,
        week: String,
        starts_at: OffsetDateTime,
        object_key: String,
        size_bytes: i64,
        created_at: OffsetDateTime,
    }

    impl ReportRow {
        fn into_domain(self) -> StoreResult<Report> {
            Ok(Report {
                id: self.id.0.into(),
                gym_id: self.gym_id.0.into(),
                week: self.week,
                starts_at: self.starts_at,
                object_key: self.object_key,
                size_bytes: u64::try_from(self.size_bytes).map_err(|_| {
                    StoreError::corrupt("report size", &self.size_bytes.to_string())
                })?,
                created_at: self.created_at,
            })
        }
    }

    #[derive(sqlx::FromRow)]
    struct KioskRow {
        id: DbUuid,
        name: String,
        last_seen_at: Option<OffsetDateTime>,
    }

    fn u32_of(n: i64) -> u32 {
        u32::try_from(n.max(0)).unwrap_or(u32::MAX)
    }

    fn u64_of(n: i64) -> u64 {
        u64::try_from(n.max(0)).unwrap_or(0)
    }

    async fn fetch_report_where(
        tx: &mut Tx,
        scope: &Scope,
        gym: GymId,
        col: &str,
        push: impl FnOnce(&mut QueryBuilder<Db>),
    ) -> StoreResult<Option<Report>> {
        let mut qb =
            QueryBuilder::<Db>::new(format!("SELECT {REPORT_COLS} FROM reports WHERE gym_id = "));
        qb.push_bind(db(gym)).push(format!(" AND {col} = "));
        push(&mut qb);
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        let row: Option<ReportRow> = qb
            .build_query_as()
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_db_err)?;
        row.map(ReportRow::into_domain).transpose()
    }

    #[async_trait::async_trait]
    impl AnalyticsStore for ThisStore {
        async fn churn_signals(
            &self,
            scope: &Scope,
            gym: GymId,
            now: OffsetDateTime,
            after: Option<MemberId>,
            limit: u32,
        ) -> StoreResult<Vec<ChurnSignals>> {
            let recent_from = now - Duration::days(TREND_WINDOW_DAYS);
            let prior_from = recent_from - Duration::days(TREND_WINDOW_DAYS);
            let talk_from = now - Duration::days(CONVERSATION_WINDOW_DAYS);
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            fetch_gym(&mut tx, scope, gym).await?;
            // The page of members first, by the primary key, then the correlated counts (by
            // the visits' and analyses' member indexes, inside the member's gym) for its rows
            // only. Computed in one query with the page's ORDER BY, SQLite evaluated them for
            // every active member of the gym before sorting: 2 s per page of 200 at 100,000
            // members, a whole scoring run quadratic in the gym's size.
            let mut qb = QueryBuilder::<Db>::new(
                "WITH page AS MATERIALIZED (SELECT m.id, m.gym_id, m.last_visit_at, \
                 m.membership_end_date FROM members m WHERE m.gym_id = ",
            );
            qb.push_bind(db(gym))
                .push(" AND m.membership_status = 'active'");
            push_scope(&mut qb, scope, "m.franchise_id", "m.gym_id");
            if let Some(a) = after {
                qb.push(" AND m.id > ").push_bind(db(a));
            }
            qb.push(" ORDER BY m.id LIMIT ")
                .push_bind(i64::from(limit.clamp(1, CHURN_BATCH_MAX)))
                .push(
                    ") SELECT m.id, m.last_visit_at, m.membership_end_date, \
                 (SELECT COUNT(*) FROM member_visits v WHERE v.member_id = m.id \
                   AND v.gym_id = m.gym_id AND v.at >= ",
                )
                .push_bind(recent_from)
                .push(
                    ") AS visits_recent, \
                 (SELECT COUNT(*) FROM member_visits v WHERE v.member_id = m.id \
                   AND v.gym_id = m.gym_id AND v.at >= ",
                )
                .push_bind(prior_from)
                .push(" AND v.at < ")
                .push_bind(recent_from)
                .push(
                    ") AS visits_prior, \
                 (SELECT AVG(a.sentiment_score) FROM session_analyses a WHERE a.member_id = m.id \
                   AND a.gym_id = m.gym_id AND a.status = 'done' AND a.created_at >= ",
                )
                .push_bind(talk_from)
                .push(
                    ") AS sentiment_avg, \
                 (SELECT COUNT(*) FROM session_analyses a WHERE a.member_id = m.id \
                   AND a.gym_id = m.gym_id AND a.cancellation_intent = ",
                )
                .push_bind(true)
                .push(" AND a.created_at >= ")
                .push_bind(talk_from)
                .push(") AS cancellation_intents FROM page m ORDER BY m.id");
            let rows: Vec<SignalsRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(rows
                .into_iter()
                .map(|r| ChurnSignals {
                    member_id: r.id.0.into(),
                    visits_recent: u32_of(r.visits_recent),
                    visits_prior: u32_of(r.visits_prior),
                    last_visit_at: r.last_visit_at,
                    membership_end_date: r.membership_end_date,
                    sentiment_avg: r.sentiment_avg,
                    cancellation_intents: u32_of(r.cancellation_intents),
                })
                .collect())
        }

        async fn put_churn_scores(
            &self,
            scope: &Scope,
            gym: GymId,
            computed_at: OffsetDateTime,
            scores: &[NewChurnScore],
        ) -> StoreResult<u64> {
            if scores.is_empty() {
                return Ok(0);
            }
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let g = fetch_gym(&mut tx, scope, gym).await?;
            let mut n = 0;
            for s in scores {
                // INSERT … SELECT from the member row: a member erased or moved meanwhile
                // inserts nothing instead of failing the batch.
                let mut qb = QueryBuilder::<Db>::new(
                    "INSERT INTO churn_scores (member_id, franchise_id, gym_id, score, level, \
                     factors, computed_at) SELECT m.id, m.franchise_id, m.gym_id, ",
                );
                qb.push_bind(i32::from(s.assessment.score))
                    .push(", ")
                    .push_bind(s.assessment.level.as_str())
                    .push(", ")
                    .push_bind(Json(s.assessment.factors.clone()))
                    .push(", ")
                    .push_bind(DbTime::new(computed_at))
                    .push(" FROM members m WHERE m.id = ")
                    .push_bind(db(s.member_id))
                    .push(" AND m.gym_id = ")
                    .push_bind(db(gym))
                    .push(" AND m.franchise_id = ")
                    .push_bind(db(g.franchise_id));
                qb.push(
                    " ON CONFLICT (member_id) DO UPDATE SET score = excluded.score, \
                     level = excluded.level, factors = excluded.factors, \
                     computed_at = excluded.computed_at",
                );
                n += qb
                    .build()
                    .execute(&mut *tx)
                    .await
                    .map_err(map_db_err)?
                    .rows_affected();
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(n)
        }

        async fn member_churn(
            &self,
            scope: &Scope,
            gym: GymId,
            member: MemberId,
        ) -> StoreResult<Option<MemberChurn>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {CHURN_COLS} FROM churn_scores c JOIN members m ON m.id = c.member_id \
                 WHERE c.gym_id = "
            ));
            qb.push_bind(db(gym))
                .push(" AND c.member_id = ")
                .push_bind(db(member));
            push_scope(&mut qb, scope, "c.franchise_id", "c.gym_id");
            let row: Option<ChurnRow> = qb
                .build_query_as()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            row.map(|r| r.into_domain().map(|e| e.churn)).transpose()
        }

        async fn list_churn(
            &self,
            scope: &Scope,
            gym: GymId,
            min_level: Option<ChurnLevel>,
            sort: ChurnSort,
            page: PageRequest,
        ) -> StoreResult<Page<ChurnListEntry>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            fetch_gym(&mut tx, scope, gym).await?;
            let levels: Vec<&str> = ChurnLevel::ALL
                .into_iter()
                .filter(|l| min_level.is_none_or(|m| *l >= m))
                .map(|l| l.as_str())
                .collect();
            let build = |select: &str| {
                let mut qb = QueryBuilder::<Db>::new(format!(
                    "SELECT {select} FROM churn_scores c JOIN members m ON m.id = c.member_id \
                     WHERE m.membership_status = 'active' AND c.gym_id = "
                ));
                qb.push_bind(db(gym));
                push_scope(&mut qb, scope, "c.franchise_id", "c.gym_id");
                qb.push(" AND c.level IN (");
                let mut s = qb.separated(", ");
                for l in &levels {
                    s.push_bind(*l);
                }
                qb.push(")");
                qb
            };
            let (total, rows) = fetch_page::<ChurnRow>(
                &mut tx,
                build,
                CHURN_COLS,
                match sort {
                    ChurnSort::ScoreDesc => {
                        " ORDER BY c.score DESC, m.last_name, m.first_name, c.member_id"
                    }
                    ChurnSort::Score => " ORDER BY c.score, m.last_name, m.first_name, c.member_id",
                    ChurnSort::Name => " ORDER BY m.last_name, m.first_name, c.member_id",
                },
                page,
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            page_of(rows, total, page, ChurnRow::into_domain)
        }

        async fn period_stats(
            &self,
            scope: &Scope,
            gym: GymId,
            from: OffsetDateTime,
            to: OffsetDateTime,
        ) -> StoreResult<PeriodStats> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            fetch_gym(&mut tx, scope, gym).await?;
            // The period's ended conversations (a failed start is no conversation).
            let sessions = |select: &str| {
                let mut qb = QueryBuilder::<Db>::new(format!(
                    "SELECT {select} FROM voice_sessions s WHERE s.gym_id = "
                ));
                qb.push_bind(db(gym));
                push_scope(&mut qb, scope, "s.franchise_id", "s.gym_id");
                // Public demo calls are not members' conversations (counted apart).
                qb.push(
                    " AND s.status = 'ended' AND s.end_reason <> 'start_failed' AND NOT s.demo",
                )
                .push(" AND s.started_at >= ")
                .push_bind(from)
                .push(" AND s.started_at < ")
                .push_bind(to);
                qb
            };
            let (conversations, members): (i64, i64) =
                sessions("COUNT(*), COUNT(DISTINCT s.member_id)")
                    .build_query_as()
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_db_err)?;
            let mut qb = sessions("s.started_at, s.ended_at");
            qb.push(" ORDER BY s.started_at LIMIT ")
                .push_bind(i64::from(PERIOD_DURATIONS_MAX));
            let spans: Vec<(OffsetDateTime, Option<OffsetDateTime>)> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            let durations_secs = spans
                .into_iter()
                .filter_map(|(s, e)| e.map(|e| (e - s).whole_seconds().max(0)))
                .collect();

            let analyses = |select: &str| {
                let mut qb = QueryBuilder::<Db>::new(format!(
                    "SELECT {select} FROM session_analyses a JOIN voice_sessions s \
                     ON s.id = a.session_id WHERE a.status = 'done' AND s.status = 'ended' \
                     AND s.end_reason <> 'start_failed' AND NOT s.demo AND s.gym_id = "
                ));
                qb.push_bind(db(gym));
                push_scope(&mut qb, scope, "s.franchise_id", "s.gym_id");
                qb.push(" AND s.started_at >= ")
                    .push_bind(from)
                    .push(" AND s.started_at < ")
                    .push_bind(to);
                qb
            };
            // AVG of an integer is numeric on PostgreSQL: both averages are read as floats.
            let (satisfaction_avg, sentiment_avg): (Option<f64>, Option<f64>) = analyses(
                "CAST(AVG(a.satisfaction) AS DOUBLE PRECISION), \
                 CAST(AVG(a.sentiment_score) AS DOUBLE PRECISION)",
            )
            .build_query_as()
            .fetch_one(&mut *tx)
            .await
            .map_err(map_db_err)?;
            let mut qb = analyses("a.topics");
            qb.push(" ORDER BY s.started_at LIMIT ")
                .push_bind(i64::from(PERIOD_DURATIONS_MAX));
            let topics: Vec<Json<Vec<String>>> = qb
                .build_query_scalar()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;

            let mut qb = QueryBuilder::<Db>::new(
                "SELECT CAST(COALESCE(SUM(cost_pico), 0) AS BIGINT) FROM cost_daily WHERE gym_id = ",
            );
            qb.push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            let last_day = (to - Duration::nanoseconds(1)).date();
            qb.push(" AND day >= ")
                .push_bind(from.date())
                .push(" AND day <= ")
                .push_bind(last_day);
            let cost: i64 = qb
                .build_query_scalar()
                .fetch_one(&mut *tx)
                .await
                .map_err(map_db_err)?;

            // Kiosk activity: no heartbeat history is kept (only `last_seen_at`), so a day
            // counts as up when a badge scan or a conversation went through the kiosk.
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT id, name, last_seen_at FROM kiosks WHERE status = 'paired' AND gym_id = ",
            );
            qb.push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb.push(" ORDER BY name");
            let kiosk_rows: Vec<KioskRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            let mut active: BTreeMap<uuid::Uuid, u32> = BTreeMap::new();
            let mut day = from;
            while day < to {
                let end = (day + Duration::days(1)).min(to);
                let mut qb = QueryBuilder::<Db>::new(
                    "SELECT kiosk_id FROM member_visits WHERE kiosk_id IS NOT NULL AND gym_id = ",
                );
                qb.push_bind(db(gym));
                push_scope(&mut qb, scope, "franchise_id", "gym_id");
                qb.push(" AND at >= ")
                    .push_bind(day)
                    .push(" AND at < ")
                    .push_bind(end)
                    .push(" UNION SELECT kiosk_id FROM voice_sessions WHERE kiosk_id IS NOT NULL AND gym_id = ")
                    .push_bind(db(gym));
                push_scope(&mut qb, scope, "franchise_id", "gym_id");
                qb.push(" AND started_at >= ")
                    .push_bind(day)
                    .push(" AND started_at < ")
                    .push_bind(end);
                let ids: Vec<DbUuid> = qb
                    .build_query_scalar()
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(map_db_err)?;
                for id in ids {
                    *active.entry(id.0).or_default() += 1;
                }
                day = end;
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(PeriodStats {
                conversations: u64_of(conversations),
                members: u64_of(members),
                durations_secs,
                satisfaction_avg,
                sentiment_avg,
                topics: topics.into_iter().map(|t| t.0).collect(),
                cost_pico: u64_of(cost),
                kiosks: kiosk_rows
                    .into_iter()
                    .map(|k| KioskActivity {
                        active_days: active.get(&k.id.0).copied().unwrap_or(0),
                        kiosk_id: k.id.0.into(),
                        name: k.name,
                        last_seen_at: k.last_seen_at,
                    })
                    .collect(),
            })
        }

        async fn record_report(
            &self,
            scope: &Scope,
            report: NewReport,
            emails: Vec<NewEmail>,
        ) -> StoreResult<(Report, bool)> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let g = fetch_gym(&mut tx, scope, report.gym_id).await?;
            let mut qb =
                QueryBuilder::<Db>::new(format!("INSERT INTO reports ({REPORT_COLS}) VALUES ("));
            let mut s = qb.separated(", ");
            s.push_bind(db(report.id))
                .push_bind(db(g.franchise_id))
                .push_bind(db(report.gym_id))
                .push_bind(report.week.clone())
                .push_bind(DbTime::new(report.starts_at))
                .push_bind(report.object_key)
                .push_bind(i64::try_from(report.size_bytes).unwrap_or(i64::MAX))
                .push_bind(DbTime::new(now()));
            // Of two instances finishing the same week, one inserts (and queues the e-mails).
            qb.push(") ON CONFLICT (gym_id, week) DO NOTHING");
            let created = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected()
                == 1;
            if created {
                for e in emails {
                    super::voice_sql::insert_email(&mut tx, e).await?;
                }
            }
            let week = report.week;
            let stored = fetch_report_where(&mut tx, scope, report.gym_id, "week", |qb| {
                qb.push_bind(week);
            })
            .await?
            .ok_or(StoreError::NotFound("report"))?;
            tx.commit().await.map_err(map_db_err)?;
            Ok((stored, created))
        }

        async fn report_of_week(
            &self,
            scope: &Scope,
            gym: GymId,
            week: &str,
        ) -> StoreResult<Option<Report>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let week = week.to_string();
            let r = fetch_report_where(&mut tx, scope, gym, "week", |qb| {
                qb.push_bind(week);
            })
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(r)
        }

        async fn report(&self, scope: &Scope, gym: GymId, id: ReportId) -> StoreResult<Report> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let r = fetch_report_where(&mut tx, scope, gym, "id", |qb| {
                qb.push_bind(db(id));
            })
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            r.ok_or(StoreError::NotFound("report"))
        }

        async fn list_reports(
            &self,
            scope: &Scope,
            gym: GymId,
            sort: ReportSort,
            page: PageRequest,
        ) -> StoreResult<Page<Report>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            fetch_gym(&mut tx, scope, gym).await?;
            let build = |select: &str| {
                let mut qb = QueryBuilder::<Db>::new(format!(
                    "SELECT {select} FROM reports WHERE gym_id = "
                ));
                qb.push_bind(db(gym));
                push_scope(&mut qb, scope, "franchise_id", "gym_id");
                qb
            };
            let (total, rows) = fetch_page::<ReportRow>(
                &mut tx,
                build,
                REPORT_COLS,
                match sort {
                    ReportSort::WeekDesc => " ORDER BY starts_at DESC, id DESC",
                    ReportSort::Week => " ORDER BY starts_at, id",
                },
                page,
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            page_of(rows, total, page, ReportRow::into_domain)
        }
    }
}
