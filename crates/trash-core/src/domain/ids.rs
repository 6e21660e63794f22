//! Identifiers and slugs: newtypes that can only hold valid values.

use std::fmt;

/// Why a string was refused as an identifier, slug or name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidValue {
    /// The value was empty.
    #[error("{what} must not be empty")]
    Empty {
        /// What was being parsed (e.g. "project slug").
        what: &'static str,
    },
    /// The value was longer than allowed.
    #[error("{what} must be at most {max} characters long")]
    TooLong {
        /// What was being parsed.
        what: &'static str,
        /// The maximum length in characters.
        max: usize,
    },
    /// The value had the wrong length.
    #[error("{what} must be exactly {len} characters long")]
    WrongLength {
        /// What was being parsed.
        what: &'static str,
        /// The required length.
        len: usize,
    },
    /// The value contained a character that is not allowed.
    #[error("{what} may only contain {allowed}")]
    BadCharacter {
        /// What was being parsed.
        what: &'static str,
        /// A description of the allowed characters.
        allowed: &'static str,
    },
    /// The value is not one of a fixed set of words.
    #[error("unknown {what} {value:?}; expected one of {expected}")]
    Unknown {
        /// What was being parsed.
        what: &'static str,
        /// The value that was given (truncated to 64 characters).
        value: String,
        /// The accepted values.
        expected: &'static str,
    },
    /// The value is outside its allowed range.
    #[error("{what} is out of range: {detail}")]
    OutOfRange {
        /// What was being parsed.
        what: &'static str,
        /// What the range is.
        detail: &'static str,
    },
    /// The value contains an invisible formatting character (Unicode
    /// general category Cf: bidi controls such as U+202E, zero-width
    /// characters such as U+200B), which can make a name display as
    /// something other than what it is.
    #[error(
        "{what} contains the invisible format character U+{code_point:04X}; bidi controls and zero-width characters (Unicode category Cf) are not allowed"
    )]
    FormatCharacter {
        /// What was being parsed.
        what: &'static str,
        /// The first such character, as a code point.
        code_point: u32,
    },
}

/// Whether `c` is a Unicode format character (general category Cf): bidi
/// embeddings, overrides and isolates, zero-width spaces and joiners, the
/// byte order mark, and the like.
pub fn is_format_character(c: char) -> bool {
    use unicode_general_category::{get_general_category, GeneralCategory};
    get_general_category(c) == GeneralCategory::Format
}

pub(crate) fn truncate_for_message(value: &str) -> String {
    value.chars().take(64).collect()
}

/// Length of the random identifiers of projects, workflows, trainings, images and operations.
pub const RANDOM_ID_LEN: usize = 20;

fn parse_slug(what: &'static str, value: &str, max: usize) -> Result<String, InvalidValue> {
    if value.is_empty() {
        return Err(InvalidValue::Empty { what });
    }
    if value.chars().count() > max {
        return Err(InvalidValue::TooLong { what, max });
    }
    let ok_chars = value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    let bad_edges = value.starts_with(['-', '_']) || value.ends_with(['-', '_']);
    if !ok_chars || bad_edges {
        return Err(InvalidValue::BadCharacter {
            what,
            allowed: "lowercase letters a-z, digits 0-9, '-' and '_', starting and ending with a letter or digit",
        });
    }
    Ok(value.to_owned())
}

fn parse_random_id(what: &'static str, value: &str) -> Result<String, InvalidValue> {
    if value.is_empty() {
        return Err(InvalidValue::Empty { what });
    }
    if !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(InvalidValue::BadCharacter {
            what,
            allowed: "ASCII letters and digits",
        });
    }
    if value.len() != RANDOM_ID_LEN {
        return Err(InvalidValue::WrongLength {
            what,
            len: RANDOM_ID_LEN,
        });
    }
    Ok(value.to_owned())
}

macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident, $what:literal, $parse:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Parses a value, refusing anything invalid with a typed error.
            pub fn parse(value: &str) -> Result<Self, InvalidValue> {
                let parse: fn(&'static str, &str) -> Result<String, InvalidValue> = $parse;
                parse($what, value).map(Self)
            }

            /// The value as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_newtype!(
    /// The `url` slug of a workspace (`my-workspace`): 1–64 of `a-z 0-9 - _`.
    WorkspaceSlug,
    "workspace slug",
    |what, v| parse_slug(what, v, 64)
);
string_newtype!(
    /// The `url` slug of a project or workflow: 1–100 of `a-z 0-9 - _`, unique
    /// among the workspace's *active* items of that type.
    Slug,
    "slug",
    |what, v| parse_slug(what, v, 100)
);
string_newtype!(
    /// A project id: 20 random ASCII letters and digits.
    ProjectId,
    "project id",
    parse_random_id
);
string_newtype!(
    /// A workflow id: 20 random ASCII letters and digits.
    WorkflowId,
    "workflow id",
    parse_random_id
);
string_newtype!(
    /// A training id: 20 random ASCII letters and digits.
    TrainingId,
    "training id",
    parse_random_id
);
string_newtype!(
    /// An image id: 20 random ASCII letters and digits.
    ImageId,
    "image id",
    parse_random_id
);
string_newtype!(
    /// The id of one trash operation (one "move to trash").
    OperationId,
    "operation id",
    parse_random_id
);
string_newtype!(
    /// The id of a legal hold: 20 random ASCII letters and digits.
    HoldId,
    "hold id",
    parse_random_id
);
string_newtype!(
    /// The public id of an API key (the part of the key that is not secret).
    KeyId,
    "key id",
    parse_random_id
);
string_newtype!(
    /// The id of a web user.
    UserId,
    "user id",
    parse_random_id
);

impl Slug {
    /// The candidate slug `base-n` used when restoring under a free slug
    /// (`onConflict: rename`). Keeps the result within the slug length limit.
    pub fn with_suffix(&self, n: u32) -> Slug {
        let suffix = format!("-{n}");
        let keep = 100usize.saturating_sub(suffix.len());
        let mut base: String = self.0.chars().take(keep).collect();
        while base.ends_with(['-', '_']) {
            base.pop();
        }
        Slug(format!("{base}{suffix}"))
    }

    /// Derives a slug from a human name (`"My Detector"` → `my-detector`).
    /// Returns an error when nothing usable remains.
    pub fn from_name(name: &str) -> Result<Slug, InvalidValue> {
        let mut out = String::new();
        let mut dash = false;
        for c in name.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                out.push(c);
                dash = false;
            } else if !dash && !out.is_empty() {
                out.push('-');
                dash = true;
            }
        }
        let trimmed: String = out.trim_end_matches('-').chars().take(100).collect();
        Slug::parse(trimmed.trim_end_matches('-'))
    }
}

/// A dataset version number inside its project (1, 2, 3, …; never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VersionNumber(u32);

impl VersionNumber {
    /// The first version number of a project.
    pub const FIRST: VersionNumber = VersionNumber(1);

    /// Parses a version number from its decimal string form (`"3"`).
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        const WHAT: &str = "version number";
        if value.is_empty() {
            return Err(InvalidValue::Empty { what: WHAT });
        }
        if !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidValue::BadCharacter {
                what: WHAT,
                allowed: "decimal digits",
            });
        }
        match value.parse::<u32>() {
            Ok(n) => Self::new(n),
            Err(_) => Err(InvalidValue::OutOfRange {
                what: WHAT,
                detail: "must be between 1 and 2147483647",
            }),
        }
    }

    /// A version number from an integer; 0 and values above `i32::MAX` are refused.
    pub fn new(n: u32) -> Result<Self, InvalidValue> {
        if n == 0 || n > i32::MAX as u32 {
            return Err(InvalidValue::OutOfRange {
                what: "version number",
                detail: "must be between 1 and 2147483647",
            });
        }
        Ok(VersionNumber(n))
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }

    /// The number after this one.
    pub fn next(self) -> VersionNumber {
        VersionNumber(self.0.saturating_add(1).min(i32::MAX as u32))
    }
}

impl fmt::Display for VersionNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A human-readable name (project, version, workflow, image, key, user):
/// 1–200 characters, no control characters, no invisible format characters
/// (Unicode category Cf), not only whitespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name(String);

