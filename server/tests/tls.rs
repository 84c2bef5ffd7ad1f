//! TLS end to end on 127.0.0.1, with a CA and certificates generated at
//! test time: keelctl over https, client-cert-auth, peers over TLS, a
//! plaintext client on a TLS port, and start errors for bad files.

mod common;

use bytes::Bytes;
use common::{daemon_options as options, free_ports};
use keel_engine::api::*;
use keel_engine::storage::disk::OsDisk;
use keel_server::client::{Client, ClientError, ClientOptions};
use keel_server::daemon::{ClusterState, Daemon, DaemonError, DaemonOptions};
use keel_server::tls::identity::CertCheck;
use keel_server::tls::{ClientTlsFiles, TlsFiles};
use keel_server::url::Url;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A CA, and certificates it signs, written as PEM files into a directory.
struct Pki {
    dir: PathBuf,
    ca: rcgen::Certificate,
    ca_key: KeyPair,
}

impl Pki {
    fn new(dir: &Path, name: &str) -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} CA"));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = params.self_signed(&ca_key).unwrap();
        let dir = dir.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        Pki { dir, ca, ca_key }
    }

    fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// A certificate for 127.0.0.1 and localhost, good for serving and
    /// as a client certificate: (cert file, key file).
    fn issue(&self, name: &str) -> (PathBuf, PathBuf) {
        // A serial of its own per name (a CRL names certificates by it).
        let serial = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        }) >> 1;
        self.issue_with_serial(name, serial)
    }

    /// [`Pki::issue`] with the certificate's serial number given.
    fn issue_with_serial(&self, name: &str, serial: u64) -> (PathBuf, PathBuf) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params.serial_number = Some(rcgen::SerialNumber::from(serial));
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        let (cert_file, key_file) = (
            self.dir.join(format!("{name}.pem")),
            self.dir.join(format!("{name}-key.pem")),
        );
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        (cert_file, key_file)
    }

    /// A certificate named `file`, with Common Name `cn` and the subject
    /// alternative names `sans`, good for serving and as a client
    /// certificate: (cert file, key file).
    fn issue_names(&self, file: &str, cn: &str, sans: &[&str]) -> (PathBuf, PathBuf) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        let (cert_file, key_file) = (
            self.dir.join(format!("{file}.pem")),
            self.dir.join(format!("{file}-key.pem")),
        );
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        (cert_file, key_file)
    }

    /// Server-side TLS files for `name`.
    fn tls_files(&self, name: &str, client_cert_auth: bool) -> TlsFiles {
        let (cert, key) = self.issue(name);
        TlsFiles {
            cert_file: Some(cert),
            key_file: Some(key),
            trusted_ca_file: Some(self.ca_file()),
            client_cert_auth,
            ..TlsFiles::default()
        }
    }
}

fn https(port: u16) -> Url {
    Url::parse(&format!("https://127.0.0.1:{port}")).unwrap()
}

/// A single member whose client port is https:// (peers stay plain).
async fn tls_member(dir: &Path, pki: &Pki, client_cert_auth: bool) -> (Daemon, u16) {
    let ports = free_ports(2);
    let cluster = vec![("solo".to_string(), format!("http://127.0.0.1:{}", ports[1]))];
    let mut opts = options(dir, "solo", ports[0], ports[1], &cluster, ClusterState::New);
    opts.listen_client_urls = vec![https(ports[0])];
    opts.advertise_client_urls = vec![https(ports[0]).to_string()];
    opts.client_tls = pki.tls_files("server", client_cert_auth);
    let daemon = Daemon::start(opts, Arc::new(OsDisk::new())).await.unwrap();
    assert!(daemon.wait_ready(Duration::from_secs(20)).await);
    (daemon, ports[0])
}

