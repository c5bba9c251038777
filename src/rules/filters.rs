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
    "_mock",
    "mock_",
    "12345",
    "abcdef",
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
    // ALL_CAPS_WITH_UNDERSCORES (or dashes) names an environment variable or a header, not a
    // value.
    if secret.len() >= 6
        && secret.contains('_')
        && secret
            .chars()
            .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
        && secret.chars().any(|c| c.is_ascii_uppercase())
    {
        return true;
    }
    // With dashes only when every part is a word: keys in dashed groups (`A3-K7QW2M-...`,
    // `AGE-SECRET-KEY-1...`) carry digits.
    if secret.len() >= 6
        && secret.contains('-')
        && secret
            .split('-')
            .all(|w| w.len() >= 2 && w.chars().all(|c| c.is_ascii_uppercase()))
    {
        return true;
    }
    // A shortened key (`sk-ant-api03---a1Bc`): runs of dashes stand for the characters left out.
    if secret.contains("---") {
        return true;
    }
    is_default_login(&lower)
}

/// `user/password`, `neo4j:neo4j`, `admin:changeme`: a login pair whose password is a stand-in
/// word or the user name again, as container images ship them (`NEO4J_AUTH=neo4j/password`).
fn is_default_login(lower: &str) -> bool {
    let Some((user, pass)) = lower.split_once(['/', ':']) else {
        return false;
    };
    !user.is_empty()
        && !pass.contains(['/', ':'])
        && (pass == user || PLACEHOLDER_WORDS.contains(&pass) || pass == "changeme")
}

/// Prefixes of values that name a secret kept elsewhere (a secret manager, a vault, the
/// environment) rather than hold it.
const REFERENCE_PREFIXES: &[&str] = &[
    "projects/",
    "arn:aws:secretsmanager:",
    "arn:aws:ssm:",
    "@microsoft.keyvault(",
    "vault:",
    "op://",
    "sm://",
    "akv://",
    "gcp-secret://",
    "secretmanager",
    "process.env",
    "import.meta.env",
    "deno.env",
    "os.environ",
    "os.getenv",
    "system.getenv",
    "env(",
    "env[",
    "env.",
];

/// Flags and commands after which a value is the name or id of a secret, not the secret:
/// `--set-secrets`, `gcloud secrets versions access --secret=...`, `docker build --secret id=...`.
const REFERENCE_CONTEXT: &[&str] = &[
    "--secret=",
    "--secret ",
    "--secret-id",
    "--secret-name",
    "--set-secrets",
    "--update-secrets",
    "--remove-secrets",
    "secrets versions access",
    "secretkeyref",
    "secret_ref",
    "secretref",
];

/// Hosts whose links are invitations meant to be published (to join a chat group or a
/// community): a key in their query string admits anyone who has the link, by design.
const INVITE_LINKS: &[&str] = &[
    "qm.qq.com/",
    "jq.qq.com/",
    "discord.gg/",
    "discord.com/invite/",
    "chat.whatsapp.com/",
    "t.me/",
    "join.slack.com/",
];

/// Whether the match at `start` sits inside a community invitation link (see [`INVITE_LINKS`]).
pub fn is_in_invite_link(text: &str, start: usize) -> bool {
    let line_start = text[..start].rfind('\n').map_or(0, |p| p + 1);
    let line = &text[line_start..start];
    let Some(scheme) = line.rfind("://") else {
        return false;
    };
    let url = &line[scheme + 3..];
    !url.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        && INVITE_LINKS.iter().any(|h| url.starts_with(h))
}

/// Whether a match whose name is a bare `token` followed by a colon stands inside a sentence
/// ("check the ORBIT token: 7Zk...", "next token: 2051"): there the word is a coin or a word
/// piece, not a setting. As a key (line start, after a quote or a brace) it still counts, and a
/// qualified name ("access token:") is not bare.
pub fn is_token_in_prose(text: &str, start: usize, end: usize) -> bool {
    let matched = &text[start..end];
    let Some(at) = matched.find(|c: char| c.is_ascii_alphanumeric()) else {
        return false;
    };
    let name = &matched[at..];
    if name.len() < 5 || !name[..5].eq_ignore_ascii_case("token") {
        return false;
    }
    if !name[5..]
        .trim_start_matches(['"', '\'', ' ', '\t'])
        .starts_with(':')
    {
        return false;
    }
    let pos = start + at;
    let line = &text[text[..pos].rfind('\n').map_or(0, |p| p + 1)..pos];
    let before = line.trim_end_matches([' ', '\t']);
    before.len() < line.len() && before.ends_with(|c: char| c.is_alphanumeric())
}

