use leptos::prelude::*;

use crate::auth::{RequireAuth, Sessions};

/// `/account`: the signed-in address's sessions, each with a way to end it, and a way to end
/// them all. Only for signed-in visitors.
#[component]
pub fn AccountPage() -> impl IntoView {
    view! {
        <RequireAuth>
            <Sessions />
        </RequireAuth>
    }
}
