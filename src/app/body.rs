//! Reading and decoding JSON bodies with our error shape: 413 past the limit, 408 when the
//! body is not all there within `body_timeout_s`, 400 when the JSON does not parse, 422
//! when it parses but is not an object or its fields are missing or mistyped.

use std::time::Duration;

use actix_web::web;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use super::{ApiError, AppState};

/// The body timeout when a request carries no server state (tests of handlers alone).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a request may take to send its body, from the server's configuration.
pub fn timeout(req: &actix_web::HttpRequest) -> Duration {
    req.app_data::<web::Data<AppState>>()
        .map(|state| Duration::from_secs(state.config.api.body_timeout_s))
        .unwrap_or(DEFAULT_TIMEOUT)
}

/// The 408 for a body that stalled.
pub fn timed_out(after: Duration) -> ApiError {
    ApiError::timeout(format!(
        "the request body did not arrive within {} s",
        after.as_secs()
    ))
}

pub async fn read(
    req: &actix_web::HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::too_large(limit));
    }
    let after = timeout(req);
    let deadline = tokio::time::Instant::now() + after;
    let mut body = web::BytesMut::new();
    loop {
        let chunk = match tokio::time::timeout_at(deadline, payload.next()).await {
            Err(_) => return Err(timed_out(after)),
            Ok(None) => break,
            Ok(Some(chunk)) => chunk,
        };
        let chunk = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Overflow => ApiError::too_large(limit),
            other => ApiError::malformed(format!("cannot read the body: {other}")),
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Decodes a body that must be a JSON object (serde would also take a struct as a
/// positional array).
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
                Ok(_) => ApiError::invalid("body", "must be a JSON object"),
                Err(e) => ApiError::malformed(format!("body is not valid JSON: {e}")),
            },
        );
    }
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => ApiError::invalid("body", e.to_string()),
        _ => ApiError::malformed(format!("body is not valid JSON: {e}")),
    })
}

/// Any JSON value, checked the way a worker decoding it into a value will: unlike
/// `IgnoredAny` (which only scans), numbers must fit a float (`1e400` does not). Keeps
/// nothing; nesting is bounded by serde_json's recursion limit.
pub struct AnyJson;

impl<'de> serde::Deserialize<'de> for AnyJson {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AnyJsonVisitor)
    }
}

struct AnyJsonVisitor;

impl<'de> serde::de::Visitor<'de> for AnyJsonVisitor {
    type Value = AnyJson;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }

    fn visit_i64<E>(self, _: i64) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }

    fn visit_u64<E>(self, _: u64) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }

    fn visit_f64<E>(self, _: f64) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }

    fn visit_str<E>(self, _: &str) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }

    fn visit_unit<E>(self) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<AnyJson, A::Error> {
        while seq.next_element::<AnyJson>()?.is_some() {}
        Ok(AnyJson)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<AnyJson, A::Error> {
        while map.next_entry::<AnyJson, AnyJson>()?.is_some() {}
        Ok(AnyJson)
    }
}

/// Whether JSON text nests arrays and objects deeper than `max`. One pass, no allocation,
/// no recursion; brackets inside strings do not count. Says nothing about validity.
pub fn nests_deeper_than(text: &str, max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in text.as_bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Pair {
        a: String,
        b: u32,
    }

    #[test]
    fn only_objects_decode() {
        assert!(decode::<Pair>(br#" {"a":"x","b":1}"#).is_ok());
        let array = decode::<Pair>(br#"["x",1]"#).unwrap_err();
        assert_eq!(array.code().as_str(), "invalid_field", "{array}");
        assert_eq!(
            decode::<Pair>(b"[1,").unwrap_err().code().as_str(),
            "malformed_request"
        );
        assert_eq!(
            decode::<Pair>(b"").unwrap_err().code().as_str(),
            "malformed_request"
        );
        assert_eq!(
            decode::<Pair>(b"\"s\"").unwrap_err().code().as_str(),
            "invalid_field"
        );
    }

    #[test]
    fn any_json_checks_numbers_as_a_worker_would() {
        for ok in [
            "{}",
            "[1, -2, 3.5, \"s\", null, true, {\"a\": [{}]}]",
            "18446744073709551615",
        ] {
            assert!(serde_json::from_str::<AnyJson>(ok).is_ok(), "{ok}");
        }
        for bad in ["1e400", "[-1e999]", "{\"a\": 1", "nope"] {
            assert!(serde_json::from_str::<AnyJson>(bad).is_err(), "{bad}");
        }
        // A huge integer is read as a float, like serde_json::Value does.
        assert!(serde_json::from_str::<AnyJson>(&"9".repeat(400)).is_err());
    }

    #[test]
    fn nesting_is_measured_outside_strings() {
        assert!(!nests_deeper_than("{}", 1));
        assert!(nests_deeper_than("[[]]", 1));
        assert!(!nests_deeper_than(r#"{"a":"[[[[\"[[["}"#, 1));
        assert!(nests_deeper_than(&"[".repeat(100_000), 64));
        assert!(nests_deeper_than(&r#"{"a":"#.repeat(1_000_000), 64));
        let deep_ok = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert!(!nests_deeper_than(&deep_ok, 64));
        assert!(nests_deeper_than(&format!("[{deep_ok}]"), 64));
    }
}
