//! The `.env` file that receives the values taken out of code: read what it already holds (so a
//! value is stored once and a name never gets a second meaning), choose names, write new entries
//! in the format python-dotenv, docker and VS Code read, with owner-only permissions, and make
//! sure git ignores it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Why the env file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is tracked by git: writing secrets there would commit them; \
         choose another file with --env-file"
    )]
    Tracked { path: PathBuf },
    #[error(
        "{path} is a symbolic link: nbguard does not write secrets or ignore rules through one \
         (a cloned repository could point it anywhere); choose a file with --env-file"
    )]
    Symlink { path: PathBuf },
    #[error("cannot ask git whether {path} is ignored: {why}")]
    Git { path: PathBuf, why: String },
}

/// Names the environment already gives a meaning to: a value stored under one of them would be
/// shadowed (python-dotenv does not override variables that are already set) or break the shell.
const TAKEN: &[&str] = &[
    "PWD",
    "OLDPWD",
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "TERM",
    "LANG",
    "TMPDIR",
    "TZ",
    "HOSTNAME",
    "DISPLAY",
    "EDITOR",
    "PYTHONPATH",
    "PYTHONHOME",
    "VIRTUAL_ENV",
    "IFS",
    "PS1",
    "MAIL",
];

/// The env file as read, plus the entries this run adds.
#[derive(Debug)]
pub struct EnvFile {
    pub path: PathBuf,
    existing: String,
    known: BTreeMap<String, String>,
    pub added: Vec<(String, String)>,
}

impl EnvFile {
    pub fn load(path: &Path) -> Result<Self, EnvError> {
        refuse_symlink(path)?;
        let existing = match std::fs::read_to_string(path) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(EnvError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let known = existing.lines().filter_map(parse_line).collect();
        Ok(EnvFile {
            path: path.to_path_buf(),
            existing,
            known,
            added: Vec::new(),
        })
    }

    /// The name `value` is stored under: the one it already has, else the first free candidate
    /// (a name that is taken by another value gets `_2`, `_3`, ...).
    pub fn name_for(&mut self, value: &str, candidates: &[String]) -> String {
        if let Some((n, _)) = self.known.iter().find(|(_, v)| *v == value) {
            return n.clone();
        }
        let usable: Vec<String> = candidates
            .iter()
            .filter(|c| !c.is_empty())
            .map(|c| {
                if TAKEN.contains(&c.as_str()) {
                    format!("{c}_VALUE")
                } else {
                    c.clone()
                }
            })
            .collect();
        let first = usable
            .first()
            .cloned()
            .unwrap_or_else(|| "SECRET_VALUE".into());
        let name = usable
            .into_iter()
            .find(|c| !self.known.contains_key(c))
            .unwrap_or_else(|| {
                (2..)
                    .map(|n| format!("{first}_{n}"))
                    .find(|c| !self.known.contains_key(c))
                    .expect("an unbounded range always has a free name")
            });
        self.known.insert(name.clone(), value.to_string());
        self.added.push((name.clone(), value.to_string()));
        name
    }

    /// Appends the new entries; the file is created owner-only, and an existing one is made so.
    pub fn write(&self) -> Result<(), EnvError> {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if self.added.is_empty() {
            return Ok(());
        }
        let err = |source| EnvError::Write {
            path: self.path.clone(),
            source,
        };
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(err)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(err)?;
        f.write_all(self.additions().as_bytes()).map_err(err)?;
        f.sync_all().map_err(err)
    }

    /// The text appended to the file.
    pub fn additions(&self) -> String {
        let mut s = String::new();
        if !self.existing.is_empty() && !self.existing.ends_with('\n') {
            s.push('\n');
        }
        for (n, v) in &self.added {
            s.push_str(&format!("{n}={}\n", quote(v)));
        }
        s
    }
}

/// A value as dotenv readers take it back: bare when it is plain, single-quoted (taken
/// literally) otherwise, double-quoted with escapes when it holds a single quote.
fn quote(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./+=:@,%^~".contains(c));
    if plain {
        v.to_string()
    } else if !v.contains(['\'', '\n', '\r']) {
        format!("'{v}'")
    } else {
        let mut s = String::from("\"");
        for c in v.chars() {
            match c {
                '\\' => s.push_str("\\\\"),
                '"' => s.push_str("\\\""),
                '\n' => s.push_str("\\n"),
                '\r' => s.push_str("\\r"),
                c => s.push(c),
            }
        }
        s.push('"');
        s
    }
}

/// `NAME=value`, `export NAME="value"`, `NAME='value'`; comments and blank lines give none.
fn parse_line(line: &str) -> Option<(String, String)> {
    let line = line.trim();
    let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
    if line.starts_with('#') {
        return None;
    }
    let (name, value) = line.split_once('=')?;
    let name = name.trim();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let value = value.trim();
    let value = if let Some(v) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        v.to_string()
    } else if let Some(v) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        v.replace("\\n", "\n")
            .replace("\\r", "\r")
            .replace("\\\"", "\"")
            .replace("\\\\", "\\")
    } else {
        value
            .split_once(" #")
            .map_or(value, |(v, _)| v)
            .trim_end()
            .to_string()
    };
    Some((name.to_string(), value))
}

/// What was done to make git ignore the env file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ignored {
    /// Git already ignored it.
    Already,
    /// A line was (or, in a dry run, would be) added to this `.gitignore`.
    Added { gitignore: PathBuf, line: String },
    /// Not inside a git work tree.
    NoRepository,
}

