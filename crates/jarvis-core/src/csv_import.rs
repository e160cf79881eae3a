//! Member CSV import and export: header mapping, lenient-but-exact parsing of spreadsheet
//! exports (UTF-8 BOM, `;` or `,`, quoted fields, Windows-1252 fallback), and per-row errors.
//!
//! Each row is turned into a [`NewMember`] field by field from an explicit mapping; a column that
//! maps to no known field is ignored (and listed in the report), so nothing from the file is
//! ever spread into an insert.

use crate::model::{Locale, Member, MembershipStatus, NewMember};
use crate::validate::FieldError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use time::Date;

/// Most data rows one import accepts.
pub const MAX_ROWS: usize = 200_000;
/// Most row errors kept in a report (the count stays exact).
pub const MAX_REPORTED_ERRORS: usize = 1_000;

/// A member field a CSV column can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Badge id (required).
    BadgeId,
    /// First name (required).
    FirstName,
    /// Last name (required).
    LastName,
    /// E-mail.
    Email,
    /// Phone.
    Phone,
    /// Birth date.
    BirthDate,
    /// `fr` or `en`.
    PreferredLanguage,
    /// Plan name.
    MembershipType,
    /// Subscription state.
    MembershipStatus,
    /// Membership end date.
    MembershipEndDate,
    /// Goals separated by `|`.
    Goals,
    /// Injuries/limitations note.
    Limitations,
    /// Consent to voice conversations.
    ConsentVoice,
    /// Consent to storing transcripts.
    ConsentTranscripts,
}

impl Field {
    /// Every field, in export column order.
    pub const ALL: [Field; 14] = [
        Field::BadgeId,
        Field::FirstName,
        Field::LastName,
        Field::Email,
        Field::Phone,
        Field::BirthDate,
        Field::PreferredLanguage,
        Field::MembershipType,
        Field::MembershipStatus,
        Field::MembershipEndDate,
        Field::Goals,
        Field::Limitations,
        Field::ConsentVoice,
        Field::ConsentTranscripts,
    ];

    /// The field name (also the export header).
    pub fn name(&self) -> &'static str {
        match self {
            Field::BadgeId => "badge_id",
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::Email => "email",
            Field::Phone => "phone",
            Field::BirthDate => "birth_date",
            Field::PreferredLanguage => "preferred_language",
            Field::MembershipType => "membership_type",
            Field::MembershipStatus => "membership_status",
            Field::MembershipEndDate => "membership_end_date",
            Field::Goals => "goals",
            Field::Limitations => "limitations",
            Field::ConsentVoice => "consent_voice",
            Field::ConsentTranscripts => "consent_transcripts",
        }
    }

    /// Parses a field name.
    pub fn parse(s: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == s)
    }

    /// Header spellings recognized without a mapping (normalized: lower-case, no accents, no
    /// spaces, `_` or `-`).
    fn aliases(&self) -> &'static [&'static str] {
        match self {
            Field::BadgeId => &[
                "badgeid",
                "badge",
                "carte",
                "card",
                "cardid",
                "rfid",
                "numerobadge",
                "badgeno",
            ],
            Field::FirstName => &["firstname", "prenom", "givenname", "first"],
            Field::LastName => &[
                "lastname",
                "nom",
                "surname",
                "familyname",
                "nomdefamille",
                "last",
            ],
            Field::Email => &["email", "mail", "courriel", "adressemail", "emailaddress"],
            Field::Phone => &[
                "phone",
                "telephone",
                "tel",
                "mobile",
                "portable",
                "phonenumber",
            ],
            Field::BirthDate => &[
                "birthdate",
                "dateofbirth",
                "dob",
                "datenaissance",
                "datedenaissance",
                "naissance",
            ],
            Field::PreferredLanguage => &["preferredlanguage", "language", "langue", "lang"],
            Field::MembershipType => &[
                "membershiptype",
                "type",
                "abonnement",
                "typeabonnement",
                "plan",
                "formule",
            ],
            Field::MembershipStatus => &["membershipstatus", "status", "statut"],
            Field::MembershipEndDate => &[
                "membershipenddate",
                "enddate",
                "finabonnement",
                "datefin",
                "expiration",
                "expires",
            ],
            Field::Goals => &["goals", "objectifs", "objectif", "goal"],
            Field::Limitations => &[
                "limitations",
                "injuries",
                "blessures",
                "limitationsphysiques",
            ],
            Field::ConsentVoice => &["consentvoice", "consentementvocal", "voiceconsent"],
            Field::ConsentTranscripts => &[
                "consenttranscripts",
                "consentementtranscriptions",
                "transcriptconsent",
            ],
        }
    }
}

