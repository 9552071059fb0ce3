//! `phigate compliance report`: the controls catalogue checked against this deployment's
//! configuration and data directory, for the privacy officer.
//!
//! Each catalogue control lists live checks by name; [`checks::run`] carries them out without
//! changing anything (no file is created, repaired or re-permissioned). A control fails when one
//! of its checks fails, passes when all pass, and a control without live checks is met by the
//! build itself (its features cannot be switched off), with its tests as the evidence.

pub mod checks;
pub mod report;

pub use report::Report;
