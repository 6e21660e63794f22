//! Signed session cookies and CSRF tokens (HMAC-SHA256).

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use trash_core::domain::UserId;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "trashd_session";
/// Name of the cookie carrying the sign-in form's CSRF token.
pub const LOGIN_COOKIE: &str = "trashd_login";

/// Secrets and settings of the web view.
#[derive(Clone)]
pub struct WebConfig {
    key: [u8; 32],
    /// Mark cookies `Secure` (set when served over HTTPS).
    pub secure_cookies: bool,
    /// How long a sign-in lasts.
    pub session_ttl: Duration,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("key", &"..")
            .field("secure_cookies", &self.secure_cookies)
            .field("session_ttl", &self.session_ttl)
            .finish()
    }
}

impl WebConfig {
    /// Settings with a session key from the given secret (share it between
    /// replicas so a session works on all of them). Sessions last 12 hours.
    pub fn from_secret(secret: &[u8]) -> WebConfig {
        WebConfig {
            key: Sha256::digest(secret).into(),
            secure_cookies: false,
            session_ttl: Duration::hours(12),
        }
    }

    /// Settings with a random session key: sessions end when the process does.
    pub fn random() -> WebConfig {
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        WebConfig::from_secret(&secret)
    }

    fn mac(&self, message: &str) -> [u8; 32] {
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(&self.key);
        let inner_pad: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
        let outer_pad: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
        let inner = Sha256::new()
            .chain_update(&inner_pad)
            .chain_update(message.as_bytes())
            .finalize();
        Sha256::new()
            .chain_update(&outer_pad)
            .chain_update(inner)
            .finalize()
            .into()
    }

    /// A signed session value for `user`, valid until `now + ttl`.
    pub fn issue(&self, user: &UserId, now: DateTime<Utc>) -> String {
        let expires = (now + self.session_ttl).timestamp_millis();
        let mac = hex(&self.mac(&format!("session:{user}:{expires}")));
        format!("{user}.{expires}.{mac}")
    }

    /// The user of a session value, if its signature is valid and it has not expired.
    pub fn verify(&self, value: &str, now: DateTime<Utc>) -> Option<UserId> {
        let mut parts = value.split('.');
        let (user, expires, mac) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let expected = hex(&self.mac(&format!("session:{user}:{expires}")));
        if !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
            return None;
        }
        let expires: i64 = expires.parse().ok()?;
        if now.timestamp_millis() >= expires {
            return None;
        }
        UserId::parse(user).ok()
    }

    /// The CSRF token bound to a session value.
    pub fn csrf_for(&self, session: &str) -> String {
        hex(&self.mac(&format!("csrf:{session}")))
    }
}

/// A random token for the sign-in form.
pub fn random_token() -> String {
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// Constant-time equality of two tokens.
pub fn same_token(a: &str, b: &str) -> bool {
    !a.is_empty() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_verify_only_untampered_and_unexpired() {
        let c = WebConfig::from_secret(b"s");
        let user = UserId::parse("uuuuuuuuuuuuuuuuuuuu").unwrap();
        let now = Utc::now();
        let v = c.issue(&user, now);
        assert_eq!(c.verify(&v, now), Some(user.clone()));
        assert_eq!(c.verify(&v, now + Duration::hours(13)), None);
        let tampered = v.replacen("uuuu", "vvvv", 1);
        assert_eq!(c.verify(&tampered, now), None);
        assert_eq!(WebConfig::from_secret(b"other").verify(&v, now), None);
        assert_eq!(c.verify("", now), None);
        assert_eq!(c.verify("a.b.c.d", now), None);
        assert_ne!(
            c.csrf_for(&v),
            c.csrf_for(&c.issue(&user, now + Duration::seconds(1)))
        );
    }

    #[test]
    fn hmac_matches_a_known_vector() {
        // Our key is SHA-256(secret); the expected value was computed with
        // Python's hmac module: hmac.new(sha256(b"Jefe"), msg, sha256).
        let c = WebConfig::from_secret(b"Jefe");
        assert_eq!(
            hex(&c.mac("what do ya want for nothing?")),
            "142c7fede7587937a94a739156b6e8176dc3ff6d5dc58b43b5700a605fac8df3"
        );
    }

    #[test]
    fn cookies_parse() {
        assert_eq!(
            cookie("a=1; trashd_session=xyz; b=2", SESSION_COOKIE),
            Some("xyz")
        );
        assert_eq!(cookie("a=1", SESSION_COOKIE), None);
        assert!(!same_token("", ""));
        assert!(same_token("ab", "ab"));
    }
}
