use super::*;
use crate::tls::CipherSuite;
use proptest::prelude::*;

fn args(list: &[&str]) -> Vec<String> {
    std::iter::once("keel")
        .chain(list.iter().copied())
        .map(String::from)
        .collect()
}

fn env(list: &[(&str, &str)]) -> BTreeMap<String, String> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn no_file(_: &Path) -> std::io::Result<String> {
    Err(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        "no such file",
    ))
}

fn parse(a: &[&str], e: &[(&str, &str)]) -> Result<(ServerConfig, Vec<String>), ConfigError> {
    parse_server_config(&args(a), &env(e), &no_file)
}

#[test]
fn no_flags_at_all_is_a_single_member_on_localhost() {
    let (config, warnings) = parse(&[], &[]).unwrap();
    let d = &config.daemon;
    assert!(warnings.is_empty());
    assert_eq!(d.name, "default");
    assert_eq!(d.data_dir, PathBuf::from("default.keel"));
    assert_eq!(d.listen_client_urls[0].socket_address(), "127.0.0.1:2379");
    assert_eq!(d.listen_peer_urls[0].socket_address(), "127.0.0.1:2380");
    assert_eq!(
        d.initial_cluster,
        vec![("default".to_string(), "http://localhost:2380".to_string())]
    );
    assert_eq!(d.initial_cluster_state, ClusterState::New);
    assert_eq!(d.initial_cluster_token, "keel-cluster");
    assert_eq!(d.node.tick_interval, Duration::from_millis(100));
    assert_eq!(d.node.election_ticks, 10);
    assert_eq!(d.node.snapshot_count, 100_000);
    assert_eq!(d.node.max_request_bytes, 1_572_864);
    assert_eq!(d.node.max_txn_ops, 128);
    assert_eq!(d.node.quota_backend_bytes, 2 << 30);
    assert!(d.node.strict_reconfig_check, "etcd 3.4's default");
    assert!(!d.node.force_new_cluster);
    assert_eq!(
        d.client_port.grpc.max_concurrent_streams, 4096,
        "Keel's bound"
    );
    assert!(!d.client_auto_tls && !d.peer_auto_tls && !d.initial_corrupt_check);
    assert_eq!(config.log_level, "info");
    assert_eq!(config.log_output, LogOutput::Stderr);
}

#[test]
fn flags_keel_and_etcd_variables_all_set_settings() {
    let (c, _) = parse(
        &[
            "--name",
            "n1",
            "--initial-cluster",
            "n1=http://10.0.0.1:2380",
            "--initial-advertise-peer-urls=http://10.0.0.1:2380",
        ],
        &[],
    )
    .unwrap();
    assert_eq!(c.daemon.name, "n1");
    assert_eq!(c.daemon.data_dir, PathBuf::from("n1.keel"));
    let (c, _) = parse(
        &[],
        &[
            ("KEEL_NAME", "n2"),
            ("KEEL_INITIAL_CLUSTER", "n2=http://localhost:2380"),
            ("ETCD_SNAPSHOT_COUNT", "7"),
        ],
    )
    .unwrap();
    assert_eq!(
        (c.daemon.name.as_str(), c.daemon.node.snapshot_count),
        ("n2", 7)
    );
}

#[test]
fn a_setting_given_twice_is_an_error_naming_both() {
    let err = parse(&["--name", "a"], &[("KEEL_NAME", "b")]).unwrap_err();
    assert_eq!(
        err,
        ConfigError::Conflict {
            variable: "KEEL_NAME".into(),
            other: "--name".into()
        }
    );
    assert!(err.to_string().contains("\"KEEL_NAME\" is shadowed"));
    let err = parse(&[], &[("KEEL_DATA_DIR", "x"), ("ETCD_DATA_DIR", "y")]).unwrap_err();
    assert!(matches!(err, ConfigError::Conflict { .. }), "{err}");
}

#[test]
fn unknown_variables_are_warnings() {
    let (_, warnings) = parse(
        &[],
        &[
            ("KEEL_FOO", "1"),
            ("KEEL_LOG", "debug"),
            ("ETCD_DISCOVERY_SRV", "example.com"),
            ("KEELCTL_ENDPOINTS", "x"),
            ("ETCDCTL_API", "3"),
        ],
    )
    .unwrap();
    assert_eq!(
        warnings,
        vec![
            "unrecognized environment variable ETCD_DISCOVERY_SRV=example.com".to_string(),
            "unrecognized environment variable KEEL_FOO=1".to_string(),
        ]
    );
}

