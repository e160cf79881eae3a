// Analyses' failures, custom analysis fields and simulations, `include!`d after `voice.rs` by
// both backends. Every query runs in the caller's tenant scope.

mod analysis_sql {
    use super::voice_sql::{
        ANALYSIS_COLS, AnalysisRow, AnalysisWrite, charge_analysis, fetch_session, upsert_analysis,
    };
    use super::*;
    use crate::analysis::*;
    use crate::dbtime::DbTime;
    use jarvis_core::cost::PicoUsd;
    use time::OffsetDateTime;

    const FIELD_COLS: &str =
        "id, franchise_id, gym_id, name, kind, enum_values, description, created_at";

    #[derive(sqlx::FromRow)]
    struct FieldRow {
        id: DbUuid,
        #[allow(dead_code)]
        franchise_id: DbUuid,
        gym_id: DbUuid,
        name: String,
        kind: String,
        enum_values: Json<Vec<String>>,
        description: String,
        created_at: OffsetDateTime,
    }

    impl FieldRow {
        fn into_domain(self) -> StoreResult<AnalysisField> {
            Ok(AnalysisField {
                id: self.id.0.into(),
                gym_id: self.gym_id.0.into(),
                name: self.name,
                kind: AnalysisFieldKind::parse(&self.kind)
                    .ok_or_else(|| StoreError::corrupt("analysis field kind", &self.kind))?,
                enum_values: self.enum_values.0,
                description: self.description,
                created_at: self.created_at,
            })
        }
    }

    const RUN_COLS: &str = "id, franchise_id, gym_id, status, scenarios, passed_count, cost_pico, \
         error, started_at, finished_at";

    #[derive(sqlx::FromRow)]
    struct RunRow {
        id: DbUuid,
        #[allow(dead_code)]
        franchise_id: DbUuid,
        gym_id: DbUuid,
        status: String,
        scenarios: i32,
        passed_count: i32,
        cost_pico: i64,
        error: Option<String>,
        started_at: OffsetDateTime,
        finished_at: Option<OffsetDateTime>,
    }

    fn count(what: &str, n: i64) -> StoreResult<u64> {
        u64::try_from(n).map_err(|_| StoreError::corrupt(what, &n.to_string()))
    }

    fn small(what: &str, n: i32) -> StoreResult<u32> {
        u32::try_from(n).map_err(|_| StoreError::corrupt(what, &n.to_string()))
    }

    fn big(n: PicoUsd) -> StoreResult<i64> {
        i64::try_from(n).map_err(|_| StoreError::Invalid {
            field: "cost_pico",
            message: "is too large".into(),
        })
    }

    impl RunRow {
        fn into_domain(self) -> StoreResult<SimulationRun> {
            Ok(SimulationRun {
                id: self.id.0.into(),
                gym_id: self.gym_id.0.into(),
                status: SimulationStatus::parse(&self.status)
                    .ok_or_else(|| StoreError::corrupt("simulation status", &self.status))?,
                scenarios: small("scenarios", self.scenarios)?,
                passed: small("passed", self.passed_count)?,
                cost_pico: count("simulation cost", self.cost_pico)?,
                error: self.error,
                started_at: self.started_at,
                finished_at: self.finished_at,
            })
        }
    }

    const RESULT_COLS: &str =
        "run_id, seq, scenario, passed, checks, transcript, tool_calls, cost_pico";

    #[derive(sqlx::FromRow)]
    struct ResultRow {
        run_id: DbUuid,
        seq: i32,
        scenario: String,
        passed: bool,
        checks: Json<Vec<SimulationCheck>>,
        transcript: Json<Vec<SimulationLine>>,
        tool_calls: Json<Vec<SimulationToolCall>>,
        cost_pico: i64,
    }

    impl ResultRow {
        fn into_domain(self) -> StoreResult<SimulationResult> {
            Ok(SimulationResult {
                run_id: self.run_id.0.into(),
                seq: small("seq", self.seq)?,
                scenario: self.scenario,
                passed: self.passed,
                checks: self.checks.0,
                transcript: self.transcript.0,
                tool_calls: self.tool_calls.0,
                cost_pico: count("result cost", self.cost_pico)?,
            })
        }
    }

