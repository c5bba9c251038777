//! Choosing the tips: which refs a history audit starts from, peeled to what they finally name
//! (a commit, or unusually a tree or a blob).

use crate::finding::DiagnosticKind;
use crate::source::Notice;

use super::{notice, Error, RefSelection, Tip, TipKind};

/// Decides from a full ref name whether it is selected.
enum Matcher {
    All,
    Prefix(&'static str),
    Globs {
        set: globset::GlobSet,
        /// Patterns without glob characters: the ref itself and everything below it.
        plain: Vec<String>,
    },
}

impl Matcher {
    fn new(selection: &RefSelection) -> Result<Matcher, Error> {
        Ok(match selection {
            RefSelection::All => Matcher::All,
            RefSelection::Branches => Matcher::Prefix("refs/heads/"),
            RefSelection::Tags => Matcher::Prefix("refs/tags/"),
            RefSelection::Globs(patterns) => {
                let mut set = globset::GlobSetBuilder::new();
                let mut plain = Vec::new();
                for pattern in patterns {
                    if pattern.contains(['*', '?', '[']) {
                        let glob =
                            globset::Glob::new(pattern).map_err(|source| Error::RefPattern {
                                pattern: pattern.clone(),
                                source,
                            })?;
                        set.add(glob);
                    } else {
                        plain.push(pattern.trim_end_matches('/').to_owned());
                    }
                }
                let set = set.build().map_err(|source| Error::RefPattern {
                    pattern: patterns.join(", "),
                    source,
                })?;
                Matcher::Globs { set, plain }
            }
        })
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            Matcher::All => true,
            Matcher::Prefix(prefix) => name.starts_with(prefix),
            Matcher::Globs { set, plain } => {
                set.is_match(name)
                    || plain.iter().any(|p| {
                        name == p
                            || (name.starts_with(p.as_str())
                                && name.as_bytes().get(p.len()) == Some(&b'/'))
                    })
            }
        }
    }
}

/// The branch `HEAD` points at (`refs/heads/main`), the repository's default branch in a mirror.
/// `None` when `HEAD` is detached or unreadable.
pub(super) fn default_branch(repo: &gix::Repository) -> Option<String> {
    repo.head_name()
        .ok()
        .flatten()
        .map(|n| n.as_bstr().to_string())
}

/// The selected refs, peeled. Refs that cannot be read or peeled become notices.
pub(super) fn select_tips(
    repo: &gix::Repository,
    selection: &RefSelection,
    notices: &mut Vec<Notice>,
) -> Result<Vec<Tip>, Error> {
    let matcher = Matcher::new(selection)?;
    let platform = repo.references().map_err(|e| Error::References {
        source: Box::new(e),
    })?;
    let iter = platform.all().map_err(|e| Error::References {
        source: Box::new(e),
    })?;
    let mut tips = Vec::new();
    for reference in iter {
        let mut reference = match reference {
            Ok(r) => r,
            Err(e) => {
                notices.push(notice(
                    "",
                    DiagnosticKind::Unreadable,
                    format!("a reference could not be read: {e}"),
                ));
                continue;
            }
        };
        let name = reference.name().as_bstr().to_string();
        if !matcher.matches(&name) {
            continue;
        }
        match reference.peel_to_id() {
            Ok(id) => {
                if let Some(tip) = classify(repo, name, id.detach(), notices) {
                    tips.push(tip);
                }
            }
            Err(e) => notices.push(notice(
                "",
                DiagnosticKind::MissingObject,
                format!("ref {name} cannot be peeled, skipped: {e}"),
            )),
        }
    }
    if matches!(selection, RefSelection::All) {
        add_detached_head(repo, &mut tips, notices);
    }
    Ok(tips)
}

/// A detached `HEAD` names a commit no ref may hold; a symbolic one is already listed through
/// the ref it points to.
fn add_detached_head(repo: &gix::Repository, tips: &mut Vec<Tip>, notices: &mut Vec<Notice>) {
    let head = match repo.head() {
        Ok(head) => head,
        Err(e) => {
            notices.push(notice(
                "",
                DiagnosticKind::Unreadable,
                format!("HEAD cannot be read: {e}"),
            ));
            return;
        }
    };
    if let gix::head::Kind::Detached { target, peeled } = head.kind {
        let id = match peeled {
            Some(id) => id,
            None => match repo.find_object(target).and_then(|o| o.peel_tags_to_end()) {
                Ok(object) => object.id,
                Err(e) => {
                    notices.push(notice(
                        "",
                        DiagnosticKind::MissingObject,
                        format!("detached HEAD {target} cannot be peeled, skipped: {e}"),
                    ));
                    return;
                }
            },
        };
        if let Some(tip) = classify(repo, "HEAD".to_owned(), id, notices) {
            tips.push(tip);
        }
    }
}

fn classify(
    repo: &gix::Repository,
    name: String,
    target: gix::ObjectId,
    notices: &mut Vec<Notice>,
) -> Option<Tip> {
    let kind = match repo.find_header(target) {
        Ok(header) => match header.kind() {
            gix::object::Kind::Commit => TipKind::Commit,
            gix::object::Kind::Tree => TipKind::Tree,
            gix::object::Kind::Blob => TipKind::Blob,
            gix::object::Kind::Tag => {
                // peel_to_id() follows tags to the end, so this is a broken chain.
                notices.push(notice(
                    "",
                    DiagnosticKind::Unreadable,
                    format!("ref {name} still names a tag after peeling, skipped"),
                ));
                return None;
            }
        },
        Err(e) => {
            notices.push(notice(
                "",
                DiagnosticKind::MissingObject,
                format!("ref {name} points to {target}, which cannot be read, skipped: {e}"),
            ));
            return None;
        }
    };
    Some(Tip { name, kind, target })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn globs(p: &[&str]) -> Matcher {
        Matcher::new(&RefSelection::Globs(
            p.iter().map(|s| s.to_string()).collect(),
        ))
        .expect("the test patterns are valid")
    }

    #[test]
    fn glob_star_crosses_slashes_like_git_glob() {
        let m = globs(&["refs/heads/release/*"]);
        assert!(m.matches("refs/heads/release/1.0"));
        assert!(m.matches("refs/heads/release/a/b"));
        assert!(!m.matches("refs/heads/main"));
    }

    #[test]
    fn plain_pattern_matches_itself_and_below() {
        let m = globs(&["refs/tags"]);
        assert!(m.matches("refs/tags/v1"));
        assert!(!m.matches("refs/tagsfoo"));
        assert!(globs(&["refs/heads/main"]).matches("refs/heads/main"));
    }

    #[test]
    fn branches_are_local_heads_only() {
        let m = Matcher::new(&RefSelection::Branches).expect("no patterns to parse");
        assert!(m.matches("refs/heads/x"));
        assert!(!m.matches("refs/remotes/origin/x"));
    }
}