/// Runs keelctl with `args`; (exit status, stdout, stderr).
async fn keelctl(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut stdin = std::io::Cursor::new(Vec::new());
    let mut streamed = Vec::new();
    let out = tokio::time::timeout(
        Duration::from_secs(20),
        keel_server::ctl::run(keel_server::ctl::Invocation {
            args: args.iter().map(Into::into).collect(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            stdin: &mut stdin,
            prompts: &mut streamed,
            stderr: None,
            stdin_lines: None,
            interrupt: None,
        }),
    )
    .await
    .expect("keelctl finished");
    (
        out.exit_code,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn put(key: &str, value: &str) -> Request {
    Request::Put(PutRequest {
        key: Bytes::from(key.to_string()),
        value: Bytes::from(value.to_string()),
        ..PutRequest::default()
    })
}

fn get(key: &str) -> Request {
    Request::Range(RangeRequest {
        key: Bytes::from(key.to_string()),
        ..RangeRequest::default()
    })
}

#[tokio::test]
async fn keelctl_puts_and_gets_over_https_with_cacert() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "pki");
    let (daemon, port) = tls_member(dir.path(), &pki, false).await;
    let endpoint = format!("--endpoints=https://127.0.0.1:{port}");
    let ca = pki.ca_file();
    let cacert = format!("--cacert={}", ca.display());
    let (code, out, err) = keelctl(&[&endpoint, &cacert, "put", "foo", "bar"], &[]).await;
    assert_eq!((code, out.as_str(), err.as_str()), (0, "OK\n", ""));
    let (code, out, _) = keelctl(&[&endpoint, &cacert, "get", "foo"], &[]).await;
    assert_eq!((code, out.as_str()), (0, "foo\nbar\n"));
    // KEELCTL_CACERT stands in for --cacert; a bare host:port uses TLS
    // when a TLS setting is given, as etcdctl's endpoints do; localhost is
    // a name the certificate holds.
    let bare = format!("--endpoints=localhost:{port}");
    let (code, out, _) = keelctl(
        &[&bare, "get", "foo", "--print-value-only"],
        &[("KEELCTL_CACERT", &ca.display().to_string())],
    )
    .await;
    assert_eq!((code, out.as_str()), (0, "bar\n"));
    // Without a CA the server cannot be verified; skipping verification is
    // an explicit choice.
    let (code, _, err) = keelctl(&[&endpoint, "get", "foo"], &[]).await;
    assert_ne!(code, 0);
    assert!(err.contains("trusted CA"), "{err}");
    let (code, out, _) = keelctl(
        &[&endpoint, "--insecure-skip-tls-verify", "get", "foo"],
        &[],
    )
    .await;
    assert_eq!((code, out.as_str()), (0, "foo\nbar\n"));
    // A CA that did not sign the server's certificate: no connection.
    let other = Pki::new(dir.path(), "other");
    let wrong = format!("--cacert={}", other.ca_file().display());
    let (code, _, err) = keelctl(
        &[
            &endpoint,
            &wrong,
            "--dial-timeout=1s",
            "--command-timeout=2s",
            "get",
            "foo",
        ],
        &[],
    )
    .await;
    assert_ne!(code, 0, "{err}");
    daemon.shutdown().await;
}

#[tokio::test]
async fn client_cert_auth_refuses_clients_without_a_trusted_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "pki");
    let (daemon, port) = tls_member(dir.path(), &pki, true).await;
    let endpoint = format!("--endpoints=https://127.0.0.1:{port}");
    let cacert = format!("--cacert={}", pki.ca_file().display());
    let quick = ["--dial-timeout=1s", "--command-timeout=2s"];
    // No client certificate.
    let (code, out, err) =
        keelctl(&[&endpoint, &cacert, quick[0], quick[1], "get", "foo"], &[]).await;
    assert_ne!(code, 0, "{out}{err}");
    // A certificate from another CA.
    let other = Pki::new(dir.path(), "other");
    let (cert, key) = other.issue("intruder");
    let (cert, key) = (
        format!("--cert={}", cert.display()),
        format!("--key={}", key.display()),
    );
    let (code, _, _) = keelctl(
        &[
            &endpoint, &cacert, &cert, &key, quick[0], quick[1], "get", "foo",
        ],
        &[],
    )
    .await;
    assert_ne!(code, 0);
    // A certificate the trusted CA signed.
    let (cert, key) = pki.issue("client");
    let (cert, key) = (
        format!("--cert={}", cert.display()),
        format!("--key={}", key.display()),
    );
    let (code, out, err) = keelctl(&[&endpoint, &cacert, &cert, &key, "put", "a", "1"], &[]).await;
    assert_eq!((code, out.as_str(), err.as_str()), (0, "OK\n", ""));
    // --cert without --key is refused before dialing.
    let (code, _, err) = keelctl(&[&endpoint, &cacert, &cert, "get", "a"], &[]).await;
    assert_ne!(code, 0);
    assert!(err.contains("both a certificate and a key"), "{err}");
    daemon.shutdown().await;
}

