//! Accounts that can change their address.
//!
//! - `auth_account`: each account's address and its `persistent_id`, fixed at its first
//!   sign-in and kept when the address changes. Filled here from the sessions already in the
//!   table (their `persistent_id` is the hash of their address, so no app data moves); an
//!   address with no session left gets its row at its next sign-in, with the same value.
//! - `auth_email_change`: the single-use links of a change of address, by the SHA-256 of
//!   their token: `confirm` (sent to the new address, moves the account there) and `undo`
//!   (sent to the old address once the account has moved, moves it back and signs out
//!   everywhere).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuthAccount {
    Table,
    Id,
    Email,
    PersistentId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuthEmailChange {
    Table,
    Id,
    TokenHash,
    Kind,
    PersistentId,
    FromEmail,
    ToEmail,
    Client,
    Session,
    Since,
    CreatedAt,
    ExpiresAt,
}

const ACCOUNT_ID_INDEX: &str = "idx_auth_account_persistent_id";
const ACCOUNT_EMAIL_INDEX: &str = "idx_auth_account_email";
const CHANGE_TOKEN_INDEX: &str = "idx_auth_email_change_token_hash";
const CHANGE_ACCOUNT_INDEX: &str = "idx_auth_email_change_persistent_id";
const CHANGE_TO_INDEX: &str = "idx_auth_email_change_to_email";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuthAccount::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AuthAccount::Id))
                    .col(string(AuthAccount::Email))
                    .col(string(AuthAccount::PersistentId))
                    .col(timestamp_with_time_zone(AuthAccount::CreatedAt))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            (ACCOUNT_ID_INDEX, AuthAccount::PersistentId),
            (ACCOUNT_EMAIL_INDEX, AuthAccount::Email),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AuthAccount::Table)
                        .col(column)
                        .unique()
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
        }
        // Every address with a session keeps the id its sessions carry.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO auth_account (email, persistent_id, created_at) \
                 SELECT email, MIN(persistent_id), MIN(created_at) FROM auth_session \
                 GROUP BY email",
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuthEmailChange::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AuthEmailChange::Id))
                    .col(string(AuthEmailChange::TokenHash))
                    .col(string_len(AuthEmailChange::Kind, 16))
                    .col(string(AuthEmailChange::PersistentId))
                    .col(string(AuthEmailChange::FromEmail))
                    .col(string(AuthEmailChange::ToEmail))
                    .col(string(AuthEmailChange::Client))
                    .col(big_integer_null(AuthEmailChange::Session))
                    .col(timestamp_with_time_zone(AuthEmailChange::Since))
                    .col(timestamp_with_time_zone(AuthEmailChange::CreatedAt))
                    .col(timestamp_with_time_zone(AuthEmailChange::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        for (name, column, unique) in [
            (CHANGE_TOKEN_INDEX, AuthEmailChange::TokenHash, true),
            (CHANGE_ACCOUNT_INDEX, AuthEmailChange::PersistentId, false),
            (CHANGE_TO_INDEX, AuthEmailChange::ToEmail, false),
        ] {
            let mut index = Index::create();
            index
                .name(name)
                .table(AuthEmailChange::Table)
                .col(column)
                .if_not_exists();
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuthEmailChange::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AuthAccount::Table).to_owned())
            .await
    }
}
