//! wss:// and https:// against real TLS servers on 127.0.0.1: a leaf signed
//! by a throw-away CA, and self-signed CA certificates as plain `openssl req
//! -x509` makes them, which `--ca` accepts when it is the server's own.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use futures_util::SinkExt;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
    date_time_ymd,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{assert_code, pubcat};

/// What a test server speaks once TLS is up.
#[derive(Clone, Copy)]
enum Speak {
    /// WebSocket: "secure hello" to each client, then a close.
    Ws,
    /// Server-Sent Events: one event, "secure hello", to any request.
    Sse,
}

struct TlsServer {
    port: u16,
    _rt: tokio::runtime::Runtime,
}

/// A TLS server on 127.0.0.1 that presents `cert`.
fn serve(cert: &CertificateDer<'static>, key: &KeyPair, speak: Speak) -> TlsServer {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.clone()], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    rt.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that rejects our certificate fails here; fine.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                match speak {
                    Speak::Ws => {
                        let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await else {
                            return;
                        };
                        let _ = ws.send(Message::text("secure hello")).await;
                        let _ = ws.close(None).await;
                        while let Some(Ok(_)) = futures_util::StreamExt::next(&mut ws).await {}
                    }
                    Speak::Sse => answer_with_one_event(tls).await,
                }
            });
        }
    });
    TlsServer { port, _rt: rt }
}

/// Read a request's head, answer with an event stream of one event, and
/// hold it open until the client (done after one message) leaves.
async fn answer_with_one_event(mut tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match tls.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
                   Cache-Control: no-cache\r\n\r\ndata: secure hello\n\n";
    if tls.write_all(answer).await.is_err() || tls.flush().await.is_err() {
        return;
    }
    while let Ok(n) = tls.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

/// A wss server whose certificate is signed by a CA made for this test.
struct CaSignedServer {
    server: TlsServer,
    ca_pem: String,
    leaf_pem: String,
}

fn tls_server() -> CaSignedServer {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "pubcat test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();
    CaSignedServer {
        server: serve(leaf.der(), &leaf_key, Speak::Ws),
        ca_pem: ca.pem(),
        leaf_pem: leaf.pem(),
    }
}

/// A self-signed CA:TRUE certificate for `names` (what `openssl req -x509
/// -subj /CN=localhost -addext subjectAltName=DNS:localhost` makes), valid
/// from 2020 until 2021 when `expired`, and for ever (4096) otherwise.
struct SelfSigned {
    der: CertificateDer<'static>,
    key: KeyPair,
    pem: String,
}

fn self_signed(names: &[&str], expired: bool) -> SelfSigned {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, names[0]);
    if expired {
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(2021, 1, 1);
    }
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    SelfSigned {
        der: cert.der().clone(),
        pem: cert.pem(),
        key,
    }
}

/// `pem` in a file of `dir`, for `--ca`.
fn pem_file(dir: &Path, name: &str, pem: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pem).unwrap();
    path
}

/// `pubcat sub URL -n 1 -o line`, bounded by --timeout, with `--ca` if
/// given (and never the caller's PUBCAT_CA).
fn sub_one(url: &str, ca: Option<&Path>) -> Output {
    let mut cmd = pubcat();
    cmd.env_remove("PUBCAT_CA")
        .args(["sub", url, "-n", "1", "-o", "line", "--timeout", "20s"]);
    if let Some(ca) = ca {
        cmd.arg("--ca").arg(ca);
    }
    cmd.output().unwrap()
}

/// A refusal: exit 3 and one line on stderr that contains `needle`.
fn assert_refused(url: &str, out: &Output, needle: &str) {
    let stderr = assert_code(out, 3);
    assert!(
        stderr.starts_with("pubcat: error: TLS handshake with ") && stderr.contains(needle),
        "{url}: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{url}: {stderr}");
    assert!(out.stdout.is_empty(), "{url}");
}