#[tokio::test]
async fn plaintext_and_garbage_on_a_tls_port_fail_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "pki");
    let (daemon, port) = tls_member(dir.path(), &pki, false).await;
    let address = format!("127.0.0.1:{port}");
    // Keel's plaintext protocol on the TLS port.
    let mut plain = ClientOptions::new(vec![format!("http://{address}")]);
    plain.dial_timeout = Duration::from_secs(1);
    plain.command_timeout = Duration::from_secs(2);
    let plain = Client::new(plain).unwrap();
    assert!(plain.request(get("x")).await.is_err());
    // Garbage, an HTTP request, and a client that closes mid-handshake.
    for bytes in [
        &(0..200u32)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<u8>>()[..],
        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
        &[0x16, 0x03, 0x01, 0x00, 0xff, 0x01],
    ] {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        let _ = stream.write_all(bytes).await;
        let _ = stream.shutdown().await;
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
        assert!(
            !String::from_utf8_lossy(&answer).contains("true"),
            "nothing is served outside TLS"
        );
    }
    // A TLS client still works.
    let mut secure = ClientOptions::new(vec![format!("https://{address}")]);
    secure.tls = ClientTlsFiles {
        ca_file: Some(pki.ca_file()),
        ..ClientTlsFiles::default()
    };
    let secure = Client::new(secure).unwrap();
    secure.request(put("still", "serving")).await.unwrap();
    match secure.request(get("still")).await.unwrap() {
        Response::Range(r) => assert_eq!(r.kvs[0].value, Bytes::from("serving")),
        other => panic!("{other:?}"),
    }
    daemon.shutdown().await;
}

#[tokio::test]
async fn three_members_talk_tls_to_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "pki");
    let ports = free_ports(6);
    let cluster: Vec<(String, String)> = (0..3)
        .map(|i| (format!("m{i}"), https(ports[3 + i]).to_string()))
        .collect();
    let mut daemons = Vec::new();
    for i in 0..3 {
        let name = format!("m{i}");
        let mut opts: DaemonOptions = options(
            dir.path(),
            &name,
            ports[i],
            ports[3 + i],
            &cluster,
            ClusterState::New,
        );
        opts.listen_peer_urls = vec![https(ports[3 + i])];
        opts.initial_advertise_peer_urls = vec![https(ports[3 + i]).to_string()];
        opts.peer_tls = pki.tls_files(&name, true);
        daemons.push(Daemon::start(opts, Arc::new(OsDisk::new())).await.unwrap());
    }
    for d in &daemons {
        assert!(
            d.wait_ready(Duration::from_secs(30)).await,
            "member not ready"
        );
    }
    let endpoints: Vec<String> = (0..3).map(|i| format!("127.0.0.1:{}", ports[i])).collect();
    let client = Client::new(ClientOptions::new(endpoints.clone())).unwrap();
    for i in 0..20 {
        client
            .request(put(&format!("k{i}"), &i.to_string()))
            .await
            .unwrap();
    }
    // Every member has the writes: raft traffic went over TLS.
    for endpoint in &endpoints {
        let direct = Client::new(ClientOptions::new(vec![endpoint.clone()])).unwrap();
        let mut seen = None;
        for _ in 0..100 {
            if let Ok(Response::Range(r)) = direct.request(get("k19")).await {
                if !r.kvs.is_empty() {
                    seen = Some(r.kvs[0].value.clone());
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(seen, Some(Bytes::from("19")), "{endpoint}");
    }
    // A plaintext peer connection to a TLS peer port goes nowhere, and the
    // cluster keeps going.
    let mut stream = tokio::net::TcpStream::connect(format!("127.0.0.1:{}", ports[3]))
        .await
        .unwrap();
    let _ = stream
        .write_all(&keel_engine::wire::handshake::encode_hello(
            keel_engine::wire::handshake::Role::Peer,
        ))
        .await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    assert!(
        !answer.starts_with(b"KEEL"),
        "no plaintext handshake answer"
    );
    client.request(put("after", "probe")).await.unwrap();
    // A fourth member joins: it asks a peer for the cluster over TLS.
    let more = free_ports(2);
    let peer_url = https(more[1]).to_string();
    let add = Request::MemberAdd(MemberAddRequest {
        peer_urls: vec![peer_url.clone()],
        is_learner: false,
        force: false,
    });
    let added = match client.request(add).await.unwrap() {
        Response::Member(m) => m.member.unwrap(),
        other => panic!("{other:?}"),
    };
    let mut joined = cluster.clone();
    joined.push(("m3".into(), peer_url.clone()));
    let mut opts = options(
        dir.path(),
        "m3",
        more[0],
        more[1],
        &joined,
        ClusterState::Existing,
    );
    opts.listen_peer_urls = vec![https(more[1])];
    opts.initial_advertise_peer_urls = vec![peer_url];
    opts.peer_tls = pki.tls_files("m3", true);
    let fourth = Daemon::start(opts, Arc::new(OsDisk::new())).await.unwrap();
    assert_eq!(fourth.identity.member_id, added.id);
    assert!(fourth.wait_ready(Duration::from_secs(30)).await);
    fourth.shutdown().await;
    for d in daemons {
        d.shutdown().await;
    }
}

#[tokio::test]
async fn missing_or_bad_tls_files_stop_the_start_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "pki");
    let start = |tls: TlsFiles, peer: bool| {
        let dir = dir.path().to_path_buf();
        async move {
            let ports = free_ports(2);
            let cluster = vec![("solo".to_string(), format!("http://127.0.0.1:{}", ports[1]))];
            let mut opts = options(
                &dir,
                "solo",
                ports[0],
                ports[1],
                &cluster,
                ClusterState::New,
            );
            if peer {
                opts.listen_peer_urls = vec![https(ports[1])];
                opts.peer_tls = tls;
            } else {
                opts.listen_client_urls = vec![https(ports[0])];
                opts.client_tls = tls;
            }
            Daemon::start(opts, Arc::new(OsDisk::new())).await
        }
    };
    let good = pki.tls_files("server", false);
    let missing = dir.path().join("nope.pem");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").unwrap();
    let (other_cert, _) = pki.issue("other");
    let cases = [
        (
            TlsFiles {
                cert_file: Some(missing.clone()),
                ..good.clone()
            },
            "nope.pem",
        ),
        (
            TlsFiles {
                key_file: Some(garbage.clone()),
                ..good.clone()
            },
            "garbage.pem",
        ),
        (
            TlsFiles {
                cert_file: Some(garbage.clone()),
                ..good.clone()
            },
            "no certificate",
        ),
        (
            TlsFiles {
                cert_file: Some(other_cert),
                ..good.clone()
            },
            "does not match",
        ),
        (
            TlsFiles {
                trusted_ca_file: Some(missing.clone()),
                client_cert_auth: true,
                ..good.clone()
            },
            "nope.pem",
        ),
    ];
    for peer in [false, true] {
        for (files, expected) in cases.iter().cloned() {
            match start(files, peer).await {
                Err(err @ DaemonError::Tls { .. }) => {
                    let text = err.to_string();
                    assert!(text.contains(expected), "{text}");
                    assert!(
                        text.starts_with(if peer { "peer TLS" } else { "client TLS" }),
                        "{text}"
                    );
                }
                Err(other) => panic!("{other}"),
                Ok(_) => panic!("started with {expected}"),
            }
        }
    }
    // The client library reports an unreadable CA before dialing.
    let mut opts = ClientOptions::new(vec!["https://127.0.0.1:1".into()]);
    opts.tls.ca_file = Some(missing);
    assert!(matches!(Client::new(opts), Err(ClientError::Tls(text)) if text.contains("nope.pem")));
}

