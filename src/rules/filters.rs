//! Filters that every candidate secret passes through: placeholders and template variables,
//! low-entropy filler, and values that are obviously code rather than data.

/// Shannon entropy in bits per character.
pub fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    let mut n = 0u32;
    for b in s.bytes() {
        counts[b as usize] += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let n = n as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

const PLACEHOLDER_PARTS: &[&str] = &[
    "xxxx",
    "****",
    "....",
    "•••",
    "${",
    "{{",
    "}}",
    "<%",
    "%(",
    "$(",
    "your_",
    "your-",
    "yourapi",
    "yourkey",
    "yourpass",
    "yoursecret",
    "yourtoken",
    "change_me",
    "changeme",
    "change-me",
    "placeholder",
    "example",
    "dummy",
    "sample",
    "redacted",
    // What `git filter-repo --replace-text` leaves in place of a purged value.
    "***removed***",
    "insert_",
    "insert-",
    "enter_your",
    "enter-your",
    "replace_",
    "replace-with",
    "put_your",
    "fill_in",
    "fillme",
    "todo",
    "fixme",
    "notreal",
    "not_real",
    "not-a-real",
    "fake_",
    "fake-",
    "secret_here",
    "key_here",
    "token_here",
    "password_here",
    "_here>",
    "mypassword",
    "my_password",
    "my-password",
    "mysecret",
    "my_secret",
    "myapikey",
    "my_api_key",
    "my-api-key",
    "mytoken",
    "my_token",
];

const PLACEHOLDER_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "none",
    "null",
    "nil",
    "true",
    "false",
    "string",
    "str",
    "required",
    "optional",
    "default",
    "undefined",
    "empty",
    "test",
    "testing",
    "admin",
    "root",
    "user",
    "username",
    "pass",
    "guest",
    "demo",
    "abc123",
    "123456",
    "12345678",
    "qwerty",
    "letmein",
    "foobar",
    "foo",
    "bar",
    "baz",
    "value",
    "key",
    "private",
    "env",
    "environ",
    "getenv",
    "getpass",
    "input",
    "os.environ",
    "hidden",
    "masked",
    "censored",
];

/// Whether a value looks like a stand-in for a secret rather than a secret.
pub fn is_placeholder(secret: &str) -> bool {
    let lower = secret.to_ascii_lowercase();
    if PLACEHOLDER_WORDS.contains(&lower.as_str()) {
        return true;
    }
    if PLACEHOLDER_PARTS.iter().any(|p| lower.contains(p)) {
        return true;
    }
    let trimmed = lower.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if trimmed.is_empty() {
        return true;
    }
    // `<token>`, `[API_KEY]`, `$TOKEN`, `%TOKEN%`: bracketed or sigil-marked names.
    let b = secret.as_bytes();
    let (first, last) = (b[0], b[b.len() - 1]);
    if matches!(
        (first, last),
        (b'<', b'>') | (b'[', b']') | (b'{', b'}') | (b'%', b'%')
    ) || first == b'$'
    {
        return true;
    }
    // A value made of one repeated character (`aaaaaaaa`, `00000000`).
    let mut chars = trimmed.chars();
    let c0 = chars.next();
    if trimmed.len() >= 4 && chars.all(|c| Some(c) == c0) {
        return true;
    }
    // ALL_CAPS_WITH_UNDERSCORES names an environment variable, not a value.
    if secret.len() >= 6
        && secret.contains('_')
        && secret
            .chars()
            .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
        && secret.chars().any(|c| c.is_ascii_uppercase())
    {
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_recognised() {
        for p in [
            "YOUR_API_KEY",
            "<token>",
            "xxxxxxxx",
            "****",
            "***REMOVED***",
            "${DB_PASSWORD}",
            "{{ api_key }}",
            "changeme",
            "password",
            "sk-xxxxxxxxxxxxxxxx",
            "$TOKEN",
            "OPENAI_API_KEY",
        ] {
            assert!(is_placeholder(p), "{p}");
        }
        for s in ["PassXYZ", "s3cr3t-Tr0ub4dor", "hunter2!x", "Zq8vN2kLm4"] {
            assert!(!is_placeholder(s), "{s}");
        }
    }

    #[test]
    fn entropy_of_random_text_is_higher_than_of_words() {
        assert!(entropy("aaaaaaaa") < 0.01);
        assert!(entropy("Zq8vN2kLm4Tr7Hw") > 3.5);
    }
}
