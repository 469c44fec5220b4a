//! The passkey store against real databases: SQLite always, PostgreSQL when configured.

use std::time::Duration;

use magic_link_core::{
    entities::passkey_challenge::Purpose,
    store::{
        AuthStore,
        passkeys::{
            ChallengeOwner, NewPasskey, PASSKEY_NAME_MAX, PasskeyError, SessionOwner, Uuid,
        },
    },
};
use sea_orm::{DatabaseConnection, EntityTrait};

use magic_link_core::testing::{email, noon, small_store as store};

const CHALLENGE_LIFETIME: Duration = Duration::from_secs(300);

/// A cap no test here reaches.
const NO_CAP: u64 = 1_000;

/// The most passkeys the tests here let an address have, unless they test the limit.
const PASSKEYS: u32 = 20;

/// Keeps a ceremony for `purpose` by `owner` at noon, with no cap in the way; its handle.
async fn save(
    store: &AuthStore,
    purpose: Purpose,
    owner: ChallengeOwner<'_>,
    state: &str,
) -> String {
    store
        .save_challenge(
            purpose,
            owner,
            state.into(),
            noon(),
            CHALLENGE_LIFETIME,
            NO_CAP,
        )
        .await
        .unwrap()
        .expect("under the cap")
}

/// Keeps a sign-in ceremony started by nobody in particular.
async fn save_sign_in(store: &AuthStore, state: &str) -> String {
    let client = magic_link_core::client::ClientKey::of([192, 0, 2, 99].into(), 64);
    save(
        store,
        Purpose::SignIn,
        ChallengeOwner::Client(&client),
        state,
    )
    .await
}

/// Adds a passkey with credential id `credential` to `address`, returning its id.
async fn add(store: &AuthStore, address: &str, credential: &str) -> i64 {
    store
        .add_passkey(
            NewPasskey {
                email: &email(address),
                name: "Laptop",
                credential_id: credential,
                passkey: "{\"cred\":{}}",
            },
            noon(),
        )
        .await
        .expect("passkey added")
        .id
}

on_both_databases!(
    a_challenge_is_taken_once_before_it_expires_and_for_its_purpose,
    a_confirmation_is_finished_only_by_its_session_and_for_its_purpose,
    each_owner_holds_at_most_its_cap_of_live_ceremonies,
    an_address_adds_passkeys_up_to_its_limit_even_all_at_once,
    a_sign_counter_that_does_not_go_up_is_refused,
    two_uses_with_the_same_counter_record_one,
    a_deleted_passkey_cannot_be_used,
    another_address_cannot_list_rename_or_delete_your_passkeys,
    a_credential_registers_once,
    the_user_handle_is_random_stable_and_private,
    a_passkey_is_added_only_while_its_session_lives,
);

async fn a_passkey_is_added_only_while_its_session_lives(db: &DatabaseConnection) {
    use magic_link_core::{client::ClientKey, store::Device};
    let store = store(db);
    let alice = email("alice@example.com");
    let client = ClientKey::of([192, 0, 2, 7].into(), 64);
    let mut sessions = Vec::new();
    for _ in 0..2 {
        let issued = store.issue(&alice, &client, noon()).await.unwrap();
        let signed_in = store
            .redeem_link(&issued.token, &client, &Device::default(), noon())
            .await
            .unwrap();
        sessions.push(signed_in.session.id);
    }
    let new = |credential: &'static str| NewPasskey {
        email: &alice,
        name: "Laptop",
        credential_id: credential,
        passkey: "{}",
    };
    store
        .add_passkey_in_session(new("cred-live"), sessions[0], PASSKEYS, noon())
        .await
        .expect("added while signed in");
    // Another address's session adds nothing to alice.
    let bob = email("bob@example.com");
    let issued = store.issue(&bob, &client, noon()).await.unwrap();
    let bobs = store
        .redeem_link(&issued.token, &client, &Device::default(), noon())
        .await
        .unwrap();
    assert!(matches!(
        store
            .add_passkey_in_session(new("cred-bob"), bobs.session.id, PASSKEYS, noon())
            .await,
        Err(PasskeyError::SignedOut)
    ));
    // The account deleted while a ceremony ran: the ceremony's end adds nothing.
    store
        .delete_account(&alice, sessions[1], noon())
        .await
        .unwrap()
        .expect("deleted");
    assert!(matches!(
        store
            .add_passkey_in_session(new("cred-late"), sessions[0], PASSKEYS, noon())
            .await,
        Err(PasskeyError::SignedOut)
    ));
    assert!(store.list_passkeys(&alice).await.unwrap().is_empty());
}

