//! A software authenticator: a real P-256 key that answers WebAuthn options as a browser
//! with a platform authenticator would (ES256, "none" attestation, user present and
//! verified), so the server's passkey checks run over HTTP against real signatures. Each
//! answer can be bent the way an attacker would: another origin, another relying party, an
//! older counter. The browser tests use Chromium's own virtual authenticator instead.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use p256::ecdsa::{Signature, SigningKey, signature::Signer};
use serde_cbor_2::Value;
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

/// Flags in authenticator data: user present, user verified, attested credential data.
const UP: u8 = 0x01;
const UV: u8 = 0x04;
const AT: u8 = 0x40;

pub struct SoftAuthenticator {
    key: SigningKey,
    pub credential_id: Vec<u8>,
    /// The user handle the server gave at registration.
    pub user_handle: Vec<u8>,
    /// The counter the next answer carries; each answer raises it by one.
    pub counter: u32,
}

/// How an answer departs from an honest browser's.
#[derive(Clone, Debug, Default)]
pub struct Bend {
    /// The origin the client data names, instead of the real one.
    pub origin: Option<String>,
    /// The relying party whose hash the authenticator data carries.
    pub rp_id: Option<String>,
}

fn cbor_map(entries: Vec<(Value, Value)>) -> Value {
    Value::Map(entries.into_iter().collect::<BTreeMap<_, _>>())
}

impl SoftAuthenticator {
    /// An authenticator whose key is derived from `seed`.
    pub fn new(seed: &str) -> Self {
        let secret = Sha256::digest(format!("soft authenticator {seed}").as_bytes());
        Self {
            key: SigningKey::from_slice(&secret).expect("a valid P-256 scalar"),
            credential_id: Sha256::digest(format!("credential {seed}").as_bytes()).to_vec(),
            user_handle: Vec::new(),
            counter: 1,
        }
    }

    fn client_data(kind: &str, options: &Json, origin: &str) -> Vec<u8> {
        let challenge = options["publicKey"]["challenge"]
            .as_str()
            .expect("a challenge");
        serde_json::to_vec(&json!({
            "type": kind,
            "challenge": challenge,
            "origin": origin,
            "crossOrigin": false,
        }))
        .unwrap()
    }

    fn authenticator_data(&self, rp_id: &str, flags: u8, attested: Option<Vec<u8>>) -> Vec<u8> {
        let mut data = Sha256::digest(rp_id.as_bytes()).to_vec();
        data.push(flags);
        data.extend_from_slice(&self.counter.to_be_bytes());
        if let Some(attested) = attested {
            data.extend(attested);
        }
        data
    }

    /// The COSE form of the public key (EC2, P-256, ES256).
    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_sec1_point(false);
        let key = cbor_map(vec![
            (Value::Integer(1), Value::Integer(2)),
            (Value::Integer(3), Value::Integer(-7)),
            (Value::Integer(-1), Value::Integer(1)),
            (
                Value::Integer(-2),
                Value::Bytes(point.x().unwrap().to_vec()),
            ),
            (
                Value::Integer(-3),
                Value::Bytes(point.y().unwrap().to_vec()),
            ),
        ]);
        serde_cbor_2::to_vec(&key).unwrap()
    }

    /// Answers `navigator.credentials.create` with these `options` (the server's JSON), as
    /// seen from `origin`. Returns the `PublicKeyCredential` as JSON.
    pub fn register(&mut self, options: &str, origin: &str, bend: &Bend) -> String {
        let options: Json = serde_json::from_str(options).expect("options are JSON");
        let public_key = &options["publicKey"];
        let rp_id = bend
            .rp_id
            .clone()
            .unwrap_or_else(|| public_key["rp"]["id"].as_str().unwrap().to_owned());
        self.user_handle = B64
            .decode(public_key["user"]["id"].as_str().expect("a user id"))
            .expect("base64url user id");
        let client_data = Self::client_data(
            "webauthn.create",
            &options,
            bend.origin.as_deref().unwrap_or(origin),
        );
        let mut attested = vec![0u8; 16]; // AAGUID: none
        attested.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
        attested.extend_from_slice(&self.credential_id);
        attested.extend(self.cose_key());
        let auth_data = self.authenticator_data(&rp_id, UP | UV | AT, Some(attested));
        let attestation = cbor_map(vec![
            (Value::Text("fmt".into()), Value::Text("none".into())),
            (Value::Text("attStmt".into()), cbor_map(vec![])),
            (Value::Text("authData".into()), Value::Bytes(auth_data)),
        ]);
        self.counter += 1;
        let id = B64.encode(&self.credential_id);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "attestationObject": B64.encode(serde_cbor_2::to_vec(&attestation).unwrap()),
                "clientDataJSON": B64.encode(client_data),
            },
            "extensions": {},
        })
        .to_string()
    }

    /// Answers `navigator.credentials.get` with these `options`, as seen from `origin`, with
    /// the discoverable credential's user handle. Returns the `PublicKeyCredential` as JSON.
    pub fn assert(&mut self, options: &str, origin: &str, bend: &Bend) -> String {
        let options: Json = serde_json::from_str(options).expect("options are JSON");
        let rp_id = bend
            .rp_id
            .clone()
            .unwrap_or_else(|| options["publicKey"]["rpId"].as_str().unwrap().to_owned());
        let client_data = Self::client_data(
            "webauthn.get",
            &options,
            bend.origin.as_deref().unwrap_or(origin),
        );
        let auth_data = self.authenticator_data(&rp_id, UP | UV, None);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let signature: Signature = self.key.sign(&signed);
        self.counter += 1;
        let id = B64.encode(&self.credential_id);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "authenticatorData": B64.encode(auth_data),
                "clientDataJSON": B64.encode(client_data),
                "signature": B64.encode(signature.to_der().as_bytes()),
                "userHandle": B64.encode(&self.user_handle),
            },
            "extensions": {},
        })
        .to_string()
    }
}
