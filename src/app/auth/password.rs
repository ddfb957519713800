//! Password hashing with argon2id (the crate's defaults, OWASP's recommendation).
//!
//! Hashing is CPU-heavy, so it runs on tokio's blocking pool, never on the
//! async workers.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand_core::{OsRng, RngCore};

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

/// Whether `password` matches `stored`; with no stored hash, checks a dummy one
/// (and answers no) so the time taken does not reveal whether the account exists.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        let exists = stored.is_some();
        let hash = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        let matches = PasswordHash::new(&hash)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false);
        exists && matches
    })
    .await
    .map_err(AppError::internal)
}

/// Computes the dummy hash now rather than on the first failed sign-in, whose
/// timing would otherwise stand out.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verifies_only_the_right_password() {
        let stored = hash("correct horse").expect("hashes");
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse".into(), Some(stored.clone())).await.expect("runs"));
        assert!(!verify("wrong".into(), Some(stored)).await.expect("runs"));
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
        assert!(!verify(String::new(), None).await.expect("runs"));
    }
}
