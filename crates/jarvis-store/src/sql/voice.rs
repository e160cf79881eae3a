// Voice sessions, metering, alerts, follow-ups, analyses, prices and platform settings,
// `include!`d after `common.rs` by both backends (it uses the same `Db`, `Tx`, `ThisStore`,
// `map_db_err` and helpers, plus the backend's `slot_lock` and `db_now`). A call's own rows are
// written in its gym scope; cross-tenant counting, the reaper, the platform's spend and alerts
// run in `TxCtx::Voice`. Timestamps are bound as `DbTime` so SQLite compares them in time order.

mod voice_sql {
    use super::*;
    use crate::accounts::NewEmail;
    use crate::dbtime::DbTime;
    use crate::voice::*;
    use jarvis_core::cost::{BudgetPeriod, BudgetThreshold, ModelPrice, PriceTable, TokenUsage};
    use time::{Date, Duration, OffsetDateTime};

    /// Live sessions, written literally so SQLite uses the partial indexes on them.
    const LIVE: &str = "status IN ('starting', 'active')";

    /// When the seeded published prices apply from (before any session could exist).
    const SEED_FROM: OffsetDateTime = time::macros::datetime!(2000-01-01 0:00 UTC);

    const SESSION_COLS: &str = "id, franchise_id, gym_id, member_id, kiosk_id, status, \
         provider_call_id, provider_session_id, model, transcription_model, language, \
         owner_instance_id, lease_expires_at, hangup_requested_at, started_at, ended_at, \
         end_reason, max_duration_secs, cost_pico, transcription_cost_pico, input_text_tokens, \
         input_audio_tokens, input_image_tokens, cached_text_tokens, cached_audio_tokens, \
         cached_image_tokens, output_text_tokens, output_audio_tokens, transcription_tokens, \
         transcription_ms, responses, turn_count, created_at, updated_at";

    #[derive(sqlx::FromRow)]
    struct SessionRow {
        id: DbUuid,
        franchise_id: DbUuid,
        gym_id: DbUuid,
        member_id: Option<DbUuid>,
        kiosk_id: Option<DbUuid>,
        status: String,
        provider_call_id: Option<String>,
        provider_session_id: Option<String>,
        model: String,
        transcription_model: Option<String>,
        language: String,
        owner_instance_id: DbUuid,
        lease_expires_at: OffsetDateTime,
        hangup_requested_at: Option<OffsetDateTime>,
        started_at: OffsetDateTime,
        ended_at: Option<OffsetDateTime>,
        end_reason: Option<String>,
        max_duration_secs: i32,
        cost_pico: i64,
        transcription_cost_pico: i64,
        input_text_tokens: i64,
        input_audio_tokens: i64,
        input_image_tokens: i64,
        cached_text_tokens: i64,
        cached_audio_tokens: i64,
        cached_image_tokens: i64,
        output_text_tokens: i64,
        output_audio_tokens: i64,
        transcription_tokens: i64,
        transcription_ms: i64,
        responses: i32,
        turn_count: i32,
        created_at: OffsetDateTime,
        updated_at: OffsetDateTime,
    }

    fn u64_of(what: &str, n: i64) -> StoreResult<u64> {
        u64::try_from(n).map_err(|_| StoreError::corrupt(what, &n.to_string()))
    }

    fn u32_of(what: &str, n: i64) -> StoreResult<u32> {
        u32::try_from(n).map_err(|_| StoreError::corrupt(what, &n.to_string()))
    }

    /// A count or amount as a bound integer (amounts past `i64::MAX` pico-USD, $9.2M, are refused).
    fn i64_of(field: &'static str, n: u64) -> StoreResult<i64> {
        i64::try_from(n).map_err(|_| StoreError::Invalid {
            field,
            message: "is too large".into(),
        })
    }

    impl SessionRow {
        fn into_domain(self) -> StoreResult<VoiceSession> {
            let end_reason = match self.end_reason {
                Some(r) => Some(
                    EndReason::parse(&r).ok_or_else(|| StoreError::corrupt("end reason", &r))?,
                ),
                None => None,
            };
            Ok(VoiceSession {
                id: self.id.0.into(),
                franchise_id: self.franchise_id.0.into(),
                gym_id: self.gym_id.0.into(),
                member_id: self.member_id.map(|u| u.0.into()),
                kiosk_id: self.kiosk_id.map(|u| u.0.into()),
                status: SessionStatus::parse(&self.status)
                    .ok_or_else(|| StoreError::corrupt("session status", &self.status))?,
                provider_call_id: self.provider_call_id,
                provider_session_id: self.provider_session_id,
                model: self.model,
                transcription_model: self.transcription_model,
                language: Locale::parse(&self.language)
                    .ok_or_else(|| StoreError::corrupt("session language", &self.language))?,
                owner_instance_id: self.owner_instance_id.0.into(),
                lease_expires_at: self.lease_expires_at,
                hangup_requested_at: self.hangup_requested_at,
                started_at: self.started_at,
                ended_at: self.ended_at,
                end_reason,
                max_duration_secs: u32_of("max duration", i64::from(self.max_duration_secs))?,
                cost_pico: u64_of("session cost", self.cost_pico)?,
                transcription_cost_pico: u64_of(
                    "transcription cost",
                    self.transcription_cost_pico,
                )?,
                usage: TokenUsage {
                    input_text: u64_of("tokens", self.input_text_tokens)?,
                    input_audio: u64_of("tokens", self.input_audio_tokens)?,
                    input_image: u64_of("tokens", self.input_image_tokens)?,
                    cached_text: u64_of("tokens", self.cached_text_tokens)?,
                    cached_audio: u64_of("tokens", self.cached_audio_tokens)?,
                    cached_image: u64_of("tokens", self.cached_image_tokens)?,
                    output_text: u64_of("tokens", self.output_text_tokens)?,
                    output_audio: u64_of("tokens", self.output_audio_tokens)?,
                },
                transcription_tokens: u64_of("tokens", self.transcription_tokens)?,
                transcription_ms: u64_of("transcription ms", self.transcription_ms)?,
                responses: u32_of("responses", i64::from(self.responses))?,
                turn_count: u32_of("turn count", i64::from(self.turn_count))?,
                created_at: self.created_at,
                updated_at: self.updated_at,
            })
        }
    }

    const TURN_COLS: &str = "id, session_id, franchise_id, gym_id, seq, role, text, redacted, at, \
         response_id, usage, cost_pico, latency_ms";

    #[derive(sqlx::FromRow)]
    struct TurnRow {
        id: DbUuid,
        session_id: DbUuid,
        #[allow(dead_code)]
        franchise_id: DbUuid,
        gym_id: DbUuid,
        seq: i32,
        role: String,
        text: Option<String>,
        redacted: bool,
        at: OffsetDateTime,
        response_id: Option<String>,
        usage: Option<Json<TokenUsage>>,
        cost_pico: Option<i64>,
        latency_ms: Option<i64>,
    }

    impl TurnRow {
        fn into_domain(self) -> StoreResult<ConversationTurn> {
            Ok(ConversationTurn {
                id: self.id.0.into(),
                session_id: self.session_id.0.into(),
                gym_id: self.gym_id.0.into(),
                seq: u32_of("turn seq", i64::from(self.seq))?,
                role: TurnRole::parse(&self.role)
                    .ok_or_else(|| StoreError::corrupt("turn role", &self.role))?,
                text: self.text,
                redacted: self.redacted,
                at: self.at,
                response_id: self.response_id,
                usage: self.usage.map(|u| u.0),
                cost_pico: self.cost_pico.map(|c| u64_of("turn cost", c)).transpose()?,
                latency_ms: self.latency_ms.map(|l| u32_of("latency", l)).transpose()?,
            })
        }
    }

    const TOOL_COLS: &str = "id, session_id, franchise_id, gym_id, call_id, name, arguments, \
         result, error, redacted, duration_ms, at";

    #[derive(sqlx::FromRow)]
    struct ToolRow {
        id: DbUuid,
        session_id: DbUuid,
        #[allow(dead_code)]
        franchise_id: DbUuid,
        gym_id: DbUuid,
        call_id: String,
        name: String,
        arguments: Option<Json<serde_json::Value>>,
        result: Option<Json<serde_json::Value>>,
        error: Option<String>,
        redacted: bool,
        duration_ms: i64,
        at: OffsetDateTime,
    }

    impl ToolRow {
        fn into_domain(self) -> StoreResult<ToolCall> {
            Ok(ToolCall {
                id: self.id.0.into(),
                session_id: self.session_id.0.into(),
                gym_id: self.gym_id.0.into(),
                call_id: self.call_id,
                name: self.name,
                arguments: self.arguments.map(|j| j.0),
                result: self.result.map(|j| j.0),
                error: self.error,
                redacted: self.redacted,
                duration_ms: u32_of("tool duration", self.duration_ms)?,
                at: self.at,
            })
        }
    }

    const FOLLOW_UP_COLS: &str = "id, franchise_id, gym_id, member_id, session_id, reason, status, \
         created_at, resolved_at, resolved_by";

