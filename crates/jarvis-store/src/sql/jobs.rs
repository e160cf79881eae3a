// The job queue, instances and shared throttles, `include!`d after `common.rs` by both backends
// (it uses the same `Db`, `Tx`, `ThisStore`, `map_db_err` and helpers, plus the backend's
// `FOR_UPDATE_SKIP_LOCKED`). Everything runs in the `Jobs` or `Throttle` context, never in a
// tenant scope. Timestamps are bound as `DbTime` so SQLite compares them in time order.

mod jobs_sql {
    use super::*;
    use crate::dbtime::DbTime;
    use crate::jobs::*;
    use time::{Duration, OffsetDateTime};

    const JOB_COLS: &str = "id, kind, payload, priority, run_after, status, attempts, \
         max_attempts, idempotency_key, lease_owner, lease_expires_at, last_error, franchise_id, \
         gym_id, created_at, updated_at, finished_at";

    /// Longest error kept on a job or run (errors can embed whole responses).
    const MAX_ERROR_LEN: usize = 4000;

    /// Most jobs one claim takes, whatever the caller asks.
    const MAX_CLAIM: u32 = 1000;

    #[derive(sqlx::FromRow)]
    struct JobRow {
        id: DbUuid,
        kind: String,
        payload: Json<serde_json::Value>,
        priority: i32,
        run_after: OffsetDateTime,
        status: String,
        attempts: i32,
        max_attempts: i32,
        idempotency_key: Option<String>,
        lease_owner: Option<DbUuid>,
        lease_expires_at: Option<OffsetDateTime>,
        last_error: Option<String>,
        franchise_id: Option<DbUuid>,
        gym_id: Option<DbUuid>,
        created_at: OffsetDateTime,
        updated_at: OffsetDateTime,
        finished_at: Option<OffsetDateTime>,
    }

    fn count_u32(what: &str, n: i32) -> StoreResult<u32> {
        u32::try_from(n).map_err(|_| StoreError::corrupt(what, &n.to_string()))
    }

    impl JobRow {
        fn into_domain(self) -> StoreResult<Job> {
            Ok(Job {
                id: self.id.0.into(),
                kind: self.kind,
                payload: self.payload.0,
                priority: self.priority,
                run_after: self.run_after,
                status: JobStatus::parse(&self.status)
                    .ok_or_else(|| StoreError::corrupt("job status", &self.status))?,
                attempts: count_u32("job attempts", self.attempts)?,
                max_attempts: count_u32("job max_attempts", self.max_attempts)?,
                idempotency_key: self.idempotency_key,
                lease_owner: self.lease_owner.map(|u| u.0.into()),
                lease_expires_at: self.lease_expires_at,
                last_error: self.last_error,
                franchise_id: self.franchise_id.map(|u| u.0.into()),
                gym_id: self.gym_id.map(|u| u.0.into()),
                created_at: self.created_at,
                updated_at: self.updated_at,
                finished_at: self.finished_at,
            })
        }
    }

    const RUN_COLS: &str = "id, job_id, kind, attempt, instance_id, started_at, finished_at, \
         duration_ms, outcome, error";

    #[derive(sqlx::FromRow)]
    struct RunRow {
        id: DbUuid,
        job_id: DbUuid,
        kind: String,
        attempt: i32,
        instance_id: DbUuid,
        started_at: OffsetDateTime,
        finished_at: Option<OffsetDateTime>,
        duration_ms: Option<i64>,
        outcome: Option<String>,
        error: Option<String>,
    }

    impl RunRow {
        fn into_domain(self) -> StoreResult<JobRun> {
            let outcome = match self.outcome {
                Some(o) => Some(
                    RunOutcome::parse(&o).ok_or_else(|| StoreError::corrupt("run outcome", &o))?,
                ),
                None => None,
            };
            Ok(JobRun {
                id: self.id.0.into(),
                job_id: self.job_id.0.into(),
                kind: self.kind,
                attempt: count_u32("run attempt", self.attempt)?,
                instance_id: self.instance_id.0.into(),
                started_at: self.started_at,
                finished_at: self.finished_at,
                duration_ms: self.duration_ms,
                outcome,
                error: self.error,
            })
        }
    }

    const INSTANCE_COLS: &str = "id, hostname, pid, version, started_at, heartbeat_at, stopped_at";

