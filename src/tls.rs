//! The one TLS configuration every transport uses, so `--ca` and `--insecure`
//! mean the same thing for wss:// and https:// (SSE, long-poll); and the
//! broker's (`serve --tls-cert`, `--tls-self-signed`), on the same rustls.
//!
//! Roots are loaded only when a URL needs TLS: reading the system store costs
//! tens of milliseconds a plain ws:// one-shot publish should not pay.
//!
//! `--ca FILE` adds the file's certificates to the roots, and a server whose
//! own certificate is one of them is accepted as well (the user pinned it):
//! a self-signed certificate from plain `openssl req -x509` is a CA
//! certificate, which WebPKI refuses as a server's, and a leaf given without
//! its CA has no trusted issuer. Its names and dates are still checked.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig,
    SignatureScheme,
};

use crate::error::{Error, Result};

/// What the user asked of TLS.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    pub ca: Option<PathBuf>,
    pub insecure: bool,
    /// The configuration built once for many connections (bench's idle
    /// ones), `ca` and `insecure` in it: each connection keeps its
    /// configuration, the root store with it, for as long as it is open.
    pub built: Option<Arc<ClientConfig>>,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Build the client configuration, or take the one built already. `alpn`
/// lists the protocols to offer (WebSocket needs `http/1.1` only; every
/// caller offers just that).
pub fn client_config(opts: &TlsOptions, alpn: &[&[u8]]) -> Result<Arc<ClientConfig>> {
    if let Some(built) = &opts.built {
        return Ok(Arc::clone(built));
    }
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::local(format!("TLS setup failed: {e}")))?;
    let mut config = if opts.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider())))
            .with_no_client_auth()
    } else {
        let (roots, ca_certs) = roots(opts.ca.as_deref())?;
        if ca_certs.is_empty() {
            builder.with_root_certificates(roots).with_no_client_auth()
        } else {
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .map_err(|e| Error::local(format!("TLS setup failed: {e}")))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(CaFileVerifier { webpki, ca_certs }))
                .with_no_client_auth()
        }
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

/// The system's roots and the `--ca` file's certificates, and those
/// certificates as given (none without `--ca`).
fn roots(ca: Option<&Path>) -> Result<(RootCertStore, Vec<CertificateDer<'static>>)> {
    let mut store = RootCertStore::empty();
    // A broken system store is not fatal: --ca may be all the user needs.
    let native = rustls_native_certs::load_native_certs();
    store.add_parsable_certificates(native.certs);
    let Some(path) = ca else {
        return Ok((store, Vec::new()));
    };
    let certs = read_certs(path, "--ca")?;
    for cert in &certs {
        store.add(cert.clone()).map_err(|e| {
            Error::usage(format!(
                "--ca {}: unusable certificate: {e}",
                path.display()
            ))
        })?;
    }
    Ok((store, certs))
}

/// Every certificate in the PEM file `path` (at least one), or a usage
/// error naming `flag`.
fn read_certs(path: &Path, flag: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| {
            Error::usage(format!(
                "{flag} {}: cannot read PEM file: {e}",
                path.display()
            ))
        })?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| {
            Error::usage(format!(
                "{flag} {}: not a valid PEM file: {e}",
                path.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(Error::usage(format!(
            "{flag} {}: no CERTIFICATE found in the file",
            path.display()
        )));
    }
    Ok(certs)
}

/// The broker's side (`pubcat serve --tls-cert FILE --tls-key FILE`): the
/// certificate chain and key from PEM files, HTTP/1.1 by ALPN.
pub fn server_config_from_files(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>> {
    let chain = read_certs(cert, "--tls-cert")?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        Error::usage(format!(
            "--tls-key {}: no usable private key in the file: {e}",
            key.display()
        ))
    })?;
    server_config(chain, key)
}