#[test]
fn bad_values_are_refused_with_etcds_messages() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--snapshot-count", "abc"],
            "invalid value \"abc\" for flag --snapshot-count",
        ),
        (
            &["--listen-client-urls", "localhost:2379"],
            "the scheme must be http or https",
        ),
        (&["--initial-cluster", "a"], "is not name=url"),
        (
            &["--listen-client-urls", "https://127.0.0.1:2379"],
            "TLS key/cert (--cert-file, --key-file) must be provided for client url \
             https://127.0.0.1:2379 with HTTPS scheme",
        ),
        (
            &["--listen-peer-urls", "https://127.0.0.1:2380"],
            "TLS key/cert (--peer-cert-file, --peer-key-file) must be provided for peer url",
        ),
        (
            &["--cert-file", "c.pem"],
            "--cert-file and --key-file must be given together",
        ),
        (
            &["--peer-key-file", "k.pem"],
            "--peer-cert-file and --peer-key-file must be given together",
        ),
        (
            &["--client-cert-auth"],
            "--client-cert-auth needs --trusted-ca-file",
        ),
        (
            &["--peer-client-cert-auth=yes"],
            "invalid value \"yes\" for flag --peer-client-cert-auth",
        ),
        (
            &["--initial-cluster", "default=https://127.0.0.1:2380"],
            "dialing https:// peers needs --peer-trusted-ca-file",
        ),
        (
            &["--advertise-client-urls", "https://127.0.0.1:2379"],
            "no --listen-client-urls is https://",
        ),
        (
            &["--initial-cluster-state", "old"],
            "valid values are \"new\", \"existing\"",
        ),
        (
            &["--heartbeat-interval", "300"],
            "--election-timeout[1000ms] should be at least as 5 times as --heartbeat-interval[300ms]",
        ),
        (
            &["--name", "x", "--initial-cluster", "y=http://h:1"],
            "couldn't find local name \"x\" in the initial cluster configuration",
        ),
        (&["--log-level", "loud"], "valid values are debug"),
        (&["--max-txn-ops", "0"], "must be positive"),
        (&["--auth-token", "oauth"], "auth: invalid auth options"),
        (&["--auth-token-ttl", "soon"], "--auth-token-ttl"),
    ];
    for (a, expected) in cases {
        let err = parse(a, &[]).unwrap_err().to_string();
        assert!(err.contains(expected), "{a:?}: {err}");
    }
    assert!(matches!(
        parse(&["--bogus"], &[]),
        Err(ConfigError::Usage(_))
    ));
    assert!(
        matches!(parse(&["--help"], &[]), Err(ConfigError::Info(text)) if text.contains("--initial-cluster"))
    );
}

#[test]
fn tls_flags_follow_etcds_rules() {
    // https and http listeners mixed; the files are read only at start.
    let (c, warnings) = parse(
        &[
            "--listen-client-urls",
            "https://127.0.0.1:2379,http://127.0.0.1:22379",
            "--advertise-client-urls",
            "https://127.0.0.1:2379",
            "--cert-file",
            "server.pem",
            "--key-file",
            "server-key.pem",
            "--client-cert-auth",
            "--trusted-ca-file",
            "ca.pem",
            "--listen-peer-urls",
            "https://127.0.0.1:2380",
            "--initial-advertise-peer-urls",
            "https://127.0.0.1:2380",
            "--initial-cluster",
            "default=https://127.0.0.1:2380",
        ],
        &[
            ("ETCD_PEER_CERT_FILE", "peer.pem"),
            ("KEEL_PEER_KEY_FILE", "peer-key.pem"),
            ("KEEL_PEER_TRUSTED_CA_FILE", "ca.pem"),
            ("ETCD_PEER_CLIENT_CERT_AUTH", "true"),
        ],
    )
    .unwrap();
    let client = &c.daemon.client_tls;
    assert_eq!(client.cert_file, Some(PathBuf::from("server.pem")));
    assert_eq!(client.key_file, Some(PathBuf::from("server-key.pem")));
    assert_eq!(client.trusted_ca_file, Some(PathBuf::from("ca.pem")));
    assert!(client.client_cert_auth);
    let peer = &c.daemon.peer_tls;
    assert_eq!(peer.cert_file, Some(PathBuf::from("peer.pem")));
    assert!(peer.client_cert_auth);
    assert_eq!(
        c.daemon
            .listen_client_urls
            .iter()
            .map(|u| u.tls)
            .collect::<Vec<_>>(),
        vec![true, false]
    );
    assert!(
        warnings.iter().any(
            |w| w.contains("ignoring key and cert files for client url http://127.0.0.1:22379")
        ),
        "{warnings:?}"
    );
    // `--client-cert-auth=false` is a boolean's explicit value.
    let (c, _) = parse(&["--client-cert-auth=false"], &[]).unwrap();
    assert!(!c.daemon.client_tls.client_cert_auth);
    // etcd's config file nests the TLS settings.
    let yaml = "listen-client-urls: https://127.0.0.1:2379\nclient-transport-security:\n  cert-file: /etc/keel/server.pem\n  key-file: /etc/keel/server-key.pem\n  client-cert-auth: true\n  trusted-ca-file: /etc/keel/ca.pem\n  crl-file: /etc/keel/crl.pem\npeer-transport-security:\n  trusted-ca-file: /etc/keel/ca.pem\n";
    let read = |_: &Path| Ok(yaml.to_string());
    let (c, warnings) =
        parse_server_config(&args(&["--config-file", "f.yml"]), &env(&[]), &read).unwrap();
    assert_eq!(
        c.daemon.client_tls.cert_file,
        Some(PathBuf::from("/etc/keel/server.pem"))
    );
    assert!(c.daemon.client_tls.client_cert_auth);
    assert_eq!(
        c.daemon.peer_tls.trusted_ca_file,
        Some(PathBuf::from("/etc/keel/ca.pem"))
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("client-transport-security.crl-file"))
    );
}

