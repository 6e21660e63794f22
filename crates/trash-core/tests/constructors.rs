//! Bad input: every constructor refuses invalid values with a typed error.

use chrono::Duration;
use trash_core::domain::*;
use trash_core::usecases::PageLimit;

fn is_err<T: std::fmt::Debug>(r: Result<T, InvalidValue>, what: &str) -> InvalidValue {
    match r {
        Ok(v) => panic!("{what}: accepted {v:?}"),
        Err(e) => {
            assert!(!e.to_string().is_empty(), "{what}: error has a message");
            e
        }
    }
}

#[test]
fn slugs_refuse_empty_long_and_bad_characters() {
    for bad in [
        "",
        "UPPER",
        "sp ace",
        "../etc",
        "a/b",
        "a%2Fb",
        "semi;colon",
        "quote'",
        "-lead",
        "trail_",
        "ünï",
        "tab\t",
    ] {
        is_err(Slug::parse(bad), bad);
        is_err(WorkspaceSlug::parse(bad), bad);
    }
    assert!(matches!(
        is_err(Slug::parse(&"a".repeat(101)), "long"),
        InvalidValue::TooLong { .. }
    ));
    assert!(matches!(
        is_err(WorkspaceSlug::parse(&"a".repeat(65)), "long"),
        InvalidValue::TooLong { .. }
    ));
    assert!(matches!(
        is_err(Slug::parse(""), "empty"),
        InvalidValue::Empty { .. }
    ));
}

#[test]
fn random_ids_refuse_everything_but_twenty_alphanumerics() {
    type Parser = fn(&str) -> Result<(), InvalidValue>;
    let parsers: [(&str, Parser); 7] = [
        ("project", |v| ProjectId::parse(v).map(|_| ())),
        ("workflow", |v| WorkflowId::parse(v).map(|_| ())),
        ("training", |v| TrainingId::parse(v).map(|_| ())),
        ("image", |v| ImageId::parse(v).map(|_| ())),
        ("operation", |v| OperationId::parse(v).map(|_| ())),
        ("key", |v| KeyId::parse(v).map(|_| ())),
        ("user", |v| UserId::parse(v).map(|_| ())),
    ];
    for (what, parse) in parsers {
        assert!(parse("AbCdEfGhIj0123456789").is_ok(), "{what}");
        for bad in [
            "",
            "short",
            "AbCdEfGhIj01234567890",
            "AbCdEfGhIj012345678-",
            "AbCdEfGhIj01234567 9",
            "ÀbCdEfGhIj012345678",
        ] {
            is_err(parse(bad), what);
        }
    }
}

#[test]
fn numbers_names_and_emails() {
    for bad in ["", "0", "-3", "3.0", "+3", "0x10", "4294967296", " 3"] {
        is_err(VersionNumber::parse(bad), bad);
    }
    is_err(VersionNumber::new(0), "zero");
    for bad in ["", "   ", "bell\u{7}", "new\nline"] {
        is_err(Name::parse(bad), bad);
    }
    is_err(Name::parse(&"n".repeat(201)), "long name");
    for bad in [
        "",
        "plain",
        "@nodomain",
        "nolocal@",
        "two@@at",
        "sp ace@x.y",
    ] {
        is_err(Email::parse(bad), bad);
    }
}

#[test]
fn closed_vocabularies() {
    for bad in ["", "Project", "projects", "image", "workspace"] {
        is_err(ItemKind::parse(bad), bad);
    }
    for bad in [
        "",
        "project",
        "project:",
        ":read",
        "project:delete",
        "image:read",
        "project:read,x",
    ] {
        is_err(Scope::parse(bad), bad);
    }
    is_err(ScopeSet::parse_list("project:read,nope"), "scope list");
    for bad in ["", "done", "RUNNING"] {
        is_err(TrainingStatus::parse(bad), bad);
    }
    for bad in ["queued", "running", "cancelled", ""] {
        is_err(FinishedStatus::parse(bad), bad);
    }
    for bad in ["", "overwrite", "Rename"] {
        is_err(OnConflict::parse(bad), bad);
    }
    for bad in ["", "root", "Owner"] {
        is_err(Role::parse(bad), bad);
    }
    is_err(ActorKind::parse("robot"), "actor");
    is_err(AuditKind::parse("exploded"), "audit");
    for k in AuditKind::ALL {
        assert_eq!(AuditKind::parse(k.as_str()), Ok(k));
    }
}

#[test]
fn limits_cursors_retention_and_hashes() {
    for bad in ["", "0", "1001", "-1", "ten", "1.5"] {
        is_err(PageLimit::parse(bad), bad);
    }
    assert_eq!(PageLimit::parse("1000").unwrap().get(), 1000);
    assert_eq!(PageLimit::default().get(), 1000);
    for bad in ["", "x", "c", "cZZZZ", "c1AbCdEfGhIj0123456789!"] {
        is_err(TrashCursor::parse(bad), bad);
    }
    is_err(Retention::new(Duration::zero()), "zero retention");
    is_err(Retention::new(Duration::seconds(-5)), "negative retention");
    is_err(Retention::new(Duration::days(4000)), "huge retention");
    is_err(KeyHash::from_hex("abc"), "short hash");
    is_err(KeyHash::from_hex(&"g".repeat(64)), "non-hex hash");
}
