//! Failure thresholds: when findings block. An expression such as `critical>0 or high>3` or
//! `secret.aws.*>0 and total>=2`, evaluated over the counts of active findings. `and` binds
//! tighter than `or`, as everywhere. `never` is the report-only mode for rollouts: findings are
//! reported and nothing blocks.
//!
//! Whether a rule-id glob names a rule is checked where the catalogue is known
//! (`rules::select`); this module only parses and evaluates.

use std::fmt;
use std::str::FromStr;

use crate::finding::{Finding, Severity};

#[derive(Debug, Clone)]
pub struct Threshold {
    /// Disjunction of conjunctions; empty for `never`.
    any: Vec<Vec<Term>>,
}

#[derive(Debug, Clone)]
struct Term {
    subject: Subject,
    op: Op,
    n: usize,
}

#[derive(Debug, Clone)]
enum Subject {
    Severity(Severity),
    /// `critical+` style: at least this severity.
    AtLeast(Severity),
    Total,
    Rule(globset::GlobMatcher),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

const OPS: [(&str, Op); 7] = [
    (">=", Op::Ge),
    ("<=", Op::Le),
    ("==", Op::Eq),
    ("!=", Op::Ne),
    (">", Op::Gt),
    ("<", Op::Lt),
    ("=", Op::Eq),
];

impl Default for Threshold {
    fn default() -> Self {
        "critical>0 or high>0"
            .parse()
            .expect("the default threshold parses")
    }
}

impl Threshold {
    /// Whether these findings (only active ones count) block.
    pub fn blocks(&self, findings: &[Finding]) -> bool {
        let active: Vec<&Finding> = findings.iter().filter(|f| f.is_active()).collect();
        self.any
            .iter()
            .any(|all| all.iter().all(|t| t.holds(&active)))
    }

    /// Report-only: nothing ever blocks.
    pub fn is_never(&self) -> bool {
        self.any.is_empty()
    }

    /// The rule-id globs the expression counts, as written, for checking that each names a rule.
    pub fn rule_globs(&self) -> Vec<String> {
        self.any
            .iter()
            .flatten()
            .filter_map(|t| match &t.subject {
                Subject::Rule(g) => Some(g.glob().to_string()),
                _ => None,
            })
            .collect()
    }
}

impl Term {
    fn holds(&self, findings: &[&Finding]) -> bool {
        let count = findings
            .iter()
            .filter(|f| match &self.subject {
                Subject::Severity(s) => f.severity == *s,
                Subject::AtLeast(s) => f.severity >= *s,
                Subject::Total => true,
                Subject::Rule(g) => g.is_match(&f.rule),
            })
            .count();
        match self.op {
            Op::Gt => count > self.n,
            Op::Ge => count >= self.n,
            Op::Lt => count < self.n,
            Op::Le => count <= self.n,
            Op::Eq => count == self.n,
            Op::Ne => count != self.n,
        }
    }
}

/// One token of an expression and the 1-based column (in characters) where it starts.
#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    text: &'a str,
    column: usize,
}

/// Splits into words, comparison operators and connectives (`||` and `&&` are spellings of `or`
/// and `and`), so that an error can name the token it is about.
fn tokens(s: &str) -> Vec<Token<'_>> {
    let is_op = |c: char| matches!(c, '<' | '>' | '=' | '!' | '|' | '&');
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let op = is_op(c);
        let mut end = i;
        while let Some(&(j, d)) = chars.peek() {
            if d.is_whitespace() || is_op(d) != op {
                break;
            }
            end = j + d.len_utf8();
            chars.next();
        }
        out.push(Token {
            text: &s[i..end],
            column: s[..i].chars().count() + 1,
        });
    }
    out
}

fn connective(t: &Token) -> Option<bool> {
    match t.text.to_ascii_lowercase().as_str() {
        "or" | "||" => Some(false),
        "and" | "&&" => Some(true),
        _ => None,
    }
}

fn at(t: &Token) -> String {
    format!("`{}` (column {})", t.text, t.column)
}

impl FromStr for Threshold {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let toks = tokens(s);
        let expected = "expected a comparison such as `high>0`, or `never`";
        match toks.as_slice() {
            [] => return Err(format!("empty threshold ({expected})")),
            [t] if t.text.eq_ignore_ascii_case("never") => return Ok(Threshold { any: vec![] }),
            _ => {}
        }
        if let Some(t) = toks.iter().find(|t| t.text.eq_ignore_ascii_case("never")) {
            return Err(format!(
                "{}: `never` stands alone (it means nothing blocks)",
                at(t)
            ));
        }
        let mut any = vec![Vec::new()];
        let mut rest = toks.as_slice();
        loop {
            let (term, after) = parse_term(rest, expected)?;
            any.last_mut().expect("never empty").push(term);
            match after {
                [] => break,
                [c, tail @ ..] => match connective(c) {
                    Some(and) if !tail.is_empty() => {
                        if !and {
                            any.push(Vec::new());
                        }
                        rest = tail;
                    }
                    Some(_) => return Err(format!("nothing after {} ({expected})", at(c))),
                    None => {
                        return Err(format!("{}: expected `or` or `and` here", at(c)));
                    }
                },
            }
        }
        Ok(Threshold { any })
    }
}