async fn a_challenge_is_taken_once_before_it_expires_and_for_its_purpose(db: &DatabaseConnection) {
    let store = store(db);
    let alice = email("alice@example.com");
    let owner = SessionOwner {
        email: &alice,
        session: 7,
    };
    let handle = save(
        &store,
        Purpose::Register,
        ChallengeOwner::Session(owner),
        "state-1",
    )
    .await;
    let taken = store
        .take_challenge(Purpose::Register, Some(owner), &handle, noon())
        .await
        .unwrap()
        .expect("taken the first time");
    assert_eq!(taken.email.as_ref(), Some(&alice));
    assert_eq!(taken.state, "state-1");
    assert_eq!(
        store
            .take_challenge(Purpose::Register, Some(owner), &handle, noon())
            .await
            .unwrap(),
        None,
        "a challenge is used once"
    );

    // Expired: refused, and gone.
    let late = save_sign_in(&store, "state-2").await;
    let after_expiry = noon() + chrono::Duration::seconds(301);
    assert_eq!(
        store
            .take_challenge(Purpose::SignIn, None, &late, after_expiry)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_challenge(Purpose::SignIn, None, &late, noon())
            .await
            .unwrap(),
        None
    );

    // A sign-in challenge never finishes a registration or a confirmation, and the attempt
    // leaves it for the sign-in.
    let sign_in = save_sign_in(&store, "state-3").await;
    for purpose in [Purpose::Register, Purpose::Confirm] {
        for by in [None, Some(owner)] {
            assert_eq!(
                store
                    .take_challenge(purpose, by, &sign_in, noon())
                    .await
                    .unwrap(),
                None,
                "{purpose:?} by {by:?}"
            );
        }
    }
    assert_eq!(
        store
            .take_challenge(Purpose::SignIn, Some(owner), &sign_in, noon())
            .await
            .unwrap(),
        None,
        "a sign-in has no session"
    );
    assert!(
        store
            .take_challenge(Purpose::SignIn, None, &sign_in, noon())
            .await
            .unwrap()
            .is_some()
    );

    // Only a hash of the handle is stored, and an unknown handle finds nothing.
    let kept = save_sign_in(&store, "state-4").await;
    let rows = magic_link_core::entities::passkey_challenge::Entity::find()
        .all(db)
        .await
        .unwrap();
    assert!(
        rows.iter()
            .all(|row| row.handle_hash != kept && !row.handle_hash.contains(&kept))
    );
    assert_eq!(
        store
            .take_challenge(Purpose::SignIn, None, "not-a-handle", noon())
            .await
            .unwrap(),
        None
    );

    // Expired rows are purged; live ones stay.
    let purged = store.purge_expired_challenges(after_expiry).await.unwrap();
    assert!(purged >= 1);
    assert_eq!(
        store
            .take_challenge(Purpose::SignIn, None, &kept, after_expiry)
            .await
            .unwrap(),
        None
    );
}

async fn a_confirmation_is_finished_only_by_its_session_and_for_its_purpose(
    db: &DatabaseConnection,
) {
    let store = store(db);
    let alice = email("alice@example.com");
    let mallory = email("mallory@example.com");
    let mine = SessionOwner {
        email: &alice,
        session: 1,
    };
    let handle = save(
        &store,
        Purpose::Confirm,
        ChallengeOwner::Session(mine),
        "confirm",
    )
    .await;
    let strangers = [
        (Purpose::SignIn, None),
        (Purpose::Register, Some(mine)),
        (
            Purpose::Confirm,
            Some(SessionOwner {
                email: &alice,
                session: 2,
            }),
        ),
        (
            Purpose::Confirm,
            Some(SessionOwner {
                email: &mallory,
                session: 1,
            }),
        ),
    ];
    for (purpose, by) in strangers {
        assert_eq!(
            store
                .take_challenge(purpose, by, &handle, noon())
                .await
                .unwrap(),
            None,
            "{purpose:?} by {by:?}"
        );
    }
    let taken = store
        .take_challenge(Purpose::Confirm, Some(mine), &handle, noon())
        .await
        .unwrap()
        .expect("still there for its own session");
    assert_eq!(taken.state, "confirm");
}

