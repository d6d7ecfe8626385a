//! The application layer every transport shares (the HTTP API in `http`, the Open
//! Inference Protocol over REST and gRPC in `oip`): the services a request reaches
//! (`AppState`), who may call (`auth`), reading request bodies within their bounds
//! (`body`), submitting a task and waiting for its result (`submit`), installing models
//! into the repository (`models`), and the errors all of them return (`error`).
//!
//! Depends on the actors, the store, the repository, the engine and config; never on
//! `http`, `oip` or `server`, which depend on it.

mod auth;
pub mod body;
mod error;
pub mod models;
mod state;
pub mod submit;

pub use auth::{Clients, Refused, Workers};
pub use error::ApiError;
pub use state::AppState;