#[test]
fn wss_works_with_the_ca_and_fails_without_it() {
    let server = tls_server();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &server.ca_pem).unwrap();
    let url = format!("wss://localhost:{}/feed", server.server.port);

    let ok = pubcat()
        .args([
            "sub",
            &url,
            "-n",
            "1",
            "-o",
            "line",
            "--timeout",
            "20s",
            "--ca",
        ])
        .arg(&ca)
        .output()
        .unwrap();
    assert_code(&ok, 0);
    assert_eq!(String::from_utf8_lossy(&ok.stdout), "secure hello\n");

    let bad = pubcat()
        .args(["sub", &url, "-n", "1", "--timeout", "20s"])
        .output()
        .unwrap();
    let stderr = assert_code(&bad, 3);
    assert!(
        stderr.contains("TLS") && stderr.contains("--ca"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let insecure = pubcat()
        .args([
            "sub",
            &url,
            "-n",
            "1",
            "-o",
            "line",
            "--insecure",
            "--timeout",
            "20s",
        ])
        .output()
        .unwrap();
    assert_code(&insecure, 0);
    assert_eq!(String::from_utf8_lossy(&insecure.stdout), "secure hello\n");
}

#[test]
fn https_transports_name_tls_and_the_ca_flag_when_the_certificate_is_untrusted() {
    let server = tls_server();
    for url in [
        format!("https://localhost:{}/feed", server.server.port),
        format!("socketio+https://localhost:{}/", server.server.port),
    ] {
        let bad = pubcat().args(["sub", &url, "-n", "1"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&bad.stderr);
        assert_eq!(bad.status.code(), Some(3), "{url}: {stderr}");
        assert!(
            stderr.contains("TLS handshake") && stderr.contains("--ca"),
            "{url}: {stderr}"
        );
    }
}

#[test]
fn a_ca_file_that_is_not_pem_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "not a certificate").unwrap();
    let out = pubcat()
        .args(["sub", "wss://localhost:1/x", "--ca"])
        .arg(&ca)
        .output()
        .unwrap();
    assert_code(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ca"));
}

#[test]
fn a_self_signed_ca_certificate_given_with_ca_is_accepted_over_wss_and_https() {
    let cert = self_signed(&["localhost"], false);
    let ws = serve(&cert.der, &cert.key, Speak::Ws);
    let sse = serve(&cert.der, &cert.key, Speak::Sse);
    let dir = tempfile::tempdir().unwrap();
    let pinned = pem_file(dir.path(), "server.pem", &cert.pem);
    for url in [
        format!("wss://localhost:{}/feed", ws.port),
        format!("https://localhost:{}/feed", sse.port),
    ] {
        let out = sub_one(&url, Some(&pinned));
        assert_code(&out, 0);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "secure hello\n",
            "{url}"
        );

        // Not given, it is refused, and the line says what it is and
        // what --ca would do with it.
        let out = sub_one(&url, None);
        assert_refused(
            &url,
            &out,
            "the server's certificate is a CA certificate (CA:TRUE, as plain `openssl req \
             -x509` makes), not a server certificate (give that very certificate with --ca \
             FILE to accept it, or --insecure for testing)",
        );
    }
}

#[test]
fn a_pinned_certificate_is_refused_for_a_name_it_is_not_for() {
    let cert = self_signed(&["localhost"], false);
    let ws = serve(&cert.der, &cert.key, Speak::Ws);
    let sse = serve(&cert.der, &cert.key, Speak::Sse);
    let dir = tempfile::tempdir().unwrap();
    let pinned = pem_file(dir.path(), "server.pem", &cert.pem);
    for url in [
        format!("wss://127.0.0.1:{}/feed", ws.port),
        format!("https://127.0.0.1:{}/feed", sse.port),
    ] {
        let out = sub_one(&url, Some(&pinned));
        assert_refused(
            &url,
            &out,
            "TLS handshake with 127.0.0.1 failed: the certificate is for localhost, not \
             127.0.0.1 (connect by that name, or --insecure for testing)",
        );
    }
}

#[test]
fn an_expired_pinned_certificate_is_refused_with_its_date() {
    let cert = self_signed(&["localhost"], true);
    let ws = serve(&cert.der, &cert.key, Speak::Ws);
    let sse = serve(&cert.der, &cert.key, Speak::Sse);
    let dir = tempfile::tempdir().unwrap();
    let pinned = pem_file(dir.path(), "server.pem", &cert.pem);
    for url in [
        format!("wss://localhost:{}/feed", ws.port),
        format!("https://localhost:{}/feed", sse.port),
    ] {
        let out = sub_one(&url, Some(&pinned));
        assert_refused(
            &url,
            &out,
            "the certificate expired on 2021-01-01 00:00:00 UTC (it is now ",
        );
    }
}

