// Bulk demo data (`crate::seed`), `include!`d after `common.rs` by both backends. Multi-row
// inserts, chunked below SQLite's 32,766 bound parameters, all in one transaction per batch in the
// gym's scope (PostgreSQL: the row-level security policies check every row). The rollup insert
// triggers stand aside meanwhile (`0031_bulk_rollups_churn_index.sql`); the batch adds its
// share in a few set-based statements.

mod seed_sql {
    use super::*;
    use crate::dbtime::DbTime;
    use crate::seed::*;
    use time::Date;

    /// Rows per statement, per table (columns × rows stays under 32,766 parameters).
    const MEMBERS_PER_INSERT: usize = 1000;
    const VISITS_PER_INSERT: usize = 4000;
    const SESSIONS_PER_INSERT: usize = 1500;
    const TURNS_PER_INSERT: usize = 2500;
    const ANALYSES_PER_INSERT: usize = 1500;

    /// The instance a seeded (ended) session names as its owner: none ever ran it.
    const SEED_OWNER: uuid::Uuid = uuid::Uuid::nil();

    fn int(field: &'static str, n: u64) -> StoreResult<i64> {
        i64::try_from(n).map_err(|_| StoreError::Invalid {
            field,
            message: "is too large".into(),
        })
    }

    /// One gym-day's rollup, summed from the batch's sessions.
    #[derive(Default)]
    struct Day {
        cost: i64,
        sessions: i64,
        responses: i64,
        input: i64,
        output: i64,
    }

    #[async_trait::async_trait]
    impl SeedStore for ThisStore {
        async fn seed_batch(
            &self,
            scope: &Scope,
            actor: &Actor,
            gym: GymId,
            batch: &SeedBatch,
        ) -> StoreResult<SeedCounts> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let g = fetch_gym(&mut tx, scope, gym).await?;
            sqlx::raw_sql(BULK_LOAD_SQL)
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?;
            // One trigger upsert per inserted row doubled the load's time: the batch adds its
            // share of the daily rollups itself, set-based, before it commits.
            sqlx::query(PAUSE_ROLLUPS_SQL)
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?;
            let f = db(g.franchise_id);
            let t = now();
            let mut counts = SeedCounts::default();

            // Members carry what their visits make of them (count, latest), as scans would.
            let mut seen: BTreeMap<MemberId, (i64, Option<time::OffsetDateTime>)> = BTreeMap::new();
            for v in &batch.visits {
                let e = seen.entry(v.member).or_default();
                e.0 += 1;
                e.1 = e.1.max(Some(crate::dbtime::exact(v.at)));
            }
            for chunk in batch.members.chunks(MEMBERS_PER_INSERT) {
                let mut qb = QueryBuilder::<Db>::new(format!(
                    "INSERT INTO members ({MEMBER_COLS}, search_key) "
                ));
                qb.push_values(chunk, |mut b, m| {
                    let (visits, last) = seen.get(&m.id).copied().unwrap_or_default();
                    let n = &m.new;
                    b.push_bind(db(m.id))
                        .push_bind(db(gym))
                        .push_bind(f)
                        .push_bind(n.badge_id.clone())
                        .push_bind(n.first_name.clone())
                        .push_bind(n.last_name.clone())
                        .push_bind(n.email.clone())
                        .push_bind(n.phone.clone())
                        .push_bind(n.birth_date)
                        .push_bind(n.preferred_language.as_str())
                        .push_bind(n.membership_type.clone())
                        .push_bind(n.membership_status.as_str())
                        .push_bind(n.membership_end_date)
                        .push_bind(Json(n.goals.clone()))
                        .push_bind(n.limitations.clone())
                        .push_bind(n.consent_voice)
                        .push_bind(n.consent_transcripts)
                        .push_bind(visits)
                        .push_bind(last)
                        .push_bind(crate::dbtime::exact(m.created_at))
                        .push_bind(t)
                        .push_bind(n.search_key());
                });
                qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
                counts.members += chunk.len() as u64;
            }

            let visits: Vec<(usize, &SeedVisit)> = batch.visits.iter().enumerate().collect();
            for chunk in visits.chunks(VISITS_PER_INSERT) {
                let mut qb = QueryBuilder::<Db>::new(
                    "INSERT INTO member_visits (id, gym_id, franchise_id, member_id, kiosk_id, at) ",
                );
                qb.push_values(chunk, |mut b, (n, v)| {
                    b.push_bind(db(VisitId::from(seed_id(v.at, v.member.0, *n))))
                        .push_bind(db(gym))
                        .push_bind(f)
                        .push_bind(db(v.member))
                        .push_bind(v.kiosk.map(db))
                        .push_bind(crate::dbtime::exact(v.at));
                });
                qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
                counts.visits += chunk.len() as u64;
            }

