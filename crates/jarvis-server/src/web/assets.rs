//! The embedded static assets (stylesheet, the few hand-written scripts), served under
//! content-hashed names so a CDN or browser may keep them for a year: `/assets/app.<hash>.css`
//! is `immutable`, and a new build has new names. Each asset is hashed and compressed (gzip and
//! brotli) once, on first use, never per request. The plain names (`/assets/app.css`) still
//! answer, with a short cache, for pages rendered by an older instance during a rolling deploy.

use axum::extract::Path;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::sync::OnceLock;

/// Cache of a hashed name: its content never changes.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache of a plain name: its content changes with each release.
pub const SHORT: &str = "public, max-age=300";

/// The embedded files: name, content type, bytes.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/app.css"),
    ),
    (
        "demo.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/demo.js"),
    ),
    (
        "import.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/import.js"),
    ),
    (
        "kiosk.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/kiosk.js"),
    ),
    (
        "knowledge-import.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/knowledge-import.js"),
    ),
    (
        "vitals.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/vitals.js"),
    ),
];

/// One embedded asset, hashed and precompressed.
pub struct Asset {
    /// The plain name (`app.css`).
    pub name: &'static str,
    /// The content-hashed name (`app.0123456789abcdef.css`).
    pub hashed: String,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// The file as embedded.
    pub raw: &'static [u8],
    /// Gzip-compressed, when smaller than `raw`.
    pub gzip: Option<Vec<u8>>,
    /// Brotli-compressed, when smaller than `raw`.
    pub brotli: Option<Vec<u8>>,
    /// The first 16 hex digits of the content's SHA-256.
    pub hash: String,
}

/// Every asset, built once.
pub fn all() -> &'static [Asset] {
    static ASSETS: OnceLock<Vec<Asset>> = OnceLock::new();
    ASSETS.get_or_init(|| FILES.iter().map(|&(n, t, b)| build(n, t, b)).collect())
}

fn build(name: &'static str, content_type: &'static str, raw: &'static [u8]) -> Asset {
    let digest = Sha256::digest(raw);
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let hashed = match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
        None => format!("{name}.{hash}"),
    };
    let smaller = |v: Option<Vec<u8>>| v.filter(|c| c.len() < raw.len());
    Asset {
        name,
        hashed,
        content_type,
        raw,
        gzip: smaller(gzip(raw)),
        brotli: smaller(brotli(raw)),
        hash,
    }
}

fn gzip(raw: &[u8]) -> Option<Vec<u8>> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(raw).ok()?;
    e.finish().ok()
}

fn brotli(raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    {
        // Quality 11 (the best), 22-bit window: done once per asset at first use.
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        w.write_all(raw).ok()?;
        w.flush().ok()?;
    }
    Some(out)
}

/// The URL of an embedded asset under its hashed name, for templates:
/// `{{ crate::web::assets::url("app.css") }}`. An unknown name gives its plain URL.
pub fn url(name: &str) -> String {
    match all().iter().find(|a| a.name == name) {
        Some(a) => format!("/assets/{}", a.hashed),
        None => format!("/assets/{name}"),
    }
}

/// The content coding chosen from `Accept-Encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// Brotli.
    Brotli,
    /// Gzip.
    Gzip,
    /// As is.
    Identity,
}

/// The best coding the client accepts: brotli, then gzip (`q=0` refuses one; `*` accepts both).
pub fn negotiate(accept: Option<&str>) -> Coding {
    let (mut br, mut gz, mut any) = (None, None, None);
    for part in accept.unwrap_or("").split(',') {
        let mut it = part.split(';');
        let coding = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = it
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let ok = q > 0.0;
        match coding.as_str() {
            "br" => br = Some(ok),
            "gzip" | "x-gzip" => gz = Some(ok),
            "*" => any = Some(ok),
            _ => {}
        }
    }
    if br.or(any).unwrap_or(false) {
        Coding::Brotli
    } else if gz.or(any).unwrap_or(false) {
        Coding::Gzip
    } else {
        Coding::Identity
    }
}

/// Whether `If-None-Match` names `etag` (weak comparison, as RFC 9110 asks for it).
fn matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(|t| t.trim())
        .any(|t| t == "*" || t.trim_start_matches("W/") == etag)
}

/// `GET /assets/{file}`: a hashed name (immutable) or a plain one (short cache), with an ETag
/// per representation, `Vary: Accept-Encoding`, and 304 on a matching `If-None-Match`.
pub async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let found = all().iter().find_map(|a| {
        if a.hashed == file {
            Some((a, IMMUTABLE))
        } else if a.name == file {
            Some((a, SHORT))
        } else {
            None
        }
    });
    // A hashed name of another build is not found rather than answered with this build's
    // content, which a CDN would then keep for a year under the wrong name.
    let Some((a, cache)) = found else {
        return crate::web::not_found_page(&headers);
    };
    let accept = headers.get(ACCEPT_ENCODING).and_then(|v| v.to_str().ok());
    let (body, coding, suffix): (&[u8], Option<&str>, &str) = match negotiate(accept) {
        Coding::Brotli if a.brotli.is_some() => {
            (a.brotli.as_deref().unwrap_or(a.raw), Some("br"), "-br")
        }
        Coding::Brotli | Coding::Gzip if a.gzip.is_some() => {
            (a.gzip.as_deref().unwrap_or(a.raw), Some("gzip"), "-gz")
        }
        _ => (a.raw, None, ""),
    };
    let etag = format!("\"{}{suffix}\"", a.hash);
    let mut out = HeaderMap::new();
    out.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    out.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        out.insert(ETAG, v);
    }
    let fresh = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| matches(v, &etag));
    if fresh {
        return (StatusCode::NOT_MODIFIED, out).into_response();
    }
    out.insert(CONTENT_TYPE, HeaderValue::from_static(a.content_type));
    if let Some(c) = coding {
        out.insert(CONTENT_ENCODING, HeaderValue::from_static(c));
    }
    (StatusCode::OK, out, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_prefers_brotli_and_honours_q_zero() {
        assert_eq!(negotiate(Some("gzip, deflate, br, zstd")), Coding::Brotli);
        assert_eq!(negotiate(Some("gzip, br;q=0")), Coding::Gzip);
        assert_eq!(negotiate(Some("*;q=0.5")), Coding::Brotli);
        assert_eq!(negotiate(Some("br;q=0, *")), Coding::Gzip);
        assert_eq!(negotiate(Some("identity")), Coding::Identity);
        assert_eq!(negotiate(None), Coding::Identity);
    }

    #[test]
    fn hashed_names_carry_the_content_hash() {
        let css = url("app.css");
        assert!(
            css.starts_with("/assets/app.") && css.ends_with(".css"),
            "{css}"
        );
        assert_eq!(css.len(), "/assets/app..css".len() + 16);
        assert_eq!(url("nope.js"), "/assets/nope.js");
        assert!(all().iter().all(|a| a.gzip.is_some() && a.brotli.is_some()));
    }

    #[test]
    fn if_none_match_compares_weakly() {
        assert!(matches("W/\"abc\", \"def\"", "\"abc\""));
        assert!(matches("*", "\"abc\""));
        assert!(!matches("\"abcd\"", "\"abc\""));
    }
}
