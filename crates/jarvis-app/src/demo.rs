//! The demo tenant: one franchise, a French gym in Paris and an English gym in London, about 200
//! members with badges, and kiosks. Seeding is idempotent: what exists is kept, what is missing is
//! added, so it can run on every `serve --demo`.

use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::{FranchiseFilter, GymFilter, KioskIdentity, Store, StoreError};
use time::{Date, Duration, Month, OffsetDateTime};

/// Name of the demo franchise.
pub const FRANCHISE: &str = "JARVIS Demo Fitness";
/// Members per demo gym.
pub const MEMBERS_PER_GYM: usize = 100;

struct DemoGym {
    name: &'static str,
    address: &'static str,
    timezone: &'static str,
    locale: Locale,
    badge_prefix: &'static str,
    first: &'static [&'static str],
    last: &'static [&'static str],
    goals: &'static [&'static str],
    kiosks: &'static [&'static str],
}

const GYMS: [DemoGym; 2] = [
    DemoGym {
        name: "Paris République",
        address: "12 place de la République, 75003 Paris",
        timezone: "Europe/Paris",
        locale: Locale::Fr,
        badge_prefix: "PAR",
        first: &[
            "Camille",
            "Léa",
            "Manon",
            "Chloé",
            "Inès",
            "Emma",
            "Jade",
            "Louise",
            "Hugo",
            "Lucas",
            "Louis",
            "Gabriel",
            "Arthur",
            "Jules",
            "Raphaël",
            "Théo",
            "Élodie",
            "Sébastien",
            "Amélie",
            "Nicolas",
            "Zoé",
            "Mathis",
            "Sarah",
            "Yanis",
        ],
        last: &[
            "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
            "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David",
            "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard",
        ],
        goals: &[
            "perdre 5 kg",
            "courir un 10 km",
            "prendre du muscle",
            "améliorer ma posture",
            "préparer un marathon",
            "retrouver la forme après une blessure",
            "gagner en souplesse",
            "réduire le stress",
        ],
        kiosks: &["Accueil", "Plateau musculation"],
    },
    DemoGym {
        name: "London Shoreditch",
        address: "48 Great Eastern Street, London EC2A 3EP",
        timezone: "Europe/London",
        locale: Locale::En,
        badge_prefix: "LDN",
        first: &[
            "Oliver", "George", "Harry", "Noah", "Jack", "Leo", "Amelia", "Olivia", "Isla", "Ava",
            "Mia", "Grace", "Freya", "Lily", "Ella", "Charlie", "Alfie", "Oscar", "Sophie", "Evie",
            "Theo", "Poppy", "Arjun", "Priya",
        ],
        last: &[
            "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
            "Patel", "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts",
            "Green", "Hall", "Wood", "Jackson", "Clarke", "Khan",
        ],
        goals: &[
            "lose 5 kg",
            "run a half marathon",
            "build strength",
            "improve mobility",
            "train for a triathlon",
            "get back in shape after an injury",
            "deadlift my body weight",
            "sleep better",
        ],
        kiosks: &["Reception", "Functional zone"],
    },
];

/// What a seeding run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SeedReport {
    /// Whether the franchise was created now.
    pub franchise_created: bool,
    /// Gyms created now.
    pub gyms_created: usize,
    /// Gyms whose creation date was moved back to the start of the demo history now.
    pub gyms_backdated: usize,
    /// Members created now.
    pub members_created: usize,
    /// Kiosks created now.
    pub kiosks_created: usize,
    /// Members that already existed.
    pub members_kept: usize,
    /// Weekly classes created now.
    pub classes_created: usize,
    /// Demo sign-in accounts created now.
    pub users_created: usize,
    /// Demo-page visitors and kiosks created now (one of each per gym; not in the counts above).
    pub visitors_created: usize,
}

/// Badge of the demo visitor: the member a `/demo` call talks as, in each demo gym.
pub const VISITOR_BADGE: &str = "DEMO-VISITOR";