/// Parses `subject op number` at the start of `toks`; returns the term and what follows.
fn parse_term<'t, 'a>(
    toks: &'t [Token<'a>],
    expected: &str,
) -> Result<(Term, &'t [Token<'a>]), String> {
    let Some(subj) = toks.first() else {
        return Err(format!("missing comparison ({expected})"));
    };
    if connective(subj).is_some() || OPS.iter().any(|(o, _)| *o == subj.text) {
        return Err(format!("{}: {expected}", at(subj)));
    }
    let subject = parse_subject(subj)?;
    let Some(op_tok) = toks.get(1) else {
        return Err(format!(
            "{}: expected a comparison after it (`>`, `>=`, `<`, `<=`, `==`, `!=`)",
            at(subj)
        ));
    };
    let Some(op) = OPS.iter().find(|(o, _)| *o == op_tok.text).map(|x| x.1) else {
        return Err(format!(
            "{}: expected a comparison (`>`, `>=`, `<`, `<=`, `==`, `!=`) after `{}`",
            at(op_tok),
            subj.text
        ));
    };
    let Some(num) = toks.get(2) else {
        return Err(format!("{}: expected a whole number after it", at(op_tok)));
    };
    let n = num
        .text
        .parse()
        .map_err(|_| format!("{}: not a whole number", at(num)))?;
    Ok((Term { subject, op, n }, &toks[3..]))
}

fn parse_subject(t: &Token) -> Result<Subject, String> {
    let lhs = t.text;
    if lhs.eq_ignore_ascii_case("total") || lhs.eq_ignore_ascii_case("any") {
        return Ok(Subject::Total);
    }
    if let Some(sev) = lhs.strip_suffix('+') {
        return sev
            .parse()
            .map(Subject::AtLeast)
            .map_err(|e| format!("{}: {e}", at(t)));
    }
    if let Ok(sev) = lhs.parse::<Severity>() {
        return Ok(Subject::Severity(sev));
    }
    if lhs.contains('.') || lhs.contains('*') {
        return globset::Glob::new(lhs)
            .map(|g| Subject::Rule(g.compile_matcher()))
            .map_err(|e| format!("{}: not a valid rule-id glob ({})", at(t), e.kind()));
    }
    Err(format!(
        "{}: expected a severity (critical, high, medium, low, info), `severity+`, `total`, or a rule-id glob",
        at(t)
    ))
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.any.is_empty() {
            return f.write_str("never");
        }
        let disj: Vec<String> = self
            .any
            .iter()
            .map(|all| {
                all.iter()
                    .map(|t| {
                        let subj = match &t.subject {
                            Subject::Severity(s) => s.to_string(),
                            Subject::AtLeast(s) => format!("{s}+"),
                            Subject::Total => "total".into(),
                            Subject::Rule(g) => g.glob().to_string(),
                        };
                        let op = match t.op {
                            Op::Gt => ">",
                            Op::Ge => ">=",
                            Op::Lt => "<",
                            Op::Le => "<=",
                            Op::Eq => "==",
                            Op::Ne => "!=",
                        };
                        format!("{subj}{op}{}", t.n)
                    })
                    .collect::<Vec<_>>()
                    .join(" and ")
            })
            .collect();
        f.write_str(&disj.join(" or "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_round_trip_and_reject_nonsense() {
        let t: Threshold = "critical>5 OR high>4".parse().unwrap();
        assert_eq!(t.to_string(), "critical>5 or high>4");
        let t: Threshold = "critical > 0||high>=2 && total<9".parse().unwrap();
        assert_eq!(t.to_string(), "critical>0 or high>=2 and total<9");
        assert!("critical>x".parse::<Threshold>().is_err());
        assert!("banana>1".parse::<Threshold>().is_err());
        let t: Threshold = "secret.aws.*>0 and total>=2".parse().unwrap();
        assert_eq!(t.rule_globs(), vec!["secret.aws.*"]);
    }

    #[test]
    fn errors_point_at_the_bad_token() {
        let e = "high>0 or".parse::<Threshold>().unwrap_err();
        assert!(e.starts_with("nothing after `or` (column 8)"), "{e}");
        let e = "high>0 or crit>1".parse::<Threshold>().unwrap_err();
        assert!(e.starts_with("`crit` (column 11)"), "{e}");
        let e = "high>zero".parse::<Threshold>().unwrap_err();
        assert!(
            e.starts_with("`zero` (column 6): not a whole number"),
            "{e}"
        );
        let e = "high>0 high>1".parse::<Threshold>().unwrap_err();
        assert!(
            e.starts_with("`high` (column 8): expected `or` or `and`"),
            "{e}"
        );
        let e = "high 0".parse::<Threshold>().unwrap_err();
        assert!(
            e.starts_with("`0` (column 6): expected a comparison"),
            "{e}"
        );
    }

    #[test]
    fn never_blocks_nothing_and_stands_alone() {
        let t: Threshold = "never".parse().unwrap();
        assert!(t.is_never());
        assert_eq!(t.to_string(), "never");
        assert!("never or high>0".parse::<Threshold>().is_err());
    }
}
