//! The client's configuration, checked when the client is made.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use tokio::sync::Semaphore;

use crate::client::Shared;
use crate::identity::default_client_identifier;
use crate::response::excerpt;
use crate::shared_http::{DEFAULT_CONNECT_TIMEOUT, make_http_client};
use crate::{Client, Error, RetryPolicy, SharedHttpClient};

const DEFAULT_PRODUCT: &str = "plex-butler";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

const X_PLEX_TOKEN: HeaderName = HeaderName::from_static("x-plex-token");
const X_PLEX_CLIENT_IDENTIFIER: HeaderName = HeaderName::from_static("x-plex-client-identifier");
const X_PLEX_PRODUCT: HeaderName = HeaderName::from_static("x-plex-product");
const X_PLEX_VERSION: HeaderName = HeaderName::from_static("x-plex-version");
const X_PLEX_DEVICE_NAME: HeaderName = HeaderName::from_static("x-plex-device-name");
const X_PLEX_PLATFORM: HeaderName = HeaderName::from_static("x-plex-platform");

/// Configures a [`Client`]; made by [`Client::builder`].
///
/// Its `Debug` shows the token as `<redacted>`.
#[derive(Clone)]
#[must_use = "a builder does nothing until .build() is called"]
pub struct ClientBuilder {
    base_url: String,
    token: Option<String>,
    client_identifier: Option<String>,
    product: String,
    version: String,
    device_name: Option<String>,
    platform: Option<String>,
    timeout: Duration,
    connect_timeout: Option<Duration>,
    retry: RetryPolicy,
    http_client: Option<Supplied>,
    max_concurrent_requests: Option<usize>,
}

/// An HTTP client given to the builder.
#[derive(Clone)]
enum Supplied {
    /// The user's, configured as the user chose.
    Custom(reqwest::Client),
    /// Ours, made once for many clients.
    Shared(SharedHttpClient),
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("token", &self.token.as_ref().map(|_| Redacted))
            .field("client_identifier", &self.client_identifier)
            .field("product", &self.product)
            .field("version", &self.version)
            .field("device_name", &self.device_name)
            .field("platform", &self.platform)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field(
                "http_client",
                &self.http_client.as_ref().map(|supplied| match supplied {
                    Supplied::Custom(_) => "custom",
                    Supplied::Shared(_) => "shared",
                }),
            )
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .finish()
    }
}

