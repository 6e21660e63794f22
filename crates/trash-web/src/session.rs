//! Cookies, and the tokens that protect forms: HMAC-SHA256 (the `hmac`
//! crate) over a server secret. Sessions themselves live in the store
//! (`SessionService`); the cookie only carries their random token.

use cookie::{Cookie, SameSite};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "trashd_session";
/// Name of the cookie carrying the sign-in form's pre-session value.
pub const LOGIN_COOKIE: &str = "trashd_login";

/// How long a sign-in form stays valid, in seconds.
pub const LOGIN_FORM_SECONDS: i64 = 1800;

/// Secrets and settings of the web view.
#[derive(Clone)]
pub struct WebConfig {
    key: [u8; 32],
    /// Mark cookies `Secure` and send `Strict-Transport-Security` (the
    /// default of `trashd` unless it listens on a loopback address).
    pub secure_cookies: bool,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("key", &"..")
            .field("secure_cookies", &self.secure_cookies)
            .finish()
    }
}

impl WebConfig {
    /// Settings whose form tokens are keyed by the given secret (share it
    /// between replicas so a form loaded from one is accepted by another).
    pub fn from_secret(secret: &[u8]) -> WebConfig {
        WebConfig {
            key: Sha256::digest(secret).into(),
            secure_cookies: false,
        }
    }

    /// Settings with a random key: forms loaded before a restart must be
    /// reloaded (sessions, kept in the store, survive).
    pub fn random() -> WebConfig {
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        WebConfig::from_secret(&secret)
    }

    fn mac(&self, purpose: &str, value: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(value.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// The CSRF token of a session's forms, bound to its token.
    pub fn csrf_for_session(&self, session_token: &str) -> String {
        self.mac("csrf", session_token)
    }

    /// The token of the sign-in form, bound to the pre-session value kept
    /// in the login cookie: a script that sets that cookie itself cannot
    /// compute it without the server's key.
    pub fn csrf_for_login(&self, pre_session: &str) -> String {
        self.mac("login", pre_session)
    }

    /// A cookie of the web view: `HttpOnly`, `SameSite=Strict`, path `/app`,
    /// `Secure` when configured; `max_age` in seconds (0 removes it).
    pub fn cookie(&self, name: &'static str, value: String, max_age: i64) -> String {
        Cookie::build((name, value))
            .path("/app")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.secure_cookies)
            .max_age(cookie::time::Duration::seconds(max_age))
            .build()
            .to_string()
    }
}

/// A random value for the login cookie.
pub fn random_token() -> String {
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// Constant-time equality of two tokens; an empty token never matches.
pub fn same_token(a: &str, b: &str) -> bool {
    !a.is_empty() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The value of cookie `name` among the `Cookie` headers' pairs.
pub fn cookie<'a>(headers: impl Iterator<Item = &'a str>, name: &str) -> Option<String> {
    headers
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_keyed_and_bound() {
        let c = WebConfig::from_secret(b"s");
        assert_eq!(c.csrf_for_session("a"), c.csrf_for_session("a"));
        assert_ne!(c.csrf_for_session("a"), c.csrf_for_session("b"));
        assert_ne!(c.csrf_for_session("a"), c.csrf_for_login("a"));
        assert_ne!(
            c.csrf_for_login("a"),
            WebConfig::from_secret(b"other").csrf_for_login("a")
        );
        assert_eq!(c.csrf_for_login("a").len(), 64);
    }

    #[test]
    fn hmac_matches_a_known_vector() {
        // RFC 4231 test case 2 with our key derivation: the key is
        // SHA-256(secret), so check against the crate with that key.
        let key: [u8; 32] = Sha256::digest(b"Jefe").into();
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(b"login\0what do ya want for nothing?");
        let expected = hex(&mac.finalize().into_bytes());
        assert_eq!(
            WebConfig::from_secret(b"Jefe").csrf_for_login("what do ya want for nothing?"),
            expected
        );
    }

    #[test]
    fn cookies_parse_and_build() {
        assert_eq!(
            cookie(["a=1; trashd_session=xyz; b=2"].into_iter(), SESSION_COOKIE),
            Some("xyz".into())
        );
        assert_eq!(
            cookie(["a=1", "trashd_session=q"].into_iter(), SESSION_COOKIE),
            Some("q".into())
        );
        assert_eq!(cookie(["a=1"].into_iter(), SESSION_COOKIE), None);
        assert!(!same_token("", ""));
        assert!(same_token("ab", "ab"));
        let mut c = WebConfig::from_secret(b"s");
        let plain = c.cookie(SESSION_COOKIE, "v".into(), 60);
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict"));
        assert!(plain.contains("Path=/app") && plain.contains("Max-Age=60"));
        assert!(!plain.contains("Secure"));
        c.secure_cookies = true;
        assert!(c.cookie(SESSION_COOKIE, "v".into(), 60).contains("Secure"));
    }
}
