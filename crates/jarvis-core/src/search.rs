//! Search folding: case and accents removed the same way on both storage backends.
//!
//! Neither engine folds accents by itself (SQLite's `lower()` and `LIKE` fold ASCII only, and
//! PostgreSQL's `unaccent` is an extension that is not installed everywhere), so the store keeps
//! a folded copy of the searched text in a column and folds the search term with the same
//! function: "élodie", "ELODIE" and "elodie" all find "Élodie".

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Separates the parts of a search key; [`fold`] never leaves one in a term, so a term cannot
/// match across two parts.
pub const KEY_SEPARATOR: char = '\n';

/// Lower-cases, strips accents (compatibility decomposition, combining marks dropped), spells
/// out letters that do not decompose (`œ` → `oe`, `ß` → `ss`…), and collapses every run of
/// whitespace or control characters to one space, trimmed.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.nfkd().filter(|c| !is_combining_mark(*c)) {
        if c.is_whitespace() || c.is_control() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        match c {
            'œ' | 'Œ' => out.push_str("oe"),
            'æ' | 'Æ' => out.push_str("ae"),
            'ß' | 'ẞ' => out.push_str("ss"),
            'ø' | 'Ø' => out.push('o'),
            'ł' | 'Ł' => out.push('l'),
            'đ' | 'Đ' | 'ð' | 'Ð' => out.push('d'),
            'þ' | 'Þ' => out.push_str("th"),
            'ı' => out.push('i'),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// The search key of a member: first and last name in both orders, badge and e-mail, each
/// folded, one per line.
pub fn member_key(first: &str, last: &str, badge: &str, email: Option<&str>) -> String {
    let (first, last) = (fold(first), fold(last));
    let mut parts = vec![
        format!("{first} {last}"),
        format!("{last} {first}"),
        fold(badge),
    ];
    if let Some(e) = email.map(fold).filter(|e| !e.is_empty()) {
        parts.push(e);
    }
    parts.join(&KEY_SEPARATOR.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_accents_and_special_letters() {
        for q in [
            "élodie",
            "ELODIE",
            "elodie",
            "Élodie",
            "ÉLODIE",
            "e\u{301}lodie",
        ] {
            assert_eq!(fold(q), "elodie", "{q}");
        }
        assert_eq!(fold("Œuvre"), "oeuvre");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("Søren Łukasz"), "soren lukasz");
        assert_eq!(fold("  Anne\t\n  Marie "), "anne marie");
        assert_eq!(fold("Ｆｕｌｌ"), "full", "compatibility forms fold too");
        assert_eq!(
            fold("Борис"),
            "борис",
            "other scripts are lower-cased, not transliterated"
        );
    }

    #[test]
    fn member_keys_hold_both_name_orders_badge_and_email() {
        let k = member_key("Élodie", "Dupré", "B-01", Some("E.Dupre@Example.com"));
        assert_eq!(k, "elodie dupre\ndupre elodie\nb-01\ne.dupre@example.com");
        assert!(!fold("a\nb").contains(KEY_SEPARATOR));
    }
}
