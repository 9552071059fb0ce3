//! Accounts' sign-in state, OAuth clients and refresh-token families in the store, on SQLite
//! and on PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed step fails the test"
)]

use std::sync::Arc;

use phigate_store::{
    ClientRecord, CodeUse, RefreshFamily, RefreshLimits, RefreshRefusal, Store, UserRecord,
};

mod common;
use common::{each_backend, each_backend_stored};

const ROOT: [u8; 32] = [9u8; 32];

fn user(store: &Store) -> UserRecord {
    let user = UserRecord {
        id: "u-1".into(),
        tenant: "t1".into(),
        username: "nurse.a".into(),
        role: "nurse".into(),
        password_hash: "$argon2id$stub".into(),
        disabled: false,
    };
    store.upsert_user(&user).unwrap();
    user
}

const T0: i64 = 1_800_000_000;
const LIMITS: RefreshLimits = RefreshLimits {
    idle_secs: 1800,
    grace_secs: 10,
};

fn family(store: &Store, id: &str) {
    let family = RefreshFamily {
        id: id.into(),
        tenant: "t1".into(),
        subject: "u-1".into(),
        client_id: "app".into(),
        role: "nurse".into(),
        scope: "task/triage".into(),
    };
    store
        .create_refresh_family(&family, &format!("{id}-h0"), T0, T0 + 12 * 3600)
        .unwrap();
}

#[test]
fn a_totp_secret_is_sealed_and_each_step_can_be_claimed_once() {
    each_backend_stored(&ROOT, |store, stored| {
        let user = user(&store);
        assert!(!store.user_security(&user.id).unwrap().totp_enrolled);
        store
            .set_totp_secret(&user, Some(b"SENTINEL-TOTP-SECRET"))
            .unwrap();
        assert!(store.user_security(&user.id).unwrap().totp_enrolled);
        assert_eq!(
            store.totp_secret(&user).unwrap().unwrap().as_slice(),
            b"SENTINEL-TOTP-SECRET"
        );
        assert!(store.claim_totp_step(&user.id, 100).unwrap());
        assert!(!store.claim_totp_step(&user.id, 100).unwrap());
        assert!(!store.claim_totp_step(&user.id, 99).unwrap());
        assert!(store.claim_totp_step(&user.id, 101).unwrap());
        drop(store);
        let bytes = stored.bytes();
        assert!(!bytes.windows(8).any(|w| w == b"SENTINEL"));
    });
}

#[test]
fn failures_are_counted_and_enabling_clears_a_lockout() {
    each_backend(&ROOT, |store| {
        let user = user(&store);
        store
            .record_sign_in_failure(&user.id, 10, T0, true)
            .unwrap();
        let state = store.user_security(&user.id).unwrap();
        assert_eq!((state.failures, state.locked), (10, true));
        store.set_user_disabled("t1", "nurse.a", true).unwrap();
        assert!(store.list_users("t1").unwrap()[0].disabled);
        store.set_user_disabled("t1", "nurse.a", false).unwrap();
        let state = store.user_security(&user.id).unwrap();
        assert_eq!((state.failures, state.locked), (0, false));
        assert!(store.set_user_disabled("t1", "nobody", true).is_err());
    });
}

#[test]
fn refresh_tokens_rotate_and_reuse_of_a_retired_one_revokes_the_family() {
    each_backend(&ROOT, |store| {
        family(&store, "f1");
        let rotated = store.rotate_refresh_token("f1-h0", "f1-h1", T0 + 60, LIMITS);
        assert_eq!(rotated.unwrap().unwrap().subject, "u-1");
        store
            .rotate_refresh_token("f1-h1", "f1-h2", T0 + 120, LIMITS)
            .unwrap()
            .unwrap();
        assert_eq!(store.live_refresh_tokens("f1").unwrap(), 1);

        // h0 is two generations back: theft. The family dies, h2 with it.
        assert_eq!(
            store
                .rotate_refresh_token("f1-h0", "x", T0 + 121, LIMITS)
                .unwrap(),
            Err(RefreshRefusal::Reused)
        );
        assert_eq!(store.live_refresh_tokens("f1").unwrap(), 0);
        assert_eq!(
            store
                .rotate_refresh_token("f1-h2", "y", T0 + 122, LIMITS)
                .unwrap(),
            Err(RefreshRefusal::Revoked)
        );
        assert!(store.refresh_family_of("f1-h2").unwrap().is_none());
    });
}

#[test]
fn the_immediate_predecessor_has_a_short_grace_and_then_counts_as_reuse() {
    each_backend(&ROOT, |store| {
        family(&store, "f2");
        store
            .rotate_refresh_token("f2-h0", "f2-h1", T0 + 60, LIMITS)
            .unwrap()
            .unwrap();
        assert_eq!(
            store
                .rotate_refresh_token("f2-h0", "z", T0 + 65, LIMITS)
                .unwrap(),
            Err(RefreshRefusal::RetryWithinGrace)
        );
        assert_eq!(store.live_refresh_tokens("f2").unwrap(), 1);
        assert_eq!(
            store
                .rotate_refresh_token("f2-h0", "z", T0 + 71, LIMITS)
                .unwrap(),
            Err(RefreshRefusal::Reused)
        );
        assert_eq!(store.live_refresh_tokens("f2").unwrap(), 0);
    });
}

