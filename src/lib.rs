//! nbguard keeps credentials and personal data out of git history, with Jupyter notebooks as
//! first-class citizens.
//!
//! The modules are the stages of one pipeline: `source` (where bytes come from) → `notebook`
//! (decoded text with a line map) → `diff` (which lines are new) → `rules` (matching) →
//! `suppress` (ignore comments, allowlists, baseline) → `finding` → `report` (text, JSON, SARIF).
//! `commands` wires the stages together for each subcommand; `main.rs` is glue.

pub mod commands;
pub mod config;
pub mod diff;
pub mod filekind;
pub mod finding;
pub mod fix;
pub mod hooks;
pub mod notebook;
pub mod redact;
pub mod report;
pub mod rules;
pub mod scanner;
pub mod source;
pub mod suppress;
pub mod threshold;
