//! The HTTP client underneath: how the facade makes one (the rules of
//! every client it makes, in one place), and the TLS setup made once for
//! the clients of many servers to share.

use std::fmt;
#[cfg(feature = "rustls")]
use std::sync::Arc;
use std::time::Duration;

use crate::Error;

/// The time allowed to open a connection, unless the builder is told
/// otherwise.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the HTTP clients of many servers share: made once, given to
/// [`ClientBuilder::shared_http_client`] of each.
///
/// Making an HTTP client with TLS reads and parses the platform's
/// certificates (many milliseconds on Linux). A program that talks to many
/// servers makes one of these instead: the TLS setup (certificates and
/// verifier) is made once, here, and each server's
/// [`Client`](crate::Client) gets an HTTP client of its own on top of it,
/// made in microseconds, with a connection pool of its own. Connections
/// are never shared between servers anyway; a pool per server means that
/// a server's connections close when its last `Client` is dropped, so a
/// program that goes through a thousand servers, dropping each client when
/// done, holds the connections of the servers it is talking to, not of
/// every server it talked to.
///
/// Each HTTP client it gives keeps the rules of the one
/// [`ClientBuilder::build`] makes for itself: redirects are not followed,
/// connections open within 5 s. What belongs to one server stays in that
/// server's [`Client`](crate::Client): the token and the identity headers
/// are added to each of its requests, and each call's timeout
/// ([`ClientBuilder::timeout`]) is the calling client's.
///
/// Cloning it is cheap. With the `native-tls` feature alone (no
/// `rustls`), the servers of an `https` fleet share one HTTP client, and
/// so one pool, instead: share it then among clients used on one Tokio
/// runtime only, since a pooled connection is driven by the runtime that
/// opened it (a client on another runtime that picks it up waits for an
/// answer that never comes, until its timeout).
///
/// ```no_run
/// # fn run() -> Result<(), plex_butler::Error> {
/// use plex_butler::{Client, SharedHttpClient};
///
/// let servers = ["http://10.0.0.2:32400", "https://10.0.0.3:32400"];
/// let http = SharedHttpClient::for_servers(servers)?;
/// let clients = servers
///     .iter()
///     .map(|url| Client::builder(*url).shared_http_client(&http).build())
///     .collect::<Result<Vec<_>, _>>()?;
/// # Ok(())
/// # }
/// ```
///
/// [`ClientBuilder::shared_http_client`]: crate::ClientBuilder::shared_http_client
/// [`ClientBuilder::build`]: crate::ClientBuilder::build
/// [`ClientBuilder::timeout`]: crate::ClientBuilder::timeout
#[derive(Clone)]
pub struct SharedHttpClient {
    tls: SharedTls,
}

/// The TLS part shared by the servers' HTTP clients.
#[derive(Clone)]
enum SharedTls {
    /// For `http` servers only: no certificate is trusted, none is read.
    Off,
    /// rustls, its verifier (and the certificates it loaded) made once.
    #[cfg(feature = "rustls")]
    Rustls(Arc<rustls::ClientConfig>),
    /// `native-tls` alone: one HTTP client for every server.
    #[cfg(all(feature = "native-tls", not(feature = "rustls")))]
    OneClient(reqwest::Client),
}

impl fmt::Debug for SharedHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedHttpClient")
            .field("tls_roots", &self.has_tls_roots())
            .finish_non_exhaustive()
    }
}

