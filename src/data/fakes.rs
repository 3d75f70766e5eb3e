//! The catalogue of `fake` generators a seed file can name, and their locales.
//!
//! This file and `generate` are the only places that see the `fake` crate. Each catalogue entry is
//! one of `fake`'s fakers, drawn with [`RowRng`] so its value is a pure function of (seed, table,
//! column, row). A few entries are composed here because `fake` has no single faker for them
//! (`street_address`, `uuid`, `url`).

use fake::Fake;
use fake::faker::{
    address::raw as address, barcode::raw as barcode, company::raw as company,
    creditcard::raw as creditcard, currency::raw as currency, filesystem::raw as filesystem,
    finance::raw as finance, internet::raw as internet, job::raw as job, lorem::raw as lorem,
    name::raw as name, phone_number::raw as phone,
};
use fake::locales::{DE_DE, Data, EN, FR_FR, IT_IT, JA_JP, NL_NL, PT_BR, ZH_CN};

use super::rng::RowRng;

/// The locales a seed file can ask for (those of `fake` with full name and address data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Locale {
    En,
    DeDe,
    FrFr,
    ItIt,
    PtBr,
    NlNl,
    JaJp,
    ZhCn,
}

impl Locale {
    pub const NAMES: &'static [&'static str] =
        &["en", "de_de", "fr_fr", "it_it", "pt_br", "nl_nl", "ja_jp", "zh_cn"];

    pub fn from_name(name: &str) -> Option<Locale> {
        Some(match name.to_ascii_lowercase().replace('-', "_").as_str() {
            "en" | "en_us" => Locale::En,
            "de_de" | "de" => Locale::DeDe,
            "fr_fr" | "fr" => Locale::FrFr,
            "it_it" | "it" => Locale::ItIt,
            "pt_br" => Locale::PtBr,
            "nl_nl" | "nl" => Locale::NlNl,
            "ja_jp" | "ja" => Locale::JaJp,
            "zh_cn" => Locale::ZhCn,
            _ => return None,
        })
    }
}

/// `$body` with `$l` bound to the locale's `fake` data value (each locale is its own type).
macro_rules! with_locale {
    ($locale:expr, |$l:ident| $body:expr) => {
        match $locale {
            Locale::En => {
                let $l = EN;
                $body
            }
            Locale::DeDe => {
                let $l = DE_DE;
                $body
            }
            Locale::FrFr => {
                let $l = FR_FR;
                $body
            }
            Locale::ItIt => {
                let $l = IT_IT;
                $body
            }
            Locale::PtBr => {
                let $l = PT_BR;
                $body
            }
            Locale::NlNl => {
                let $l = NL_NL;
                $body
            }
            Locale::JaJp => {
                let $l = JA_JP;
                $body
            }
            Locale::ZhCn => {
                let $l = ZH_CN;
                $body
            }
        }
    };
}

/// `fake_with_rng` of `$faker` in the locale `$locale`.
macro_rules! localized {
    ($locale:expr, $rng:expr, $faker:path $(, $arg:expr)*) => {
        with_locale!($locale, |l| $faker(l $(, $arg)*).fake_with_rng::<String, _>($rng))
    };
}

/// The catalogue: the seed-file name, the variant, and how to draw a value.
macro_rules! catalogue {
    ($( $name:literal => $variant:ident => |$locale:ident, $rng:ident| $draw:expr ;)+) => {
        /// One generator of the catalogue.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum FakeKind { $($variant),+ }

        impl FakeKind {
            const ALL: &'static [(&'static str, FakeKind)] = &[$(($name, FakeKind::$variant)),+];

            /// Draws one value.
            pub fn draw(self, locale: Locale, rng: &mut RowRng) -> String {
                match self {
                    $(FakeKind::$variant => { let ($locale, $rng) = (locale, rng); $draw })+
                }
            }
        }
    };
}

