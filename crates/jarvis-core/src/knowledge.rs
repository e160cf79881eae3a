//! Text processing of the knowledge base, identical on both storage backends: chunking, the
//! stems that full-text search indexes and matches, BM25 and cosine scoring, reciprocal rank
//! fusion, the portable embedding blob, and the CSV / Markdown import formats.
//!
//! **Why stems are computed here.** SQLite FTS5 only ships an English (Porter) stemmer and
//! PostgreSQL's `french`/`english` text-search configurations do not stem exactly like it, so
//! the two backends would rank differently. Instead each chunk stores its Snowball stems (entry
//! language) in a `stemmed` column; FTS5 and PostgreSQL (`to_tsvector('simple', …)`) only
//! select the chunks containing one of the question's stems, and the ranking (BM25 over those
//! stems) is computed in Rust from the candidates, so both backends answer the same list.

use crate::csv_import::RowError;
use crate::model::{Locale, NewKnowledgeEntry, split_tags};
use crate::search::fold;
use rust_stemmers::{Algorithm, Stemmer};
use std::collections::{BTreeMap, HashMap};

/// Target size of a chunk (characters): paragraphs are packed up to this size.
pub const CHUNK_TARGET: usize = 800;

/// Most entries one import file may hold.
pub const IMPORT_MAX_ENTRIES: usize = 2_000;

/// The `k` of reciprocal rank fusion (the usual 60: later ranks still count, the top does not
/// dominate).
pub const RRF_K: f64 = 60.0;

/// Cuts a body into chunks of about [`CHUNK_TARGET`] characters on paragraph boundaries; a
/// paragraph longer than that is cut on sentence ends, then on spaces.
pub fn chunk_body(body: &str) -> Vec<String> {
    let mut pieces: Vec<String> = Vec::new();
    for para in body.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        if para.chars().count() <= CHUNK_TARGET {
            pieces.push(para.to_string());
        } else {
            pieces.extend(split_long(para));
        }
    }
    let mut chunks: Vec<String> = Vec::new();
    let mut cur = String::new();
    for p in pieces {
        if !cur.is_empty() && cur.chars().count() + 2 + p.chars().count() > CHUNK_TARGET {
            chunks.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push_str("\n\n");
        }
        cur.push_str(&p);
    }
    if !cur.is_empty() {
        chunks.push(cur);
    }
    chunks
}

fn split_long(para: &str) -> Vec<String> {
    // Sentences first (keeping their end mark), then words for a sentence still too long.
    let mut sentences: Vec<String> = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = para.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        cur.push(*c);
        let end =
            matches!(c, '.' | '!' | '?') && chars.get(i + 1).is_none_or(|n| n.is_whitespace());
        if end {
            sentences.push(cur.trim().to_string());
            cur.clear();
        }
    }
    if !cur.trim().is_empty() {
        sentences.push(cur.trim().to_string());
    }
    let mut out: Vec<String> = Vec::new();
    let mut acc = String::new();
    let flush = |acc: &mut String, out: &mut Vec<String>| {
        if !acc.is_empty() {
            out.push(std::mem::take(acc));
        }
    };
    for s in sentences {
        let words: Vec<&str> = if s.chars().count() > CHUNK_TARGET {
            s.split_whitespace().collect()
        } else {
            vec![s.as_str()]
        };
        for w in words {
            if !acc.is_empty() && acc.chars().count() + 1 + w.chars().count() > CHUNK_TARGET {
                flush(&mut acc, &mut out);
            }
            if !acc.is_empty() {
                acc.push(' ');
            }
            acc.push_str(w);
        }
    }
    flush(&mut acc, &mut out);
    out
}

/// Words too common to help a search (folded, both languages).
const STOPWORDS: &[&str] = &[
    // French
    "a", "au", "aux", "avec", "ce", "ces", "cet", "cette", "dans", "de", "des", "du", "elle", "en",
    "et", "est", "il", "ils", "je", "la", "le", "les", "leur", "mais", "me", "mes", "moi", "mon",
    "ne", "nous", "on", "ou", "par", "pas", "pour", "qu", "que", "qui", "sa", "se", "ses", "son",
    "sont", "sur", "ta", "te", "tes", "toi", "ton", "tu", "un", "une", "vos", "votre", "vous", "y",
    "c", "d", "j", "l", "m", "n", "s", "t", "etre", "avoir", "fait", "faire", "peut", "puis",
    "comment", "quel", "quelle", "quels", "quelles", "quand", "ai", "as", "suis", "es",
    // English
    "an", "and", "are", "as", "at", "be", "by", "can", "could", "do", "does", "for", "from", "has",
    "have", "how", "i", "if", "in", "into", "is", "it", "its", "may", "me", "my", "of", "on", "or",
    "our", "so", "than", "that", "the", "their", "them", "there", "these", "they", "this", "to",
    "was", "we", "were", "what", "when", "where", "which", "who", "why", "will", "with", "you",
    "your", "would", "should", "there", "am",
];

