//! The HTTP client underneath: how the facade makes one (the rule for
//! every client it makes, in one place), and one made once for the clients
//! of many servers to share.

use std::fmt;
use std::time::Duration;

use crate::Error;

/// The time allowed to open a connection, unless the builder is told
/// otherwise.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// One HTTP client (one connection pool, one TLS setup) for the clients of
/// many servers: give it to [`ClientBuilder::shared_http_client`] of each.
///
/// Making an HTTP client costs more than a call on a LAN: with TLS, the
/// platform's certificates are read and parsed each time (many milliseconds
/// on Linux). A program that talks to many servers makes one of these
/// instead of one per server.
///
/// It is the client [`ClientBuilder::build`] makes for itself, with the
/// same guarantees: redirects are not followed, connections open within
/// 5 s. What belongs to one server stays in that server's
/// [`Client`](crate::Client): the token and the identity headers are added
/// to each of its requests, never kept in the shared client, and each
/// call's timeout ([`ClientBuilder::timeout`]) is the calling client's.
///
/// Cloning it is cheap and shares the pool.
///
/// # One runtime
///
/// Share it only among clients used on one Tokio runtime. A pooled
/// connection is driven by the runtime that opened it: a client on
/// another runtime that picks it up waits for an answer that never comes,
/// and its call ends in [`Error::Timeout`] (or hangs without a timeout),
/// until the first runtime is gone. For that reason the blocking clients,
/// each with a runtime of its own, cannot be given one.
///
/// ```no_run
/// # fn run() -> Result<(), plex_butler::Error> {
/// use plex_butler::{Client, SharedHttpClient};
///
/// let servers = ["http://10.0.0.2:32400", "http://10.0.0.3:32400"];
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
    pub(crate) http: reqwest::Client,
    tls_roots: bool,
}

impl fmt::Debug for SharedHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedHttpClient")
            .field("tls_roots", &self.tls_roots)
            .finish_non_exhaustive()
    }
}

impl SharedHttpClient {
    /// Makes the HTTP client for the servers at `base_urls`. The platform's
    /// certificates are loaded only when one of them is `https`; without
    /// one, none are, and the client refuses any `https` server (it
    /// trusts no certificate), which none of these needs.
    ///
    /// A base URL that is not valid counts as plain `http`: the builder of
    /// its client refuses it anyway.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for `https` without a TLS feature, or when
    /// the HTTP client cannot be made (such as no certificates found on
    /// the platform while one server is `https`).
    pub fn for_servers<'a>(base_urls: impl IntoIterator<Item = &'a str>) -> Result<Self, Error> {
        let tls_roots = base_urls
            .into_iter()
            .any(|url| reqwest::Url::parse(url.trim()).is_ok_and(|url| url.scheme() == "https"));
        Ok(Self {
            http: make_http_client(DEFAULT_CONNECT_TIMEOUT, tls_roots)?,
            tls_roots,
        })
    }

    /// Whether the platform's certificates were loaded (one of the servers
    /// is `https`).
    pub fn has_tls_roots(&self) -> bool {
        self.tls_roots
    }
}

/// The HTTP client the facade makes: the one rule for every client of
/// ours. `tls_roots`: whether `https` servers are to be reached (the
/// platform's certificates are then loaded); without, no certificate is
/// trusted.
pub(crate) fn make_http_client(
    connect_timeout: Duration,
    tls_roots: bool,
) -> Result<reqwest::Client, Error> {
    if tls_roots && !cfg!(any(feature = "rustls", feature = "native-tls")) {
        return Err(Error::invalid_config(
            "https needs TLS: enable the `rustls` or `native-tls` feature of plex-butler",
        ));
    }
    tracing::debug!(tls_roots, "HTTP client made");
    let builder = reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        // A redirected `POST` would turn into a `GET`, and the token must
        // not follow a redirect to another server.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("plex-butler/", env!("CARGO_PKG_VERSION")));
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    let builder = if tls_roots {
        builder
    } else {
        // Trusting no certificate: nothing to read from the platform.
        builder.tls_certs_only(std::iter::empty())
    };
    builder.build().map_err(|e| Error::InvalidConfig {
        message: "the HTTP client cannot be made (TLS setup failed?)".to_owned(),
        source: Some(Box::new(e)),
    })
}
