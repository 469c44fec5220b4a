#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use leptos::prelude::*;
    use leptos_magic_link::{AuthConfig, AuthService, database};

    let conf = get_configuration(None)?;
    let addr = conf.leptos_options.site_addr;
    // Sign-in: settings from MAGIC_LINK_* variables, the auth tables in the app's database,
    // then the service.
    let config = AuthConfig::from_env()?;
    let db = database::open("sqlite://minimal-app.db?mode=rwc").await?;
    let auth = AuthService::builder(db, config).build()?;
    auth.spawn_cleanup();

    let app = minimal_app::server::router(conf.leptos_options, auth);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{addr}");
    // With the slow-client limits, and the client's address for the sign-in rate limits.
    leptos_magic_link::serve(listener, app).await;
    Ok(())
}

#[cfg(not(feature = "ssr"))]
pub fn main() {}