#[test]
fn a_config_file_replaces_flags_and_variables() {
    let yaml = "name: 'infra1'\ndata-dir: /var/lib/keel\ninitial-cluster: infra1=http://10.0.0.1:2380\ninitial-advertise-peer-urls: http://10.0.0.1:2380\nsnapshot-count: 5000\nunknown-thing: 3\n";
    let read = |path: &Path| {
        assert_eq!(path, Path::new("/etc/keel.yml"));
        Ok(yaml.to_string())
    };
    let (c, warnings) = parse_server_config(
        &args(&["--config-file", "/etc/keel.yml", "--name", "ignored"]),
        &env(&[]),
        &read,
    )
    .unwrap();
    assert_eq!(c.daemon.name, "infra1");
    assert_eq!(c.daemon.data_dir, PathBuf::from("/var/lib/keel"));
    assert_eq!(c.daemon.node.snapshot_count, 5000);
    assert!(warnings.iter().any(|w| w.contains("unknown-thing")));
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("other flags and environment variables are ignored"))
    );
    let err =
        parse_server_config(&args(&["--config-file", "/nope"]), &env(&[]), &no_file).unwrap_err();
    assert!(matches!(err, ConfigError::File { .. }));
    let bad = |_: &Path| Ok("name: [1, 2]".to_string());
    assert!(parse_server_config(&args(&["--config-file", "x"]), &env(&[]), &bad).is_err());
}

proptest! {
    #[test]
    fn arbitrary_input_never_panics(
        a in prop::collection::vec("[-a-z=:/0-9.,]{0,24}", 0..6),
        e in prop::collection::vec(("(KEEL|ETCD)_[A-Z_]{1,12}", "[a-z0-9:/.,=]{0,16}"), 0..4),
        yaml in ".{0,64}",
    ) {
        let mut all = vec!["keel".to_string()];
        all.extend(a);
        let env: BTreeMap<String, String> = e.into_iter().collect();
        let _ = parse_server_config(&all, &env, &no_file);
        let read = |_: &Path| Ok(yaml.clone());
        let _ = parse_server_config(&["keel".into(), "--config-file".into(), "f".into()], &BTreeMap::new(), &read);
    }
}