/// Whether the value at `secret_start..secret_end` (inside a match starting at `start`) is a
/// reference or part of an expression rather than a literal secret: it names a secret kept
/// elsewhere, follows a flag that takes a secret's name, is continued by an expansion
/// (`pw-${PROJECT}`), a concatenation or a call (`"...".format(...)`), or is itself code.
pub fn is_reference(text: &str, start: usize, secret_start: usize, secret_end: usize) -> bool {
    let value = &text[secret_start..secret_end];
    let lower = value.to_ascii_lowercase();
    if REFERENCE_PREFIXES.iter().any(|p| lower.starts_with(p)) {
        return true;
    }
    // Code, not data: a call (`get_secret("db")`), a JavaScript fallback chain, an expansion.
    if value.contains("||") || value.contains("&&") || value.contains("$(") || value.contains("${")
    {
        return true;
    }
    if let Some(open) = value.find('(') {
        let name = &value[..open];
        if !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
            && value.ends_with(')')
        {
            return true;
        }
    }
    if continues_as_expression(&text.as_bytes()[secret_end..]) {
        return true;
    }
    // The flag or command before the value, on the same line (and the two bytes before the
    // match, where a `--` of `--secret=` sits).
    let line_start = memchr::memrchr(b'\n', &text.as_bytes()[..start]).map_or(0, |p| p + 1);
    let lead = text[line_start..secret_start].to_ascii_lowercase();
    REFERENCE_CONTEXT.iter().any(|c| lead.contains(c))
}

/// Whether what follows a value makes it part of an expression: an expansion glued to it
/// (`${`, `$(`, `$NAME`), or, after its closing quote, a concatenation (`+`, `.`, `..`), a
/// formatting call (`.format(`, `%`) or an index.
fn continues_as_expression(after: &[u8]) -> bool {
    match after {
        [b'$', b'{' | b'(', ..] => return true,
        [b'$', c, ..] if c.is_ascii_alphabetic() || *c == b'_' => return true,
        [b'\\', b'$', ..] => return true,
        _ => {}
    }
    let rest = match after.first() {
        Some(b'"' | b'\'' | b'`') => &after[1..],
        _ => return false,
    };
    let trimmed = {
        let mut i = 0;
        while i < rest.len() && (rest[i] == b' ' || rest[i] == b'\t') {
            i += 1;
        }
        &rest[i..]
    };
    matches!(
        trimmed,
        [b'+', ..] | [b'.', b'.', ..] | [b'%', b' ' | b'(', ..] | [b'[', ..]
    ) || trimmed.starts_with(b".format(")
        || trimmed.starts_with(b".replace(")
        || trimmed.starts_with(b".join(")
        || trimmed.starts_with(b". $")
        || trimmed.starts_with(b".$")
}

/// Whether `pos` sits inside a double-quoted string on its line (an odd number of unescaped
/// double quotes before it).
pub fn inside_double_quotes(text: &str, pos: usize) -> bool {
    let b = text.as_bytes();
    let line_start = memchr::memrchr(b'\n', &b[..pos]).map_or(0, |p| p + 1);
    let mut n = 0;
    for i in memchr::memchr_iter(b'"', &b[line_start..pos]) {
        let at = line_start + i;
        if at == 0 || b[at - 1] != b'\\' {
            n += 1;
        }
    }
    n % 2 == 1
}

/// The text with escaped line breaks and tabs (`\\n`, `\\r\\n`, `\\t`, as a repr or a JSON string
/// shows them) turned into the whitespace they stand for, padded with spaces so that every byte
/// keeps its offset: matches found in it are located in the original text unchanged. `None`
/// when there is nothing to turn.
pub fn unescape_breaks(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let first = memchr::memchr_iter(b'\\', b).find(|&i| is_break_escape(b, i))?;
    let mut out = b.to_vec();
    let mut i = first;
    while i + 1 < out.len() {
        if out[i] == b'\\' && is_break_escape(b, i) {
            let c = b[i + 1];
            out[i] = b' ';
            out[i + 1] = if c == b'n' { b'\n' } else { b' ' };
            i += 2;
        } else {
            i += 1;
        }
    }
    // Only ASCII bytes were replaced by ASCII bytes.
    Some(String::from_utf8(out).expect("ASCII replacements keep UTF-8 valid"))
}

