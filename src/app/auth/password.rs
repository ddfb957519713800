//! Password hashing with argon2id (the crate's defaults, OWASP's recommendation).
//!
//! Hashing is CPU-heavy, so it runs on tokio's blocking pool, never on the
//! async workers; and it is memory-heavy (argon2's defaults fill 19 MiB per
//! hash), so at most [`Hashing`]'s permits run at once. A sign-in that finds
//! none free within a short wait is refused with a fast `429` instead of
//! queueing: a hash that has started cannot be cancelled when its client
//! gives up, so an unbounded queue would outlive a flood by minutes and hold
//! 19 MiB for every attempt in it.
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
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
}

impl Hashing {
    /// `permits` verifications at once (at least one); a sign-in waits at
    /// most `wait` for one.
    pub fn new(permits: usize, wait: Duration) -> Self {
        Self { permits: Arc::new(Semaphore::new(permits.max(1))), wait }
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
        tokio::task::spawn_blocking(move || {
            // Held until the hash is done, even if the sign-in was dropped:
            // the permits count the hashes that are really running.
            let _permit = permit;
            verify_now(&password, stored)
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

/// [`Hashing::verify`]'s work, on the calling thread.
fn verify_now(password: &str, stored: Option<String>) -> bool {
    let exists = stored.is_some();
    let hash = stored.unwrap_or_else(|| DUMMY_HASH.clone());
    let matches = PasswordHash::new(&hash)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false);
    exists && matches
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
