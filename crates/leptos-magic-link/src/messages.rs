//! What a page says after a form sent without JavaScript comes back to it refused: the server
//! puts a code in the page's address (`/?error=rate_limited`), never the words, and the page
//! shows the fixed text of that code. Text in a URL is a stranger's: anyone can send a link, or
//! ask for a sign-in link whose `redir` lands the owner on `/account?error=…`. So a genuine
//! page says only one of these, and nothing at all for a code that is not here.
//!
//! Shared by the server, which turns a refusal's message into its code, and the pages, which
//! turn the code back. A message with a number in it ("That code is not right. 3 attempts
//! left.") comes back without the number.

/// Every code, and what a page says for it. A message the server sends back that is not here
/// comes back as `failed`.
const MESSAGES: &[(&str, &str)] = &[
    ("rate_limited", "Too many attempts. Please try again later."),
    (
        "address_rate_limited",
        "Many sign-in links were asked for this address recently, so no more are sent for now. If this is your address, open the newest sign-in email in your inbox: its link works in any browser. Or try again later.",
    ),
    (
        "unavailable",
        "The service is temporarily unavailable. Please try again in a moment.",
    ),
    ("busy", "The service is busy. Please try again in a moment."),
    ("failed", "Something went wrong. Please try again."),
    (
        "cross_site",
        "This request came from another site, so it was refused. Open this site directly and try again.",
    ),
    ("sign_in_required", "Sign in to continue."),
    ("sign_in_first", "Sign in to manage your sessions."),
    (
        "fresh_sign_in_required",
        "For your security, confirm it's you before doing this: you signed in a while ago.",
    ),
    ("email_empty", "Enter your email address."),
    (
        "email_too_long",
        "An email address can't be longer than 254 characters.",
    ),
    (
        "email_spaces",
        "An email address can't contain spaces, line breaks or control characters.",
    ),
    (
        "email_no_at",
        "An email address needs an @, as in name@example.com.",
    ),
    ("email_two_ats", "An email address has only one @."),
    (
        "email_no_local_part",
        "Add the part before the @, as in name@example.com.",
    ),
    (
        "email_no_domain",
        "Add the domain after the @, as in name@example.com.",
    ),
    (
        "email_domain_dot",
        "The domain after the @ needs a dot, as in example.com.",
    ),
    (
        "email_domain",
        "The domain after the @ isn't valid: check for stray or doubled dots.",
    ),
    (
        "email_characters",
        "An email address can't contain < > ( ) [ ] , ; : \\ or double quotes.",
    ),
    (
        "captcha",
        "Please complete the CAPTCHA check and try again.",
    ),
    (
        "link_damaged",
        "This sign-in link is incomplete or damaged. Copy the whole link from the email, or request a new one.",
    ),
    ("code_malformed", "Enter the 6-digit code from the email."),
    (
        "link_invalid",
        "This sign-in link or code is invalid, used or expired. Request a new one.",
    ),
    (
        "code_used_up",
        "That code is not right, and it can't be used again. Use the link in the email, or request a new one.",
    ),
    ("wrong_code", "That code is not right."),
    (
        "codes_paused",
        "Too many wrong codes were entered for this address today, so codes are paused for 24 hours. Use the link in the email instead.",
    ),
    ("choose_session", "Choose a session to sign out."),
    ("session_ended", "That session has already ended."),
    (
        "nothing_to_delete",
        "You are signed out: this account is already deleted, or you need to sign in to delete it.",
    ),
    (
        "type_your_address",
        "Type your email address exactly to confirm.",
    ),
    (
        "sign_out_link_invalid",
        "This link is invalid, used or expired. Sign in and sign out everywhere from your account page instead.",
    ),
    (
        "passkeys_unavailable",
        "Passkeys are not available on this site.",
    ),
    (
        "passkey_request_expired",
        "This passkey request has expired or was already used. Please try again.",
    ),
    (
        "passkey_unreadable",
        "The passkey response could not be read.",
    ),
    ("passkey_unverified", "The passkey could not be verified."),
    (
        "no_passkeys",
        "You have no passkey yet: use \"Email me a code\" instead.",
    ),
    ("passkey_registered", "This passkey is already registered."),
    ("passkey_unknown", "This passkey is not registered."),
    ("address_not_allowed", "This address may not sign in."),
    (
        "signed_out",
        "You are signed out. Sign in again to add a passkey.",
    ),
    (
        "passkey_counter",
        "This passkey's signature counter went backwards, so it was refused.",
    ),
    ("choose_passkey", "Choose a passkey."),
    ("same_address", "That is already your email address."),
    ("pick_a_number", "Pick the number the other device shows."),
    (
        "device_request_invalid",
        "This sign-in request is invalid, used or expired. Start again on the new device.",
    ),
    (
        "wrong_number",
        "That is not the number the other device shows, so its request has ended. If you are signing in there, start again on that device.",
    ),
    (
        "address_refused",
        "This site does not accept that email address.",
    ),
    (
        "change_not_signed_in",
        "Open this link in a browser where you are signed in to the account that asked for the change.",
    ),
    (
        "change_session_ended",
        "The session that asked for this change has ended. Sign in and ask again.",
    ),
    (
        "change_link_invalid",
        "This link is invalid, used or expired.",
    ),
    (
        "address_taken",
        "That email address already has an account here. Sign in with it and delete that account first, or choose another address.",
    ),
    ("no_such_passkey", "That passkey is not registered."),
];