catalogue! {
    "first_name" => FirstName => |l, r| localized!(l, r, name::FirstName);
    "last_name" => LastName => |l, r| localized!(l, r, name::LastName);
    "name" => Name => |l, r| with_locale!(l, |locale| full_name(locale, r, false));
    "name_with_title" => NameWithTitle => |l, r| with_locale!(l, |locale| full_name(locale, r, true));
    "name_title" => NameTitle => |l, r| localized!(l, r, name::Title);
    "name_suffix" => NameSuffix => |l, r| localized!(l, r, name::Suffix);
    "username" => Username => |l, r| localized!(l, r, internet::Username);
    "safe_email" => SafeEmail => |l, r| localized!(l, r, internet::SafeEmail);
    "free_email" => FreeEmail => |l, r| localized!(l, r, internet::FreeEmail);
    "free_email_provider" => FreeEmailProvider => |l, r| localized!(l, r, internet::FreeEmailProvider);
    "domain_suffix" => DomainSuffix => |l, r| localized!(l, r, internet::DomainSuffix);
    "password" => Password => |l, r| localized!(l, r, internet::Password, 10..20);
    "ipv4" => Ipv4 => |l, r| localized!(l, r, internet::IPv4);
    "ipv6" => Ipv6 => |l, r| localized!(l, r, internet::IPv6);
    // fake's own `IP` ignores the generator it is given (it draws from the thread's), which would
    // break determinism: an IPv4 address it is.
    "ip" => Ip => |l, r| localized!(l, r, internet::IPv4);
    "mac_address" => MacAddress => |l, r| localized!(l, r, internet::MACAddress);
    "user_agent" => UserAgent => |l, r| localized!(l, r, internet::UserAgent);
    "url" => Url => |l, r| {
        let word = localized!(Locale::En, r, lorem::Word);
        let suffix = localized!(l, r, internet::DomainSuffix);
        format!("https://www.{word}.{suffix}/")
    };
    "phone_number" => PhoneNumber => |l, r| localized!(l, r, phone::PhoneNumber);
    "cell_number" => CellNumber => |l, r| localized!(l, r, phone::CellNumber);
    "street_address" => StreetAddress => |l, r| {
        let number = localized!(l, r, address::BuildingNumber);
        let street = localized!(l, r, address::StreetName);
        format!("{number} {street}")
    };
    "street_name" => StreetName => |l, r| localized!(l, r, address::StreetName);
    "building_number" => BuildingNumber => |l, r| localized!(l, r, address::BuildingNumber);
    "secondary_address" => SecondaryAddress => |l, r| localized!(l, r, address::SecondaryAddress);
    "city" => City => |l, r| localized!(l, r, address::CityName);
    "state_name" => StateName => |l, r| localized!(l, r, address::StateName);
    "state_abbr" => StateAbbr => |l, r| localized!(l, r, address::StateAbbr);
    "country_name" => CountryName => |l, r| localized!(l, r, address::CountryName);
    "country_code" => CountryCode => |l, r| localized!(l, r, address::CountryCode);
    "zip_code" => ZipCode => |l, r| localized!(l, r, address::ZipCode);
    "post_code" => PostCode => |l, r| localized!(l, r, address::PostCode);
    "latitude" => Latitude => |l, r| localized!(l, r, address::Latitude);
    "longitude" => Longitude => |l, r| localized!(l, r, address::Longitude);
    "time_zone" => TimeZone => |l, r| localized!(l, r, address::TimeZone);
    "company_name" => CompanyName => |l, r| localized!(l, r, company::CompanyName);
    "company_suffix" => CompanySuffix => |l, r| localized!(l, r, company::CompanySuffix);
    "industry" => Industry => |l, r| localized!(l, r, company::Industry);
    "profession" => Profession => |l, r| localized!(l, r, company::Profession);
    "buzzword" => Buzzword => |l, r| localized!(l, r, company::Buzzword);
    "catch_phrase" => CatchPhrase => |l, r| localized!(l, r, company::CatchPhrase);
    "bs" => Bs => |l, r| localized!(l, r, company::Bs);
    "job_title" => JobTitle => |l, r| localized!(l, r, job::Title);
    "job_field" => JobField => |l, r| localized!(l, r, job::Field);
    "job_seniority" => JobSeniority => |l, r| localized!(l, r, job::Seniority);
    "word" => Word => |l, r| localized!(l, r, lorem::Word);
    "words" => Words => |_l, r| {
        let words: Vec<String> = lorem::Words(EN, 2..6).fake_with_rng(r);
        words.join(" ")
    };
    "sentence" => Sentence => |l, r| localized!(l, r, lorem::Sentence, 4..10);
    "paragraph" => Paragraph => |l, r| localized!(l, r, lorem::Paragraph, 2..5);
    "credit_card_number" => CreditCardNumber => |l, r| localized!(l, r, creditcard::CreditCardNumber);
    "currency_code" => CurrencyCode => |l, r| localized!(l, r, currency::CurrencyCode);
    "currency_name" => CurrencyName => |l, r| localized!(l, r, currency::CurrencyName);
    "currency_symbol" => CurrencySymbol => |l, r| localized!(l, r, currency::CurrencySymbol);
    "bic" => Bic => |l, r| localized!(l, r, finance::Bic);
    "isin" => Isin => |l, r| localized!(l, r, finance::Isin);
    "isbn" => Isbn => |l, r| localized!(l, r, barcode::Isbn);
    "isbn13" => Isbn13 => |l, r| localized!(l, r, barcode::Isbn13);
    "hex_color" => HexColor => |_l, r| format!("#{:06x}", r.below(1 << 24));
    "file_name" => FileName => |l, r| localized!(l, r, filesystem::FileName);
    "file_extension" => FileExtension => |l, r| localized!(l, r, filesystem::FileExtension);
    "file_path" => FilePath => |l, r| localized!(l, r, filesystem::FilePath);
    "dir_path" => DirPath => |l, r| localized!(l, r, filesystem::DirPath);
    "mime_type" => MimeType => |l, r| localized!(l, r, filesystem::MimeType);
    "semver" => Semver => |l, r| localized!(l, r, filesystem::Semver);
    "uuid" => Uuid => |_l, r| format_uuid(u128::from(r.draw()) << 64 | u128::from(r.draw()));
}