    #[derive(sqlx::FromRow)]
    struct InstanceRow {
        id: DbUuid,
        hostname: String,
        pid: i64,
        version: String,
        started_at: OffsetDateTime,
        heartbeat_at: OffsetDateTime,
        stopped_at: Option<OffsetDateTime>,
    }

    impl InstanceRow {
        fn into_domain(self) -> StoreResult<Instance> {
            Ok(Instance {
                id: self.id.0.into(),
                hostname: self.hostname,
                pid: u32::try_from(self.pid)
                    .map_err(|_| StoreError::corrupt("instance pid", &self.pid.to_string()))?,
                version: self.version,
                started_at: self.started_at,
                heartbeat_at: self.heartbeat_at,
                stopped_at: self.stopped_at,
            })
        }
    }

    /// The first validation error of a new job, as a storage error.
    fn invalid(errs: ValidationErrors) -> StoreError {
        let Some(e) = errs.0.into_iter().next() else {
            return StoreError::Internal("empty validation errors".into());
        };
        let field = match e.field.as_str() {
            "kind" => "kind",
            "idempotency_key" => "idempotency_key",
            "max_attempts" => "max_attempts",
            "gym_id" => "gym_id",
            _ => "job",
        };
        StoreError::Invalid {
            field,
            message: e.message,
        }
    }

    fn clip(error: &str) -> String {
        match error.char_indices().nth(MAX_ERROR_LEN) {
            Some((i, _)) => format!("{}…", &error[..i]),
            None => error.to_string(),
        }
    }

    fn millis(d: Duration) -> i64 {
        i64::try_from(d.whole_milliseconds()).unwrap_or(i64::MAX)
    }

    fn to_i32(n: u32) -> i32 {
        i32::try_from(n).unwrap_or(i32::MAX)
    }

    /// Appends `AND col IN (…)` over `values` (never empty here).
    fn push_in(qb: &mut QueryBuilder<Db>, col: &str, values: &[&str]) {
        qb.push(format!(" AND {col} IN ("));
        let mut s = qb.separated(", ");
        for v in values {
            s.push_bind(v.to_string());
        }
        qb.push(")");
    }

    /// The fence of every call made with a claim: the same job, still running, still leased by
    /// the same owner for the same attempt.
    fn push_fence(qb: &mut QueryBuilder<Db>, claim: &Claim) {
        qb.push(" WHERE id = ")
            .push_bind(db(claim.job_id))
            .push(" AND lease_owner = ")
            .push_bind(db(claim.owner))
            .push(" AND attempts = ")
            .push_bind(i64::from(claim.attempt))
            .push(" AND status = 'running'");
    }

    /// Closes the run a claim opened.
    async fn end_run(
        tx: &mut Tx,
        claim: &Claim,
        t: OffsetDateTime,
        outcome: RunOutcome,
        error: Option<String>,
    ) -> StoreResult<()> {
        let mut qb = QueryBuilder::<Db>::new("UPDATE job_runs SET outcome = ");
        qb.push_bind(outcome.as_str())
            .push(", finished_at = ")
            .push_bind(DbTime::new(t))
            .push(", duration_ms = ")
            .push_bind(millis(t - claim.started_at))
            .push(", error = ")
            .push_bind(error)
            .push(" WHERE id = ")
            .push_bind(db(claim.run_id))
            .push(" AND finished_at IS NULL");
        qb.build().execute(&mut **tx).await.map_err(map_db_err)?;
        Ok(())
    }

    /// Closes, as `lease_lost`, the runs still open of `jobs`: their worker stopped renewing
    /// the lease and this claim (or dead-lettering) took the job over.
    async fn close_lost_runs(
        tx: &mut Tx,
        jobs: &[JobId],
        t: OffsetDateTime,
        by: InstanceId,
    ) -> StoreResult<()> {
        if jobs.is_empty() {
            return Ok(());
        }
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT id, started_at FROM job_runs WHERE finished_at IS NULL AND job_id IN (",
        );
        let mut s = qb.separated(", ");
        for j in jobs {
            s.push_bind(db(*j));
        }
        qb.push(")");
        let open: Vec<(DbUuid, OffsetDateTime)> = qb
            .build_query_as()
            .fetch_all(&mut **tx)
            .await
            .map_err(map_db_err)?;
        for (id, started_at) in open {
            let mut qb = QueryBuilder::<Db>::new(
                "UPDATE job_runs SET outcome = 'lease_lost', finished_at = ",
            );
            qb.push_bind(DbTime::new(t))
                .push(", duration_ms = ")
                .push_bind(millis(t - started_at))
                .push(", error = ")
                .push_bind(format!(
                    "lease expired without renewal (noticed by instance {by})"
                ))
                .push(" WHERE id = ")
                .push_bind(id);
            qb.build().execute(&mut **tx).await.map_err(map_db_err)?;
        }
        Ok(())
    }

