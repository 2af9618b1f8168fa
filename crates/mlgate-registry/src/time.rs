//! Timestamps: stored as Unix milliseconds (cheap to index and compare), shown as RFC 3339
//! UTC, and parsed from what people type after `--since`/`--until` (`yesterday`,
//! `7 days ago`, `2024-01-01`). Everything is UTC: the registry is shared by machines in
//! different time zones, and a CI log is read far from where it ran.

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

const DAY_MS: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `2026-01-31T12:00:00Z`.
pub fn format_utc(ms: i64) -> String {
    let days = ms.div_euclid(DAY_MS);
    let rest = ms.rem_euclid(DAY_MS) / 1000;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// Parse a point in time typed by a person: `now`, `today`, `yesterday`, `N UNIT(s) ago`
/// (minutes, hours, days, weeks, months of 30 days, years of 365 days), `YYYY-MM-DD`, or
/// `YYYY-MM-DDTHH:MM[:SS][Z]` / with a space instead of `T`. Returns Unix milliseconds.
pub fn parse_when(text: &str, now: i64) -> Result<i64, String> {
    let t = text.trim().to_ascii_lowercase();
    let hint = "use `yesterday`, `today`, `7 days ago`, `3 hours ago`, `2024-01-31` or \
                `2024-01-31T08:00:00Z` (UTC)";
    match t.as_str() {
        "now" => return Ok(now),
        "today" => return Ok(now.div_euclid(DAY_MS) * DAY_MS),
        "yesterday" => return Ok((now.div_euclid(DAY_MS) - 1) * DAY_MS),
        _ => {}
    }
    if let Some(rel) = t.strip_suffix(" ago") {
        let mut parts = rel.split_whitespace();
        let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(hint.into());
        };
        let n: i64 = n.parse().map_err(|_| hint.to_string())?;
        let unit_ms: i64 = match unit.trim_end_matches('s') {
            "second" | "sec" => 1000,
            "minute" | "min" => 60_000,
            "hour" | "h" => 3_600_000,
            "day" | "d" => DAY_MS,
            "week" | "w" => 7 * DAY_MS,
            "month" => 30 * DAY_MS,
            "year" | "y" => 365 * DAY_MS,
            _ => return Err(hint.into()),
        };
        return n
            .checked_mul(unit_ms)
            .and_then(|d| now.checked_sub(d))
            .ok_or_else(|| hint.to_string());
    }
    parse_date_time(&t).ok_or_else(|| match impossible_day(&t) {
        Some(days) => format!("that month has {days} days; {hint}"),
        None => hint.to_string(),
    })
}

/// The length of the month when `t` is a well-formed date whose day does not exist in it
/// (`2024-02-31`), so the error can say why rather than only what is accepted.
fn impossible_day(t: &str) -> Option<u32> {
    let date = t.split(['t', ' ']).next()?;
    let mut it = date.split('-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    let days = (1..=12).contains(&m).then(|| days_in_month(y, m))?;
    (d > days).then_some(days)
}

fn parse_date_time(t: &str) -> Option<i64> {
    let (date, time) = match t.find(['t', ' ']) {
        Some(i) => (&t[..i], Some(t[i + 1..].trim_end_matches('z'))),
        None => (t, None),
    };
    let mut it = date.split('-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    // 2024-02-31 is a typo, not 2 March: a day past its month's end is rejected.
    if it.next().is_some() || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let mut ms = days_from_civil(y, m, d) * DAY_MS;
    if let Some(time) = time {
        let mut it = time.split(':');
        let h: i64 = it.next()?.parse().ok()?;
        let mi: i64 = it.next()?.parse().ok()?;
        let s: i64 = match it.next() {
            Some(s) => s.split('.').next()?.parse().ok()?,
            None => 0,
        };
        if it.next().is_some() || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        ms += ((h * 60 + mi) * 60 + s) * 1000;
    }
    Some(ms)
}

/// How a timestamp written by [`rfc3339`] looks in a JSON Schema: a UTC date-time string
/// such as `2024-02-29T13:14:15Z`. Fields use it with `#[schemars(with = "Rfc3339")]`.
pub struct Rfc3339;

impl schemars::JsonSchema for Rfc3339 {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Rfc3339".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "date-time",
        })
    }
}

/// Serde helper: store milliseconds, serialize as RFC 3339 UTC text.
pub mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_utc(*ms))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_date_time(&text.to_ascii_lowercase())
            .ok_or_else(|| serde::de::Error::custom(format!("bad timestamp `{text}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_dates() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        let ms = parse_when("2024-02-29T13:14:15Z", 0).unwrap();
        assert_eq!(format_utc(ms), "2024-02-29T13:14:15Z");
        assert_eq!(parse_when("2024-01-01", 0).unwrap(), 1_704_067_200_000);
    }

    #[test]
    fn relative_times() {
        let now = parse_when("2024-03-10T12:00:00Z", 0).unwrap();
        assert_eq!(
            format_utc(parse_when("7 days ago", now).unwrap()),
            "2024-03-03T12:00:00Z"
        );
        assert_eq!(
            format_utc(parse_when("yesterday", now).unwrap()),
            "2024-03-09T00:00:00Z"
        );
        assert_eq!(
            format_utc(parse_when("1 hour ago", now).unwrap()),
            "2024-03-10T11:00:00Z"
        );
        assert!(parse_when("last tuesday", now).is_err());
        assert!(parse_when("2024-13-01", now).is_err());
    }

    #[test]
    fn impossible_dates_are_rejected() {
        let now = parse_when("2024-03-10T12:00:00Z", 0).unwrap();
        for bad in [
            "2024-02-31",
            "2023-02-29",
            "1900-02-29",
            "2024-04-31",
            "2024-01-00",
        ] {
            assert!(parse_when(bad, now).is_err(), "{bad} was accepted");
        }
        assert!(parse_when("2024-02-31", now)
            .unwrap_err()
            .contains("has 29 days"));
        for good in ["2024-02-29", "2000-02-29", "2023-12-31", "2024-04-30"] {
            let ms = parse_when(good, now).unwrap();
            assert_eq!(&format_utc(ms)[..10], good);
        }
    }
}