    #[derive(sqlx::FromRow)]
    struct FollowUpRow {
        id: DbUuid,
        #[allow(dead_code)]
        franchise_id: DbUuid,
        gym_id: DbUuid,
        member_id: Option<DbUuid>,
        session_id: Option<DbUuid>,
        reason: String,
        status: String,
        created_at: OffsetDateTime,
        resolved_at: Option<OffsetDateTime>,
        resolved_by: Option<DbUuid>,
    }

    impl FollowUpRow {
        fn into_domain(self) -> StoreResult<FollowUp> {
            Ok(FollowUp {
                id: self.id.0.into(),
                gym_id: self.gym_id.0.into(),
                member_id: self.member_id.map(|u| u.0.into()),
                session_id: self.session_id.map(|u| u.0.into()),
                reason: self.reason,
                status: FollowUpStatus::parse(&self.status)
                    .ok_or_else(|| StoreError::corrupt("follow-up status", &self.status))?,
                created_at: self.created_at,
                resolved_at: self.resolved_at,
                resolved_by: self.resolved_by.map(|u| u.0.into()),
            })
        }
    }

    pub(super) const ANALYSIS_COLS: &str = "session_id, franchise_id, gym_id, member_id, summary, \
         sentiment, topics, created_at, status, failure, sentiment_score, satisfaction, follow_up, \
         follow_up_reason, cancellation_intent, custom, attempts, model, cost_pico";

    #[derive(sqlx::FromRow)]
    pub(super) struct AnalysisRow {
        session_id: DbUuid,
        #[allow(dead_code)]
        franchise_id: DbUuid,
        gym_id: DbUuid,
        member_id: Option<DbUuid>,
        summary: Option<String>,
        sentiment: Option<String>,
        topics: Json<Vec<String>>,
        created_at: OffsetDateTime,
        status: String,
        failure: Option<String>,
        sentiment_score: Option<f64>,
        satisfaction: Option<i32>,
        follow_up: Option<bool>,
        follow_up_reason: Option<String>,
        cancellation_intent: Option<bool>,
        custom: Json<serde_json::Map<String, serde_json::Value>>,
        attempts: i32,
        model: Option<String>,
        cost_pico: i64,
    }

    impl AnalysisRow {
        pub(super) fn into_domain(self) -> StoreResult<SessionAnalysis> {
            let sentiment = match self.sentiment {
                Some(x) => {
                    Some(Sentiment::parse(&x).ok_or_else(|| StoreError::corrupt("sentiment", &x))?)
                }
                None => None,
            };
            let satisfaction = match self.satisfaction {
                Some(n) => Some(
                    u8::try_from(n)
                        .map_err(|_| StoreError::corrupt("satisfaction", &n.to_string()))?,
                ),
                None => None,
            };
            Ok(SessionAnalysis {
                session_id: self.session_id.0.into(),
                gym_id: self.gym_id.0.into(),
                member_id: self.member_id.map(|u| u.0.into()),
                status: AnalysisStatus::parse(&self.status)
                    .ok_or_else(|| StoreError::corrupt("analysis status", &self.status))?,
                failure: self.failure,
                summary: self.summary.unwrap_or_default(),
                sentiment,
                sentiment_score: self.sentiment_score,
                topics: self.topics.0,
                satisfaction,
                follow_up: self.follow_up,
                follow_up_reason: self.follow_up_reason,
                cancellation_intent: self.cancellation_intent,
                custom: self.custom.0,
                attempts: u32_of("analysis attempts", i64::from(self.attempts))?,
                model: self.model,
                cost_pico: u64_of("analysis cost", self.cost_pico)?,
                created_at: self.created_at,
            })
        }
    }

    const PRICE_COLS: &str = "id, model, text_in, text_cached, audio_in, audio_cached, image_in, \
         image_cached, text_out, audio_out, per_minute, effective_from, created_at, created_by";

    #[derive(sqlx::FromRow)]
    struct PriceRow {
        id: DbUuid,
        model: String,
        text_in: i64,
        text_cached: i64,
        audio_in: i64,
        audio_cached: i64,
        image_in: i64,
        image_cached: i64,
        text_out: i64,
        audio_out: i64,
        per_minute: i64,
        effective_from: OffsetDateTime,
        created_at: OffsetDateTime,
        created_by: Option<DbUuid>,
    }

    impl PriceRow {
        fn into_domain(self) -> StoreResult<ModelPriceEntry> {
            let p = |n: i64| u64_of("price", n);
            Ok(ModelPriceEntry {
                id: self.id.0.into(),
                model: self.model,
                price: ModelPrice {
                    text_in: p(self.text_in)?,
                    text_cached: p(self.text_cached)?,
                    text_out: p(self.text_out)?,
                    audio_in: p(self.audio_in)?,
                    audio_cached: p(self.audio_cached)?,
                    audio_out: p(self.audio_out)?,
                    image_in: p(self.image_in)?,
                    image_cached: p(self.image_cached)?,
                    per_minute: p(self.per_minute)?,
                },
                effective_from: self.effective_from,
                created_at: self.created_at,
                created_by: self.created_by.map(|u| u.0.into()),
            })
        }
    }

    const ALERT_COLS: &str = "id, scope, scope_key, franchise_id, gym_id, period, \
         threshold_percent, spent_pico, budget_micros, created_at";

    #[derive(sqlx::FromRow)]
    struct AlertRow {
        id: DbUuid,
        scope: String,
        #[allow(dead_code)]
        scope_key: String,
        franchise_id: Option<DbUuid>,
        gym_id: Option<DbUuid>,
        period: String,
        threshold_percent: i32,
        spent_pico: i64,
        budget_micros: i64,
        created_at: OffsetDateTime,
    }

    impl AlertRow {
        fn into_domain(self) -> StoreResult<BudgetAlert> {
            let scope = match (self.scope.as_str(), self.franchise_id, self.gym_id) {
                ("platform", _, _) => BudgetScope::Platform,
                ("gym", Some(f), Some(g)) => BudgetScope::Gym {
                    franchise: f.0.into(),
                    gym: g.0.into(),
                },
                _ => return Err(StoreError::corrupt("alert scope", &self.scope)),
            };
            Ok(BudgetAlert {
                id: self.id.0.into(),
                scope,
                period: BudgetPeriod::parse(&self.period)
                    .ok_or_else(|| StoreError::corrupt("alert period", &self.period))?,
                threshold: BudgetThreshold::from_percent(i64::from(self.threshold_percent))
                    .ok_or_else(|| {
                        StoreError::corrupt("alert threshold", &self.threshold_percent.to_string())
                    })?,
                spent_pico: u64_of("alert spend", self.spent_pico)?,
                budget_micros: u64_of("alert budget", self.budget_micros)?,
                created_at: self.created_at,
            })
        }
    }

    /// The first validation error of an input, as a storage error.
    pub(super) fn invalid(errs: ValidationErrors) -> StoreError {
        let Some(e) = errs.0.into_iter().next() else {
            return StoreError::Internal("empty validation errors".into());
        };
        const FIELDS: &[&str] = &[
            "model",
            "transcription_model",
            "max_duration_secs",
            "reason",
            "summary",
            "topics",
            "sentiment_score",
            "satisfaction",
            "follow_up_reason",
            "custom",
            "voice_session_cap",
            "monthly_budget_micros",
            "realtime_model",
            "price",
        ];
        let field = FIELDS
            .iter()
            .find(|f| {
                e.field == **f
                    || e.field.starts_with(&format!("{f}."))
                    || e.field.starts_with(&format!("{f}["))
            })
            .copied()
            .unwrap_or("input");
        StoreError::Invalid {
            field,
            message: format!("{}: {}", e.field, e.message),
        }
    }

    fn gym_settings(g: &Gym) -> StoreResult<GymSettings> {
        GymSettings::from_json(&g.settings)
            .map_err(|_| StoreError::corrupt("gym settings", &g.settings.to_string()))
    }

