//! The database schema, as an ordered list of migrations.
//!
//! The app applies them at start (`Migrator::up`); `cargo run -p migration -- up|down|status`
//! applies or inspects them by hand against `DATABASE_URL`.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_create_auth_tables;
mod m20261125_000002_create_auth_failure;
mod m20261125_000003_create_users;
mod m20261125_000004_add_session_device;
mod m20261125_000005_limits_per_requester;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_auth_tables::Migration),
            Box::new(m20261125_000002_create_auth_failure::Migration),
            Box::new(m20261125_000003_create_users::Migration),
            Box::new(m20261125_000004_add_session_device::Migration),
            Box::new(m20261125_000005_limits_per_requester::Migration),
        ]
    }
}
