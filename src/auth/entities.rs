//! The sea-orm entities for the two auth tables (see the migration that creates them).

pub mod credential {
    use sea_orm::entity::prelude::*;

    /// One outstanding sign-in credential: a link token and a typed code for one email.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_credential")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub email: String,
        /// Lower-case hex SHA-256 of the link token.
        #[sea_orm(unique)]
        pub token_hash: String,
        /// argon2id PHC string of the code.
        pub code_hash: String,
        pub client_ip: String,
        /// Wrong codes tried so far.
        pub attempts: i32,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod session {
    use sea_orm::entity::prelude::*;

    /// One signed-in browser.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_session")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// Lower-case hex SHA-256 of the session token.
        #[sea_orm(unique)]
        pub token_hash: String,
        pub email: String,
        pub persistent_id: String,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        /// The browser's `User-Agent` at sign-in, cut to 256 characters.
        pub user_agent: Option<String>,
        /// The client address at sign-in.
        pub client_ip: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod failure {
    use sea_orm::entity::prelude::*;

    /// One failed attempt to redeem a link or a code, by client address.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_failure")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub client_ip: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
