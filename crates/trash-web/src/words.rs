//! Words for people: plurals, relative times, lists.

use trash_core::domain::Timestamp;

/// `n` followed by the singular or plural noun: "1 version", "0 trainings".
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Joins parts as a sentence does: "a", "a and b", "a, b and c".
pub fn and_list(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// How far `at` is from `now`, in the largest whole unit: "3 hours ago",
/// "in 29 days", "just now". Whole units round down, so an item removed
/// for good in 29 days and 23 hours says "in 29 days".
pub fn relative(now: Timestamp, at: Timestamp) -> String {
    let millis = at.unix_millis() - now.unix_millis();
    let future = millis > 0;
    let seconds = (millis.unsigned_abs()) / 1000;
    const MINUTE: u64 = 60;
    const HOUR: u64 = 60 * MINUTE;
    const DAY: u64 = 24 * HOUR;
    const YEAR: u64 = 365 * DAY;
    let amount = if seconds < MINUTE {
        return if future {
            "in less than a minute".to_owned()
        } else {
            "just now".to_owned()
        };
    } else if seconds < HOUR {
        plural(seconds / MINUTE, "minute", "minutes")
    } else if seconds < DAY {
        plural(seconds / HOUR, "hour", "hours")
    } else if seconds < YEAR {
        plural(seconds / DAY, "day", "days")
    } else {
        plural(seconds / YEAR, "year", "years")
    };
    if future {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// The exact time for a tooltip: "2026-11-27 21:40:34 UTC".
pub fn exact(at: Timestamp) -> String {
    at.as_datetime().format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix_millis(1_700_000_000_000 + seconds * 1000).expect("time")
    }

    #[test]
    fn plurals_agree_with_their_number() {
        assert_eq!(plural(0, "training", "trainings"), "0 trainings");
        assert_eq!(plural(1, "version", "versions"), "1 version");
        assert_eq!(plural(2, "version", "versions"), "2 versions");
    }

    #[test]
    fn lists_read_as_a_sentence() {
        let s = |v: &[&str]| and_list(&v.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(s(&[]), "");
        assert_eq!(s(&["1 version"]), "1 version");
        assert_eq!(s(&["a", "b"]), "a and b");
        assert_eq!(s(&["a", "b", "c"]), "a, b and c");
    }

    #[test]
    fn relative_times_use_the_largest_whole_unit() {
        let now = at(0);
        for (offset, expected) in [
            (0, "just now"),
            (-59, "just now"),
            (30, "in less than a minute"),
            (-60, "1 minute ago"),
            (-3 * 3600 - 59, "3 hours ago"),
            (3600, "in 1 hour"),
            (30 * 86400 - 3 * 3600, "in 29 days"),
            (-86400, "1 day ago"),
            (-2 * 365 * 86400, "2 years ago"),
        ] {
            assert_eq!(relative(now, at(offset)), expected, "offset {offset}s");
        }
    }

    #[test]
    fn exact_times_are_utc() {
        assert_eq!(exact(at(0)), "2023-11-14 22:13:20 UTC");
    }
}
