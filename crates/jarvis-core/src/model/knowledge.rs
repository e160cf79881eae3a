//! The gym knowledge base: entries (title, body, tags, language) a gym's staff write or import,
//! which the assistant searches (`search_knowledge`) to answer from the gym's own words. Pure
//! rules only: validation here, text processing (chunks, stems, ranking) in
//! [`crate::knowledge`].

use super::Locale;
use crate::ids::*;
use crate::validate::{FieldError, ValidationErrors};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Longest entry title (characters).
pub const KNOWLEDGE_TITLE_MAX: usize = 200;
/// Longest entry body (characters).
pub const KNOWLEDGE_BODY_MAX: usize = 20_000;
/// Most tags on one entry.
pub const KNOWLEDGE_TAGS_MAX: usize = 20;
/// Longest tag (characters).
pub const KNOWLEDGE_TAG_MAX: usize = 40;

/// A knowledge-base entry as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KnowledgeEntry {
    /// Id.
    pub id: KnowledgeEntryId,
    /// The gym it belongs to.
    pub gym_id: GymId,
    /// Title (cited by the assistant).
    pub title: String,
    /// Body text (plain text or light Markdown).
    pub body: String,
    /// Tags (lower case, unique).
    pub tags: Vec<String>,
    /// Language of the text (`fr` or `en`): picks the stemmer.
    pub language: Locale,
    /// Chunks the body was cut into.
    pub chunks: u32,
    /// Chunks that have an embedding of the configured model (see the embedding job).
    pub embedded_chunks: u32,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// The body of a create or replace request.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKnowledgeEntry {
    /// Title (required, ≤ 200).
    pub title: String,
    /// Body (required, ≤ 20 000).
    pub body: String,
    /// Tags (≤ 20, each ≤ 40 characters; lower-cased, duplicates dropped).
    #[serde(default)]
    pub tags: Vec<String>,
    /// `fr` or `en` (required).
    pub language: String,
}

/// A [`NewKnowledgeEntry`] that passed [`NewKnowledgeEntry::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidKnowledgeEntry {
    /// Title (trimmed).
    pub title: String,
    /// Body (trimmed, line ends normalised to `\n`).
    pub body: String,
    /// Tags (trimmed, lower case, unique, in order).
    pub tags: Vec<String>,
    /// Language.
    pub language: Locale,
}

impl NewKnowledgeEntry {
    /// Checks every field and reports every error, each naming its field.
    pub fn validate(&self) -> Result<ValidKnowledgeEntry, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let title = e.text("title", &self.title, KNOWLEDGE_TITLE_MAX);
        let body = self.body.replace("\r\n", "\n").replace('\r', "\n");
        let body = body.trim().to_string();
        if body.is_empty() {
            e.push(FieldError::new("body", "required", "must not be empty"));
        } else if body.chars().count() > KNOWLEDGE_BODY_MAX {
            e.push(FieldError::new(
                "body",
                "too_long",
                format!("must be at most {KNOWLEDGE_BODY_MAX} characters"),
            ));
        } else if body
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            e.push(FieldError::new(
                "body",
                "invalid_characters",
                "must not contain control characters",
            ));
        }
        let mut tags: Vec<String> = Vec::new();
        for t in &self.tags {
            let t = t.trim().to_lowercase();
            if t.is_empty() || tags.contains(&t) {
                continue;
            }
            if t.chars().count() > KNOWLEDGE_TAG_MAX || t.chars().any(char::is_control) {
                e.push(FieldError::new(
                    "tags",
                    "invalid_format",
                    format!("each tag must be 1 to {KNOWLEDGE_TAG_MAX} characters"),
                ));
                break;
            }
            tags.push(t);
        }
        if tags.len() > KNOWLEDGE_TAGS_MAX {
            e.push(FieldError::new(
                "tags",
                "too_many",
                format!("at most {KNOWLEDGE_TAGS_MAX} tags"),
            ));
        }
        let language = Locale::parse(self.language.trim());
        if language.is_none() {
            e.push(FieldError::new(
                "language",
                "invalid_value",
                "must be fr or en",
            ));
        }
        e.finish()?;
        Ok(ValidKnowledgeEntry {
            title,
            body,
            tags,
            language: language.unwrap_or_default(),
        })
    }
}

/// Splits a comma-separated tag list (CSV column, form field).
pub fn split_tags(s: &str) -> Vec<String> {
    s.split([',', ';'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// One ranked chunk of a knowledge search, with the scores of each list it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KnowledgeHit {
    /// The chunk.
    pub chunk_id: KnowledgeChunkId,
    /// Its entry.
    pub entry_id: KnowledgeEntryId,
    /// The entry's title (what the assistant cites).
    pub title: String,
    /// The chunk's text.
    pub text: String,
    /// Position in the full-text list (1 = best), if the chunk matched.
    pub fts_rank: Option<u32>,
    /// BM25 score of the full-text match.
    pub fts_score: Option<f64>,
    /// Position in the vector list (1 = best), if the chunk was compared.
    pub vector_rank: Option<u32>,
    /// Cosine similarity of the question and the chunk.
    pub vector_score: Option<f64>,
    /// Reciprocal rank fusion of both lists (the final order).
    pub fused_score: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_every_field() {
        let e = NewKnowledgeEntry {
            title: " ".into(),
            body: String::new(),
            tags: vec!["x".repeat(41)],
            language: "de".into(),
        }
        .validate()
        .err()
        .map(|e| e.0.into_iter().map(|f| f.field).collect::<Vec<_>>());
        assert_eq!(
            e,
            Some(vec![
                "title".to_string(),
                "body".into(),
                "tags".into(),
                "language".into()
            ])
        );
    }

    #[test]
    fn tags_are_normalised() {
        let v = NewKnowledgeEntry {
            title: "Horaires".into(),
            body: "Ouvert 6h-23h\r\n".into(),
            tags: vec![" Horaires ".into(), "horaires".into(), "".into()],
            language: "fr".into(),
        }
        .validate()
        .ok();
        assert_eq!(
            v.map(|v| (v.tags, v.body)),
            Some((vec!["horaires".to_string()], "Ouvert 6h-23h".to_string()))
        );
    }
}
