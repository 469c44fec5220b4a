//! The demo app's users: one row per address that has signed in, with when it was first and
//! last seen, kept by an [`AuthHooks`] implementation. Server only.
//!
//! This is the pattern a fork follows to hang its own data off `persistent_id`.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::OnConflict,
};

use crate::auth::{
    AccountDeletedEvent, AuthHooks, Email, EmailChangedEvent, HookFuture, PersistentId,
    SignedInEvent, SignedOutEvent,
};

pub mod user {
    use sea_orm::entity::prelude::*;

    use crate::auth::{Email, PersistentId};

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub persistent_id: PersistentId,
        pub email: Email,
        pub first_seen_at: DateTimeUtc,
        pub last_seen_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Keeps the `users` table: a row on first sign-in, `last_seen_at` on every sign-in and
/// sign-out after that, the new address after a change of address (the row, keyed by
/// `persistent_id`, stays), and no row once the account is deleted.
pub struct UsersTable {
    db: DatabaseConnection,
}

impl UsersTable {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    async fn seen(
        &self,
        persistent_id: &PersistentId,
        email: &Email,
        at: DateTime<Utc>,
    ) -> Result<(), sea_orm::DbErr> {
        // One statement, so two instances seeing the same person at once cannot both insert.
        user::Entity::insert(user::ActiveModel {
            persistent_id: Set(persistent_id.clone()),
            email: Set(email.clone()),
            first_seen_at: Set(at),
            last_seen_at: Set(at),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::column(user::Column::PersistentId)
                .update_columns([user::Column::Email, user::Column::LastSeenAt])
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        Ok(())
    }
}

impl AuthHooks for UsersTable {
    fn signed_in<'a>(&'a self, event: &'a SignedInEvent) -> HookFuture<'a> {
        Box::pin(async move {
            self.seen(&event.persistent_id, &event.email, event.at)
                .await
                .map_err(Into::into)
        })
    }

    fn signed_out<'a>(&'a self, event: &'a SignedOutEvent) -> HookFuture<'a> {
        Box::pin(async move {
            self.seen(&event.persistent_id, &event.email, event.at)
                .await
                .map_err(Into::into)
        })
    }

    fn email_changed<'a>(&'a self, event: &'a EmailChangedEvent) -> HookFuture<'a> {
        Box::pin(async move {
            self.seen(&event.persistent_id, &event.new, event.at)
                .await
                .map_err(Into::into)
        })
    }

    fn account_deleted<'a>(&'a self, event: &'a AccountDeletedEvent) -> HookFuture<'a> {
        Box::pin(async move {
            user::Entity::delete_many()
                .filter(user::Column::PersistentId.eq(event.persistent_id.as_str()))
                .exec(&self.db)
                .await?;
            Ok(())
        })
    }
}
