//! Fuzzes the task submission decoder and validator (`/run-task`, `/send-task` bodies).
#![no_main]

include!("../checks.rs");

libfuzzer_sys::fuzz_target!(|body: &[u8]| check_task_submission(body));
