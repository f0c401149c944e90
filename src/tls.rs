//! The one TLS configuration every transport uses, so `--ca` and `--insecure`
//! mean the same thing for wss:// today and https:// (SSE, long-poll) later.
//!
//! Roots are loaded only when a URL needs TLS: reading the system store costs
//! tens of milliseconds a plain ws:// one-shot publish should not pay.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{Error, Result};

/// What the user asked of TLS.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    pub ca: Option<PathBuf>,
    pub insecure: bool,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Build the client configuration. `alpn` lists the protocols to offer
/// (WebSocket needs `http/1.1` only).
pub fn client_config(opts: &TlsOptions, alpn: &[&[u8]]) -> Result<Arc<ClientConfig>> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::local(format!("TLS setup failed: {e}")))?;
    let mut config = if opts.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider())))
            .with_no_client_auth()
    } else {
        builder
            .with_root_certificates(roots(opts.ca.as_deref())?)
            .with_no_client_auth()
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// A configuration for clients that are built for plain http:// URLs: no
/// root store is loaded (tens of milliseconds), so a redirect to https://
/// fails verification instead of silently trusting anything.
pub fn plain_config() -> Result<Arc<ClientConfig>> {
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::local(format!("TLS setup failed: {e}")))?
        .with_root_certificates(RootCertStore::empty())
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn roots(ca: Option<&Path>) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    // A broken system store is not fatal: --ca may be all the user needs.
    let native = rustls_native_certs::load_native_certs();
    store.add_parsable_certificates(native.certs);
    if let Some(path) = ca {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| {
                Error::usage(format!(
                    "--ca {}: cannot read PEM file: {e}",
                    path.display()
                ))
            })?
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| {
                Error::usage(format!(
                    "--ca {}: not a valid PEM file: {e}",
                    path.display()
                ))
            })?;
        if certs.is_empty() {
            return Err(Error::usage(format!(
                "--ca {}: no CERTIFICATE found in the file",
                path.display()
            )));
        }
        for cert in certs {
            store.add(cert).map_err(|e| {
                Error::usage(format!(
                    "--ca {}: unusable certificate: {e}",
                    path.display()
                ))
            })?;
        }
    }
    Ok(store)
}

/// `--insecure`: accept any certificate, but still check the handshake
/// signatures so the connection is at least a real TLS session.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Turn a TLS failure into the line a user needs: what failed and what to try.
pub fn describe_failure(host: &str, err: &std::io::Error) -> String {
    let inner = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>());
    let hint = match inner {
        Some(rustls::Error::InvalidCertificate(_)) => {
            " (trust its CA with --ca FILE, or skip the check with --insecure)"
        }
        Some(rustls::Error::InvalidMessage(_)) => {
            " (the server does not seem to speak TLS: try ws:// or http://)"
        }
        _ => "",
    };
    format!("TLS handshake with {host} failed: {err}{hint}")
}
