//! Signing with `SESSION_SECRET`: the key behind session and preview cookies.
//!
//! Below the features (the configuration holds one, auth signs and checks
//! with it), so it lives here rather than in `app::auth`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;

/// The key that signs session (and preview) cookies, from `SESSION_SECRET`.
///
/// Holds the HMAC state already keyed, so signing or checking a cookie costs
/// two SHA-256 blocks and no allocation for the key; cloning it copies a few
/// hundred bytes. Its `Debug` shows nothing of the key.
#[derive(Clone)]
pub struct SessionKey {
    mac: Hmac<Sha256>,
}

impl SessionKey {
    /// The shortest `SESSION_SECRET` accepted, in bytes: the size of the MAC,
    /// below which the key is the weak point.
    pub const MIN_SECRET_BYTES: usize = 32;

    /// The key for `secret` (the configuration enforces [`Self::MIN_SECRET_BYTES`]).
    pub fn new(secret: &[u8]) -> Self {
        let mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
        Self { mac }
    }

    /// A random key, for development without `SESSION_SECRET`: cookies signed
    /// with it die with the process.
    pub fn generate() -> Self {
        let mut secret = [0u8; Self::MIN_SECRET_BYTES];
        OsRng.fill_bytes(&mut secret);
        Self::new(&secret)
    }

    /// The MAC of `value` for `purpose`, base64url without padding (43 characters).
    pub fn sign(&self, purpose: &str, value: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.keyed(purpose, value).finalize().into_bytes())
    }

    /// Whether `mac` is [`sign`](Self::sign)`(purpose, value)`, compared in
    /// constant time. Malformed input is simply not a match.
    pub fn verify(&self, purpose: &str, value: &str, mac: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(mac) {
            Ok(mac) => self.keyed(purpose, value).verify_slice(&mac).is_ok(),
            Err(_) => false,
        }
    }

    /// The HMAC state after `purpose`, a NUL separator and `value` (no purpose
    /// contains NUL, so no two pairs give the same input).
    fn keyed(&self, purpose: &str, value: &str) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac
    }
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(***)")
    }
}
