//! Passkeys: the tables behind the `passkeys` feature. They are created whether or not the
//! feature is on, so turning it on or off never changes the schema an app's migrator expects.
//!
//! - `auth_passkey_user`: the random user handle each address shows to authenticators (never
//!   the address, nor a hash of it).
//! - `auth_passkey`: the registered passkeys, one row each, with their sign counter kept in
//!   its own column so a counter going backwards is refused by the database.
//! - `auth_passkey_challenge`: a WebAuthn ceremony in progress. Rows live in the database,
//!   not in memory, so any instance behind one database can finish what another started;
//!   each is taken once and expires. A sign-in ceremony records the client that started it,
//!   so one client cannot fill the table.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuthPasskeyUser {
    Table,
    Id,
    Email,
    UserHandle,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuthPasskey {
    Table,
    Id,
    Email,
    CredentialId,
    Name,
    Passkey,
    SignCount,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum AuthPasskeyChallenge {
    Table,
    Id,
    HandleHash,
    Purpose,
    Email,
    Client,
    State,
    CreatedAt,
    ExpiresAt,
}

const PASSKEY_EMAIL_INDEX: &str = "idx_auth_passkey_email";
const CHALLENGE_EXPIRES_INDEX: &str = "idx_auth_passkey_challenge_expires";
const CHALLENGE_CLIENT_INDEX: &str = "idx_auth_passkey_challenge_client";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuthPasskeyUser::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AuthPasskeyUser::Id))
                    .col(string_uniq(AuthPasskeyUser::Email))
                    .col(string_len_uniq(AuthPasskeyUser::UserHandle, 36))
                    .col(timestamp_with_time_zone(AuthPasskeyUser::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuthPasskey::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AuthPasskey::Id))
                    .col(string(AuthPasskey::Email))
                    .col(string_uniq(AuthPasskey::CredentialId))
                    .col(string(AuthPasskey::Name))
                    .col(text(AuthPasskey::Passkey))
                    .col(big_integer(AuthPasskey::SignCount).default(0))
                    .col(timestamp_with_time_zone(AuthPasskey::CreatedAt))
                    .col(timestamp_with_time_zone_null(AuthPasskey::LastUsedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(PASSKEY_EMAIL_INDEX)
                    .table(AuthPasskey::Table)
                    .col(AuthPasskey::Email)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuthPasskeyChallenge::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AuthPasskeyChallenge::Id))
                    .col(string_uniq(AuthPasskeyChallenge::HandleHash))
                    .col(string_len(AuthPasskeyChallenge::Purpose, 16))
                    .col(string_null(AuthPasskeyChallenge::Email))
                    .col(string_null(AuthPasskeyChallenge::Client))
                    .col(text(AuthPasskeyChallenge::State))
                    .col(timestamp_with_time_zone(AuthPasskeyChallenge::CreatedAt))
                    .col(timestamp_with_time_zone(AuthPasskeyChallenge::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(CHALLENGE_EXPIRES_INDEX)
                    .table(AuthPasskeyChallenge::Table)
                    .col(AuthPasskeyChallenge::ExpiresAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(CHALLENGE_CLIENT_INDEX)
                    .table(AuthPasskeyChallenge::Table)
                    .col(AuthPasskeyChallenge::Client)
                    .col(AuthPasskeyChallenge::ExpiresAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuthPasskeyChallenge::Table.into_iden(),
            AuthPasskey::Table.into_iden(),
            AuthPasskeyUser::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
