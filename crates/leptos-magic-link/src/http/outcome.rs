//! The one-time cookie that carries an action's outcome to the page it lands on ("Your
//! account is deleted", "Signed out everywhere"). A page's address is anyone's to write, so
//! such a page shows the outcome only when this server just set the cookie, and reading it
//! ends it.

use axum::http::request::Parts;

use crate::{
    cookies::{outcome_cookie, read_cookie, set_cookie},
    replies::{AuthError, Outcome},
    service::AuthService,
};

use super::{parts, service};

/// Long enough for the redirect that follows the action.
const LIFETIME_SECONDS: u64 = 60;

/// The cookie's value: a few fixed words and numbers, never text from the request.
fn encode(outcome: Outcome) -> String {
    match outcome {
        Outcome::AccountDeleted => "account_deleted".to_owned(),
        Outcome::SignedOutEverywhere {
            ended,
            passkeys_removed,
        } => format!("signed_out_everywhere.{ended}.{passkeys_removed}"),
        Outcome::EmailChangeSent => "email_change_sent".to_owned(),
        Outcome::DeviceApproved => "device_approved".to_owned(),
        Outcome::EmailChanged {
            undone,
            ended,
            passkeys_removed,
        } => format!(
            "email_changed.{}.{ended}.{passkeys_removed}",
            u8::from(undone)
        ),
    }
}

fn decode(value: &str) -> Option<Outcome> {
    let mut words = value.split('.');
    let outcome = match words.next()? {
        "account_deleted" => Outcome::AccountDeleted,
        "signed_out_everywhere" => Outcome::SignedOutEverywhere {
            ended: words.next()?.parse().ok()?,
            passkeys_removed: words.next()?.parse().ok()?,
        },
        "email_change_sent" => Outcome::EmailChangeSent,
        "device_approved" => Outcome::DeviceApproved,
        "email_changed" => Outcome::EmailChanged {
            undone: match words.next()? {
                "0" => false,
                "1" => true,
                _ => return None,
            },
            ended: words.next()?.parse().ok()?,
            passkeys_removed: words.next()?.parse().ok()?,
        },
        _ => return None,
    };
    words.next().is_none().then_some(outcome)
}

/// Has the response to a form sent without JavaScript carry `outcome` to the page it lands
/// on. A page with JavaScript shows the action's reply itself, and a cookie left unread
/// would later show an outcome that is past.
pub(crate) fn set(service: &AuthService, parts: &Parts, outcome: Outcome) {
    if !super::is_form_post(&parts.headers) {
        return;
    }
    set_cookie(
        service,
        outcome_cookie(service),
        &encode(outcome),
        LIFETIME_SECONDS,
    );
}

/// The outcome this browser was sent here with, if any; the cookie goes with the reply.
pub(crate) fn take() -> Result<Option<Outcome>, AuthError> {
    let (service, parts) = (service()?, parts()?);
    let name = outcome_cookie(&service);
    let Some(value) = read_cookie(&parts, name) else {
        return Ok(None);
    };
    set_cookie(&service, name, "", 0);
    Ok(decode(&value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_go_both_ways_and_nothing_else_reads_as_one() {
        for outcome in [
            Outcome::AccountDeleted,
            Outcome::EmailChangeSent,
            Outcome::DeviceApproved,
            Outcome::EmailChanged {
                undone: true,
                ended: 2,
                passkeys_removed: 1,
            },
            Outcome::EmailChanged {
                undone: false,
                ended: 0,
                passkeys_removed: 0,
            },
            Outcome::SignedOutEverywhere {
                ended: 3,
                passkeys_removed: 1,
            },
        ] {
            assert_eq!(decode(&encode(outcome)), Some(outcome));
        }
        for value in [
            "",
            "deleted",
            "account_deleted.1",
            "signed_out_everywhere.1",
            "signed_out_everywhere.x.1",
            "signed_out_everywhere.1.2.3",
        ] {
            assert_eq!(decode(value), None, "{value}");
        }
    }
}