#[test]
fn the_sample_systemd_environment_file_is_accepted() {
    let file = include_str!("../../contrib/systemd/keel.env");
    let env: BTreeMap<String, String> = file
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains('='))
        .filter_map(|l| {
            l.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    assert!(env.len() >= 8);
    let (config, warnings) = parse_server_config(&args(&[]), &env, &no_file).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(config.daemon.name, "infra1");
    assert_eq!(config.daemon.initial_cluster.len(), 3);
    assert_eq!(config.daemon.listen_client_urls.len(), 2);
}

/// The command line etcd 3.4's e2e harness (tests/e2e/cluster_test.go)
/// gives a member, with every option it can add.
fn harness_args(tls: &[&'static str]) -> Vec<&'static str> {
    let mut args = vec![
        "--name",
        "testname0",
        "--listen-client-urls",
        "https://localhost:20000",
        "--advertise-client-urls",
        "https://localhost:20000",
        "--listen-peer-urls",
        "https://localhost:20001",
        "--initial-advertise-peer-urls",
        "https://localhost:20001",
        "--initial-cluster-token",
        "new",
        "--data-dir",
        "/tmp/testname0.etcd",
        "--snapshot-count",
        "100000",
        "--quota-backend-bytes",
        "8000000",
        "--strict-reconfig-check=false",
        "--enable-v2",
        "--experimental-initial-corrupt-check",
        "--listen-metrics-urls",
        "http://localhost:20002",
        "--auth-token",
        "jwt,pub-key=server.crt,priv-key=server.key.insecure,sign-method=RS256,ttl=1s",
        "--max-concurrent-streams",
        "3",
        "--cipher-suites",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    ];
    args.extend_from_slice(tls);
    args.extend_from_slice(&[
        "--initial-cluster",
        "testname0=https://localhost:20001,testname1=https://localhost:20006,testname2=https://localhost:20011",
    ]);
    args
}

#[test]
fn etcds_e2e_harness_command_lines_are_accepted() {
    let (c, warnings) = parse(&harness_args(&["--auto-tls", "--peer-auto-tls"]), &[]).unwrap();
    let d = &c.daemon;
    assert!(d.client_auto_tls && d.peer_auto_tls);
    assert!(d.initial_corrupt_check);
    assert!(!d.node.strict_reconfig_check);
    assert_eq!(d.node.quota_backend_bytes, 8_000_000);
    assert_eq!(d.initial_cluster.len(), 3);
    assert_eq!(d.client_port.grpc.max_concurrent_streams, 3);
    assert_eq!(d.metrics.listen_urls.len(), 1);
    assert_eq!(
        d.metrics.listen_urls[0].to_string(),
        "http://localhost:20002"
    );
    assert_eq!(d.metrics.level, crate::metrics::MetricsLevel::Basic);
    let suites = Some(vec![
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]);
    assert_eq!(d.client_tls.cipher_suites, suites);
    assert_eq!(d.peer_tls.cipher_suites, suites);
    for expected in [
        "--enable-v2: the v2 API is not served",
        "--auth-token=jwt,pub-key=server.crt,priv-key=server.key.insecure,sign-method=RS256,ttl=1s: JWT tokens are not implemented",
    ] {
        assert!(
            warnings.iter().any(|w| w.contains(expected)),
            "{expected:?} in {warnings:?}"
        );
    }
    // The certificate-file variant, with a CRL and client-cert-auth.
    let (c, warnings) = parse(
        &harness_args(&[
            "--cert-file",
            "server.crt",
            "--key-file",
            "server.key.insecure",
            "--trusted-ca-file",
            "ca.crt",
            "--peer-cert-file",
            "server.crt",
            "--peer-key-file",
            "server.key.insecure",
            "--peer-trusted-ca-file",
            "ca.crt",
            "--client-crl-file",
            "revoke.crl",
            "--client-cert-auth",
        ]),
        &[],
    )
    .unwrap();
    assert!(!c.daemon.client_auto_tls && !c.daemon.peer_auto_tls);
    assert_eq!(
        c.daemon.client_tls.crl_file,
        Some(PathBuf::from("revoke.crl"))
    );
    assert!(c.daemon.client_tls.client_cert_auth);
    assert!(!warnings.iter().any(|w| w.contains("crl")), "{warnings:?}");
    // A flag given twice: the last value wins, as with Go's flags (the
    // harness's CRL configuration repeats --client-cert-auth).
    let (c, _) = parse(
        &[
            "--name",
            "first",
            "--name",
            "second",
            "--initial-cluster",
            "second=http://localhost:2380",
            "--client-cert-auth",
            "--trusted-ca-file",
            "ca.pem",
            "--client-cert-auth",
        ],
        &[],
    )
    .unwrap();
    assert_eq!(c.daemon.name, "second");
    assert!(c.daemon.client_tls.client_cert_auth);
}

#[test]
fn auto_tls_stands_in_for_missing_certificates_only() {
    // https everywhere with generated certificates: no files, and no peer
    // CA needed to dial https peers (their certificates are not verified).
    let https = [
        "--listen-client-urls",
        "https://127.0.0.1:2379",
        "--advertise-client-urls",
        "https://127.0.0.1:2379",
        "--listen-peer-urls",
        "https://127.0.0.1:2380",
        "--initial-advertise-peer-urls",
        "https://127.0.0.1:2380",
        "--initial-cluster",
        "default=https://127.0.0.1:2380",
    ];
    let with = |extra: &[&'static str]| {
        let mut all = https.to_vec();
        all.extend_from_slice(extra);
        parse(&all, &[])
    };
    let (c, warnings) = with(&["--auto-tls", "--peer-auto-tls"]).unwrap();
    assert!(c.daemon.client_auto_tls && c.daemon.peer_auto_tls);
    assert!(c.daemon.client_tls.cert_file.is_none());
    assert!(warnings.is_empty(), "{warnings:?}");
    // Each side on its own.
    let err = with(&["--auto-tls"]).unwrap_err().to_string();
    assert!(
        err.contains("(--peer-cert-file, --peer-key-file) must be provided for peer url"),
        "{err}"
    );
    let err = with(&["--peer-auto-tls"]).unwrap_err().to_string();
    assert!(
        err.contains("(--cert-file, --key-file) must be provided for client url"),
        "{err}"
    );
    // Certificates given: etcd ignores auto TLS, saying so.
    let (c, warnings) = with(&[
        "--auto-tls=true",
        "--peer-auto-tls",
        "--cert-file",
        "c.pem",
        "--key-file",
        "k.pem",
    ])
    .unwrap();
    assert!(!c.daemon.client_auto_tls && c.daemon.peer_auto_tls);
    assert!(
        warnings
            .iter()
            .any(|w| w == "ignoring client auto TLS since certs given"),
        "{warnings:?}"
    );
    // A peer certificate without auto TLS still needs the CA to dial.
    let err = with(&[
        "--auto-tls",
        "--peer-cert-file",
        "p.pem",
        "--peer-key-file",
        "pk.pem",
    ])
    .unwrap_err()
    .to_string();
    assert!(err.contains("needs --peer-trusted-ca-file"), "{err}");
    // A CRL without client-cert-auth has nothing to check.
    let (_, warnings) = parse(&["--client-crl-file", "crl.pem"], &[]).unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("--client-crl-file has no effect without --client-cert-auth")),
        "{warnings:?}"
    );
}

#[test]
fn the_new_flags_come_from_variables_and_the_config_file_too() {
    let (c, warnings) = parse(
        &[],
        &[
            ("ETCD_STRICT_RECONFIG_CHECK", "false"),
            ("KEEL_EXPERIMENTAL_INITIAL_CORRUPT_CHECK", "true"),
            ("ETCD_ENABLE_V2", "true"),
            ("ETCD_AUTO_TLS", "true"),
            ("KEEL_PEER_AUTO_TLS", "1"),
            ("ETCD_LOG_OUTPUTS", "stdout"),
            ("ETCD_DEBUG", "true"),
            ("ETCD_AUTO_COMPACTION_MODE", "revision"),
            ("ETCD_AUTO_COMPACTION_RETENTION", "1000"),
            ("ETCD_LOGGER", "zap"),
        ],
    )
    .unwrap();
    let d = &c.daemon;
    assert!(!d.node.strict_reconfig_check);
    assert!(d.initial_corrupt_check && d.client_auto_tls && d.peer_auto_tls);
    assert_eq!(c.log_level, "debug");
    assert_eq!(c.log_output, LogOutput::Stdout);
    assert_eq!(
        d.auto_compaction,
        Some(keel_engine::compactor::AutoCompaction::Revision(1000))
    );
    for expected in ["v2 API is not served", "--logger=zap"] {
        assert!(
            warnings.iter().any(|w| w.contains(expected)),
            "{expected:?} in {warnings:?}"
        );
    }
    // etcd's config file: auto-tls inside the transport sections, lists as
    // YAML lists.
    let yaml = "name: e1\nstrict-reconfig-check: false\nexperimental-initial-corrupt-check: true\nenable-v2: true\nlogger: zap\nlog-outputs: [stdout]\ndebug: false\nauto-compaction-mode: periodic\nauto-compaction-retention: \"0\"\nforce-new-cluster: false\ncipher-suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\nclient-transport-security:\n  auto-tls: true\npeer-transport-security:\n  auto-tls: true\n";
    let read = |_: &Path| Ok(yaml.to_string());
    let (c, warnings) =
        parse_server_config(&args(&["--config-file", "etcd.yml"]), &env(&[]), &read).unwrap();
    let d = &c.daemon;
    assert_eq!(d.name, "e1");
    assert!(!d.node.strict_reconfig_check);
    assert!(d.initial_corrupt_check && d.client_auto_tls && d.peer_auto_tls);
    assert_eq!(c.log_output, LogOutput::Stdout);
    assert_eq!(c.log_level, "info");
    assert!(
        !warnings.iter().any(|w| w.contains("unrecognized")),
        "{warnings:?}"
    );
    assert_eq!(
        d.client_tls.cipher_suites,
        Some(vec![CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256])
    );
    // A list where one value belongs is still an error.
    let bad = |_: &Path| Ok("name: [a, b]\n".to_string());
    assert!(parse_server_config(&args(&["--config-file", "x"]), &env(&[]), &bad).is_err());
}

#[test]
fn the_corrupt_check_period_is_a_go_duration_and_zero_is_off() {
    let (c, _) = parse(&[], &[]).unwrap();
    assert_eq!(c.daemon.corrupt_check_interval, None);
    let (c, _) = parse(&["--experimental-corrupt-check-time", "1m30s"], &[]).unwrap();
    assert_eq!(
        c.daemon.corrupt_check_interval,
        Some(Duration::from_secs(90))
    );
    let (c, _) = parse(&[], &[("ETCD_EXPERIMENTAL_CORRUPT_CHECK_TIME", "0s")]).unwrap();
    assert_eq!(c.daemon.corrupt_check_interval, None);
    let error = parse(&["--experimental-corrupt-check-time", "5"], &[]).unwrap_err();
    assert!(
        error.to_string().contains("missing unit in duration"),
        "{error}"
    );
}

#[test]
fn force_new_cluster_reaches_the_node() {
    for (args, on) in [
        (&["--force-new-cluster"][..], true),
        (&["--force-new-cluster=false"][..], false),
    ] {
        let (c, _) = parse(args, &[]).unwrap();
        assert_eq!(c.daemon.node.force_new_cluster, on, "{args:?}");
    }
    let (c, _) = parse(&[], &[("ETCD_FORCE_NEW_CLUSTER", "true")]).unwrap();
    assert!(c.daemon.node.force_new_cluster);
}

#[test]
fn the_accepted_etcd_flags_are_checked_as_etcd_checks_them() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--log-outputs", "/var/log/etcd.log"],
            "unknown log-output \"/var/log/etcd.log\"",
        ),
        (&["--log-outputs", "stderr,stdout"], "supports only 1 value"),
        (&["--logger", "glog"], "unknown logger option \"glog\""),
        (
            &["--auto-compaction-mode", "daily"],
            "unknown auto-compaction-mode \"daily\"",
        ),
        (
            &["--auto-compaction-retention", "soon"],
            "error parsing CompactionRetention: time: invalid duration \"soon\"",
        ),
        (
            &["--cipher-suites", "TLS_FAST"],
            "unexpected TLS cipher suite \"TLS_FAST\"",
        ),
        (
            &["--max-concurrent-streams=many"],
            "--max-concurrent-streams",
        ),
        (
            &["--strict-reconfig-check=maybe"],
            "--strict-reconfig-check",
        ),
        (&["--enable-v2=yes"], "--enable-v2"),
        (
            &["--listen-metrics-urls", "localhost:2381"],
            "--listen-metrics-urls",
        ),
        (
            &["--metrics", "verbose"],
            "unknown metrics option \"verbose\"",
        ),
        (
            &["--listen-metrics-urls", "https://127.0.0.1:2381"],
            "TLS key/cert (--cert-file, --key-file) must be provided for metrics url",
        ),
        (
            &["--experimental-peer-skip-client-san-verification=sometimes"],
            "--experimental-peer-skip-client-san-verification",
        ),
    ];
    for (a, expected) in cases {
        let err = parse(a, &[]).unwrap_err().to_string();
        assert!(err.contains(expected), "{a:?}: {err}");
    }
    // Values that change nothing pass quietly; those that would are named.
    let (_, warnings) = parse(
        &[
            "--force-new-cluster=false",
            "--auto-compaction-retention",
            "0",
            "--auto-compaction-mode",
            "revision",
            "--experimental-peer-skip-client-san-verification",
            "--log-outputs",
            "default",
            "--strict-reconfig-check",
        ],
        &[],
    )
    .unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let (c, warnings) = parse(&["--auto-compaction-retention", "1h30m", "--debug"], &[]).unwrap();
    assert_eq!(c.log_level, "debug");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        c.daemon.auto_compaction,
        Some(keel_engine::compactor::AutoCompaction::Periodic(
            Duration::from_secs(5400)
        ))
    );
    let (c, _) = parse(
        &[
            "--auto-compaction-mode=revision",
            "--auto-compaction-retention=500",
        ],
        &[],
    )
    .unwrap();
    assert_eq!(
        c.daemon.auto_compaction,
        Some(keel_engine::compactor::AutoCompaction::Revision(500))
    );
    let (c, _) = parse(&[], &[]).unwrap();
    assert_eq!(
        c.daemon.auto_compaction, None,
        "etcd does not compact by default"
    );
}

