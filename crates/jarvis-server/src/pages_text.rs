//! Page words that come from the domain: statuses, sort options, tones, weekdays, fact sources,
//! and validation and conflict messages. The API speaks English and stable codes; the pages
//! translate by code here (English pages show the API's own message).

use super::Tr;
use jarvis_core::FieldError;
use jarvis_core::model::*;
use jarvis_store::StoreError;

impl Tr {
    fn pick(&self, fr: &'static str, en: &'static str) -> &'static str {
        match self.0 {
            Locale::Fr => fr,
            Locale::En => en,
        }
    }

    /// A membership status.
    pub fn membership(&self, s: &MembershipStatus) -> &'static str {
        match s {
            MembershipStatus::Active => self.pick("actif", "active"),
            MembershipStatus::Frozen => self.pick("gelé", "frozen"),
            MembershipStatus::Expired => self.pick("expiré", "expired"),
            MembershipStatus::Cancelled => self.pick("résilié", "cancelled"),
        }
    }

    /// A membership status given by its storage name (select boxes).
    pub fn membership_str(&self, s: &str) -> &'static str {
        MembershipStatus::parse(s).map_or("?", |s| self.membership(&s))
    }

    /// A gym status.
    pub fn gym_status(&self, s: &GymStatus) -> &'static str {
        match s {
            GymStatus::Pending => self.pick("en attente", "pending"),
            GymStatus::Active => self.pick("active", "active"),
            GymStatus::Rejected => self.pick("refusée", "rejected"),
            GymStatus::Suspended => self.pick("suspendue", "suspended"),
            GymStatus::Archived => self.pick("archivée", "archived"),
        }
    }

    /// An import job status.
    pub fn import_status(&self, s: &ImportStatus) -> &'static str {
        match s {
            ImportStatus::Queued => self.pick("en attente", "queued"),
            ImportStatus::Running => self.pick("en cours", "running"),
            ImportStatus::Succeeded => self.pick("terminé", "succeeded"),
            ImportStatus::Failed => self.pick("échoué", "failed"),
        }
    }

    /// An import job status given by its storage name (the job page's live labels).
    pub fn import_status_str(&self, s: &str) -> &'static str {
        ImportStatus::parse(s).map_or("?", |s| self.import_status(&s))
    }

    /// A weekday, short.
    pub fn weekday(&self, d: &Weekday) -> &'static str {
        match d {
            Weekday::Mon => self.pick("lun.", "Mon"),
            Weekday::Tue => self.pick("mar.", "Tue"),
            Weekday::Wed => self.pick("mer.", "Wed"),
            Weekday::Thu => self.pick("jeu.", "Thu"),
            Weekday::Fri => self.pick("ven.", "Fri"),
            Weekday::Sat => self.pick("sam.", "Sat"),
            Weekday::Sun => self.pick("dim.", "Sun"),
        }
    }

    /// A weekday given by its storage name (select boxes).
    pub fn weekday_str(&self, d: &str) -> &'static str {
        Weekday::parse(d).map_or("?", |d| self.weekday(&d))
    }

    /// A member list sort option.
    pub fn sort(&self, key: &str) -> &'static str {
        match key {
            "name" => self.pick("nom", "name"),
            "created_desc" => self.pick("plus récents", "newest"),
            "last_visit_desc" => self.pick("dernière visite", "last visit"),
            "badge" => self.pick("badge", "badge"),
            _ => "?",
        }
    }

    /// The assistant's tone.
    pub fn tone(&self, key: &str) -> &'static str {
        match key {
            "friendly" => self.pick("chaleureux", "friendly"),
            "motivating" => self.pick("motivant", "motivating"),
            "calm" => self.pick("calme", "calm"),
            "professional" => self.pick("professionnel", "professional"),
            _ => "?",
        }
    }

    /// Who wrote a member fact.
    pub fn source(&self, s: &FactSource) -> &'static str {
        match s {
            FactSource::Staff => self.pick("équipe", "staff"),
            FactSource::Assistant => self.pick("assistant", "assistant"),
            FactSource::Import => self.pick("import", "import"),
        }
    }
}

/// The numbers in an English message, in order ("must be between 1 and 50" → 1, 50).
fn numbers(message: &str) -> Vec<&str> {
    message
        .split(|c: char| !c.is_ascii_digit())
        .filter(|n| !n.is_empty())
        .collect()
}

