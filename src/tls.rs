//! Which certificate authorities the HTTP client trusts, with which crypto,
//! and why.
//!
//! The client talks to one base URL and never follows a redirect, so its
//! scheme decides everything:
//!
//! - plain `http://` (loopback only, or explicitly allowed): no TLS is ever
//!   spoken, so no roots are loaded at all — no certificate files opened at
//!   start, and a machine without a system certificate store still builds a
//!   client (`crane status` against the emulator needs nothing from the OS);
//! - `https://`: the Mozilla root set bundled in the binary
//!   (`webpki-root-certs`), not the system store. The service is a public
//!   host with a publicly trusted certificate; the bundled set gives the
//!   same answer on every machine, works in containers with no
//!   `/etc/ssl/certs`, and costs no file reads at start. (README,
//!   "Dependencies, and why".)
//!
//! The crypto is rustls's *ring* provider, handed to reqwest in a
//! configuration built here (reqwest is built without a provider of its
//! own). reqwest's default, aws-lc-rs, runs a C constructor (CPU feature
//! detection) in every process that links it, before `main` — paid by every
//! `crane` command, including those that never open a connection — and is a
//! long C build (cmake) for every clone. *ring* detects CPU features on first
//! use. No process-wide default provider is installed: a host application's
//! own choice stays its own.

use std::sync::Arc;

use reqwest::{ClientBuilder, Url};
use rustls::{ClientConfig, RootCertStore};

use crate::Error;

/// `builder` set up to trust exactly what `base` needs (see the module docs).
pub(crate) fn configure(builder: ClientBuilder, base: &Url) -> Result<ClientBuilder, Error> {
    let https = base.scheme() == "https";
    // Plain http: an empty set, so TLS can only fail, and it is never attempted.
    let roots = if https {
        bundled_roots()?
    } else {
        RootCertStore::empty()
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Network {
            message: format!("the TLS configuration does not build: {e}"),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // What reqwest offers itself when it builds the configuration.
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let builder = builder.tls_backend_preconfigured(tls);
    Ok(if https {
        builder.https_only(true)
    } else {
        builder
    })
}

/// The bundled Mozilla roots.
fn bundled_roots() -> Result<RootCertStore, Error> {
    let mut store = RootCertStore::empty();
    for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        store.add(der.clone()).map_err(|e| Error::Network {
            message: format!("a bundled root certificate does not load: {e}"),
        })?;
    }
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_roots_load() {
        let roots = bundled_roots().unwrap();
        assert!(roots.len() > 100, "{}", roots.len());
    }
}
