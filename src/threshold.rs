//! Failure thresholds: when findings block. An expression such as `critical>0 or high>3` or
//! `secret.aws.*>0 and total>=2`, evaluated over the counts of active findings. `and` binds
//! tighter than `or`, as everywhere.

use std::fmt;
use std::str::FromStr;

use crate::finding::{Finding, Severity};

#[derive(Debug, Clone)]
pub struct Threshold {
    /// Disjunction of conjunctions.
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

impl FromStr for Threshold {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.replace("||", " or ").replace("&&", " and ");
        let mut any = Vec::new();
        for disj in split_word(&norm, "or") {
            let mut all = Vec::new();
            for term in split_word(disj, "and") {
                all.push(parse_term(term.trim())?);
            }
            any.push(all);
        }
        if any.is_empty() {
            return Err("empty threshold".into());
        }
        Ok(Threshold { any })
    }
}

fn split_word<'a>(s: &'a str, word: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = s;
    let pat = format!(" {word} ");
    loop {
        let lower = rest.to_ascii_lowercase();
        match lower.find(&pat) {
            Some(p) => {
                out.push(&rest[..p]);
                rest = &rest[p + pat.len()..];
            }
            None => {
                out.push(rest);
                return out;
            }
        }
    }
}

fn parse_term(t: &str) -> Result<Term, String> {
    let ops = [
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("=", Op::Eq),
    ];
    for (sym, op) in ops {
        if let Some(p) = t.find(sym) {
            let lhs = t[..p].trim();
            let rhs = t[p + sym.len()..].trim();
            let n: usize = rhs
                .parse()
                .map_err(|_| format!("`{t}`: `{rhs}` is not a whole number"))?;
            let subject = if lhs.eq_ignore_ascii_case("total") || lhs.eq_ignore_ascii_case("any") {
                Subject::Total
            } else if let Some(sev) = lhs.strip_suffix('+') {
                Subject::AtLeast(sev.parse()?)
            } else if let Ok(sev) = lhs.parse::<Severity>() {
                Subject::Severity(sev)
            } else if lhs.contains('.') || lhs.contains('*') {
                Subject::Rule(
                    globset::Glob::new(lhs)
                        .map_err(|e| format!("`{lhs}`: {e}"))?
                        .compile_matcher(),
                )
            } else {
                return Err(format!(
                    "`{t}`: expected a severity (critical, high, medium, low, info), `total`, or a rule id glob before `{sym}`"
                ));
            };
            return Ok(Term { subject, op, n });
        }
    }
    Err(format!("`{t}`: expected a comparison such as `high>0`"))
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
        assert!("critical>x".parse::<Threshold>().is_err());
        assert!("banana>1".parse::<Threshold>().is_err());
        assert!("secret.aws.*>0 and total>=2".parse::<Threshold>().is_ok());
    }
}
