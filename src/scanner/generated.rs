//! Whether the personal data in a segment was made up by a generator rather than collected.
//!
//! Data scientists fill demos with records from Faker, SDV or Snowfakery: a W-2 form, a guest list
//! with card numbers, a table of customers. Their checksums are valid by construction, so the
//! value rules cannot tell them from a leak. Their US postal addresses can: generators draw the
//! state and the ZIP code independently, so a made-up address names a ZIP code that the state does
//! not have (a Maryland address with a Massachusetts ZIP) about 49 times in 50, while the
//! addresses of real people almost always agree. A segment whose addresses mostly disagree holds
//! generated records. This only lowers the severity of personal-data findings (they are still
//! reported); it never touches credentials.

use regex::Regex;
use std::sync::OnceLock;

/// The verdict on a segment's postal addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Addresses {
    /// Addresses whose ZIP code belongs to their state.
    pub agree: usize,
    /// Addresses whose ZIP code belongs to another state.
    pub disagree: usize,
}

impl Addresses {
    /// Generated records: most addresses contradict themselves. Real records disagree only by a
    /// typo now and then; synthesisers that learn from a real table copy some true pairs, so a
    /// third agreeing is still a generator. One address that disagrees is enough when it is the
    /// only one (a sample form holds one record).
    pub(crate) fn look_generated(self) -> bool {
        self.disagree > self.agree
    }
}

/// Reads the `<state> <ZIP>` ends of US postal addresses in `text` and checks each pair.
pub(crate) fn check_addresses(text: &str) -> Addresses {
    static ADDRESS_END: OnceLock<Regex> = OnceLock::new();
    // The end of an address: after a comma or a line break (or its `\n` escape in a repr), two
    // capitals, one space, five digits and an optional ZIP+4 extension, then the end of the line
    // or of the field. "ID 12345" inside a sentence is not an address.
    let re = ADDRESS_END.get_or_init(|| {
        Regex::new(r#"(?:, ?|\n|\\n)([A-Z]{2}) ([0-9]{5})(?:-[0-9]{4})?(?:$|\r|\n|\\n|["',;|)])"#)
            .expect("the address pattern is a valid regex")
    });
    let mut out = Addresses::default();
    for c in re.captures_iter(text) {
        let state = &c[1];
        let prefix: u16 = c[2][..3].parse().expect("three ASCII digits");
        match state_has_prefix(state, prefix) {
            Some(true) => out.agree += 1,
            Some(false) => out.disagree += 1,
            None => {}
        }
    }
    out
}

/// Whether `state` (a USPS code) has ZIP codes starting with `prefix`; `None` when the two
/// capitals are no state code at all.
fn state_has_prefix(state: &str, prefix: u16) -> Option<bool> {
    let ranges = STATES.iter().find(|(s, _)| *s == state)?.1;
    Some(ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&prefix)))
}