fn stemmer(lang: Locale) -> Stemmer {
    Stemmer::create(match lang {
        Locale::Fr => Algorithm::French,
        Locale::En => Algorithm::English,
    })
}

/// The words of a text: lower case, split on anything not a letter or digit (so French
/// elisions `l'`, `s'`, `qu'` fall away as their own short words).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The stems of a text in `lang`: words, stop words dropped, Snowball-stemmed, then folded
/// (accents removed) so `abonnements`, `Abonnement` and `abonné` meet.
pub fn stems(text: &str, lang: Locale) -> Vec<String> {
    let st = stemmer(lang);
    words(text)
        .into_iter()
        .filter(|w| !STOPWORDS.contains(&fold(w).as_str()))
        .map(|w| fold(&st.stem(&w)))
        .filter(|s| !s.is_empty() && !STOPWORDS.contains(&s.as_str()))
        .collect()
}

/// The indexed form of a chunk: its entry's title and its text, stemmed in the entry's
/// language, space-separated.
pub fn index_text(title: &str, text: &str, lang: Locale) -> String {
    let mut s = stems(title, lang);
    s.extend(stems(text, lang));
    s.join(" ")
}

/// The stems of a question: both languages' stems of every word (the question's language is
/// not known), unique, in order of first appearance.
pub fn query_stems(question: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for lang in [Locale::Fr, Locale::En] {
        for s in stems(question, lang) {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// A chunk returned by the full-text filter, with what BM25 needs.
#[derive(Debug, Clone)]
pub struct FtsCandidate<T> {
    /// The caller's handle on the chunk.
    pub item: T,
    /// Its indexed stems (space-separated).
    pub stemmed: String,
}

/// BM25 (k1 = 1.2, b = 0.75) of the candidates for `query`: `total_chunks` and
/// `avg_len` (stems per chunk) describe the gym's whole index, and the candidates are every
/// chunk containing a query stem, so document frequencies are exact. Best first; ties by the
/// candidates' order. Chunks scoring 0 are dropped.
pub fn bm25_rank<T: Clone>(
    query: &[String],
    candidates: &[FtsCandidate<T>],
    total_chunks: u64,
    avg_len: f64,
) -> Vec<(T, f64)> {
    const K1: f64 = 1.2;
    const B: f64 = 0.75;
    let docs: Vec<Vec<&str>> = candidates
        .iter()
        .map(|c| c.stemmed.split_whitespace().collect())
        .collect();
    let n = total_chunks.max(candidates.len() as u64) as f64;
    let avg = if avg_len > 0.0 { avg_len } else { 1.0 };
    let mut df: HashMap<&str, f64> = HashMap::new();
    for q in query {
        let d = docs.iter().filter(|d| d.contains(&q.as_str())).count() as f64;
        df.insert(q.as_str(), d);
    }
    let mut scored: Vec<(usize, f64)> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let len = d.len() as f64;
            let score: f64 = query
                .iter()
                .map(|q| {
                    let tf = d.iter().filter(|w| **w == q.as_str()).count() as f64;
                    if tf == 0.0 {
                        return 0.0;
                    }
                    let dfq = df.get(q.as_str()).copied().unwrap_or(0.0);
                    let idf = (1.0 + (n - dfq + 0.5) / (dfq + 0.5)).ln();
                    idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / avg))
                })
                .sum();
            (i, score)
        })
        .filter(|(_, s)| *s > 0.0)
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored
        .into_iter()
        .map(|(i, s)| (candidates[i].item.clone(), s))
        .collect()
}

/// Cosine similarity of two vectors (0 when either is empty, zero or the sizes differ).
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    f64::from(dot) / (f64::from(na).sqrt() * f64::from(nb).sqrt())
}