/// A backslash at `i` that starts `\\n`, `\\r` or `\\t` and is not itself escaped.
fn is_break_escape(b: &[u8], i: usize) -> bool {
    matches!(b.get(i + 1), Some(b'n' | b'r' | b't')) && (i == 0 || b[i - 1] != b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_expressions_are_not_values() {
        let at = |t: &str, v: &str| {
            let s = t.find(v).unwrap();
            is_reference(t, 0, s, s + v.len())
        };
        assert!(at(
            r#"--set-secrets "DB_PASSWORD=db-password-${PROJECT_ID}:1""#,
            "db-password-"
        ));
        assert!(at(
            r#"X=$(gcloud secrets versions access latest --secret="db-pw-main")"#,
            "db-pw-main"
        ));
        assert!(at(
            r##""enc_password": "#PWD:0:{}".format(t, pw)"##,
            "#PWD:0:{}"
        ));
        assert!(at(r#"password = "pre" + suffix"#, "pre"));
        assert!(at("password = get_secret(name)", "get_secret(name)"));
        assert!(at("token: process.env.API_TOKEN", "process.env.API_TOKEN"));
        assert!(at(
            r#"secret = "projects/p/secrets/s/versions/1""#,
            "projects/p/secrets/s/versions/1"
        ));
        // Assembled at run time so that the repository passes its own scan.
        let v = ["Zq8v", "N2kLm4"].concat();
        assert!(!at(&format!("password = \"{v}\" # set by ops"), &v));
        assert!(!at(&format!("DB_PASSWORD={v}."), &v));
    }

    #[test]
    fn double_quotes_are_counted_on_the_line() {
        let t = "x = 1\nprompt = \"the password is X\"";
        assert!(inside_double_quotes(t, t.find("the password").unwrap() + 4));
        assert!(!inside_double_quotes(t, 2));
    }

    #[test]
    fn escaped_breaks_become_whitespace_at_the_same_offsets() {
        let t = r"'## settings\nghp_x\r\nend'";
        let u = unescape_breaks(t).unwrap();
        assert_eq!(u.len(), t.len());
        assert_eq!(u, "'## settings \nghp_x   \nend'");
        assert!(unescape_breaks("no escapes here").is_none());
        assert_eq!(unescape_breaks(r"C:\\new").as_deref(), None);
    }

    /// A made-up value, assembled here so that the repository passes its own scan.
    fn value() -> String {
        ["Hq2vXr8T", "mW3zLp9K"].concat()
    }

    #[test]
    fn keys_in_community_invitations_are_published_on_purpose() {
        let v = value();
        let link = format!("Join us: https://qm.qq.com/cgi-bin/qm/qr?k=Zp4Lq&authKey={v}");
        assert!(is_in_invite_link(&link, link.find("&authKey").unwrap()));
        let api = format!("fetch(\"https://api.orbit-analytics.io/v1?k=1&authKey={v}\")");
        assert!(!is_in_invite_link(&api, api.find("&authKey").unwrap()));
        let after = format!("see https://t.me/orbit then authKey={v}");
        assert!(!is_in_invite_link(&after, after.find(" authKey").unwrap()));
    }

    #[test]
    fn a_bare_token_inside_a_sentence_is_a_word() {
        let v = value();
        let prose = format!("Check the ORBIT token: {v}");
        let at = prose.find(" token").unwrap();
        assert!(is_token_in_prose(&prose, at, prose.len()));
        for key in [
            format!("token: {v}"),
            format!("run:\n  token: {v}"),
            format!("{{\"token\": \"{v}\"}}"),
            format!("Access token: {v}"),
            format!("ORBIT token={v}"),
        ] {
            let at = key.find("token").unwrap().saturating_sub(1);
            let at = if key.starts_with("Access") { 0 } else { at };
            assert!(!is_token_in_prose(&key, at, key.len()), "{key}");
        }
    }

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
            "GEMINI-API-KEY",
            "sk-ant-api03---q7Rz",
            "neo4j/password",
            "grafana:grafana",
            "admin:changeme",
        ] {
            assert!(is_placeholder(p), "{p}");
        }
        for s in [
            "PassXYZ",
            "s3cr3t-Tr0ub4dor",
            "hunter2!x",
            "Zq8vN2kLm4",
            "neo4j/Vq3-Lm9x",
            "QX7-PLM4-ZZ9a",
        ] {
            assert!(!is_placeholder(s), "{s}");
        }
    }

    #[test]
    fn entropy_of_random_text_is_higher_than_of_words() {
        assert!(entropy("aaaaaaaa") < 0.01);
        assert!(entropy("Zq8vN2kLm4Tr7Hw") > 3.5);
    }
}