/// Problems that stop the whole file (as opposed to one row).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// Nothing in the file.
    #[error("the file is empty")]
    Empty,
    /// A required field has no column.
    #[error("no column for required field `{0}`; map it explicitly")]
    MissingColumn(&'static str),
    /// The mapping names a header that is not in the file.
    #[error("the mapping names column `{column}` for `{field}`, but the file has no such column")]
    UnknownColumn {
        /// Field.
        field: String,
        /// Column named.
        column: String,
    },
    /// The mapping names an unknown field.
    #[error("unknown member field `{0}` in the mapping")]
    UnknownField(String),
    /// Too many rows.
    #[error("the file has more than {MAX_ROWS} rows; split it")]
    TooManyRows,
    /// The CSV reader failed.
    #[error("unreadable CSV: {0}")]
    Unreadable(String),
}

/// One bad cell or row: the line in the file (header = line 1), the column, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RowError {
    /// Line number in the file (the header is line 1).
    pub row: u64,
    /// Column header (or the field name when the row as a whole is wrong).
    pub column: String,
    /// Why, in English. Never echoes the cell's value, so reports hold no personal data.
    pub reason: String,
    /// Stable reason code for translations (`not_a_date`, `duplicate_badge`, …, or a member
    /// validation code such as `required` with `field` set); empty in reports stored before.
    #[serde(default)]
    pub code: String,
    /// The member field a validation code is about (`email`), else empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field: String,
}

impl RowError {
    /// An error of line `row` in `column`, with its stable `code` and English `reason`.
    pub fn new(row: u64, column: impl Into<String>, code: &str, reason: impl Into<String>) -> Self {
        Self {
            row,
            column: column.into(),
            reason: reason.into(),
            code: code.into(),
            field: String::new(),
        }
    }
}

/// The outcome of parsing a file.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// Good rows with their line numbers.
    pub rows: Vec<(u64, NewMember)>,
    /// Bad rows.
    pub errors: Vec<RowError>,
    /// Data rows in the file.
    pub total_rows: u64,
    /// Field → column used.
    pub mapping: BTreeMap<String, String>,
    /// Columns that fill no field.
    pub ignored_columns: Vec<String>,
    /// The delimiter found.
    pub delimiter: char,
}

/// What an import did (or, for a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Data rows in the file.
    pub total_rows: u64,
    /// Rows that passed every check.
    pub valid_rows: u64,
    /// Rows written.
    pub inserted: u64,
    /// Rows left out (bad rows in skip mode, or everything when nothing was written).
    pub skipped: u64,
    /// Number of row errors (exact, even when the list is cut).
    pub error_count: u64,
    /// The first row errors (at most 1000).
    pub errors: Vec<RowError>,
    /// Field → column used.
    pub mapping: BTreeMap<String, String>,
    /// Columns that were ignored.
    pub ignored_columns: Vec<String>,
    /// `;` or `,`.
    pub delimiter: String,
    /// Only checked.
    pub dry_run: bool,
    /// Why nothing was written, when the whole file failed.
    pub failure: Option<String>,
}

impl ImportReport {
    /// Adds row errors, keeping the count exact and the list bounded.
    pub fn add_errors(&mut self, errs: impl IntoIterator<Item = RowError>) {
        for e in errs {
            self.error_count += 1;
            if self.errors.len() < MAX_REPORTED_ERRORS {
                self.errors.push(e);
            }
        }
    }
}

fn normalize_header(h: &str) -> String {
    h.trim()
        .chars()
        .filter_map(|c| {
            let c = c.to_lowercase().next().unwrap_or(c);
            let base = match c {
                'à' | 'â' | 'ä' | 'á' => 'a',
                'é' | 'è' | 'ê' | 'ë' => 'e',
                'î' | 'ï' | 'í' => 'i',
                'ô' | 'ö' | 'ó' => 'o',
                'ù' | 'û' | 'ü' | 'ú' => 'u',
                'ç' => 'c',
                c => c,
            };
            base.is_ascii_alphanumeric().then_some(base)
        })
        .collect()
}