/// A certificate authority made for this run, and a certificate it signed
/// for `localhost`, `127.0.0.1` and `::1` (`pubcat serve
/// --tls-self-signed`): the server configuration, and the CA certificate
/// as PEM for clients' `--ca`. The CA's key lives only in memory, so the
/// CA file trusts this run's certificate and nothing else, ever.
pub fn self_signed_server_config() -> Result<(Arc<ServerConfig>, String)> {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let failed = |e: rcgen::Error| Error::local(format!("making a certificate failed: {e}"));
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "pubcat serve (this run only)");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(failed)?)
        .map_err(failed)?;
    let leaf_key = KeyPair::generate().map_err(failed)?;
    let mut leaf_params = CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])
    .map_err(failed)?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let leaf = leaf_params.signed_by(&leaf_key, &ca).map_err(failed)?;
    let key = PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let config = server_config(vec![leaf.der().clone()], key)?;
    Ok((config, ca.pem()))
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::local(format!("TLS setup failed: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| Error::usage(format!("the TLS certificate and key do not work: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// With `--ca`: the WebPKI verifier over the system's and the file's roots,
/// which also accepts a server whose own certificate is in the file (see
/// the module's doc), once its names and dates are checked.
#[derive(Debug)]
struct CaFileVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    /// The `--ca` file's certificates, byte for byte.
    ca_certs: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for CaFileVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let err = match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(verified) => return Ok(verified),
            Err(err) => err,
        };
        // Only the chain may be forgiven, and only for the very certificate
        // the user gave: a wrong name, a date or a purpose stays an error.
        let chain_refused = match &err {
            rustls::Error::InvalidCertificate(cert) => {
                *cert == CertificateError::UnknownIssuer || is_ca_used_as_end_entity(cert)
            }
            _ => false,
        };
        if !chain_refused || !self.ca_certs.iter().any(|c| c[..] == end_entity[..]) {
            return Err(err);
        }
        verify_pinned(end_entity, server_name, now)?;
        Ok(ServerCertVerified::assertion())
    }

    // The handshake's signatures are checked as ever, with the provider's
    // algorithms: that the server holds the certificate's key is what
    // pinning it relies on.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// What WebPKI checks of a server's certificate besides its chain, for one
/// the user pinned: its validity period, then its names, with rustls's own
/// errors so they read like any other certificate's.
fn verify_pinned(
    cert: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> std::result::Result<(), rustls::Error> {
    let (not_before, not_after) = validity(cert).ok_or(CertificateError::BadEncoding)?;
    let unix = |secs: i64| UnixTime::since_unix_epoch(Duration::from_secs(secs.max(0) as u64));
    let time = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    if time < not_before {
        return Err(CertificateError::NotValidYetContext {
            time: now,
            not_before: unix(not_before),
        }
        .into());
    }
    if time > not_after {
        return Err(CertificateError::ExpiredContext {
            time: now,
            not_after: unix(not_after),
        }
        .into());
    }
    rustls::client::verify_server_name(&ParsedCertificate::try_from(cert)?, server_name)
}

/// WebPKI refuses a CA certificate (basic constraints CA:TRUE) as a
/// server's with its `CaUsedAsEndEntity`, which rustls passes on only as
/// `CertificateError::Other` holding webpki's error; its Debug is the
/// variant's name (pubcat does not depend on webpki to downcast it).
fn is_ca_used_as_end_entity(err: &CertificateError) -> bool {
    matches!(err, CertificateError::Other(other) if format!("{:?}", other.0) == "CaUsedAsEndEntity")
}

/// A DER certificate's notBefore and notAfter, in seconds since the Unix
/// epoch (RFC 5280 4.1: the validity follows the version, serial number,
/// signature algorithm and issuer of the TBSCertificate).
fn validity(cert: &[u8]) -> Option<(i64, i64)> {
    let (certificate, _) = der_element(cert, 0x30)?;
    let (tbs, _) = der_element(certificate, 0x30)?;
    let mut rest = tbs;
    if rest.first() == Some(&0xa0) {
        rest = der_element(rest, 0xa0)?.1;
    }
    for tag in [0x02, 0x30, 0x30] {
        rest = der_element(rest, tag)?.1;
    }
    let (validity, _) = der_element(rest, 0x30)?;
    let (not_before, rest) = der_time(validity)?;
    let (not_after, _) = der_time(rest)?;
    Some((not_before, not_after))
}

/// Split one DER element tagged `tag` off the front of `input`: its
/// contents, and what follows it.
fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = input.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81..=0x84 => {
            let (bytes, rest) = rest.split_at_checked(usize::from(first & 0x7f))?;
            let len = bytes
                .iter()
                .fold(0usize, |len, &b| (len << 8) | usize::from(b));
            (len, rest)
        }
        _ => return None,
    };
    rest.split_at_checked(len)
}

