//! URLs as etcd takes them: `http://host:port` or `https://host:port`.

use std::fmt;

/// A parsed member URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// Whether the URL asks for TLS.
    pub tls: bool,
    /// The host, as written.
    pub host: String,
    /// The port.
    pub port: u16,
}

/// Why a URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid URL {url:?}: {why}")]
pub struct UrlError {
    /// The URL as given.
    pub url: String,
    /// What is wrong with it.
    pub why: &'static str,
}

impl Url {
    /// Parses `http://host:port` or `https://host:port` (a trailing `/` is
    /// allowed, nothing else).
    pub fn parse(text: &str) -> Result<Url, UrlError> {
        let error = |why| UrlError {
            url: text.to_string(),
            why,
        };
        let (tls, rest) = if let Some(rest) = text.strip_prefix("http://") {
            (false, rest)
        } else if let Some(rest) = text.strip_prefix("https://") {
            (true, rest)
        } else {
            return Err(error("the scheme must be http or https"));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') {
            return Err(error("a member URL has no path"));
        }
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| error("the URL needs a port"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(error("the URL needs a host"));
        }
        let port: u16 = port
            .parse()
            .map_err(|_| error("the port is not a number"))?;
        Ok(Url {
            tls,
            host: host.to_string(),
            port,
        })
    }

    /// The address to bind or dial: `localhost` means 127.0.0.1 (Keel never
    /// binds other interfaces unless asked to by address).
    pub fn socket_address(&self) -> String {
        let host = if self.host == "localhost" {
            "127.0.0.1"
        } else {
            &self.host
        };
        if host.contains(':') {
            format!("[{host}]:{}", self.port)
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

/// The address to dial for an endpoint given as `host:port` or as a URL
/// (etcdctl accepts both).
pub fn endpoint_address(endpoint: &str) -> Result<String, UrlError> {
    if endpoint.contains("://") {
        return Url::parse(endpoint).map(|u| u.socket_address());
    }
    Url::parse(&format!("http://{endpoint}")).map(|u| u.socket_address())
}

/// Where a client connects: the address to dial, the host its certificate
/// must name, and whether TLS is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host:port` to dial.
    pub address: String,
    /// The host as written (a DNS name or an IP address), for TLS.
    pub host: String,
    /// Whether the connection uses TLS.
    pub tls: bool,
}

/// An endpoint given as `host:port` or as a URL: `https://` uses TLS,
/// `http://` does not, and a bare `host:port` uses TLS when `tls_default`
/// (etcdctl's rule: it does when any TLS flag is given).
pub fn endpoint(text: &str, tls_default: bool) -> Result<Endpoint, UrlError> {
    let url = if text.contains("://") {
        Url::parse(text)?
    } else {
        let mut url = Url::parse(&format!("http://{text}"))?;
        url.tls = tls_default;
        url
    };
    Ok(Endpoint {
        address: url.socket_address(),
        host: url.host,
        tls: url.tls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_like_etcds() {
        let u = Url::parse("http://localhost:2379").unwrap();
        assert_eq!(
            (u.tls, u.port, u.socket_address()),
            (false, 2379, "127.0.0.1:2379".into())
        );
        assert!(Url::parse("https://10.0.0.1:2380/").unwrap().tls);
        assert_eq!(
            Url::parse("http://[::1]:2380").unwrap().socket_address(),
            "[::1]:2380"
        );
        for bad in [
            "10.0.0.1:2379",
            "http://host",
            "http://:1",
            "http://h:99999",
            "ftp://h:1",
            "http://h:1/x",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            endpoint_address("127.0.0.1:2379").unwrap(),
            "127.0.0.1:2379"
        );
        assert_eq!(
            endpoint_address("http://localhost:2379").unwrap(),
            "127.0.0.1:2379"
        );
        let tls = endpoint("https://localhost:2379", false).unwrap();
        assert_eq!(
            (tls.address.as_str(), tls.host.as_str(), tls.tls),
            ("127.0.0.1:2379", "localhost", true)
        );
        assert!(endpoint("127.0.0.1:2379", true).unwrap().tls);
        assert!(!endpoint("http://127.0.0.1:2379", true).unwrap().tls);
    }
}
