//! What wraps every route: the request id and the one log line per request,
//! JSON answers for unknown routes, wrong methods and panics, and the
//! collapsing of repeated leading slashes.

use std::any::Any;
use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request};
use axum::http::{header, HeaderValue, Method, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::distributions::Alphanumeric;
use rand::Rng;
use tracing::Instrument;

use crate::error::ApiError;
use crate::throttle::ClientAddr;
use crate::RESERVED_PROJECT_SLUGS;

/// The request-id header, read from the client if sane and always answered.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The request id of the current request (an extension handlers may read).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn acceptable_request_id(value: &HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    let ok = (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| s.to_owned())
}

fn new_request_id() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

/// Assigns the request id, answers it as `x-request-id`, and logs one line
/// per request: method, matched path template (never the raw URI, which may
/// carry `api_key`), status, latency, request id and client address. The
/// matched path is also left in the response's extensions, for layers
/// outside the router (the metrics of `trashd`) to label requests by route
/// template.
pub async fn observe(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(acceptable_request_id)
        .unwrap_or_else(new_request_id);
    let method = req.method().clone();
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let template = matched
        .as_ref()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(no route)".to_owned());
    let client = req
        .extensions()
        .get::<ClientAddr>()
        .copied()
        .unwrap_or(ClientAddr(None));
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = next.run(req).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    if let Some(matched) = matched {
        response.extensions_mut().insert(matched);
    }
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        method = %method,
        path = %template,
        status = response.status().as_u16(),
        latency_ms,
        request_id = %id,
        client = %client,
        "request"
    );
    response
}

/// No route has this path.
pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {}", uri.path()))
}

/// A path whose project segment is a reserved slug (`/acme/trash/x`,
/// `/acme/workflows/x/y`) names no project and no route: no project can
/// hold such a slug. It answers 404 like any unrouted path, instead of
/// reaching a project route and failing on its other segments.
pub async fn reserved_segments(req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    if let Ok(params) = RawPathParams::from_request_parts(&mut parts, &()).await {
        let reserved = params
            .iter()
            .any(|(name, value)| name == "project" && RESERVED_PROJECT_SLUGS.contains(&value));
        if reserved {
            return not_found(parts.uri).await.into_response();
        }
    }
    next.run(Request::from_parts(parts, body)).await
}

/// Adds `X-Content-Type-Options: nosniff` and `Cache-Control: no-store` to
/// every answer that does not set them itself: answers may carry workspace
/// data and are requested with keys in the query string, so no cache (a
/// browser's, a proxy's) may keep them, and no browser may read a JSON
/// answer as anything else.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// A route has this path, but not this method.
pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::method_not_allowed(format!("{method} is not allowed on {}", uri.path()))
}

/// A handler panicked: answer a JSON 500 and log the panic message.
pub fn panicked(payload: Box<dyn Any + Send + 'static>) -> Response {
    let detail = if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else {
        "a handler panicked".to_owned()
    };
    ApiError::internal(format!("panic: {detail}")).into_response()
}

/// `//acme/trash` → `/acme/trash`: a client whose base URL ends with `/`
/// (the official one concatenates) still reaches the route.
pub fn collapse_leading_slashes(mut req: Request) -> Request {
    let uri = req.uri();
    if !uri.path().starts_with("//") {
        return req;
    }
    let mut rebuilt = format!("/{}", uri.path().trim_start_matches('/'));
    if let Some(q) = uri.query() {
        rebuilt.push('?');
        rebuilt.push_str(q);
    }
    let mut parts = uri.clone().into_parts();
    if let Ok(pq) = rebuilt.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(new_uri) = Uri::from_parts(parts) {
            *req.uri_mut() = new_uri;
        }
    }
    req
}

/// Answers 503 (JSON, with `Retry-After`) when the request is not done
/// within `limit`; the handler's future is dropped.
pub async fn time_limit(limit: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(limit_ms = limit.as_millis() as u64, "request timed out");
            ApiError::unavailable("the request took too long; try again shortly").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    #[test]
    fn leading_slashes_collapse_and_query_stays() {
        let req = Request::builder()
            .uri("//acme//trash?api_key=k")
            .body(Body::empty())
            .unwrap();
        let req = collapse_leading_slashes(req);
        assert_eq!(req.uri().path(), "/acme//trash");
        assert_eq!(req.uri().query(), Some("api_key=k"));
    }

    #[test]
    fn request_ids_are_sanitised() {
        assert_eq!(
            acceptable_request_id(&HeaderValue::from_static("abc-123")),
            Some("abc-123".into())
        );
        assert_eq!(
            acceptable_request_id(&HeaderValue::from_static("a b")),
            None
        );
        assert_eq!(new_request_id().len(), 20);
    }
}
