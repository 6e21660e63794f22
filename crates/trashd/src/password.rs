//! Web-user passwords: read without echo, hashed with argon2 (PHC string).

use std::io::IsTerminal;

use crate::error::Failure;

/// Shortest password accepted.
pub const MIN_LEN: usize = 8;
/// Longest password accepted (argon2 itself takes more, people do not).
pub const MAX_LEN: usize = 1024;

/// Hashes a password the way the web view verifies it (argon2id, random
/// salt, PHC string).
pub fn hash(password: &str) -> Result<String, Failure> {
    trash_web::hash_password(password).map_err(Failure::failed)
}

/// Checks that a password is acceptable.
pub fn check(password: &str) -> Result<(), Failure> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(Failure::usage(format!(
            "the password must be at least {MIN_LEN} characters long"
        )));
    }
    if len > MAX_LEN {
        return Err(Failure::usage(format!(
            "the password must be at most {MAX_LEN} characters long"
        )));
    }
    if password.chars().any(char::is_control) {
        return Err(Failure::usage(
            "the password must not contain control characters",
        ));
    }
    Ok(())
}

/// The password for `create-user`: `TRASHD_PASSWORD` if set, else asked
/// twice on the terminal without echo.
pub fn obtain(from_env: Option<String>) -> Result<String, Failure> {
    if let Some(p) = from_env {
        check(&p)?;
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::usage(
            "no password given: set TRASHD_PASSWORD or run the command on a terminal to be asked for one",
        ));
    }
    let first = rpassword::prompt_password("Password: ")
        .map_err(|e| Failure::failed(format!("cannot read the password: {e}")))?;
    check(&first)?;
    let second = rpassword::prompt_password("Repeat password: ")
        .map_err(|e| Failure::failed(format!("cannot read the password: {e}")))?;
    if first != second {
        return Err(Failure::usage("the two passwords differ"));
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    use argon2::Argon2;

    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = hash("correct horse").unwrap();
        let b = hash("correct horse").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "a random salt each time");
        let parsed = PasswordHash::new(&a).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"wrong horse", &parsed)
            .is_err());
        assert!(!a.contains("correct"));
    }

    #[test]
    fn weak_passwords_are_refused() {
        assert!(check("short").is_err());
        assert!(check("has\ttab in it").is_err());
        assert!(check(&"x".repeat(MAX_LEN + 1)).is_err());
        assert!(check("long enough").is_ok());
        assert!(obtain(Some("tiny".into())).is_err());
        assert_eq!(obtain(Some("long enough".into())).unwrap(), "long enough");
    }
}
