use leptos::prelude::*;

use crate::auth::{Activity, ChangeEmailForm, DeleteAccountForm, Passkeys, RequireAuth, Sessions};

/// `/account`: the signed-in address's sessions, each with a way to end it, and a way to end
/// them all; its passkeys (add, rename, delete); its recent activity; changing its address;
/// and deleting the account. Only for signed-in visitors.
#[component]
pub fn AccountPage() -> impl IntoView {
    view! {
        <RequireAuth>
            <Sessions />
            <Passkeys />
            <Activity />
            <ChangeEmailForm />
            <DeleteAccountForm />
        </RequireAuth>
    }
}
