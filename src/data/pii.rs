//! Spotting personal data: which columns look like they hold it, by name and by sampled values.
//!
//! Masking stops a run when a column looks personal and has no rule (`unmasked: fail`), so a miss
//! here leaks production data into a test database and a false alarm costs the user one `keep`
//! line. The checks lean towards alarms, but avoid the classic false positives: flags and counts
//! about a personal field (`email_verified`, `phone_count`), timestamps (`password_changed_at`),
//! foreign keys (`card_id`), and values that merely look numeric (dates, amounts, ids). Everything
//! is hand-written, no regular expressions: the formats are small and the checks (Luhn, mod-97)
//! need code anyway.

use std::net::{Ipv4Addr, Ipv6Addr};

/// A kind of personal data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PiiKind {
    Email,
    Phone,
    Name,
    Address,
    BirthDate,
    CardNumber,
    Iban,
    IpAddress,
    NationalId,
    Password,
    /// Personal but of no kind above: user names, logins, nicknames.
    Other,
}

impl PiiKind {
    /// Every kind.
    pub const ALL: [PiiKind; 11] = [
        PiiKind::Email,
        PiiKind::Phone,
        PiiKind::Name,
        PiiKind::Address,
        PiiKind::BirthDate,
        PiiKind::CardNumber,
        PiiKind::Iban,
        PiiKind::IpAddress,
        PiiKind::NationalId,
        PiiKind::Password,
        PiiKind::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::Phone => "phone",
            PiiKind::Name => "name",
            PiiKind::Address => "address",
            PiiKind::BirthDate => "birth-date",
            PiiKind::CardNumber => "card-number",
            PiiKind::Iban => "iban",
            PiiKind::IpAddress => "ip-address",
            PiiKind::NationalId => "national-id",
            PiiKind::Password => "password",
            PiiKind::Other => "other",
        }
    }

    /// Kinds whose values are nearly unique per person: finding one of their originals anywhere in
    /// the masked output is a leak, so the leak check remembers them.
    pub fn high_cardinality(self) -> bool {
        matches!(
            self,
            PiiKind::Email
                | PiiKind::Phone
                | PiiKind::CardNumber
                | PiiKind::Iban
                | PiiKind::NationalId
        )
    }

    /// The rule to suggest in the seed file's `mask:` section. Identifiers that may be keys or
    /// unique get a bijection (`keep-format`, `email`), so uniqueness survives.
    pub fn suggested_rule(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::Phone
            | PiiKind::CardNumber
            | PiiKind::Iban
            | PiiKind::NationalId
            | PiiKind::Other => "keep-format",
            PiiKind::Name => "{ fake: name }",
            PiiKind::Address => "{ fake: street_address }",
            PiiKind::BirthDate => "shift-date",
            PiiKind::IpAddress => "{ fake: ipv4 }",
            PiiKind::Password => "hash",
        }
    }
}

