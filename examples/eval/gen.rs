//! Deterministic randomness for the evaluation set: a SplitMix64 generator (std only, so the
//! set is the same on every machine and every run) and a tiny template language for token
//! formats, so that each provider's format is one readable line instead of a function.
//!
//! Templates never spell out a complete key: `"gsk_{a52}"` is a format, not a secret, which keeps
//! this repository clean under its own scan.

/// SplitMix64: tiny, fast, and good enough for test data (not for cryptography).
pub struct Rng(u64);

pub const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub const HEX: &[u8] = b"0123456789abcdef";
pub const HEX_UPPER: &[u8] = b"0123456789ABCDEF";
pub const DIGITS: &[u8] = b"0123456789";
pub const URLSAFE: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-";
pub const BASE64: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/";
pub const UPPER_DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
pub const LOWER_DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
pub const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`); the modulo bias is irrelevant at these sizes.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn string(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len())] as char)
            .collect()
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| (self.next_u64() & 0xff) as u8).collect()
    }

    pub fn uuid(&mut self) -> String {
        let h = self.string(HEX, 32);
        format!(
            "{}-{}-4{}-{}{}-{}",
            &h[..8],
            &h[8..12],
            &h[13..16],
            ['8', '9', 'a', 'b'][self.below(4)],
            &h[17..20],
            &h[20..32]
        )
    }

    /// A strong password as people make them: letters and digits with a symbol or two that are
    /// safe inside a URL's user-info part.
    pub fn password(&mut self) -> String {
        let len = self.range(12, 20);
        let mut p = self.string(ALNUM, len).into_bytes();
        for _ in 0..self.range(1, 2) {
            let at = self.below(p.len());
            p[at] = *self.pick(b"!*-_.~");
        }
        // Start with a letter so shells and parsers treat it as a word.
        p[0] = *self.pick(LETTERS);
        String::from_utf8(p).expect("all password characters are ASCII")
    }

    /// Fills a format template: `{aN}` base62, `{hN}` lower hex, `{HN}` upper hex, `{dN}`
    /// digits, `{uN}` URL-safe base64, `{bN}` base64, `{UN}` upper alphanumerics, `{lN}` lower
    /// alphanumerics, `{LN}` letters, `{3N}` base32, `{g}` a UUID. Anything else is literal.
    pub fn fill(&mut self, template: &str) -> String {
        let mut out = String::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = rest[open..]
                .find('}')
                .map(|c| open + c)
                .expect("templates close every brace");
            let spec = &rest[open + 1..close];
            let (class, n) = spec.split_at(1);
            let n: usize = if n.is_empty() {
                0
            } else {
                n.parse().expect("template lengths are numbers")
            };
            let alphabet: &[u8] = match class {
                "a" => ALNUM,
                "h" => HEX,
                "H" => HEX_UPPER,
                "d" => DIGITS,
                "u" => URLSAFE,
                "b" => BASE64,
                "U" => UPPER_DIGITS,
                "l" => LOWER_DIGITS,
                "L" => LETTERS,
                "3" => BASE32,
                "g" => &[],
                other => panic!("unknown template class {other}"),
            };
            if class == "g" {
                let u = self.uuid();
                out.push_str(&u);
            } else {
                let s = self.string(alphabet, n);
                out.push_str(&s);
            }
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// Standard base64 with padding (the `base64` crate is a dependency of the library, but keeping
/// this local keeps the example's needs obvious).
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A payment card number that passes Luhn, for a real issuer prefix.
pub fn card(rng: &mut Rng) -> String {
    let (prefix, len) = *rng.pick(&[
        ("4", 16),
        ("51", 16),
        ("53", 16),
        ("2221", 16),
        ("37", 15),
        ("6011", 16),
    ]);
    let mut digits: Vec<u32> = prefix.chars().filter_map(|c| c.to_digit(10)).collect();
    while digits.len() < len - 1 {
        digits.push(rng.below(10) as u32);
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 0 {
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
    digits.push((10 - sum % 10) % 10);
    digits
        .iter()
        .map(|d| char::from_digit(*d, 10).expect("digits are below ten"))
        .collect()
}

/// A card number grouped as people write it (4-4-4-4, or 4-6-5 for Amex).
pub fn group_card(n: &str, sep: &str) -> String {
    let groups: &[usize] = if n.len() == 15 {
        &[4, 6, 5]
    } else {
        &[4, 4, 4, 4]
    };
    let mut out = Vec::new();
    let mut at = 0;
    for g in groups {
        out.push(&n[at..at + g]);
        at += g;
    }
    out.join(sep)
}

/// An IBAN with a correct mod-97 check for a few countries' BBAN shapes.
pub fn iban(rng: &mut Rng) -> String {
    let (country, bban) = *rng.pick(&[
        ("DE", "{d18}"),
        ("FR", "{d23}"),
        ("GB", "NWBK{d14}"),
        ("NL", "ABNA{d10}"),
        ("ES", "{d20}"),
        ("IT", "X{d22}"),
        ("BE", "{d12}"),
        ("CH", "{d17}"),
    ]);
    let bban = rng.fill(bban);
    let digits: String = format!("{bban}{country}00")
        .chars()
        .map(|c| {
            c.to_digit(36)
                .expect("IBAN characters are alphanumeric")
                .to_string()
        })
        .collect();
    let rem = digits
        .bytes()
        .fold(0u32, |r, b| (r * 10 + u32::from(b - b'0')) % 97);
    format!("{country}{:02}{bban}", 98 - rem)
}

/// Groups an IBAN in fours, as printed on statements.
pub fn group_iban(s: &str) -> String {
    s.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).expect("IBANs are ASCII"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A US SSN in the issued ranges (area 001-665 or 667-899, group and serial non-zero).
pub fn ssn(rng: &mut Rng) -> String {
    let mut area = rng.range(1, 899);
    if area == 666 {
        area = 667;
    }
    format!(
        "{area:03}-{:02}-{:04}",
        rng.range(1, 99),
        rng.range(1, 9999)
    )
}

/// A US phone number in one of the ways they are written (area code and exchange 2-9).
pub fn phone(rng: &mut Rng) -> String {
    let (a, e, s) = (rng.range(201, 989), rng.range(200, 989), rng.range(0, 9999));
    match rng.below(5) {
        0 => format!("({a}) {e}-{s:04}"),
        1 => format!("{a}-{e}-{s:04}"),
        2 => format!("+1 {a} {e} {s:04}"),
        3 => format!("{a}.{e}.{s:04}"),
        _ => format!("+1-{a}-{e}-{s:04}"),
    }
}

pub const FIRST: &[&str] = &[
    "Maria", "James", "Aisha", "Wei", "Carlos", "Olga", "Kwame", "Priya", "Lukas", "Sofia",
    "Hiroshi", "Fatima", "Noah", "Elena", "Mateo", "Chloe", "Ibrahim", "Anna", "Diego", "Mei",
];
pub const LAST: &[&str] = &[
    "Garcia", "Smith", "Khan", "Zhang", "Silva", "Petrova", "Mensah", "Patel", "Becker", "Rossi",
    "Tanaka", "Haddad", "Miller", "Popescu", "Lopez", "Martin", "Okafor", "Novak", "Ramos", "Chen",
];
pub const DOMAINS: &[&str] = &[
    "gmail.com",
    "outlook.com",
    "yahoo.co.uk",
    "proton.me",
    "fastmail.fm",
    "icloud.com",
    "web.de",
    "hotmail.fr",
];
pub const CITIES: &[&str] = &[
    "Lisbon", "Austin", "Lagos", "Osaka", "Leeds", "Porto", "Denver", "Lyon", "Pune", "Graz",
];

pub fn person(rng: &mut Rng) -> (String, String) {
    (rng.pick(FIRST).to_string(), rng.pick(LAST).to_string())
}

pub fn email_for(rng: &mut Rng, first: &str, last: &str) -> String {
    let (f, l) = (first.to_lowercase(), last.to_lowercase());
    let local = match rng.below(4) {
        0 => format!("{f}.{l}"),
        1 => format!("{}{l}{}", &f[..1], rng.range(1, 99)),
        2 => format!("{f}_{l}"),
        _ => format!("{l}.{f}{}", rng.range(70, 99)),
    };
    format!("{local}@{}", rng.pick(DOMAINS))
}
