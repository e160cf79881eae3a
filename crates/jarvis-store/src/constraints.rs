//! Named constraints → the input field they protect and a human message. Both backends use
//! the same names; SQLite reports UNIQUE failures by column list, so those are mapped too.

use crate::error::StoreError;

struct Rule {
    name: &'static str,
    /// SQLite's "UNIQUE constraint failed: <columns>" text for this constraint.
    sqlite_columns: &'static str,
    field: &'static str,
    message: &'static str,
    unique: bool,
}

const RULES: &[Rule] = &[
    Rule {
        name: "analysis_fields_name_key",
        sqlite_columns: "analysis_fields.gym_id, analysis_fields.name",
        field: "name",
        message: "this gym already has an analysis field with this name",
        unique: true,
    },
    Rule {
        name: "franchises_name_key",
        sqlite_columns: "franchises.name",
        field: "name",
        message: "a franchise with this name already exists",
        unique: true,
    },
    Rule {
        name: "gyms_franchise_name_key",
        sqlite_columns: "gyms.franchise_id, gyms.name",
        field: "name",
        message: "this franchise already has a gym with this name",
        unique: true,
    },
    Rule {
        name: "users_email_key",
        sqlite_columns: "users.email",
        field: "email",
        message: "a user with this e-mail already exists",
        unique: true,
    },
    Rule {
        name: "memberships_user_scope_key",
        sqlite_columns: "index 'memberships_user_scope_key'",
        field: "role",
        message: "the user already holds this role here",
        unique: true,
    },
    Rule {
        name: "members_gym_badge_key",
        sqlite_columns: "members.gym_id, members.badge_id",
        field: "badge_id",
        message: "this badge is already used by another member of this gym",
        unique: true,
    },
    Rule {
        name: "kiosks_gym_name_key",
        sqlite_columns: "kiosks.gym_id, kiosks.name",
        field: "name",
        message: "this gym already has a kiosk with this name",
        unique: true,
    },
    Rule {
        name: "kiosks_device_token_hash_key",
        sqlite_columns: "kiosks.device_token_hash",
        field: "device_token",
        message: "device token collision",
        unique: true,
    },
    Rule {
        name: "gyms_locale_check",
        sqlite_columns: "",
        field: "locale",
        message: "locale must be fr or en",
        unique: false,
    },
    Rule {
        name: "gyms_status_check",
        sqlite_columns: "",
        field: "status",
        message: "unknown gym status",
        unique: false,
    },
    Rule {
        name: "members_status_check",
        sqlite_columns: "",
        field: "membership_status",
        message: "unknown membership status",
        unique: false,
    },
    Rule {
        name: "members_language_check",
        sqlite_columns: "",
        field: "preferred_language",
        message: "language must be fr or en",
        unique: false,
    },
    Rule {
        name: "memberships_shape_check",
        sqlite_columns: "",
        field: "role",
        message: "this role does not fit that scope",
        unique: false,
    },
    Rule {
        name: "memberships_role_check",
        sqlite_columns: "",
        field: "role",
        message: "unknown role",
        unique: false,
    },
    Rule {
        name: "kiosks_pairing_code_hash_key",
        sqlite_columns: "kiosks.pairing_code_hash",
        field: "code",
        message: "pairing code collision; ask for a new code",
        unique: true,
    },
    Rule {
        name: "kiosks_mic_status_check",
        sqlite_columns: "",
        field: "mic_status",
        message: "unknown microphone status",
        unique: false,
    },
    Rule {
        name: "kiosks_network_quality_check",
        sqlite_columns: "",
        field: "network_quality",
        message: "unknown network quality",
        unique: false,
    },
    Rule {
        name: "class_schedules_weekday_check",
        sqlite_columns: "",
        field: "weekday",
        message: "unknown weekday",
        unique: false,
    },
    Rule {
        name: "class_schedules_when_check",
        sqlite_columns: "",
        field: "weekday",
        message: "a weekly class needs a weekday, a one-off class a date",
        unique: false,
    },
    Rule {
        name: "member_facts_source_check",
        sqlite_columns: "",
        field: "source",
        message: "unknown fact source",
        unique: false,
    },
    Rule {
        name: "member_imports_status_check",
        sqlite_columns: "",
        field: "status",
        message: "unknown import status",
        unique: false,
    },
    Rule {
        name: "kiosks_status_check",
        sqlite_columns: "",
        field: "status",
        message: "unknown kiosk status",
        unique: false,
    },
    Rule {
        name: "voice_sessions_provider_call_id_key",
        sqlite_columns: "voice_sessions.provider_call_id",
        field: "provider_call_id",
        message: "another session already holds this provider call id",
        unique: true,
    },
    Rule {
        name: "tool_calls_session_call_key",
        sqlite_columns: "tool_calls.session_id, tool_calls.call_id",
        field: "call_id",
        message: "this tool call is already recorded for the session",
        unique: true,
    },
    Rule {
        name: "conversation_turns_session_seq_key",
        sqlite_columns: "conversation_turns.session_id, conversation_turns.seq",
        field: "seq",
        message: "a turn with this number already exists in the session",
        unique: true,
    },
    Rule {
        name: "model_prices_model_from_key",
        sqlite_columns: "model_prices.model, model_prices.effective_from",
        field: "effective_from",
        message: "this model already has a price from this date",
        unique: true,
    },
    Rule {
        name: "voice_sessions_end_reason_check",
        sqlite_columns: "",
        field: "end_reason",
        message: "unknown end reason",
        unique: false,
    },
    Rule {
        name: "voice_sessions_language_check",
        sqlite_columns: "",
        field: "language",
        message: "language must be fr or en",
        unique: false,
    },
    Rule {
        name: "voice_sessions_cost_check",
        sqlite_columns: "",
        field: "cost_pico",
        message: "a cost cannot be negative",
        unique: false,
    },
    Rule {
        name: "model_prices_nonnegative_check",
        sqlite_columns: "",
        field: "price",
        message: "a price cannot be negative",
        unique: false,
    },
    Rule {
        name: "http_tools_gym_name_key",
        sqlite_columns: "http_tools.gym_id, http_tools.name",
        field: "name",
        message: "this gym already has a tool with this name",
        unique: true,
    },
];
fn rule_error(r: &Rule) -> StoreError {
    if r.unique {
        StoreError::Conflict {
            constraint: r.name,
            field: r.field,
            message: r.message.to_string(),
        }
    } else {
        StoreError::Invalid {
            field: r.field,
            message: r.message.to_string(),
        }
    }
}