/// A validation error in the page's language, by its stable code (and field where the code
/// alone does not say enough).
pub fn field_message(t: Tr, e: &FieldError) -> String {
    if t.0 == Locale::En {
        return e.message.clone();
    }
    let field = e.field.trim_start_matches("settings.");
    let hours = field.starts_with("opening_hours");
    let n = numbers(&e.message);
    let fr: String = match e.code.as_str() {
        "required" => match field {
            "weekday" => "un cours hebdomadaire a besoin d'un jour".into(),
            "date" => "un cours ponctuel a besoin d'une date".into(),
            _ => "obligatoire".into(),
        },
        "too_long" => match n.first() {
            Some(max) => format!("{max} caractères au plus"),
            None => "trop long".into(),
        },
        "too_large" => "trop volumineux".into(),
        "invalid_characters" => "ne doit pas contenir de caractères de contrôle".into(),
        "invalid_format" => match field {
            "email" => "doit être une adresse e-mail comme nom@exemple.fr".into(),
            "phone" => "doit être un numéro de téléphone comme +33 6 12 34 56 78".into(),
            "badge_id" => "lettres, chiffres, « - », « _ » et « : » uniquement".into(),
            "membership_type" => "lettres, chiffres, « - » et « _ » uniquement".into(),
            "timezone" => "doit être un fuseau horaire IANA, comme Europe/Paris ou UTC".into(),
            "start_time" => "format HH:MM, entre 00:00 et 23:59".into(),
            _ if hours => "heures au format HH:MM (00:00-24:00)".into(),
            _ => "format invalide".into(),
        },
        "too_many" => match (field, n.first()) {
            (f, Some(max)) if f.starts_with("goals") => format!("{max} objectifs au plus"),
            (_, Some(max)) if hours => format!("{max} créneaux par jour au plus"),
            _ => "trop d'éléments".into(),
        },
        "out_of_range" => match field {
            "birth_date" => "doit être entre le 01/01/1900 et aujourd'hui".into(),
            "monthly_ai_budget_micros" => "doit être entre 0 et 1 000 000 $".into(),
            "uptime_secs" => "ne doit pas être négatif".into(),
            _ if hours => "la fermeture doit suivre l'ouverture".into(),
            _ => match n.as_slice() {
                [lo, hi, ..] => format!("doit être entre {lo} et {hi}"),
                _ => "hors limites".into(),
            },
        },
        "forbidden" => {
            "seul le propriétaire de la franchise ou un super administrateur peut le modifier"
                .into()
        }
        _ => "valeur invalide".into(),
    };
    fr
}

/// A storage refusal shown on a form, in the page's language: the form field it belongs to and
/// the message. Conflicts are translated by constraint, rule breaks by field.
pub fn store_message(t: Tr, e: &StoreError) -> (String, String) {
    let (field, english) = match e {
        StoreError::Conflict { field, message, .. } | StoreError::Invalid { field, message } => {
            (field.to_string(), message.clone())
        }
        other => ("".to_string(), other.to_string()),
    };
    if t.0 == Locale::En {
        return (field, english);
    }
    let fr = match e {
        StoreError::Conflict { constraint, .. } => match *constraint {
            "members_gym_badge_key" => {
                // The English message names the badge between backticks.
                match english.split('`').nth(1) {
                    Some(b) => format!("le badge « {b} » est déjà utilisé par un autre membre de cette salle"),
                    None => "ce badge est déjà utilisé par un autre membre de cette salle".into(),
                }
            }
            "kiosks_gym_name_key" => "cette salle a déjà une borne de ce nom".into(),
            "gyms_franchise_name_key" => "cette franchise a déjà une salle de ce nom".into(),
            "gyms_status_changed" => {
                "le statut de la salle a changé entre-temps ; rechargez la page et décidez à nouveau"
                    .into()
            }
            _ => "cette valeur est déjà utilisée".into(),
        },
        StoreError::Invalid { field, .. } => match *field {
            "reason" if english.contains("required") => {
                "un motif est obligatoire pour refuser ou suspendre une salle".into()
            }
            "reason" => "500 caractères au plus".into(),
            "status" => "ce changement de statut n'est pas possible".into(),
            "gym_id" => "une borne ne peut rejoindre qu'une salle de sa franchise".into(),
            _ => "valeur refusée".into(),
        },
        StoreError::NotFound(_) => "introuvable".into(),
        _ => "l'opération a échoué ; réessayez".into(),
    };
    (field, fr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_messages_follow_the_code() {
        let fr = Tr(Locale::Fr);
        let m = |field: &str, code: &str, msg: &str| {
            field_message(fr, &FieldError::new(field, code, msg))
        };
        assert_eq!(
            m("first_name", "too_long", "must be at most 80 characters"),
            "80 caractères au plus"
        );
        assert_eq!(
            m(
                "settings.voice_session_cap",
                "out_of_range",
                "must be between 1 and 50"
            ),
            "doit être entre 1 et 50"
        );
        assert_eq!(
            m(
                "settings.opening_hours.mon[0]",
                "out_of_range",
                "must close after it opens"
            ),
            "la fermeture doit suivre l'ouverture"
        );
        assert!(m("email", "invalid_format", "x").contains("adresse e-mail"));
        let en = Tr(Locale::En);
        assert_eq!(
            field_message(en, &FieldError::new("x", "required", "must not be empty")),
            "must not be empty"
        );
    }
}