            let mut days: BTreeMap<Date, Day> = BTreeMap::new();
            for chunk in batch.sessions.chunks(SESSIONS_PER_INSERT) {
                let mut rows = Vec::with_capacity(chunk.len());
                for s in chunk {
                    let analysis = s.analysis.as_ref().map_or(0, |a| a.cost_pico);
                    let cost = int("cost_pico", s.cost_pico().saturating_add(analysis))?;
                    let input = int("input_audio_tokens", s.input_audio_tokens)?;
                    let output = int("output_audio_tokens", s.output_audio_tokens)?;
                    let day = days
                        .entry(s.started_at.to_offset(time::UtcOffset::UTC).date())
                        .or_default();
                    day.cost += cost;
                    day.sessions += 1;
                    day.responses += i64::from(s.responses);
                    day.input += input;
                    day.output += output;
                    rows.push((s, cost, input, output));
                }
                let mut qb = QueryBuilder::<Db>::new(
                    "INSERT INTO voice_sessions (id, franchise_id, gym_id, member_id, kiosk_id, \
                     status, model, language, owner_instance_id, lease_expires_at, started_at, \
                     ended_at, end_reason, max_duration_secs, cost_pico, input_audio_tokens, \
                     output_audio_tokens, responses, turn_count, created_at, updated_at) ",
                );
                qb.push_values(rows, |mut b, (s, cost, input, output)| {
                    b.push_bind(db(s.id))
                        .push_bind(f)
                        .push_bind(db(gym))
                        .push_bind(db(s.member))
                        .push_bind(s.kiosk.map(db))
                        .push_bind(SessionStatus::Ended.as_str())
                        .push_bind(s.model.clone())
                        .push_bind(s.language.as_str())
                        .push_bind(db(SEED_OWNER))
                        .push_bind(DbTime::new(s.ended_at))
                        .push_bind(DbTime::new(s.started_at))
                        .push_bind(DbTime::new(s.ended_at))
                        .push_bind(s.end_reason.as_str())
                        .push_bind(600_i64)
                        .push_bind(cost)
                        .push_bind(input)
                        .push_bind(output)
                        .push_bind(i64::from(s.responses))
                        .push_bind(i64::try_from(s.turns.len()).unwrap_or(i64::MAX))
                        .push_bind(DbTime::new(s.started_at))
                        .push_bind(DbTime::new(s.ended_at));
                });
                qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
                counts.sessions += chunk.len() as u64;
            }

            let turns: Vec<(&SeedSession, usize, &SeedTurn)> = batch
                .sessions
                .iter()
                .flat_map(|s| s.turns.iter().enumerate().map(move |(i, t)| (s, i, t)))
                .collect();
            for chunk in turns.chunks(TURNS_PER_INSERT) {
                let mut costs = Vec::with_capacity(chunk.len());
                for (_, _, t) in chunk {
                    costs.push(t.cost_pico.map(|c| int("cost_pico", c)).transpose()?);
                }
                let mut qb = QueryBuilder::<Db>::new(
                    "INSERT INTO conversation_turns (id, session_id, franchise_id, gym_id, seq, \
                     role, text, redacted, at, cost_pico, latency_ms) ",
                );
                qb.push_values(chunk.iter().zip(costs), |mut b, ((s, i, t), cost)| {
                    let turn = &t.turn;
                    b.push_bind(db(TurnId::from(seed_id(turn.at(), s.id.0, *i))))
                        .push_bind(db(s.id))
                        .push_bind(f)
                        .push_bind(db(gym))
                        .push_bind(i64::try_from(*i + 1).unwrap_or(i64::MAX))
                        .push_bind(turn.role().as_str())
                        .push_bind(turn.text().map(str::to_string))
                        .push_bind(turn.redacted())
                        .push_bind(DbTime::new(turn.at()))
                        .push_bind(cost)
                        .push_bind(turn.latency_ms().map(i64::from));
                });
                qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
                counts.turns += chunk.len() as u64;
            }