/// The kind of personal data a column's name suggests, or `None`.
///
/// A bare `name` (or `full_name`-like names) counts as [`PiiKind::Name`] whatever the table:
/// `products.name` is not personal but `users.name` is, and only the caller knows which table it is
/// looking at ([`by_column`] decides by the table's name). Qualified names that are clearly not a
/// person's (`company_name`, `file_name`, `product_name`) give `None`. City, state and country alone
/// are not flagged: they identify nobody.
pub fn by_name(column: &str) -> Option<PiiKind> {
    let words = words(column);
    let first = words.first().map_or("", String::as_str);
    let last = words.last().map_or("", String::as_str);
    // A listed word, or two adjacent words that make one (`first_name` → `firstname`).
    let any = |list: &str| {
        list.split_whitespace().any(|w| {
            words.iter().any(|x| x == w)
                || words.windows(2).any(|p| {
                    p[0].len() + p[1].len() == w.len() && w.starts_with(&p[0]) && w.ends_with(&p[1])
                })
        })
    };
    let listed = |list: &str, word: &str| list.split_whitespace().any(|w| w == word);

    // Before the exclusions: these end in words that otherwise mean "not the value itself".
    if any("birth dob birthday birthdate born dateofbirth") && !listed(FLAG_PREFIX, first) {
        return Some(PiiKind::BirthDate);
    }
    if any("taxid nationalid ssn passportid") && !listed(NOT_A_VALUE, last) {
        return Some(PiiKind::NationalId);
    }
    if words.is_empty()
        || listed(FLAG_PREFIX, first)
        || listed(NOT_A_VALUE, last)
        || matches!(last, "id" | "ids" | "uuid")
    {
        return None;
    }

    if any("email emailaddress mail") {
        return Some(PiiKind::Email);
    }
    if any("ip ipv ipaddress ipaddr remoteaddr forwarded") {
        return Some(PiiKind::IpAddress);
    }
    if any("iban accountnumber bankaccount acctnumber accountno") {
        return Some(PiiKind::Iban);
    }
    let card = any("card") && any("number no num nr pan credit debit last");
    if card || any("pan ccnumber ccnum cardnumber creditcard cvv cvc") {
        return Some(PiiKind::CardNumber);
    }
    if any("ssn nin nino tin bsn cpf nif nie dni pesel aadhaar passport socialsecurity nationalid \
         taxnumber personnummer")
        || (any("driver drivers") && any("license licence"))
    {
        return Some(PiiKind::NationalId);
    }
    if any("password passwd pwd passhash secret token apikey privatekey pin otp salt") {
        return Some(PiiKind::Password);
    }
    if any("phone mobile tel telephone fax msisdn cellphone whatsapp") {
        return Some(PiiKind::Phone);
    }
    if any("username login nickname handle screenname") {
        return Some(PiiKind::Other);
    }
    if any(
        "surname firstname lastname fullname givenname forename familyname middlename maidenname",
    ) {
        return Some(PiiKind::Name);
    }
    if let Some(at) = words.iter().position(|w| w == "name") {
        // `name`, `name_en`, `first_name`, `contact_name`: a person; `company_name`: not.
        return match at.checked_sub(1).map(|i| words[i].as_str()) {
            None => Some(PiiKind::Name),
            Some(qualifier) if listed(PERSON, qualifier) => Some(PiiKind::Name),
            Some(_) => None,
        };
    }
    if any("address addr street zip zipcode postcode postalcode postal housenumber apartment") {
        return Some(PiiKind::Address);
    }
    None
}

/// [`by_name`], with a bare `name` counted only in a table that holds people (`users`,
/// `customers`, `employees`, …).
pub fn by_column(table: &str, column: &str) -> Option<PiiKind> {
    let kind = by_name(column)?;
    let bare_name = kind == PiiKind::Name && words(column).first().is_some_and(|w| w == "name");
    if bare_name && !holds_people(table) {
        return None;
    }
    Some(kind)
}

/// Whether a table's name says it holds people.
pub fn holds_people(table: &str) -> bool {
    let table = table.rsplit('.').next().unwrap_or(table);
    words(table).iter().any(|w| {
        let singular = w.strip_suffix('s').unwrap_or(w);
        PEOPLE.split_whitespace().any(|p| p == w || p == singular)
    })
}

// Word lists, space-separated.

/// Words before `name` that make it a person's name.
const PERSON: &str = "first last full given family middle maiden display contact customer person \
    patient employee owner holder billing shipping legal real sur fore user member client recipient \
    sender account card parent guardian emergency spouse birth nick student teacher driver author";

/// Words in a table's name that say it holds people.
const PEOPLE: &str = "user customer person people member employee contact account patient student \
    author client staff owner subscriber profile guest driver applicant candidate teacher doctor \
    passenger buyer seller tenant lead recipient participant attendee volunteer worker agent admin";

/// First words that make the column a flag or count about the value (`is_mobile`).
const FLAG_PREFIX: &str =
    "is has can allow allows show hide use uses should needs num count total max min";

/// Last words that make the column something about the value, not the value
/// (`email_verified`, `password_changed_at`, `card_expiry`).
const NOT_A_VALUE: &str = "at on ts time date count counts verified confirmed confirmation enabled \
    disabled status type types kind flag flags valid validated visible public private opt optin \
    optout sent format length len expires expiry expiration expired template templates provider \
    domain subject body host server port settings preference preferences notifications frequency \
    policy attempts strength required changed updated reset country prefix brand version algorithm \
    scheme mode list lists";

