//! The server binary refuses to start on an unusable setting, naming it in one line.
#![cfg(feature = "ssr")]
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Command;

#[test]
fn an_unusable_setting_stops_the_server_with_one_line() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let output = Command::new(env!("CARGO_BIN_EXE_magic-link-auth"))
        .current_dir(dir.path())
        .env("MAGIC_LINK_AUTH_OTP_RATE_LIMIT", "zero")
        .output()
        .expect("the server binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim_end(),
        "error: MAGIC_LINK_AUTH_OTP_RATE_LIMIT=\"zero\" is not usable: must be a whole number, 1 or more"
    );
    // It stopped before creating the database.
    assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
}