/// Name of the kiosk `/demo` calls are attributed to, in each demo gym (never paired).
pub const WEB_KIOSK: &str = "Web demo (/demo)";

/// The demo visitor: voice consent on, transcripts off (nothing a visitor says is kept).
fn visitor(g: &DemoGym) -> NewMember {
    NewMember {
        badge_id: VISITOR_BADGE.into(),
        first_name: match g.locale {
            Locale::Fr => "Visiteur".into(),
            Locale::En => "Visitor".into(),
        },
        last_name: "Demo".into(),
        email: None,
        phone: None,
        birth_date: None,
        preferred_language: g.locale,
        membership_type: "demo".into(),
        membership_status: MembershipStatus::Active,
        membership_end_date: None,
        goals: Vec::new(),
        limitations: None,
        consent_voice: true,
        consent_transcripts: false,
    }
}

/// The demo weekly timetable: name, coach, room, day, start, minutes, places.
type DemoClass = (
    &'static str,
    &'static str,
    &'static str,
    Weekday,
    &'static str,
    i32,
    i32,
);

const DEMO_CLASSES: &[DemoClass] = &[
    ("Yoga", "Léa", "Studio 1", Weekday::Mon, "07:00", 60, 20),
    ("HIIT", "Karim", "Studio 2", Weekday::Mon, "18:30", 45, 16),
    (
        "Pilates",
        "Sophie",
        "Studio 1",
        Weekday::Tue,
        "12:15",
        45,
        15,
    ),
    (
        "Spinning",
        "Tom",
        "Cycling room",
        Weekday::Wed,
        "19:00",
        45,
        24,
    ),
    (
        "Body Pump",
        "Karim",
        "Studio 2",
        Weekday::Thu,
        "18:00",
        60,
        25,
    ),
    (
        "Stretching",
        "Léa",
        "Studio 1",
        Weekday::Fri,
        "08:00",
        30,
        20,
    ),
    (
        "Cross training",
        "Tom",
        "Box",
        Weekday::Sat,
        "10:00",
        60,
        12,
    ),
    (
        "Yoga doux",
        "Sophie",
        "Studio 1",
        Weekday::Sun,
        "10:30",
        60,
        20,
    ),
];

/// Password of every demo account (documented; demo data only, never a production tenant).
pub const DEMO_PASSWORD: &str = "jarvis-demo-password";

/// Demo sign-in accounts: e-mail, role, and the index in `GYMS` for gym roles. Franchise owners
/// must enrol TOTP at their first sign-in (their role requires it), as in production.
pub const DEMO_USERS: &[(&str, &str, Role, Option<usize>)] = &[
    (
        "owner@demo.jarvis.local",
        "Camille Owner",
        Role::FranchiseOwner,
        None,
    ),
    (
        "manager.paris@demo.jarvis.local",
        "Léa Manager",
        Role::GymManager,
        Some(0),
    ),
    (
        "staff.london@demo.jarvis.local",
        "Sam Staff",
        Role::GymStaff,
        Some(1),
    ),
];

