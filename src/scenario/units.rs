//! Human-written values in scenarios: durations (`30s`, `2m`, `500ms`), the idle timeout's
//! `off`, and seed ranges (`100`, `1..=100`, `0..50`).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::engine::SimTime;

/// A duration in microseconds, written with a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dur(pub SimTime);

pub fn parse_duration_us(text: &str) -> Result<SimTime, String> {
    let text = text.trim();
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(format!("`{text}` has no unit: write e.g. `{text}s`, `{text}ms` or `{text}m`"));
    }
    let d = humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration ({e}): write e.g. `30s`, `500ms`, `2m`, `1h`"))?;
    u64::try_from(d.as_micros()).map_err(|_| format!("`{text}` is too long"))
}

/// A number short enough for a message: `1e308` stays `1e308`, not 309 digits.
pub fn short_number(v: f64) -> String {
    let plain = v.to_string();
    if plain.len() <= 12 { plain } else { format!("{v:e}") }
}

struct DurVisitor;

impl Visitor<'_> for DurVisitor {
    type Value = SimTime;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a duration with a unit, like `30s`, `500ms` or `2m`")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<SimTime, E> {
        parse_duration_us(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<SimTime, E> {
        if v == 0 { Ok(0) } else { Err(E::custom(format!("`{v}` has no unit: write e.g. `{v}s` or `{v}ms`"))) }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<SimTime, E> {
        Err(E::custom(format!("`{v}` is not a duration: write e.g. `30s`")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<SimTime, E> {
        let v = short_number(v);
        Err(E::custom(format!("`{v}` has no unit: write e.g. `{v}s`")))
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
        d.deserialize_any(DurVisitor).map(Dur)
    }
}

/// A duration that may be `off` (0): the NameServer's channel idle timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdleDur(pub SimTime);

impl<'de> Deserialize<'de> for IdleDur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<IdleDur, D::Error> {
        struct IdleVisitor;
        impl Visitor<'_> for IdleVisitor {
            type Value = SimTime;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration like `120s`, or `off`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SimTime, E> {
                if v.trim() == "off" { Ok(0) } else { DurVisitor.visit_str(v) }
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<SimTime, E> {
                if v { Err(E::custom("write a duration like `120s`, or `off`")) } else { Ok(0) }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SimTime, E> {
                DurVisitor.visit_u64(v)
            }
        }
        d.deserialize_any(IdleVisitor).map(IdleDur)
    }
}

/// Seeds to run: `N` means 1..=N; `A..B` and `A..=B` as in Rust. The one seed-range type:
/// scenarios, `--seeds` and a sweep's identity (`partial.json`) use it.
///
/// Written as `{"first": A, "last": B}` (a sweep's `partial.json`) and read from that or from
/// the text forms; every way in checks `first <= last` and [`SEEDS_MAX`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SeedRange {
    pub first: u64,
    /// Inclusive.
    pub last: u64,
}

impl SeedRange {
    pub fn seeds(self) -> impl Iterator<Item = u64> {
        self.first..=self.last
    }

    pub fn len(self) -> u64 {
        // `first <= last` is checked on the way in; `0..=u64::MAX` would wrap to 0 here.
        (self.last - self.first).saturating_add(1)
    }

    /// A range from its ends, checked as the parser checks one.
    pub fn new(first: u64, last: u64) -> Result<SeedRange, String> {
        if last < first {
            return Err(format!("seeds {first}..={last}: the range is empty"));
        }
        // `last - first` cannot overflow here; `len` could (0..=u64::MAX has 2^64 seeds).
        if last - first >= SEEDS_MAX {
            return Err(format!("seeds {first}..={last}: more than {SEEDS_MAX} seeds; run fewer at once"));
        }
        Ok(SeedRange { first, last })
    }

    /// Never true: parsing rejects empty ranges such as `5..5`.
    pub fn is_empty(self) -> bool {
        false
    }
}

/// The most seeds one range may name.
pub const SEEDS_MAX: u64 = 10_000_000;

impl std::str::FromStr for SeedRange {
    type Err = String;

    fn from_str(text: &str) -> Result<SeedRange, String> {
        let text = text.trim();
        let bad = || format!("`{text}` is not a seed range: write `100` (seeds 1..=100), `1..=100` or `0..50`");
        let num = |s: &str| s.trim().parse::<u64>().map_err(|_| bad());
        let range = if let Some((a, b)) = text.split_once("..=") {
            SeedRange { first: num(a)?, last: num(b)? }
        } else if let Some((a, b)) = text.split_once("..") {
            let (first, end) = (num(a)?, num(b)?);
            if end <= first {
                return Err(format!("`{text}` is empty"));
            }
            SeedRange { first, last: end - 1 }
        } else {
            let count = num(text)?;
            if count == 0 {
                return Err("`0` seeds: run at least one".to_string());
            }
            SeedRange { first: 1, last: count }
        };
        if range.last < range.first {
            return Err(format!("`{text}` is empty"));
        }
        if range.last - range.first >= SEEDS_MAX {
            return Err(format!("`{text}` has more than {SEEDS_MAX} seeds; run fewer at once"));
        }
        Ok(range)
    }
}

impl<'de> Deserialize<'de> for SeedRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SeedRange, D::Error> {
        struct SeedVisitor;
        impl<'de> Visitor<'de> for SeedVisitor {
            type Value = SeedRange;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a seed count like `100` or a range like `1..=100`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SeedRange, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SeedRange, E> {
                v.to_string().parse().map_err(E::custom)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<SeedRange, A::Error> {
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Ends {
                    first: u64,
                    last: u64,
                }
                let ends = Ends::deserialize(de::value::MapAccessDeserializer::new(map))?;
                SeedRange::new(ends.first, ends.last).map_err(de::Error::custom)
            }
        }
        d.deserialize_any(SeedVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_us("30s"), Ok(30_000_000));
        assert_eq!(parse_duration_us("2m"), Ok(120_000_000));
        assert_eq!(parse_duration_us("500ms"), Ok(500_000));
        assert_eq!(parse_duration_us("250us"), Ok(250));
        assert!(parse_duration_us("30").unwrap_err().contains("no unit"));
        assert!(parse_duration_us("thirty").is_err());
    }

    #[test]
    fn numbers_in_messages_stay_short() {
        assert_eq!(short_number(1e308), "1e308");
        assert_eq!(short_number(1e-15), "1e-15");
        assert_eq!(short_number(0.25), "0.25");
        assert_eq!(short_number(f64::NAN), "NaN");
    }

    #[test]
    fn seed_ranges() {
        assert_eq!("100".parse(), Ok(SeedRange { first: 1, last: 100 }));
        assert_eq!("0..50".parse(), Ok(SeedRange { first: 0, last: 49 }));
        assert_eq!("3..=3".parse(), Ok(SeedRange { first: 3, last: 3 }));
        assert!("5..5".parse::<SeedRange>().is_err());
        assert!("0".parse::<SeedRange>().is_err());
        assert!("a..b".parse::<SeedRange>().is_err());
        // Ranges never wrap: 2^64 seeds (whose count is 0 in u64) and a count of u64::MAX are
        // refused, not run as 0 seeds or an allocation that cannot fit.
        for text in ["0..=18446744073709551615", "18446744073709551615", "0..18446744073709551615"] {
            let e = text.parse::<SeedRange>().unwrap_err();
            assert!(e.contains("more than 10000000 seeds"), "{text}: {e}");
        }
        assert_eq!("18446744073709551615..=18446744073709551615".parse::<SeedRange>().map(SeedRange::len), Ok(1));
        assert_eq!(SeedRange::new(1, 10_000_000).map(SeedRange::len), Ok(10_000_000));
        assert!(SeedRange::new(0, 10_000_000).is_err());
        let json: SeedRange = serde_json::from_str(r#"{"first": 3, "last": 5}"#).unwrap();
        assert_eq!(json, SeedRange { first: 3, last: 5 });
        assert!(serde_json::from_str::<SeedRange>(r#"{"first": 0, "last": 18446744073709551615}"#).is_err());
        assert_eq!(serde_json::to_string(&json).unwrap(), r#"{"first":3,"last":5}"#);
    }
}
