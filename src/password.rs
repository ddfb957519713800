//! Password hashing with argon2id (the crate's defaults, OWASP's recommendation).
//!
//! Hashing is CPU-heavy, so it runs on tokio's blocking pool, never on the
//! async workers; and it is memory-heavy (argon2's defaults fill 19 MiB per
//! hash), so at most [`Hashing`]'s permits run at once. A sign-in that finds
//! none free within a short wait is refused with a fast `429` instead of
//! queueing: a hash that has started cannot be cancelled when its client
//! gives up, so an unbounded queue would outlive a flood by minutes and hold
//! 19 MiB for every attempt in it.
//!
//! Each permit's 19 MiB is allocated once and reused ([`Hashing`] keeps the
//! buffers): with argon2's own `verify_password`, each check allocated and
//! freed its memory, and glibc's allocator, once a block that size has been
//! freed, keeps the next ones on its heaps rather than giving them back: a
//! flood of 27 checks left the process at 465 MiB (`scripts/soak flood`).
//! Reused, the checks hold permits × 19 MiB, for good, and nothing more.

use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand_core::{OsRng, RngCore};
use tokio::sync::Semaphore;

use crate::AppError;

/// A hash of a random password with the same parameters as real hashes, checked
/// when the email is unknown so that a failed sign-in takes the same time
/// whether or not the account exists.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(&secret, &salt).map(|hash| hash.to_string()).unwrap_or_default()
});

/// Hashes `password` into a PHC string for the `users.password_hash` column.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| anyhow::anyhow!("hashing a password: {error}"))
}

/// The memory one verification fills: argon2's default `m_cost`, in KiB.
pub const HASH_MEMORY_BYTES: usize = argon2::Params::DEFAULT_M_COST as usize * 1024;

/// The bound on password verification: at most `permits` at once, waited
/// for at most `wait`. Cheap to clone; clones share the permits.
#[derive(Clone, Debug)]
pub struct Hashing {
    permits: Arc<Semaphore>,
    wait: Duration,
    /// The checks' memory, one buffer per permit in use so far: taken by a
    /// check, given back after it.
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl Hashing {
    /// `permits` verifications at once (at least one); a sign-in waits at
    /// most `wait` for one.
    pub fn new(permits: usize, wait: Duration) -> Self {
        Self { permits: Arc::new(Semaphore::new(permits.max(1))), wait, memory: Arc::default() }
    }

    /// Whether `password` matches `stored`; with no stored hash, checks a
    /// dummy one (and answers no) so the time taken does not reveal whether
    /// the account exists. [`AppError::TooManyRequests`] when no permit is
    /// free within the wait: nothing was hashed.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, AppError> {
        let permit =
            match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                Ok(Err(closed)) => return Err(AppError::internal(closed)),
                Err(_elapsed) => {
                    return Err(AppError::too_many_requests(
                        Duration::from_secs(1),
                        "Too many sign-ins at once. Please try again in a second.",
                    ));
                }
            };
        let pool = self.memory.clone();
        tokio::task::spawn_blocking(move || {
            // Held until the hash is done, even if the sign-in was dropped:
            // the permits count the hashes that are really running.
            let _permit = permit;
            let mut memory =
                pool.lock().unwrap_or_else(PoisonError::into_inner).pop().unwrap_or_default();
            let verified = verify_now(&mut memory, &password, stored);
            pool.lock().unwrap_or_else(PoisonError::into_inner).push(memory);
            verified
        })
        .await
        .map_err(AppError::internal)
    }

    /// As the configuration says (`SIGN_IN_HASH_PERMITS`, `SIGN_IN_HASH_WAIT_MS`).
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self::new(config.sign_in_hash_permits, config.sign_in_hash_wait)
    }

    /// Permits free now (for tests and metrics).
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

/// [`Hashing::verify`]'s work, on the calling thread, in `memory` (grown to
/// what the hash's parameters ask for, and kept).
fn verify_now(memory: &mut Vec<Block>, password: &str, stored: Option<String>) -> bool {
    let exists = stored.is_some();
    let hash = stored.unwrap_or_else(|| DUMMY_HASH.clone());
    let matches = PasswordHash::new(&hash)
        .is_ok_and(|parsed| matches_hash(memory, password.as_bytes(), &parsed));
    exists && matches
}

