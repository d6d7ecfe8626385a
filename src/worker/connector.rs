//! How the worker reaches the dispatcher: plain TCP for `ws://`, rustls for `wss://`,
//! trusting the webpki roots and an optional private CA (`--ca-cert`). Only builds the
//! connector; the connection itself is `client`'s.

use std::path::Path;
use std::sync::Arc;

use tokio_tungstenite::Connector;

/// The connector for `url`: rustls for `wss://` (built once, reused by every reconnect),
/// plain otherwise. A CA file that cannot be read is an error, also for `ws://`.
pub fn for_url(url: &str, ca_cert: Option<&Path>) -> Result<Connector, crate::tls::TlsError> {
    let config = crate::tls::client_config(ca_cert)?;
    if url.starts_with("wss://") {
        Ok(Connector::Rustls(Arc::new(config)))
    } else {
        Ok(Connector::Plain)
    }
}