async fn each_owner_holds_at_most_its_cap_of_live_ceremonies(db: &DatabaseConnection) {
    let store = store(db);
    let save = |session: i64, now: chrono::DateTime<chrono::Utc>| {
        let store = store.clone();
        tokio::spawn(async move {
            let alice = email("alice@example.com");
            store
                .save_challenge(
                    Purpose::Register,
                    ChallengeOwner::Session(SessionOwner {
                        email: &alice,
                        session,
                    }),
                    "{}".into(),
                    now,
                    CHALLENGE_LIFETIME,
                    3,
                )
                .await
                .unwrap()
        })
    };
    // Started together, three of eight fit.
    let started: Vec<_> = (0..8).map(|_| save(1, noon())).collect();
    let mut saved = 0;
    for start in started {
        saved += usize::from(start.await.unwrap().is_some());
    }
    assert_eq!(saved, 3);
    assert!(
        save(2, noon()).await.unwrap().is_some(),
        "another session has its own"
    );
    // Expired ceremonies no longer count.
    let later = noon() + chrono::Duration::seconds(301);
    assert!(save(1, later).await.unwrap().is_some());
}

async fn an_address_adds_passkeys_up_to_its_limit_even_all_at_once(db: &DatabaseConnection) {
    use magic_link_core::{client::ClientKey, store::Device};
    let store = store(db);
    let alice = email("alice@example.com");
    let client = ClientKey::of([192, 0, 2, 8].into(), 64);
    let issued = store.issue(&alice, &client, noon()).await.unwrap();
    let session = store
        .redeem_link(&issued.token, &client, &Device::default(), noon())
        .await
        .unwrap()
        .session
        .id;
    add(&store, "alice@example.com", "cred-first").await;
    let adds: Vec<_> = (0..6)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let credential = format!("cred-{n}");
                store
                    .add_passkey_in_session(
                        NewPasskey {
                            email: &email("alice@example.com"),
                            name: "Key",
                            credential_id: &credential,
                            passkey: "{}",
                        },
                        session,
                        3,
                        noon(),
                    )
                    .await
            })
        })
        .collect();
    let mut added = 0;
    for outcome in adds {
        match outcome.await.unwrap() {
            Ok(_) => added += 1,
            Err(PasskeyError::TooMany { have: 3, limit: 3 }) => {}
            Err(other) => panic!("unexpected: {other:?}"),
        }
    }
    assert_eq!(added, 2, "one passkey there, two more fit under 3");
    assert_eq!(store.count_passkeys(&alice).await.unwrap(), 3);
    assert_eq!(store.passkeys_of(&alice, 2).await.unwrap().len(), 2);
}

async fn a_sign_counter_that_does_not_go_up_is_refused(db: &DatabaseConnection) {
    let store = store(db);
    let alice = email("alice@example.com");
    let id = add(&store, "alice@example.com", "cred-counter").await;
    store
        .record_passkey_use(&alice, id, 5, "{}", noon())
        .await
        .unwrap();
    for stale in [5, 3, 0] {
        let refused = store
            .record_passkey_use(&alice, id, stale, "{}", noon())
            .await;
        assert!(
            matches!(refused, Err(PasskeyError::CounterWentBack)),
            "counter {stale} after 5: {refused:?}"
        );
    }
    store
        .record_passkey_use(&alice, id, 6, "{\"n\":6}", noon())
        .await
        .unwrap();
    let stored = store
        .passkey_by_credential("cred-counter")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.sign_count, stored.passkey.as_str()),
        (6, "{\"n\":6}")
    );

    // An authenticator without a counter sends 0 every time: that is allowed, until it
    // once sends a counter, after which 0 is going backwards.
    let zero = add(&store, "alice@example.com", "cred-zero").await;
    store
        .record_passkey_use(&alice, zero, 0, "{}", noon())
        .await
        .unwrap();
    store
        .record_passkey_use(&alice, zero, 0, "{}", noon())
        .await
        .unwrap();
    store
        .record_passkey_use(&alice, zero, 1, "{}", noon())
        .await
        .unwrap();
    assert!(matches!(
        store
            .record_passkey_use(&alice, zero, 0, "{}", noon())
            .await,
        Err(PasskeyError::CounterWentBack)
    ));
    let listed = store.list_passkeys(&alice).await.unwrap();
    assert!(listed.iter().all(|p| p.last_used_at == Some(noon())));
}

async fn two_uses_with_the_same_counter_record_one(db: &DatabaseConnection) {
    let store = store(db);
    let id = add(&store, "alice@example.com", "cred-race").await;
    let attempts = (0..12).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .record_passkey_use(&email("alice@example.com"), id, 7, "{}", noon())
                .await
        })
    });
    let mut recorded = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(()) => recorded += 1,
            Err(PasskeyError::CounterWentBack) => {}
            Err(other) => panic!("unexpected: {other:?}"),
        }
    }
    assert_eq!(recorded, 1, "one of twelve same-counter uses is recorded");
}

