//! The HTTP edge: every answer that is not a handler's own gets the JSON error shape.
//! `json_errors` (middleware around the whole app) turns any error response without a
//! JSON body (actix's 404/405/413, extractor errors, ...) into `{"error":{"code","message"}}`
//! keeping its status and headers (`Allow`), answers HEAD like GET without a body, and
//! OPTIONS with 204 and `Allow`. `fallback` is the app's default service: 405 when the
//! path is known, else 404. Routes need nothing of their own to get this.

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpRequest, HttpResponse, ResponseError};
use serde_json::json;

use super::ApiError;
use crate::error_code::ErrorCode;

/// Bodies of error responses longer than this are not quoted in the message.
const QUOTE_MAX: usize = 1024;

pub async fn json_errors<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    // actix-http leaves out the body of the answer to a HEAD request by itself.
    let method = req.method().clone();
    if method == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    // (The request must not be cloned before routing: the router needs it unshared.)
    let res = match next.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        Err(error) => return Err(Shaped::from(error).into()),
    };
    let status = res.status();
    if method == Method::OPTIONS && status == StatusCode::METHOD_NOT_ALLOWED {
        return Ok(options(res));
    }
    if !(status.is_client_error() || status.is_server_error()) || is_json(res.headers()) {
        return Ok(res);
    }
    let (req, res) = res.into_parts();
    let headers = res.headers().clone();
    let quoted = match body::to_bytes_limited(res.into_body(), QUOTE_MAX).await {
        Ok(Ok(bytes)) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        _ => String::new(),
    };
    let message = if quoted.is_empty() {
        match status {
            StatusCode::NOT_FOUND => format!("no route for {} {}", method, req.path()),
            StatusCode::METHOD_NOT_ALLOWED => {
                format!("{} is not allowed on {}", method, req.path())
            }
            _ => status.canonical_reason().unwrap_or("error").to_owned(),
        }
    } else {
        quoted
    };
    let mut shaped = HttpResponse::build(status);
    for (name, value) in headers.iter() {
        if name == header::CONTENT_TYPE || name == header::CONTENT_LENGTH {
            continue;
        }
        if name == header::ALLOW {
            shaped.insert_header((header::ALLOW, with_implied(value)));
        } else {
            shaped.append_header((name.clone(), value.clone()));
        }
    }
    let shaped = shaped.json(json!({ "error": { "code": code(status), "message": message } }));
    Ok(ServiceResponse::new(req, shaped))
}

/// An error raised rather than answered inside the app, given the JSON shape.
#[derive(Debug)]
struct Shaped {
    status: StatusCode,
    message: String,
}

impl From<Error> for Shaped {
    fn from(error: Error) -> Self {
        Shaped {
            status: error.as_response_error().status_code(),
            message: error.to_string(),
        }
    }
}

impl std::fmt::Display for Shaped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl ResponseError for Shaped {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status)
            .json(json!({ "error": { "code": code(self.status), "message": self.message } }))
    }
}

/// 204 with the methods the path allows.
fn options(res: ServiceResponse) -> ServiceResponse {
    let allow = res.headers().get(header::ALLOW).map(with_implied);
    let (req, _) = res.into_parts();
    let mut answer = HttpResponse::NoContent();
    if let Some(allow) = allow {
        answer.insert_header((header::ALLOW, allow));
    }
    ServiceResponse::new(req, answer.finish())
}

/// An `Allow` value plus what this middleware answers itself: HEAD where GET is, OPTIONS.
fn with_implied(value: &header::HeaderValue) -> String {
    let mut methods: Vec<String> = value
        .to_str()
        .unwrap_or("")
        .split(',')
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty())
        .collect();
    if methods.iter().any(|m| m == "GET") && !methods.iter().any(|m| m == "HEAD") {
        methods.push("HEAD".into());
    }
    if !methods.iter().any(|m| m == "OPTIONS") {
        methods.push("OPTIONS".into());
    }
    methods.join(", ")
}

fn is_json(headers: &header::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let v = v.split(';').next().unwrap_or("").trim();
            v == "application/json" || v.ends_with("+json")
        })
}

/// A stable code for a status that no handler chose; `http_<status>` for a status no
/// code stands for.
fn code(status: StatusCode) -> String {
    let code = match status {
        StatusCode::BAD_REQUEST => ErrorCode::MalformedRequest,
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::REQUEST_TIMEOUT => ErrorCode::RequestTimeout,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::BodyTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::InvalidField,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => ErrorCode::HeaderTooLarge,
        s if s.is_server_error() => ErrorCode::Internal,
        s => return format!("http_{}", s.as_u16()),
    };
    code.as_str().to_owned()
}

/// The app's default service: no resource took the request.
pub async fn fallback(req: HttpRequest) -> HttpResponse {
    let (method, path) = (req.method(), req.path());
    let error = if req.resource_map().has_resource(path) {
        ApiError::new(
            ErrorCode::MethodNotAllowed,
            format!("{method} is not allowed on {path}"),
        )
    } else {
        ApiError::not_found(format!("no route for {method} {path}"))
    };
    error.error_response()
}

/// Extractor failures (query string, path, JSON) as `invalid_field`.
pub fn extractor_errors(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::QueryConfig::default()
            .error_handler(|e, _| ApiError::invalid("query", e.to_string()).into()),
    )
    .app_data(
        web::PathConfig::default()
            .error_handler(|e, _| ApiError::invalid("path", e.to_string()).into()),
    )
    .app_data(
        web::JsonConfig::default().error_handler(|e, _| {
            ApiError::malformed(format!("body is not valid JSON: {e}")).into()
        }),
    )
    .default_service(web::to(fallback));
}
