//! Making secrets and hashing them. Server only.
//!
//! Every secret comes from the operating system's CSPRNG. Link and session tokens carry 256
//! bits, so one SHA-256 is enough to store them: nobody can guess a preimage, and the hash
//! lets the database find the row by an indexed equality. A typed code has only 20 bits, so
//! it is stored as a slow, salted argon2id hash and limited to a few attempts.

use std::sync::Arc;

use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::phc::{Output, ParamsString, PasswordHash, Salt},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::{TryRng, rngs::SysRng};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use magic_link_types::domain::{Code, LinkToken, SessionToken, hex_lower};

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the operating system's random source failed: {0}")]
    Random(String),
    #[error("argon2 failed: {0}")]
    Argon2(String),
    #[error("the hashing task stopped: {0}")]
    Task(String),
    /// Every worker is busy and the queue is full: the caller should come back shortly.
    #[error("the code-hashing queue is full")]
    Busy,
}

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], SecretError> {
    let mut bytes = [0u8; N];
    SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|err| SecretError::Random(err.to_string()))?;
    Ok(bytes)
}

/// 256 bits from the CSPRNG, base64url without padding.
pub fn random_token() -> Result<String, SecretError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// A new magic-link token: 256 bits from the CSPRNG.
pub fn new_link_token() -> Result<LinkToken, SecretError> {
    let token = random_token()?;
    LinkToken::parse(&token).map_err(|_| SecretError::Random("malformed token".to_owned()))
}

/// A new session token: 256 bits from the CSPRNG.
pub fn new_session_token() -> Result<SessionToken, SecretError> {
    let token = random_token()?;
    SessionToken::parse(&token).map_err(|_| SecretError::Random("malformed token".to_owned()))
}

/// The largest multiple of 1,000,000 that fits in a u32: values at or above it are drawn
/// again, so every code is equally likely.
const CODE_REJECT_FROM: u32 = (u32::MAX / 1_000_000) * 1_000_000;

/// A new 6-digit code, every value equally likely.
pub fn new_code() -> Result<Code, SecretError> {
    {
        loop {
            let value = SysRng
                .try_next_u32()
                .map_err(|err| SecretError::Random(err.to_string()))?;
            if value < CODE_REJECT_FROM {
                let code = format!("{:06}", value % 1_000_000);
                return Code::parse(&code)
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
/// bounds the number of workers below.
const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
const ARGON2_PASSES: u32 = 2;
const ARGON2_LANES: u32 = 1;

/// The length of the stored argon2 output, and of the salt, in bytes.
const HASH_LEN: usize = 32;
const SALT_LEN: usize = 16;

/// Hashes and checks codes on a few dedicated threads, each with its own argon2 memory.
///
/// Each hash needs 19 MiB. Allocating it per call lets the C allocator keep every freed
/// buffer in some per-thread arena (seen here: 230 MiB resident after twenty requests), so
/// instead each worker allocates its block on its first job and reuses it. Requests queue on
/// a bounded channel, and memory stays at workers × 19 MiB (measured here with two workers:
/// 57 MiB resident after 60 requests, 40 of them at once). When the queue is full a job is
/// refused at once with [`SecretError::Busy`], rather than left waiting without limit.
#[derive(Clone)]
pub struct CodeHasher {
    jobs: tokio::sync::mpsc::Sender<Job>,
}

struct Job {
    work: Work,
    reply: tokio::sync::oneshot::Sender<Result<Outcome, SecretError>>,
}

enum Work {
    Hash(String),
    Verify { code: String, stored: String },
}

enum Outcome {
    Hashed(String),
    Verified(bool),
}

impl CodeHasher {
    /// `workers` threads (at least one), each holding one argon2 memory block, and room for
    /// `queue` jobs (at least one) to wait for them.
    pub fn new(workers: usize, queue: usize) -> Result<Self, SecretError> {
        let params = Params::new(
            ARGON2_MEMORY_KIB,
            ARGON2_PASSES,
            ARGON2_LANES,
            Some(HASH_LEN),
        )
        .map_err(|err| SecretError::Argon2(err.to_string()))?;
        let (jobs, receiver) = tokio::sync::mpsc::channel::<Job>(queue.max(1));
        let receiver = Arc::new(std::sync::Mutex::new(receiver));
        for n in 0..workers.max(1) {
            let receiver = Arc::clone(&receiver);
            let params = params.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || worker(&receiver, &params))
                .map_err(|err| SecretError::Task(err.to_string()))?;
        }
        Ok(Self { jobs })
    }

    /// One worker per core (more would only queue inside the CPU), and room for `queue` jobs.
    pub fn per_core(queue: usize) -> Result<Self, SecretError> {
        Self::new(
            std::thread::available_parallelism().map_or(2, usize::from),
            queue,
        )
    }

    pub async fn hash(&self, code: &Code) -> Result<String, SecretError> {
        match self.run(Work::Hash(code.expose().to_owned())).await? {
            Outcome::Hashed(hash) => Ok(hash),
            Outcome::Verified(_) => Err(SecretError::Task("unexpected reply".to_owned())),
        }
    }

    /// Whether `code` matches `stored`, compared in constant time.
    pub async fn verify(&self, code: &Code, stored: &str) -> Result<bool, SecretError> {
        let work = Work::Verify {
            code: code.expose().to_owned(),
            stored: stored.to_owned(),
        };
        match self.run(work).await? {
            Outcome::Verified(matches) => Ok(matches),
            Outcome::Hashed(_) => Err(SecretError::Task("unexpected reply".to_owned())),
        }
    }

    async fn run(&self, work: Work) -> Result<Outcome, SecretError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .try_send(Job { work, reply })
            .map_err(|err| match err {
                tokio::sync::mpsc::error::TrySendError::Full(_) => SecretError::Busy,
                tokio::sync::mpsc::error::TrySendError::Closed(_) => {
                    SecretError::Task("the hashing workers stopped".to_owned())
                }
            })?;
        answer
            .await
            .map_err(|_| SecretError::Task("a hashing worker stopped".to_owned()))?
    }
}

fn worker(receiver: &std::sync::Mutex<tokio::sync::mpsc::Receiver<Job>>, params: &Params) {
    // Allocated on the first job, not at start: an idle server stays small.
    let mut memory: Vec<argon2::Block> = Vec::new();
    loop {
        // Hold the lock only to take one job, never while hashing.
        let job = match receiver.lock() {
            Ok(mut jobs) => jobs.blocking_recv(),
            Err(_) => return,
        };
        let Some(Job { work, reply }) = job else {
            return;
        };
        if memory.is_empty() {
            memory = vec![argon2::Block::default(); params.block_count()];
        }
        let outcome = match work {
            Work::Hash(code) => hash_with(&code, params, &mut memory).map(Outcome::Hashed),
            Work::Verify { code, stored } => {
                verify_with(&code, &stored, params, &mut memory).map(Outcome::Verified)
            }
        };
        // The caller may have gone away; then nobody needs the answer.
        let _ = reply.send(outcome);
    }
}

fn argon2_error(err: argon2::Error) -> SecretError {
    SecretError::Argon2(err.to_string())
}

fn hash_with(
    code: &str,
    params: &Params,
    memory: &mut [argon2::Block],
) -> Result<String, SecretError> {
    let salt = random_bytes::<SALT_LEN>()?;
    let mut out = [0u8; HASH_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(code.as_bytes(), &salt, &mut out, &mut *memory)
        .map_err(argon2_error)?;
    // The standard PHC string, `$argon2id$v=19$m=…,t=…,p=…$salt$hash`, written by the
    // password-hash crate's own types (the hash itself is computed above, into memory this
    // worker keeps, which the crate's one-call API would allocate afresh each time).
    let phc_error = |err: argon2::password_hash::phc::Error| SecretError::Argon2(err.to_string());
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params)
            .map_err(|err| SecretError::Argon2(err.to_string()))?,
        salt: Some(Salt::new(&salt).map_err(phc_error)?),
        hash: Some(Output::new(&out).map_err(phc_error)?),
    };
    Ok(phc.to_string())
}

/// Checks `code` against a PHC string `$argon2id$v=19$m=…,t=…,p=…$salt$hash`.
fn verify_with(
    code: &str,
    stored: &str,
    params: &Params,
    memory: &mut [argon2::Block],
) -> Result<bool, SecretError> {
    let malformed = || SecretError::Argon2("malformed stored hash".to_owned());
    let phc = PasswordHash::new(stored).map_err(|_| malformed())?;
    if phc.algorithm != Algorithm::Argon2id.ident() || phc.version != Some(Version::V0x13.into()) {
        return Err(malformed());
    }
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return Err(malformed());
    };
    let stored_params = Params::try_from(&phc).map_err(|_| malformed())?;
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, stored_params.clone());
    if stored_params.block_count() == params.block_count() {
        argon2.hash_password_into_with_memory(code.as_bytes(), salt, &mut out, &mut *memory)
    } else {
        // Hashed under other settings: pay for a one-off block rather than refuse it.
        let mut other = vec![argon2::Block::default(); stored_params.block_count()];
        argon2.hash_password_into_with_memory(code.as_bytes(), salt, &mut out, &mut other)
    }
    .map_err(argon2_error)?;
    Ok(constant_time_eq(&out, expected.as_bytes()))
}