impl SharedHttpClient {
    /// Makes what the HTTP clients of the servers at `base_urls` share.
    /// The platform's certificates are loaded only when one of them is
    /// `https`; without one, none are, and a client given it refuses any
    /// `https` server (it would trust no certificate), which none of these
    /// needs.
    ///
    /// A base URL that is not valid counts as plain `http`: the builder of
    /// its client refuses it anyway.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for `https` without a TLS feature, or when
    /// the TLS setup cannot be made (such as no certificates found on the
    /// platform while one server is `https`).
    pub fn for_servers<'a>(base_urls: impl IntoIterator<Item = &'a str>) -> Result<Self, Error> {
        let https = base_urls
            .into_iter()
            .any(|url| reqwest::Url::parse(url.trim()).is_ok_and(|url| url.scheme() == "https"));
        if !https {
            return Ok(Self {
                tls: SharedTls::Off,
            });
        }
        #[cfg(feature = "rustls")]
        {
            Ok(Self {
                tls: SharedTls::Rustls(Arc::new(rustls_config()?)),
            })
        }
        #[cfg(all(feature = "native-tls", not(feature = "rustls")))]
        {
            Ok(Self {
                tls: SharedTls::OneClient(make_http_client(DEFAULT_CONNECT_TIMEOUT, true)?),
            })
        }
        #[cfg(not(any(feature = "rustls", feature = "native-tls")))]
        {
            Err(no_tls_feature())
        }
    }

    /// Whether the platform's certificates were loaded (one of the servers
    /// is `https`).
    pub fn has_tls_roots(&self) -> bool {
        !matches!(self.tls, SharedTls::Off)
    }

    /// An HTTP client for one server, on the shared TLS setup, with a pool
    /// of its own.
    pub(crate) fn client_for_one_server(&self) -> Result<reqwest::Client, Error> {
        match &self.tls {
            SharedTls::Off => make_http_client(DEFAULT_CONNECT_TIMEOUT, false),
            #[cfg(feature = "rustls")]
            SharedTls::Rustls(config) => {
                tracing::debug!("HTTP client made on the shared TLS setup");
                build(
                    with_rules(DEFAULT_CONNECT_TIMEOUT)
                        .tls_backend_preconfigured(rustls::ClientConfig::clone(config)),
                )
            }
            #[cfg(all(feature = "native-tls", not(feature = "rustls")))]
            SharedTls::OneClient(client) => Ok(client.clone()),
        }
    }
}

/// The TLS setup reqwest makes for a client of its own with the `rustls`
/// feature (its crypto provider, TLS 1.2 and 1.3, the platform's
/// verifier, HTTP/1.1), made once.
#[cfg(feature = "rustls")]
fn rustls_config() -> Result<rustls::ClientConfig, Error> {
    let failed = |e: rustls::Error| Error::InvalidConfig {
        message: "the TLS setup cannot be made".to_owned(),
        source: Some(Box::new(e)),
    };
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let verifier =
        rustls_platform_verifier::Verifier::new(Arc::clone(&provider)).map_err(failed)?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(failed)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    tracing::debug!(tls_roots = true, "TLS setup made");
    Ok(config)
}

#[cfg(not(any(feature = "rustls", feature = "native-tls")))]
fn no_tls_feature() -> Error {
    Error::invalid_config(
        "https needs TLS: enable the `rustls` or `native-tls` feature of plex-butler",
    )
}

/// The rules of every HTTP client the facade makes.
fn with_rules(connect_timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        // A redirected `POST` would turn into a `GET`, and the token must
        // not follow a redirect to another server.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("plex-butler/", env!("CARGO_PKG_VERSION")))
}

fn build(builder: reqwest::ClientBuilder) -> Result<reqwest::Client, Error> {
    builder.build().map_err(|e| Error::InvalidConfig {
        message: "the HTTP client cannot be made (TLS setup failed?)".to_owned(),
        source: Some(Box::new(e)),
    })
}

/// The HTTP client the facade makes for a client of its own.
/// `tls_roots`: whether `https` servers are to be reached (the platform's
/// certificates are then loaded); without, no certificate is trusted.
pub(crate) fn make_http_client(
    connect_timeout: Duration,
    tls_roots: bool,
) -> Result<reqwest::Client, Error> {
    #[cfg(not(any(feature = "rustls", feature = "native-tls")))]
    if tls_roots {
        return Err(no_tls_feature());
    }
    tracing::debug!(tls_roots, "HTTP client made");
    let builder = with_rules(connect_timeout);
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    let builder = if tls_roots {
        builder
    } else {
        // Trusting no certificate: nothing to read from the platform.
        builder.tls_certs_only(std::iter::empty())
    };
    build(builder)
}
