//! The server binary: everything lives in the library's `server` module.

/// mimalloc rather than the system's allocator: rendering a page allocates and frees many
/// small values, and `make bench` measured the signed-in page at about 1.7 times the requests
/// per second with it.
#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Settings may also come from a `.env` file in the working folder; variables already set
    // in the environment win over it.
    let dotenv = dotenvy::dotenv();
    app::server::init_tracing();
    match dotenv {
        Ok(path) => tracing::info!(file = %path.display(), "read settings from .env"),
        Err(err) if err.not_found() => {}
        Err(err) => {
            eprintln!("error: could not read .env: {err}");
            return std::process::ExitCode::FAILURE;
        }
    }
    match app::server::run().await {
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
