//! The sign-in page: plain server-rendered HTML, no script, no third-party resources, nothing
//! about any patient. Every interpolated value is HTML-escaped.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// Escapes text for HTML element content and double-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// Headers every page carries: no framing (clickjacking), no scripts, no caching, and a
/// cookie-bound CSRF token when given.
fn harden(mut response: Response, csrf_cookie: Option<(&str, bool)>) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    if let Some((token, secure)) = csrf_cookie {
        // The cookie is scoped to the sign-in path, invisible to scripts and never sent on
        // cross-site requests; `Secure` whenever the server is reached over HTTPS. Plain HTTP
        // (loopback only) cannot use a `Secure` cookie, so it is left off there.
        let secure = if secure { "; Secure" } else { "" };
        let cookie =
            format!("phigate_csrf={token}; Path=/oauth; HttpOnly; SameSite=Strict{secure}");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            headers.insert(header::SET_COOKIE, value);
        }
    }
    response
}

/// The sign-in form for pending request `request`; its CSRF cookie is `Secure` when `secure`.
pub fn login(
    status: StatusCode,
    request: &str,
    (csrf, secure): (&str, bool),
    client_name: &str,
    message: Option<&str>,
) -> Response {
    let message = message.map_or(String::new(), |m| {
        format!("<p class=\"err\" role=\"alert\">{}</p>", escape(m))
    });
    let body = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to Phigate</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:sans-serif;max-width:22em;margin:4em auto}}label{{display:block;margin:.8em 0}}
input{{width:100%;padding:.4em}}.err{{color:#a00}}</style></head>
<body><h1>Sign in</h1><p>{client} is asking to act for you.</p>{message}
<form method="post" action="/oauth/authorize" autocomplete="off">
<input type="hidden" name="request" value="{request}">
<input type="hidden" name="csrf" value="{csrf}">
<label>Username <input name="username" required autocomplete="username"></label>
<label>Password <input name="password" type="password" required autocomplete="current-password"></label>
<label>One-time code <input name="totp" inputmode="numeric" pattern="[0-9]{{6}}" autocomplete="one-time-code"></label>
<button type="submit">Sign in</button></form></body></html>"#,
        client = escape(client_name),
        request = escape(request),
        csrf = escape(csrf),
    );
    harden((status, Html(body)).into_response(), Some((csrf, secure)))
}

/// An error page, for requests that cannot be sent back to a redirect URI.
pub fn error(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Phigate</title>\
         </head><body><h1>Sign-in request refused</h1><p>{}</p></body></html>",
        escape(message)
    );
    harden((status, Html(body)).into_response(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(
            escape(r#"<script>"x"&'y'</script>"#),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"
        );
    }
}