/// Windows-1252-ish fallback for non-UTF-8 cells (old Excel exports): Latin-1 byte → char.
fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

fn detect_delimiter(data: &[u8]) -> u8 {
    let first_line = data.split(|&b| b == b'\n').next().unwrap_or_default();
    let (mut semi, mut comma, mut quoted) = (0, 0, false);
    for &b in first_line {
        match b {
            b'"' => quoted = !quoted,
            b';' if !quoted => semi += 1,
            b',' if !quoted => comma += 1,
            _ => {}
        }
    }
    if semi > comma { b';' } else { b',' }
}

/// Parses a date written `YYYY-MM-DD`, `DD/MM/YYYY` or `DD.MM.YYYY`.
pub fn parse_date(s: &str) -> Option<Date> {
    let s = s.trim();
    let (y, m, d) = if let Some((y, rest)) = s.split_once('-') {
        let (m, d) = rest.split_once('-')?;
        (y, m, d)
    } else {
        let sep = if s.contains('/') { '/' } else { '.' };
        let mut it = s.split(sep);
        let (d, m, y) = (it.next()?, it.next()?, it.next()?);
        if it.next().is_some() {
            return None;
        }
        (y, m, d)
    };
    if y.len() != 4 || m.is_empty() || m.len() > 2 || d.is_empty() || d.len() > 2 {
        return None;
    }
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

fn parse_bool(s: &str) -> Option<bool> {
    match normalize_header(s).as_str() {
        "" | "0" | "no" | "non" | "n" | "false" | "faux" => Some(false),
        "1" | "yes" | "oui" | "y" | "o" | "true" | "vrai" | "x" => Some(true),
        _ => None,
    }
}

fn parse_language(s: &str) -> Option<Locale> {
    match normalize_header(s).as_str() {
        "fr" | "francais" | "french" | "fra" => Some(Locale::Fr),
        "en" | "anglais" | "english" | "eng" => Some(Locale::En),
        _ => None,
    }
}

fn parse_status(s: &str) -> Option<MembershipStatus> {
    match normalize_header(s).as_str() {
        "active" | "actif" | "active1" | "valide" => Some(MembershipStatus::Active),
        "frozen" | "gele" | "suspendu" | "pause" => Some(MembershipStatus::Frozen),
        "expired" | "expire" => Some(MembershipStatus::Expired),
        "cancelled" | "canceled" | "annule" | "resilie" => Some(MembershipStatus::Cancelled),
        _ => None,
    }
}

/// Resolves the mapping: explicit `field → column` overrides first, then header aliases.
fn resolve_mapping(
    headers: &[String],
    overrides: &BTreeMap<String, String>,
) -> Result<HashMap<Field, usize>, FileError> {
    let mut map: HashMap<Field, usize> = HashMap::new();
    for (field, column) in overrides {
        let f = Field::parse(field).ok_or_else(|| FileError::UnknownField(field.clone()))?;
        let idx = headers
            .iter()
            .position(|h| h.trim() == column.trim())
            .ok_or_else(|| FileError::UnknownColumn {
                field: field.clone(),
                column: column.clone(),
            })?;
        map.insert(f, idx);
    }
    for (idx, h) in headers.iter().enumerate() {
        let n = normalize_header(h);
        if map.values().any(|&i| i == idx) {
            continue;
        }
        if let Some(f) = Field::ALL
            .into_iter()
            .find(|f| !map.contains_key(f) && f.aliases().contains(&n.as_str()))
        {
            map.insert(f, idx);
        }
    }
    for f in [Field::BadgeId, Field::FirstName, Field::LastName] {
        if !map.contains_key(&f) {
            return Err(FileError::MissingColumn(f.name()));
        }
    }
    Ok(map)
}

/// Parses a whole file with an optional explicit mapping (`field → column header`).
pub fn parse(data: &[u8], overrides: &BTreeMap<String, String>) -> Result<Parsed, FileError> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    if data.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(FileError::Empty);
    }
    let delimiter = detect_delimiter(data);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(data);
    let headers: Vec<String> = reader
        .byte_headers()
        .map_err(|e| FileError::Unreadable(e.to_string()))?
        .iter()
        .map(decode)
        .map(|h| h.trim().to_string())
        .collect();
    let map = resolve_mapping(&headers, overrides)?;
    let mut out = Parsed {
        rows: Vec::new(),
        errors: Vec::new(),
        total_rows: 0,
        mapping: map
            .iter()
            .map(|(f, &i)| (f.name().to_string(), headers[i].clone()))
            .collect(),
        ignored_columns: headers
            .iter()
            .enumerate()
            .filter(|(i, _)| !map.values().any(|v| v == i))
            .map(|(_, h)| h.clone())
            .collect(),
        delimiter: char::from(delimiter),
    };
    let mut seen_badges: HashMap<String, u64> = HashMap::new();
    let mut record = csv::ByteRecord::new();
    // Line numbers come from byte offsets: the reader's own line counter lags by one after a
    // CRLF terminator (Excel's default), and users look rows up by line in their editor.
    let mut lines = LineCounter::default();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e
                    .position()
                    .map_or(0, |p| lines.line_at(data, p.byte() as usize));
                out.total_rows += 1;
                out.errors.push(RowError::new(
                    line,
                    "",
                    "unreadable_row",
                    "unreadable row (unbalanced quotes?)",
                ));
                continue;
            }
        }
        let line = record
            .position()
            .map_or(0, |p| lines.line_at(data, p.byte() as usize));
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue; // blank lines are not rows
        }
        out.total_rows += 1;
        if out.total_rows as usize > MAX_ROWS {
            return Err(FileError::TooManyRows);
        }
        if record.len() != headers.len() {
            out.errors.push(RowError::new(
                line,
                "",
                "field_count",
                format!(
                    "row has {} fields but the header has {} (wrong delimiter or unquoted `{}`?)",
                    record.len(),
                    headers.len(),
                    char::from(delimiter)
                ),
            ));
            continue;
        }
        match row_to_member(&record, &map, &headers, line) {
            Ok(m) => {
                if let Some(first) = seen_badges.get(&m.badge_id) {
                    out.errors.push(RowError::new(
                        line,
                        headers[map[&Field::BadgeId]].clone(),
                        "duplicate_badge",
                        format!("duplicate badge: already used on line {first}"),
                    ));
                } else {
                    seen_badges.insert(m.badge_id.clone(), line);
                    out.rows.push((line, m));
                }
            }
            Err(errs) => out.errors.extend(errs),
        }
    }
    Ok(out)
}