    async fn fetch_job(tx: &mut Tx, id: JobId) -> StoreResult<Job> {
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {JOB_COLS} FROM jobs WHERE id = "));
        qb.push_bind(db(id));
        let row: Option<JobRow> = qb
            .build_query_as()
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_db_err)?;
        row.ok_or(StoreError::NotFound("job"))?.into_domain()
    }

    async fn job_exists(tx: &mut Tx, id: JobId) -> StoreResult<()> {
        fetch_job(tx, id).await.map(|_| ())
    }

    #[async_trait::async_trait]
    impl JobStore for ThisStore {
        async fn enqueue(&self, new: NewJob) -> StoreResult<Enqueued> {
            let new = new.validate().map_err(invalid)?;
            let t = now();
            let mut tx = self.begin(&TxCtx::Jobs, true).await?;
            let mut qb = QueryBuilder::<Db>::new(format!("INSERT INTO jobs ({JOB_COLS}) VALUES ("));
            let mut s = qb.separated(", ");
            s.push_bind(db(JobId::new()))
                .push_bind(new.kind)
                .push_bind(Json(new.payload))
                .push_bind(new.priority)
                .push_bind(DbTime::new(new.run_after.unwrap_or(t)))
                .push_bind(JobStatus::Queued.as_str())
                .push_bind(0_i32)
                .push_bind(to_i32(new.max_attempts))
                .push_bind(new.idempotency_key.clone())
                .push_bind(None::<DbUuid>)
                .push_bind(None::<DbTime>)
                .push_bind(None::<String>)
                .push_bind(new.franchise_id.map(db))
                .push_bind(new.gym_id.map(db))
                .push_bind(DbTime::new(t))
                .push_bind(DbTime::new(t))
                .push_bind(None::<DbTime>);
            // A taken key inserts nothing (the concurrent twin waits for the first to commit,
            // then does nothing); the existing job is read back below.
            qb.push(format!(
                ") ON CONFLICT (idempotency_key) DO NOTHING RETURNING {JOB_COLS}"
            ));
            let inserted: Option<JobRow> = qb
                .build_query_as()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            let out = match (inserted, new.idempotency_key) {
                (Some(row), _) => Enqueued {
                    job: row.into_domain()?,
                    created: true,
                },
                (None, Some(key)) => {
                    let mut qb = QueryBuilder::<Db>::new(format!(
                        "SELECT {JOB_COLS} FROM jobs WHERE idempotency_key = "
                    ));
                    qb.push_bind(key);
                    let row: JobRow = qb
                        .build_query_as()
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(map_db_err)?;
                    Enqueued {
                        job: row.into_domain()?,
                        created: false,
                    }
                }
                (None, None) => {
                    return Err(StoreError::Internal(
                        "a job without idempotency key was not inserted".into(),
                    ));
                }
            };
            tx.commit().await.map_err(map_db_err)?;
            Ok(out)
        }

        async fn claim(
            &self,
            owner: InstanceId,
            kinds: &[&str],
            n: u32,
            lease: Duration,
        ) -> StoreResult<Vec<ClaimedJob>> {
            if kinds.is_empty() || n == 0 {
                return Ok(Vec::new());
            }
            let t = now();
            let until = t + lease;
            let mut tx = self.begin(&TxCtx::Jobs, true).await?;

            // A lease that expired on the last attempt: the job probably kills its worker, so
            // it is dead-lettered rather than handed to the next instance, whatever its kind (this
            // runs nothing). Rows another claimer holds are skipped (it is dead-lettering them),
            // so claimers never wait on each other.
            let mut qb = QueryBuilder::<Db>::new(
                "WITH lost AS MATERIALIZED (SELECT id FROM jobs WHERE status IN ('queued', 'running') \
                 AND status = 'running' \
                 AND attempts >= max_attempts AND lease_expires_at < ",
            );
            qb.push_bind(DbTime::new(t))
                .push(" LIMIT ")
                .push_bind(i64::from(MAX_CLAIM))
                .push(FOR_UPDATE_SKIP_LOCKED)
                .push(
                    ") UPDATE jobs SET status = 'dead', lease_owner = NULL, lease_expires_at = NULL, \
                     last_error = 'the lease of the last attempt expired without renewal', finished_at = ",
                )
                .push_bind(DbTime::new(t))
                .push(", updated_at = ")
                .push_bind(DbTime::new(t))
                .push(" WHERE id IN (SELECT id FROM lost) RETURNING id");
            let dead: Vec<DbUuid> = qb
                .build_query_scalar()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;

            // The claim itself: pick (skipping rows other claimers hold, on PostgreSQL), then
            // take them in one statement. The pick is materialized so it runs exactly once; its
            // literal `status IN (…)` lets SQLite use the partial index `jobs_claim_idx` (only
            // unfinished jobs, in claim order) instead of scanning the history, and `kind || ''`
            // keeps SQLite (without statistics) from preferring `jobs_kind_idx`, which would
            // walk every finished job of the kind.
            let mut qb = QueryBuilder::<Db>::new(
                "WITH picked AS MATERIALIZED (SELECT id FROM jobs WHERE status IN ('queued', 'running') \
                 AND ((status = 'queued' AND run_after <= ",
            );
            qb.push_bind(DbTime::new(t))
                .push(
                    ") OR (status = 'running' AND attempts < max_attempts AND lease_expires_at < ",
                )
                .push_bind(DbTime::new(t))
                .push("))");
            push_in(&mut qb, "kind || ''", kinds);
            qb.push(" ORDER BY priority DESC, run_after, id LIMIT ")
                .push_bind(i64::from(n.min(MAX_CLAIM)))
                .push(FOR_UPDATE_SKIP_LOCKED)
                .push(
                    ") UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = ",
                )
                .push_bind(db(owner))
                .push(", lease_expires_at = ")
                .push_bind(DbTime::new(until))
                .push(", updated_at = ")
                .push_bind(DbTime::new(t))
                .push(format!(
                    " WHERE id IN (SELECT id FROM picked) RETURNING {JOB_COLS}"
                ));
            let rows: Vec<JobRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            let mut jobs = rows
                .into_iter()
                .map(JobRow::into_domain)
                .collect::<StoreResult<Vec<_>>>()?;
            // RETURNING keeps no order: hand them out in claim order.
            jobs.sort_by(|a, b| {
                b.priority
                    .cmp(&a.priority)
                    .then(a.run_after.cmp(&b.run_after))
                    .then(a.id.cmp(&b.id))
            });

            // Only a job claimed before can have a run left open (a first claim has none).
            let mut taken: Vec<JobId> = dead.into_iter().map(|u| u.0.into()).collect();
            taken.extend(jobs.iter().filter(|j| j.attempts > 1).map(|j| j.id));
            close_lost_runs(&mut tx, &taken, t, owner).await?;

            let mut claimed = Vec::with_capacity(jobs.len());
            if !jobs.is_empty() {
                let mut qb = QueryBuilder::<Db>::new(
                    "INSERT INTO job_runs (id, job_id, kind, attempt, instance_id, started_at) ",
                );
                let runs: Vec<(JobRunId, &Job)> =
                    jobs.iter().map(|j| (JobRunId::new(), j)).collect();
                qb.push_values(&runs, |mut b, (run, job)| {
                    b.push_bind(db(*run))
                        .push_bind(db(job.id))
                        .push_bind(job.kind.clone())
                        .push_bind(to_i32(job.attempts))
                        .push_bind(db(owner))
                        .push_bind(DbTime::new(t));
                });
                qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
                for (run, job) in &runs {
                    claimed.push(ClaimedJob {
                        claim: Claim {
                            job_id: job.id,
                            run_id: *run,
                            owner,
                            attempt: job.attempts,
                            started_at: t,
                        },
                        job: (*job).clone(),
                    });
                }
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(claimed)
        }

        async fn heartbeat(&self, claim: &Claim, lease: Duration) -> StoreResult<bool> {
            let t = now();
            let mut tx = self.begin(&TxCtx::Jobs, true).await?;
            let mut qb = QueryBuilder::<Db>::new("UPDATE jobs SET lease_expires_at = ");
            qb.push_bind(DbTime::new(t + lease))
                .push(", updated_at = ")
                .push_bind(DbTime::new(t));
            push_fence(&mut qb, claim);
            let held = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected()
                == 1;
            tx.commit().await.map_err(map_db_err)?;
            Ok(held)
        }

        async fn complete(&self, claim: &Claim) -> StoreResult<bool> {
            let t = now();
            let mut tx = self.begin(&TxCtx::Jobs, true).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "UPDATE jobs SET status = 'succeeded', lease_owner = NULL, lease_expires_at = NULL, finished_at = ",
            );
            qb.push_bind(DbTime::new(t))
                .push(", updated_at = ")
                .push_bind(DbTime::new(t));
            push_fence(&mut qb, claim);
            let held = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected()
                == 1;
            if held {
                end_run(&mut tx, claim, t, RunOutcome::Succeeded, None).await?;
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(held)
        }

        async fn fail(
            &self,
            claim: &Claim,
            error: &str,
            retry_at: Option<OffsetDateTime>,
        ) -> StoreResult<Option<RunOutcome>> {
            let t = now();
            let error = clip(error);
            let mut tx = self.begin(&TxCtx::Jobs, true).await?;
            let mut qb = QueryBuilder::<Db>::new("UPDATE jobs SET ");
            match retry_at {
                // Retried while attempts remain; the last failed attempt makes it dead.
                Some(at) => {
                    qb.push(
                        "status = CASE WHEN attempts < max_attempts THEN 'queued' ELSE 'dead' END, \
                         run_after = CASE WHEN attempts < max_attempts THEN ",
                    )
                    .push_bind(DbTime::new(at))
                    .push(" ELSE run_after END, finished_at = CASE WHEN attempts < max_attempts THEN NULL ELSE ")
                    .push_bind(DbTime::new(t))
                    .push(" END");
                }
                None => {
                    qb.push("status = 'failed', finished_at = ")
                        .push_bind(DbTime::new(t));
                }
            }
            qb.push(", lease_owner = NULL, lease_expires_at = NULL, last_error = ")
                .push_bind(error.clone())
                .push(", updated_at = ")
                .push_bind(DbTime::new(t));
            push_fence(&mut qb, claim);
            qb.push(" RETURNING status");
            let status: Option<String> = qb
                .build_query_scalar()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            let outcome = match status.as_deref() {
                None => None,
                Some("queued") => Some(RunOutcome::Retrying),
                Some("dead") => Some(RunOutcome::Dead),
                Some("failed") => Some(RunOutcome::Failed),
                Some(other) => return Err(StoreError::corrupt("job status after fail", other)),
            };
            if let Some(o) = outcome {
                end_run(&mut tx, claim, t, o, Some(error)).await?;
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(outcome)
        }

        async fn release(&self, claim: &Claim) -> StoreResult<bool> {
            let t = now();
            let mut tx = self.begin(&TxCtx::Jobs, true).await?;
            // `run_after` stays: the job keeps its place in the queue.
            let mut qb = QueryBuilder::<Db>::new(
                "UPDATE jobs SET status = 'queued', max_attempts = max_attempts + 1, \
                 lease_owner = NULL, lease_expires_at = NULL, updated_at = ",
            );
            qb.push_bind(DbTime::new(t));
            push_fence(&mut qb, claim);
            let held = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected()
                == 1;
            if held {
                end_run(&mut tx, claim, t, RunOutcome::Released, None).await?;
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(held)
        }

        async fn job(&self, id: JobId) -> StoreResult<Job> {
            let mut tx = self.begin(&TxCtx::Jobs, false).await?;
            let job = fetch_job(&mut tx, id).await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(job)
        }

        async fn list_jobs(&self, filter: &JobFilter, page: PageRequest) -> StoreResult<Page<Job>> {
            let mut tx = self.begin(&TxCtx::Jobs, false).await?;
            let build = |select: &str| {
                let mut qb =
                    QueryBuilder::<Db>::new(format!("SELECT {select} FROM jobs WHERE 1 = 1"));
                if let Some(k) = &filter.kind {
                    qb.push(" AND kind = ").push_bind(k.clone());
                }
                if let Some(s) = filter.status {
                    qb.push(" AND status = ").push_bind(s.as_str());
                }
                if let Some(f) = filter.franchise_id {
                    qb.push(" AND franchise_id = ").push_bind(db(f));
                }
                if let Some(g) = filter.gym_id {
                    qb.push(" AND gym_id = ").push_bind(db(g));
                }
                qb
            };
            let (total, rows) = fetch_page::<JobRow>(
                &mut tx,
                build,
                JOB_COLS,
                " ORDER BY created_at DESC, id DESC",
                page,
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            page_of(rows, total, page, JobRow::into_domain)
        }

        async fn job_runs(
            &self,
            filter: &JobRunFilter,
            page: PageRequest,
        ) -> StoreResult<Page<JobRun>> {
            let mut tx = self.begin(&TxCtx::Jobs, false).await?;
            let build = |select: &str| {
                let mut qb =
                    QueryBuilder::<Db>::new(format!("SELECT {select} FROM job_runs WHERE 1 = 1"));
                if let Some(k) = &filter.kind {
                    qb.push(" AND kind = ").push_bind(k.clone());
                }
                if let Some(j) = filter.job_id {
                    qb.push(" AND job_id = ").push_bind(db(j));
                }
                qb
            };
            let (total, rows) = fetch_page::<RunRow>(
                &mut tx,
                build,
                RUN_COLS,
                // Runs still going have no duration: last both ways, portably (no NULLS LAST).
                match filter.sort {
                    JobRunSort::StartedDesc => " ORDER BY started_at DESC, id DESC",
                    JobRunSort::Started => " ORDER BY started_at, id",
                    JobRunSort::Kind => " ORDER BY kind, started_at DESC, id DESC",
                    JobRunSort::KindDesc => " ORDER BY kind DESC, started_at DESC, id DESC",
                    JobRunSort::DurationDesc => {
                        " ORDER BY CASE WHEN duration_ms IS NULL THEN 1 ELSE 0 END, \
                         duration_ms DESC, id DESC"
                    }
                    JobRunSort::Duration => {
                        " ORDER BY CASE WHEN duration_ms IS NULL THEN 1 ELSE 0 END, \
                         duration_ms, id"
                    }
                },
                page,
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            page_of(rows, total, page, RunRow::into_domain)
        }

        async fn last_run_per_kind(&self) -> StoreResult<Vec<JobRun>> {
            let mut tx = self.begin(&TxCtx::Jobs, false).await?;
            let sql = format!(
                "SELECT {RUN_COLS} FROM (SELECT {RUN_COLS}, ROW_NUMBER() OVER \
                 (PARTITION BY kind ORDER BY started_at DESC, id DESC) AS rn FROM job_runs) latest \
                 WHERE rn = 1 ORDER BY kind"
            );
            let rows: Vec<RunRow> = QueryBuilder::<Db>::new(sql)
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            rows.into_iter().map(RunRow::into_domain).collect()
        }

        async fn queue_depth(&self) -> StoreResult<Vec<KindDepth>> {
            let t = DbTime::new(now());
            let mut tx = self.begin(&TxCtx::Jobs, false).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT kind, SUM(CASE WHEN status = 'queued' AND run_after <= ",
            );
            qb.push_bind(t)
                .push(" THEN 1 ELSE 0 END), SUM(CASE WHEN status = 'queued' AND run_after > ")
                .push_bind(t)
                .push(
                    " THEN 1 ELSE 0 END), SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END), \
                     SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), \
                     SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END), \
                     MIN(CASE WHEN status = 'queued' THEN run_after END) \
                     FROM jobs WHERE status IN ('queued', 'running', 'failed', 'dead') \
                     GROUP BY kind ORDER BY kind",
                );
            type DepthRow = (String, i64, i64, i64, i64, i64, Option<OffsetDateTime>);
            let rows: Vec<DepthRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            let n = |v: i64| u64::try_from(v).unwrap_or(0);
            Ok(rows
                .into_iter()
                .map(
                    |(kind, due, scheduled, running, failed, dead, next_run_after)| KindDepth {
                        kind,
                        due: n(due),
                        scheduled: n(scheduled),
                        running: n(running),
                        failed: n(failed),
                        dead: n(dead),
                        next_run_after,
                    },
                )
                .collect())
        }

        async fn retry_job(&self, id: JobId, extra_attempts: u32) -> StoreResult<bool> {
            let t = now();
            let extra = extra_attempts.clamp(1, MAX_ATTEMPTS);
            let mut tx = self.begin(&TxCtx::Jobs, true).await?;
            // `attempts` never decreases (it fences claims): the budget grows instead.
            let mut qb = QueryBuilder::<Db>::new(
                "UPDATE jobs SET status = 'queued', finished_at = NULL, max_attempts = attempts + ",
            );
            qb.push_bind(to_i32(extra))
                .push(", run_after = ")
                .push_bind(DbTime::new(t))
                .push(", updated_at = ")
                .push_bind(DbTime::new(t))
                .push(" WHERE id = ")
                .push_bind(db(id))
                .push(" AND status IN ('dead', 'failed', 'cancelled')");
            let done = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected()
                == 1;
            if !done {
                job_exists(&mut tx, id).await?;
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(done)
        }

        async fn cancel_job(&self, id: JobId) -> StoreResult<bool> {
            let t = DbTime::new(now());
            let mut tx = self.begin(&TxCtx::Jobs, true).await?;
            let mut qb =
                QueryBuilder::<Db>::new("UPDATE jobs SET status = 'cancelled', finished_at = ");
            qb.push_bind(t)
                .push(", updated_at = ")
                .push_bind(t)
                .push(" WHERE id = ")
                .push_bind(db(id))
                .push(" AND status = 'queued'");
            let done = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected()
                == 1;
            if !done {
                job_exists(&mut tx, id).await?;
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(done)
        }

        async fn purge_jobs(&self, before: OffsetDateTime, batch: u32) -> StoreResult<u64> {
            let b = DbTime::new(before);
            let limit = i64::from(batch.clamp(1, 10_000));
            let mut tx = self.begin(&TxCtx::Jobs, true).await?;
            // Runs go with their job (ON DELETE CASCADE).
            let mut qb = QueryBuilder::<Db>::new(
                "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE finished_at < ",
            );
            qb.push_bind(b)
                .push(" ORDER BY finished_at LIMIT ")
                .push_bind(limit)
                .push(")");
            let mut total = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected();
            let mut qb = QueryBuilder::<Db>::new(
                "DELETE FROM instances WHERE id IN (SELECT id FROM instances WHERE heartbeat_at < ",
            );
            qb.push_bind(b)
                .push(" ORDER BY heartbeat_at LIMIT ")
                .push_bind(limit)
                .push(")");
            total += qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected();
            tx.commit().await.map_err(map_db_err)?;
            Ok(total)
        }
    }

    #[async_trait::async_trait]
    impl InstanceStore for ThisStore {
        async fn register_instance(&self, new: NewInstance) -> StoreResult<Instance> {
            let t = now();
            let mut tx = self.begin(&TxCtx::Jobs, true).await?;
            let mut qb = QueryBuilder::<Db>::new(format!(
                "INSERT INTO instances ({INSTANCE_COLS}) VALUES ("
            ));
            let mut s = qb.separated(", ");
            s.push_bind(db(InstanceId::new()))
                .push_bind(new.hostname)
                .push_bind(i64::from(new.pid))
                .push_bind(new.version)
                .push_bind(DbTime::new(t))
                .push_bind(DbTime::new(t))
                .push_bind(None::<DbTime>);
            qb.push(format!(") RETURNING {INSTANCE_COLS}"));
            let row: InstanceRow = qb
                .build_query_as()
                .fetch_one(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            row.into_domain()
        }

        async fn instance_heartbeat(&self, id: InstanceId) -> StoreResult<bool> {
            let mut tx = self.begin(&TxCtx::Jobs, true).await?;
            let mut qb = QueryBuilder::<Db>::new("UPDATE instances SET heartbeat_at = ");
            qb.push_bind(DbTime::new(now()))
                .push(" WHERE id = ")
                .push_bind(db(id))
                .push(" AND stopped_at IS NULL");
            let done = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(map_db_err)?
                .rows_affected()
                == 1;
            tx.commit().await.map_err(map_db_err)?;
            Ok(done)
        }

        async fn instance_stopped(&self, id: InstanceId) -> StoreResult<()> {
            let t = DbTime::new(now());
            let mut tx = self.begin(&TxCtx::Jobs, true).await?;
            let mut qb = QueryBuilder::<Db>::new("UPDATE instances SET stopped_at = ");
            qb.push_bind(t)
                .push(", heartbeat_at = ")
                .push_bind(t)
                .push(" WHERE id = ")
                .push_bind(db(id))
                .push(" AND stopped_at IS NULL");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)
        }

        async fn list_instances(&self, alive_within: Duration) -> StoreResult<Vec<Instance>> {
            let mut tx = self.begin(&TxCtx::Jobs, false).await?;
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {INSTANCE_COLS} FROM instances WHERE stopped_at IS NULL AND heartbeat_at >= "
            ));
            qb.push_bind(DbTime::new(now() - alive_within))
                .push(" ORDER BY started_at, id");
            let rows: Vec<InstanceRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            rows.into_iter().map(InstanceRow::into_domain).collect()
        }

        async fn stale_instances(&self, silent_for: Duration) -> StoreResult<Vec<Instance>> {
            let mut tx = self.begin(&TxCtx::Jobs, false).await?;
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {INSTANCE_COLS} FROM instances WHERE stopped_at IS NULL AND heartbeat_at < "
            ));
            qb.push_bind(DbTime::new(now() - silent_for))
                .push(" ORDER BY heartbeat_at, id LIMIT 1000");
            let rows: Vec<InstanceRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            rows.into_iter().map(InstanceRow::into_domain).collect()
        }
    }

    #[async_trait::async_trait]
    impl ThrottleStore for ThisStore {
        async fn throttle_hit(
            &self,
            key: &str,
            limit: u32,
            window: Duration,
        ) -> StoreResult<ThrottleVerdict> {
            let t = now();
            let end = DbTime::new(t + window);
            let tn = DbTime::new(t);
            let mut tx = self.begin(&TxCtx::Throttle, true).await?;
            // One statement: concurrent hits on one key serialize on its row, each seeing the
            // count the previous one left. SET expressions read the row as it was before.
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO throttles (throttle_key, hits, window_start, expires_at) VALUES (",
            );
            qb.push_bind(key.to_string())
                .push(", 1, ")
                .push_bind(tn)
                .push(", ")
                .push_bind(end)
                .push(
                    ") ON CONFLICT (throttle_key) DO UPDATE SET \
                     hits = CASE WHEN throttles.expires_at <= ",
                )
                .push_bind(tn)
                .push(" THEN 1 ELSE throttles.hits + 1 END, window_start = CASE WHEN throttles.expires_at <= ")
                .push_bind(tn)
                .push(" THEN ")
                .push_bind(tn)
                .push(" ELSE throttles.window_start END, expires_at = CASE WHEN throttles.expires_at <= ")
                .push_bind(tn)
                .push(" THEN ")
                .push_bind(end)
                .push(" ELSE throttles.expires_at END RETURNING hits, expires_at");
            let (hits, expires_at): (i64, OffsetDateTime) = qb
                .build_query_as()
                .fetch_one(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(verdict(hits, i64::from(limit), expires_at, t, false))
        }

        async fn throttle_check(&self, key: &str, limit: u32) -> StoreResult<ThrottleVerdict> {
            let t = now();
            let mut tx = self.begin(&TxCtx::Throttle, false).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT hits, expires_at FROM throttles WHERE throttle_key = ",
            );
            qb.push_bind(key.to_string())
                .push(" AND expires_at > ")
                .push_bind(DbTime::new(t));
            let row: Option<(i64, OffsetDateTime)> = qb
                .build_query_as()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(match row {
                Some((hits, expires_at)) => verdict(hits, i64::from(limit), expires_at, t, true),
                None => ThrottleVerdict::Allowed { remaining: limit },
            })
        }

        async fn throttle_reset(&self, key: &str) -> StoreResult<()> {
            let mut tx = self.begin(&TxCtx::Throttle, true).await?;
            let mut qb = QueryBuilder::<Db>::new("DELETE FROM throttles WHERE throttle_key = ");
            qb.push_bind(key.to_string());
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)
        }
    }

    /// The verdict for a window holding `hits` that ends at `expires_at`. After a hit (the hit
    /// is among them) it was allowed while `hits <= limit`; a check asks whether one more fits.
    /// `remaining` is what is left of the window either way.
    fn verdict(
        hits: i64,
        limit: i64,
        expires_at: OffsetDateTime,
        t: OffsetDateTime,
        check: bool,
    ) -> ThrottleVerdict {
        let allowed = if check { hits < limit } else { hits <= limit };
        if allowed {
            ThrottleVerdict::Allowed {
                remaining: u32::try_from(limit - hits).unwrap_or(0),
            }
        } else {
            ThrottleVerdict::Limited {
                retry_after: (expires_at - t).max(Duration::ZERO),
            }
        }
    }
}
