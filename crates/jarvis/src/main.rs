//! `jarvis`: the one binary. Serves the app and runs its maintenance commands.

use clap::{Args, Parser, Subcommand};
use jarvis_app::accounts;
use jarvis_app::config::{Config, Sources};
use jarvis_core::model::{Actor, Locale};
use jarvis_store::Store;
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

mod backup;
mod jobs;

/// JARVIS — self-hosted AI voice companion for gyms.
///
/// Configuration comes from defaults, then `jarvis.toml` (or --config), then JARVIS_* environment
/// variables, then these flags. `jarvis config show` prints the result.
#[derive(Parser)]
#[command(name = "jarvis", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct GlobalArgs {
    /// Configuration file (default: ./jarvis.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database URL: sqlite://path or postgres://user:pass@host/db [env: JARVIS_DATABASE_URL].
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Directory for the SQLite database and local files [env: JARVIS_DATA_DIR; default: ./data].
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Log output: human or json [env: JARVIS_LOG_FORMAT].
    #[arg(long, global = true, value_name = "FORMAT")]
    log_format: Option<String>,
    /// Log filter, e.g. info or jarvis_server=debug [env: JARVIS_LOG_LEVEL].
    #[arg(long, global = true, value_name = "FILTER")]
    log_level: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (migrates the database first).
    Serve(ServeArgs),
    /// Apply pending database migrations.
    Migrate {
        /// Only list the migrations that would be applied.
        #[arg(long)]
        dry_run: bool,
    },
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Demo data.
    #[command(subcommand)]
    Demo(DemoCommand),
    /// Platform administrators.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Gym members.
    #[command(subcommand)]
    Members(MembersCommand),
    /// Access-token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Background jobs: list the kinds with their schedule, last and next run; run one now;
    /// show the run history; retry a dead job. Running servers do the work.
    #[command(subcommand)]
    Jobs(jobs::JobsCommand),
    /// Play a scenario file (JSON) against a gym's assistant over the realtime text path and
    /// judge every scenario. Exits non-zero when any scenario fails. Needs `openai_api_key`.
    Simulate {
        /// Target gym id.
        #[arg(long, value_name = "GYM_ID")]
        gym: String,
        /// The scenario file (see docs/integrator/simulations.md).
        #[arg(long, value_name = "FILE")]
        scenarios: PathBuf,
    },
    /// Backups in the object store (storage_url): create, list, verify, restore.
    #[command(subcommand)]
    Backup(backup::BackupCommand),
    /// Write the whole installation (every table, every tenant) to FILE as compressed JSON lines
    /// with row counts and checksums, e.g. to move from SQLite to PostgreSQL. On PostgreSQL the
    /// database URL must be the owner/admin connection (superuser or BYPASSRLS).
    Export {
        /// The file to write (conventionally `*.jsonl.gz`).
        file: PathBuf,
    },
    /// Load FILE written by `jarvis export` (from either backend) into the configured database,
    /// migrated to the same version. Refuses a database holding data unless --force-empty.
    /// Stop the servers first.
    Import {
        /// The export file.
        file: PathBuf,
        /// Delete every row of the target database first (DESTRUCTIVE).
        #[arg(long)]
        force_empty: bool,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a new RS256 signing key and make it the active one. The previous key stays in the
    /// JWKS (and keeps verifying) until the tokens it signed have expired. Running servers pick
    /// the new key up within a minute.
    Rotate,
}

