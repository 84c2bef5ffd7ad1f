use super::*;
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
    assert_eq!(config.log_level, "info");
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
            ("ETCD_AUTO_COMPACTION_RETENTION", "1"),
            ("KEELCTL_ENDPOINTS", "x"),
            ("ETCDCTL_API", "3"),
        ],
    )
    .unwrap();
    assert_eq!(
        warnings,
        vec![
            "unrecognized environment variable ETCD_AUTO_COMPACTION_RETENTION=1".to_string(),
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
    let yaml = "listen-client-urls: https://127.0.0.1:2379\nclient-transport-security:\n  cert-file: /etc/keel/server.pem\n  key-file: /etc/keel/server-key.pem\n  client-cert-auth: true\n  trusted-ca-file: /etc/keel/ca.pem\n  auto-tls: false\npeer-transport-security:\n  trusted-ca-file: /etc/keel/ca.pem\n";
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
            .any(|w| w.contains("client-transport-security.auto-tls"))
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