#[test]
fn version_prints_keels_own_and_the_etcd_api_it_serves() {
    let Err(ConfigError::Info(text)) = parse(&["--version"], &[]) else {
        panic!("--version is information");
    };
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        format!("keel Version: {}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(lines[1], "etcd API Version: 3.4 (reported as etcd 3.4.23)");
    assert!(lines[2].starts_with("OS/Arch: "), "{text}");
    assert_eq!(lines.len(), 3);
}

#[test]
fn every_flag_is_also_a_keel_and_an_etcd_variable_and_a_config_file_key() {
    for flag in FLAGS.iter().filter(|f| f.name != "config-file") {
        for prefix in ["KEEL_", "ETCD_"] {
            let name = flags::variable(prefix, flag.name);
            let mut warnings = Vec::new();
            let settings = flags::merge(
                &BTreeMap::new(),
                &env(&[(name.as_str(), "v")]),
                &mut warnings,
            )
            .unwrap();
            assert_eq!(
                settings.get(flag.name).map(String::as_str),
                Some("v"),
                "{name}"
            );
            assert!(warnings.is_empty(), "{name}: {warnings:?}");
        }
        let mut warnings = Vec::new();
        let yaml = format!("{}: v\n", flag.name);
        let settings = flags::from_yaml("f.yml", &yaml, &mut warnings).unwrap();
        assert_eq!(
            settings.get(flag.name).map(String::as_str),
            Some("v"),
            "{yaml}"
        );
        assert!(warnings.is_empty(), "{yaml}: {warnings:?}");
    }
}

#[test]
fn metrics_flags_choose_listeners_and_level() {
    let (c, warnings) = parse(
        &[
            "--listen-metrics-urls",
            "http://127.0.0.1:2381,http://127.0.0.1:2382",
            "--metrics=extensive",
        ],
        &[],
    )
    .unwrap();
    assert_eq!(c.daemon.metrics.listen_urls.len(), 2);
    assert_eq!(
        c.daemon.metrics.level,
        crate::metrics::MetricsLevel::Extensive
    );
    assert!(
        !warnings.iter().any(|w| w.contains("metrics")),
        "{warnings:?}"
    );
    let (c, _) = parse(&[], &[]).unwrap();
    assert!(c.daemon.metrics.listen_urls.is_empty(), "none by default");
    assert_eq!(c.daemon.metrics.level, crate::metrics::MetricsLevel::Basic);
}

#[test]
fn wal_dir_comes_from_the_flag_the_variables_or_the_config_file() {
    let (c, warnings) = parse(&[], &[]).unwrap();
    assert_eq!(c.daemon.wal_dir, None, "default: inside the data dir");
    assert!(warnings.is_empty());
    let (c, _) = parse(&["--wal-dir", "/disk2/wal"], &[]).unwrap();
    assert_eq!(c.daemon.wal_dir, Some(PathBuf::from("/disk2/wal")));
    let (c, _) = parse(&["--wal-dir="], &[]).unwrap();
    assert_eq!(c.daemon.wal_dir, None, "empty: the default, as etcd");
    let (c, warnings) = parse(&[], &[("ETCD_WAL_DIR", "/disk3/wal")]).unwrap();
    assert_eq!(c.daemon.wal_dir, Some(PathBuf::from("/disk3/wal")));
    assert!(warnings.is_empty(), "a known variable: {warnings:?}");
    let (c, _) = parse(&[], &[("KEEL_WAL_DIR", "/disk4/wal")]).unwrap();
    assert_eq!(c.daemon.wal_dir, Some(PathBuf::from("/disk4/wal")));
    let (c, _) = parse(&[], &[("ETCD_WAL_DIR", "")]).unwrap();
    assert_eq!(c.daemon.wal_dir, None);
    let twice = parse(&["--wal-dir", "/a"], &[("ETCD_WAL_DIR", "/b")]).unwrap_err();
    assert!(matches!(twice, ConfigError::Conflict { .. }), "{twice}");

    let read = |_: &Path| Ok("name: n\nwal-dir: /disk5/wal\n".to_string());
    let (c, warnings) =
        parse_server_config(&args(&["--config-file", "/etc/keel.yml"]), &env(&[]), &read).unwrap();
    assert_eq!(c.daemon.wal_dir, Some(PathBuf::from("/disk5/wal")));
    assert!(
        !warnings.iter().any(|w| w.contains("wal-dir")),
        "{warnings:?}"
    );
    let read = |_: &Path| Ok("name: n\nwal-dir: ''\n".to_string());
    let (c, _) =
        parse_server_config(&args(&["--config-file", "/etc/keel.yml"]), &env(&[]), &read).unwrap();
    assert_eq!(c.daemon.wal_dir, None);
}

#[test]
fn cipher_suites_restrict_tls12_and_refuse_what_keel_cannot_do() {
    let (c, warnings) = parse(&[], &[]).unwrap();
    assert_eq!(c.daemon.client_tls.cipher_suites, None);
    assert_eq!(c.daemon.peer_tls.cipher_suites, None);
    assert!(
        !warnings.iter().any(|w| w.contains("cipher")),
        "{warnings:?}"
    );
    // Flag, variable: both sides, in the order given; TLS 1.3 names change
    // nothing (TLS 1.3 is never restricted, as in Go).
    let list = "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305";
    let expected = Some(vec![
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]);
    for (a, e) in [
        (vec!["--cipher-suites", list], vec![]),
        (vec![], vec![("ETCD_CIPHER_SUITES", list)]),
        (vec![], vec![("KEEL_CIPHER_SUITES", list)]),
    ] {
        let (c, warnings) = parse(&a, &e).unwrap();
        assert_eq!(c.daemon.client_tls.cipher_suites, expected, "{a:?} {e:?}");
        assert_eq!(c.daemon.peer_tls.cipher_suites, expected);
        assert!(
            !warnings.iter().any(|w| w.contains("cipher")),
            "{warnings:?}"
        );
    }
    // Only TLS 1.3 names: no TLS 1.2 suite is left.
    let (c, _) = parse(&["--cipher-suites", "TLS_AES_256_GCM_SHA384"], &[]).unwrap();
    assert_eq!(c.daemon.client_tls.cipher_suites, Some(vec![]));
    // The config file's YAML list.
    let read =
        |_: &Path| Ok("cipher-suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n".to_string());
    let (c, _) = parse_server_config(&args(&["--config-file", "f"]), &env(&[]), &read).unwrap();
    assert_eq!(
        c.daemon.peer_tls.cipher_suites,
        Some(vec![CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256])
    );
    // A name Go does not know: etcd's error, naming the first.
    let error = parse(
        &[
            "--cipher-suites",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_BOGUS,TLS_WORSE",
        ],
        &[],
    )
    .unwrap_err()
    .to_string();
    assert_eq!(error, "unexpected TLS cipher suite \"TLS_BOGUS\"");
    // Names Go knows but rustls does not implement: all named.
    let error = parse(
        &[
            "--cipher-suites",
            "TLS_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
        ],
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("does not implement TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA (it implements"),
        "{error}"
    );
    assert!(error.contains("--cipher-suites"), "{error}");
}

#[test]
fn allowed_cn_and_hostname_come_from_flags_variables_and_the_config_file() {
    let (c, _) = parse(&[], &[]).unwrap();
    assert_eq!(c.daemon.peer_tls.cert_check, None);
    assert_eq!(c.daemon.client_tls.cert_check, None);
    let (c, _) = parse(&["--peer-cert-allowed-cn", "etcd-peer"], &[]).unwrap();
    assert_eq!(
        c.daemon.peer_tls.cert_check,
        Some(CertCheck::CommonName("etcd-peer".into()))
    );
    assert_eq!(c.daemon.client_tls.cert_check, None);
    let (c, _) = parse(&[], &[("ETCD_PEER_CERT_ALLOWED_CN", "etcd-peer")]).unwrap();
    assert_eq!(
        c.daemon.peer_tls.cert_check,
        Some(CertCheck::CommonName("etcd-peer".into()))
    );
    let (c, _) = parse(
        &[],
        &[
            ("KEEL_PEER_CERT_ALLOWED_HOSTNAME", "peer.example.com"),
            ("ETCD_CLIENT_CERT_ALLOWED_HOSTNAME", "10.0.0.1"),
        ],
    )
    .unwrap();
    assert_eq!(
        c.daemon.peer_tls.cert_check,
        Some(CertCheck::Hostname("peer.example.com".into()))
    );
    assert_eq!(
        c.daemon.client_tls.cert_check,
        Some(CertCheck::Hostname("10.0.0.1".into()))
    );
    // The client side's check needs client-cert-auth to do anything.
    let (_, warnings) = parse(&["--client-cert-allowed-hostname", "h"], &[]).unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("--client-cert-allowed-hostname has no effect")),
        "{warnings:?}"
    );
    // The config file: etcd's Go field names (case-insensitive), or the
    // flag names as top-level keys.
    let yaml = "PeerTLSInfo:\n  AllowedCN: etcd-peer\nclientTLSInfo:\n  allowedhostname: client.example.com\n  CertFile: ignored.pem\n";
    let read = |_: &Path| Ok(yaml.to_string());
    let (c, warnings) =
        parse_server_config(&args(&["--config-file", "f"]), &env(&[]), &read).unwrap();
    assert_eq!(
        c.daemon.peer_tls.cert_check,
        Some(CertCheck::CommonName("etcd-peer".into()))
    );
    assert_eq!(
        c.daemon.client_tls.cert_check,
        Some(CertCheck::Hostname("client.example.com".into()))
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("clientTLSInfo.CertFile")),
        "{warnings:?}"
    );
    let read = |_: &Path| Ok("peer-cert-allowed-hostname: peer.example.com\n".to_string());
    let (c, _) = parse_server_config(&args(&["--config-file", "f"]), &env(&[]), &read).unwrap();
    assert_eq!(
        c.daemon.peer_tls.cert_check,
        Some(CertCheck::Hostname("peer.example.com".into()))
    );
}

