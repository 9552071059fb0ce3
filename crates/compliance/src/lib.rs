//! Compliance evidence: the HIPAA Security Rule controls (and the related Privacy and Breach
//! Notification rules the product touches) as data, each mapped to the Phigate features that meet
//! it and the automated tests that prove them.
//!
//! The catalogue lives in `compliance/controls.toml` at the root of the repository and is compiled
//! into the binary, so a deployment reports against the catalogue it was built with. Two checks
//! keep it honest:
//!
//! - [`Catalogue::missing_tests`] finds every named test that no longer exists in the source tree
//!   (run by this crate's own tests, so renaming or removing a named test fails `cargo test`);
//! - [`Catalogue::unproven_tests`] reads the output of a test run and finds every named test that
//!   did not run and pass in it (run by CI after the test command).

mod catalogue;
mod error;
mod results;
mod source;

pub use catalogue::{Catalogue, Control, Requirement, TestRef};
pub use error::CatalogueError;
pub use results::{TestOutcome, TestRun};
pub use source::MissingTest;
