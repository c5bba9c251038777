//! The rule catalogue and its matchers: a cheap literal prefilter, then each rule's regex, then
//! entropy, placeholder and checksum filters.

pub mod catalogue;
pub mod engine;
pub mod filters;
mod locality;
pub mod memo;
mod pieces;
pub mod select;
pub mod validate;

pub use catalogue::{CatalogueError, RawRule, Rule};
pub use engine::{Catalogue, Match};
