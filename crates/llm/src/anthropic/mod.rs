//! The real Anthropic API client.
//!
//! It posts an [`Outbound`]'s bytes unchanged to `{base_url}/v1/messages` with `x-api-key`,
//! `anthropic-version` and `anthropic-beta`. Failures that may pass (429, 5xx, 529, dropped
//! connections) are retried with exponential backoff and jitter, honouring `retry-after-ms`,
//! `retry-after` and `x-should-retry` (which overrides the status either way);
//! nothing is retried once a stream has begun, because its first events may already be on the
//! way to the caller. A circuit breaker stops calling an upstream that keeps failing.
//!
//! Plain `http://` is accepted only for loopback hosts, which is what the mock upstream uses.

mod breaker;
mod config;
mod events;
mod retry;

use std::future::Future;
use std::net::IpAddr;

use async_trait::async_trait;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use reqwest::{RequestBuilder, Response, Url};

use self::breaker::Breaker;
pub use self::config::{AnthropicConfig, ApiKey, BreakerConfig, DEFAULT_BASE_URL};
use self::retry::{backoff, error_from_response, transport_error};
use crate::error::{LlmError, TransportKind};
use crate::outbound::{DEFAULT_ANTHROPIC_VERSION, Outbound};
use crate::provider::{EventStream, Provider, Received};
use crate::types::{CountTokensResponse, MessagesResponse, ModelList};

/// A client of the Anthropic Messages API.
#[derive(Debug)]
pub struct AnthropicProvider {
    config: AnthropicConfig,
    client: reqwest::Client,
    api_key: HeaderValue,
    messages_url: Url,
    count_tokens_url: Url,
    models_url: Url,
    breaker: Breaker,
}

impl AnthropicProvider {
    /// A client for `config`; fails if the base URL or the key cannot be used.
    pub fn new(config: AnthropicConfig) -> Result<Self, LlmError> {
        let base =
            Url::parse(config.base_url.trim_end_matches('/')).map_err(|_| LlmError::Config {
                reason: "base_url is not a URL",
            })?;
        check_scheme(&base)?;
        let endpoint = |path: &str| {
            Url::parse(&format!("{}{path}", base.as_str().trim_end_matches('/'))).map_err(|_| {
                LlmError::Config {
                    reason: "base_url cannot take an API path",
                }
            })
        };

        let mut api_key = HeaderValue::from_str(config.api_key.expose_secret()).map_err(|_| {
            LlmError::Config {
                reason: "api key is not a valid header value",
            }
        })?;
        api_key.set_sensitive(true);
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("phigate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| LlmError::Config {
                reason: "http client could not be built",
            })?;

        Ok(AnthropicProvider {
            messages_url: endpoint("/v1/messages")?,
            count_tokens_url: endpoint("/v1/messages/count_tokens")?,
            models_url: endpoint("/v1/models")?,
            breaker: Breaker::new(config.breaker),
            config,
            client,
            api_key,
        })
    }

    /// A POST of the outbound bytes with the API's headers.
    fn post(&self, url: &Url, outbound: &Outbound) -> RequestBuilder {
        let accept = if outbound.stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        let builder = self
            .client
            .post(url.clone())
            .header("x-api-key", self.api_key.clone())
            .header("anthropic-version", outbound.anthropic_version.as_str())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, accept)
            .body(outbound.body.clone());
        match outbound.beta_header() {
            Some(beta) => builder.header("anthropic-beta", beta),
            None => builder,
        }
    }

    /// One attempt: sends, waits at most `first_byte_timeout` for the status and headers (and
    /// an error's body), and turns any non-success status into an error.
    async fn attempt(&self, request: RequestBuilder) -> Result<Response, LlmError> {
        let answer = async {
            let response = request.send().await.map_err(|e| transport_error(&e))?;
            if response.status().is_success() {
                Ok(response)
            } else {
                Err(error_from_response(response).await)
            }
        };
        tokio::time::timeout(self.config.first_byte_timeout, answer)
            .await
            .unwrap_or(Err(LlmError::Transport {
                kind: TransportKind::Timeout,
            }))
    }

    /// Runs `call` until it succeeds, fails for good, or runs out of retries.
    async fn with_retries<T, F, Fut>(
        &self,
        operation: &'static str,
        mut call: F,
    ) -> Result<T, LlmError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, LlmError>>,
    {
        let mut retry = 0;
        loop {
            self.breaker.check()?;
            let result = call().await;
            match &result {
                Err(err) if shows_upstream_unhealthy(err) => self.breaker.record_failure(),
                _ => self.breaker.record_success(),
            }
            let err = match result {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            phigate_telemetry::metrics().upstream_error("anthropic", failure_kind(&err));
            if !err.retryable() || retry >= self.config.max_retries {
                tracing::debug!(provider = "anthropic", operation, retries = retry, error = %err, "llm.call failed");
                return Err(err);
            }
            let wait = backoff(&self.config, retry, err.retry_after());
            tracing::debug!(
                provider = "anthropic",
                operation,
                retry = retry + 1,
                wait_ms = wait.as_millis() as u64,
                error = %err,
                "llm.call retrying"
            );
            tokio::time::sleep(wait).await;
            phigate_telemetry::metrics().upstream_retry("anthropic");
            retry += 1;
        }
    }
}