impl FakeKind {
    pub fn from_name(name: &str) -> Option<FakeKind> {
        let name = if name == "email" { "safe_email" } else { name };
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
    }

    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|(n, _)| *n).collect()
    }

    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, k)| *k == self).map_or("?", |(n, _)| n)
    }
}

/// `fake`'s `Name` (`NameWithTitle` with `title`): the same draws in the same order, so the same
/// text, with the locale's template filled in one pass instead of one `str::replace` per part
/// (which took most of the time of masking a column of names).
fn full_name<L: Data + Copy>(locale: L, rng: &mut RowRng, title: bool) -> String {
    let title: Option<&str> = title.then(|| name::Title(locale).fake_with_rng(rng));
    let first: &str = name::FirstName(locale).fake_with_rng(rng);
    let last: &str = name::LastName(locale).fake_with_rng(rng);
    let template = if title.is_some() { L::NAME_WITH_TITLE_TPL } else { L::NAME_TPL };
    let mut out = String::with_capacity(template.len() + first.len() + last.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        rest = &rest[open..];
        let parts = [("{Title}", title), ("{FirstName}", Some(first)), ("{LastName}", Some(last))];
        match parts.iter().find(|(mark, text)| text.is_some() && rest.starts_with(mark)) {
            Some((mark, text)) => {
                out.push_str(text.unwrap_or_default());
                rest = &rest[mark.len()..];
            }
            None => {
                out.push('{');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A version-4 UUID from 128 random bits.
pub fn format_uuid(bits: u128) -> String {
    let bits = (bits & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    let h = format!("{bits:032x}");
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_draws_a_value_in_every_locale() {
        let locales = Locale::NAMES.iter().map(|n| Locale::from_name(n).unwrap());
        for locale in locales {
            for (name, kind) in FakeKind::ALL {
                let mut rng = RowRng::new(7, 3);
                let value = kind.draw(locale, &mut rng);
                assert!(!value.is_empty(), "{name} in {locale:?}");
                assert_eq!(FakeKind::from_name(name), Some(*kind));
                // Same row, same value.
                assert_eq!(kind.draw(locale, &mut RowRng::new(7, 3)), value, "{name}");
            }
        }
        assert_eq!(FakeKind::from_name("email"), Some(FakeKind::SafeEmail));
    }

    #[test]
    fn names_are_fakes_own() {
        for locale in Locale::NAMES.iter().map(|n| Locale::from_name(n).unwrap()) {
            for row in 0..500 {
                let ours = FakeKind::Name.draw(locale, &mut RowRng::new(11, row));
                let theirs = localized!(locale, &mut RowRng::new(11, row), name::Name);
                assert_eq!(ours, theirs, "{locale:?}");
                let ours = FakeKind::NameWithTitle.draw(locale, &mut RowRng::new(11, row));
                let theirs = localized!(locale, &mut RowRng::new(11, row), name::NameWithTitle);
                assert_eq!(ours, theirs, "{locale:?}");
            }
        }
    }

    #[test]
    fn uuids_are_version_4() {
        let u = format_uuid(u128::MAX);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
    }
}