/// A small deterministic generator, so every seed produces the same people.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn member_for(g: &DemoGym, i: usize, rng: &mut Rng) -> NewMember {
    let first = rng.pick(g.first);
    let last = rng.pick(g.last);
    let (membership_type, membership_status) = match rng.below(20) {
        0..=9 => ("standard", MembershipStatus::Active),
        10..=14 => ("premium", MembershipStatus::Active),
        15 => ("student", MembershipStatus::Active),
        16 => ("vip", MembershipStatus::Active),
        17 => ("standard", MembershipStatus::Frozen),
        18 => ("premium", MembershipStatus::Expired),
        _ => ("standard", MembershipStatus::Cancelled),
    };
    let year = 1965 + rng.below(40) as i32;
    let birth_date = Date::from_calendar_date(
        year,
        Month::try_from(1 + rng.below(12) as u8).unwrap_or(Month::January),
        1 + rng.below(28) as u8,
    )
    .ok();
    let end = Date::from_calendar_date(
        2027,
        Month::try_from(1 + rng.below(12) as u8).unwrap_or(Month::June),
        1 + rng.below(28) as u8,
    )
    .ok();
    let goals = (0..rng.below(3))
        .map(|_| rng.pick(g.goals).to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let ascii = |s: &str| -> String {
        s.chars()
            .map(|c| match c {
                'é' | 'è' | 'ê' | 'É' => 'e',
                'ë' => 'e',
                'ï' | 'î' => 'i',
                'à' | 'â' => 'a',
                'ç' => 'c',
                'ô' => 'o',
                c => c,
            })
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_lowercase()
    };
    let phone = match g.locale {
        Locale::Fr => format!(
            "+33 6 {:02} {:02} {:02} {:02}",
            rng.below(100),
            rng.below(100),
            rng.below(100),
            rng.below(100)
        ),
        Locale::En => format!("+44 7700 {:06}", rng.below(1_000_000)),
    };
    NewMember {
        badge_id: format!("{}-{:06}", g.badge_prefix, i + 1),
        first_name: first.into(),
        last_name: last.into(),
        email: Some(format!(
            "{}.{}{}@example.com",
            ascii(first),
            ascii(last),
            i + 1
        )),
        phone: Some(phone),
        birth_date,
        // A few members of each gym prefer the other language.
        preferred_language: if rng.below(10) == 0 {
            if g.locale == Locale::Fr {
                Locale::En
            } else {
                Locale::Fr
            }
        } else {
            g.locale
        },
        membership_type: membership_type.into(),
        membership_status,
        membership_end_date: end,
        goals,
        limitations: (rng.below(8) == 0).then(|| match g.locale {
            Locale::Fr => "douleur au genou gauche, éviter les sauts".to_string(),
            Locale::En => "lower back pain, no heavy deadlifts".to_string(),
        }),
        consent_voice: rng.below(10) != 0,
        consent_transcripts: rng.below(3) != 0,
    }
}