/// Makes git ignore `env` (inside the work tree at `root`); with `dry_run`, only says what it
/// would do. Refuses a file git already tracks.
pub fn ensure_ignored(root: &Path, env: &Path, dry_run: bool) -> Result<Ignored, EnvError> {
    let Some(rel) = env
        .strip_prefix(root)
        .ok()
        .filter(|_| root.join(".git").exists())
    else {
        return Ok(Ignored::NoRepository);
    };
    let rel = rel.to_string_lossy().replace('\\', "/");
    let git_err = |why: String| EnvError::Git {
        path: env.to_path_buf(),
        why,
    };
    let tracked = git(root, &["ls-files", "--", &rel]).map_err(git_err)?;
    if !tracked.1.trim().is_empty() {
        return Err(EnvError::Tracked {
            path: env.to_path_buf(),
        });
    }
    if is_ignored(root, &rel).map_err(git_err)? {
        return Ok(Ignored::Already);
    }
    let gitignore = root.join(".gitignore");
    refuse_symlink(&gitignore)?;
    let line = format!("/{rel}");
    if !dry_run {
        let old = std::fs::read_to_string(&gitignore).unwrap_or_default();
        let sep = if old.is_empty() || old.ends_with('\n') {
            ""
        } else {
            "\n"
        };
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&gitignore)
            .map_err(|source| EnvError::Write {
                path: gitignore.clone(),
                source,
            })?;
        f.write_all(format!("{sep}{line}\n").as_bytes())
            .map_err(|source| EnvError::Write {
                path: gitignore.clone(),
                source,
            })?;
        if !is_ignored(root, &rel).map_err(git_err)? {
            return Err(git_err(format!(
                "still not ignored after adding `{line}` to .gitignore (a negated pattern later \
                 in the rules?)"
            )));
        }
    }
    Ok(Ignored::Added { gitignore, line })
}

fn refuse_symlink(path: &Path) -> Result<(), EnvError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(EnvError::Symlink {
            path: path.to_path_buf(),
        }),
        _ => Ok(()),
    }
}

fn is_ignored(root: &Path, rel: &str) -> Result<bool, String> {
    // `--no-index`: whether the rules ignore it, not whether it happens to be staged.
    let (code, _) = git(root, &["check-ignore", "--quiet", "--no-index", "--", rel])?;
    match code {
        0 => Ok(true),
        1 => Ok(false),
        c => Err(format!("git check-ignore exited with {c}")),
    }
}

/// Runs git in `root` without letting the repository's configuration start programs.
fn git(root: &Path, args: &[&str]) -> Result<(i32, String), String> {
    let out = Command::new("git")
        .current_dir(root)
        .args([
            "-c",
            "core.fsmonitor=false",
            "-c",
            "core.hooksPath=/dev/null",
        ])
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

/// The variable a provider's own tools read the credential from, where there is a convention.
pub(crate) fn provider_name(rule: &str) -> Option<String> {
    const NAMES: &[(&str, &str)] = &[
        ("secret.aws.access-key-id", "AWS_ACCESS_KEY_ID"),
        ("secret.aws.secret-access-key", "AWS_SECRET_ACCESS_KEY"),
        ("secret.aws.session-token", "AWS_SESSION_TOKEN"),
        ("secret.github.", "GITHUB_TOKEN"),
        ("secret.gitlab.", "GITLAB_TOKEN"),
        ("secret.openai.", "OPENAI_API_KEY"),
        ("secret.anthropic.api-key", "ANTHROPIC_API_KEY"),
        ("secret.huggingface.", "HF_TOKEN"),
        ("secret.cohere.", "CO_API_KEY"),
        ("secret.mistral.", "MISTRAL_API_KEY"),
        ("secret.groq.", "GROQ_API_KEY"),
        ("secret.replicate.", "REPLICATE_API_TOKEN"),
        ("secret.together.", "TOGETHER_API_KEY"),
        ("secret.wandb.", "WANDB_API_KEY"),
        ("secret.kaggle.", "KAGGLE_KEY"),
        ("secret.pinecone.", "PINECONE_API_KEY"),
        ("secret.langsmith.", "LANGSMITH_API_KEY"),
        ("secret.deepseek.", "DEEPSEEK_API_KEY"),
        ("secret.xai.", "XAI_API_KEY"),
        ("secret.gcp.api-key", "GOOGLE_API_KEY"),
        ("secret.slack.bot-token", "SLACK_BOT_TOKEN"),
        ("secret.stripe.", "STRIPE_API_KEY"),
        ("secret.sendgrid.", "SENDGRID_API_KEY"),
        ("secret.twilio.auth-token", "TWILIO_AUTH_TOKEN"),
        ("secret.databricks.api-token", "DATABRICKS_TOKEN"),
        ("secret.azure.openai-api-key", "AZURE_OPENAI_API_KEY"),
    ];
    NAMES
        .iter()
        .find(|(prefix, _)| rule == *prefix || (prefix.ends_with('.') && rule.starts_with(prefix)))
        .map(|(_, n)| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_as_written() {
        for v in [
            "plain-Value_1",
            "with space",
            "it's $HOME",
            "a\"b'c",
            "p#ss",
        ] {
            let line = format!("N={}", quote(v));
            assert_eq!(parse_line(&line), Some(("N".into(), v.into())), "{line}");
        }
    }

    #[test]
    fn names_are_reused_for_the_same_value_and_never_reassigned() {
        let mut env = EnvFile {
            path: PathBuf::from(".env"),
            existing: "A=1\n".into(),
            known: BTreeMap::from([("A".into(), "1".into())]),
            added: Vec::new(),
        };
        assert_eq!(env.name_for("1", &["B".into()]), "A");
        assert_eq!(env.name_for("2", &["A".into()]), "A_2");
        assert_eq!(env.name_for("3", &["PWD".into()]), "PWD_VALUE");
        assert_eq!(env.added.len(), 2);
    }
}