/// The code for `message`, as the server puts it in a page's address: the code whose text is
/// `message`, else the one whose text it starts with (the same words with a count after
/// them), else `failed`. Server only: the pages only read codes.
#[cfg(feature = "ssr")]
pub(crate) fn code_for(message: &str) -> &'static str {
    MESSAGES
        .iter()
        .find(|(_, text)| *text == message)
        .or_else(|| MESSAGES.iter().find(|(_, text)| message.starts_with(text)))
        .map_or("failed", |(code, _)| code)
}

/// What a page says for `code`: empty for a code that is not one of ours, whatever it says.
pub(crate) fn message_for(code: &str) -> &'static str {
    MESSAGES
        .iter()
        .find(|(known, _)| *known == code)
        .map_or("", |(_, text)| text)
}

/// The query parameters that bring a refused plain form's message back to one card of the
/// account page (JavaScript off): the delete card's and the passkeys card's. The sessions
/// card reads `error`.
pub(crate) const DELETE_ERROR_PARAM: &str = "delete_error";
/// The parameter the change-of-address card reads its error from.
pub(crate) const CHANGE_ERROR_PARAM: &str = "change_error";
#[cfg(feature = "passkeys")]
pub(crate) const PASSKEY_ERROR_PARAM: &str = "passkey_error";

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn codes_and_texts_are_each_said_once_and_go_both_ways() {
        for (i, (code, text)) in MESSAGES.iter().enumerate() {
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
            assert_eq!(code_for(text), *code);
            assert_eq!(message_for(code), *text);
            for (other_code, other_text) in &MESSAGES[i + 1..] {
                assert_ne!(code, other_code);
                assert_ne!(text, other_text);
            }
        }
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_count_is_dropped_and_anything_else_shows_nothing() {
        assert_eq!(
            code_for("That code is not right. 3 attempts left."),
            "wrong_code"
        );
        assert_eq!(
            code_for("Your account was breached. Call +1 555 0100."),
            "failed"
        );
        assert_eq!(
            message_for("Your account was breached. Call +1 555 0100."),
            ""
        );
        assert_eq!(message_for("<script>alert(1)</script>"), "");
        assert_eq!(message_for(""), "");
    }

    /// Every refusal a plain form can be sent back with has its own code: none becomes the
    /// generic `failed`.
    #[cfg(feature = "ssr")]
    #[test]
    fn every_refusal_a_form_comes_back_with_has_a_code() {
        use crate::{
            captcha::CaptchaError,
            domain::{CredentialFormatError, EmailError},
            store::{IssueError, RedeemError},
        };
        let mut messages: Vec<String> = [
            EmailError::Empty,
            EmailError::TooLong,
            EmailError::WhitespaceOrControl,
            EmailError::MissingAt,
            EmailError::MoreThanOneAt,
            EmailError::EmptyLocalPart,
            EmailError::EmptyDomain,
            EmailError::DomainWithoutDot,
            EmailError::MalformedDomain,
            EmailError::ForbiddenCharacter,
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        messages.extend([
            CaptchaError::Refused.to_string(),
            CredentialFormatError::MalformedToken.to_string(),
            CredentialFormatError::MalformedCode.to_string(),
            IssueError::Busy.to_string(),
            RedeemError::InvalidOrExpired.to_string(),
            RedeemError::WrongCode { attempts_left: 2 }.to_string(),
            RedeemError::CodeUsedUp.to_string(),
            RedeemError::CodesPaused.to_string(),
            crate::replies::RATE_LIMITED.to_owned(),
            crate::replies::ADDRESS_RATE_LIMITED.to_owned(),
            crate::replies::UNAVAILABLE.to_owned(),
            crate::replies::BUSY.to_owned(),
            crate::replies::CROSS_SITE.to_owned(),
            crate::replies::SIGN_IN_REQUIRED.to_owned(),
            crate::replies::FRESH_SIGN_IN_REQUIRED.to_owned(),
            crate::replies::SIGN_OUT_LINK_INVALID.to_owned(),
            crate::replies::NOTHING_TO_DELETE.to_owned(),
            crate::replies::TYPE_YOUR_ADDRESS.to_owned(),
        ]);
        #[cfg(feature = "passkeys")]
        {
            use crate::{service::passkeys::PasskeyFlowError, store::passkeys::PasskeyError};
            messages.extend(
                [
                    PasskeyFlowError::Unavailable,
                    PasskeyFlowError::ChallengeExpired,
                    PasskeyFlowError::TooManyFailures,
                    PasskeyFlowError::NoPasskeys,
                    PasskeyFlowError::Passkey(PasskeyError::AlreadyRegistered),
                    PasskeyFlowError::Passkey(PasskeyError::NotFound),
                    PasskeyFlowError::Passkey(PasskeyError::NotAllowed),
                    PasskeyFlowError::Passkey(PasskeyError::SignedOut),
                    PasskeyFlowError::Passkey(PasskeyError::CounterWentBack),
                ]
                .iter()
                .map(ToString::to_string),
            );
        }
        for message in messages {
            assert_ne!(code_for(&message), "failed", "{message}");
            assert!(
                message.starts_with(message_for(code_for(&message))),
                "{message}"
            );
        }
    }
}
