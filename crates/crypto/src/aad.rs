//! What a ciphertext is bound to, and the unambiguous encoding used as AES-GCM associated data.
//!
//! Every field is length-prefixed and every encoding starts with a label naming its purpose, so
//! no two different contexts (or a context and a key name) can produce the same bytes.

use std::fmt;

use crate::KeyScope;

/// Where a sealed value lives: moving its ciphertext anywhere else makes it fail to open.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AadContext {
    /// The tenant (organisation) that owns the value.
    pub tenant: String,
    /// The patient the value is about; `None` seals under the tenant key.
    pub patient: Option<String>,
    /// The row or document the value belongs to.
    pub record: String,
    /// The column or attribute within the record.
    pub field: String,
}

impl AadContext {
    /// A context for a value about no particular patient, sealed under the tenant key.
    pub fn tenant(tenant: &str, record: &str, field: &str) -> Self {
        Self {
            tenant: tenant.into(),
            patient: None,
            record: record.into(),
            field: field.into(),
        }
    }

    /// A context for a value about `patient`, sealed under that patient's key.
    pub fn patient(tenant: &str, patient: &str, record: &str, field: &str) -> Self {
        Self {
            tenant: tenant.into(),
            patient: Some(patient.into()),
            record: record.into(),
            field: field.into(),
        }
    }

    /// The key scope that protects values in this context.
    pub fn scope(&self) -> KeyScope {
        match &self.patient {
            None => KeyScope::Tenant {
                tenant: self.tenant.clone(),
            },
            Some(patient) => KeyScope::Patient {
                tenant: self.tenant.clone(),
                patient: patient.clone(),
            },
        }
    }

    /// The associated-data encoding of this context under `label`, followed by `header`.
    pub(crate) fn encode(&self, label: &str, header: &[u8]) -> Vec<u8> {
        let mut fields = Fields::new(label);
        fields.bytes(header).str(&self.tenant);
        fields
            .optional(self.patient.as_deref())
            .str(&self.record)
            .str(&self.field);
        fields.finish()
    }
}

impl fmt::Debug for AadContext {
    // A patient identifier can itself identify a person, so it is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AadContext")
            .field("tenant", &self.tenant)
            .field("patient", &self.patient.as_ref().map(|_| ".."))
            .field("record", &self.record)
            .field("field", &self.field)
            .finish()
    }
}

/// The associated data binding a tenant or patient key to its scope and version.
pub(crate) fn key_aad(scope: &KeyScope, version: u32, parent_version: Option<u32>) -> Vec<u8> {
    let mut fields = Fields::new("phigate/key/v1");
    fields
        .str(scope.kind())
        .str(scope.tenant())
        .optional(scope.patient());
    fields.bytes(&version.to_be_bytes());
    if let Some(parent) = parent_version {
        fields.bytes(&parent.to_be_bytes());
    }
    fields.finish()
}

/// A builder of length-prefixed fields.
struct Fields(Vec<u8>);

impl Fields {
    fn new(label: &str) -> Self {
        let mut fields = Self(Vec::with_capacity(128));
        fields.str(label);
        fields
    }

    fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.0
            .extend_from_slice(&(bytes.len() as u64).to_be_bytes());
        self.0.extend_from_slice(bytes);
        self
    }

    fn str(&mut self, value: &str) -> &mut Self {
        self.bytes(value.as_bytes())
    }

    /// An absent value and an empty value encode differently.
    fn optional(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            None => self.0.push(0),
            Some(value) => {
                self.0.push(1);
                self.str(value);
            }
        }
        self
    }

    fn finish(self) -> Vec<u8> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_that_concatenate_alike_encode_differently() {
        let a = AadContext::tenant("ab", "c", "d");
        let b = AadContext::tenant("a", "bc", "d");
        assert_ne!(a.encode("l", b""), b.encode("l", b""));
    }

    #[test]
    fn an_empty_patient_is_not_the_same_as_no_patient() {
        let none = AadContext::tenant("t", "r", "f");
        let empty = AadContext::patient("t", "", "r", "f");
        assert_ne!(none.encode("l", b""), empty.encode("l", b""));
    }

    #[test]
    fn the_label_and_header_are_part_of_the_encoding() {
        let ctx = AadContext::tenant("t", "r", "f");
        assert_ne!(ctx.encode("data", b""), ctx.encode("dek", b""));
        assert_ne!(ctx.encode("data", b"\x01"), ctx.encode("data", b"\x02"));
    }

    #[test]
    fn debug_of_a_context_hides_the_patient() {
        let ctx = AadContext::patient("t", "MRN-12345", "r", "f");
        assert!(!format!("{ctx:?}").contains("MRN-12345"));
    }

    #[test]
    fn key_names_differ_by_version_and_parent_version() {
        let scope = KeyScope::Tenant { tenant: "t".into() };
        assert_ne!(key_aad(&scope, 1, None), key_aad(&scope, 2, None));
        assert_ne!(key_aad(&scope, 1, Some(1)), key_aad(&scope, 1, Some(2)));
    }
}