/// Reciprocal rank fusion of ranked lists (best first): each item scores the sum of
/// `1 / (RRF_K + rank)` over the lists it appears in. Best first; ties by first appearance.
pub fn rrf<T: Ord + Clone>(lists: &[Vec<T>]) -> Vec<(T, f64)> {
    let mut score: BTreeMap<T, (f64, usize)> = BTreeMap::new();
    let mut order = 0usize;
    for list in lists {
        for (i, item) in list.iter().enumerate() {
            let e = score.entry(item.clone()).or_insert_with(|| {
                order += 1;
                (0.0, order)
            });
            e.0 += 1.0 / (RRF_K + (i + 1) as f64);
        }
    }
    let mut v: Vec<(T, f64, usize)> = score.into_iter().map(|(k, (s, o))| (k, s, o)).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    v.into_iter().map(|(k, s, _)| (k, s)).collect()
}

/// An embedding as stored: little-endian f32s, 4 bytes each (the same bytes in a SQLite BLOB
/// and a PostgreSQL `bytea`).
pub fn vector_to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|f| f.to_le_bytes()).collect()
}

/// Reads a stored embedding; `None` when the length is not a multiple of 4.
pub fn blob_to_vector(b: &[u8]) -> Option<Vec<f32>> {
    if !b.len().is_multiple_of(4) {
        return None;
    }
    Some(
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

/// The entries of an import file, with the line each starts on.
#[derive(Debug, Clone, Default)]
pub struct ParsedKnowledge {
    /// Entries that parsed (still to validate) and their line.
    pub rows: Vec<(u64, NewKnowledgeEntry)>,
    /// Rows that could not be read.
    pub errors: Vec<RowError>,
}

/// Reads a CSV file with the header `title,body,tags,language` (any order, `,` or `;`; tags
/// comma-separated inside the cell; an empty language is `default_language`).
pub fn parse_csv(data: &[u8], default_language: Locale) -> Result<ParsedKnowledge, String> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let text = std::str::from_utf8(data).map_err(|_| "the file is not UTF-8".to_string())?;
    if text.trim().is_empty() {
        return Err("the file is empty".into());
    }
    let first = text.lines().next().unwrap_or_default();
    let delimiter = if first.matches(';').count() > first.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("unreadable header: {e}"))?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(ti), Some(bi)) = (col("title"), col("body")) else {
        return Err(
            "the header must name the columns title and body (tags, language optional)".into(),
        );
    };
    let (gi, li) = (col("tags"), col("language"));
    let mut out = ParsedKnowledge::default();
    for rec in reader.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                out.errors.push(RowError::new(
                    e.position().map_or(0, |p| p.line()),
                    "",
                    "unreadable_row",
                    "unreadable row (unbalanced quotes?)",
                ));
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| p.line());
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if out.rows.len() + out.errors.len() >= IMPORT_MAX_ENTRIES {
            return Err(format!("at most {IMPORT_MAX_ENTRIES} entries per file"));
        }
        let cell = |i: Option<usize>| i.and_then(|i| rec.get(i)).unwrap_or("").to_string();
        let lang = cell(li);
        out.rows.push((
            line,
            NewKnowledgeEntry {
                title: cell(Some(ti)),
                body: cell(Some(bi)),
                tags: split_tags(&cell(gi)),
                language: if lang.trim().is_empty() {
                    default_language.as_str().to_string()
                } else {
                    lang.trim().to_lowercase()
                },
            },
        ));
    }
    Ok(out)
}

