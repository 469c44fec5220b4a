use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the server reports about itself to the home page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    pub version: String,
    pub database_reachable: bool,
}

/// Reports the server's version and whether its database answers.
#[server(prefix = "/api", endpoint = "status")]
pub async fn server_status() -> Result<StatusReport, ServerFnError> {
    let db = expect_context::<sea_orm::DatabaseConnection>();
    let database_reachable = db.ping().await.is_ok();
    Ok(StatusReport {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        database_reachable,
    })
}

#[component]
pub fn HomePage() -> impl IntoView {
    let check = Action::new(|_: &()| server_status());
    let pending = check.pending();

    view! {
        <section class="card" aria-labelledby="home-title">
            <h1 id="home-title">"Magic Link Auth"</h1>
            <p>
                "A Leptos starter for passwordless sign-in: enter an email, open the link, "
                "and you are in."
            </p>
            <button
                type="button"
                class="button"
                on:click=move |_| {
                    check.dispatch(());
                }
                disabled=pending
            >
                {move || if pending.get() { "Checking…" } else { "Check the server" }}
            </button>
            <p class="status" role="status" aria-live="polite">
                {move || {
                    check
                        .value()
                        .get()
                        .map(|result| match result {
                            Ok(status) if status.database_reachable => {
                                format!("Server {} is up and its database answers.", status.version)
                            }
                            Ok(status) => {
                                format!("Server {} is up, but its database does not answer.", status.version)
                            }
                            Err(_) => "The server could not be reached. Please try again.".to_owned(),
                        })
                }}
            </p>
        </section>
    }
}
