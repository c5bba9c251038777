//! What kind of text a file (or a notebook output) is, as far as secret detection cares: text
//! people write, or text that tools write. Lockfiles, minified or bundled JavaScript, source maps
//! and embedded scripts are full of names such as `password`, `token` or `secret` next to values
//! that are package versions, error codes or code; only rules whose format proves a secret
//! (a prefix, a checksum, a structure) run there. Rules choose with their `scope`.
//!
//! Third-party packages committed by mistake (a virtualenv, `node_modules`) are treated the same
//! way: their samples are not the project's secrets, while a real key in them still is one.
//!
//! Deciding is cheap: a file name, and for web assets the length of the longest line.

/// The kind of a stretch of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Kind {
    /// Written by people: every rule runs.
    #[default]
    Authored,
    /// A dependency lockfile (`package-lock.json`, `poetry.lock`, ...).
    Lockfile,
    /// Minified, bundled or generated code and source maps.
    Generated,
    /// Third-party packages committed with the project (`site-packages`, `node_modules`, a
    /// virtualenv): their docstrings and tests are full of `scott:tiger` and `password="secret"`.
    Vendored,
}

/// How a stretch of text is scanned: who wrote it, and whether it is program source (where
/// quoted prose is a prompt or a payload, not a note).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Context {
    pub kind: Kind,
    pub code: bool,
}

impl Kind {
    /// Whether rules that rest on a name next to a value (and personal data rules) run here.
    pub fn is_authored(self) -> bool {
        self == Kind::Authored
    }
}

/// Lockfiles by file name: tools write them, and they name packages such as `pgpass` or
/// `@inquirer/password` with versions and integrity hashes next to them.
const LOCKFILES: &[&str] = &[
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lock",
    "deno.lock",
    "poetry.lock",
    "uv.lock",
    "pdm.lock",
    "pipfile.lock",
    "conda-lock.yml",
    "conda-lock.yaml",
    "cargo.lock",
    "composer.lock",
    "gemfile.lock",
    "podfile.lock",
    "pubspec.lock",
    "mix.lock",
    "flake.lock",
    "packages.lock.json",
    "paket.lock",
    "go.sum",
    "gradle.lockfile",
    "package.resolved",
];

/// Extensions of web assets, which are minified when they have very long lines.
const WEB_ASSETS: &[&str] = &[".js", ".mjs", ".cjs", ".css", ".html", ".htm", ".svg"];

/// A line this long in a web asset means a minifier or bundler wrote it.
const MINIFIED_LINE: usize = 1000;

/// The kind of a file, from its path and (for web assets) its content.
pub fn of_file(path: &str, text: &str) -> Kind {
    let lower = path.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    if is_vendored(&lower) {
        return Kind::Vendored;
    }
    if LOCKFILES.contains(&name) || name.ends_with(".lock") && name.starts_with("requirements") {
        return Kind::Lockfile;
    }
    if name.ends_with(".map")
        || [".min.js", ".min.mjs", ".min.css", ".bundle.js", ".chunk.js"]
            .iter()
            .any(|e| name.ends_with(e))
    {
        return Kind::Generated;
    }
    if WEB_ASSETS.iter().any(|e| name.ends_with(e)) && has_long_line(text, MINIFIED_LINE) {
        return Kind::Generated;
    }
    Kind::Authored
}

/// The kind of one notebook output rendering: scripts and HTML pages that embed a minified
/// library (plotly, bokeh, altair) are generated; everything else a notebook shows is authored,
/// since printed values are where notebooks leak.
pub fn of_output(mime: Option<&str>, text: &str) -> Kind {
    match mime {
        Some("application/javascript" | "text/html" | "text/javascript")
            if has_long_line(text, MINIFIED_LINE * 4) =>
        {
            Kind::Generated
        }
        _ => Kind::Authored,
    }
}

/// Directories that hold installed third-party packages.
const VENDOR_DIRS: &[&str] = &[
    "site-packages",
    "dist-packages",
    "node_modules",
    "bower_components",
    "__pypackages__",
];

/// Names of virtualenv directories, recognised when a layout directory follows them.
const VENV_DIRS: &[&str] = &["venv", ".venv", "env", ".env", "virtualenv", ".virtualenv"];
const VENV_LAYOUT: &[&str] = &["lib", "lib64", "include", "scripts", "bin", "share"];

fn is_vendored(lower_path: &str) -> bool {
    let parts: Vec<&str> = lower_path.split('/').collect();
    let dirs = &parts[..parts.len().saturating_sub(1)];
    dirs.iter().any(|d| VENDOR_DIRS.contains(d))
        || dirs
            .windows(2)
            .any(|w| VENV_DIRS.contains(&w[0]) && VENV_LAYOUT.contains(&w[1]))
        || dirs
            .windows(2)
            .any(|w| w[0] == "lib" && w[1].starts_with("python3"))
}

/// Whether a plain file is program source rather than prose or data.
pub fn is_code_file(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    ![
        ".md",
        ".markdown",
        ".txt",
        ".rst",
        ".adoc",
        ".csv",
        ".tsv",
        ".html",
        ".htm",
    ]
    .iter()
    .any(|e| lower.ends_with(e))
}

fn has_long_line(text: &str, limit: usize) -> bool {
    if text.len() <= limit {
        return false;
    }
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', text.as_bytes()) {
        if nl - start > limit {
            return true;
        }
        start = nl + 1;
    }
    text.len() - start > limit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockfiles_are_known_by_name_anywhere_in_the_tree() {
        assert_eq!(of_file("app/web/package-lock.json", "{}"), Kind::Lockfile);
        assert_eq!(of_file("poetry.lock", ""), Kind::Lockfile);
        assert_eq!(of_file("svc/Cargo.lock", ""), Kind::Lockfile);
        assert_eq!(of_file("package.json", "{}"), Kind::Authored);
    }

    #[test]
    fn installed_packages_are_vendored() {
        for p in [
            "app/venv/lib/python3.12/site-packages/sqlalchemy/engine/url.py",
            "svc/.venv/Lib/site-packages/tornado/test/web_test.py",
            "venv/include/openssl/ssl.h",
            "web/node_modules/firebase/auth.js",
            "env/lib/python3.11/smtplib.py",
        ] {
            assert_eq!(of_file(p, ""), Kind::Vendored, "{p}");
        }
        assert_eq!(of_file("env/config.py", ""), Kind::Authored);
        assert_eq!(of_file("src/site.py", ""), Kind::Authored);
    }

    #[test]
    fn web_assets_are_generated_only_when_minified() {
        let long = format!("var a={};", "x".repeat(2000));
        assert_eq!(of_file("static/app.js", &long), Kind::Generated);
        assert_eq!(of_file("static/app.js", "const a = 1;\n"), Kind::Authored);
        assert_eq!(of_file("dist/vendor.min.js", "x"), Kind::Generated);
        assert_eq!(of_file("dist/app.js.map", "{}"), Kind::Generated);
        // A long line in a Python file or a JSON document is not minification.
        assert_eq!(of_file("token.json", &long), Kind::Authored);
        assert_eq!(of_file("main.py", &long), Kind::Authored);
    }

    #[test]
    fn only_script_outputs_with_huge_lines_are_generated() {
        let long = "x".repeat(5000);
        assert_eq!(of_output(Some("text/html"), &long), Kind::Generated);
        assert_eq!(of_output(Some("text/plain"), &long), Kind::Authored);
        assert_eq!(of_output(Some("text/html"), "<b>hi</b>"), Kind::Authored);
    }
}
