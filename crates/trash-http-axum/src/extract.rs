//! Extractors whose rejections are [`ApiError`]s: path segments, and the
//! request itself (query, bearer token, JSON body) with the API key that may
//! come from any of the three.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use trash_core::domain::{InvalidValue, Principal};

use crate::error::ApiError;
use crate::AppState;

/// The name of the API-key query parameter and JSON body field.
pub const API_KEY_FIELD: &str = "api_key";

/// Path parameters, deserialized like [`axum::extract::Path`] but rejected as JSON.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(_)) => Err(ApiError::bad_request(
                "a path segment is not valid: percent-encoded bytes must form UTF-8 text",
            )),
            Err(other) => Err(ApiError::internal(format!(
                "path extraction failed: {}",
                other.body_text()
            ))),
        }
    }
}

/// Everything a route reads besides its path: query parameters, the
/// presented API key and the JSON body. Reading the body enforces the size
/// limit (413) and the content type (400).
#[derive(Debug)]
pub struct ApiRequest {
    query: Vec<(String, String)>,
    /// The presented key: from the query, else the bearer header, else the body.
    key: Option<String>,
    body: Option<Map<String, Value>>,
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let mime = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// The key of an `Authorization: Bearer <key>` header. Another scheme (a
/// proxy's Basic credentials, say) is not a key and is ignored; the second
/// value tells whether such a header was present.
fn bearer(headers: &HeaderMap) -> (Option<String>, bool) {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return (None, false);
    };
    let bearer = value.to_str().ok().and_then(|v| {
        let (scheme, token) = v.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned())
    });
    let foreign = bearer.is_none();
    (bearer, foreign)
}

fn parse_body(headers: &HeaderMap, bytes: &[u8]) -> Result<Option<Map<String, Value>>, ApiError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    if !is_json(headers) {
        return Err(ApiError::bad_request(
            "the request body must be JSON sent with Content-Type: application/json",
        ));
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))?;
    match value {
        Value::Object(map) => Ok(Some(map)),
        _ => Err(ApiError::bad_request(
            "the request body must be a JSON object",
        )),
    }
}

impl FromRequest<AppState> for ApiRequest {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let query: Vec<(String, String)> = req
            .uri()
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let headers = req.headers().clone();
        let (from_header, foreign_authorization) = bearer(&headers);
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::payload_too_large(state.limits.body_bytes)
            } else {
                ApiError::bad_request("the request body could not be read")
            }
        })?;
        let body = parse_body(&headers, &bytes)?;
        let mut request = ApiRequest {
            query,
            key: None,
            body,
        };
        let from_query = request.query_one(API_KEY_FIELD)?.map(str::to_owned);
        let from_body = match request.body.as_ref().and_then(|b| b.get(API_KEY_FIELD)) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(ApiError::bad_request(
                    "\"api_key\" in the body must be a string",
                ))
            }
        };
        request.key = from_query.or(from_header).or(from_body);
        if request.key.is_none() && foreign_authorization {
            return Err(ApiError::unauthorized(
                "the Authorization header must be \"Bearer <API key>\"",
            ));
        }
        Ok(request)
    }
}

impl ApiRequest {
    /// Authenticates the presented key (401 when missing, unknown or
    /// revoked), and counts the request against the key's rate limit (429).
    pub async fn principal(&self, state: &AppState) -> Result<Principal, ApiError> {
        let presented = self.key.as_deref().unwrap_or_default();
        let key = state.accounts.authenticate(presented).await?;
        state.edge.check_key(&key.key_id)?;
        Ok(Principal::ApiKey(key))
    }

    /// The value of a query parameter given at most once (400 if repeated).
    pub fn query_one(&self, name: &str) -> Result<Option<&str>, ApiError> {
        let mut values = self.query.iter().filter(|(k, _)| k == name);
        let first = values.next().map(|(_, v)| v.as_str());
        if values.next().is_some() {
            return Err(ApiError::bad_request(format!(
                "the query parameter {name} is given more than once"
            )));
        }
        Ok(first)
    }

    /// The query parameter `name` read by `parse`; a value `parse` refuses
    /// answers 400 naming the parameter.
    pub fn query_parsed<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, InvalidValue>,
    ) -> Result<Option<T>, ApiError> {
        self.query_one(name)?
            .map(parse)
            .transpose()
            .map_err(|e| ApiError::invalid(name, &e))
    }

    /// The boolean query parameter `name` (`true` or `false`), `default`
    /// when absent.
    pub fn query_bool(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.query_one(name)? {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(_) => Err(ApiError::bad_request(format!(
                "{name} must be true or false"
            ))),
        }
    }

    /// The JSON body (without `api_key`) as `T`; an absent body reads as `{}`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let mut map = self.body.clone().unwrap_or_default();
        map.remove(API_KEY_FIELD);
        serde_json::from_value(Value::Object(map)).map_err(|e| {
            ApiError::bad_request(format!(
                "the request body does not have the expected shape: {e}"
            ))
        })
    }
}
