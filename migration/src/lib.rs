//! The database schema, as an ordered list of migrations: the auth tables from
//! `magic-link-core`, then the demo's own.
//!
//! The app applies them at start (`Migrator::up`); `cargo run -p migration -- up|down|status`
//! applies or inspects them by hand against `DATABASE_URL`.

pub use sea_orm_migration::prelude::*;

mod m20261125_000003_create_users;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = magic_link_core::migrations::all();
        all.push(Box::new(m20261125_000003_create_users::Migration));
        all
    }
}