/// The lowercase words of an identifier: split at `_`, `-`, spaces, dots and camelCase humps, with
/// trailing digits dropped (`address1`, `ipv4`).
fn words(identifier: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in identifier.chars() {
        if !c.is_alphanumeric() {
            prev_lower = false;
            push_word(&mut words, &mut current);
            continue;
        }
        if c.is_uppercase() && prev_lower {
            push_word(&mut words, &mut current);
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    push_word(&mut words, &mut current);
    words
}

fn push_word(words: &mut Vec<String>, current: &mut String) {
    let word = current.trim_end_matches(|c: char| c.is_ascii_digit());
    if !word.is_empty() {
        words.push(word.to_string());
    }
    current.clear();
}

/// The kind of personal data a value looks like, or `None`. Checked in order: e-mail, IP address,
/// IBAN, US SSN, card number (Luhn), phone number.
///
/// Phone numbers need a sign of being written as one: a leading `+`, a separator (`(`, `)`, `-`,
/// `.`, space), or a national leading `0`; a bare run of digits is more often an id than a phone.
pub fn by_value(value: &str) -> Option<PiiKind> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if is_email(value) {
        Some(PiiKind::Email)
    } else if is_ip(value) {
        Some(PiiKind::IpAddress)
    } else if is_iban(value) {
        Some(PiiKind::Iban)
    } else if is_ssn(value) {
        Some(PiiKind::NationalId)
    } else if is_card_number(value) {
        Some(PiiKind::CardNumber)
    } else if is_phone(value) {
        Some(PiiKind::Phone)
    } else {
        None
    }
}

/// `local@domain.tld`: a plain local part, dot-separated labels of letters, digits and hyphens,
/// and an alphabetic top-level domain of two letters or more.
pub fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else { return false };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && local.chars().all(|c| c.is_alphanumeric() || "._%+-'!#$&*/=?^`{|}~".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.chars().all(char::is_alphabetic));
    local_ok && domain_ok
}

/// An IPv4 or IPv6 address, with an optional `/prefix` as PostgreSQL's `inet` prints it.
pub fn is_ip(value: &str) -> bool {
    let (address, prefix) = match value.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (value, None),
    };
    if let Ok(_v4) = address.parse::<Ipv4Addr>() {
        return prefix.is_none_or(|p| p.parse::<u8>().is_ok_and(|n| n <= 32));
    }
    // "1:2" parses as nothing; a bare number never reaches here as IPv6 needs colons.
    address.contains(':')
        && address.parse::<Ipv6Addr>().is_ok()
        && prefix.is_none_or(|p| p.parse::<u8>().is_ok_and(|n| n <= 128))
}

/// An IBAN: country letters, check digits, 11 to 30 letters and digits (spaces allowed between
/// groups), whose mod-97 check (ISO 13616) gives 1.
pub fn is_iban(value: &str) -> bool {
    let compact: Vec<u8> =
        value.bytes().filter(|&b| b != b' ').map(|b| b.to_ascii_uppercase()).collect();
    if !(15..=34).contains(&compact.len())
        || !compact[..2].iter().all(u8::is_ascii_uppercase)
        || !compact[2..4].iter().all(u8::is_ascii_digit)
        || !compact[4..].iter().all(u8::is_ascii_alphanumeric)
    {
        return false;
    }
    // Move the first four characters to the end, read letters as 10..35, reduce mod 97 on the fly.
    let mut rest = 0_u32;
    for &b in compact[4..].iter().chain(&compact[..4]) {
        rest = if b.is_ascii_digit() {
            (rest * 10 + u32::from(b - b'0')) % 97
        } else {
            (rest * 100 + u32::from(b - b'A') + 10) % 97
        };
    }
    rest == 1
}

