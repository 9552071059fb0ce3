//! Talking to language models in the Anthropic Messages API's terms.
//!
//! This crate owns the wire format of the Messages API ([`types`]), its server-sent-event codec
//! ([`sse`]), the [`Provider`] interface with its two implementations — the real
//! [`AnthropicProvider`] and the offline [`EchoProvider`] — and [`mock::MockUpstream`], a
//! loopback imitation of the API for tests.
//!
//! It refuses to know anything about PHI. It sends the exact bytes it is handed in an
//! [`Outbound`], after the gateway has de-identified and checked them, and it never logs a
//! body, a prompt or an upstream error message: its errors carry statuses and error types only.

pub mod anthropic;
pub mod assemble;
pub mod echo;
pub mod error;
pub mod mock;
pub mod outbound;
pub mod provider;
pub mod sse;
pub mod types;

pub use anthropic::{AnthropicConfig, AnthropicProvider, ApiKey};
pub use assemble::{MessageAssembler, events_from_message};
pub use echo::EchoProvider;
pub use error::{Fault, LlmError, TransportKind};
pub use outbound::{DEFAULT_ANTHROPIC_VERSION, Outbound};
pub use provider::{EventStream, Provider, Received};
