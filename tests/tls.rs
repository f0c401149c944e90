//! wss:// against a real TLS WebSocket server with a throw-away CA.

mod common;

use std::sync::Arc;

use futures_util::SinkExt;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_tungstenite::tungstenite::Message;

use common::pubcat;

struct TlsServer {
    port: u16,
    ca_pem: String,
    _rt: tokio::runtime::Runtime,
}

/// A wss server whose certificate is signed by a CA made for this test; it
/// sends "secure hello" to each client and closes.
fn tls_server() -> TlsServer {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let certs = vec![CertificateDer::from(leaf.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
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
                let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await else {
                    return;
                };
                let _ = ws.send(Message::text("secure hello")).await;
                let _ = ws.close(None).await;
                while let Some(Ok(_)) = futures_util::StreamExt::next(&mut ws).await {}
            });
        }
    });
    TlsServer {
        port,
        ca_pem: ca.pem(),
        _rt: rt,
    }
}

#[test]
fn wss_works_with_the_ca_and_fails_without_it() {
    let server = tls_server();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &server.ca_pem).unwrap();
    let url = format!("wss://localhost:{}/feed", server.port);

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
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&ok.stdout), "secure hello\n");

    let bad = pubcat()
        .args(["sub", &url, "-n", "1", "--timeout", "20s"])
        .output()
        .unwrap();
    assert_eq!(
        bad.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let stderr = String::from_utf8_lossy(&bad.stderr);
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
    assert_eq!(
        insecure.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&insecure.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&insecure.stdout), "secure hello\n");
}

#[test]
fn https_transports_name_tls_and_the_ca_flag_when_the_certificate_is_untrusted() {
    let server = tls_server();
    for url in [
        format!("https://localhost:{}/feed", server.port),
        format!("socketio+https://localhost:{}/", server.port),
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
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ca"));
}