/// Shows `<redacted>` in place of a secret.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl ClientBuilder {
    pub(crate) fn new(base_url: String) -> Self {
        Self {
            base_url,
            token: None,
            client_identifier: None,
            product: DEFAULT_PRODUCT.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            device_name: None,
            platform: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: None,
            retry: RetryPolicy::default(),
            http_client: None,
            max_concurrent_requests: None,
        }
    }

    /// The server's access token, sent as the `X-Plex-Token` header (marked
    /// sensitive, so HTTP libraries do not print it) and never in the URL.
    /// Optional: a server may let clients of an allowed network in without
    /// one.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The `X-Plex-Client-Identifier`, an opaque id of this client. Plex
    /// lists each identifier as a device of the account, so keep it the
    /// same from run to run.
    ///
    /// Default: 32 hex digits hashed from the machine's identity (its
    /// machine id, else its host name) and the product name: stable across
    /// runs, and revealing neither.
    pub fn client_identifier(mut self, identifier: impl Into<String>) -> Self {
        self.client_identifier = Some(identifier.into());
        self
    }

    /// The `X-Plex-Product`, the program's name as Plex shows it. Default:
    /// `plex-butler`.
    pub fn product(mut self, product: impl Into<String>) -> Self {
        self.product = product.into();
        self
    }

    /// The `X-Plex-Version`, the program's version. Default: this crate's
    /// version.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// The `X-Plex-Device-Name`, a name for this machine as Plex shows it.
    /// Not sent unless set.
    pub fn device_name(mut self, name: impl Into<String>) -> Self {
        self.device_name = Some(name.into());
        self
    }

    /// The `X-Plex-Platform`, such as `Linux`. Not sent unless set.
    pub fn platform(mut self, platform: impl Into<String>) -> Self {
        self.platform = Some(platform.into());
        self
    }

    /// The time one attempt may take, from sending the request to reading
    /// the whole answer. Default: 30 s. It applies with a supplied
    /// [`reqwest::Client`] too. Retries have their own budget
    /// ([`RetryPolicy::max_elapsed`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The time allowed to open a connection. Default: 5 s. Only for the
    /// HTTP client this builder makes: with [`ClientBuilder::http_client`],
    /// set it on that client instead ([`ClientBuilder::build`] refuses
    /// both).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// When and how to retry; default [`RetryPolicy::default`], none with
    /// [`RetryPolicy::none`].
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// At most `limit` requests of this client (and of its clones, which
    /// share it) in flight at once; the others wait their turn, and the
    /// wait is not counted in [`ClientBuilder::timeout`]. Default: no
    /// bound, as before: many tasks sharing one client each open a
    /// connection. Zero is refused by [`ClientBuilder::build`].
    pub fn max_concurrent_requests(mut self, limit: usize) -> Self {
        self.max_concurrent_requests = Some(limit);
        self
    }

    /// Sends through this HTTP client (for a proxy, custom certificates,
    /// ...) instead of one the builder makes. The headers above are added
    /// to each request, whatever the client's own defaults.
    ///
    /// The client the builder makes does not follow redirects (a redirected
    /// `POST` would turn into a `GET`, and the token must not follow a
    /// redirect to another server); a supplied one does what it was
    /// configured to do. **reqwest's default policy follows redirects and
    /// keeps `X-Plex-Token` on the way, even to another host** (it drops
    /// only `Authorization` and cookies): build a supplied client with
    /// `.redirect(reqwest::redirect::Policy::none())`, or with a
    /// [`reqwest::redirect::Policy::custom`] that stops at another origin.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(Supplied::Custom(client));
        self
    }

    /// Makes this client's HTTP client on a TLS setup made once for the
    /// clients of many servers (see [`SharedHttpClient`]): the platform's
    /// certificates are not read again, and the connection pool is this
    /// client's own (its connections close when the client and its clones
    /// are dropped). It keeps every rule of the client the builder makes
    /// (redirects not followed); the headers above, and
    /// [`ClientBuilder::timeout`], stay this client's own.
    ///
    /// [`ClientBuilder::build`] refuses an `https` base URL when the
    /// shared client was made for `http` servers only
    /// ([`SharedHttpClient::has_tls_roots`]), and a
    /// [`ClientBuilder::connect_timeout`] (the shared client has its own).
    pub fn shared_http_client(mut self, shared: &SharedHttpClient) -> Self {
        self.http_client = Some(Supplied::Shared(shared.clone()));
        self
    }

    /// Checks the configuration and makes the client.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a base URL that is not
    /// `http(s)://host[:port][/path]` (credentials, a query or a fragment
    /// in it are refused: the token goes in [`ClientBuilder::token`]), an
    /// empty token, client identifier or product, a zero timeout or
    /// connect timeout, a bound of zero concurrent requests, a header value a header cannot carry, `https` without
    /// a TLS feature, `https` with a [`SharedHttpClient`] made for `http`
    /// servers only, a connect timeout with a supplied HTTP client, or an
    /// HTTP client that cannot be made.
    pub fn build(self) -> Result<Client, Error> {
        let base_url = normalize_base_url(&self.base_url)?;
        let https = base_url.starts_with("https:");
        if self.timeout.is_zero() {
            return Err(Error::invalid_config(
                "the timeout is zero: every attempt would time out at once; set one above zero",
            ));
        }
        if self.connect_timeout.is_some_and(|t| t.is_zero()) {
            return Err(Error::invalid_config(
                "the connect timeout is zero: no connection could be opened; set one above zero",
            ));
        }
        if self.max_concurrent_requests == Some(0) {
            return Err(Error::invalid_config(
                "at most zero concurrent requests would let none through: set at least 1",
            ));
        }
        if self.product.trim().is_empty() {
            return Err(Error::invalid_config(
                "the product is empty: Plex shows it as the program's name; set one, or leave the default",
            ));
        }
        if self
            .client_identifier
            .as_ref()
            .is_some_and(|id| id.trim().is_empty())
        {
            return Err(Error::invalid_config(
                "the client identifier is empty: Plex tells clients apart by it; set one, or leave the default",
            ));
        }

        let client_identifier = match &self.client_identifier {
            Some(identifier) => identifier.clone(),
            None => default_client_identifier(&self.product),
        };
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(token) = &self.token {
            if token.trim().is_empty() {
                return Err(Error::invalid_config(
                    "the token is empty: set a token, or none for a server that allows this network without one",
                ));
            }
            let mut value = HeaderValue::from_str(token).map_err(|_| {
                Error::invalid_config(
                    "the token contains characters a header cannot carry (such as a line break): check how it was read",
                )
            })?;
            value.set_sensitive(true);
            headers.insert(X_PLEX_TOKEN, value);
        }
        let identity = [
            (X_PLEX_CLIENT_IDENTIFIER, Some(&client_identifier)),
            (X_PLEX_PRODUCT, Some(&self.product)),
            (X_PLEX_VERSION, Some(&self.version)),
            (X_PLEX_DEVICE_NAME, self.device_name.as_ref()),
            (X_PLEX_PLATFORM, self.platform.as_ref()),
        ];
        for (name, value) in identity {
            if let Some(value) = value {
                let value = HeaderValue::from_str(value).map_err(|e| Error::InvalidConfig {
                    message: format!(
                        "the {name} value {:?} is not a valid header value",
                        excerpt(value.as_bytes(), None)
                    ),
                    source: Some(Box::new(e)),
                })?;
                headers.insert(name, value);
            }
        }

        if self.http_client.is_some() && self.connect_timeout.is_some() {
            return Err(Error::invalid_config(
                "a connect timeout cannot be applied to a supplied HTTP client: set it on that client",
            ));
        }
        let http = match self.http_client {
            Some(Supplied::Custom(client)) => client,
            Some(Supplied::Shared(shared)) => {
                if https && !shared.has_tls_roots() {
                    return Err(Error::invalid_config(
                        "the shared HTTP client was made for http servers only: \
                         include this https server in SharedHttpClient::for_servers",
                    ));
                }
                shared.client_for_one_server()?
            }
            // The platform's certificates only for an https server.
            None => make_http_client(
                self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
                https,
            )?,
        };

        let raw = plex_butler_raw::Client::new_with_client(&base_url, http, headers);
        Ok(Client {
            shared: Arc::new(Shared {
                raw,
                base_url,
                client_identifier,
                token: self.token,
                timeout: self.timeout,
                retry: self.retry,
                settings_changed: Default::default(),
                in_flight: self
                    .max_concurrent_requests
                    .map(|limit| Semaphore::new(limit.min(Semaphore::MAX_PERMITS))),
            }),
        })
    }
}

/// Checks the base URL and returns it without a trailing `/` (the raw
/// client appends `/butler`).
fn normalize_base_url(input: &str) -> Result<String, Error> {
    // The input is not echoed: it may hold a secret the user put there.
    let url = reqwest::Url::parse(input.trim()).map_err(|e| Error::InvalidConfig {
        message: "the base URL is not a URL; expected one like http://127.0.0.1:32400".to_owned(),
        source: Some(Box::new(e)),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        // Not echoed either: `token:...` parses as a URL of scheme `token`.
        return Err(Error::invalid_config(
            "the base URL's scheme is neither http nor https: use http:// or https://",
        ));
    }
    if url.host().is_none() {
        return Err(Error::invalid_config("the base URL has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid_config(
            "the base URL holds credentials: remove them (give the token separately, never in the URL)",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid_config(
            "the base URL has a query or fragment: remove it (give the token separately, never in the URL)",
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}