/// Compares in constant time (subtle's `ConstantTimeEq`), so the time taken says nothing
/// about where two equally long values differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_url_safe_characters_and_differ() {
        let a = new_link_token().map(|t| t.expose().to_owned());
        let b = new_link_token().map(|t| t.expose().to_owned());
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
            .filter_map(|_| new_code().ok())
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
        let hasher = CodeHasher::new(2, 8).map_err(|e| e.to_string());
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

        // The stored form is a standard PHC string: the argon2 crate's own verifier agrees.
        use argon2::password_hash::PasswordVerifier;
        assert!(
            Argon2::default()
                .verify_password(b"123456", stored.as_str())
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"123457", stored.as_str())
                .is_err()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_refuses_at_once() {
        let (Ok(hasher), Ok(code)) = (CodeHasher::new(1, 1), Code::parse("123456")) else {
            panic!("setup failed");
        };
        // One job on the worker, one waiting: far more at once must find the queue full.
        let jobs: Vec<_> = (0..16)
            .map(|_| {
                let (hasher, code) = (hasher.clone(), code.clone());
                tokio::spawn(async move { hasher.hash(&code).await })
            })
            .collect();
        let mut busy = 0;
        let mut hashed = 0;
        for job in jobs {
            match job.await {
                Ok(Err(SecretError::Busy)) => busy += 1,
                Ok(Ok(_)) => hashed += 1,
                other => panic!("{other:?}"),
            }
        }
        assert!(busy > 0 && hashed > 0, "busy {busy}, hashed {hashed}");
    }

    #[tokio::test]
    async fn a_hash_made_under_other_settings_still_verifies() {
        use argon2::password_hash::PasswordHasher;
        let Ok(params) = Params::new(8 * 1024, 1, 1, None) else {
            panic!("valid parameters");
        };
        let lighter = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let stored = lighter.hash_password(b"654321").map(|h| h.to_string());
        let (Ok(stored), Ok(hasher), Ok(code)) =
            (stored, CodeHasher::new(1, 8), Code::parse("654321"))
        else {
            panic!("setup failed");
        };
        assert_eq!(hasher.verify(&code, &stored).await.ok(), Some(true));
    }
}