#[tokio::test]
async fn auto_tls_serves_clients_with_a_certificate_made_in_the_data_dir() {
    // etcd's --auto-tls: https client URLs, no certificate files.
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(2);
    let cluster = vec![("solo".to_string(), format!("http://127.0.0.1:{}", ports[1]))];
    let mut opts = options(
        dir.path(),
        "solo",
        ports[0],
        ports[1],
        &cluster,
        ClusterState::New,
    );
    opts.listen_client_urls = vec![https(ports[0])];
    opts.advertise_client_urls = vec![https(ports[0]).to_string()];
    opts.client_auto_tls = true;
    let data_dir = opts.data_dir.clone();
    let daemon = Daemon::start(opts.clone(), Arc::new(OsDisk::new()))
        .await
        .unwrap();
    assert!(daemon.wait_ready(Duration::from_secs(20)).await);
    let fixtures = data_dir.join("fixtures").join("client");
    let made = std::fs::read(fixtures.join("cert.pem")).unwrap();
    assert!(fixtures.join("key.pem").exists());
    let endpoint = format!("--endpoints=https://127.0.0.1:{}", ports[0]);
    let (code, out, err) = keelctl(
        &[&endpoint, "--insecure-skip-tls-verify", "put", "foo", "bar"],
        &[],
    )
    .await;
    assert_eq!((code, out.as_str(), err.as_str()), (0, "OK\n", ""));
    // It is TLS: plaintext gets nothing, and the certificate is the one in
    // the data dir, trusted as its own CA.
    let mut plain = ClientOptions::new(vec![format!("http://127.0.0.1:{}", ports[0])]);
    plain.dial_timeout = Duration::from_secs(1);
    plain.command_timeout = Duration::from_secs(2);
    assert!(
        Client::new(plain)
            .unwrap()
            .request(get("foo"))
            .await
            .is_err()
    );
    let cacert = format!("--cacert={}", fixtures.join("cert.pem").display());
    let (code, out, _) = keelctl(&[&endpoint, &cacert, "get", "foo"], &[]).await;
    assert_eq!((code, out.as_str()), (0, "foo\nbar\n"));
    // A restart keeps the certificate.
    daemon.shutdown().await;
    let daemon = Daemon::start(opts, Arc::new(OsDisk::new())).await.unwrap();
    assert!(daemon.wait_ready(Duration::from_secs(20)).await);
    assert_eq!(std::fs::read(fixtures.join("cert.pem")).unwrap(), made);
    let (code, out, _) = keelctl(&[&endpoint, &cacert, "get", "foo"], &[]).await;
    assert_eq!((code, out.as_str()), (0, "foo\nbar\n"));
    daemon.shutdown().await;
}

