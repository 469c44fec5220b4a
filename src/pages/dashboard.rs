use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::auth::{AuthError, RequireAuth};

/// What the demo knows of the signed-in person: its own `users` row, keyed by
/// `persistent_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserProfile {
    pub email: String,
    pub persistent_id: String,
    /// When the `users` row was made and last touched, as `YYYY-MM-DD HH:MM UTC`; `None`
    /// when the sign-in hook has not written it (it failed, and logged why).
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
}

/// The signed-in person's profile. `POST /api/demo/profile`; `401` when signed out.
///
/// Gated on the server by `require_user()`, whatever the page around it does.
#[server(prefix = "/api/demo", endpoint = "profile")]
pub async fn profile() -> Result<UserProfile, AuthError> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    use crate::users::user;

    let me = crate::auth::require_user().await?;
    let db = crate::auth::auth_service()?.db().clone();
    let row = user::Entity::find()
        .filter(user::Column::PersistentId.eq(me.persistent_id.as_str()))
        .one(&db)
        .await
        .map_err(|err| {
            tracing::error!(error = %err, "could not read the users table");
            AuthError::new("The service is temporarily unavailable. Please try again in a moment.")
        })?;
    let when = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M UTC").to_string();
    Ok(UserProfile {
        email: me.email.to_string(),
        persistent_id: me.persistent_id.to_string(),
        first_seen: row.as_ref().map(|row| when(row.first_seen_at)),
        last_seen: row.as_ref().map(|row| when(row.last_seen_at)),
    })
}

/// `/dashboard`: gated in the UI by `<RequireAuth>`, and on the server by `require_user()`
/// in [`profile`].
#[component]
pub fn DashboardPage() -> impl IntoView {
    view! {
        <RequireAuth>
            <ProfileCard />
        </RequireAuth>
    }
}

#[component]
fn ProfileCard() -> impl IntoView {
    let profile = Resource::new(|| (), |()| profile());
    let not_yet = || "not recorded".to_owned();
    view! {
        <section class="card" aria-labelledby="dashboard-title">
            <h1 id="dashboard-title">"Dashboard"</h1>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || {
                    profile
                        .get()
                        .map(|reply| match reply {
                            Ok(p) => {
                                view! {
                                    <dl class="facts">
                                        <dt>"Address"</dt>
                                        <dd class="address">{p.email}</dd>
                                        <dt>"Persistent id"</dt>
                                        <dd>
                                            <code class="address">{p.persistent_id}</code>
                                        </dd>
                                        <dt>"First seen"</dt>
                                        <dd>{p.first_seen.unwrap_or_else(not_yet)}</dd>
                                        <dt>"Last seen"</dt>
                                        <dd>{p.last_seen.unwrap_or_else(not_yet)}</dd>
                                    </dl>
                                }
                                    .into_any()
                            }
                            Err(err) => {
                                view! { <p class="callout-error" role="alert">{err.error}</p> }
                                    .into_any()
                            }
                        })
                }}
            </Transition>
            <p class="hint">
                "Read from the demo's own users table by a server function that calls require_user()."
            </p>
        </section>
    }
}