async fn a_deleted_passkey_cannot_be_used(db: &DatabaseConnection) {
    let store = store(db);
    let alice = email("alice@example.com");
    let id = add(&store, "alice@example.com", "cred-gone").await;
    assert!(store.delete_passkey(&alice, id).await.unwrap());
    assert!(
        !store.delete_passkey(&alice, id).await.unwrap(),
        "deleted once"
    );
    assert_eq!(
        store.passkey_by_credential("cred-gone").await.unwrap(),
        None
    );
    assert!(matches!(
        store.record_passkey_use(&alice, id, 9, "{}", noon()).await,
        Err(PasskeyError::NotFound)
    ));
    assert!(store.list_passkeys(&alice).await.unwrap().is_empty());
}

async fn another_address_cannot_list_rename_or_delete_your_passkeys(db: &DatabaseConnection) {
    let store = store(db);
    let alice = email("alice@example.com");
    let mallory = email("mallory@example.com");
    let id = add(&store, "alice@example.com", "cred-alice").await;

    assert!(store.list_passkeys(&mallory).await.unwrap().is_empty());
    assert!(
        store
            .passkeys_of(&mallory, PASSKEYS)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !store
            .rename_passkey(&mallory, id, "mine now")
            .await
            .unwrap()
    );
    assert!(!store.delete_passkey(&mallory, id).await.unwrap());
    assert!(matches!(
        store
            .record_passkey_use(&mallory, id, 1, "{}", noon())
            .await,
        Err(PasskeyError::NotFound)
    ));

    let listed = store.list_passkeys(&alice).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "Laptop");
    assert_eq!(listed[0].last_used_at, None);

    // The owner can rename it; names are cleaned and cut.
    assert!(
        store
            .rename_passkey(&alice, id, "  Work\tphone \n")
            .await
            .unwrap()
    );
    assert_eq!(
        store.list_passkeys(&alice).await.unwrap()[0].name,
        "Workphone"
    );
    assert!(
        store
            .rename_passkey(&alice, id, &"é".repeat(200))
            .await
            .unwrap()
    );
    assert_eq!(
        store.list_passkeys(&alice).await.unwrap()[0]
            .name
            .chars()
            .count(),
        PASSKEY_NAME_MAX
    );
}

async fn a_credential_registers_once(db: &DatabaseConnection) {
    let store = store(db);
    add(&store, "alice@example.com", "cred-shared").await;
    for address in ["alice@example.com", "bob@example.com"] {
        let again = store
            .add_passkey(
                NewPasskey {
                    email: &email(address),
                    name: "Again",
                    credential_id: "cred-shared",
                    passkey: "{}",
                },
                noon(),
            )
            .await;
        assert!(
            matches!(again, Err(PasskeyError::AlreadyRegistered)),
            "{again:?}"
        );
    }
    let owner = store
        .passkey_by_credential("cred-shared")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(owner.email, email("alice@example.com"));
    assert!(
        store
            .list_passkeys(&email("bob@example.com"))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn the_user_handle_is_random_stable_and_private(db: &DatabaseConnection) {
    let store = store(db);
    let alice = email("alice@example.com");
    let bob = email("bob@example.com");
    let first = store.passkey_user_handle(&alice, noon()).await.unwrap();
    assert_eq!(
        store.passkey_user_handle(&alice, noon()).await.unwrap(),
        first,
        "stable"
    );
    let other = store.passkey_user_handle(&bob, noon()).await.unwrap();
    assert_ne!(first, other);
    assert_eq!(first.get_version_num(), 4, "a random (v4) UUID");
    assert_eq!(
        store.email_of_user_handle(&first).await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(
        store.email_of_user_handle(&Uuid::nil()).await.unwrap(),
        None
    );

    // Made at the same moment by many callers, it is still one handle.
    let carol = email("carol@example.com");
    let makers = (0..8).map(|_| {
        let store = store.clone();
        let carol = carol.clone();
        tokio::spawn(async move { store.passkey_user_handle(&carol, noon()).await.unwrap() })
    });
    let mut handles = Vec::new();
    for maker in makers {
        handles.push(maker.await.unwrap());
    }
    handles.dedup();
    assert_eq!(handles.len(), 1, "{handles:?}");
}
