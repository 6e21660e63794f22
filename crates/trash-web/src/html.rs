//! The page frame, shared headers and the stylesheet. Markup is written
//! with `maud`, which escapes every interpolated value.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

/// The stylesheet of every page, served by `trashd` at [`style_path`].
pub const STYLE: &str = include_str!("trash.css");

/// Where the stylesheet is served (its content's hash in the name, so it
/// can be cached for good: a new stylesheet gets a new address).
pub fn style_path() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(STYLE.as_bytes());
        let short: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        format!("/app/assets/trash-{short}.css")
    })
}

/// The script of every page (it only acts while the trash is emptied).
pub const SCRIPT: &str = include_str!("trash.js");

/// Where the script is served, with its content's hash in the name.
pub fn script_path() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(SCRIPT.as_bytes());
        let short: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        format!("/app/assets/trash-{short}.js")
    })
}

/// The route pattern of the assets: `trash-<hash>.css` and `trash-<hash>.js`
/// (any hash answers with the current file).
pub const ASSET_PATH: &str = "/app/assets/{file}";

/// An asset by its file name; `None` for anything else.
pub fn asset_response(file: &str) -> Option<Response> {
    let (body, content_type) = if file.starts_with("trash-") && file.ends_with(".css") {
        (STYLE, "text/css; charset=utf-8")
    } else if file.starts_with("trash-") && file.ends_with(".js") {
        (SCRIPT, "text/javascript; charset=utf-8")
    } else {
        return None;
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    secure_headers(headers);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Some(response)
}

/// A whole page with the given status.
pub fn page(status: StatusCode, title: &str, body: Markup) -> Response {
    page_with_script(status, title, body, false)
}

/// A whole page, with the view's script if `script`.
pub fn page_with_script(status: StatusCode, title: &str, body: Markup, script: bool) -> Response {
    let html = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · trashd" }
                link rel="stylesheet" href=(style_path());
                @if script {
                    script src=(script_path()) defer {}
                }
            }
            body { (body) }
        }
    };
    let mut response = (status, html.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure_headers(headers);
    response
}

/// Headers every web response carries. Styles come only from trashd
/// itself; no script runs.
pub fn secure_headers(headers: &mut axum::http::HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// A `303 See Other` to `location`.
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    secure_headers(response.headers_mut());
    response
}

/// A short error page.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    page(
        status,
        "Error",
        html! {
            header class="bar" { p class="brand" { "trashd" } }
            main class="narrow" {
                h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("Error")) }
                p { (message) }
                p { a href="/app/login" { "Sign in" } }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolated_text_is_escaped() {
        let name = "<a href=\"x\">'&'</a>";
        let markup = html! { p title=(name) { (name) } }.into_string();
        assert_eq!(
            markup,
            "<p title=\"&lt;a href=&quot;x&quot;&gt;'&amp;'&lt;/a&gt;\">&lt;a href=&quot;x&quot;&gt;'&amp;'&lt;/a&gt;</p>"
        );
    }

    #[test]
    fn asset_addresses_change_with_their_content() {
        assert!(style_path().starts_with("/app/assets/trash-"));
        assert!(style_path().ends_with(".css"));
        assert!(script_path().ends_with(".js"));
        assert!(asset_response("trash-0.css").is_some());
        assert!(asset_response("trash-0.js").is_some());
        assert!(asset_response("passwd").is_none());
    }
}