#[test]
fn a_session_idle_past_its_limit_must_sign_in_again() {
    each_backend(&ROOT, |store| {
        family(&store, "f3");
        store
            .rotate_refresh_token("f3-h0", "f3-h1", T0 + 1800, LIMITS)
            .unwrap()
            .unwrap();
        assert_eq!(
            store
                .rotate_refresh_token("f3-h1", "f3-h2", T0 + 3601, LIMITS)
                .unwrap(),
            Err(RefreshRefusal::Idle)
        );
        assert_eq!(store.live_refresh_tokens("f3").unwrap(), 0);
    });
}

#[test]
fn a_family_dies_at_its_absolute_limit_however_active() {
    each_backend(&ROOT, |store| {
        family(&store, "f4");
        let mut current = "f4-h0".to_owned();
        let mut now = T0;
        while now + 1000 < T0 + 12 * 3600 {
            now += 1000;
            let next = format!("f4-{now}");
            store
                .rotate_refresh_token(&current, &next, now, LIMITS)
                .unwrap()
                .unwrap();
            current = next;
        }
        assert_eq!(
            store
                .rotate_refresh_token(&current, "late", T0 + 12 * 3600, LIMITS)
                .unwrap(),
            Err(RefreshRefusal::Expired)
        );
    });
}

#[test]
fn a_concurrent_refresh_race_leaves_at_most_one_live_token() {
    each_backend(&ROOT, |store| {
        family(&store, "f5");
        let threads: Vec<_> = (0..16)
            .map(|i| {
                let store = store.clone();
                std::thread::spawn(move || {
                    store
                        .rotate_refresh_token("f5-h0", &format!("f5-next-{i}"), T0 + 5, LIMITS)
                        .unwrap()
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let winners = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(winners, 1, "{results:?}");
        assert!(
            results
                .iter()
                .filter(|r| r.is_err())
                .all(|r| *r == Err(RefreshRefusal::RetryWithinGrace))
        );
        assert_eq!(store.live_refresh_tokens("f5").unwrap(), 1);
    });
}

#[test]
fn codes_and_assertion_ids_work_once() {
    each_backend(&ROOT, |store| {
        store.insert_auth_code("c1", "{}", T0 + 60).unwrap();
        assert_eq!(
            store.consume_auth_code("c1", T0).unwrap(),
            CodeUse::Fresh("{}".into())
        );
        store.set_auth_code_family("c1", "fam").unwrap();
        assert_eq!(
            store.consume_auth_code("c1", T0 + 1).unwrap(),
            CodeUse::Replayed(Some("fam".into()))
        );
        store.insert_auth_code("c2", "{}", T0 + 60).unwrap();
        assert_eq!(
            store.consume_auth_code("c2", T0 + 60).unwrap(),
            CodeUse::Unknown
        );
        assert_eq!(store.consume_auth_code("c3", T0).unwrap(), CodeUse::Unknown);

        assert!(
            store
                .claim_assertion_jti("app", "j1", T0 + 300, T0)
                .unwrap()
        );
        assert!(
            !store
                .claim_assertion_jti("app", "j1", T0 + 300, T0)
                .unwrap()
        );
        assert!(
            store
                .claim_assertion_jti("other", "j1", T0 + 300, T0)
                .unwrap()
        );

        store.revoke_access_token("jti-1", T0 + 900).unwrap();
        assert_eq!(
            store.revoked_access_tokens(T0).unwrap(),
            [("jti-1".to_owned(), T0 + 900)]
        );
        assert!(store.revoked_access_tokens(T0 + 2000).unwrap().is_empty());
    });
}

#[test]
fn clients_register_list_and_revoke_with_their_families() {
    each_backend(&ROOT, |store| {
        let client = ClientRecord {
            id: "app".into(),
            tenant: "t1".into(),
            name: "EHR".into(),
            role: "service".into(),
            auth_method: "client_secret_basic".into(),
            secret_hash: Some("ab".repeat(32)),
            jwks: None,
            redirect_uris: vec!["https://ehr.example/cb".into()],
            scopes: vec!["messages/create".into()],
            revoked: false,
        };
        store.insert_client(&client).unwrap();
        assert!(store.insert_client(&client).is_err());
        assert_eq!(store.client("app").unwrap().unwrap(), client);
        assert_eq!(store.list_clients("t1").unwrap().len(), 1);
        family(&store, "f6");
        store.revoke_client("t1", "app").unwrap();
        assert!(store.client("app").unwrap().unwrap().revoked);
        assert_eq!(store.live_refresh_tokens("f6").unwrap(), 0);
        assert!(store.revoke_client("t1", "missing").is_err());
        assert!(!format!("{client:?}").contains("abab"));
    });
}

#[test]
fn parallel_sign_in_failures_each_count_and_lock_at_the_threshold() {
    each_backend(&ROOT, |store| {
        let store = Arc::new(store);
        let user = user(&store);
        let threads: Vec<_> = (0..16)
            .map(|i| {
                let store = store.clone();
                let id = user.id.clone();
                std::thread::spawn(move || store.add_sign_in_failure(&id, T0 + i, 10).unwrap())
            })
            .collect();
        let mut counts: Vec<u32> = threads.into_iter().map(|t| t.join().unwrap().0).collect();
        counts.sort_unstable();
        assert_eq!(
            counts,
            (1..=16).collect::<Vec<u32>>(),
            "no failure was lost"
        );
        let security = store.user_security(&user.id).unwrap();
        assert_eq!(security.failures, 16);
        assert!(security.locked, "ten failures lock the account");
    });
}
