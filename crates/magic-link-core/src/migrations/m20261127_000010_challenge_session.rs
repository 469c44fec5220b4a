//! The session behind each passkey registration and confirmation: only that session may
//! finish the ceremony, and one session may hold only a few unfinished ones at a time (the
//! index serves that count). Sign-ins have none. Ceremonies started before this migration
//! have none either, so no registration or confirmation finishes them: they expire within
//! 5 minutes, and the person presses the button again.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuthPasskeyChallenge {
    Table,
    Session,
    ExpiresAt,
}

const CHALLENGE_SESSION_INDEX: &str = "idx_auth_passkey_challenge_session";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AuthPasskeyChallenge::Table)
                    .add_column(big_integer_null(AuthPasskeyChallenge::Session))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(CHALLENGE_SESSION_INDEX)
                    .table(AuthPasskeyChallenge::Table)
                    .col(AuthPasskeyChallenge::Session)
                    .col(AuthPasskeyChallenge::ExpiresAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(CHALLENGE_SESSION_INDEX)
                    .table(AuthPasskeyChallenge::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AuthPasskeyChallenge::Table)
                    .drop_column(AuthPasskeyChallenge::Session)
                    .to_owned(),
            )
            .await
    }
}