/// Creates whatever part of the demo tenant is missing.
pub async fn seed(store: &dyn Store) -> Result<SeedReport, StoreError> {
    let scope = Scope::Platform;
    let actor = Actor::system();
    let mut report = SeedReport::default();
    let found = store
        .list_franchises(
            &scope,
            &FranchiseFilter {
                q: Some(FRANCHISE.into()),
                include_archived: true,
            },
            PageRequest::default(),
        )
        .await?;
    let franchise = match found.items.into_iter().find(|f| f.name == FRANCHISE) {
        Some(f) => f,
        None => {
            report.franchise_created = true;
            store
                .create_franchise(
                    &scope,
                    &actor,
                    NewFranchise {
                        name: FRANCHISE.into(),
                    },
                )
                .await?
        }
    };
    let mut gym_ids = Vec::new();
    for (gi, g) in GYMS.iter().enumerate() {
        let existing = store
            .list_gyms(
                &scope,
                &GymFilter {
                    franchise_id: Some(franchise.id),
                    q: Some(g.name.into()),
                    status: None,
                    ..Default::default()
                },
                PageRequest::default(),
            )
            .await?;
        let gym = match existing.items.into_iter().find(|x| x.name == g.name) {
            Some(x) => x,
            None => {
                report.gyms_created += 1;
                let week = serde_json::json!([{ "open": "06:00", "close": "23:00" }]);
                let weekend = serde_json::json!([{ "open": "08:00", "close": "20:00" }]);
                let settings = serde_json::json!({
                    "opening_hours": { "mon": week, "tue": week, "wed": week, "thu": week, "fri": week,
                                       "sat": weekend, "sun": weekend },
                    "persona": { "name": "Jarvis", "voice": "marin", "tone": if g.locale == Locale::Fr { "friendly" } else { "motivating" } },
                    "voice_session_cap": 5,
                    "monthly_ai_budget_micros": 150_000_000
                });
                let new = NewGym {
                    franchise_id: franchise.id,
                    name: g.name.into(),
                    address: Some(g.address.into()),
                    timezone: g.timezone.into(),
                    locale: g.locale,
                    settings,
                };
                // Validation fills the typed settings' defaults, as the API does.
                let new = new.validate().map_err(|e| StoreError::Invalid {
                    field: "settings",
                    message: e.to_string(),
                })?;
                store
                    .create_gym(&scope, &actor, new, GymStatus::Active)
                    .await?
            }
        };
        // Open since before its history (a re-seed never moves the date forward again).
        let since = history_end(OffsetDateTime::now_utc()) - Duration::days(HISTORY_DAYS);
        if gym.created_at > since {
            store.backdate_gym(&scope, &actor, gym.id, since).await?;
            report.gyms_backdated += 1;
        }
        gym_ids.push(gym.id);
        let mut rng = Rng(0x4A41_5256_4953 + gi as u64);
        for i in 0..MEMBERS_PER_GYM {
            let new = member_for(g, i, &mut rng);
            match store.member_by_badge(&scope, gym.id, &new.badge_id).await {
                Ok(_) => report.members_kept += 1,
                Err(StoreError::NotFound(_)) => {
                    store.create_member(&scope, &actor, gym.id, new).await?;
                    report.members_created += 1;
                }
                Err(e) => return Err(e),
            }
        }
        let kiosks = store
            .list_kiosks(&scope, gym.id, PageRequest::default())
            .await?;
        for name in g.kiosks {
            if !kiosks.items.iter().any(|k| k.name == *name) {
                store
                    .create_kiosk(
                        &scope,
                        &actor,
                        gym.id,
                        NewKiosk {
                            name: (*name).into(),
                        },
                    )
                    .await?;
                report.kiosks_created += 1;
            }
        }
        // What `/demo` needs: its visitor and its kiosk.
        let mut added = false;
        if !kiosks.items.iter().any(|k| k.name == WEB_KIOSK) {
            let new = NewKiosk {
                name: WEB_KIOSK.into(),
            };
            store.create_kiosk(&scope, &actor, gym.id, new).await?;
            added = true;
        }
        match store.member_by_badge(&scope, gym.id, VISITOR_BADGE).await {
            Ok(_) => {}
            Err(StoreError::NotFound(_)) => {
                store
                    .create_member(&scope, &actor, gym.id, visitor(g))
                    .await?;
                added = true;
            }
            Err(e) => return Err(e),
        }
        report.visitors_created += usize::from(added);
        // A weekly timetable the assistant can read; added only when the gym has none.
        let classes = store
            .list_classes(&scope, gym.id, None, PageRequest::default())
            .await?;
        if classes.total == 0 {
            for (name, coach, room, day, at, minutes, places) in DEMO_CLASSES {
                let new = NewClassSchedule {
                    name: (*name).into(),
                    coach: Some((*coach).into()),
                    room: Some((*room).into()),
                    weekday: Some(*day),
                    date: None,
                    start_time: (*at).into(),
                    duration_minutes: *minutes,
                    capacity: *places,
                    recurring: true,
                };
                store.create_class(&scope, &actor, gym.id, new).await?;
                report.classes_created += 1;
            }
        }
    }
    for (email, name, role, gym) in DEMO_USERS {
        if store.user_by_email(email).await?.is_some() {
            continue;
        }
        let target = match gym.and_then(|i| gym_ids.get(i)) {
            Some(g) => MembershipTarget::Gym(franchise.id, *g),
            None => MembershipTarget::Franchise(franchise.id),
        };
        let hash = crate::auth::password::hash(DEMO_PASSWORD.into())
            .await
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        store
            .create_user(
                &actor,
                NewUser {
                    email: (*email).into(),
                    display_name: (*name).into(),
                    locale: if gym == &Some(1) {
                        Locale::En
                    } else {
                        Locale::Fr
                    },
                    password_hash: Some(hash),
                },
                Some((*role, target)),
            )
            .await?;
        report.users_created += 1;
    }
    Ok(report)
}

