//! The real parts the tests run against: the app on a random port, a Mailgun stand-in, an
//! SMTP server, a software authenticator; and (from the library) fresh databases.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

pub mod app;
pub mod authenticator;
pub mod mailgun;
pub mod smtp;

/// The server binary cargo built beside these tests, `target/<profile>/<package name>`:
/// named after the package, so renaming the app changes nothing here.
pub fn server_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/debug/deps/api-… → target/debug/
    exe.parent()
        .and_then(std::path::Path::parent)
        .expect("the target folder")
        .join(env!("CARGO_PKG_NAME"))
}

// The test databases and store helpers are the library's own (its `testing` feature).
pub use magic_link_core::testing::{TestDb, email, noon, small_store};

/// A loopback address with a port nothing listens on, for a server process to take.
pub fn free_local_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    format!("{}", listener.local_addr().expect("local address"))
}
