//! FHIR R4 for Phigate: reading bundles, finding a patient's identifiers, projecting the
//! minimum necessary fields of a record for a task, and de-identifying resources path by path.
//!
//! This crate owns the shape of clinical data. It works on `serde_json::Value` trees rather than
//! a full typed model: Phigate only ever reads a handful of paths, and keeping unknown content
//! untouched matters more than typing all of FHIR. It never performs network calls, never
//! stores anything and never decides who may see what; it only says what a record contains.

mod bundle;
mod deidentify;
mod error;
mod grouping;
mod identifiers;
mod input;
mod path;
mod projection;
mod references;

pub use bundle::{Bundle, BundleKind, PatientRecord};
pub use deidentify::FhirDeidentifier;
pub use error::FhirError;
pub use grouping::{Grouped, PatientGroup};
pub use identifiers::known_phi;
pub use input::{ImportSet, InputFormat, Location};
pub use path::{first_string, strings_at};
pub use projection::{FieldRule, Projection, ResourceRule, Transform};
pub use references::{ReferenceSummary, References, Unresolved};