    async fn fetch_analysis(
        tx: &mut Tx,
        scope: &Scope,
        session: VoiceSessionId,
    ) -> StoreResult<Option<SessionAnalysis>> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {ANALYSIS_COLS} FROM session_analyses WHERE session_id = "
        ));
        qb.push_bind(db(session));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        let row: Option<AnalysisRow> = qb
            .build_query_as()
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_db_err)?;
        row.map(AnalysisRow::into_domain).transpose()
    }

    async fn fetch_run(
        tx: &mut Tx,
        scope: &Scope,
        gym: Option<GymId>,
        id: SimulationRunId,
    ) -> StoreResult<SimulationRun> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {RUN_COLS} FROM simulation_runs WHERE id = "
        ));
        qb.push_bind(db(id));
        if let Some(g) = gym {
            qb.push(" AND gym_id = ").push_bind(db(g));
        }
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        let row: Option<RunRow> = qb
            .build_query_as()
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_db_err)?;
        row.ok_or(StoreError::NotFound("simulation run"))?
            .into_domain()
    }

    #[async_trait::async_trait]
    impl AnalysisStore for ThisStore {
        async fn session_analysis(
            &self,
            scope: &Scope,
            session: VoiceSessionId,
        ) -> StoreResult<Option<SessionAnalysis>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let a = fetch_analysis(&mut tx, scope, session).await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(a)
        }

        async fn session_analyses(
            &self,
            scope: &Scope,
            gym: GymId,
            sessions: &[VoiceSessionId],
        ) -> StoreResult<Vec<SessionAnalysis>> {
            if sessions.is_empty() {
                return Ok(Vec::new());
            }
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {ANALYSIS_COLS} FROM session_analyses WHERE gym_id = "
            ));
            qb.push_bind(db(gym)).push(" AND session_id IN (");
            let mut sep = qb.separated(", ");
            for s in sessions.iter().take(500) {
                sep.push_bind(db(*s));
            }
            qb.push(")");
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            let rows: Vec<AnalysisRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            rows.into_iter().map(AnalysisRow::into_domain).collect()
        }

        async fn record_analysis_failure(
            &self,
            scope: &Scope,
            session: VoiceSessionId,
            reason: &str,
            attempts: u32,
            model: &str,
            cost_pico: PicoUsd,
        ) -> StoreResult<SessionAnalysis> {
            let cost = big(cost_pico)?;
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let s = fetch_session(&mut tx, scope, session).await?;
            if let Some(a) = fetch_analysis(&mut tx, scope, session).await?
                && a.status == AnalysisStatus::Done
            {
                return Err(StoreError::Conflict {
                    field: "session_id",
                    constraint: "session_analyses_done",
                    message: "the session already has an analysis".into(),
                });
            }
            let reason: String = reason.chars().take(1000).collect();
            let row = upsert_analysis(
                &mut tx,
                &s,
                AnalysisWrite {
                    status: AnalysisStatus::Failed,
                    failure: Some(reason),
                    new: NewSessionAnalysis {
                        attempts,
                        model: Some(model.to_owned()),
                        cost_pico,
                        ..Default::default()
                    },
                },
            )
            .await?;
            charge_analysis(&mut tx, scope, &s, cost).await?;
            tx.commit().await.map_err(map_db_err)?;
            row.into_domain()
        }

        async fn list_analysis_fields(
            &self,
            scope: &Scope,
            gym: GymId,
        ) -> StoreResult<Vec<AnalysisField>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {FIELD_COLS} FROM analysis_fields WHERE gym_id = "
            ));
            qb.push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb.push(" ORDER BY created_at, id");
            let rows: Vec<FieldRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            rows.into_iter().map(FieldRow::into_domain).collect()
        }

        async fn create_analysis_field(
            &self,
            scope: &Scope,
            actor: &Actor,
            gym: GymId,
            new: NewAnalysisField,
        ) -> StoreResult<AnalysisField> {
            let new = new.validate().map_err(|e| {
                let first = e.0.into_iter().next();
                StoreError::Invalid {
                    field: match first.as_ref().map(|f| f.field.as_str()) {
                        Some("name") => "name",
                        Some("description") => "description",
                        _ => "enum_values",
                    },
                    message: first.map(|f| f.message).unwrap_or_default(),
                }
            })?;
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let g = fetch_gym(&mut tx, scope, gym).await?;
            let mut qb =
                QueryBuilder::<Db>::new("SELECT COUNT(*) FROM analysis_fields WHERE gym_id = ");
            qb.push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            let (n,): (i64,) = qb
                .build_query_as()
                .fetch_one(&mut *tx)
                .await
                .map_err(map_db_err)?;
            if count("fields", n)? >= MAX_ANALYSIS_FIELDS as u64 {
                return Err(StoreError::Invalid {
                    field: "name",
                    message: format!("at most {MAX_ANALYSIS_FIELDS} custom fields"),
                });
            }
            let id = AnalysisFieldId::new();
            let mut qb = QueryBuilder::<Db>::new(format!(
                "INSERT INTO analysis_fields ({FIELD_COLS}) VALUES ("
            ));
            let mut sep = qb.separated(", ");
            sep.push_bind(db(id))
                .push_bind(db(g.franchise_id))
                .push_bind(db(gym))
                .push_bind(new.name.clone())
                .push_bind(new.kind.as_str())
                .push_bind(Json(new.enum_values))
                .push_bind(new.description)
                .push_bind(DbTime::new(now()));
            qb.push(format!(") RETURNING {FIELD_COLS}"));
            let row: FieldRow = qb
                .build_query_as()
                .fetch_one(&mut *tx)
                .await
                .map_err(map_db_err)?;
            audit_tx(
                &mut tx,
                actor,
                Some(g.franchise_id),
                Some(gym),
                "analysis_field.create",
                "analysis_field",
                Some(id.to_string()),
                serde_json::json!({ "name": new.name, "kind": new.kind.as_str() }),
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            row.into_domain()
        }

        async fn delete_analysis_field(
            &self,
            scope: &Scope,
            actor: &Actor,
            gym: GymId,
            id: AnalysisFieldId,
        ) -> StoreResult<()> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let g = fetch_gym(&mut tx, scope, gym).await?;
            let mut qb = QueryBuilder::<Db>::new("DELETE FROM analysis_fields WHERE id = ");
            qb.push_bind(db(id))
                .push(" AND gym_id = ")
                .push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            let n = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound("analysis field"));
            }
            audit_tx(
                &mut tx,
                actor,
                Some(g.franchise_id),
                Some(gym),
                "analysis_field.delete",
                "analysis_field",
                Some(id.to_string()),
                serde_json::json!({}),
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(())
        }

        async fn simulation_scenarios(
            &self,
            scope: &Scope,
            gym: GymId,
        ) -> StoreResult<Option<String>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let mut qb =
                QueryBuilder::<Db>::new("SELECT body FROM simulation_scenarios WHERE gym_id = ");
            qb.push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            let row: Option<(String,)> = qb
                .build_query_as()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(row.map(|r| r.0))
        }

        async fn put_simulation_scenarios(
            &self,
            scope: &Scope,
            actor: &Actor,
            gym: GymId,
            body: &str,
        ) -> StoreResult<()> {
            if body.len() > 256 * 1024 {
                return Err(StoreError::Invalid {
                    field: "scenarios",
                    message: "at most 256 KiB".into(),
                });
            }
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let g = fetch_gym(&mut tx, scope, gym).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO simulation_scenarios (gym_id, franchise_id, body, updated_at) VALUES (",
            );
            let mut sep = qb.separated(", ");
            sep.push_bind(db(gym))
                .push_bind(db(g.franchise_id))
                .push_bind(body.to_owned())
                .push_bind(DbTime::new(now()));
            qb.push(
                ") ON CONFLICT (gym_id) DO UPDATE SET body = excluded.body, \
                 updated_at = excluded.updated_at",
            );
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            audit_tx(
                &mut tx,
                actor,
                Some(g.franchise_id),
                Some(gym),
                "simulation.scenarios",
                "gym",
                Some(gym.to_string()),
                serde_json::json!({ "bytes": body.len() }),
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(())
        }

        async fn start_simulation(&self, scope: &Scope, gym: GymId) -> StoreResult<SimulationRun> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let g = fetch_gym(&mut tx, scope, gym).await?;
            let mut qb = QueryBuilder::<Db>::new(format!(
                "INSERT INTO simulation_runs ({RUN_COLS}) VALUES ("
            ));
            let mut sep = qb.separated(", ");
            sep.push_bind(db(SimulationRunId::new()))
                .push_bind(db(g.franchise_id))
                .push_bind(db(gym))
                .push_bind(SimulationStatus::Running.as_str())
                .push_bind(0_i32)
                .push_bind(0_i32)
                .push_bind(0_i64)
                .push_bind(None::<String>)
                .push_bind(DbTime::new(now()))
                .push_bind(None::<DbTime>);
            qb.push(format!(") RETURNING {RUN_COLS}"));
            let row: RunRow = qb
                .build_query_as()
                .fetch_one(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            row.into_domain()
        }

        async fn add_simulation_result(
            &self,
            scope: &Scope,
            r: &SimulationResult,
        ) -> StoreResult<SimulationRun> {
            let cost = big(r.cost_pico)?;
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let run = fetch_run(&mut tx, scope, None, r.run_id).await?;
            let franchise = fetch_gym(&mut tx, scope, run.gym_id).await?.franchise_id;
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO simulation_results (id, run_id, franchise_id, gym_id, seq, scenario, \
                 passed, checks, transcript, tool_calls, cost_pico, created_at) VALUES (",
            );
            let mut sep = qb.separated(", ");
            sep.push_bind(db(SimulationRunId::new()))
                .push_bind(db(r.run_id))
                .push_bind(db(franchise))
                .push_bind(db(run.gym_id))
                .push_bind(i32::try_from(r.seq).unwrap_or(i32::MAX))
                .push_bind(r.scenario.clone())
                .push_bind(r.passed)
                .push_bind(Json(&r.checks))
                .push_bind(Json(&r.transcript))
                .push_bind(Json(&r.tool_calls))
                .push_bind(cost)
                .push_bind(DbTime::new(now()));
            qb.push(")");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            let mut qb = QueryBuilder::<Db>::new(
                "UPDATE simulation_runs SET scenarios = scenarios + 1, passed_count = passed_count + ",
            );
            qb.push_bind(i32::from(r.passed))
                .push(", cost_pico = cost_pico + ")
                .push_bind(cost)
                .push(" WHERE id = ")
                .push_bind(db(r.run_id));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            let run = fetch_run(&mut tx, scope, None, r.run_id).await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(run)
        }

        async fn finish_simulation(
            &self,
            scope: &Scope,
            run: SimulationRunId,
            error: Option<&str>,
        ) -> StoreResult<SimulationRun> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let r = fetch_run(&mut tx, scope, None, run).await?;
            let status = match error {
                Some(_) => SimulationStatus::Error,
                None if r.passed == r.scenarios && r.scenarios > 0 => SimulationStatus::Passed,
                None => SimulationStatus::Failed,
            };
            let mut qb = QueryBuilder::<Db>::new("UPDATE simulation_runs SET status = ");
            qb.push_bind(status.as_str())
                .push(", error = ")
                .push_bind(error.map(|e| e.chars().take(1000).collect::<String>()))
                .push(", finished_at = ")
                .push_bind(DbTime::new(now()))
                .push(" WHERE id = ")
                .push_bind(db(run));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            let r = fetch_run(&mut tx, scope, None, run).await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(r)
        }

        async fn list_simulation_runs(
            &self,
            scope: &Scope,
            gym: GymId,
            sort: SimulationRunSort,
            page: PageRequest,
        ) -> StoreResult<Page<SimulationRun>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let build = |select: &str| {
                let mut qb = QueryBuilder::<Db>::new(format!(
                    "SELECT {select} FROM simulation_runs WHERE gym_id = "
                ));
                qb.push_bind(db(gym));
                push_scope(&mut qb, scope, "franchise_id", "gym_id");
                qb
            };
            let (total, rows) = fetch_page::<RunRow>(
                &mut tx,
                build,
                RUN_COLS,
                match sort {
                    SimulationRunSort::StartedDesc => " ORDER BY started_at DESC, id DESC",
                    SimulationRunSort::Started => " ORDER BY started_at, id",
                    SimulationRunSort::Status => " ORDER BY status, started_at DESC, id DESC",
                    SimulationRunSort::StatusDesc => {
                        " ORDER BY status DESC, started_at DESC, id DESC"
                    }
                    SimulationRunSort::CostDesc => " ORDER BY cost_pico DESC, id DESC",
                    SimulationRunSort::Cost => " ORDER BY cost_pico, id",
                },
                page,
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            page_of(rows, total, page, RunRow::into_domain)
        }

        async fn simulation_run(
            &self,
            scope: &Scope,
            gym: GymId,
            run: SimulationRunId,
        ) -> StoreResult<(SimulationRun, Vec<SimulationResult>)> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let r = fetch_run(&mut tx, scope, Some(gym), run).await?;
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {RESULT_COLS} FROM simulation_results WHERE run_id = "
            ));
            qb.push_bind(db(run));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb.push(" ORDER BY seq");
            let rows: Vec<ResultRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            let results = rows
                .into_iter()
                .map(ResultRow::into_domain)
                .collect::<StoreResult<Vec<_>>>()?;
            Ok((r, results))
        }
    }
}