/// Maps a PostgreSQL constraint name.
pub(crate) fn from_constraint_name(name: &str) -> Option<StoreError> {
    RULES.iter().find(|r| r.name == name).map(rule_error)
}

/// Maps a SQLite constraint message ("UNIQUE constraint failed: members.gym_id, members.badge_id",
/// "CHECK constraint failed: members_status_check").
pub(crate) fn from_sqlite_message(msg: &str) -> Option<StoreError> {
    if let Some(cols) = msg.strip_prefix("UNIQUE constraint failed: ") {
        return RULES
            .iter()
            .find(|r| r.unique && r.sqlite_columns == cols.trim())
            .map(rule_error);
    }
    if let Some(name) = msg.strip_prefix("CHECK constraint failed: ") {
        return from_constraint_name(name.trim());
    }
    if msg.starts_with("FOREIGN KEY constraint failed") {
        return Some(StoreError::Invalid {
            field: "id",
            message: "refers to something that does not exist".into(),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_messages_map_to_fields() {
        match from_sqlite_message("UNIQUE constraint failed: members.gym_id, members.badge_id") {
            Some(StoreError::Conflict {
                field, constraint, ..
            }) => {
                assert_eq!(field, "badge_id");
                assert_eq!(constraint, "members_gym_badge_key");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            from_sqlite_message("CHECK constraint failed: members_status_check"),
            Some(StoreError::Invalid {
                field: "membership_status",
                ..
            })
        ));
        assert!(from_sqlite_message("something else").is_none());
    }
}