/// Why a `/demo` call cannot start before the voice broker is even asked.
#[derive(Debug, thiserror::Error)]
pub enum DemoRefusal {
    /// The demo tenant (gym, kiosk or visitor) is not seeded: run `jarvis serve --demo`.
    #[error("the demo tenant is not seeded")]
    NotSeeded,
    /// The month's demo budget is spent.
    #[error("the monthly demo budget is spent")]
    BudgetExhausted,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The demo gym and kiosk a `/demo` call in `locale` runs at (Paris for French, London for
/// English), read afresh so a suspended demo gym stops the page like any kiosk.
pub async fn web_kiosk(store: &dyn Store, locale: Locale) -> Result<KioskIdentity, DemoRefusal> {
    let scope = Scope::Platform;
    let franchises = store
        .list_franchises(
            &scope,
            &FranchiseFilter {
                q: Some(FRANCHISE.into()),
                include_archived: false,
            },
            PageRequest::default(),
        )
        .await?;
    let franchise = franchises
        .items
        .into_iter()
        .find(|f| f.name == FRANCHISE)
        .ok_or(DemoRefusal::NotSeeded)?;
    let demo = GYMS
        .iter()
        .find(|g| g.locale == locale)
        .ok_or(DemoRefusal::NotSeeded)?;
    let gyms = store
        .list_gyms(
            &scope,
            &GymFilter {
                franchise_id: Some(franchise.id),
                q: Some(demo.name.into()),
                status: None,
                ..Default::default()
            },
            PageRequest::default(),
        )
        .await?;
    let gym = gyms
        .items
        .into_iter()
        .find(|g| g.name == demo.name)
        .ok_or(DemoRefusal::NotSeeded)?;
    let kiosks = store
        .list_kiosks(&scope, gym.id, PageRequest::default())
        .await?;
    let kiosk = kiosks
        .items
        .into_iter()
        .find(|k| k.name == WEB_KIOSK)
        .ok_or(DemoRefusal::NotSeeded)?;
    Ok(KioskIdentity { kiosk, gym })
}

/// Refuses when this month's demo calls (every instance, every demo gym) have cost
/// `budget_micros` or more.
pub async fn check_budget(
    store: &dyn Store,
    budget_micros: u64,
    now: OffsetDateTime,
) -> Result<(), DemoRefusal> {
    let spent = store
        .demo_month_to_date(jarvis_core::cost::BudgetPeriod::of(now))
        .await?;
    // pico-USD against micro-USD.
    if spent.cost_pico >= budget_micros.saturating_mul(1_000_000) {
        return Err(DemoRefusal::BudgetExhausted);
    }
    Ok(())
}

/// Members per batch of `seed_scale` (one transaction each; about 55,000 turns). Calls and
/// turns land all over their indexes (their ids follow their random start times), so every
/// commit rewrites most of those indexes' pages: 5,000 members per commit instead of 1,000
/// writes them a fifth as often.
pub const SCALE_BATCH: usize = 5000;

/// Days of history `seed_scale` spreads sessions and visits over (ending at today's midnight UTC).
pub const SCALE_DAYS: i64 = 90;

/// Days before the [`SCALE_DAYS`] window over which `seed_scale`'s members joined.
pub const SCALE_JOIN_DAYS: i64 = 300;

/// How far back (from today's midnight UTC) the demo gyms were created: before every member,
/// visit and session the seeds write, so the history is consistent and the `reports.weekly`
/// job, which skips gyms younger than the reported week, reports on them from its first run.
pub const HISTORY_DAYS: i64 = SCALE_DAYS + SCALE_JOIN_DAYS;

/// Today's midnight UTC: where the seeded history ends.
fn history_end(now: OffsetDateTime) -> OffsetDateTime {
    now.to_offset(time::UtcOffset::UTC)
        .date()
        .midnight()
        .assume_utc()
}

/// What `seed_scale` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScaleReport {
    /// The gym that holds the scale members.
    pub gym: Option<GymId>,
    /// Rows written now.
    pub written: jarvis_store::SeedCounts,
    /// Members whose batch was already there (an earlier run): skipped.
    pub members_kept: u64,
}

/// The badge of the `i`th scale member (distinct from the ~100 regular demo members').
pub fn scale_badge(prefix: &str, i: usize) -> String {
    format!("{prefix}-S{:07}", i + 1)
}

/// Adds `n` generated members to the first demo gym (Paris République), each with ~3 visits and
/// ~2 ended voice calls (~11 turns in all, ~90 % analysed) over the last [`SCALE_DAYS`] days,
/// plus the gym's day rollups: the dashboard at scale (issue 15, target 4). Run [`seed`] first.
///
/// Deterministic: member `i` is generated from its own seeded stream, so the same `n` on the
/// same UTC day writes the same rows (ids included). Resumable and safe to re-run: members are
/// written in batches of [`SCALE_BATCH`], one transaction each, and a batch whose first badge
/// already exists is skipped. `progress(done, n)` is called after every batch.
pub async fn seed_scale(
    store: &dyn Store,
    n: usize,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<ScaleReport, StoreError> {
    seed_scale_in(store, n, SCALE_BATCH, progress).await
}

/// [`seed_scale`] in batches of `batch` members (at least 1).
pub async fn seed_scale_in(
    store: &dyn Store,
    n: usize,
    batch: usize,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<ScaleReport, StoreError> {
    let batch_size = batch.max(1);
    let platform = Scope::Platform;
    let found = store
        .list_franchises(
            &platform,
            &FranchiseFilter {
                q: Some(FRANCHISE.into()),
                include_archived: true,
            },
            PageRequest::default(),
        )
        .await?;
    let franchise = found
        .items
        .into_iter()
        .find(|f| f.name == FRANCHISE)
        .ok_or(StoreError::NotFound("demo franchise"))?;
    let g = &GYMS[0];
    let gym = store
        .list_gyms(
            &platform,
            &GymFilter {
                franchise_id: Some(franchise.id),
                q: Some(g.name.into()),
                status: None,
                ..Default::default()
            },
            PageRequest::default(),
        )
        .await?
        .items
        .into_iter()
        .find(|x| x.name == g.name)
        .ok_or(StoreError::NotFound("demo gym"))?;
    let scope = Scope::Gym {
        franchise: franchise.id,
        gym: gym.id,
    };
    let kiosks: Vec<KioskId> = store
        .list_kiosks(&scope, gym.id, PageRequest::default())
        .await?
        .items
        .into_iter()
        .map(|k| k.id)
        .collect();
    let settings = crate::gyms::settings_of(&gym).unwrap_or_default();
    let end = history_end(OffsetDateTime::now_utc());
    let ctx = ScaleCtx {
        g,
        kiosks: &kiosks,
        end,
        settings,
    };
    let actor = Actor::system();
    let mut report = ScaleReport {
        gym: Some(gym.id),
        ..ScaleReport::default()
    };
    let total = n as u64;
    let mut start = 0;
    while start < n {
        let stop = (start + batch_size).min(n);
        let first = scale_badge(g.badge_prefix, start);
        match store.member_by_badge(&scope, gym.id, &first).await {
            Ok(_) => report.members_kept += (stop - start) as u64,
            Err(StoreError::NotFound(_)) => {
                let batch = scale_batch(&ctx, start..stop);
                report.written += store.seed_batch(&scope, &actor, gym.id, &batch).await?;
            }
            Err(e) => return Err(e),
        }
        progress(stop as u64, total);
        start = stop;
    }
    // A bulk load leaves the planner's statistics behind: the first pages would pick slow plans.
    store.refresh_statistics().await?;
    Ok(report)
}

/// What every generated row of a gym shares.
struct ScaleCtx<'a> {
    g: &'a DemoGym,
    kiosks: &'a [KioskId],
    end: OffsetDateTime,
    settings: GymSettings,
}

/// What members ask and how the assistant answers, per language (no personal data in them).
const EXCHANGES: [&[(&str, &str)]; 2] = [
    &[
        (
            "À quelle heure commence le cours de yoga demain ?",
            "Le yoga commence à 7 h au Studio 1, avec Léa. Il reste des places.",
        ),
        (
            "Je voudrais un programme pour le haut du corps.",
            "Je te propose développé couché, tirage horizontal et pompes : trois séries de dix.",
        ),
        (
            "Est-ce que la salle est ouverte dimanche ?",
            "Oui, le dimanche nous sommes ouverts de 8 h à 20 h.",
        ),
        (
            "Comment je peux geler mon abonnement ?",
            "Je préviens l'accueil : un membre de l'équipe te recontacte pour le gel.",
        ),
        (
            "J'ai mal au genou, je peux faire du vélo ?",
            "Le vélo est souvent doux pour le genou, mais demande l'avis d'un coach avant.",
        ),
    ],
    &[
        (
            "What time is the spinning class tonight?",
            "Spinning starts at 7 pm in the cycling room with Tom. A few bikes are still free.",
        ),
        (
            "Can you suggest a leg workout?",
            "Try squats, lunges and a plank: three rounds of twelve, with a minute of rest.",
        ),
        (
            "Are you open on Sunday?",
            "Yes, on Sundays we are open from 8 am to 8 pm.",
        ),
        (
            "How do I freeze my membership?",
            "I'll let the front desk know; someone from the team will get back to you.",
        ),
        (
            "My lower back hurts, should I deadlift?",
            "Better skip heavy deadlifts today and ask a coach for a lighter alternative.",
        ),
    ],
];

/// A v7 id at `at` from the stream (deterministic).
fn scale_id(rng: &mut Rng, at: OffsetDateTime) -> uuid::Uuid {
    let ms = u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let mut bytes = [0_u8; 10];
    bytes[..8].copy_from_slice(&rng.next().to_be_bytes());
    bytes[8..].copy_from_slice(&rng.next().to_be_bytes()[..2]);
    uuid::Builder::from_unix_timestamp_millis(ms, &bytes).into_uuid()
}

/// Members `range` of the scale data with their visits and sessions.
fn scale_batch(ctx: &ScaleCtx<'_>, range: std::ops::Range<usize>) -> jarvis_store::SeedBatch {
    use jarvis_store::{SeedMember, SeedSession, SeedTurn, SeedVisit};
    let mut batch = jarvis_store::SeedBatch::default();
    let window = SCALE_DAYS * 86_400;
    for i in range {
        // Each member has its own stream: member i is the same whatever the batch size or N.
        // The stream starts at a hash of i: splitmix64 streams seeded i and i + 1 directly
        // would be the same sequence shifted by one step (and give colliding ids).
        let mut rng = Rng(Rng(0x5CA1_E000_0000 ^ i as u64).next());
        let mut new = member_for(ctx.g, i, &mut rng);
        new.badge_id = scale_badge(ctx.g.badge_prefix, i);
        new.email = Some(format!("member.s{}@example.com", i + 1));
        let joined = rng.below(SCALE_JOIN_DAYS as u64 * 86_400) as i64;
        let created_at = ctx.end - Duration::seconds(window + joined);
        let id = MemberId::from(scale_id(&mut rng, created_at));
        let kiosk = |rng: &mut Rng| {
            (!ctx.kiosks.is_empty())
                .then(|| ctx.kiosks[rng.below(ctx.kiosks.len() as u64) as usize])
        };
        // Visits without a call, then one visit before each call.
        for _ in 0..rng.below(3) {
            let at = ctx.end - Duration::seconds(1 + rng.below(window as u64) as i64);
            batch.visits.push(SeedVisit {
                member: id,
                kiosk: kiosk(&mut rng),
                at,
            });
        }
        let calls = if new.consent_voice {
            1 + rng.below(3)
        } else {
            0
        };
        let lang = usize::from(new.preferred_language == Locale::En);
        let level = ctx.settings.storage_level_for(new.consent_transcripts);
        for _ in 0..calls {
            let started_at =
                ctx.end - Duration::seconds(3_600 + rng.below(window as u64 - 3_600) as i64);
            let k = kiosk(&mut rng);
            batch.visits.push(SeedVisit {
                member: id,
                kiosk: k,
                at: started_at - Duration::seconds(60 + rng.below(600) as i64),
            });
            let exchanges = 1 + rng.below(5);
            let mut at = started_at;
            let mut turns = Vec::new();
            let (mut input, mut output) = (0_u64, 0_u64);
            for _ in 0..exchanges {
                let (q, a) = EXCHANGES[lang][rng.below(EXCHANGES[lang].len() as u64) as usize];
                at += Duration::milliseconds(2_000 + rng.below(8_000) as i64);
                turns.push(SeedTurn {
                    turn: NewTurn::new(level, TurnRole::Member, q, at),
                    cost_pico: None,
                });
                let latency = 400 + rng.below(900) as u32;
                at += Duration::milliseconds(i64::from(latency) + rng.below(6_000) as i64);
                let (tin, tout) = (300 + rng.below(700), 200 + rng.below(600));
                input += tin;
                output += tout;
                turns.push(SeedTurn {
                    turn: NewTurn::new(level, TurnRole::Assistant, a, at).with_latency_ms(latency),
                    // Audio at $32 in / $64 out per million tokens (pico-USD per token).
                    cost_pico: Some(tin * 32_000_000 + tout * 64_000_000),
                });
            }
            let ended_at = at + Duration::seconds(2 + rng.below(20) as i64);
            let end_reason = match rng.below(10) {
                0..=5 => EndReason::MemberEnded,
                6..=7 => EndReason::AssistantEnded,
                _ => EndReason::Idle,
            };
            let session = VoiceSessionId::from(scale_id(&mut rng, started_at));
            let analysis = (rng.below(10) != 0).then(|| {
                let score = (rng.below(201) as f64 - 60.0) / 140.0;
                let score = score.clamp(-1.0, 1.0);
                let follow_up = rng.below(12) == 0;
                NewSessionAnalysis {
                    summary: match lang {
                        0 => {
                            format!("Le membre a posé {exchanges} question(s) ; réponses données.")
                        }
                        _ => format!("The member asked {exchanges} question(s); all answered."),
                    },
                    sentiment: Sentiment::from_score(score),
                    topics: vec![if lang == 0 { "horaires" } else { "schedule" }.into()],
                    sentiment_score: Some((score * 100.0).round() / 100.0),
                    satisfaction: Some(1 + rng.below(5) as u8),
                    follow_up: Some(follow_up),
                    follow_up_reason: follow_up.then(|| {
                        if lang == 0 {
                            "rappeler pour le gel de l'abonnement".to_string()
                        } else {
                            "call back about freezing the membership".to_string()
                        }
                    }),
                    cancellation_intent: Some(rng.below(40) == 0),
                    custom: serde_json::Map::new(),
                    attempts: 1,
                    model: Some("gpt-5-mini".into()),
                    cost_pico: 150_000_000 + rng.below(100_000_000),
                }
            });
            batch.sessions.push(SeedSession {
                id: session,
                member: id,
                kiosk: k,
                language: new.preferred_language,
                model: "gpt-realtime-2.1-mini".into(),
                started_at,
                ended_at,
                end_reason,
                input_audio_tokens: input,
                output_audio_tokens: output,
                responses: exchanges as u32,
                turns,
                analysis,
            });
        }
        batch.members.push(SeedMember {
            id,
            new,
            created_at,
        });
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_members_are_valid_and_deterministic() {
        for g in &GYMS {
            let mut a = Rng(7);
            let mut b = Rng(7);
            for i in 0..MEMBERS_PER_GYM {
                let m = member_for(g, i, &mut a);
                assert_eq!(m.badge_id, member_for(g, i, &mut b).badge_id);
                if let Err(e) = m.clone().validate() {
                    panic!("demo member {i} of {} is invalid: {e}", g.name);
                }
            }
        }
    }
}
