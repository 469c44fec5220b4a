use leptos::prelude::*;

use crate::auth::{Passkeys, RequireAuth, Sessions};

/// `/account`: the signed-in address's passkeys (add, rename, delete) and sessions, each with
/// a way to end it, and a way to end them all. Only for signed-in visitors.
#[component]
pub fn AccountPage() -> impl IntoView {
    view! {
        <RequireAuth>
            <Sessions />
            <Passkeys />
        </RequireAuth>
    }
}