    async fn read_platform_settings(tx: &mut Tx) -> StoreResult<PlatformSettings> {
        let row: Option<(i32, i64, bool, String, String)> = QueryBuilder::<Db>::new(
            "SELECT voice_session_cap, monthly_budget_micros, hard_stop, realtime_model, \
             transcription_model FROM platform_settings WHERE id = 'platform'",
        )
        .build_query_as()
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_db_err)?;
        // The row is seeded right after migrating; until then the defaults hold.
        Ok(match row {
            Some((cap, budget, hard_stop, realtime_model, transcription_model)) => {
                PlatformSettings {
                    voice_session_cap: u32_of("global cap", i64::from(cap))?,
                    monthly_budget_micros: budget,
                    hard_stop,
                    realtime_model,
                    transcription_model,
                }
            }
            None => PlatformSettings::default(),
        })
    }

    /// (global live, gym live) at `t`: sessions holding a slot. Runs in the `Voice` context.
    async fn count_live(tx: &mut Tx, gym: GymId, t: OffsetDateTime) -> StoreResult<(i64, i64)> {
        let mut qb = QueryBuilder::<Db>::new("SELECT COUNT(*), COALESCE(SUM(CASE WHEN gym_id = ");
        qb.push_bind(db(gym))
            .push(format!(
                " THEN 1 ELSE 0 END), 0) FROM voice_sessions WHERE {LIVE} AND lease_expires_at > "
            ))
            .push_bind(DbTime::new(t));
        qb.build_query_as()
            .fetch_one(&mut **tx)
            .await
            .map_err(map_db_err)
    }

    pub(super) async fn fetch_session(
        tx: &mut Tx,
        scope: &Scope,
        id: VoiceSessionId,
    ) -> StoreResult<VoiceSession> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {SESSION_COLS} FROM voice_sessions WHERE id = "
        ));
        qb.push_bind(db(id));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        let row: Option<SessionRow> = qb
            .build_query_as()
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_db_err)?;
        row.ok_or(StoreError::NotFound("voice session"))?
            .into_domain()
    }

    async fn session_exists(tx: &mut Tx, scope: &Scope, id: VoiceSessionId) -> StoreResult<()> {
        fetch_session(tx, scope, id).await.map(|_| ())
    }

    /// Adds to a gym's rollup of one UTC day (created on first use).
    #[allow(clippy::too_many_arguments)]
    async fn add_to_day(
        tx: &mut Tx,
        s: &VoiceSession,
        day: Date,
        cost: i64,
        sessions: i64,
        responses: i64,
        transcriptions: i64,
        input_tokens: i64,
        output_tokens: i64,
    ) -> StoreResult<()> {
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO cost_daily (franchise_id, gym_id, day, cost_pico, sessions, responses, \
             transcriptions, input_tokens, output_tokens, updated_at) VALUES (",
        );
        let mut sep = qb.separated(", ");
        sep.push_bind(db(s.franchise_id))
            .push_bind(db(s.gym_id))
            .push_bind(day)
            .push_bind(cost)
            .push_bind(sessions)
            .push_bind(responses)
            .push_bind(transcriptions)
            .push_bind(input_tokens)
            .push_bind(output_tokens)
            .push_bind(DbTime::new(now()));
        qb.push(
            ") ON CONFLICT (gym_id, day) DO UPDATE SET \
             cost_pico = cost_daily.cost_pico + excluded.cost_pico, \
             sessions = cost_daily.sessions + excluded.sessions, \
             responses = cost_daily.responses + excluded.responses, \
             transcriptions = cost_daily.transcriptions + excluded.transcriptions, \
             input_tokens = cost_daily.input_tokens + excluded.input_tokens, \
             output_tokens = cost_daily.output_tokens + excluded.output_tokens, \
             updated_at = excluded.updated_at",
        );
        qb.build().execute(&mut **tx).await.map_err(map_db_err)?;
        Ok(())
    }

    fn utc_day(t: OffsetDateTime) -> Date {
        t.to_offset(time::UtcOffset::UTC).date()
    }

    /// Stores a turn numbered `seq` of session `s`.
    async fn insert_turn(
        tx: &mut Tx,
        s: &VoiceSession,
        seq: u32,
        turn: &NewTurn,
        billed: Option<&ResponseUsage>,
    ) -> StoreResult<ConversationTurn> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "INSERT INTO conversation_turns ({TURN_COLS}) VALUES ("
        ));
        let mut sep = qb.separated(", ");
        sep.push_bind(db(TurnId::new()))
            .push_bind(db(s.id))
            .push_bind(db(s.franchise_id))
            .push_bind(db(s.gym_id))
            .push_bind(i64::from(seq))
            .push_bind(turn.role().as_str())
            .push_bind(turn.text().map(str::to_string))
            .push_bind(turn.redacted())
            .push_bind(DbTime::new(turn.at()))
            .push_bind(billed.map(|b| b.response_id.clone()))
            .push_bind(billed.map(|b| Json(b.usage)))
            .push_bind(
                billed
                    .map(|b| i64_of("cost_pico", b.cost_pico))
                    .transpose()?,
            )
            .push_bind(turn.latency_ms().map(i64::from));
        qb.push(format!(") RETURNING {TURN_COLS}"));
        let row: TurnRow = qb
            .build_query_as()
            .fetch_one(&mut **tx)
            .await
            .map_err(map_db_err)?;
        row.into_domain()
    }

    /// Adds to a session's running totals (one row lock: concurrent additions serialize) and
    /// returns it; with `turn`, the turn count moves too and its new value numbers the turn.
    async fn add_to_session(
        tx: &mut Tx,
        scope: &Scope,
        id: VoiceSessionId,
        sets: &[(&str, i64)],
        turn: bool,
    ) -> StoreResult<VoiceSession> {
        let mut qb = QueryBuilder::<Db>::new("UPDATE voice_sessions SET updated_at = ");
        qb.push_bind(DbTime::new(now()));
        for (col, n) in sets {
            qb.push(format!(", {col} = {col} + ")).push_bind(*n);
        }
        if turn {
            qb.push(", turn_count = turn_count + 1");
        }
        qb.push(" WHERE id = ").push_bind(db(id));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        qb.push(format!(" RETURNING {SESSION_COLS}"));
        let row: Option<SessionRow> = qb
            .build_query_as()
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_db_err)?;
        row.ok_or(StoreError::NotFound("voice session"))?
            .into_domain()
    }

    /// An analysis row to write.
    pub(super) struct AnalysisWrite {
        pub(super) status: AnalysisStatus,
        pub(super) failure: Option<String>,
        pub(super) new: NewSessionAnalysis,
    }

    /// Inserts or replaces the analysis of session `s`; a failed one has no summary/sentiment.
    pub(super) async fn upsert_analysis(
        tx: &mut Tx,
        s: &VoiceSession,
        w: AnalysisWrite,
    ) -> StoreResult<AnalysisRow> {
        let done = w.status == AnalysisStatus::Done;
        let n = w.new;
        let mut qb = QueryBuilder::<Db>::new(format!(
            "INSERT INTO session_analyses ({ANALYSIS_COLS}) VALUES ("
        ));
        let mut sep = qb.separated(", ");
        sep.push_bind(db(s.id))
            .push_bind(db(s.franchise_id))
            .push_bind(db(s.gym_id))
            .push_bind(s.member_id.map(db))
            .push_bind(done.then(|| n.summary.clone()))
            .push_bind(done.then(|| n.sentiment.as_str()))
            .push_bind(Json(n.topics))
            .push_bind(DbTime::new(now()))
            .push_bind(w.status.as_str())
            .push_bind(w.failure)
            .push_bind(n.sentiment_score)
            .push_bind(n.satisfaction.map(i32::from))
            .push_bind(n.follow_up)
            .push_bind(n.follow_up_reason)
            .push_bind(n.cancellation_intent)
            .push_bind(Json(n.custom))
            .push_bind(i32::try_from(n.attempts).unwrap_or(i32::MAX))
            .push_bind(n.model)
            .push_bind(i64_of("cost_pico", n.cost_pico)?);
        qb.push(format!(
            ") ON CONFLICT (session_id) DO UPDATE SET summary = excluded.summary, \
             sentiment = excluded.sentiment, topics = excluded.topics, \
             created_at = excluded.created_at, status = excluded.status, \
             failure = excluded.failure, sentiment_score = excluded.sentiment_score, \
             satisfaction = excluded.satisfaction, follow_up = excluded.follow_up, \
             follow_up_reason = excluded.follow_up_reason, \
             cancellation_intent = excluded.cancellation_intent, custom = excluded.custom, \
             attempts = excluded.attempts, model = excluded.model, \
             cost_pico = session_analyses.cost_pico + excluded.cost_pico \
             RETURNING {ANALYSIS_COLS}"
        ));
        qb.build_query_as()
            .fetch_one(&mut **tx)
            .await
            .map_err(map_db_err)
    }

    /// Adds an analysis's chat cost to its session and to the gym's rollup of today.
    pub(super) async fn charge_analysis(
        tx: &mut Tx,
        scope: &Scope,
        s: &VoiceSession,
        cost: i64,
    ) -> StoreResult<()> {
        if cost == 0 {
            return Ok(());
        }
        let s2 = add_to_session(tx, scope, s.id, &[("cost_pico", cost)], false).await?;
        add_to_day(tx, &s2, utc_day(now()), cost, 0, 0, 0, 0, 0).await
    }

    pub(super) async fn insert_email(tx: &mut Tx, email: NewEmail) -> StoreResult<()> {
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
            .push_bind(now());
        qb.push(")");
        qb.build().execute(&mut **tx).await.map_err(map_db_err)?;
        Ok(())
    }

    /// Seeds what the voice tables need after migrating: the platform settings row (defaults
    /// from `PlatformSettings::default()`) when missing, and the published model prices
    /// (`PriceTable::default_2026()`, from 2000-01-01) when no price exists at all. Idempotent
    /// and safe for instances migrating at once (inserts that lose a race do nothing).
    pub(super) async fn seed_voice_defaults(store: &ThisStore) -> StoreResult<()> {
        let mut tx = store.begin(&TxCtx::Scope(Scope::Platform), true).await?;
        let d = PlatformSettings::default();
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO platform_settings (id, voice_session_cap, monthly_budget_micros, \
             hard_stop, realtime_model, transcription_model, updated_at, updated_by) VALUES ('platform', ",
        );
        let mut s = qb.separated(", ");
        s.push_bind(i64::from(d.voice_session_cap))
            .push_bind(d.monthly_budget_micros)
            .push_bind(d.hard_stop)
            .push_bind(d.realtime_model)
            .push_bind(d.transcription_model)
            .push_bind(DbTime::new(now()))
            .push_bind(None::<DbUuid>);
        qb.push(") ON CONFLICT (id) DO NOTHING");
        qb.build().execute(&mut *tx).await.map_err(map_db_err)?;

        let prices = count(
            &mut tx,
            QueryBuilder::<Db>::new("SELECT COUNT(*) FROM model_prices"),
        )
        .await?;
        if prices == 0 {
            for (model, price) in PriceTable::default_2026().iter() {
                insert_price(&mut tx, model, price, SEED_FROM, None, false).await?;
            }
        }
        tx.commit().await.map_err(map_db_err)
    }

    /// Inserts a price row; `replace` overwrites the row of the same model and date, otherwise
    /// an existing one is kept.
    async fn insert_price(
        tx: &mut Tx,
        model: &str,
        p: &ModelPrice,
        from: OffsetDateTime,
        by: Option<UserId>,
        replace: bool,
    ) -> StoreResult<Option<PriceRow>> {
        let mut qb =
            QueryBuilder::<Db>::new(format!("INSERT INTO model_prices ({PRICE_COLS}) VALUES ("));
        let mut s = qb.separated(", ");
        s.push_bind(db(ModelPriceId::new()))
            .push_bind(model.to_string());
        for v in [
            p.text_in,
            p.text_cached,
            p.audio_in,
            p.audio_cached,
            p.image_in,
            p.image_cached,
            p.text_out,
            p.audio_out,
            p.per_minute,
        ] {
            s.push_bind(i64_of("price", v)?);
        }
        s.push_bind(DbTime::new(from))
            .push_bind(DbTime::new(now()))
            .push_bind(by.map(db));
        if replace {
            qb.push(
                ") ON CONFLICT (model, effective_from) DO UPDATE SET text_in = excluded.text_in, \
                 text_cached = excluded.text_cached, audio_in = excluded.audio_in, \
                 audio_cached = excluded.audio_cached, image_in = excluded.image_in, \
                 image_cached = excluded.image_cached, text_out = excluded.text_out, \
                 audio_out = excluded.audio_out, per_minute = excluded.per_minute, \
                 created_at = excluded.created_at, created_by = excluded.created_by",
            );
        } else {
            qb.push(") ON CONFLICT (model, effective_from) DO NOTHING");
        }
        qb.push(format!(" RETURNING {PRICE_COLS}"));
        qb.build_query_as()
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_db_err)
    }

    fn platform_only(scope: &Scope) -> StoreResult<()> {
        match scope {
            Scope::Platform => Ok(()),
            _ => Err(StoreError::OutOfScope),
        }
    }

    #[async_trait::async_trait]
    impl VoiceStore for ThisStore {
        async fn start_session(
            &self,
            scope: &Scope,
            gym: GymId,
            new: NewVoiceSession,
        ) -> StoreResult<Result<VoiceSession, CapRefusal>> {
            let new = new.validate().map_err(invalid)?;
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            // Everything that needs no serialization first: the gym (and its cap), the member
            // and kiosk belong to it, the global cap.
            let g = fetch_gym(&mut tx, scope, gym).await?;
            let gym_cap = gym_settings(&g)?.voice_session_cap;
            fetch_member(&mut tx, scope, gym, new.member_id).await?;
            if let Some(k) = new.kiosk_id {
                let mut qb = QueryBuilder::<Db>::new("SELECT COUNT(*) FROM kiosks WHERE id = ");
                qb.push_bind(db(k))
                    .push(" AND gym_id = ")
                    .push_bind(db(gym));
                push_scope(&mut qb, scope, "franchise_id", "gym_id");
                if count(&mut tx, qb).await? == 0 {
                    return Err(StoreError::NotFound("kiosk"));
                }
            }
            let global_cap = read_platform_settings(&mut tx).await?.voice_session_cap;

            // Count (across tenants: the voice context) and insert (in the gym's scope) with
            // every other acquisition, on any instance, held off; against the database's clock
            // read once the lock is held. The count is a statement of its own after the lock,
            // so its snapshot sees every acquisition committed before.
            set_ctx(&mut tx, &TxCtx::Voice).await?;
            let t = slot_lock(&mut tx, true).await?;
            let (global_live, gym_live) = count_live(&mut tx, gym, t).await?;
            let refusal = |cap, limit: u32, live: i64| CapRefusal {
                cap,
                limit,
                live: u32::try_from(live).unwrap_or(u32::MAX),
            };
            let refused = if gym_live >= i64::from(gym_cap) {
                Some(refusal(Cap::Gym, gym_cap, gym_live))
            } else if global_live >= i64::from(global_cap) {
                Some(refusal(Cap::Global, global_cap, global_live))
            } else {
                None
            };
            if let Some(r) = refused {
                tx.rollback().await.map_err(map_db_err)?;
                return Ok(Err(r));
            }
            set_ctx(&mut tx, &TxCtx::Scope(*scope)).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO voice_sessions (id, franchise_id, gym_id, member_id, kiosk_id, status, \
                 model, transcription_model, language, owner_instance_id, lease_expires_at, \
                 started_at, max_duration_secs, created_at, updated_at) VALUES (",
            );
            let mut s = qb.separated(", ");
            s.push_bind(db(VoiceSessionId::new()))
                .push_bind(db(g.franchise_id))
                .push_bind(db(gym))
                .push_bind(db(new.member_id))
                .push_bind(new.kiosk_id.map(db))
                .push_bind(SessionStatus::Starting.as_str())
                .push_bind(new.model)
                .push_bind(new.transcription_model)
                .push_bind(new.language.as_str())
                .push_bind(db(new.owner))
                .push_bind(DbTime::new(t + new.lease))
                .push_bind(DbTime::new(t))
                .push_bind(i64::from(new.max_duration_secs))
                .push_bind(DbTime::new(t))
                .push_bind(DbTime::new(t));
            qb.push(format!(") RETURNING {SESSION_COLS}"));
            let row: SessionRow = qb
                .build_query_as()
                .fetch_one(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(Ok(row.into_domain()?))
        }

        async fn renew_lease(
            &self,
            scope: &Scope,
            id: VoiceSessionId,
            owner: InstanceId,
            lease: Duration,
        ) -> StoreResult<Renewal> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let t = slot_lock(&mut tx, false).await?;
            let mut qb = QueryBuilder::<Db>::new("UPDATE voice_sessions SET lease_expires_at = ");
            qb.push_bind(DbTime::new(t + lease))
                .push(", updated_at = ")
                .push_bind(DbTime::new(t))
                .push(" WHERE id = ")
                .push_bind(db(id))
                .push(" AND owner_instance_id = ")
                .push_bind(db(owner))
                .push(format!(" AND {LIVE} AND lease_expires_at > "))
                .push_bind(DbTime::new(t));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb.push(" RETURNING hangup_requested_at");
            let row: Option<(Option<OffsetDateTime>,)> = qb
                .build_query_as()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            if row.is_none() {
                session_exists(&mut tx, scope, id).await?;
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(match row {
                None => Renewal::Lost,
                Some((None,)) => Renewal::Renewed,
                Some((Some(_),)) => Renewal::HangUpRequested,
            })
        }

        async fn activate(
            &self,
            scope: &Scope,
            id: VoiceSessionId,
            owner: InstanceId,
            provider_call_id: &str,
        ) -> StoreResult<bool> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let t = db_now(&mut tx).await?;
            // An expired lease may have given the slot away: such a call must not start.
            let mut qb = QueryBuilder::<Db>::new(
                "UPDATE voice_sessions SET status = 'active', provider_call_id = ",
            );
            qb.push_bind(provider_call_id.to_string())
                .push(", updated_at = ")
                .push_bind(DbTime::new(t))
                .push(" WHERE id = ")
                .push_bind(db(id))
                .push(" AND owner_instance_id = ")
                .push_bind(db(owner))
                .push(" AND status = 'starting' AND lease_expires_at > ")
                .push_bind(DbTime::new(t));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb.push(format!(" RETURNING {SESSION_COLS}"));
            let row: Option<SessionRow> = qb
                .build_query_as()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            let done = match row {
                Some(row) => {
                    let s = row.into_domain()?;
                    add_to_day(&mut tx, &s, utc_day(t), 0, 1, 0, 0, 0, 0).await?;
                    true
                }
                None => {
                    session_exists(&mut tx, scope, id).await?;
                    false
                }
            };
            tx.commit().await.map_err(map_db_err)?;
            Ok(done)
        }

        async fn set_provider_session(
            &self,
            scope: &Scope,
            id: VoiceSessionId,
            provider_session_id: &str,
        ) -> StoreResult<bool> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let mut qb =
                QueryBuilder::<Db>::new("UPDATE voice_sessions SET provider_session_id = ");
            qb.push_bind(provider_session_id.to_string())
                .push(", updated_at = ")
                .push_bind(DbTime::new(now()))
                .push(" WHERE id = ")
                .push_bind(db(id))
                .push(" AND provider_session_id IS NULL");
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            let done = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected()
                == 1;
            if !done {
                session_exists(&mut tx, scope, id).await?;
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(done)
        }

        async fn end_session(
            &self,
            scope: &Scope,
            id: VoiceSessionId,
            reason: EndReason,
            at: OffsetDateTime,
        ) -> StoreResult<bool> {
            let at = DbTime::new(at);
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            // One conditional update: concurrent ends serialize on the row, and every one after
            // the first finds it ended. The end never precedes the start (clocks differ).
            let mut qb = QueryBuilder::<Db>::new(
                "UPDATE voice_sessions SET status = 'ended', end_reason = ",
            );
            qb.push_bind(reason.as_str())
                .push(", ended_at = CASE WHEN started_at > ")
                .push_bind(at)
                .push(" THEN started_at ELSE ")
                .push_bind(at)
                .push(" END, updated_at = ")
                .push_bind(DbTime::new(now()))
                .push(" WHERE id = ")
                .push_bind(db(id))
                .push(format!(" AND {LIVE}"));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            let done = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected()
                == 1;
            if !done {
                session_exists(&mut tx, scope, id).await?;
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(done)
        }

        async fn request_hangup(
            &self,
            scope: &Scope,
            actor: &Actor,
            id: VoiceSessionId,
        ) -> StoreResult<bool> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let s = fetch_session(&mut tx, scope, id).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "UPDATE voice_sessions SET hangup_requested_at = COALESCE(hangup_requested_at, ",
            );
            qb.push_bind(DbTime::new(now()))
                .push("), updated_at = ")
                .push_bind(DbTime::new(now()))
                .push(" WHERE id = ")
                .push_bind(db(id))
                .push(format!(" AND {LIVE}"));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            let done = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected()
                == 1;
            if done {
                audit_tx(
                    &mut tx,
                    actor,
                    Some(s.franchise_id),
                    Some(s.gym_id),
                    "voice_session.hangup",
                    "voice_session",
                    Some(id.to_string()),
                    serde_json::json!({}),
                )
                .await?;
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(done)
        }

        async fn platform_live_sessions(&self) -> StoreResult<u32> {
            let mut tx = self.begin(&TxCtx::Voice, false).await?;
            let t = db_now(&mut tx).await?;
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT COUNT(*) FROM voice_sessions WHERE {LIVE} AND lease_expires_at > "
            ));
            qb.push_bind(DbTime::new(t));
            let (n,): (i64,) = qb
                .build_query_as()
                .fetch_one(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            u32_of("live sessions", n)
        }

        async fn slot_usage(&self, scope: &Scope, gym: GymId) -> StoreResult<SlotUsage> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let g = fetch_gym(&mut tx, scope, gym).await?;
            let gym_cap = gym_settings(&g)?.voice_session_cap;
            let global_cap = read_platform_settings(&mut tx).await?.voice_session_cap;
            let t = db_now(&mut tx).await?;
            set_ctx(&mut tx, &TxCtx::Voice).await?;
            let (global_live, gym_live) = count_live(&mut tx, gym, t).await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(SlotUsage {
                gym_live: u32_of("live sessions", gym_live)?,
                gym_cap,
                global_live: u32_of("live sessions", global_live)?,
                global_cap,
            })
        }

        async fn sessions_of_instances(
            &self,
            owners: &[InstanceId],
        ) -> StoreResult<Vec<VoiceSession>> {
            if owners.is_empty() {
                return Ok(Vec::new());
            }
            let mut tx = self.begin(&TxCtx::Voice, false).await?;
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {SESSION_COLS} FROM voice_sessions WHERE {LIVE} AND owner_instance_id IN ("
            ));
            let mut s = qb.separated(", ");
            for o in owners.iter().take(1000) {
                s.push_bind(db(*o));
            }
            qb.push(") ORDER BY started_at, id LIMIT 1000");
            let rows: Vec<SessionRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            rows.into_iter().map(SessionRow::into_domain).collect()
        }

        async fn expired_leases(&self, limit: u32) -> StoreResult<Vec<VoiceSession>> {
            let mut tx = self.begin(&TxCtx::Voice, false).await?;
            let t = db_now(&mut tx).await?;
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {SESSION_COLS} FROM voice_sessions WHERE {LIVE} AND lease_expires_at <= "
            ));
            qb.push_bind(DbTime::new(t))
                .push(" ORDER BY lease_expires_at, id LIMIT ")
                .push_bind(i64::from(limit.clamp(1, 1000)));
            let rows: Vec<SessionRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            rows.into_iter().map(SessionRow::into_domain).collect()
        }

        async fn voice_session(
            &self,
            scope: &Scope,
            id: VoiceSessionId,
        ) -> StoreResult<VoiceSession> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let s = fetch_session(&mut tx, scope, id).await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(s)
        }

        async fn live_voice_sessions(
            &self,
            scope: &Scope,
            gym: GymId,
        ) -> StoreResult<Vec<VoiceSession>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let t = db_now(&mut tx).await?;
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {SESSION_COLS} FROM voice_sessions WHERE {LIVE} AND lease_expires_at > "
            ));
            qb.push_bind(DbTime::new(t))
                .push(" AND gym_id = ")
                .push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb.push(" ORDER BY started_at, id LIMIT 1000");
            let rows: Vec<SessionRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            rows.into_iter().map(SessionRow::into_domain).collect()
        }

        async fn list_voice_sessions(
            &self,
            scope: &Scope,
            gym: GymId,
            filter: &SessionFilter,
            page: PageRequest,
        ) -> StoreResult<Page<VoiceSession>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let build = |select: &str| {
                let mut qb = QueryBuilder::<Db>::new(format!(
                    "SELECT {select} FROM voice_sessions WHERE gym_id = "
                ));
                qb.push_bind(db(gym));
                push_scope(&mut qb, scope, "franchise_id", "gym_id");
                if let Some(from) = filter.from {
                    qb.push(" AND started_at >= ").push_bind(DbTime::new(from));
                }
                if let Some(to) = filter.to {
                    qb.push(" AND started_at < ").push_bind(DbTime::new(to));
                }
                if let Some(m) = filter.member_id {
                    qb.push(" AND member_id = ").push_bind(db(m));
                }
                if let Some(r) = filter.end_reason {
                    qb.push(" AND end_reason = ").push_bind(r.as_str());
                }
                if let Some(st) = filter.status {
                    qb.push(" AND status = ").push_bind(st.as_str());
                }
                qb
            };
            let (total, rows) = fetch_page_capped::<SessionRow>(
                &mut tx,
                build,
                SESSION_COLS,
                match filter.sort {
                    SessionSort::StartedDesc => " ORDER BY started_at DESC, id DESC",
                    SessionSort::Started => " ORDER BY started_at, id",
                    SessionSort::CostDesc => " ORDER BY cost_pico DESC, id DESC",
                },
                page,
                self.count_cap,
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(page_of(rows, total, page, SessionRow::into_domain)?.cap_total(self.count_cap))
        }

        async fn turns(
            &self,
            scope: &Scope,
            session: VoiceSessionId,
            page: PageRequest,
        ) -> StoreResult<Page<ConversationTurn>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            session_exists(&mut tx, scope, session).await?;
            let build = |select: &str| {
                let mut qb = QueryBuilder::<Db>::new(format!(
                    "SELECT {select} FROM conversation_turns WHERE session_id = "
                ));
                qb.push_bind(db(session));
                push_scope(&mut qb, scope, "franchise_id", "gym_id");
                qb
            };
            let (total, rows) =
                fetch_page::<TurnRow>(&mut tx, build, TURN_COLS, " ORDER BY seq", page).await?;
            tx.commit().await.map_err(map_db_err)?;
            page_of(rows, total, page, TurnRow::into_domain)
        }

        async fn tool_calls(
            &self,
            scope: &Scope,
            session: VoiceSessionId,
        ) -> StoreResult<Vec<ToolCall>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            session_exists(&mut tx, scope, session).await?;
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {TOOL_COLS} FROM tool_calls WHERE session_id = "
            ));
            qb.push_bind(db(session));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb.push(" ORDER BY at, id LIMIT 1000");
            let rows: Vec<ToolRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            rows.into_iter().map(ToolRow::into_domain).collect()
        }

        async fn record_response(
            &self,
            scope: &Scope,
            session: VoiceSessionId,
            usage: ResponseUsage,
            turn: Option<NewTurn>,
        ) -> StoreResult<Metered> {
            let cost = i64_of("cost_pico", usage.cost_pico)?;
            let u = &usage.usage;
            let tok = |n: u64| i64_of("usage", n);
            let sets = [
                ("cost_pico", cost),
                ("input_text_tokens", tok(u.input_text)?),
                ("input_audio_tokens", tok(u.input_audio)?),
                ("input_image_tokens", tok(u.input_image)?),
                ("cached_text_tokens", tok(u.cached_text)?),
                ("cached_audio_tokens", tok(u.cached_audio)?),
                ("cached_image_tokens", tok(u.cached_image)?),
                ("output_text_tokens", tok(u.output_text)?),
                ("output_audio_tokens", tok(u.output_audio)?),
                ("responses", 1),
            ];
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let s = add_to_session(&mut tx, scope, session, &sets, turn.is_some()).await?;
            add_to_day(
                &mut tx,
                &s,
                utc_day(usage.at),
                cost,
                0,
                1,
                0,
                tok(u.input_total())?,
                tok(u.output_total())?,
            )
            .await?;
            let turn = match &turn {
                Some(t) => Some(insert_turn(&mut tx, &s, s.turn_count, t, Some(&usage)).await?),
                None => None,
            };
            tx.commit().await.map_err(map_db_err)?;
            Ok(Metered { session: s, turn })
        }

        async fn record_transcription(
            &self,
            scope: &Scope,
            session: VoiceSessionId,
            usage: TranscriptionUsage,
            turn: Option<NewTurn>,
        ) -> StoreResult<Metered> {
            let cost = i64_of("cost_pico", usage.cost_pico)?;
            let (tokens, input, output, millis) = match usage.billing {
                TranscriptionBilling::Tokens(u) => {
                    (u.total(), u.input_total(), u.output_total(), 0)
                }
                TranscriptionBilling::Duration { millis } => (0, 0, 0, millis),
            };
            let sets = [
                ("cost_pico", cost),
                ("transcription_cost_pico", cost),
                ("transcription_tokens", i64_of("usage", tokens)?),
                ("transcription_ms", i64_of("usage", millis)?),
            ];
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let s = add_to_session(&mut tx, scope, session, &sets, turn.is_some()).await?;
            add_to_day(
                &mut tx,
                &s,
                utc_day(usage.at),
                cost,
                0,
                0,
                1,
                i64_of("usage", input)?,
                i64_of("usage", output)?,
            )
            .await?;
            let turn = match &turn {
                Some(t) => Some(insert_turn(&mut tx, &s, s.turn_count, t, None).await?),
                None => None,
            };
            tx.commit().await.map_err(map_db_err)?;
            Ok(Metered { session: s, turn })
        }

        async fn record_turn(
            &self,
            scope: &Scope,
            session: VoiceSessionId,
            turn: NewTurn,
        ) -> StoreResult<ConversationTurn> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let s = add_to_session(&mut tx, scope, session, &[], true).await?;
            let t = insert_turn(&mut tx, &s, s.turn_count, &turn, None).await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(t)
        }

        async fn record_tool_call(
            &self,
            scope: &Scope,
            session: VoiceSessionId,
            call: NewToolCall,
        ) -> StoreResult<ToolCall> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let s = fetch_session(&mut tx, scope, session).await?;
            let mut qb =
                QueryBuilder::<Db>::new(format!("INSERT INTO tool_calls ({TOOL_COLS}) VALUES ("));
            let mut sep = qb.separated(", ");
            sep.push_bind(db(ToolCallId::new()))
                .push_bind(db(s.id))
                .push_bind(db(s.franchise_id))
                .push_bind(db(s.gym_id))
                .push_bind(call.call_id().to_string())
                .push_bind(call.name().to_string())
                .push_bind(call.arguments().cloned().map(Json))
                .push_bind(call.result().cloned().map(Json))
                .push_bind(call.error().map(str::to_string))
                .push_bind(call.redacted())
                .push_bind(i64::from(call.duration_ms()))
                .push_bind(DbTime::new(call.at()));
            qb.push(format!(") RETURNING {TOOL_COLS}"));
            let row: ToolRow = qb
                .build_query_as()
                .fetch_one(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            row.into_domain()
        }

        async fn month_to_date(
            &self,
            scope: &Scope,
            gym: GymId,
            period: BudgetPeriod,
        ) -> StoreResult<Spend> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let spend = sum_days(&mut tx, Some((scope, gym)), period).await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(spend)
        }

        async fn platform_month_to_date(&self, period: BudgetPeriod) -> StoreResult<Spend> {
            let mut tx = self.begin(&TxCtx::Voice, false).await?;
            let spend = sum_days(&mut tx, None, period).await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(spend)
        }

        async fn mark_demo_session(&self, scope: &Scope, id: VoiceSessionId) -> StoreResult<()> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let mut qb =
                QueryBuilder::<Db>::new("UPDATE voice_sessions SET demo = TRUE WHERE id = ");
            qb.push_bind(db(id));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            let done = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected();
            if done == 0 {
                return Err(StoreError::NotFound("voice session"));
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(())
        }

        async fn demo_month_to_date(&self, period: BudgetPeriod) -> StoreResult<Spend> {
            // The voice context reads every gym's sessions (a platform-wide sum, nothing per
            // tenant leaves it); `voice_sessions_demo_idx` keeps it to the demo rows.
            let mut tx = self.begin(&TxCtx::Voice, false).await?;
            let from = period.first_day().midnight().assume_utc();
            let to = period.end_day().midnight().assume_utc();
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT CAST(COALESCE(SUM(cost_pico), 0) AS BIGINT), CAST(COUNT(*) AS BIGINT) \
                 FROM voice_sessions WHERE demo AND started_at >= ",
            );
            qb.push_bind(DbTime::new(from))
                .push(" AND started_at < ")
                .push_bind(DbTime::new(to));
            let (cost, sessions): (i64, i64) = qb
                .build_query_as()
                .fetch_one(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(Spend {
                cost_pico: u64_of("spend", cost)?,
                sessions: u64_of("sessions", sessions)?,
                responses: 0,
                transcriptions: 0,
            })
        }

        async fn daily_costs(
            &self,
            scope: &Scope,
            gym: GymId,
            from: Date,
            to: Date,
        ) -> StoreResult<Vec<DailyCost>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT gym_id, day, cost_pico, sessions, responses, transcriptions, input_tokens, \
                 output_tokens FROM cost_daily WHERE gym_id = ",
            );
            qb.push_bind(db(gym))
                .push(" AND day >= ")
                .push_bind(from)
                .push(" AND day < ")
                .push_bind(to);
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb.push(" ORDER BY day LIMIT 3660");
            type DayRow = (DbUuid, Date, i64, i32, i32, i32, i64, i64);
            let rows: Vec<DayRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            rows.into_iter()
                .map(
                    |(g, day, cost, sessions, responses, transcriptions, i, o)| {
                        Ok(DailyCost {
                            gym_id: g.0.into(),
                            day,
                            spend: Spend {
                                cost_pico: u64_of("daily cost", cost)?,
                                sessions: u64_of("sessions", i64::from(sessions))?,
                                responses: u64_of("responses", i64::from(responses))?,
                                transcriptions: u64_of(
                                    "transcriptions",
                                    i64::from(transcriptions),
                                )?,
                            },
                            input_tokens: u64_of("tokens", i)?,
                            output_tokens: u64_of("tokens", o)?,
                        })
                    },
                )
                .collect()
        }

        async fn budget_alert_once(
            &self,
            alert: NewBudgetAlert,
            emails: Vec<NewEmail>,
        ) -> StoreResult<bool> {
            let (scope, scope_key, franchise, gym) = match alert.scope {
                BudgetScope::Platform => ("platform", "platform".to_string(), None, None),
                BudgetScope::Gym { franchise, gym } => {
                    ("gym", gym.to_string(), Some(franchise), Some(gym))
                }
            };
            let mut tx = self.begin(&TxCtx::Voice, true).await?;
            let mut qb = QueryBuilder::<Db>::new(format!(
                "INSERT INTO budget_alerts ({ALERT_COLS}) VALUES ("
            ));
            let mut s = qb.separated(", ");
            s.push_bind(db(BudgetAlertId::new()))
                .push_bind(scope)
                .push_bind(scope_key)
                .push_bind(franchise.map(db))
                .push_bind(gym.map(db))
                .push_bind(alert.period.to_string())
                .push_bind(i64::from(alert.threshold.percent()))
                .push_bind(i64_of("spent_pico", alert.spent_pico)?)
                .push_bind(i64_of("budget_micros", alert.budget_micros)?)
                .push_bind(DbTime::new(now()));
            // Of concurrent firings (any instance), the unique key lets exactly one insert.
            qb.push(") ON CONFLICT (scope_key, period, threshold_percent) DO NOTHING RETURNING id");
            let fired: Option<DbUuid> = qb
                .build_query_scalar()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            if fired.is_some() {
                for e in emails {
                    insert_email(&mut tx, e).await?;
                }
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(fired.is_some())
        }

        async fn list_budget_alerts(
            &self,
            scope: &Scope,
            page: PageRequest,
        ) -> StoreResult<Page<BudgetAlert>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let build = |select: &str| {
                let mut qb = QueryBuilder::<Db>::new(format!(
                    "SELECT {select} FROM budget_alerts WHERE 1 = 1"
                ));
                push_scope(&mut qb, scope, "franchise_id", "gym_id");
                qb
            };
            let (total, rows) = fetch_page::<AlertRow>(
                &mut tx,
                build,
                ALERT_COLS,
                " ORDER BY created_at DESC, id DESC",
                page,
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            page_of(rows, total, page, AlertRow::into_domain)
        }

        async fn create_follow_up(
            &self,
            scope: &Scope,
            actor: &Actor,
            gym: GymId,
            new: NewFollowUp,
        ) -> StoreResult<FollowUp> {
            let new = new.validate().map_err(invalid)?;
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let g = fetch_gym(&mut tx, scope, gym).await?;
            if let Some(m) = new.member_id {
                fetch_member(&mut tx, scope, gym, m).await?;
            }
            if let Some(sid) = new.session_id
                && fetch_session(&mut tx, scope, sid).await?.gym_id != gym
            {
                return Err(StoreError::NotFound("voice session"));
            }
            let mut qb = QueryBuilder::<Db>::new(format!(
                "INSERT INTO follow_ups ({FOLLOW_UP_COLS}) VALUES ("
            ));
            let mut s = qb.separated(", ");
            s.push_bind(db(FollowUpId::new()))
                .push_bind(db(g.franchise_id))
                .push_bind(db(gym))
                .push_bind(new.member_id.map(db))
                .push_bind(new.session_id.map(db))
                .push_bind(new.reason)
                .push_bind(FollowUpStatus::Open.as_str())
                .push_bind(DbTime::new(now()))
                .push_bind(None::<DbTime>)
                .push_bind(None::<DbUuid>);
            qb.push(format!(") RETURNING {FOLLOW_UP_COLS}"));
            let row: FollowUpRow = qb
                .build_query_as()
                .fetch_one(&mut *tx)
                .await
                .map_err(map_db_err)?;
            let f = row.into_domain()?;
            // The reason may hold personal data: the audit names ids only.
            audit_tx(
                &mut tx,
                actor,
                Some(g.franchise_id),
                Some(gym),
                "follow_up.create",
                "follow_up",
                Some(f.id.to_string()),
                serde_json::json!({ "session_id": f.session_id.map(|s| s.to_string()) }),
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(f)
        }

        async fn list_follow_ups(
            &self,
            scope: &Scope,
            gym: GymId,
            status: Option<FollowUpStatus>,
            page: PageRequest,
        ) -> StoreResult<Page<FollowUp>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let build = |select: &str| {
                let mut qb = QueryBuilder::<Db>::new(format!(
                    "SELECT {select} FROM follow_ups WHERE gym_id = "
                ));
                qb.push_bind(db(gym));
                push_scope(&mut qb, scope, "franchise_id", "gym_id");
                if let Some(st) = status {
                    qb.push(" AND status = ").push_bind(st.as_str());
                }
                qb
            };
            let (total, rows) = fetch_page::<FollowUpRow>(
                &mut tx,
                build,
                FOLLOW_UP_COLS,
                " ORDER BY created_at DESC, id DESC",
                page,
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            page_of(rows, total, page, FollowUpRow::into_domain)
        }

        async fn resolve_follow_up(
            &self,
            scope: &Scope,
            actor: &Actor,
            gym: GymId,
            id: FollowUpId,
        ) -> StoreResult<FollowUp> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let t = DbTime::new(now());
            let mut qb =
                QueryBuilder::<Db>::new("UPDATE follow_ups SET status = 'done', resolved_at = ");
            qb.push_bind(t)
                .push(", resolved_by = ")
                .push_bind(actor.user_id.map(db))
                .push(" WHERE id = ")
                .push_bind(db(id))
                .push(" AND gym_id = ")
                .push_bind(db(gym))
                .push(" AND status = 'open'");
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            let changed = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected()
                == 1;
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {FOLLOW_UP_COLS} FROM follow_ups WHERE id = "
            ));
            qb.push_bind(db(id))
                .push(" AND gym_id = ")
                .push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            let row: Option<FollowUpRow> = qb
                .build_query_as()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            let f = row
                .ok_or(StoreError::NotFound("follow-up"))?
                .into_domain()?;
            if changed {
                let franchise = match scope.franchise() {
                    Some(fr) => Some(fr),
                    None => Some(fetch_gym(&mut tx, scope, gym).await?.franchise_id),
                };
                audit_tx(
                    &mut tx,
                    actor,
                    franchise,
                    Some(gym),
                    "follow_up.resolve",
                    "follow_up",
                    Some(id.to_string()),
                    serde_json::json!({}),
                )
                .await?;
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(f)
        }

        async fn put_session_analysis(
            &self,
            scope: &Scope,
            session: VoiceSessionId,
            new: NewSessionAnalysis,
        ) -> StoreResult<SessionAnalysis> {
            let new = new.validate().map_err(invalid)?;
            let cost = i64_of("cost_pico", new.cost_pico)?;
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let s = fetch_session(&mut tx, scope, session).await?;
            let row = upsert_analysis(
                &mut tx,
                &s,
                AnalysisWrite {
                    status: AnalysisStatus::Done,
                    failure: None,
                    new,
                },
            )
            .await?;
            charge_analysis(&mut tx, scope, &s, cost).await?;
            tx.commit().await.map_err(map_db_err)?;
            row.into_domain()
        }

        async fn last_summary(
            &self,
            scope: &Scope,
            gym: GymId,
            member: MemberId,
        ) -> StoreResult<Option<SessionAnalysis>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {ANALYSIS_COLS} FROM session_analyses WHERE gym_id = "
            ));
            qb.push_bind(db(gym))
                .push(" AND member_id = ")
                .push_bind(db(member))
                .push(" AND status = 'done'");
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb.push(" ORDER BY created_at DESC, session_id DESC LIMIT 1");
            let row: Option<AnalysisRow> = qb
                .build_query_as()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            row.map(AnalysisRow::into_domain).transpose()
        }

        async fn purge_transcripts(
            &self,
            scope: &Scope,
            gym: GymId,
            before: OffsetDateTime,
            batch: u32,
        ) -> StoreResult<u64> {
            let limit = i64::from(batch.clamp(1, 10_000));
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let mut total = 0;
            for table in ["conversation_turns", "tool_calls"] {
                let mut qb = QueryBuilder::<Db>::new(format!(
                    "DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE gym_id = "
                ));
                qb.push_bind(db(gym))
                    .push(" AND at < ")
                    .push_bind(DbTime::new(before));
                push_scope(&mut qb, scope, "franchise_id", "gym_id");
                qb.push(" ORDER BY at LIMIT ").push_bind(limit).push(")");
                total += qb
                    .build()
                    .execute(&mut *tx)
                    .await
                    .map_err(map_db_err)?
                    .rows_affected();
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(total)
        }
    }

    /// Spend over a month: one gym's (in its scope) or every gym's (in the `Voice` context).
    async fn sum_days(
        tx: &mut Tx,
        gym: Option<(&Scope, GymId)>,
        period: BudgetPeriod,
    ) -> StoreResult<Spend> {
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT CAST(COALESCE(SUM(cost_pico), 0) AS BIGINT), \
             CAST(COALESCE(SUM(sessions), 0) AS BIGINT), \
             CAST(COALESCE(SUM(responses), 0) AS BIGINT), \
             CAST(COALESCE(SUM(transcriptions), 0) AS BIGINT) FROM cost_daily WHERE day >= ",
        );
        qb.push_bind(period.first_day())
            .push(" AND day < ")
            .push_bind(period.end_day());
        if let Some((scope, g)) = gym {
            qb.push(" AND gym_id = ").push_bind(db(g));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
        }
        let (cost, sessions, responses, transcriptions): (i64, i64, i64, i64) = qb
            .build_query_as()
            .fetch_one(&mut **tx)
            .await
            .map_err(map_db_err)?;
        Ok(Spend {
            cost_pico: u64_of("spend", cost)?,
            sessions: u64_of("sessions", sessions)?,
            responses: u64_of("responses", responses)?,
            transcriptions: u64_of("transcriptions", transcriptions)?,
        })
    }

    #[async_trait::async_trait]
    impl PricingStore for ThisStore {
        async fn price_table_at(&self, at: OffsetDateTime) -> StoreResult<PriceTable> {
            let mut tx = self.begin(&TxCtx::Voice, false).await?;
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {PRICE_COLS} FROM model_prices WHERE effective_from <= "
            ));
            qb.push_bind(DbTime::new(at))
                .push(" ORDER BY model, effective_from");
            let rows: Vec<PriceRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            // Rows come by model then date: the last one of each model is the price at `at`.
            let mut table = PriceTable::new();
            for r in rows {
                let e = r.into_domain()?;
                table.set(&e.model, e.price);
            }
            Ok(table)
        }

        async fn list_model_prices(&self) -> StoreResult<Vec<ModelPriceEntry>> {
            let mut tx = self.begin(&TxCtx::Voice, false).await?;
            let rows: Vec<PriceRow> = QueryBuilder::<Db>::new(format!(
                "SELECT {PRICE_COLS} FROM model_prices ORDER BY model, effective_from LIMIT 10000"
            ))
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            rows.into_iter().map(PriceRow::into_domain).collect()
        }

        async fn set_model_price(
            &self,
            scope: &Scope,
            actor: &Actor,
            new: NewModelPrice,
        ) -> StoreResult<ModelPriceEntry> {
            platform_only(scope)?;
            let new = new.validate().map_err(invalid)?;
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let row = insert_price(
                &mut tx,
                &new.model,
                &new.price,
                new.effective_from,
                actor.user_id,
                true,
            )
            .await?
            .ok_or_else(|| StoreError::Internal("a price upsert returned no row".into()))?;
            let e = row.into_domain()?;
            audit_tx(
                &mut tx,
                actor,
                None,
                None,
                "model_price.set",
                "model_price",
                Some(e.model.clone()),
                serde_json::json!({
                    "effective_from": e.effective_from.format(&time::format_description::well_known::Rfc3339).ok(),
                    "price": e.price,
                }),
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(e)
        }

        async fn platform_settings(&self) -> StoreResult<PlatformSettings> {
            let mut tx = self.begin(&TxCtx::Voice, false).await?;
            let s = read_platform_settings(&mut tx).await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(s)
        }

        async fn set_platform_settings(
            &self,
            scope: &Scope,
            actor: &Actor,
            settings: PlatformSettings,
        ) -> StoreResult<PlatformSettings> {
            platform_only(scope)?;
            let s = settings.validate().map_err(invalid)?;
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let before = read_platform_settings(&mut tx).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO platform_settings (id, voice_session_cap, monthly_budget_micros, \
                 hard_stop, realtime_model, transcription_model, updated_at, updated_by) VALUES ('platform', ",
            );
            let mut sep = qb.separated(", ");
            sep.push_bind(i64::from(s.voice_session_cap))
                .push_bind(s.monthly_budget_micros)
                .push_bind(s.hard_stop)
                .push_bind(s.realtime_model.clone())
                .push_bind(s.transcription_model.clone())
                .push_bind(DbTime::new(now()))
                .push_bind(actor.user_id.map(db));
            qb.push(
                ") ON CONFLICT (id) DO UPDATE SET voice_session_cap = excluded.voice_session_cap, \
                 monthly_budget_micros = excluded.monthly_budget_micros, \
                 hard_stop = excluded.hard_stop, realtime_model = excluded.realtime_model, \
                 transcription_model = excluded.transcription_model, \
                 updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            );
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            audit_tx(
                &mut tx,
                actor,
                None,
                None,
                "platform_settings.update",
                "platform_settings",
                None,
                serde_json::json!({ "before": before, "after": s }),
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(s)
        }
    }

    /// A member's voice data in a gym, for a GDPR export.
    pub(super) struct VoiceExport {
        pub sessions: Vec<VoiceSession>,
        pub turns: Vec<ConversationTurn>,
        pub tool_calls: Vec<ToolCall>,
        pub analyses: Vec<SessionAnalysis>,
        pub follow_ups: Vec<FollowUp>,
    }

    /// `col IN (the member's sessions in the gym)`.
    fn push_member_sessions(qb: &mut QueryBuilder<Db>, col: &str, gym: GymId, member: MemberId) {
        qb.push(format!(
            "{col} IN (SELECT id FROM voice_sessions WHERE gym_id = "
        ))
        .push_bind(db(gym))
        .push(" AND member_id = ")
        .push_bind(db(member))
        .push(")");
    }

    pub(super) async fn export_voice(
        tx: &mut Tx,
        scope: &Scope,
        gym: GymId,
        member: MemberId,
    ) -> StoreResult<VoiceExport> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {SESSION_COLS} FROM voice_sessions WHERE gym_id = "
        ));
        qb.push_bind(db(gym))
            .push(" AND member_id = ")
            .push_bind(db(member));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        qb.push(" ORDER BY started_at, id");
        let sessions: Vec<SessionRow> = qb
            .build_query_as()
            .fetch_all(&mut **tx)
            .await
            .map_err(map_db_err)?;

        let mut qb =
            QueryBuilder::<Db>::new(format!("SELECT {TURN_COLS} FROM conversation_turns WHERE "));
        push_member_sessions(&mut qb, "session_id", gym, member);
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        qb.push(" ORDER BY session_id, seq");
        let turns: Vec<TurnRow> = qb
            .build_query_as()
            .fetch_all(&mut **tx)
            .await
            .map_err(map_db_err)?;

        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {TOOL_COLS} FROM tool_calls WHERE "));
        push_member_sessions(&mut qb, "session_id", gym, member);
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        qb.push(" ORDER BY session_id, at, id");
        let tools: Vec<ToolRow> = qb
            .build_query_as()
            .fetch_all(&mut **tx)
            .await
            .map_err(map_db_err)?;

        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {ANALYSIS_COLS} FROM session_analyses WHERE (member_id = "
        ));
        qb.push_bind(db(member)).push(" OR ");
        push_member_sessions(&mut qb, "session_id", gym, member);
        qb.push(") AND gym_id = ").push_bind(db(gym));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        qb.push(" ORDER BY created_at, session_id");
        let analyses: Vec<AnalysisRow> = qb
            .build_query_as()
            .fetch_all(&mut **tx)
            .await
            .map_err(map_db_err)?;

        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {FOLLOW_UP_COLS} FROM follow_ups WHERE (member_id = "
        ));
        qb.push_bind(db(member)).push(" OR ");
        push_member_sessions(&mut qb, "session_id", gym, member);
        qb.push(") AND gym_id = ").push_bind(db(gym));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        qb.push(" ORDER BY created_at, id");
        let follow_ups: Vec<FollowUpRow> = qb
            .build_query_as()
            .fetch_all(&mut **tx)
            .await
            .map_err(map_db_err)?;

        Ok(VoiceExport {
            sessions: sessions
                .into_iter()
                .map(SessionRow::into_domain)
                .collect::<StoreResult<_>>()?,
            turns: turns
                .into_iter()
                .map(TurnRow::into_domain)
                .collect::<StoreResult<_>>()?,
            tool_calls: tools
                .into_iter()
                .map(ToolRow::into_domain)
                .collect::<StoreResult<_>>()?,
            analyses: analyses
                .into_iter()
                .map(AnalysisRow::into_domain)
                .collect::<StoreResult<_>>()?,
            follow_ups: follow_ups
                .into_iter()
                .map(FollowUpRow::into_domain)
                .collect::<StoreResult<_>>()?,
        })
    }

    /// What erasing a member's voice data removed.
    pub(super) struct VoiceErasure {
        pub sessions_anonymized: u64,
        pub turns_deleted: u64,
        pub tool_calls_deleted: u64,
        pub analyses_deleted: u64,
        pub follow_ups_deleted: u64,
    }

    /// Deletes a member's turns, tool calls, analyses and follow-ups (those naming them or
    /// coming from their sessions), then unlinks their sessions, which stay, textless, for cost
    /// accounting. Runs before the member row goes (the session link finds the rows).
    pub(super) async fn erase_voice(
        tx: &mut Tx,
        scope: &Scope,
        gym: GymId,
        member: MemberId,
    ) -> StoreResult<VoiceErasure> {
        let mut deleted = [0_u64; 4];
        for (i, (table, by_member)) in [
            ("conversation_turns", false),
            ("tool_calls", false),
            ("session_analyses", true),
            ("follow_ups", true),
        ]
        .into_iter()
        .enumerate()
        {
            let mut qb = QueryBuilder::<Db>::new(format!("DELETE FROM {table} WHERE ("));
            if by_member {
                qb.push("member_id = ").push_bind(db(member)).push(" OR ");
            }
            push_member_sessions(&mut qb, "session_id", gym, member);
            qb.push(") AND gym_id = ").push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            deleted[i] = qb
                .build()
                .execute(&mut **tx)
                .await
                .map_err(map_db_err)?
                .rows_affected();
        }
        let mut qb =
            QueryBuilder::<Db>::new("UPDATE voice_sessions SET member_id = NULL, updated_at = ");
        qb.push_bind(DbTime::new(now()))
            .push(" WHERE gym_id = ")
            .push_bind(db(gym))
            .push(" AND member_id = ")
            .push_bind(db(member));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        let sessions = qb
            .build()
            .execute(&mut **tx)
            .await
            .map_err(map_db_err)?
            .rows_affected();
        Ok(VoiceErasure {
            sessions_anonymized: sessions,
            turns_deleted: deleted[0],
            tool_calls_deleted: deleted[1],
            analyses_deleted: deleted[2],
            follow_ups_deleted: deleted[3],
        })
    }
}