#[derive(Subcommand)]
enum MembersCommand {
    /// Import members from a CSV file (UTF-8 or Windows-1252, `;` or `,`, header row with
    /// columns such as badge_id/badge, first_name/prénom, last_name/nom, email, phone…).
    /// All or nothing unless --skip-bad-rows; the job and its report are kept like uploads.
    Import {
        /// The CSV file.
        file: PathBuf,
        /// Target gym id.
        #[arg(long, value_name = "GYM_ID")]
        gym: String,
        /// Only check the file and print the per-row errors; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Import the good rows and report the bad ones.
        #[arg(long)]
        skip_bad_rows: bool,
        /// Explicit header mapping, repeatable: --map first_name="Given name".
        #[arg(long = "map", value_name = "FIELD=COLUMN")]
        map: Vec<String>,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on [env: JARVIS_LISTEN; default: 127.0.0.1:3001].
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Seed the demo tenant (idempotent) before serving, and serve the public demo page
    /// `/demo` (the `demo_page` key).
    #[arg(long)]
    demo: bool,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration, secrets redacted, with where each value came from.
    Show,
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Create the demo franchise, two gyms (fr, en), ~200 members and kiosks. Safe to re-run.
    Seed {
        /// Also add N generated members to the Paris gym with ~10 conversation turns each over
        /// the last 90 days (sessions, analyses, visits, daily cost): the dashboard at scale.
        /// Deterministic; re-running skips what is already there.
        #[arg(long, value_name = "N")]
        scale: Option<usize>,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a super administrator. The password is read from a prompt, or from the first line
    /// of standard input when it is not a terminal; never from the command line.
    Create {
        /// Login e-mail.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Dashboard language: fr or en.
        #[arg(long, default_value = "en")]
        locale: String,
    },
}

fn load_config(g: &GlobalArgs, listen: Option<&str>, demo: bool) -> Result<Config, String> {
    let mut flags: BTreeMap<&'static str, String> = BTreeMap::new();
    if let Some(v) = &g.database_url {
        flags.insert("database_url", v.clone());
    }
    if let Some(v) = &g.data_dir {
        flags.insert("data_dir", v.display().to_string());
    }
    if let Some(v) = &g.log_format {
        flags.insert("log_format", v.clone());
    }
    if let Some(v) = &g.log_level {
        flags.insert("log_level", v.clone());
    }
    if let Some(v) = listen {
        flags.insert("listen", v.to_string());
    }
    if demo {
        flags.insert("demo_page", "true".into());
    }
    Config::load(&Sources::from_process(g.config.clone(), flags)).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (listen, demo) = match &cli.command {
        Command::Serve(a) => (a.listen.as_deref(), a.demo),
        _ => (None, false),
    };
    let config = match load_config(&cli.global, listen, demo) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    jarvis_app::telemetry::init(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> Result<(), String> {
    match command {
        Command::Serve(args) => {
            if args.demo {
                let store = jarvis_app::store::open_store(&config)
                    .await
                    .map_err(|e| e.to_string())?;
                seed(&*store).await?;
                store.close().await;
            }
            jarvis_server::app::run(config, jarvis_server::app::shutdown_signal())
                .await
                .map_err(|e| e.to_string())
        }
        Command::Migrate { dry_run } => migrate(&config, dry_run).await,
        Command::Config(ConfigCommand::Show) => {
            print!("{}", config.show());
            Ok(())
        }
        Command::Demo(DemoCommand::Seed { scale }) => {
            let store = jarvis_app::store::open_store(&config)
                .await
                .map_err(|e| e.to_string())?;
            let mut r = seed(&*store).await;
            if let (Ok(()), Some(n)) = (&r, scale) {
                r = seed_scale(&*store, n).await;
            }
            store.close().await;
            r
        }
        Command::Members(MembersCommand::Import {
            file,
            gym,
            dry_run,
            skip_bad_rows,
            map,
        }) => members_import(&config, file, gym, dry_run, skip_bad_rows, map).await,
        Command::Keys(KeysCommand::Rotate) => keys_rotate(&config).await,
        Command::Jobs(cmd) => {
            let store = jarvis_app::store::open_store(&config)
                .await
                .map_err(|e| e.to_string())?;
            let specs = jarvis_app::jobs::builtin::catalog(config.jobs_diagnostics);
            let r = jobs::run(cmd, store.as_ref(), &specs).await;
            store.close().await;
            r
        }
        Command::Simulate { gym, scenarios } => simulate(&config, gym, scenarios).await,
        Command::Backup(cmd) => backup::run(cmd, &config).await,
        Command::Export { file } => backup::export(&config, file).await,
        Command::Import { file, force_empty } => backup::import(&config, file, force_empty).await,
        Command::Admin(AdminCommand::Create {
            email,
            name,
            locale,
        }) => admin_create(&config, email, name, locale).await,
    }
}

async fn migrate(config: &Config, dry_run: bool) -> Result<(), String> {
    let opts = jarvis_store::ConnectOptions::new(config.database_url.expose());
    let store = jarvis_store::connect(&opts)
        .await
        .map_err(|e| e.to_string())?;
    let all = store.migrations().await.map_err(|e| e.to_string())?;
    let pending: Vec<_> = all.iter().filter(|m| !m.applied).collect();
    if dry_run {
        if pending.is_empty() {
            println!("database is up to date ({} migrations applied)", all.len());
        } else {
            println!("{} pending migration(s):", pending.len());
            for m in pending {
                println!("  {:>4}  {}", m.version, m.description);
            }
        }
    } else {
        let applied = store.migrate().await.map_err(|e| e.to_string())?;
        if applied.is_empty() {
            println!("database is up to date ({} migrations applied)", all.len());
        }
        for m in applied {
            println!("applied {:>4}  {}", m.version, m.description);
        }
    }
    store.close().await;
    Ok(())
}

async fn seed(store: &dyn Store) -> Result<(), String> {
    println!("seeding the demo tenant…");
    let r = jarvis_app::demo::seed(store)
        .await
        .map_err(|e| format!("demo seed failed: {e}"))?;
    println!(
        "demo tenant ready: franchise {}, {} gym(s), {} member(s), {} kiosk(s) and {} class(es) created, {} member(s) already there, {} gym(s) dated back {} days (the weekly job reports on them from its first run)",
        if r.franchise_created {
            "created"
        } else {
            "kept"
        },
        r.gyms_created,
        r.members_created,
        r.kiosks_created,
        r.classes_created,
        r.members_kept,
        r.gyms_backdated,
        jarvis_app::demo::HISTORY_DAYS
    );
    println!(
        "demo sign-in ({} account(s) created now), password `{}`:",
        r.users_created,
        jarvis_app::demo::DEMO_PASSWORD
    );
    for (email, _, role, _) in jarvis_app::demo::DEMO_USERS {
        let note = if role.requires_mfa() {
            " (enrols two-step verification at first sign-in)"
        } else {
            ""
        };
        println!("  {email:<34} {role}{note}");
    }
    Ok(())
}

async fn seed_scale(store: &dyn Store, n: usize) -> Result<(), String> {
    let started = std::time::Instant::now();
    let bar = indicatif::ProgressBar::new(n as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {msg} [{bar:40}] {pos}/{len} members ({elapsed}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message("seeding at scale");
    let b = bar.clone();
    let progress = move |done: u64, total: u64| {
        b.set_length(total);
        b.set_position(done);
    };
    let r = jarvis_app::demo::seed_scale(store, n, &progress).await;
    bar.finish_and_clear();
    let r = r.map_err(|e| format!("demo seed --scale failed: {e}"))?;
    let w = r.written;
    println!(
        "scale data in gym {}: {} member(s), {} visit(s), {} session(s), {} turn(s), {} analyse(s) written in {:.1} s; {} member(s) already there",
        r.gym.map(|g| g.to_string()).unwrap_or_default(),
        w.members,
        w.visits,
        w.sessions,
        w.turns,
        w.analyses,
        started.elapsed().as_secs_f64(),
        r.members_kept
    );
    Ok(())
}

async fn keys_rotate(config: &Config) -> Result<(), String> {
    let store = jarvis_app::store::open_store(config)
        .await
        .map_err(|e| e.to_string())?;
    let master = jarvis_app::auth::crypto::MasterKey::load_or_create(
        config.master_key.as_ref().map(|s| s.expose()),
        &config.data_dir,
    )
    .map_err(|e| e.to_string())?;
    let r = jarvis_app::auth::keys::rotate(&store, &master, &jarvis_core::model::Actor::cli())
        .await
        .map_err(|e| e.to_string());
    store.close().await;
    let kid = r?;
    println!(
        "new signing key {kid} is active; the previous key stays verifiable until its tokens expire"
    );
    Ok(())
}

fn read_password() -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")
            .map_err(|e| format!("cannot read the password: {e}"))?;
        let again = rpassword::prompt_password("Password (again): ")
            .map_err(|e| format!("cannot read the password: {e}"))?;
        if first != again {
            return Err("the passwords do not match".into());
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
        Ok(line.trim_end_matches(['\n', '\r']).to_string())
    }
}

async fn admin_create(
    config: &Config,
    email: String,
    name: String,
    locale: String,
) -> Result<(), String> {
    let locale = Locale::parse(&locale)
        .ok_or_else(|| format!("--locale must be fr or en, got `{locale}`"))?;
    let admin = accounts::NewAdmin {
        email,
        display_name: name,
        locale,
    };
    // Validate before asking for a password, so a typo does not cost a prompt.
    accounts::check_new_admin(&admin).map_err(|e| e.to_string())?;
    let password = read_password()?;
    let store = jarvis_app::store::open_store(config)
        .await
        .map_err(|e| e.to_string())?;
    let created = accounts::create_super_admin(&*store, &Actor::cli(), admin, password).await;
    store.close().await;
    let user = created.map_err(|e| match e {
        accounts::AccountsError::WeakPassword { message, .. } => message,
        e => e.to_string(),
    })?;
    let _ = std::io::stdout().flush();
    println!("created super admin {} ({})", user.email, user.id);
    Ok(())
}

async fn simulate(config: &Config, gym: String, file: PathBuf) -> Result<(), String> {
    use jarvis_core::model::{ScenarioFile, SimulationStatus};
    use jarvis_voice::{SimEvent, Simulator};
    let gym: jarvis_core::GymId = gym
        .trim()
        .parse()
        .map_err(|_| format!("--gym must be a gym id (UUID), got `{gym}`"))?;
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let scenarios = ScenarioFile::parse(&text).map_err(|e| {
        let lines: Vec<String> =
            e.0.iter()
                .map(|f| format!("  {}: {}", f.field, f.message))
                .collect();
        format!(
            "{} is not a valid scenario file:\n{}",
            file.display(),
            lines.join("\n")
        )
    })?;
    let key = config
        .openai_api_key
        .as_ref()
        .ok_or("simulate needs openai_api_key (JARVIS_OPENAI_API_KEY)")?;
    let openai = jarvis_openai::OpenAiConfig::new(
        config.openai_base_url.clone(),
        jarvis_openai::ApiKey::new(key.expose().to_string()),
    )
    .map_err(|e| format!("invalid OpenAI configuration: {e}"))?;
    let openai = jarvis_openai::OpenAiClient::new(openai)
        .map_err(|e| format!("cannot build the OpenAI client: {e}"))?;
    let store = jarvis_app::store::open_store(config)
        .await
        .map_err(|e| e.to_string())?;
    let result = async {
        let g = store
            .gym(&jarvis_core::Scope::Platform, gym)
            .await
            .map_err(|e| e.to_string())?;
        let scope = jarvis_core::Scope::Gym {
            franchise: g.franchise_id,
            gym,
        };
        // The gym's real tool set, as its calls get it: built-ins, knowledge search (reading the
        // gym's entries) and its enabled custom HTTP tools.
        let master = jarvis_app::auth::crypto::MasterKey::load_or_create(
            config.master_key.as_ref().map(|k| k.expose()),
            &config.data_dir,
        )
        .map_err(|e| e.to_string())?;
        let http_tools = jarvis_app::http_tools::HttpTools::new(
            store.clone(),
            master,
            config.tools_allow.clone(),
        );
        let base = jarvis_app::assistant::tools(&openai, &config.knowledge_embedding_model);
        let tools =
            jarvis_voice::tools::tools_for_call(&base, Some(&http_tools), &scope, gym).await;
        let sim = Simulator {
            store: store.clone(),
            tools: jarvis_app::assistant::for_simulation(
                &tools,
                &openai,
                &config.knowledge_embedding_model,
                store.clone(),
                scope,
                gym,
            ),
            client: openai,
            chat_model: config.analysis_model.clone(),
        };
        let (run, _) = sim
            .run(&scope, gym, &scenarios, |e| match e {
                SimEvent::Scenario(i, n, name) => println!("[{i}/{n}] {name}…"),
                SimEvent::Result(r) => {
                    println!("      {}", if r.passed { "PASS" } else { "FAIL" });
                    for c in &r.checks {
                        println!(
                            "      {} {:?} {}: {}",
                            if c.passed { "✓" } else { "✗" },
                            c.kind,
                            c.expectation,
                            c.reason
                        );
                    }
                }
            })
            .await
            .map_err(|e| format!("simulation stopped: {e}"))?;
        println!(
            "run {}: {}/{} scenario(s) passed, cost ${:.6}",
            run.id,
            run.passed,
            run.scenarios,
            run.cost_pico as f64 / 1e12
        );
        if run.status == SimulationStatus::Passed {
            Ok(())
        } else {
            Err(format!(
                "{} scenario(s) failed",
                run.scenarios.saturating_sub(run.passed)
            ))
        }
    }
    .await;
    store.close().await;
    result
}

async fn members_import(
    config: &Config,
    file: PathBuf,
    gym: String,
    dry_run: bool,
    skip_bad_rows: bool,
    map: Vec<String>,
) -> Result<(), String> {
    use jarvis_app::imports::{ImportOptions, create, execute};
    let gym: jarvis_core::GymId = gym
        .trim()
        .parse()
        .map_err(|_| format!("--gym must be a gym id (UUID), got `{gym}`"))?;
    let mut mapping = BTreeMap::new();
    for m in map {
        let (field, column) = m
            .split_once('=')
            .ok_or_else(|| format!("--map must be FIELD=COLUMN, got `{m}`"))?;
        mapping.insert(field.trim().to_string(), column.trim().to_string());
    }
    let data = std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let store = jarvis_app::store::open_store(config)
        .await
        .map_err(|e| e.to_string())?;
    let scope = jarvis_core::Scope::Platform;
    let actor = Actor::cli();
    let result = async {
        let g = store.gym(&scope, gym).await.map_err(|e| e.to_string())?;
        let opts = ImportOptions {
            dry_run,
            skip_bad_rows,
            mapping,
        };
        // The same path as an upload, run here instead of on the server's job queue.
        let job = create(store.as_ref(), scope, &actor, gym, &data, &opts)
            .await
            .map_err(|e| e.to_string())?;
        drop(data);
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {msg} [{bar:40}] {pos}/{len} rows ({elapsed})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(format!("importing into {}", g.name));
        let b = bar.clone();
        let progress = std::sync::Arc::new(move |done: u64, total: u64| {
            b.set_length(total);
            b.set_position(done);
        });
        let report = match execute(store.clone(), scope, gym, job.id, progress).await {
            Ok(Some(r)) => r,
            Ok(None) => return Err(format!("import {} had already finished", job.id)),
            Err(e) => {
                // No queue retries it here: end the row now rather than leave it running.
                let why = "the import stopped on a storage error; check the member list";
                jarvis_app::imports::fail(store.as_ref(), &scope, gym, job.id, why).await;
                return Err(e.to_string());
            }
        };
        bar.finish_and_clear();
        println!(
            "{} rows, {} valid, {} imported, {} skipped, {} error(s){}",
            report.total_rows,
            report.valid_rows,
            report.inserted,
            report.skipped,
            report.error_count,
            if dry_run {
                " (dry run: nothing written)"
            } else {
                ""
            }
        );
        if !report.ignored_columns.is_empty() {
            println!("ignored columns: {}", report.ignored_columns.join(", "));
        }
        for e in &report.errors {
            println!(
                "  line {}: {}: {}",
                e.row,
                if e.column.is_empty() {
                    "(row)"
                } else {
                    &e.column
                },
                e.reason
            );
        }
        if report.error_count > report.errors.len() as u64 {
            println!(
                "  … and {} more",
                report.error_count - report.errors.len() as u64
            );
        }
        println!("job {}", job.id);
        match report.failure {
            Some(f) => Err(f),
            None => Ok(()),
        }
    }
    .await;
    store.close().await;
    result
}