/// Turns increasing byte offsets into 1-based line numbers without rescanning the file.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    newlines: u64,
}

impl LineCounter {
    fn line_at(&mut self, data: &[u8], byte: usize) -> u64 {
        let mut start = byte.min(data.len());
        // A record "starts" at the terminator left over from the previous line; skip it.
        while start < data.len() && matches!(data[start], b'\r' | b'\n') {
            start += 1;
        }
        if start >= self.offset {
            self.newlines += data[self.offset..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            self.offset = start;
        }
        self.newlines + 1
    }
}

fn row_to_member(
    record: &csv::ByteRecord,
    map: &HashMap<Field, usize>,
    headers: &[String],
    line: u64,
) -> Result<NewMember, Vec<RowError>> {
    let cell = |f: Field| -> Option<String> {
        map.get(&f)
            .and_then(|&i| record.get(i))
            .map(decode)
            .map(|s| unquote_formula(s.trim()).to_string())
            .filter(|s| !s.is_empty())
    };
    let mut errors: Vec<RowError> = Vec::new();
    let mut bad = |f: Field, code: &str, reason: &str| {
        errors.push(RowError::new(
            line,
            map.get(&f)
                .map_or_else(|| f.name().to_string(), |&i| headers[i].clone()),
            code,
            reason,
        ));
    };
    let date = |f: Field, bad: &mut dyn FnMut(Field, &str, &str)| -> Option<Date> {
        let v = cell(f)?;
        let d = parse_date(&v);
        if d.is_none() {
            bad(f, "not_a_date", "not a date (use YYYY-MM-DD or DD/MM/YYYY)");
        }
        d
    };
    let birth_date = date(Field::BirthDate, &mut bad);
    let membership_end_date = date(Field::MembershipEndDate, &mut bad);
    let preferred_language = match cell(Field::PreferredLanguage) {
        None => Locale::Fr,
        Some(v) => parse_language(&v).unwrap_or_else(|| {
            bad(
                Field::PreferredLanguage,
                "bad_language",
                "language must be fr or en",
            );
            Locale::Fr
        }),
    };
    let membership_status = match cell(Field::MembershipStatus) {
        None => MembershipStatus::Active,
        Some(v) => parse_status(&v).unwrap_or_else(|| {
            bad(
                Field::MembershipStatus,
                "bad_status",
                "status must be active, frozen, expired or cancelled",
            );
            MembershipStatus::Active
        }),
    };
    let mut consent = |f: Field| match cell(f) {
        None => false,
        Some(v) => parse_bool(&v).unwrap_or_else(|| {
            bad(
                f,
                "bad_boolean",
                "must be yes/no (oui/non, true/false, 1/0)",
            );
            false
        }),
    };
    let consent_voice = consent(Field::ConsentVoice);
    let consent_transcripts = consent(Field::ConsentTranscripts);
    let new = NewMember {
        badge_id: cell(Field::BadgeId).unwrap_or_default(),
        first_name: cell(Field::FirstName).unwrap_or_default(),
        last_name: cell(Field::LastName).unwrap_or_default(),
        email: cell(Field::Email),
        phone: cell(Field::Phone),
        birth_date,
        preferred_language,
        membership_type: cell(Field::MembershipType).unwrap_or_else(|| "standard".into()),
        membership_status,
        membership_end_date,
        goals: cell(Field::Goals)
            .map(|g| {
                g.split('|')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        limitations: cell(Field::Limitations),
        consent_voice,
        consent_transcripts,
    };
    match new.validate() {
        Ok(m) if errors.is_empty() => Ok(m),
        Ok(_) => Err(errors),
        Err(v) => {
            errors.extend(v.0.into_iter().map(|e: FieldError| {
                let base = e.field.split('[').next().unwrap_or_default().to_string();
                let column = Field::parse(&base)
                    .and_then(|f| map.get(&f))
                    .map_or(e.field.clone(), |&i| headers[i].clone());
                RowError {
                    row: line,
                    column,
                    reason: e.message,
                    code: e.code,
                    field: e.field,
                }
            }));
            errors.sort_by_key(|e| headers.iter().position(|h| *h == e.column));
            Err(errors)
        }
    }
}

/// Undoes the export's formula guard: `'=x` (and `'+`, `'-`, `'@`) reads back as `=x`.
fn unquote_formula(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
        _ => s,
    }
}

/// Export header line (field names, `,`-separated).
pub fn export_header() -> String {
    Field::ALL.map(|f| f.name()).join(",")
}

/// One member as an export line. Cells that a spreadsheet would run as a formula are prefixed
/// with `'` (CSV injection), and every cell is quoted when needed.
pub fn export_row(m: &Member) -> String {
    let date = |d: Option<Date>| d.map(|d| d.to_string()).unwrap_or_default();
    let cells = [
        m.badge_id.clone(),
        m.first_name.clone(),
        m.last_name.clone(),
        m.email.clone().unwrap_or_default(),
        m.phone.clone().unwrap_or_default(),
        date(m.birth_date),
        m.preferred_language.as_str().to_string(),
        m.membership_type.clone(),
        m.membership_status.as_str().to_string(),
        date(m.membership_end_date),
        m.goals.join("|"),
        m.limitations.clone().unwrap_or_default(),
        m.consent_voice.to_string(),
        m.consent_transcripts.to_string(),
    ];
    cells.map(|c| csv_cell(&c)).join(",")
}

fn csv_cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', ';', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_map() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    #[test]
    fn bom_semicolons_quotes_and_french_headers() {
        let csv = "\u{feff}Prénom;Nom;Badge;E-mail;Date de naissance;Langue;Objectifs;Couleur préférée\n\
                   Léa;\"Durand; fille\";B-1;LEA@EXAMPLE.COM;03/04/1990;Français;perdre 5kg|courir;bleu\n";
        let p = parse(csv.as_bytes(), &no_map()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.delimiter, ';');
        assert_eq!(p.total_rows, 1);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let (line, m) = &p.rows[0];
        assert_eq!(*line, 2);
        assert_eq!(m.first_name, "Léa");
        assert_eq!(m.last_name, "Durand; fille");
        assert_eq!(m.email.as_deref(), Some("lea@example.com"));
        assert_eq!(
            m.birth_date.map(|d| d.to_string()).as_deref(),
            Some("1990-04-03")
        );
        assert_eq!(m.goals, ["perdre 5kg", "courir"]);
        assert_eq!(p.ignored_columns, ["Couleur préférée"]);
    }

    #[test]
    fn exact_row_errors_without_values() {
        let csv = "badge_id,first_name,last_name,birth_date,email\n\
                   A1,Al,Bert,1990-02-30,al@example.com\n\
                   A2,,Smith,,\n\
                   A1,Dup,Licate,,\n\
                   A3,Ok,Row,,\n\
                   A4,Too,Many,,,extra\n\
                   A5,Bad,Mail,,not-an-email\n";
        let p = parse(csv.as_bytes(), &no_map()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.total_rows, 6);
        let errs: Vec<(u64, &str)> = p
            .errors
            .iter()
            .map(|e| (e.row, e.column.as_str()))
            .collect();
        assert_eq!(
            errs,
            [(2, "birth_date"), (3, "first_name"), (6, ""), (7, "email")],
            "{:?}",
            p.errors
        );
        // Line 4 duplicates line 2's badge, but line 2 was already bad; A1 on line 4 is kept as the
        // first good occurrence.
        let lines: Vec<u64> = p.rows.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [4, 5]);
        assert!(p.errors.iter().all(|e| !e.reason.contains("not-an-email")));
    }