/// A US social security number `ddd-dd-dddd`, without the never-issued area 000, 666 or 9xx,
/// group 00 or serial 0000.
pub fn is_ssn(value: &str) -> bool {
    let b = value.as_bytes();
    let digits_at = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 11
        || b[3] != b'-'
        || b[6] != b'-'
        || !digits_at(0..3)
        || !digits_at(4..6)
        || !digits_at(7..11)
    {
        return false;
    }
    let (area, group, serial) = (&value[0..3], &value[4..6], &value[7..11]);
    area != "000" && area != "666" && !area.starts_with('9') && group != "00" && serial != "0000"
}

/// A payment card number: 13 to 19 digits, optionally in groups separated by single spaces or
/// dashes, starting with a major industry digit of a card network (2-6), passing the Luhn check.
pub fn is_card_number(value: &str) -> bool {
    let b = value.as_bytes();
    if b.first().is_none_or(|c| !c.is_ascii_digit()) || b.last().is_none_or(|c| !c.is_ascii_digit())
    {
        return false;
    }
    let mut separator = None;
    for pair in b.windows(2) {
        if !pair[0].is_ascii_digit() && !pair[1].is_ascii_digit() {
            return false;
        }
    }
    let mut digits = Vec::with_capacity(19);
    for &c in b {
        match c {
            b'0'..=b'9' => digits.push(c - b'0'),
            b' ' | b'-' if separator.is_none_or(|s| s == c) => separator = Some(c),
            _ => return false,
        }
    }
    (13..=19).contains(&digits.len())
        && (2..=6).contains(&digits[0])
        && !digits.iter().all(|&d| d == digits[0])
        && luhn(&digits)
}

/// The Luhn check: from the right, every second digit doubled (minus 9 past 9), sum ≡ 0 (mod 10).
pub fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A phone number as people write one: 7 to 15 digits (E.164's maximum) with `+ ( ) - . space`,
/// `+` only in front, balanced parentheses; not a date, a time or an amount.
pub fn is_phone(value: &str) -> bool {
    let b = value.as_bytes();
    let mut digits = 0;
    let mut separators = 0;
    let mut depth = 0_i32;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'0'..=b'9' => digits += 1,
            b'+' if i == 0 => {}
            b'(' => depth += 1,
            b')' => depth -= 1,
            b'-' | b'.' | b' ' => separators += 1,
            _ => return false,
        }
        if !(0..=1).contains(&depth) {
            return false;
        }
    }
    let written_as_phone = b[0] == b'+' || b[0] == b'(' || separators > 0 || b[0] == b'0';
    (7..=15).contains(&digits)
        && depth == 0
        && written_as_phone
        && b.last().is_some_and(u8::is_ascii_digit)
        && !looks_like_date(value)
        && !looks_like_amount(value)
        && !(b.len() == 11 && b[3] == b'-' && b[6] == b'-')
}

/// `2024-01-31`, `31.01.2024`, `2024.01.31`, `31-01-2024`, `20240131 1200`: groups of 4-2-2 or
/// 2-2-4 digits with one kind of separator.
fn looks_like_date(value: &str) -> bool {
    let groups: Vec<&str> = value.split(['-', '.', ' ']).collect();
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    let date_like = |l: &[usize]| matches!(l, [4, 2, 2] | [2, 2, 4]);
    date_like(&lengths)
        || lengths.len() > 3 && date_like(&lengths[..3])
        || lengths.first() == Some(&8) && groups[0].starts_with(['1', '2'])
}

/// `1.234.567`, `1 234 567`, `12345.67`: thousands groups of three, or a decimal fraction.
fn looks_like_amount(value: &str) -> bool {
    for separator in ['.', ' ', '-'] {
        let groups: Vec<&str> = value.split(separator).collect();
        if groups.len() < 2
            || !groups.iter().all(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()))
        {
            continue;
        }
        let thousands = groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3);
        let fraction = separator == '.' && groups.len() == 2 && groups[1].len() <= 2;
        if thousands && separator != '-' || fraction {
            return true;
        }
    }
    false
}

/// Counts what sampled values of one column look like.
#[derive(Clone, Debug, Default)]
pub struct Sampler {
    hits: [u32; PiiKind::ALL.len()],
    values: u32,
}

