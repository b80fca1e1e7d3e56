//! Which certificate authorities the HTTP client trusts, and why.
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

use reqwest::{Certificate, ClientBuilder, Url};

use crate::Error;

/// `builder` set up to trust exactly what `base` needs (see the module docs).
pub(crate) fn configure(builder: ClientBuilder, base: &Url) -> Result<ClientBuilder, Error> {
    if base.scheme() != "https" {
        // An empty set: TLS can only fail, and it is never attempted.
        return Ok(builder.tls_certs_only(Vec::new()));
    }
    let roots = bundled_roots()?;
    Ok(builder.tls_certs_only(roots).https_only(true))
}

/// The bundled Mozilla roots as reqwest certificates.
fn bundled_roots() -> Result<Vec<Certificate>, Error> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|der| {
            Certificate::from_der(der.as_ref()).map_err(|e| Error::Network {
                message: format!("a bundled root certificate does not load: {e}"),
            })
        })
        .collect()
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