#[async_trait]
impl Provider for AnthropicProvider {
    fn name(&self) -> &str {
        "anthropic"
    }

    fn leaves_premises(&self) -> bool {
        true
    }

    async fn send(&self, outbound: &Outbound) -> Result<MessagesResponse, LlmError> {
        Ok(self.send_received(outbound).await?.message)
    }

    async fn send_received(&self, outbound: &Outbound) -> Result<Received, LlmError> {
        if outbound.stream {
            return Err(LlmError::InvalidRequest {
                reason: "a streaming request needs stream()",
            });
        }
        let bytes = self
            .with_retries("messages", || async move {
                let request = self
                    .post(&self.messages_url, outbound)
                    .timeout(self.config.timeout);
                let response = self.attempt(request).await?;
                response.bytes().await.map_err(|e| transport_error(&e))
            })
            .await?;
        let message =
            serde_json::from_slice(&bytes).map_err(|e| LlmError::decode("message", &e))?;
        Ok(Received { message, bytes })
    }

    async fn stream(&self, outbound: &Outbound) -> Result<EventStream, LlmError> {
        if !outbound.stream {
            return Err(LlmError::InvalidRequest {
                reason: "a non-streaming request needs send()",
            });
        }
        let response = self
            .with_retries("messages.stream", || async move {
                let request = self.post(&self.messages_url, outbound);
                self.attempt(request).await
            })
            .await?;
        Ok(events::event_stream(response, self.config.timeout))
    }

    async fn count_tokens(&self, outbound: &Outbound) -> Result<CountTokensResponse, LlmError> {
        let body = self
            .with_retries("count_tokens", || async move {
                let request = self
                    .post(&self.count_tokens_url, outbound)
                    .timeout(self.config.timeout);
                let response = self.attempt(request).await?;
                response.bytes().await.map_err(|e| transport_error(&e))
            })
            .await?;
        serde_json::from_slice(&body).map_err(|e| LlmError::decode("token count", &e))
    }

    async fn list_models(&self) -> Result<ModelList, LlmError> {
        let body = self
            .with_retries("models", || async move {
                let request = self
                    .client
                    .get(self.models_url.clone())
                    .header("x-api-key", self.api_key.clone())
                    .header("anthropic-version", DEFAULT_ANTHROPIC_VERSION)
                    .timeout(self.config.timeout);
                let response = self.attempt(request).await?;
                response.bytes().await.map_err(|e| transport_error(&e))
            })
            .await?;
        serde_json::from_slice(&body).map_err(|e| LlmError::decode("model list", &e))
    }
}

/// The class of a failed call, as a metric label.
fn failure_kind(err: &LlmError) -> &'static str {
    match err {
        LlmError::Upstream { status: 429, .. } => "rate_limited",
        LlmError::Upstream { status: 529, .. } => "overloaded",
        LlmError::Upstream { status, .. } if *status >= 500 => "server",
        LlmError::Upstream { .. } => "client",
        LlmError::Transport {
            kind: TransportKind::Timeout,
        } => "timeout",
        LlmError::Transport { .. } => "transport",
        LlmError::CircuitOpen { .. } => "circuit_open",
        LlmError::Decode { .. } => "decode",
        _ => "other",
    }
}

/// Failures that say the upstream is down or overloaded, as opposed to refusing a request.
fn shows_upstream_unhealthy(err: &LlmError) -> bool {
    match err {
        LlmError::Upstream { status, .. } => *status >= 500,
        LlmError::Transport { .. } => true,
        _ => false,
    }
}

/// HTTPS anywhere; plain HTTP only to this machine.
fn check_scheme(url: &Url) -> Result<(), LlmError> {
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(LlmError::Config {
            reason: "plain http is allowed only to loopback hosts",
        }),
        _ => Err(LlmError::Config {
            reason: "base_url must be https",
        }),
    }
}