impl Sampler {
    /// Fewer non-empty values than this say nothing.
    pub const MIN_VALUES: u32 = 5;
    /// The share of values that must look like one kind, in percent.
    pub const MIN_PERCENT: u32 = 30;

    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one sampled value; empty ones are not counted at all.
    pub fn add(&mut self, value: &str) {
        if value.trim().is_empty() {
            return;
        }
        self.values += 1;
        if let Some(kind) = by_value(value) {
            self.hits[kind as usize] += 1;
        }
    }

    /// The kind most values look like, when at least [`Self::MIN_PERCENT`]% of at least
    /// [`Self::MIN_VALUES`] non-empty values do. A column of free text that holds an address here
    /// and there says nothing; a column where a third of the values are e-mail addresses does.
    pub fn verdict(&self) -> Option<PiiKind> {
        if self.values < Self::MIN_VALUES {
            return None;
        }
        let (kind, hits) =
            PiiKind::ALL.iter().zip(self.hits).max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))?;
        (u64::from(hits) * 100 >= u64::from(self.values) * u64::from(Self::MIN_PERCENT))
            .then_some(*kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_say_what_they_hold() {
        use PiiKind::*;
        let cases: &[(&str, Option<PiiKind>)] = &[
            ("email", Some(Email)),
            ("e_mail", Some(Email)),
            ("EmailAddress", Some(Email)),
            ("contact_email", Some(Email)),
            ("mail", Some(Email)),
            ("email_verified", None),
            ("email_id", None),
            ("is_email_confirmed", None),
            ("mailing_list", None),
            ("phone", Some(Phone)),
            ("phone_number", Some(Phone)),
            ("mobileNumber", Some(Phone)),
            ("fax", Some(Phone)),
            ("tel", Some(Phone)),
            ("is_mobile", None),
            ("phone_verified_at", None),
            ("first_name", Some(Name)),
            ("firstname", Some(Name)),
            ("LastName", Some(Name)),
            ("surname", Some(Name)),
            ("full_name", Some(Name)),
            ("name", Some(Name)),
            ("company_name", None),
            ("file_name", None),
            ("product_name", None),
            ("username", Some(Other)),
            ("address", Some(Address)),
            ("address_line1", Some(Address)),
            ("street", Some(Address)),
            ("zip", Some(Address)),
            ("postal_code", Some(Address)),
            ("city", None),
            ("country", None),
            ("email_address", Some(Email)),
            ("ip_address", Some(IpAddress)),
            ("last_sign_in_ip", Some(IpAddress)),
            ("ipv4", Some(IpAddress)),
            ("remote_addr", Some(IpAddress)),
            ("birth_date", Some(BirthDate)),
            ("date_of_birth", Some(BirthDate)),
            ("dob", Some(BirthDate)),
            ("born_on", Some(BirthDate)),
            ("card_number", Some(CardNumber)),
            ("cc_number", Some(CardNumber)),
            ("pan", Some(CardNumber)),
            ("card_id", None),
            ("card_expiry", None),
            ("iban", Some(Iban)),
            ("account_number", Some(Iban)),
            ("account_id", None),
            ("ssn", Some(NationalId)),
            ("national_id", Some(NationalId)),
            ("tax_id", Some(NationalId)),
            ("passport_number", Some(NationalId)),
            ("drivers_license", Some(NationalId)),
            ("password", Some(Password)),
            ("encrypted_password", Some(Password)),
            ("password_digest", Some(Password)),
            ("password_changed_at", None),
            ("reset_password_token", Some(Password)),
            ("api_key", Some(Password)),
            ("created_at", None),
            ("updated_at", None),
            ("id", None),
            ("user_id", None),
            ("status", None),
            ("zipper_size", None),
            ("", None),
        ];
        for (column, expected) in cases {
            assert_eq!(by_name(column), *expected, "{column}");
        }
    }

    #[test]
    fn a_bare_name_is_personal_only_in_a_table_of_people() {
        assert_eq!(by_column("users", "name"), Some(PiiKind::Name));
        assert_eq!(by_column("public.customers", "name"), Some(PiiKind::Name));
        assert_eq!(by_column("products", "name"), None);
        assert_eq!(by_column("products", "owner_name"), Some(PiiKind::Name));
        assert_eq!(by_column("products", "email"), Some(PiiKind::Email));
    }

    #[test]
    fn values_say_what_they_are() {
        use PiiKind::*;
        let cases: &[(&str, Option<PiiKind>)] = &[
            ("jane.doe@example.com", Some(Email)),
            ("J.Doe+tag@mail.example.co.uk", Some(Email)),
            ("jane@localhost", None),
            ("jane@example.c0m", None),
            ("@example.com", None),
            ("not an email", None),
            ("192.168.0.1", Some(IpAddress)),
            ("10.0.0.0/8", Some(IpAddress)),
            ("2001:db8::1", Some(IpAddress)),
            ("::1", Some(IpAddress)),
            ("256.1.1.1", None),
            ("DE89 3704 0044 0532 0130 00", Some(Iban)),
            ("GB82WEST12345698765432", Some(Iban)),
            ("GB82WEST12345698765433", None),
            ("123-45-6789", Some(NationalId)),
            ("000-45-6789", None),
            ("4111 1111 1111 1111", Some(CardNumber)),
            ("4111-1111-1111-1111", Some(CardNumber)),
            ("5500005555555559", Some(CardNumber)),
            ("378282246310005", Some(CardNumber)),
            ("4111 1111 1111 1112", None),
            ("4111-1111 1111-1111", None),
            ("+1 (555) 123-4567", Some(Phone)),
            ("+33612345678", Some(Phone)),
            ("0612345678", Some(Phone)),
            ("555.123.4567", Some(Phone)),
            ("06 12 34 56 78", Some(Phone)),
            ("5551234567", None),
            ("2024-01-31", None),
            ("31.01.2024", None),
            ("1.234.567", None),
            ("1 234 567", None),
            ("12345.67", None),
            ("123456", None),
            ("+1234567890123456", None),
            ("", None),
            ("hello world", None),
        ];
        for (value, expected) in cases {
            assert_eq!(by_value(value), *expected, "{value}");
        }
    }

    #[test]
    fn luhn_and_mod_97_on_known_numbers() {
        let digits = |s: &str| s.bytes().map(|b| b - b'0').collect::<Vec<_>>();
        for valid in ["79927398713", "4111111111111111", "6011111111111117", "0"] {
            assert!(luhn(&digits(valid)), "{valid}");
        }
        for invalid in ["79927398710", "4111111111111112", "1"] {
            assert!(!luhn(&digits(invalid)), "{invalid}");
        }
        for valid in ["FR1420041010050500013M02606", "NL91ABNA0417164300", "be68539007547034"] {
            assert!(is_iban(valid), "{valid}");
        }
        for invalid in
            ["FR1420041010050500013M02607", "NL91ABNA041716430", "XX00", "1234567890123456"]
        {
            assert!(!is_iban(invalid), "{invalid}");
        }
    }

    #[test]
    fn the_sampler_needs_enough_values_and_a_large_enough_share() {
        let mut sampler = Sampler::new();
        for v in ["a@b.co", "c@d.co", "", "  "] {
            sampler.add(v);
        }
        assert_eq!(sampler.verdict(), None, "two values say nothing");
        for v in ["x", "y", "z"] {
            sampler.add(v);
        }
        // 2 of 5 non-empty values: 40%.
        assert_eq!(sampler.verdict(), Some(PiiKind::Email));
        for v in ["p", "q", "r", "s"] {
            sampler.add(v);
        }
        // 2 of 9: 22%.
        assert_eq!(sampler.verdict(), None);

        let mut mixed = Sampler::new();
        for v in ["+33612345678", "+33612345679", "a@b.co", "x", "y", "+1 555 123 4567"] {
            mixed.add(v);
        }
        assert_eq!(mixed.verdict(), Some(PiiKind::Phone));
    }

    #[test]
    fn every_kind_names_itself_and_suggests_a_rule() {
        for kind in PiiKind::ALL {
            assert!(!kind.name().is_empty());
            assert!(!kind.suggested_rule().is_empty());
        }
        assert!(PiiKind::Email.high_cardinality());
        assert!(!PiiKind::Name.high_cardinality());
        assert_eq!(PiiKind::ALL.iter().filter(|k| k.high_cardinality()).count(), 5);
    }
}