/// Reads a Markdown file: one entry per level-1 heading (`# Title`), its body the text up to
/// the next one. An optional `tags: a, b` or `language: en` line right under the heading sets
/// those fields. Text before the first heading is an error on its line.
pub fn parse_markdown(text: &str, default_language: Locale) -> ParsedKnowledge {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = ParsedKnowledge::default();
    let mut cur: Option<(u64, NewKnowledgeEntry, bool)> = None;
    let mut stray: Option<u64> = None;
    let mut in_fence = false;
    let finish = |cur: Option<(u64, NewKnowledgeEntry, bool)>, out: &mut ParsedKnowledge| {
        if let Some((line, mut e, _)) = cur {
            e.body = e.body.trim().to_string();
            out.rows.push((line, e));
        }
    };
    for (i, raw) in text.lines().enumerate() {
        let line_no = i as u64 + 1;
        if raw.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        if !in_fence && let Some(title) = raw.strip_prefix("# ") {
            finish(cur.take(), &mut out);
            cur = Some((
                line_no,
                NewKnowledgeEntry {
                    title: title.trim().to_string(),
                    body: String::new(),
                    tags: Vec::new(),
                    language: default_language.as_str().to_string(),
                },
                true,
            ));
            continue;
        }
        match cur.as_mut() {
            Some((_, e, header)) => {
                let t = raw.trim();
                if *header {
                    let lower = t.to_lowercase();
                    if let Some(v) = lower.strip_prefix("tags:") {
                        e.tags = split_tags(v);
                        continue;
                    }
                    if let Some(v) = lower.strip_prefix("language:") {
                        e.language = v.trim().to_string();
                        continue;
                    }
                    if !t.is_empty() {
                        *header = false;
                    }
                }
                e.body.push_str(raw);
                e.body.push('\n');
            }
            None if !raw.trim().is_empty() && stray.is_none() => stray = Some(line_no),
            None => {}
        }
    }
    finish(cur, &mut out);
    if let Some(line) = stray {
        out.errors.push(RowError::new(
            line,
            "title",
            "orphan_text",
            "text before the first `# ` heading belongs to no entry",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_inflections_meet() {
        let a = stems("Nos abonnements sont sans engagement", Locale::Fr);
        let q = query_stems("Comment s'abonner ?");
        let q2 = query_stems("abonnement");
        assert!(q.iter().any(|s| a.contains(s)), "{a:?} vs {q:?}");
        assert!(q2.iter().any(|s| a.contains(s)), "{a:?} vs {q2:?}");
        assert!(!a.contains(&"nos".to_string()) || !a.is_empty());
    }

    #[test]
    fn english_inflections_meet() {
        let a = stems("Lockers are available", Locale::En);
        let q = query_stems("locker availability");
        assert!(q.iter().any(|s| a.contains(s)), "{a:?} vs {q:?}");
    }

    #[test]
    fn chunks_respect_paragraphs_and_size() {
        let para = "Une phrase assez longue pour remplir. ".repeat(30);
        let body = format!("Court.\n\n{para}\n\nFin.");
        let c = chunk_body(&body);
        assert!(c.len() >= 2, "{c:?}");
        assert!(c.iter().all(|c| c.chars().count() <= CHUNK_TARGET));
        assert_eq!(chunk_body("a\n\nb"), vec!["a\n\nb".to_string()]);
    }

    #[test]
    fn rrf_rewards_agreement() {
        let r = rrf(&[vec![1, 2, 3], vec![2, 4]]);
        assert_eq!(r.first().map(|x| x.0), Some(2));
    }

    #[test]
    fn blobs_round_trip() {
        let v = vec![0.5f32, -1.25, 3.0];
        assert_eq!(blob_to_vector(&vector_to_blob(&v)), Some(v));
        assert_eq!(blob_to_vector(&[1, 2, 3]), None);
    }

    #[test]
    fn bm25_prefers_rare_terms() {
        let c = vec![
            FtsCandidate {
                item: 1,
                stemmed: "sauna ouvert".into(),
            },
            FtsCandidate {
                item: 2,
                stemmed: "ouvert ouvert lundi".into(),
            },
        ];
        let r = bm25_rank(&["sauna".into(), "ouvert".into()], &c, 10, 3.0);
        assert_eq!(r.first().map(|x| x.0), Some(1));
    }

    #[test]
    fn csv_and_markdown_parse() {
        let csv = "title;body;tags;language\nHoraires;Ouvert 6h;horaires, accueil;fr\n;vide;;\n";
        let p = parse_csv(csv.as_bytes(), Locale::Fr).unwrap_or_default();
        assert_eq!(p.rows.len(), 2);
        assert_eq!(p.rows[0].0, 2);
        assert_eq!(p.rows[0].1.tags, vec!["horaires", "accueil"]);
        let md = "# Sauna\ntags: spa\nlanguage: en\n\nOpen daily.\n\n# Parking\nFree.\n";
        let p = parse_markdown(md, Locale::Fr);
        assert_eq!(p.rows.len(), 2);
        assert_eq!(p.rows[0].1.language, "en");
        assert_eq!(p.rows[0].1.body, "Open daily.");
        assert_eq!(p.rows[1].0, 7);
        assert!(parse_markdown("stray\n# A\nb", Locale::Fr).errors.len() == 1);
    }
}
