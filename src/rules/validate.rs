//! Offline validators: checksums and structural checks that turn a pattern match into a precise
//! finding (GitHub/npm token CRC32, Luhn, IBAN mod-97, US SSN ranges, JWT structure).
//!
//! Validators only ever say "this is not really one"; they never reach the network.

use std::str::FromStr;

/// A named validator, referenced from rule files by its kebab-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validator {
    /// `<prefix>_<30 base62><6 base62 CRC32>`: GitHub tokens since 2021, npm tokens.
    TokenCrc32,
    /// Payment card numbers.
    Luhn,
    /// International bank account numbers: country length and mod-97.
    Iban,
    /// US social security numbers: valid area, group and serial.
    UsSsn,
    /// `header.payload.signature` whose header is base64url JSON naming an `alg`.
    Jwt,
}

impl FromStr for Validator {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "token-crc32" | "github-crc32" | "npm-crc32" => Validator::TokenCrc32,
            "luhn" => Validator::Luhn,
            "iban" => Validator::Iban,
            "us-ssn" => Validator::UsSsn,
            "jwt" => Validator::Jwt,
            other => {
                return Err(format!(
                    "unknown validator `{other}` (known: token-crc32, luhn, iban, us-ssn, jwt)"
                ))
            }
        })
    }
}

