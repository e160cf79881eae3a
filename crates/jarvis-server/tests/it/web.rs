//! Dashboard page helpers shared by the page tests: a client that does not follow redirects,
//! cookies and hidden fields, sign-in through the forms (with the TOTP step), and GET/POST of
//! pages with a session cookie.

use crate::common::{PASSWORD, TestApp, totp_code};

/// A client that shows redirects instead of following them.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of cookie `name` set by `resp`.
pub fn cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The value of the hidden input `name` in `html`.
pub fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    html.split(&needle)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

/// Signs in through the form (and the TOTP step when `totp` is given); the session cookie.
pub async fn web_login(app: &TestApp, email: &str, totp: Option<&[u8]>) -> String {
    let c = client();
    let resp = c.get(app.url("/app/login?next=/app")).send().await.unwrap();
    let csrf_cookie = cookie(&resp, "jarvis_csrf").unwrap();
    let csrf = hidden(&resp.text().await.unwrap(), "csrf");
    let r = c
        .post(app.url("/app/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .header("cookie", format!("jarvis_csrf={csrf_cookie}"))
        .body(format!(
            "email={}&password={PASSWORD}&next=%2Fapp&csrf={csrf}",
            email.replace('@', "%40")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let session = cookie(&r, "jarvis_session").unwrap();
    let Some(secret) = totp else {
        return format!("jarvis_session={session}");
    };
    let mfa = c
        .get(app.url("/app/mfa?next=/app"))
        .header("cookie", format!("jarvis_session={session}"))
        .send()
        .await
        .unwrap();
    let token = hidden(&mfa.text().await.unwrap(), "csrf");
    let r = c
        .post(app.url("/app/mfa"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", format!("jarvis_session={session}"))
        .body(format!(
            "code={}&next=%2Fapp&csrf={token}",
            totp_code(secret, 1)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    format!("jarvis_session={}", cookie(&r, "jarvis_session").unwrap())
}

/// URL-encodes form fields (`application/x-www-form-urlencoded`).
pub fn form(pairs: &[(&str, &str)]) -> String {
    let enc = |v: &str| -> String {
        v.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// GETs a page with the session cookie; the status and the body.
pub async fn get(app: &TestApp, session: &str, path: &str) -> (u16, String) {
    let r = client()
        .get(app.url(path))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Posts a form; the status and the redirect target (or the body when there is none).
pub async fn post(app: &TestApp, session: &str, path: &str, body: &str) -> (u16, String) {
    let r = client()
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .header("cookie", session)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let loc = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match loc {
        Some(l) => (status, l),
        None => (status, r.text().await.unwrap()),
    }
}