#[tokio::test]
async fn three_members_with_peer_auto_tls_form_a_cluster() {
    // etcd's --peer-auto-tls: https peer URLs, each member with its own
    // generated certificate, none verifying the others'.
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(6);
    let cluster: Vec<(String, String)> = (0..3)
        .map(|i| (format!("m{i}"), https(ports[3 + i]).to_string()))
        .collect();
    let mut daemons = Vec::new();
    for i in 0..3 {
        let mut opts = options(
            dir.path(),
            &format!("m{i}"),
            ports[i],
            ports[3 + i],
            &cluster,
            ClusterState::New,
        );
        opts.listen_peer_urls = vec![https(ports[3 + i])];
        opts.initial_advertise_peer_urls = vec![https(ports[3 + i]).to_string()];
        opts.peer_auto_tls = true;
        daemons.push(Daemon::start(opts, Arc::new(OsDisk::new())).await.unwrap());
    }
    for d in &daemons {
        assert!(
            d.wait_ready(Duration::from_secs(30)).await,
            "member not ready"
        );
    }
    let certificates: Vec<Vec<u8>> = (0..3)
        .map(|i| std::fs::read(dir.path().join(format!("m{i}/fixtures/peer/cert.pem"))).unwrap())
        .collect();
    assert!(certificates[0] != certificates[1] && certificates[1] != certificates[2]);
    let endpoints: Vec<String> = (0..3).map(|i| format!("127.0.0.1:{}", ports[i])).collect();
    let client = Client::new(ClientOptions::new(endpoints.clone())).unwrap();
    client.request(put("k", "v")).await.unwrap();
    for endpoint in &endpoints {
        let direct = Client::new(ClientOptions::new(vec![endpoint.clone()])).unwrap();
        let mut seen = None;
        for _ in 0..100 {
            if let Ok(Response::Range(r)) = direct.request(get("k")).await {
                if !r.kvs.is_empty() {
                    seen = Some(r.kvs[0].value.clone());
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(seen, Some(Bytes::from("v")), "{endpoint}");
    }
    // The peer port speaks TLS only.
    let mut stream = tokio::net::TcpStream::connect(format!("127.0.0.1:{}", ports[3]))
        .await
        .unwrap();
    let _ = stream
        .write_all(&keel_engine::wire::handshake::encode_hello(
            keel_engine::wire::handshake::Role::Peer,
        ))
        .await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    assert!(
        !answer.starts_with(b"KEEL"),
        "no plaintext handshake answer"
    );
    for d in daemons {
        d.shutdown().await;
    }
}

#[tokio::test]
async fn a_client_certificate_in_the_crl_is_refused() {
    // etcd's --client-crl-file with --client-cert-auth.
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "pki");
    let (good_cert, good_key) = pki.issue_with_serial("client", 1001);
    let (revoked_cert, revoked_key) = pki.issue_with_serial("revoked", 1002);
    let revoked_serial = rcgen::SerialNumber::from(1002u64);
    let now = rcgen::date_time_ymd(2020, 1, 1);
    let crl = rcgen::CertificateRevocationListParams {
        this_update: now,
        next_update: rcgen::date_time_ymd(2100, 1, 1),
        crl_number: rcgen::SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: vec![rcgen::RevokedCertParams {
            serial_number: revoked_serial,
            revocation_time: now,
            reason_code: Some(rcgen::RevocationReason::KeyCompromise),
            invalidity_date: None,
        }],
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    }
    .signed_by(&pki.ca, &pki.ca_key)
    .unwrap();
    // PEM, or DER as etcd's own e2e fixture (revoke.crl) is: Go reads both.
    let pem_file = pki.dir.join("revoked.pem");
    std::fs::write(&pem_file, crl.pem().unwrap()).unwrap();
    let der_file = pki.dir.join("revoked.crl");
    std::fs::write(&der_file, crl.der()).unwrap();
    for crl_file in [pem_file, der_file] {
        let ports = free_ports(2);
        let cluster = vec![("solo".to_string(), format!("http://127.0.0.1:{}", ports[1]))];
        let name = format!("solo-{}", crl_file.extension().unwrap().to_string_lossy());
        let mut opts = options(
            dir.path(),
            &name,
            ports[0],
            ports[1],
            &cluster,
            ClusterState::New,
        );
        opts.name = "solo".into();
        opts.listen_client_urls = vec![https(ports[0])];
        opts.advertise_client_urls = vec![https(ports[0]).to_string()];
        opts.client_tls = TlsFiles {
            crl_file: Some(crl_file),
            ..pki.tls_files("server", true)
        };
        let daemon = Daemon::start(opts, Arc::new(OsDisk::new())).await.unwrap();
        assert!(daemon.wait_ready(Duration::from_secs(20)).await);
        let endpoint = format!("--endpoints=https://127.0.0.1:{}", ports[0]);
        let cacert = format!("--cacert={}", pki.ca_file().display());
        let with = |cert: &Path, key: &Path| {
            (
                format!("--cert={}", cert.display()),
                format!("--key={}", key.display()),
            )
        };
        let (cert, key) = with(&good_cert, &good_key);
        let (code, out, err) =
            keelctl(&[&endpoint, &cacert, &cert, &key, "put", "a", "1"], &[]).await;
        assert_eq!((code, out.as_str(), err.as_str()), (0, "OK\n", ""));
        let (cert, key) = with(&revoked_cert, &revoked_key);
        let (code, out, err) = keelctl(
            &[
                &endpoint,
                &cacert,
                &cert,
                &key,
                "--dial-timeout=1s",
                "--command-timeout=2s",
                "get",
                "a",
            ],
            &[],
        )
        .await;
        assert_ne!(code, 0, "a revoked certificate is refused: {out}{err}");
        daemon.shutdown().await;
    }
}

/// One HTTP/2 request on `send`; (status, body, trailers).
async fn h2_request(
    send: &mut h2::client::SendRequest<Bytes>,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> (u16, String, Option<http::HeaderMap>) {
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("https://127.0.0.1{path}"));
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let mut ready = send.clone().ready().await.unwrap();
    let (response, mut stream) = ready
        .send_request(request.body(()).unwrap(), body.is_empty())
        .unwrap();
    if !body.is_empty() {
        stream
            .send_data(Bytes::from(body.to_string()), true)
            .unwrap();
    }
    let response = response.await.unwrap();
    let status = response.status().as_u16();
    let mut received = response.into_body();
    let mut data = Vec::new();
    while let Some(chunk) = received.data().await {
        let chunk = chunk.unwrap();
        let _ = received.flow_control().release_capacity(chunk.len());
        data.extend_from_slice(&chunk);
    }
    let trailers = received.trailers().await.unwrap();
    (
        status,
        String::from_utf8_lossy(&data).into_owned(),
        trailers,
    )
}

/// On a TLS port a client that picks HTTP/2 by ALPN (curl does) reaches
/// etcd's HTTP handlers — health, version, the JSON gateway — and gRPC on
/// the same connection, as etcd serves both there.
#[tokio::test]
async fn http_handlers_answer_over_http2_on_a_tls_port() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "pki");
    let (daemon, port) = tls_member(dir.path(), &pki, false).await;
    let config = keel_server::tls::client_config(Some(&pki.ca_file()), None, None, false).unwrap();
    let mut config = (*config).clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let tls = keel_server::tls::connect(tcp, &Arc::new(config), "127.0.0.1")
        .await
        .unwrap();
    let (mut send, connection) = h2::client::handshake(tls).await.unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });

    let (status, body, _) = h2_request(&mut send, "GET", "/health", None, "").await;
    assert_eq!((status, body.as_str()), (200, r#"{"health":"true"}"#));
    let (status, body, _) = h2_request(&mut send, "GET", "/version", None, "").await;
    assert_eq!(status, 200);
    assert!(body.starts_with(r#"{"etcdserver":"3.4.23""#), "{body}");
    let put = r#"{"key":"aDI=","value":"b3Zlcg=="}"#;
    let (status, body, _) = h2_request(&mut send, "POST", "/v3/kv/put", None, put).await;
    assert_eq!(status, 200, "{body}");
    let (status, body, _) =
        h2_request(&mut send, "POST", "/v3/kv/range", None, r#"{"key":"aDI="}"#).await;
    assert_eq!(status, 200);
    assert!(body.contains(r#""value":"b3Zlcg==""#), "{body}");
    // The gateway's errors and 404s are HTTP answers too.
    let (status, body, _) = h2_request(&mut send, "POST", "/v3/kv/put", None, "{").await;
    assert_eq!(status, 400, "{body}");
    let (status, _, _) = h2_request(&mut send, "GET", "/nowhere", None, "").await;
    assert_eq!(status, 404);
    // A gRPC call on the same connection: a Range of the key the gateway
    // wrote (field 1, "h2"), answered with grpc-status 0.
    let message = [0u8, 0, 0, 0, 4, 0x0a, 2, b'h', b'2'];
    let body = String::from_utf8_lossy(&message).into_owned();
    let (status, answer, trailers) = h2_request(
        &mut send,
        "POST",
        "/etcdserverpb.KV/Range",
        Some("application/grpc"),
        &body,
    )
    .await;
    assert_eq!(status, 200);
    assert!(answer.contains("over"), "{answer:?}");
    let trailers = trailers.expect("gRPC trailers");
    assert_eq!(trailers.get("grpc-status").unwrap(), "0");
    daemon.shutdown().await;
}

/// A raw rustls client trusting `ca`, presenting `cert` (a cert and key
/// file) if given, offering only `versions` and, if given, only `suites`.
fn raw_client(
    ca: &Path,
    cert: Option<&(PathBuf, PathBuf)>,
    versions: &[&'static rustls::SupportedProtocolVersion],
    suites: Option<&[rustls::CipherSuite]>,
) -> Arc<rustls::ClientConfig> {
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(suites) = suites {
        provider
            .cipher_suites
            .retain(|s| suites.contains(&s.suite()));
    }
    let mut roots = rustls::RootCertStore::empty();
    for c in keel_server::tls::load_certificates(ca).unwrap() {
        roots.add(c).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots);
    Arc::new(match cert {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                keel_server::tls::load_certificates(cert).unwrap(),
                keel_server::tls::load_private_key(key).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    })
}

/// A TLS handshake with 127.0.0.1:`port` under `config`, then a read: a
/// server that refuses the client's certificate after a TLS 1.3 handshake
/// (the client's side of it completes first) closes with an alert, one
/// that accepts it waits for a request. Ok if the connection stands.
async fn handshake(port: u16, config: Arc<rustls::ClientConfig>) -> Result<(), String> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let mut byte = [0u8; 1];
    match tokio::time::timeout(Duration::from_millis(500), tls.read(&mut byte)).await {
        Err(_) => Ok(()),
        Ok(Ok(0)) => Err("closed".into()),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("after the handshake: {e}")),
    }
}

const TLS12: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];
const TLS13: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_cert_allowed_cn_refuses_peers_with_another_common_name() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "pki");
    let ports = free_ports(2);
    let cluster = vec![("solo".to_string(), https(ports[1]).to_string())];
    let mut opts = options(
        dir.path(),
        "solo",
        ports[0],
        ports[1],
        &cluster,
        ClusterState::New,
    );
    opts.listen_peer_urls = vec![https(ports[1])];
    opts.initial_advertise_peer_urls = vec![https(ports[1]).to_string()];
    let (cert, key) = pki.issue_names("solo", "etcd-peer", &["127.0.0.1"]);
    opts.peer_tls = TlsFiles {
        cert_file: Some(cert),
        key_file: Some(key),
        trusted_ca_file: Some(pki.ca_file()),
        client_cert_auth: true,
        cert_check: Some(CertCheck::CommonName("etcd-peer".into())),
        ..TlsFiles::default()
    };
    let peer_tls = opts.peer_tls.clone();
    let daemon = Daemon::start(opts, Arc::new(OsDisk::new())).await.unwrap();
    assert!(daemon.wait_ready(Duration::from_secs(20)).await);
    let right = pki.issue_names("right", "etcd-peer", &["127.0.0.1"]);
    // The CN is compared exactly, and SANs do not stand in for it.
    let wrong = pki.issue_names("wrong", "etcd-peer-2", &["etcd-peer", "127.0.0.1"]);
    for versions in [TLS12, TLS13] {
        handshake(
            ports[1],
            raw_client(&pki.ca_file(), Some(&right), versions, None),
        )
        .await
        .unwrap();
        let refused = handshake(
            ports[1],
            raw_client(&pki.ca_file(), Some(&wrong), versions, None),
        )
        .await;
        assert!(refused.is_err(), "{versions:?}: a wrong CN is refused");
        let refused = handshake(ports[1], raw_client(&pki.ca_file(), None, versions, None)).await;
        assert!(refused.is_err(), "{versions:?}: no certificate is refused");
    }
    // Dialing, the member checks the peer it dials the same way (etcd's
    // peer transport shares the listener's VerifyPeerCertificate).
    let dialer = keel_server::tls::Dialer::with_tls(
        keel_server::tls::peer_client_config(&peer_tls, false).unwrap(),
    );
    let address = format!("127.0.0.1:{}", ports[1]);
    dialer.dial(&address, "127.0.0.1", true).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other = listener.local_addr().unwrap().to_string();
    let server = keel_server::tls::server_config(&TlsFiles {
        cert_file: Some(wrong.0.clone()),
        key_file: Some(wrong.1.clone()),
        ..TlsFiles::default()
    })
    .unwrap();
    let serve = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let _ = tokio_rustls::TlsAcceptor::from(server).accept(tcp).await;
    });
    let error = dialer.dial(&other, "127.0.0.1", true).await.err();
    assert!(error.is_some(), "a peer whose certificate has another CN");
    let _ = serve.await;
    daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_cert_allowed_hostname_refuses_certificates_not_valid_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "pki");
    let ports = free_ports(2);
    let cluster = vec![("solo".to_string(), format!("http://127.0.0.1:{}", ports[1]))];
    let mut opts = options(
        dir.path(),
        "solo",
        ports[0],
        ports[1],
        &cluster,
        ClusterState::New,
    );
    opts.listen_client_urls = vec![https(ports[0])];
    opts.advertise_client_urls = vec![https(ports[0]).to_string()];
    opts.client_tls = TlsFiles {
        cert_check: Some(CertCheck::Hostname("client.example.com".into())),
        ..pki.tls_files("server", true)
    };
    let daemon = Daemon::start(opts, Arc::new(OsDisk::new())).await.unwrap();
    assert!(daemon.wait_ready(Duration::from_secs(20)).await);
    let valid = pki.issue_names("valid", "anything", &["*.example.com"]);
    // The Common Name is not a hostname (Go 1.17 and later ignore it).
    let by_cn = pki.issue_names("by-cn", "client.example.com", &["localhost"]);
    let other = pki.issue_names("other", "client", &["client.example.org", "127.0.0.1"]);
    for versions in [TLS12, TLS13] {
        handshake(
            ports[0],
            raw_client(&pki.ca_file(), Some(&valid), versions, None),
        )
        .await
        .unwrap();
        for refused in [&by_cn, &other] {
            let result = handshake(
                ports[0],
                raw_client(&pki.ca_file(), Some(refused), versions, None),
            )
            .await;
            assert!(result.is_err(), "{versions:?} {refused:?}");
        }
    }
    daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cipher_suites_restrict_tls12_and_leave_tls13_alone() {
    use rustls::CipherSuite;
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "pki");
    let ports = free_ports(2);
    let cluster = vec![("solo".to_string(), format!("http://127.0.0.1:{}", ports[1]))];
    let mut opts = options(
        dir.path(),
        "solo",
        ports[0],
        ports[1],
        &cluster,
        ClusterState::New,
    );
    opts.listen_client_urls = vec![https(ports[0])];
    opts.advertise_client_urls = vec![https(ports[0]).to_string()];
    // The test certificates have ECDSA keys.
    opts.client_tls = TlsFiles {
        cipher_suites: Some(vec![CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]),
        ..pki.tls_files("server", false)
    };
    let daemon = Daemon::start(opts, Arc::new(OsDisk::new())).await.unwrap();
    assert!(daemon.wait_ready(Duration::from_secs(20)).await);
    let ca = pki.ca_file();
    let listed = [CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256];
    handshake(ports[0], raw_client(&ca, None, TLS12, Some(&listed)))
        .await
        .unwrap();
    for other in [
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ] {
        let result = handshake(ports[0], raw_client(&ca, None, TLS12, Some(&[other]))).await;
        let error = result.expect_err("a TLS 1.2 suite not listed");
        assert!(error.contains("handshake"), "{error}");
    }
    // TLS 1.3 is not restricted (Go does not let etcd restrict it).
    handshake(
        ports[0],
        raw_client(
            &ca,
            None,
            TLS13,
            Some(&[CipherSuite::TLS13_CHACHA20_POLY1305_SHA256]),
        ),
    )
    .await
    .unwrap();
    daemon.shutdown().await;
}