impl Validator {
    pub fn check(self, secret: &str) -> bool {
        match self {
            Validator::TokenCrc32 => token_crc32(secret),
            Validator::Luhn => luhn(secret),
            Validator::Iban => iban(secret),
            Validator::UsSsn => us_ssn(secret),
            Validator::Jwt => jwt(secret),
        }
    }
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Base62 of `n`, left-padded with `0` to `width`.
pub fn base62(mut n: u32, width: usize) -> String {
    let mut out = Vec::new();
    while n > 0 {
        out.push(BASE62[(n % 62) as usize]);
        n /= 62;
    }
    while out.len() < width {
        out.push(b'0');
    }
    out.reverse();
    String::from_utf8(out).expect("base62 digits are ASCII")
}

/// The last six characters of the part after the final `_` are the base62 CRC32 of the rest.
pub fn token_crc32(token: &str) -> bool {
    let body = token.rsplit('_').next().unwrap_or(token);
    if body.len() < 7 || !body.is_ascii() {
        return false;
    }
    let (random, check) = body.split_at(body.len() - 6);
    base62(crc32fast::hash(random.as_bytes()), 6) == check
}

/// Builds a token with a valid checksum (for tests and examples).
pub fn with_token_crc32(prefix: &str, random: &str) -> String {
    format!(
        "{prefix}{random}{}",
        base62(crc32fast::hash(random.as_bytes()), 6)
    )
}

pub fn luhn(number: &str) -> bool {
    let digits: Vec<u32> = number.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() < 12 || digits.len() > 19 {
        return false;
    }
    if digits.iter().all(|&d| d == digits[0]) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn iban_length(country: &str) -> Option<usize> {
    const LENGTHS: &[(&str, usize)] = &[
        ("AD", 24),
        ("AE", 23),
        ("AL", 28),
        ("AT", 20),
        ("AZ", 28),
        ("BA", 20),
        ("BE", 16),
        ("BG", 22),
        ("BH", 22),
        ("BR", 29),
        ("BY", 28),
        ("CH", 21),
        ("CR", 22),
        ("CY", 28),
        ("CZ", 24),
        ("DE", 22),
        ("DK", 18),
        ("DO", 28),
        ("EE", 20),
        ("EG", 29),
        ("ES", 24),
        ("FI", 18),
        ("FO", 18),
        ("FR", 27),
        ("GB", 22),
        ("GE", 22),
        ("GI", 23),
        ("GL", 18),
        ("GR", 27),
        ("GT", 28),
        ("HR", 21),
        ("HU", 28),
        ("IE", 22),
        ("IL", 23),
        ("IQ", 23),
        ("IS", 26),
        ("IT", 27),
        ("JO", 30),
        ("KW", 30),
        ("KZ", 20),
        ("LB", 28),
        ("LC", 32),
        ("LI", 21),
        ("LT", 20),
        ("LU", 20),
        ("LV", 21),
        ("MC", 27),
        ("MD", 24),
        ("ME", 22),
        ("MK", 19),
        ("MR", 27),
        ("MT", 31),
        ("MU", 30),
        ("NL", 18),
        ("NO", 15),
        ("PK", 24),
        ("PL", 28),
        ("PS", 29),
        ("PT", 25),
        ("QA", 29),
        ("RO", 24),
        ("RS", 22),
        ("SA", 24),
        ("SC", 31),
        ("SE", 24),
        ("SI", 19),
        ("SK", 24),
        ("SM", 27),
        ("ST", 25),
        ("SV", 28),
        ("TL", 23),
        ("TN", 24),
        ("TR", 26),
        ("UA", 29),
        ("VA", 22),
        ("VG", 24),
        ("XK", 20),
    ];
    LENGTHS.iter().find(|(c, _)| *c == country).map(|(_, n)| *n)
}

pub fn iban(text: &str) -> bool {
    let s: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if s.len() < 15 || !s.is_ascii() || !s.chars().all(|c| c.is_ascii_alphanumeric()) {
        return false;
    }
    match iban_length(&s[..2]) {
        Some(n) if n == s.len() => {}
        _ => return false,
    }
    let rearranged = format!("{}{}", &s[4..], &s[..4]);
    let mut rem: u32 = 0;
    for c in rearranged.chars() {
        let v = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        if v >= 10 {
            rem = (rem * 100 + v) % 97;
        } else {
            rem = (rem * 10 + v) % 97;
        }
    }
    rem == 1
}

pub fn us_ssn(text: &str) -> bool {
    let d: String = text.chars().filter(|c| c.is_ascii_digit()).collect();
    if d.len() != 9 {
        return false;
    }
    let area: u32 = d[0..3].parse().unwrap_or(0);
    let group: u32 = d[3..5].parse().unwrap_or(0);
    let serial: u32 = d[5..9].parse().unwrap_or(0);
    // 666 and 900-999 are never issued; 078-05-1120 and 219-09-9999 are famous published
    // examples, and 123-45-6789 is what everyone types as a sample.
    !(area == 0
        || area == 666
        || area >= 900
        || group == 0
        || serial == 0
        || d == "078051120"
        || d == "219099999"
        || d == "123456789")
}

pub fn jwt(token: &str) -> bool {
    use base64::Engine;
    let mut parts = token.split('.');
    let header = match parts.next() {
        Some(h) => h,
        None => return false,
    };
    if parts.next().is_none() {
        return false;
    }
    let decoded = match base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
    {
        Ok(d) => d,
        Err(_) => return false,
    };
    match serde_json::from_slice::<serde_json::Value>(&decoded) {
        Ok(serde_json::Value::Object(m)) => m.contains_key("alg") || m.contains_key("typ"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_checksum_round_trips() {
        let t = with_token_crc32("ghp_", "abcdefghijklmnopqrstuvwxyz0123");
        assert!(token_crc32(&t));
        let mut bad = t.clone();
        bad.replace_range(5..6, "Z");
        assert!(!token_crc32(&bad));
    }

    #[test]
    fn luhn_accepts_test_cards_and_rejects_typos() {
        assert!(luhn("4111 1111 1111 1111"));
        assert!(!luhn("4111 1111 1111 1112"));
        assert!(!luhn("0000 0000 0000 0000"));
    }

    #[test]
    fn iban_checks_length_and_mod97() {
        assert!(iban("GB82 WEST 1234 5698 7654 32"));
        assert!(!iban("GB82 WEST 1234 5698 7654 33"));
        assert!(!iban("GB82 WEST 1234 5698 7654"));
    }

    #[test]
    fn ssn_rejects_never_issued_ranges() {
        assert!(us_ssn("536-22-8751"));
        assert!(!us_ssn("666-22-8751"));
        assert!(!us_ssn("536-00-8751"));
        assert!(!us_ssn("936-22-8751"));
    }
}
