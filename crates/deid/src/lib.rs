//! PHI de-identification for Phigate.
//!
//! This crate owns everything that decides what in a text is protected health information and
//! what goes in its place:
//!
//! - [`Detector`] finds PHI in free text: values the caller already knows ([`KnownPhi`]), shaped
//!   identifiers (dates, phone numbers, record numbers…), places and people's names;
//! - [`Deidentifier`] replaces what was found with typed placeholders (`[NAME_1]`) that stay the
//!   same across a conversation, recording them in a [`Vault`];
//! - [`reidentify`] and [`StreamRestorer`] put the originals back into model output, reporting
//!   placeholders the vault never issued;
//! - [`gate::EgressGate`] is the last, independent check that no known value is in the bytes
//!   about to leave;
//! - [`eval`] scores detection against annotated corpora.
//!
//! It refuses to do I/O, to log, or to print a value: every type that holds PHI has a `Debug`
//! that shows only counts, and errors carry no data. Encrypting the vault is the caller's job.

mod automaton;
mod deidentify;
mod detect;
mod entity;
mod error;
pub mod eval;
mod fold;
pub mod gate;
mod known;
mod mode;
mod pseudonym;
mod reidentify;
pub mod shift;
#[cfg(test)]
mod testgen;
mod vault;

pub use deidentify::Deidentifier;
pub use detect::{Analysis, Detector, DetectorConfig, KnownMatcher};
pub use entity::{Entity, EntityKind, Source};
pub use error::DeidError;
pub use gate::{EgressGate, Leak};
pub use known::KnownPhi;
pub use mode::Mode;
pub use pseudonym::{Pseudonyms, random_key};
pub use reidentify::{Restored, StreamRestorer, reidentify};
pub use vault::{Vault, placeholder, spelling_key};