    #[test]
    fn crlf_line_numbers() {
        let csv = "badge,prenom,nom\r\nA,a,b\r\nB,,d\r\n\r\nC,\"multi\nline\",x\r\nD,,y\r\n";
        let p = parse(csv.as_bytes(), &no_map()).unwrap_or_else(|e| panic!("{e}"));
        let rows: Vec<u64> = p.errors.iter().map(|e| e.row).collect();
        // Line 5's first name holds a newline (refused); D on line 7 has no first name.
        assert_eq!(rows, [3, 5, 7]);
        assert_eq!(p.rows.iter().map(|r| r.0).collect::<Vec<_>>(), [2]);
    }

    #[test]
    fn duplicate_badges_in_the_file_are_reported() {
        let csv = "badge,prenom,nom\nX,a,b\nX,c,d\n";
        let p = parse(csv.as_bytes(), &no_map()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rows.len(), 1);
        assert_eq!(p.errors[0].row, 3);
        assert!(p.errors[0].reason.contains("line 2"));
    }

    #[test]
    fn explicit_mapping_and_missing_columns() {
        let csv = "Card,Given,Family,role\nC1,Ann,Lee,admin\n";
        assert_eq!(
            parse(csv.as_bytes(), &no_map()).err(),
            Some(FileError::MissingColumn("first_name"))
        );
        let map: BTreeMap<String, String> = [("first_name", "Given"), ("last_name", "Family")]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let p = parse(csv.as_bytes(), &map).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rows[0].1.first_name, "Ann");
        assert_eq!(
            p.ignored_columns,
            ["role"],
            "unknown columns never reach the member"
        );
        let bad: BTreeMap<String, String> = [("is_admin".to_string(), "role".to_string())].into();
        assert_eq!(
            parse(csv.as_bytes(), &bad).err(),
            Some(FileError::UnknownField("is_admin".into()))
        );
    }

    #[test]
    fn latin1_fallback_and_dates() {
        let mut bytes = b"badge;prenom;nom\nB1;L".to_vec();
        bytes.push(0xE9); // é in Windows-1252
        bytes.extend_from_slice(b"a;Roy\n");
        let p = parse(&bytes, &no_map()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rows[0].1.first_name, "Léa");
        assert!(parse_date("31.12.2024").is_some());
        assert!(parse_date("2024-13-01").is_none());
        assert!(parse_date("1/2/24").is_none());
    }

    #[test]
    fn export_neutralizes_formulas() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("plain"), "plain");
    }
}