impl Name {
    /// Parses a name given as input; surrounding whitespace is trimmed.
    /// Refuses control characters and format characters (Unicode category
    /// Cf: `"\u{202E}txt.exe\u{200B}"` is refused).
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let name = Name::from_stored(value)?;
        if let Some(c) = name.0.chars().find(|&c| is_format_character(c)) {
            return Err(InvalidValue::FormatCharacter {
                what: "name",
                code_point: u32::from(c),
            });
        }
        Ok(name)
    }

    /// Reads a name back from storage: the rules of [`Name::parse`] except
    /// the one on format characters, which names stored before it was
    /// introduced may contain. Only stores should call this.
    pub fn from_stored(value: &str) -> Result<Self, InvalidValue> {
        const WHAT: &str = "name";
        let v = value.trim();
        if v.is_empty() {
            return Err(InvalidValue::Empty { what: WHAT });
        }
        if v.chars().count() > 200 {
            return Err(InvalidValue::TooLong {
                what: WHAT,
                max: 200,
            });
        }
        if v.chars().any(char::is_control) {
            return Err(InvalidValue::BadCharacter {
                what: WHAT,
                allowed: "printable characters (no control characters)",
            });
        }
        Ok(Name(v.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address used to sign in to the web Trash view (lower-cased).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Parses an e-mail address: `local@domain`, at most 254 characters, no spaces.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        const WHAT: &str = "email";
        let v = value.trim().to_lowercase();
        if v.is_empty() {
            return Err(InvalidValue::Empty { what: WHAT });
        }
        if v.len() > 254 {
            return Err(InvalidValue::TooLong {
                what: WHAT,
                max: 254,
            });
        }
        let valid = match v.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !v.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if !valid {
            return Err(InvalidValue::BadCharacter {
                what: WHAT,
                allowed: "one '@' between a local part and a domain, without spaces",
            });
        }
        Ok(Email(v))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_accept_valid_and_reject_invalid() {
        assert!(Slug::parse("my-detector_2").is_ok());
        assert_eq!(Slug::parse(""), Err(InvalidValue::Empty { what: "slug" }));
        assert!(matches!(
            Slug::parse(&"a".repeat(101)),
            Err(InvalidValue::TooLong { max: 100, .. })
        ));
        for bad in [
            "My", "a b", "../x", "a/b", "%2e%2e", "x'--", "-a", "a-", "é", "a\0b",
        ] {
            assert!(
                matches!(Slug::parse(bad), Err(InvalidValue::BadCharacter { .. })),
                "{bad:?} accepted"
            );
        }
        assert!(WorkspaceSlug::parse(&"w".repeat(65)).is_err());
    }

    #[test]
    fn random_ids_need_twenty_alphanumerics() {
        assert!(ProjectId::parse("Jjk3Tjq2yjxenyA9g5er").is_ok());
        assert!(matches!(
            ProjectId::parse("short"),
            Err(InvalidValue::WrongLength { len: 20, .. })
        ));
        assert!(matches!(
            ProjectId::parse("Jjk3Tjq2yjxenyA9g5e!"),
            Err(InvalidValue::BadCharacter { .. })
        ));
        assert!(matches!(
            TrainingId::parse(""),
            Err(InvalidValue::Empty { .. })
        ));
    }

    #[test]
    fn version_numbers() {
        assert_eq!(VersionNumber::parse("3").unwrap().get(), 3);
        assert!(VersionNumber::parse("0").is_err());
        assert!(VersionNumber::parse("-1").is_err());
        assert!(VersionNumber::parse("1e3").is_err());
        assert!(VersionNumber::parse("99999999999").is_err());
        assert!(VersionNumber::parse("").is_err());
    }

    #[test]
    fn names_and_emails() {
        assert_eq!(
            Name::parse("  My Detector ").unwrap().as_str(),
            "My Detector"
        );
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse("a\u{7}b").is_err());
        assert!(Name::parse(&"x".repeat(201)).is_err());
        assert_eq!(
            Name::parse("Café ✓ 漢字 🙂").unwrap().as_str(),
            "Café ✓ 漢字 🙂"
        );
        for (bad, code_point) in [
            ("\u{202e}txt.exe\u{200b}", 0x202E),
            ("a\u{200b}b", 0x200B),
            ("a\u{200d}b", 0x200D),
            ("\u{2066}x\u{2069}", 0x2066),
            ("\u{feff}x", 0xFEFF),
            ("a\u{00ad}b", 0x00AD),
            ("x\u{e0041}", 0xE0041),
        ] {
            assert_eq!(
                Name::parse(bad),
                Err(InvalidValue::FormatCharacter {
                    what: "name",
                    code_point
                }),
                "{bad:?}"
            );
            assert!(Name::from_stored(bad).is_ok(), "{bad:?} stored earlier");
        }
        let sentence = Name::parse("a\u{202e}b").unwrap_err().to_string();
        assert!(sentence.contains("U+202E"), "{sentence}");
        assert!(Name::from_stored("a\u{7}b").is_err());
        assert_eq!(
            Email::parse("Ann@Example.com").unwrap().as_str(),
            "ann@example.com"
        );
        assert!(Email::parse("nope").is_err());
        assert!(Email::parse("a b@c").is_err());
    }

    #[test]
    fn slug_helpers() {
        let s = Slug::parse("my-detector").unwrap();
        assert_eq!(s.with_suffix(2).as_str(), "my-detector-2");
        let long = Slug::parse(&"a".repeat(100)).unwrap();
        assert_eq!(long.with_suffix(12).as_str().len(), 100);
        assert_eq!(
            Slug::from_name("My Detector!").unwrap().as_str(),
            "my-detector"
        );
        assert!(Slug::from_name("!!!").is_err());
    }
}
