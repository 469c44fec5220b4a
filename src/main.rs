//! The server binary: everything lives in the library's `server` module.

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    magic_link_auth::server::init_tracing();
    match magic_link_auth::server::run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // One line on stderr, whether or not logging is set up yet.
            eprintln!("error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The binary is only built with the `ssr` feature; the `hydrate` build is the wasm library.
}