#[test]
fn an_unrelated_ca_file_is_refused_with_the_unknown_issuer_hint() {
    let server = tls_server();
    let stranger = self_signed(&["localhost"], false);
    let dir = tempfile::tempdir().unwrap();
    let unrelated = pem_file(dir.path(), "unrelated.pem", &stranger.pem);
    let url = format!("wss://localhost:{}/feed", server.server.port);
    let out = sub_one(&url, Some(&unrelated));
    assert_refused(
        &url,
        &out,
        "TLS handshake with localhost failed: the certificate's issuer is not trusted (trust \
         its CA with --ca FILE, or the server's own certificate; or --insecure for testing)",
    );
}

#[test]
fn a_server_certificate_given_with_ca_without_its_ca_is_accepted() {
    let server = tls_server();
    let dir = tempfile::tempdir().unwrap();
    let leaf = pem_file(dir.path(), "leaf.pem", &server.leaf_pem);
    let url = format!("wss://localhost:{}/feed", server.server.port);
    let out = sub_one(&url, Some(&leaf));
    assert_code(&out, 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "secure hello\n");

    // Among other certificates in the file, too.
    let both = pem_file(
        dir.path(),
        "both.pem",
        &format!(
            "{}{}",
            self_signed(&["localhost"], false).pem,
            server.leaf_pem
        ),
    );
    let out = sub_one(&url, Some(&both));
    assert_code(&out, 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "secure hello\n");
}

/// `pubcat pub URL MESSAGE --ca CA`, bounded: exit 0.
fn publish_with_ca(url: &str, message: &str, ca: &Path) {
    let out = pubcat()
        .env_remove("PUBCAT_CA")
        .args(["pub", url, message, "--timeout", "20s", "--ca"])
        .arg(ca)
        .output()
        .unwrap();
    assert_code(&out, 0);
}

#[test]
fn serve_tls_self_signed_is_trusted_with_its_ca_file_and_refused_without() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("serve-ca.pem");
    let broker = crate::common::Broker::start_with(&[
        "-v",
        "--tls-self-signed",
        "--tls-ca-out",
        ca.to_str().unwrap(),
    ]);
    broker.wait_for_log(&format!("--ca {}", ca.display()));
    let port = broker.addr.port();
    let wss = format!("wss://127.0.0.1:{port}/secure");
    publish_with_ca(&wss, "over wss", &ca);
    let out = sub_one(&format!("{wss}?since=0"), Some(&ca));
    assert_code(&out, 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "over wss\n");
    // https:// on the same port: SSE, and by name.
    let https = format!("https://localhost:{port}/secure?since=0");
    let out = sub_one(&https, Some(&ca));
    assert_code(&out, 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "over wss\n");
    // Without the CA: not trusted, exit 3, and the broker logs why.
    let out = sub_one(&wss, None);
    assert_refused(&wss, &out, "--ca");
    broker.wait_for_log("TLS handshake with 127.0.0.1");
}

#[test]
fn serve_tls_with_a_given_certificate_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "pubcat serve test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let ca_file = pem_file(dir.path(), "ca.pem", &ca.pem());
    let cert = pem_file(dir.path(), "cert.pem", &leaf.pem());
    let key_file = pem_file(dir.path(), "key.pem", &key.serialize_pem());
    let broker = crate::common::Broker::start_with(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key_file.to_str().unwrap(),
    ]);
    let url = format!("wss://127.0.0.1:{}/given", broker.addr.port());
    publish_with_ca(&url, "given", &ca_file);
    let out = sub_one(&format!("{url}?since=0"), Some(&ca_file));
    assert_code(&out, 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "given\n");
    // A key that is not the certificate's: a usage error at start.
    let other = pem_file(
        dir.path(),
        "other.pem",
        &KeyPair::generate().unwrap().serialize_pem(),
    );
    let out = pubcat()
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&other)
        .output()
        .unwrap();
    let stderr = assert_code(&out, 2);
    assert!(stderr.contains("certificate and key"), "{stderr}");
}