#[test]
fn allowed_cn_and_hostname_together_are_refused_as_etcd_does() {
    let both = [
        "--peer-cert-allowed-cn",
        "etcd-peer",
        "--peer-cert-allowed-hostname",
        "peer.example.com",
    ];
    // Without a peer certificate etcd never builds the TLS configuration
    // that refuses them.
    let (c, _) = parse(&both, &[]).unwrap();
    assert_eq!(
        c.daemon.peer_tls.cert_check,
        Some(CertCheck::CommonName("etcd-peer".into()))
    );
    let mut with_cert = both.to_vec();
    with_cert.extend(["--peer-cert-file", "p.pem", "--peer-key-file", "p-key.pem"]);
    let error = parse(&with_cert, &[]).unwrap_err().to_string();
    assert_eq!(
        error,
        "--peer-cert-allowed-cn and --peer-cert-allowed-hostname are mutually exclusive \
         (cn=\"etcd-peer\", hostname=\"peer.example.com\")"
    );
}

#[test]
fn auth_settings_reach_the_node() {
    let (c, warnings) = parse(&["--bcrypt-cost", "4", "--auth-token-ttl", "7"], &[]).unwrap();
    assert_eq!(c.daemon.node.bcrypt_cost, 4);
    assert_eq!(c.daemon.node.auth_token_ttl, Duration::from_secs(7));
    assert!(warnings.is_empty(), "{warnings:?}");
    let (c, warnings) = parse(&["--bcrypt-cost", "40"], &[]).unwrap();
    assert_eq!(
        c.daemon.node.bcrypt_cost, 10,
        "etcd falls back to its default"
    );
    assert!(warnings.iter().any(|w| w.contains("--bcrypt-cost=40")));
    let (c, _) = parse(&[], &[]).unwrap();
    assert_eq!(
        (c.daemon.node.bcrypt_cost, c.daemon.node.auth_token_ttl),
        (10, Duration::from_secs(300))
    );
}
