//! The job kinds this server runs: the built-in declarations of `jarvis_app::jobs::builtin`
//! bound to their handlers. Kinds whose handlers need only storage are bound in `jarvis-app`;
//! the ones below still need server pieces (the e-mail outbox, the import sweep, the voice
//! reaper's OpenAI client, the master key sealing the weekly reports' e-mails).

use crate::state::AppState;
use jarvis_app::jobs::{JobError, JobSpec, Registry, RegistryError, builtin};

/// The registry of every kind this configuration runs.
pub fn registry(state: &AppState) -> Result<Registry, RegistryError> {
    let mut r = Registry::new();
    let diag_lease = state.config.jobs_diagnostics.then(|| {
        time::Duration::try_from(state.config.jobs_diag_lease).unwrap_or(time::Duration::MINUTE)
    });
    builtin::register_store_kinds(&mut r, state.store.clone(), diag_lease)?;
    if state.config.backup.daily {
        jarvis_app::backups::register(&mut r, state.store.clone(), &state.config)?;
    }
    let st = state.clone();
    r.register(builtin::MAIL_DRAIN, move |_, _| {
        let st = st.clone();
        async move {
            let report = st.auth.accounts.deliver_outbox(&st.mailer).await;
            if report.retrying + report.failed > 0 {
                tracing::warn!(
                    sent = report.sent,
                    retrying = report.retrying,
                    failed = report.failed,
                    "e-mail drain"
                );
            }
            Ok(())
        }
    })?;
    let (store, policy) = (state.store.clone(), state.config.retention);
    r.register(builtin::RETENTION_PURGE, move |ctx, _| {
        let store = store.clone();
        async move {
            let report = jarvis_app::retention::sweep(
                store.as_ref(),
                policy,
                time::OffsetDateTime::now_utc(),
                || ctx.is_cancelled(),
            )
            .await
            .map_err(JobError::retryable)?;
            if report.total() > 0 {
                tracing::info!(
                    requests = report.requests,
                    auth_events = report.auth_events,
                    audit = report.audit,
                    vitals = report.vitals,
                    errors = report.errors,
                    transcripts = report.transcripts,
                    "retention sweep"
                );
            }
            Ok(())
        }
    })?;
    let (store, config, master) = (
        state.store.clone(),
        state.config.clone(),
        state.auth.master.clone(),
    );
    r.register(builtin::REPORTS_WEEKLY, move |ctx, _| {
        let (store, config, master) = (store.clone(), config.clone(), master.clone());
        async move {
            let deps = jarvis_app::reports::ReportDeps {
                store,
                objects: jarvis_app::objects::Objects::from_config(&config)
                    .map_err(JobError::retryable)?,
                master,
                public_base: jarvis_app::accounts::public_base(&config),
            };
            let run =
                jarvis_app::reports::run_weekly(&deps, time::OffsetDateTime::now_utc(), || {
                    ctx.is_cancelled()
                })
                .await
                .map_err(JobError::retryable)?;
            tracing::info!(
                created = run.created,
                existing = run.existing,
                emails = run.emails,
                "weekly reports"
            );
            Ok(())
        }
    })?;
    // Usage against the plan limits (the object store is listed on each run).
    let (store, config, master) = (
        state.store.clone(),
        state.config.clone(),
        state.auth.master.clone(),
    );
    r.register(jarvis_app::usage::USAGE_CHECK, move |_, _| {
        let (store, config, master) = (store.clone(), config.clone(), master.clone());
        async move {
            let storage = match jarvis_app::objects::Objects::from_config(&config) {
                Ok(o) => match jarvis_app::usage::storage_usage(&o).await {
                    Ok(s) => Some(s),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot measure the object store's usage");
                        None
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "cannot open the object store to measure it");
                    None
                }
            };
            let base = jarvis_app::accounts::public_base(&config);
            let mail = jarvis_app::usage::AlertMail {
                master: &master,
                public_base: &base,
            };
            let report = jarvis_app::usage::check(
                store.as_ref(),
                storage.as_ref(),
                &config.usage_limits,
                &mail,
                time::OffsetDateTime::now_utc(),
            )
            .await
            .map_err(JobError::retryable)?;
            if report.alerts > 0 {
                tracing::warn!(alerts = report.alerts, "usage limits reached");
            }
            Ok(())
        }
    })?;
    // The provider's bill against the meter (nothing to do without an admin key).
    let (store, config, master, openai) = (
        state.store.clone(),
        state.config.clone(),
        state.auth.master.clone(),
        state.openai.clone(),
    );
    r.register(jarvis_app::costs::COSTS_RECONCILE, move |_, _| {
        let (store, config, master, openai) = (
            store.clone(),
            config.clone(),
            master.clone(),
            openai.clone(),
        );
        async move {
            let Some(key) = config.openai_admin_key.as_ref() else {
                tracing::debug!("no openai_admin_key: cost reconciliation skipped");
                return Ok(());
            };
            let key = jarvis_openai::ApiKey::new(key.expose());
            let base = jarvis_app::accounts::public_base(&config);
            let report = jarvis_app::costs::reconcile(
                store.as_ref(),
                openai.as_ref(),
                &key,
                config.cost_reconcile,
                (&master, &base),
                time::OffsetDateTime::now_utc(),
            )
            .await
            .map_err(JobError::retryable)?;
            if report.over_margin > 0 {
                tracing::warn!(
                    days = report.over_margin,
                    alerts = report.alerts,
                    "billed and metered AI costs differ beyond the margin"
                );
            }
            Ok(())
        }
    })?;
    // Kiosk health alerts e-mail the gym's managers (sealed with the master key).
    let (store, master, base, offline_after) = (
        state.store.clone(),
        state.auth.master.clone(),
        jarvis_app::accounts::public_base(&state.config),
        state.config.kiosk_offline_after,
    );
    r.register(jarvis_app::kiosk_health::KIOSKS_HEALTH, move |_, _| {
        let (store, master, base) = (store.clone(), master.clone(), base.clone());
        async move {
            let alerts = jarvis_app::kiosk_health::HealthAlerts {
                master: &master,
                public_base: &base,
            };
            jarvis_app::kiosk_health::check(
                store.as_ref(),
                &alerts,
                offline_after,
                time::OffsetDateTime::now_utc(),
            )
            .await
            .map_err(JobError::retryable)?;
            Ok(())
        }
    })?;
    let store = state.store.clone();
    r.register(builtin::IMPORTS_SWEEP, move |_, _| {
        let store = store.clone();
        async move {
            let n = crate::imports::sweep_stale_imports(store.as_ref())
                .await
                .map_err(JobError::retryable)?;
            if n > 0 {
                tracing::warn!(jobs = n, "marked interrupted imports failed");
            }
            Ok(())
        }
    })?;
    let (store, openai) = (state.store.clone(), state.openai.clone());
    r.register(builtin::VOICE_REAP, move |ctx, _| {
        let (store, openai) = (store.clone(), openai.clone());
        async move {
            for pass in 0..2 {
                if pass > 0 {
                    tokio::select! {
                        () = tokio::time::sleep(builtin::VOICE_REAP_PASS_EVERY) => {}
                        () = ctx.cancelled() => return Ok(()),
                    }
                }
                let report = jarvis_voice::reap(
                    store.as_ref(),
                    openai.as_ref(),
                    builtin::VOICE_REAP_STALE_AFTER,
                )
                .await
                .map_err(JobError::retryable)?;
                if report.reaped > 0 {
                    tracing::warn!(
                        reaped = report.reaped,
                        hung_up = report.hung_up,
                        "reaped voice calls of dead instances"
                    );
                }
            }
            Ok(())
        }
    })?;
    let (store, openai) = (state.store.clone(), state.openai.clone());
    let analysis = jarvis_voice::AnalysisConfig {
        model: state.config.analysis_model.clone(),
        max_attempts: state.config.analysis_max_attempts,
    };
    r.register(builtin::VOICE_ANALYZE, move |_, payload| {
        let (store, openai, cfg) = (store.clone(), openai.clone(), analysis.clone());
        async move {
            let job: jarvis_voice::AnalysisJob =
                serde_json::from_value(payload).map_err(JobError::permanent)?;
            let out = jarvis_voice::analyze_session(store.as_ref(), openai.as_ref(), &cfg, job)
                .await
                .map_err(JobError::retryable)?;
            if let jarvis_voice::AnalysisOutcome::Failed(a) = out {
                tracing::warn!(session = %a.session_id, reason = ?a.failure, "post-call analysis failed");
            }
            Ok(())
        }
    })?;
    let (store, openai, voice) = (
        state.store.clone(),
        state.openai.clone(),
        state.voice.clone(),
    );
    let chat_model = state.config.analysis_model.clone();
    let knowledge_model = state.config.knowledge_embedding_model.clone();
    r.register(builtin::SIMULATIONS_RUN, move |_, payload| {
        let (store, openai, voice, chat_model, knowledge_model) = (
            store.clone(),
            openai.clone(),
            voice.clone(),
            chat_model.clone(),
            knowledge_model.clone(),
        );
        async move {
            #[derive(serde::Deserialize)]
            struct P {
                franchise_id: jarvis_core::FranchiseId,
                gym_id: jarvis_core::GymId,
            }
            let p: P = serde_json::from_value(payload).map_err(JobError::permanent)?;
            let scope = jarvis_core::Scope::Gym {
                franchise: p.franchise_id,
                gym: p.gym_id,
            };
            // The gym's real tool set: the broker's tools plus its enabled custom tools.
            let sim = jarvis_voice::Simulator {
                store: store.clone(),
                client: openai.as_ref().clone(),
                tools: jarvis_app::assistant::for_simulation(
                    &voice.tools_for_gym(&scope, p.gym_id).await,
                    openai.as_ref(),
                    &knowledge_model,
                    store.clone(),
                    scope,
                    p.gym_id,
                ),
                chat_model,
            };
            let body = jarvis_app::analysis::scenarios(sim.store.as_ref(), &scope, p.gym_id)
                .await
                .map_err(JobError::retryable)?;
            let file = jarvis_core::model::ScenarioFile::parse(&body)
                .map_err(|e| JobError::permanent(format!("{e:?}")))?;
            // A scenario that cannot finish is recorded on the run (`error`); nothing to retry.
            if let Err(e) = sim.run(&scope, p.gym_id, &file, |_| {}).await {
                tracing::warn!(gym = %p.gym_id, error = %e, "simulation run stopped");
            }
            Ok(())
        }
    })?;
    // The knowledge base's embeddings (the model is the operator's `knowledge_embedding_model`).
    let (store, openai) = (state.store.clone(), state.openai.clone());
    let model = state.config.knowledge_embedding_model.clone();
    r.register(
        jarvis_app::knowledge::KNOWLEDGE_EMBED,
        move |ctx, payload| {
            let embedder: std::sync::Arc<dyn jarvis_app::knowledge::Embedder> = openai.clone();
            jarvis_app::knowledge::run_embed_job(
                store.clone(),
                embedder,
                model.clone(),
                ctx,
                payload,
            )
        },
    )?;
    let (store, openai) = (state.store.clone(), state.openai.clone());
    let model = state.config.knowledge_embedding_model.clone();
    r.register(jarvis_app::knowledge::KNOWLEDGE_REEMBED, move |_, _| {
        let (store, openai, model) = (store.clone(), openai.clone(), model.clone());
        async move {
            let n = jarvis_app::knowledge::embed_all(store.as_ref(), openai.as_ref(), &model)
                .await
                .map_err(JobError::retryable)?;
            if n > 0 {
                tracing::info!(chunks = n, %model, "embedded knowledge chunks");
            }
            Ok(())
        }
    })?;
    Ok(r)
}

/// The kinds `jarvis jobs` and the operations page list for this configuration.
pub fn specs(config: &jarvis_app::config::Config) -> Vec<JobSpec> {
    builtin::catalog(config.jobs_diagnostics)
}