            let analysed: Vec<(&SeedSession, &NewSessionAnalysis)> = batch
                .sessions
                .iter()
                .filter_map(|s| s.analysis.as_ref().map(|a| (s, a)))
                .collect();
            for chunk in analysed.chunks(ANALYSES_PER_INSERT) {
                let mut costs = Vec::with_capacity(chunk.len());
                for (_, a) in chunk {
                    costs.push(int("cost_pico", a.cost_pico)?);
                }
                let mut qb = QueryBuilder::<Db>::new(
                    "INSERT INTO session_analyses (session_id, franchise_id, gym_id, member_id, \
                     summary, sentiment, topics, created_at, status, sentiment_score, \
                     satisfaction, follow_up, follow_up_reason, cancellation_intent, custom, \
                     attempts, model, cost_pico) ",
                );
                qb.push_values(chunk.iter().zip(costs), |mut b, ((s, a), cost)| {
                    b.push_bind(db(s.id))
                        .push_bind(f)
                        .push_bind(db(gym))
                        .push_bind(db(s.member))
                        .push_bind(a.summary.clone())
                        .push_bind(a.sentiment.as_str())
                        .push_bind(Json(a.topics.clone()))
                        .push_bind(DbTime::new(s.ended_at))
                        .push_bind(AnalysisStatus::Done.as_str())
                        .push_bind(a.sentiment_score)
                        .push_bind(a.satisfaction.map(i32::from))
                        .push_bind(a.follow_up)
                        .push_bind(a.follow_up_reason.clone())
                        .push_bind(a.cancellation_intent)
                        .push_bind(Json(a.custom.clone()))
                        .push_bind(i32::try_from(a.attempts).unwrap_or(i32::MAX))
                        .push_bind(a.model.clone())
                        .push_bind(cost);
                });
                qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
                counts.analyses += chunk.len() as u64;
            }

            for chunk in batch.sessions.chunks(SESSIONS_PER_INSERT) {
                for (head, tail) in BULK_ROLLUP_SQL {
                    let mut qb = QueryBuilder::<Db>::new(head);
                    let mut ids = qb.separated(", ");
                    for s in chunk {
                        ids.push_bind(db(s.id));
                    }
                    qb.push(tail);
                    qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
                }
            }
            sqlx::query(RESUME_ROLLUPS_SQL)
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?;

            // Added to, as metering does: the demo gym may already have spend on those days.
            if !days.is_empty() {
                let mut qb = QueryBuilder::<Db>::new(
                    "INSERT INTO cost_daily (franchise_id, gym_id, day, cost_pico, sessions, \
                     responses, transcriptions, input_tokens, output_tokens, updated_at) ",
                );
                counts.cost_days = days.len() as u64;
                qb.push_values(days, |mut b, (day, d)| {
                    b.push_bind(f)
                        .push_bind(db(gym))
                        .push_bind(day)
                        .push_bind(d.cost)
                        .push_bind(d.sessions)
                        .push_bind(d.responses)
                        .push_bind(0_i64)
                        .push_bind(d.input)
                        .push_bind(d.output)
                        .push_bind(DbTime::new(t));
                });
                qb.push(
                    " ON CONFLICT (gym_id, day) DO UPDATE SET \
                     cost_pico = cost_daily.cost_pico + excluded.cost_pico, \
                     sessions = cost_daily.sessions + excluded.sessions, \
                     responses = cost_daily.responses + excluded.responses, \
                     input_tokens = cost_daily.input_tokens + excluded.input_tokens, \
                     output_tokens = cost_daily.output_tokens + excluded.output_tokens, \
                     updated_at = excluded.updated_at",
                );
                qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            }

            audit_tx(
                &mut tx,
                actor,
                Some(g.franchise_id),
                Some(gym),
                "demo.seed_scale",
                "gym",
                Some(gym.to_string()),
                serde_json::json!({
                    "members": counts.members,
                    "visits": counts.visits,
                    "sessions": counts.sessions,
                    "turns": counts.turns,
                }),
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(counts)
        }

        async fn backdate_gym(
            &self,
            scope: &Scope,
            actor: &Actor,
            gym: GymId,
            created_at: time::OffsetDateTime,
        ) -> StoreResult<Gym> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let mut g = fetch_gym(&mut tx, scope, gym).await?;
            let at = crate::dbtime::exact(created_at);
            // Compared here, not in SQL: SQLite would compare the stored text.
            if g.created_at <= at {
                tx.commit().await.map_err(map_db_err)?;
                return Ok(g);
            }
            let from = g.created_at;
            let mut qb = QueryBuilder::<Db>::new("UPDATE gyms SET created_at = ");
            qb.push_bind(at).push(" WHERE id = ").push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "id");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            g.created_at = at;
            audit_tx(
                &mut tx,
                actor,
                Some(g.franchise_id),
                Some(gym),
                "demo.backdate_gym",
                "gym",
                Some(gym.to_string()),
                serde_json::json!({ "from": rfc3339(from), "to": rfc3339(at) }),
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(g)
        }
    }

    /// `t` as RFC 3339 text for an audit row's details.
    fn rfc3339(t: time::OffsetDateTime) -> String {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    }

    /// A time-ordered (v7) id for the `n`th child row of `parent`, created at `at`: the same
    /// batch gets the same ids, and two rows differ in their parent or their number.
    fn seed_id(at: time::OffsetDateTime, parent: uuid::Uuid, n: usize) -> uuid::Uuid {
        let ms = u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        let mut bytes = [0_u8; 10];
        bytes[..6].copy_from_slice(&parent.as_bytes()[10..16]);
        bytes[6..].copy_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
        uuid::Builder::from_unix_timestamp_millis(ms, &bytes).into_uuid()
    }
}
