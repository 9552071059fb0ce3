//! Property tests of the envelope: whatever the value and the context, sealing then opening in
//! the same context gives the value back; opening anywhere else, or after any change to one bit,
//! fails; rewrapping after a rotation changes neither fact.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::sync::{Arc, OnceLock};

use phigate_crypto::{
    AadContext, KeyMaterial, Keyring, LocalKms, MemoryKeyRepository, RewrapOutcome, inspect,
};
use proptest::prelude::*;

fn keyring() -> &'static Keyring {
    static KEYRING: OnceLock<Keyring> = OnceLock::new();
    KEYRING.get_or_init(|| {
        let kms = Arc::new(LocalKms::from_key(KeyMaterial::generate().unwrap()));
        Keyring::new(kms, Arc::new(MemoryKeyRepository::new()))
    })
}

fn context() -> impl Strategy<Value = AadContext> {
    (
        "[a-c]{1,3}",
        proptest::option::of("[a-z0-9-]{0,12}"),
        "[a-z0-9/]{0,16}",
        "[a-z]{0,6}",
    )
        .prop_map(|(tenant, patient, record, field)| AadContext {
            tenant,
            patient,
            record,
            field,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn a_sealed_value_opens_to_itself_in_its_context(
        ctx in context(),
        value in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let sealed = keyring().seal(&ctx, &value).unwrap();
        let opened = keyring().open(&ctx, &sealed).unwrap();
        prop_assert_eq!(opened.as_slice(), value.as_slice());
        prop_assert_eq!(inspect(&sealed).unwrap().format, 2);
    }

    #[test]
    fn a_sealed_value_opens_in_no_other_context(
        ctx in context(),
        other in context(),
        value in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        prop_assume!(ctx != other);
        let sealed = keyring().seal(&ctx, &value).unwrap();
        prop_assert!(keyring().open(&other, &sealed).is_err());
    }

    #[test]
    fn flipping_any_bit_makes_open_fail(
        ctx in context(),
        value in proptest::collection::vec(any::<u8>(), 0..256),
        position in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let mut sealed = keyring().seal(&ctx, &value).unwrap();
        let at = position.index(sealed.len());
        sealed[at] ^= 1 << bit;
        prop_assert!(keyring().open(&ctx, &sealed).is_err());
    }

    #[test]
    fn a_value_rewrapped_after_rotation_still_opens_to_itself(
        patient in "[a-z]{1,8}",
        value in proptest::collection::vec(any::<u8>(), 0..1024),
    ) {
        let kms = Arc::new(LocalKms::from_key(KeyMaterial::generate().unwrap()));
        let keyring = Keyring::new(kms, Arc::new(MemoryKeyRepository::new()));
        let ctx = AadContext::patient("t", &patient, "r", "f");
        let old = keyring.seal(&ctx, &value).unwrap();
        keyring.rotate(&ctx.scope()).unwrap();
        let RewrapOutcome::Rewrapped(new) = keyring.rewrap(&ctx, &old).unwrap() else {
            return Err(TestCaseError::fail("not rewrapped"));
        };
        prop_assert_eq!(inspect(&new).unwrap().version, 2);
        let opened = keyring.open(&ctx, &new).unwrap();
        prop_assert_eq!(opened.as_slice(), value.as_slice());
    }
}
