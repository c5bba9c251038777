//! Configuration: the raw TOML layers (built-in defaults, user config, the repository's
//! `.nbguard.toml`, `--config`, flags) and the one pure function that resolves them into
//! [`Settings`]. Later layers override scalars and extend lists.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::finding::Severity;
use crate::rules::RawRule;
use crate::threshold::Threshold;

/// One configuration file as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub scan: RawScan,
    #[serde(default)]
    pub rules: RawRules,
    #[serde(default)]
    pub allowlist: RawAllowlist,
    #[serde(default)]
    pub pii: BTreeMap<String, bool>,
    #[serde(default)]
    pub output: RawOutput,
    #[serde(default)]
    pub fail: RawFail,
    #[serde(default)]
    pub hook: RawHook,
    #[serde(default)]
    pub baseline: Option<PathBuf>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScan {
    pub max_file_size: Option<u64>,
    pub notebooks_only: Option<bool>,
    /// Paths (globs) never scanned at all.
    #[serde(default)]
    pub exclude: Vec<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRules {
    /// Rule ids or globs (`secret.generic.*`) to switch off.
    #[serde(default)]
    pub disable: Vec<String>,
    /// When set, only these rule ids or globs run.
    #[serde(default)]
    pub only: Vec<String>,
    /// Severity overrides by rule id or glob.
    #[serde(default)]
    pub severity: BTreeMap<String, Severity>,
    #[serde(default)]
    pub custom: Vec<RawRule>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAllowlist {
    /// Path globs whose findings are suppressed (still scanned, reported as suppressed).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Regexes over the secret.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Case-insensitive words: a secret containing one is not reported.
    #[serde(default)]
    pub stopwords: Vec<String>,
    /// Fingerprints accepted by a person.
    #[serde(default)]
    pub fingerprints: Vec<String>,
    /// Why the entries above are safe; shown with suppressed findings.
    pub reason: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutput {
    pub format: Option<String>,
    pub color: Option<bool>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFail {
    /// A threshold expression, e.g. `critical>0 or high>3`.
    pub on: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHook {
    /// `closed` (default): a hook that cannot finish blocks; `open`: it lets the change through.
    pub on_error: Option<String>,
    /// Time budget for a hook run, in seconds.
    pub max_seconds: Option<u64>,
    /// Whether `git push -o nbguard.allow=<fingerprint>` may let a reviewed finding through.
    pub allow_push_option: Option<bool>,
    /// On a server: `log` (default) honours inline markers and logs what they let through;
    /// `ignore` does not honour them.
    pub inline_suppressions: Option<String>,
}

/// What a server does with findings that inline markers in the pushed content suppress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InlinePolicy {
    /// Honour them, and list and log every finding they let through.
    #[default]
    Log,
    /// Do not honour them: such a finding blocks like any other.
    Ignore,
}

/// What happens when a hook cannot do its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailPolicy {
    Closed,
    Open,
}

/// The resolved settings every command works from.
#[derive(Debug, Clone)]
pub struct Settings {
    pub max_file_size: u64,
    pub notebooks_only: bool,
    pub exclude: Vec<String>,
    pub disable: Vec<String>,
    pub only: Vec<String>,
    pub severity: Vec<(String, Severity)>,
    pub custom_rules: Vec<RawRule>,
    pub allow_paths: Vec<String>,
    pub allow_secrets: Vec<String>,
    pub stopwords: Vec<String>,
    pub allow_fingerprints: Vec<String>,
    pub allow_reason: String,
    pub format: Option<String>,
    pub color: Option<bool>,
    pub fail_on: Threshold,
    pub on_error: FailPolicy,
    pub max_seconds: Option<u64>,
    pub allow_push_option: bool,
    pub inline_suppressions: InlinePolicy,
    pub baseline: Option<PathBuf>,
    /// The files that were read, for `nbguard config` and error messages.
    pub sources: Vec<PathBuf>,
}

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid config {path}: {source}")]
    Toml {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("invalid config {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// Default size above which a file is reported and not scanned: notebooks with embedded
/// datasets can be large, but past this it is data, not code.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 50 * 1024 * 1024;

/// Loads one config file.
pub fn load_file(path: &Path) -> Result<RawConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

pub fn parse(text: &str, path: &Path) -> Result<RawConfig, ConfigError> {
    toml::from_str(text).map_err(|source| ConfigError::Toml {
        path: path.to_path_buf(),
        source,
    })
}

/// The user's config file (`~/.config/nbguard/config.toml` on Linux), if there is one.
pub fn user_config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NBGUARD_USER_CONFIG") {
        return Some(PathBuf::from(p));
    }
    directories::ProjectDirs::from("", "", "nbguard").map(|d| d.config_dir().join("config.toml"))
}

/// The layers to read, lowest precedence first: the user config, `<root>/.nbguard.toml`, then
/// each explicit file. Missing implicit files are skipped; missing explicit ones are errors.
pub fn discover(
    root: Option<&Path>,
    explicit: &[PathBuf],
) -> Result<Vec<(PathBuf, RawConfig)>, ConfigError> {
    let mut layers = Vec::new();
    if let Some(p) = user_config_path() {
        if p.is_file() {
            layers.push((p.clone(), load_file(&p)?));
        }
    }
    if let Some(root) = root {
        let p = root.join(".nbguard.toml");
        if p.is_file() {
            layers.push((p.clone(), load_file(&p)?));
        }
    }
    for p in explicit {
        layers.push((p.clone(), load_file(p)?));
    }
    Ok(layers)
}

/// The system-wide config for servers: `NBGUARD_SYSTEM_CONFIG`, else `/etc/nbguard/config.toml`.
pub fn system_config_path() -> PathBuf {
    std::env::var_os("NBGUARD_SYSTEM_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/etc/nbguard/config.toml"))
}

/// The layers for a server-side hook, lowest precedence first: the system config, the user
/// config of the account git runs as, `<git dir>/nbguard.toml`, then explicit files. A pushed
/// `.nbguard.toml` is never read: a push must not be able to switch its own checks off.
pub fn discover_server(
    git_dir: &Path,
    explicit: &[PathBuf],
) -> Result<Vec<(PathBuf, RawConfig)>, ConfigError> {
    let mut layers = Vec::new();
    let system = system_config_path();
    if system.is_file() {
        layers.push((system.clone(), load_file(&system)?));
    }
    if let Some(p) = user_config_path() {
        if p.is_file() {
            layers.push((p.clone(), load_file(&p)?));
        }
    }
    let repo = git_dir.join("nbguard.toml");
    if repo.is_file() {
        layers.push((repo.clone(), load_file(&repo)?));
    }
    for p in explicit {
        layers.push((p.clone(), load_file(p)?));
    }
    Ok(layers)
}

/// Folds layers (lowest precedence first) into settings.
pub fn resolve(layers: &[(PathBuf, RawConfig)]) -> Result<Settings, ConfigError> {
    let mut s = Settings {
        max_file_size: DEFAULT_MAX_FILE_SIZE,
        notebooks_only: false,
        exclude: Vec::new(),
        disable: Vec::new(),
        only: Vec::new(),
        severity: Vec::new(),
        custom_rules: Vec::new(),
        allow_paths: Vec::new(),
        allow_secrets: Vec::new(),
        stopwords: Vec::new(),
        allow_fingerprints: Vec::new(),
        allow_reason: String::new(),
        format: None,
        color: None,
        fail_on: Threshold::default(),
        on_error: FailPolicy::Closed,
        max_seconds: None,
        allow_push_option: false,
        inline_suppressions: InlinePolicy::Log,
        baseline: None,
        sources: Vec::new(),
    };
    for (path, c) in layers {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.clone(),
            message,
        };
        s.sources.push(path.clone());
        s.max_file_size = c.scan.max_file_size.unwrap_or(s.max_file_size);
        s.notebooks_only = c.scan.notebooks_only.unwrap_or(s.notebooks_only);
        s.exclude.extend(c.scan.exclude.iter().cloned());
        s.disable.extend(c.rules.disable.iter().cloned());
        if !c.rules.only.is_empty() {
            s.only = c.rules.only.clone();
        }
        s.severity
            .extend(c.rules.severity.iter().map(|(k, v)| (k.clone(), *v)));
        s.custom_rules.extend(c.rules.custom.iter().cloned());
        for (kind, on) in &c.pii {
            let id = format!("pii.{kind}");
            if *on {
                s.disable.retain(|d| d != &id);
            } else {
                s.disable.push(id);
            }
        }
        s.allow_paths.extend(c.allowlist.paths.iter().cloned());
        s.allow_secrets.extend(c.allowlist.secrets.iter().cloned());
        s.stopwords
            .extend(c.allowlist.stopwords.iter().map(|w| w.to_lowercase()));
        s.allow_fingerprints
            .extend(c.allowlist.fingerprints.iter().cloned());
        if let Some(r) = &c.allowlist.reason {
            s.allow_reason = r.clone();
        }
        if c.output.format.is_some() {
            s.format = c.output.format.clone();
        }
        s.color = c.output.color.or(s.color);
        if let Some(on) = &c.fail.on {
            s.fail_on = on.parse().map_err(invalid)?;
        }
        if let Some(p) = &c.hook.on_error {
            s.on_error = match p.as_str() {
                "closed" => FailPolicy::Closed,
                "open" => FailPolicy::Open,
                other => {
                    return Err(invalid(format!(
                        "hook.on_error is `closed` or `open`, not `{other}`"
                    )))
                }
            };
        }
        s.max_seconds = c.hook.max_seconds.or(s.max_seconds);
        s.allow_push_option = c.hook.allow_push_option.unwrap_or(s.allow_push_option);
        if let Some(p) = &c.hook.inline_suppressions {
            s.inline_suppressions = match p.as_str() {
                "log" => InlinePolicy::Log,
                "ignore" => InlinePolicy::Ignore,
                other => {
                    return Err(invalid(format!(
                        "hook.inline_suppressions is `log` or `ignore`, not `{other}`"
                    )))
                }
            };
        }
        if let Some(b) = &c.baseline {
            // Relative baseline paths are relative to the config file that names them.
            let base = path.parent().unwrap_or(Path::new("."));
            s.baseline = Some(base.join(b));
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_layers_override_scalars_and_extend_lists() {
        let a = parse(
            "[rules]\ndisable=['a']\n[fail]\non='critical>0'\n",
            Path::new("a"),
        )
        .unwrap();
        let b = parse(
            "[rules]\ndisable=['b']\n[fail]\non='high>2'\n[pii]\nemail=false\n",
            Path::new("b"),
        )
        .unwrap();
        let s = resolve(&[("a".into(), a), ("b".into(), b)]).unwrap();
        assert_eq!(s.disable, vec!["a", "b", "pii.email"]);
        assert_eq!(s.fail_on.to_string(), "high>2");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(parse("[rules]\ndisabled=['a']\n", Path::new("x")).is_err());
    }
}