/// A UTCTime (YYMMDDHHMMSSZ, 1950-2049) or GeneralizedTime
/// (YYYYMMDDHHMMSSZ) off the front of `input`, as seconds since the epoch.
fn der_time(input: &[u8]) -> Option<(i64, &[u8])> {
    let (tag, year_digits) = match input.first()? {
        0x17 => (0x17, 2),
        0x18 => (0x18, 4),
        _ => return None,
    };
    let (value, rest) = der_element(input, tag)?;
    let (digits, zone) = value.split_at_checked(year_digits + 10)?;
    if zone != b"Z" || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let number = |d: &[u8]| d.iter().fold(0u32, |n, &c| n * 10 + u32::from(c - b'0'));
    let (year, fields) = digits.split_at(year_digits);
    let year = match (number(year), year_digits) {
        (yy, 2) if yy >= 50 => 1900 + yy,
        (yy, 2) => 2000 + yy,
        (yyyy, _) => yyyy,
    };
    let field = |i: usize| number(&fields[2 * i..2 * i + 2]);
    let at = chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, field(0), field(1))?
        .and_hms_opt(field(2), field(3), field(4))?;
    Some((at.and_utc().timestamp(), rest))
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
    let what = match inner {
        Some(rustls::Error::InvalidCertificate(cert)) => describe_certificate(host, cert),
        Some(rustls::Error::InvalidMessage(_)) => {
            format!("{err} (the server does not seem to speak TLS: try ws:// or http://)")
        }
        _ => err.to_string(),
    };
    format!("TLS handshake with {host} failed: {what}")
}

/// What is wrong with the server's certificate, and what to do about it.
fn describe_certificate(host: &str, err: &CertificateError) -> String {
    const TESTING: &str = "or --insecure for testing";
    match err {
        CertificateError::NotValidForNameContext { presented, .. } => {
            let names: Vec<String> = presented.iter().filter_map(|n| host_name(n)).collect();
            let san = match host.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
                Ok(ip) => format!("IP:{ip}"),
                Err(_) => format!("DNS:{host}"),
            };
            match names.as_slice() {
                [] => format!(
                    "the certificate names no host in its subjectAltName, so it is not for {host} \
                     (clients ignore the Common Name: reissue it with subjectAltName={san}, {TESTING})"
                ),
                [one] => format!(
                    "the certificate is for {one}, not {host} (connect by that name, {TESTING})"
                ),
                many => format!(
                    "the certificate is for {}, not {host} (connect by one of those names, {TESTING})",
                    many.join(", ")
                ),
            }
        }
        CertificateError::NotValidForName => {
            format!("the certificate is not for {host} (connect by a name it is for, {TESTING})")
        }
        CertificateError::ExpiredContext { time, not_after } => format!(
            "the certificate expired on {} (it is now {}: renew it, {TESTING})",
            date(*not_after),
            date(*time)
        ),
        CertificateError::Expired => format!("the certificate has expired (renew it, {TESTING})"),
        CertificateError::NotValidYetContext { time, not_before } => format!(
            "the certificate is not valid until {} (it is now {}: check this machine's clock, {TESTING})",
            date(*not_before),
            date(*time)
        ),
        CertificateError::NotValidYet => {
            format!("the certificate is not valid yet (check this machine's clock, {TESTING})")
        }
        CertificateError::UnknownIssuer => format!(
            "the certificate's issuer is not trusted (trust its CA with --ca FILE, \
             or the server's own certificate; {TESTING})"
        ),
        e if is_ca_used_as_end_entity(e) => format!(
            "the server's certificate is a CA certificate (CA:TRUE, as plain `openssl req -x509` \
             makes), not a server certificate (give that very certificate with --ca FILE to \
             accept it, {TESTING})"
        ),
        e => format!(
            "invalid peer certificate: {e} (trust its CA with --ca FILE, or skip the check with --insecure)"
        ),
    }
}