/// The first three digits of the ZIP codes of each state, district and territory (USPS
/// sectional centres), and of the military post offices.
const STATES: &[(&str, &[(u16, u16)])] = &[
    ("AL", &[(350, 369)]),
    ("AK", &[(995, 999)]),
    ("AZ", &[(850, 865)]),
    ("AR", &[(716, 729), (755, 755)]),
    ("CA", &[(900, 961)]),
    ("CO", &[(800, 816)]),
    ("CT", &[(60, 69)]),
    ("DE", &[(197, 199)]),
    ("DC", &[(200, 200), (202, 205), (569, 569)]),
    ("FL", &[(320, 349)]),
    ("GA", &[(300, 319), (398, 399)]),
    ("HI", &[(967, 968)]),
    ("ID", &[(832, 838)]),
    ("IL", &[(600, 629)]),
    ("IN", &[(460, 479)]),
    ("IA", &[(500, 528)]),
    ("KS", &[(660, 679)]),
    ("KY", &[(400, 427)]),
    ("LA", &[(700, 714)]),
    ("ME", &[(39, 49)]),
    ("MD", &[(206, 219)]),
    ("MA", &[(10, 27), (55, 55)]),
    ("MI", &[(480, 499)]),
    ("MN", &[(550, 567)]),
    ("MS", &[(386, 397)]),
    ("MO", &[(630, 658)]),
    ("MT", &[(590, 599)]),
    ("NE", &[(680, 693)]),
    ("NV", &[(889, 898)]),
    ("NH", &[(30, 38)]),
    ("NJ", &[(70, 89)]),
    ("NM", &[(870, 884)]),
    ("NY", &[(5, 5), (100, 149), (63, 63)]),
    ("NC", &[(270, 289)]),
    ("ND", &[(580, 588)]),
    ("OH", &[(430, 459)]),
    ("OK", &[(730, 749)]),
    ("OR", &[(970, 979)]),
    ("PA", &[(150, 196)]),
    ("RI", &[(28, 29)]),
    ("SC", &[(290, 299)]),
    ("SD", &[(570, 577)]),
    ("TN", &[(370, 385)]),
    ("TX", &[(733, 733), (750, 799), (885, 885)]),
    ("UT", &[(840, 847)]),
    ("VT", &[(50, 59)]),
    ("VA", &[(201, 201), (220, 246)]),
    ("WA", &[(980, 994)]),
    ("WV", &[(247, 268)]),
    ("WI", &[(530, 549)]),
    ("WY", &[(820, 831), (834, 834)]),
    ("PR", &[(6, 7), (9, 9)]),
    ("VI", &[(8, 8)]),
    ("GU", &[(969, 969)]),
    ("AS", &[(967, 967)]),
    ("MP", &[(969, 969)]),
    ("FM", &[(969, 969)]),
    ("MH", &[(969, 969)]),
    ("PW", &[(969, 969)]),
    ("AA", &[(340, 340)]),
    ("AE", &[(90, 98)]),
    ("AP", &[(962, 966)]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_addresses_agree_with_their_state() {
        let a = check_addresses(
            "Dana Whitfield, 1200 Larimer St, Denver, CO 80204\n\
             Ravi Menon, 44 Beacon St, Boston, MA 02108-3502\n\
             P. Okafor, 9 Elm Ave, Austin, TX 78701",
        );
        assert_eq!(
            a,
            Addresses {
                agree: 3,
                disagree: 0
            }
        );
        assert!(!a.look_generated());
    }

    #[test]
    fn generator_addresses_name_zip_codes_of_other_states() {
        // Street, town and company names in the style of a fake-data generator, ZIP codes drawn
        // apart from the state.
        let a = check_addresses(
            "'Quill Group\\n88 Marsh Crossing Suite 410\\nNoraville\\nMD 02714-8831'",
        );
        assert_eq!(
            a,
            Addresses {
                agree: 0,
                disagree: 1
            }
        );
        assert!(a.look_generated());
        let rows = "id,address\n\
                    1,\"71 Owen Landing\nEast Tobias, PA 91533\"\n\
                    2,\"5 Harbor Pike\nLake Imani, GA 40712\"\n\
                    3,\"12 Hill Rd\nSpringfield, IL 62701\"\n";
        let a = check_addresses(rows);
        assert_eq!(
            a,
            Addresses {
                agree: 1,
                disagree: 2
            }
        );
        assert!(a.look_generated());
    }

    #[test]
    fn a_mistyped_zip_code_among_real_ones_is_not_a_generator() {
        let a = check_addresses(
            "Dana Whitfield, Denver, CO 80204\n\
             Ravi Menon, Boston, MA 20108\n\
             P. Okafor, Austin, TX 78701",
        );
        assert_eq!(
            a,
            Addresses {
                agree: 2,
                disagree: 1
            }
        );
        assert!(!a.look_generated());
    }

    #[test]
    fn capitals_and_digits_that_are_no_address_are_ignored() {
        for text in [
            "run ID 12345 finished, GPU 40960 MiB",
            "batch, ID 12345 of 20000",
            "sizes, XX 99999\n",
            "version=AB 12345",
        ] {
            assert_eq!(check_addresses(text), Addresses::default(), "{text}");
        }
    }
}
