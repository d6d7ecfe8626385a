//! Fuzzes the worker frame decoder and what the server does with a decoded frame before
//! it reaches an actor: Register validation, the Log record bound, close reasons.
#![no_main]

include!("../checks.rs");

libfuzzer_sys::fuzz_target!(|frame: &[u8]| check_worker_frame(frame));
