// The properties the fuzz targets check, shared with the regression tests in
// tests/integration/fuzz_regressions.rs (both `include!` this file), so a saved crash is
// replayed through exactly the same code.

use actix_web_actors::ws::CloseCode;
use smart_routing::actors::{close_frame, log_limit};
use smart_routing::http::decode_task;
use smart_routing::protocol::{decode_from_worker, encode_from_worker, FromWorker};

/// A worker frame: decoding never panics; what decodes survives a round trip; refusals
/// fit a close frame; a Log record is cut to its budget.
pub fn check_worker_frame(frame: &[u8]) {
    let fits = |reason: &str| {
        let close = close_frame(CloseCode::Protocol, reason);
        assert!(close.description.map_or(0, |d| d.len()) <= 123);
    };
    let message = match decode_from_worker(frame) {
        Ok(message) => message,
        Err(error) => return fits(&error.to_string()),
    };
    assert_eq!(
        decode_from_worker(&encode_from_worker(&message)).as_ref(),
        Ok(&message)
    );
    match message {
        FromWorker::Register(registration) => {
            if let Err(error) = registration.validate("w-1") {
                fits(&format!("bad register: {error}"));
            }
        }
        FromWorker::Log(mut record) => {
            let budget = 1024;
            log_limit::truncate(&mut record, budget);
            let size = record.level.len()
                + record.message.len()
                + record.fields.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
            assert!(size <= budget, "{size} bytes kept of {budget}");
        }
        _ => {}
    }
}

/// A submission body: decoding never panics; what is accepted is what workers are
/// promised (names within bounds, parameters that parse as JSON).
pub fn check_task_submission(body: &[u8]) {
    let config = smart_routing::config::Config::default();
    if let Ok(task) = decode_task(body, &config) {
        assert!(!task.task_id.trim().is_empty() && task.task_id.len() <= 256);
        assert!(task.label.len() <= 256 && task.task_type.len() <= 256);
        serde_json::from_str::<serde_json::Value>(&task.parameters_json)
            .expect("accepted parameters_json must parse");
    }
}