/// Whether `password` hashes to `stored`: what argon2's `verify_password`
/// does, in memory of the caller's.
fn matches_hash(memory: &mut Vec<Block>, password: &[u8], stored: &PasswordHash<'_>) -> bool {
    let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else { return false };
    let Ok(algorithm) = Algorithm::try_from(stored.algorithm) else { return false };
    let version = stored.version.map_or(Ok(Version::default()), Version::try_from);
    let (Ok(version), Ok(params)) = (version, Params::try_from(stored)) else { return false };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else { return false };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut output = vec![0u8; expected.len()];
    let hashed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password,
        salt,
        &mut output,
        &mut memory[..blocks],
    );
    // `Output`'s equality is constant-time.
    hashed.is_ok() && Output::new(&output).is_ok_and(|output| output == expected)
}

/// Computes the dummy hash now rather than on the first failed sign-in, whose
/// timing would otherwise stand out.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashing() -> Hashing {
        Hashing::new(2, Duration::from_secs(10))
    }

    #[tokio::test]
    async fn verifies_only_the_right_password() {
        let stored = hash("correct horse").expect("hashes");
        assert!(stored.starts_with("$argon2id$"));
        assert!(
            hashing().verify("correct horse".into(), Some(stored.clone())).await.expect("runs")
        );
        assert!(!hashing().verify("wrong".into(), Some(stored)).await.expect("runs"));
    }

    #[tokio::test]
    async fn past_the_permits_a_verification_is_refused_without_hashing() {
        let hashing = Hashing::new(1, Duration::from_millis(20));
        let held = hashing.permits.clone().acquire_owned().await.expect("a permit");
        let refused = hashing.verify("x".into(), None).await;
        assert!(matches!(refused, Err(AppError::TooManyRequests(_))), "{refused:?}");
        drop(held);
        assert_eq!(hashing.verify("x".into(), None).await, Ok(false));
        assert_eq!(hashing.available(), 1, "the permit comes back after the hash");
    }

    #[test]
    fn a_hash_fills_argon2s_default_memory() {
        assert_eq!(HASH_MEMORY_BYTES, 19 * 1024 * 1024);
        let mut memory = Vec::new();
        let stored = hash("x").expect("hashes");
        assert!(verify_now(&mut memory, "x", Some(stored)));
        assert_eq!(memory.len() * std::mem::size_of::<Block>(), HASH_MEMORY_BYTES);
    }

    #[tokio::test]
    async fn checks_reuse_one_buffer_per_permit() {
        let hashing = Hashing::new(2, Duration::from_secs(10));
        let stored = hash("x").expect("hashes");
        for _ in 0..4 {
            assert!(hashing.verify("x".into(), Some(stored.clone())).await.expect("runs"));
        }
        assert_eq!(hashing.memory.lock().expect("lock").len(), 1, "one at a time: one buffer");
    }

    /// The check in our memory answers as argon2's own `verify_password`.
    #[test]
    fn agrees_with_argon2s_own_verification() {
        use argon2::password_hash::PasswordVerifier as _;
        let stored = hash("correct horse").expect("hashes");
        let parsed = PasswordHash::new(&stored).expect("valid PHC");
        let mut memory = Vec::new();
        for password in ["correct horse", "correct hors", "", "correct horse "] {
            let ours = matches_hash(&mut memory, password.as_bytes(), &parsed);
            let theirs = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
            assert_eq!(ours, theirs, "{password:?}");
        }
    }

    /// Equal timing needs the dummy hash to cost what a real one costs.
    #[test]
    fn dummy_hash_has_the_parameters_of_real_hashes() {
        let real = hash("x").expect("hashes");
        let real = PasswordHash::new(&real).expect("valid PHC");
        let dummy = PasswordHash::new(&DUMMY_HASH).expect("valid PHC");
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.params, real.params);
    }

    #[tokio::test]
    async fn unknown_accounts_never_verify() {
        assert!(!hashing().verify(String::new(), None).await.expect("runs"));
    }
}
