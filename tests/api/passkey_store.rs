//! The passkey store against real databases: SQLite always, PostgreSQL when configured.

use std::time::Duration;

use app::auth::{
    entities::passkey_challenge::Purpose,
    store::{
        AuthStore,
        passkeys::{ChallengeOwner, NewPasskey, PASSKEY_NAME_MAX, PasskeyError, Uuid},
    },
};
use sea_orm::{DatabaseConnection, EntityTrait};

use crate::support::{email, noon, small_store as store};

const CHALLENGE_LIFETIME: Duration = Duration::from_secs(300);

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
    a_sign_counter_that_does_not_go_up_is_refused,
    two_uses_with_the_same_counter_record_one,
    a_deleted_passkey_cannot_be_used,
    another_address_cannot_list_rename_or_delete_your_passkeys,
    a_credential_registers_once,
    the_user_handle_is_random_stable_and_private,
    a_passkey_is_added_only_while_its_session_lives,
);

async fn a_passkey_is_added_only_while_its_session_lives(db: &DatabaseConnection) {
    use app::auth::{client::ClientKey, store::Device};
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
        .add_passkey_in_session(new("cred-live"), sessions[0], noon())
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
            .add_passkey_in_session(new("cred-bob"), bobs.session.id, noon())
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
            .add_passkey_in_session(new("cred-late"), sessions[0], noon())
            .await,
        Err(PasskeyError::SignedOut)
    ));
    assert!(store.list_passkeys(&alice).await.unwrap().is_empty());
}

async fn a_challenge_is_taken_once_before_it_expires_and_for_its_purpose(db: &DatabaseConnection) {
    let store = store(db);
    let alice = email("alice@example.com");
    let handle = store
        .save_challenge(
            Purpose::Register,
            ChallengeOwner {
                email: Some(&alice),
                client: None,
            },
            "state-1".into(),
            noon(),
            CHALLENGE_LIFETIME,
        )
        .await
        .unwrap();
    let taken = store
        .take_challenge(Purpose::Register, &handle, noon())
        .await
        .unwrap()
        .expect("taken the first time");
    assert_eq!(taken.email.as_ref(), Some(&alice));
    assert_eq!(taken.state, "state-1");
    assert_eq!(
        store
            .take_challenge(Purpose::Register, &handle, noon())
            .await
            .unwrap(),
        None,
        "a challenge is used once"
    );

    // Expired: refused, and gone.
    let late = store
        .save_challenge(
            Purpose::SignIn,
            ChallengeOwner::default(),
            "state-2".into(),
            noon(),
            CHALLENGE_LIFETIME,
        )
        .await
        .unwrap();
    let after_expiry = noon() + chrono::Duration::seconds(301);
    assert_eq!(
        store
            .take_challenge(Purpose::SignIn, &late, after_expiry)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_challenge(Purpose::SignIn, &late, noon())
            .await
            .unwrap(),
        None
    );

    // A sign-in challenge never finishes a registration, and is spent by the attempt.
    let sign_in = store
        .save_challenge(
            Purpose::SignIn,
            ChallengeOwner::default(),
            "state-3".into(),
            noon(),
            CHALLENGE_LIFETIME,
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .take_challenge(Purpose::Register, &sign_in, noon())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_challenge(Purpose::SignIn, &sign_in, noon())
            .await
            .unwrap(),
        None
    );

    // Only a hash of the handle is stored, and an unknown handle finds nothing.
    let kept = store
        .save_challenge(
            Purpose::SignIn,
            ChallengeOwner::default(),
            "state-4".into(),
            noon(),
            CHALLENGE_LIFETIME,
        )
        .await
        .unwrap();
    let rows = app::auth::entities::passkey_challenge::Entity::find()
        .all(db)
        .await
        .unwrap();
    assert!(
        rows.iter()
            .all(|row| row.handle_hash != kept && !row.handle_hash.contains(&kept))
    );
    assert_eq!(
        store
            .take_challenge(Purpose::SignIn, "not-a-handle", noon())
            .await
            .unwrap(),
        None
    );

    // Expired rows are purged; live ones stay.
    let purged = store.purge_expired_challenges(after_expiry).await.unwrap();
    assert!(purged >= 1);
    assert_eq!(
        store
            .take_challenge(Purpose::SignIn, &kept, after_expiry)
            .await
            .unwrap(),
        None
    );
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
    assert!(store.passkeys_of(&mallory).await.unwrap().is_empty());
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
