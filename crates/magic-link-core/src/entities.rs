//! The sea-orm entities of the auth tables (see the migrations that create them). Addresses
//! and persistent ids are their own types here too, so a row read back is never parsed again.

pub mod credential {
    use sea_orm::entity::prelude::*;

    use magic_link_types::domain::Email;

    /// One outstanding sign-in credential: a link token and a typed code for one email.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_credential")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub email: Email,
        /// Lower-case hex SHA-256 of the link token.
        #[sea_orm(unique)]
        pub token_hash: String,
        /// argon2id PHC string of the code; empty while the code is being hashed.
        pub code_hash: String,
        /// Who asked for it: the client as the limits key it (see `ClientKey`).
        pub client: String,
        /// Wrong codes tried so far. Past the maximum the code is dead; the link is not.
        pub attempts: i32,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        /// Whether its email went out: see [`Delivery`].
        pub delivery: Delivery,
    }

    /// What became of a credential's email, which is sent off the request path.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
    pub enum Delivery {
        /// Reserved, or queued for the mail provider.
        #[sea_orm(string_value = "pending")]
        Pending,
        /// Accepted by the mail provider.
        #[sea_orm(string_value = "sent")]
        Sent,
        /// Never sent: the address is not on the allow-list.
        #[sea_orm(string_value = "withheld")]
        Withheld,
        /// The provider failed every try; the credential is dead and counts against no limit.
        #[sea_orm(string_value = "failed")]
        Failed,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod session {
    use sea_orm::entity::prelude::*;

    use magic_link_types::domain::{Email, PersistentId};

    /// One signed-in browser.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_session")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// Lower-case hex SHA-256 of the session token.
        #[sea_orm(unique)]
        pub token_hash: String,
        pub email: Email,
        pub persistent_id: PersistentId,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        /// The browser's `User-Agent` at sign-in, cut to 256 characters.
        pub user_agent: Option<String>,
        /// The client address at sign-in.
        pub client_ip: Option<String>,
        /// When it last proved who it is: its sign-in, or a later confirmation. `None` for
        /// sessions from before this column, which count from `created_at`.
        pub authenticated_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod failure {
    use sea_orm::entity::prelude::*;

    use magic_link_types::domain::Email;

    /// One failed attempt to redeem a link or a code.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_failure")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// Who tried: the client as the limits key it.
        pub client: String,
        /// For a wrong code, the address whose code it was.
        pub email: Option<Email>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod known_client {
    use sea_orm::entity::prelude::*;

    use magic_link_types::domain::Email;

    /// A client an address has signed in from: its own requests pass the per-address limit.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_known_client")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub email: Email,
        /// The client as the limits key it.
        pub client: String,
        pub last_seen_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod known_device {
    use sea_orm::entity::prelude::*;

    use magic_link_types::domain::Email;

    /// A device an address has signed in from, as new-sign-in notices tell devices apart.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_known_device")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub email: Email,
        /// The browser and system, such as "Firefox on macOS".
        pub browser: String,
        /// The network around the address: an IPv4 /24 or an IPv6 /48.
        pub network: String,
        pub last_seen_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod sign_out_link {
    use sea_orm::entity::prelude::*;

    use magic_link_types::domain::Email;

    /// A notice's "sign out everywhere" link: it ends every session of its address, once.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_sign_out_link")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// Lower-case hex SHA-256 of the link's token.
        #[sea_orm(unique)]
        pub token_hash: String,
        pub email: Email,
        /// When the sign-in the notice warns of happened: passkeys added since go with it.
        pub since: DateTimeUtc,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod event {
    use sea_orm::entity::prelude::*;

    use magic_link_types::domain::Email;

    /// One thing that happened to an address, for its recent activity.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_event")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub email: Email,
        pub kind: EventKind,
        /// The browser and system, such as "Firefox on macOS", when known.
        pub device: Option<String>,
        /// The network around the client address (IPv4 /24, IPv6 /48), when known.
        pub network: Option<String>,
        /// How many times it happened: link requests (or wrong codes) within
        /// [`MERGE_WITHIN`](crate::store::MERGE_WITHIN) of each other share a row, whose
        /// browser and network read [`SEVERAL`](crate::store::SEVERAL) once they differ.
        pub count: i32,
        /// When it (last) happened.
        pub created_at: DateTimeUtc,
    }

    /// What happened.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
    pub enum EventKind {
        /// A sign-in link (and code) was asked for.
        #[sea_orm(string_value = "link_requested")]
        LinkRequested,
        #[sea_orm(string_value = "signed_in_link")]
        SignedInWithLink,
        #[sea_orm(string_value = "signed_in_code")]
        SignedInWithCode,
        #[sea_orm(string_value = "signed_in_passkey")]
        SignedInWithPasskey,
        /// A session signed itself out.
        #[sea_orm(string_value = "signed_out")]
        SignedOut,
        /// A session was ended from another one.
        #[sea_orm(string_value = "session_ended")]
        SessionEnded,
        /// Every session was ended (from the account page, or a notice's link).
        #[sea_orm(string_value = "signed_out_everywhere")]
        SignedOutEverywhere,
        #[sea_orm(string_value = "passkey_added")]
        PasskeyAdded,
        #[sea_orm(string_value = "passkey_removed")]
        PasskeyRemoved,
        /// A wrong code was typed for the address.
        #[sea_orm(string_value = "wrong_code")]
        WrongCode,
        /// The account moved to this address (from the account page's change of address).
        #[sea_orm(string_value = "email_changed")]
        EmailChanged,
        /// A change of address was undone from the old address's link: the account moved back
        /// and every session ended.
        #[sea_orm(string_value = "email_change_undone")]
        EmailChangeUndone,
        /// This account approved a sign-in on another device.
        #[sea_orm(string_value = "device_approved")]
        DeviceApproved,
        /// A request to sign in another device ended: the wrong number was picked.
        #[sea_orm(string_value = "device_refused")]
        DeviceRefused,
        #[sea_orm(string_value = "signed_in_approval")]
        SignedInByApproval,
    }

    impl EventKind {
        /// Whether anyone can cause it for any address (a link request, a wrong code): such
        /// events are merged, so that they cannot push the others out of view.
        pub fn is_noisy(self) -> bool {
            matches!(self, Self::LinkRequested | Self::WrongCode)
        }

        /// How the account page says it.
        pub fn describe(self) -> &'static str {
            match self {
                Self::LinkRequested => "Sign-in link requested",
                Self::SignedInWithLink => "Signed in with a link",
                Self::SignedInWithCode => "Signed in with a code",
                Self::SignedInWithPasskey => "Signed in with a passkey",
                Self::SignedOut => "Signed out",
                Self::SessionEnded => "Another session signed out",
                Self::SignedOutEverywhere => "Signed out everywhere",
                Self::PasskeyAdded => "Passkey added",
                Self::PasskeyRemoved => "Passkey removed",
                Self::WrongCode => "Wrong code entered",
                Self::EmailChanged => "Email address changed",
                Self::EmailChangeUndone => "Change of email address undone",
                Self::DeviceApproved => "Approved a sign-in on another device",
                Self::DeviceRefused => "Ended a sign-in request from another device (wrong number)",
                Self::SignedInByApproval => "Signed in with approval from another device",
            }
        }
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod passkey_user {
    use sea_orm::entity::prelude::*;

    use magic_link_types::domain::Email;

    /// The user handle an address shows to authenticators: a random UUID, made on its first
    /// passkey and kept while the address has any.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_passkey_user")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub email: Email,
        /// Hyphenated lower-case UUID.
        #[sea_orm(unique)]
        pub user_handle: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod passkey {
    use sea_orm::entity::prelude::*;

    use magic_link_types::domain::Email;

    /// One registered passkey.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_passkey")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub email: Email,
        /// The credential id, base64url without padding.
        #[sea_orm(unique)]
        pub credential_id: String,
        /// The name its owner gave it.
        pub name: String,
        /// The public key and its flags, as webauthn-rs serialises a `Passkey` (JSON). It
        /// holds no secret: the private key never leaves the authenticator.
        #[sea_orm(column_type = "Text")]
        pub passkey: String,
        /// The highest signature counter seen; a use must raise it (unless both are 0).
        pub sign_count: i64,
        pub created_at: DateTimeUtc,
        pub last_used_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod passkey_challenge {
    use sea_orm::entity::prelude::*;

    use magic_link_types::domain::Email;

    /// A WebAuthn ceremony in progress: taken once, by the instance that finishes it.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_passkey_challenge")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// Lower-case hex SHA-256 of the handle the browser holds.
        #[sea_orm(unique)]
        pub handle_hash: String,
        /// What it is for: see [`Purpose`].
        pub purpose: Purpose,
        /// Whose it is: set for a registration or confirmation (the signed-in address),
        /// empty for a sign-in.
        pub email: Option<Email>,
        /// Who started it, as the limits key clients (see `ClientKey`); set for sign-ins.
        pub client: Option<String>,
        /// The session that started it: set for a registration or confirmation, which only
        /// that session may finish, and which the per-session cap counts.
        pub session: Option<i64>,
        /// The webauthn-rs ceremony state (JSON), challenge included.
        #[sea_orm(column_type = "Text")]
        pub state: String,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
    }

    /// Which ceremony a challenge belongs to: a state made for one is never accepted by
    /// another.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
    pub enum Purpose {
        /// Adding a passkey to a signed-in address.
        #[sea_orm(string_value = "register")]
        Register,
        /// Signing in with a discoverable passkey.
        #[sea_orm(string_value = "sign_in")]
        SignIn,
        /// A signed-in session confirming it is still its person, before a sensitive action.
        #[sea_orm(string_value = "confirm")]
        Confirm,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod outbox {
    use sea_orm::entity::prelude::*;

    use magic_link_types::domain::Email;

    /// One message waiting to go out (see the migration that creates `auth_outbox`).
    ///
    /// Its `Debug` leaves out the secrets: a row logged by mistake gives nobody a way in.
    #[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_outbox")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The recipient.
        pub email: Email,
        /// What the message says beyond its secrets, as JSON.
        #[sea_orm(column_type = "Text")]
        pub message: String,
        /// The link token the message carries, until it is sent or dead.
        pub token: Option<String>,
        /// The code the message carries, until it is sent or dead.
        pub code: Option<String>,
        /// The sign-in credential it carries, whose row records what became of it.
        pub credential: Option<i64>,
        /// The pending sign-in (SHA-256 of the older link token) it replaces once sent.
        pub supersedes: Option<String>,
        /// Tries so far, counted when an instance claims it.
        pub attempts: i32,
        pub created_at: DateTimeUtc,
        /// When an instance may claim it next.
        pub next_attempt_at: DateTimeUtc,
    }

    impl std::fmt::Debug for Model {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Model")
                .field("id", &self.id)
                .field("email", &self.email)
                .field("message", &self.message)
                .field("credential", &self.credential)
                .field("attempts", &self.attempts)
                .field("created_at", &self.created_at)
                .field("next_attempt_at", &self.next_attempt_at)
                .finish_non_exhaustive()
        }
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod account {
    use sea_orm::entity::prelude::*;

    use magic_link_types::domain::{Email, PersistentId};

    /// An account: its address now, and the id the app keys its own rows on, fixed at the
    /// account's first sign-in and kept when the address changes.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_account")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub email: Email,
        pub persistent_id: PersistentId,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod email_change {
    use sea_orm::entity::prelude::*;

    use magic_link_types::domain::{Email, PersistentId};

    /// A single-use link of a change of address (see the migration that creates
    /// `auth_email_change`). Only the SHA-256 of its token is kept.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_email_change")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub token_hash: String,
        pub kind: ChangeKind,
        /// The account it moves.
        pub persistent_id: PersistentId,
        /// The address the account has when the link is made.
        pub from_email: Email,
        /// The address the link moves it to.
        pub to_email: Email,
        /// The requesting client, for the per-requester limit.
        pub client: String,
        /// The session that asked (a `confirm` link dies with it).
        pub session: Option<i64>,
        /// For an `undo` link: when the sign-in that asked for the change happened. Passkeys
        /// added since go with the undo.
        pub since: DateTimeUtc,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
    }

    /// Which link it is.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
    pub enum ChangeKind {
        /// Sent to the new address: moves the account there.
        #[sea_orm(string_value = "confirm")]
        Confirm,
        /// Sent to the old address after the move: moves the account back.
        #[sea_orm(string_value = "undo")]
        Undo,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod device_request {
    use sea_orm::entity::prelude::*;

    /// A request to sign in a new device, approved from a signed-in one (see the migration
    /// that creates `auth_device_request`). Only hashes of its secrets are kept.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_device_request")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub code_hash: String,
        #[sea_orm(unique)]
        pub poll_hash: String,
        /// The number the new device shows, 10 to 99.
        pub number: i32,
        /// The three numbers the approving device offers, comma-separated.
        pub choices: String,
        /// The requesting client, for its limit.
        pub client: String,
        pub user_agent: Option<String>,
        pub client_ip: Option<String>,
        /// The account that approved it, once one has.
        pub email: Option<String>,
        pub approved_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