/// A host name or address out of rustls's list of a certificate's names,
/// which spells them `DnsName("example.com")` and `IpAddress(127.0.0.1)`
/// (IPv6 as `0::1`, so addresses are written again); URIs and directory
/// names name no host.
fn host_name(presented: &str) -> Option<String> {
    if let Some(dns) = presented
        .strip_prefix("DnsName(\"")
        .and_then(|n| n.strip_suffix("\")"))
    {
        return Some(dns.replace(char::is_control, "\u{fffd}"));
    }
    let ip = presented.strip_prefix("IpAddress(")?.strip_suffix(')')?;
    Some(match ip.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => ip.replace(char::is_control, "\u{fffd}"),
    })
}

/// A certificate time as a UTC date and time.
fn date(time: UnixTime) -> String {
    let secs = time.as_secs();
    i64::try_from(secs)
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format!("{secs} s after 1970"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
        KeyUsagePurpose, date_time_ymd,
    };

    /// A self-signed CA:TRUE certificate, as `openssl req -x509` makes, valid
    /// from `from` to `until` (years, on January 1st).
    fn self_signed_ca(names: &[&str], from: i32, until: i32) -> CertificateDer<'static> {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.not_before = date_time_ymd(from, 1, 1);
        params.not_after = date_time_ymd(until, 1, 1);
        let cert = params.self_signed(&KeyPair::generate().unwrap()).unwrap();
        cert.der().clone()
    }

    /// A CA, and a leaf for `names` that it signed.
    fn ca_and_leaf(names: &[&str]) -> (CertificateDer<'static>, CertificateDer<'static>) {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "pubcat test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let mut leaf_params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "pubcat test server");
        let leaf = leaf_params
            .signed_by(&KeyPair::generate().unwrap(), &ca)
            .unwrap();
        (ca.der().clone(), leaf.der().clone())
    }

    /// The verifier `--ca` with these certificates makes (without the
    /// system's roots, which a test cannot know).
    fn verifier(ca_certs: &[&CertificateDer<'static>]) -> CaFileVerifier {
        let mut roots = RootCertStore::empty();
        for cert in ca_certs {
            roots.add((*cert).clone()).unwrap();
        }
        CaFileVerifier {
            webpki: WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .unwrap(),
            ca_certs: ca_certs.iter().map(|c| (*c).clone()).collect(),
        }
    }

    fn verify(
        verifier: &CaFileVerifier,
        cert: &CertificateDer<'static>,
        name: &str,
        now: UnixTime,
    ) -> std::result::Result<(), CertificateError> {
        let name = ServerName::try_from(name.to_string()).unwrap();
        match verifier.verify_server_cert(cert, &[], &name, &[], now) {
            Ok(_) => Ok(()),
            Err(rustls::Error::InvalidCertificate(e)) => Err(e),
            Err(other) => panic!("not a certificate error: {other:?}"),
        }
    }

    fn year(y: i32) -> UnixTime {
        let at = date_time_ymd(y, 6, 1).unix_timestamp();
        UnixTime::since_unix_epoch(Duration::from_secs(at as u64))
    }

    fn described(host: &str, err: &CertificateError) -> String {
        let io = std::io::Error::other(rustls::Error::InvalidCertificate(err.clone()));
        describe_failure(host, &io)
    }

    #[test]
    fn validity_reads_utc_and_generalized_times() {
        // rcgen writes UTCTime up to 2049 and GeneralizedTime from 2050.
        let cert = self_signed_ca(&["localhost"], 2020, 2060);
        let (from, until) = validity(&cert).unwrap();
        assert_eq!(from, date_time_ymd(2020, 1, 1).unix_timestamp());
        assert_eq!(until, date_time_ymd(2060, 1, 1).unix_timestamp());
        let cert = self_signed_ca(&["localhost"], 1960, 2049);
        let (from, until) = validity(&cert).unwrap();
        assert_eq!(from, date_time_ymd(1960, 1, 1).unix_timestamp());
        assert_eq!(until, date_time_ymd(2049, 1, 1).unix_timestamp());
    }

    #[test]
    fn validity_of_what_is_not_a_certificate_is_none() {
        let cert = self_signed_ca(&["localhost"], 2020, 2060);
        for len in [0, 1, 2, 10, 40, 100] {
            assert_eq!(validity(&cert[..len]), None, "first {len} bytes");
        }
        assert_eq!(validity(b"not a certificate"), None);
        assert_eq!(validity(&[0x30, 0x80, 0x30, 0x00, 0x00, 0x00]), None);
    }

    #[test]
    fn a_pinned_self_signed_ca_certificate_is_accepted_for_its_names_and_dates() {
        let cert = self_signed_ca(&["localhost", "127.0.0.1"], 2020, 2060);
        let v = verifier(&[&cert]);
        assert_eq!(verify(&v, &cert, "localhost", year(2030)), Ok(()));
        assert_eq!(verify(&v, &cert, "127.0.0.1", year(2030)), Ok(()));
        let wrong = verify(&v, &cert, "example.com", year(2030));
        assert!(
            matches!(wrong, Err(CertificateError::NotValidForNameContext { .. })),
            "{wrong:?}"
        );
        let expired = verify(&v, &cert, "localhost", year(2061));
        assert!(
            matches!(expired, Err(CertificateError::ExpiredContext { .. })),
            "{expired:?}"
        );
        let early = verify(&v, &cert, "localhost", year(2019));
        assert!(
            matches!(early, Err(CertificateError::NotValidYetContext { .. })),
            "{early:?}"
        );
    }

    #[test]
    fn the_pinned_checks_refuse_what_is_out_of_date_or_for_another_name() {
        // WebPKI checks the dates before it finds the chain wanting, so the
        // verifier never gets here with a wrong date; verify_pinned alone.
        let cert = self_signed_ca(&["localhost"], 2020, 2060);
        let name = ServerName::try_from("localhost").unwrap();
        assert!(verify_pinned(&cert, &name, year(2030)).is_ok());
        assert!(matches!(
            verify_pinned(&cert, &name, year(2061)),
            Err(rustls::Error::InvalidCertificate(CertificateError::ExpiredContext { not_after, .. }))
                if not_after.as_secs() as i64 == date_time_ymd(2060, 1, 1).unix_timestamp()
        ));
        assert!(matches!(
            verify_pinned(&cert, &name, year(2019)),
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidYetContext { .. }
            ))
        ));
        let other = ServerName::try_from("example.com").unwrap();
        assert!(matches!(
            verify_pinned(&cert, &other, year(2030)),
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForNameContext { .. }
            ))
        ));
    }

    #[test]
    fn a_ca_certificate_that_is_not_pinned_is_refused_as_one() {
        let cert = self_signed_ca(&["localhost"], 2020, 2060);
        let unrelated = self_signed_ca(&["localhost"], 2020, 2060);
        let err = verify(&verifier(&[&unrelated]), &cert, "localhost", year(2030)).unwrap_err();
        assert!(is_ca_used_as_end_entity(&err), "{err:?}");
        assert!(!is_ca_used_as_end_entity(&CertificateError::UnknownIssuer));
    }

    #[test]
    fn a_leaf_given_without_its_ca_is_accepted_as_pinned() {
        let (ca, leaf) = ca_and_leaf(&["localhost"]);
        assert_eq!(
            verify(&verifier(&[&ca]), &leaf, "localhost", year(2030)),
            Ok(())
        );
        let pinned = verifier(&[&leaf]);
        assert_eq!(verify(&pinned, &leaf, "localhost", year(2030)), Ok(()));
        assert!(matches!(
            verify(&pinned, &leaf, "example.com", year(2030)),
            Err(CertificateError::NotValidForNameContext { .. })
        ));
        let (_, stranger) = ca_and_leaf(&["localhost"]);
        assert_eq!(
            verify(&pinned, &stranger, "localhost", year(2030)),
            Err(CertificateError::UnknownIssuer)
        );
    }

    #[test]
    fn a_wrong_name_is_said_with_the_names_the_certificate_is_for() {
        let cert = self_signed_ca(&["localhost", "127.0.0.1"], 2020, 2060);
        let v = verifier(&[&cert]);
        let err = verify(&v, &cert, "example.com", year(2030)).unwrap_err();
        assert_eq!(
            described("example.com", &err),
            "TLS handshake with example.com failed: the certificate is for localhost, \
             127.0.0.1, not example.com (connect by one of those names, or --insecure for testing)"
        );

        let cert = self_signed_ca(&["*.example.org", "::1"], 2020, 2060);
        let err = verify(&verifier(&[&cert]), &cert, "localhost", year(2030)).unwrap_err();
        assert!(
            described("localhost", &err)
                .contains("the certificate is for *.example.org, ::1, not localhost"),
            "{}",
            described("localhost", &err)
        );

        let bare = self_signed_ca(&[], 2020, 2060);
        let err = verify(&verifier(&[&bare]), &bare, "localhost", year(2030)).unwrap_err();
        assert!(
            described("localhost", &err).contains(
                "the certificate names no host in its subjectAltName, so it is not for \
                 localhost (clients ignore the Common Name: reissue it with \
                 subjectAltName=DNS:localhost, or --insecure for testing)"
            ),
            "{}",
            described("localhost", &err)
        );
        assert!(
            described("[::1]", &err).contains("subjectAltName=IP:::1,"),
            "{}",
            described("[::1]", &err)
        );

        assert_eq!(host_name("DirectoryName"), None);
        assert_eq!(
            host_name("DnsName(\"a\u{7}b\")").as_deref(),
            Some("a\u{fffd}b")
        );
    }

    #[test]
    fn dates_are_said_in_utc() {
        let cert = self_signed_ca(&["localhost"], 2020, 2060);
        let v = verifier(&[&cert]);
        let expired = verify(&v, &cert, "localhost", year(2061)).unwrap_err();
        assert_eq!(
            described("localhost", &expired),
            "TLS handshake with localhost failed: the certificate expired on \
             2060-01-01 00:00:00 UTC (it is now 2061-06-01 00:00:00 UTC: renew it, \
             or --insecure for testing)"
        );
        let early = verify(&v, &cert, "localhost", year(2019)).unwrap_err();
        assert_eq!(
            described("localhost", &early),
            "TLS handshake with localhost failed: the certificate is not valid until \
             2020-01-01 00:00:00 UTC (it is now 2019-06-01 00:00:00 UTC: check this \
             machine's clock, or --insecure for testing)"
        );
    }

    #[test]
    fn an_untrusted_issuer_and_a_ca_certificate_say_what_to_give_with_ca() {
        assert_eq!(
            described("localhost", &CertificateError::UnknownIssuer),
            "TLS handshake with localhost failed: the certificate's issuer is not trusted \
             (trust its CA with --ca FILE, or the server's own certificate; or --insecure for testing)"
        );
        let cert = self_signed_ca(&["localhost"], 2020, 2060);
        let unrelated = self_signed_ca(&["localhost"], 2020, 2060);
        let err = verify(&verifier(&[&unrelated]), &cert, "localhost", year(2030)).unwrap_err();
        assert_eq!(
            described("localhost", &err),
            "TLS handshake with localhost failed: the server's certificate is a CA \
             certificate (CA:TRUE, as plain `openssl req -x509` makes), not a server \
             certificate (give that very certificate with --ca FILE to accept it, or \
             --insecure for testing)"
        );
    }
}
