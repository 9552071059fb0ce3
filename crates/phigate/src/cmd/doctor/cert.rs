//! Just enough DER to read a certificate's validity period (RFC 5280 section 4.1): the
//! certificate is a SEQUENCE whose first element, the TBSCertificate, holds an optional
//! explicit version, the serial number, the signature algorithm, the issuer, and then the
//! validity SEQUENCE of two times.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// One DER element: its tag, its contents, and what follows it.
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |len, &b| (len << 8) | usize::from(b));
        (len, &rest[count..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const EXPLICIT_VERSION: u8 = 0xa0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// The `notAfter` of a DER certificate, if it can be read.
pub fn not_after(der: &[u8]) -> Option<OffsetDateTime> {
    let (tag, certificate, _) = element(der)?;
    let (tbs_tag, tbs, _) = element(certificate)?;
    if tag != SEQUENCE || tbs_tag != SEQUENCE {
        return None;
    }
    let (first, _, mut rest) = element(tbs)?;
    if first == EXPLICIT_VERSION {
        rest = element(rest)?.2; // the serial number
    }
    rest = element(rest)?.2; // the signature algorithm
    rest = element(rest)?.2; // the issuer
    let (validity_tag, validity, _) = element(rest)?;
    if validity_tag != SEQUENCE {
        return None;
    }
    let (_, _, after) = element(validity)?;
    let (time_tag, text, _) = element(after)?;
    parse_time(time_tag, std::str::from_utf8(text).ok()?)
}

/// `YYMMDDHHMMSSZ` (UTCTime, 1950-2049) or `YYYYMMDDHHMMSSZ` (GeneralizedTime).
fn parse_time(tag: u8, text: &str) -> Option<OffsetDateTime> {
    let digits = text.strip_suffix('Z')?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (year, rest) = match (tag, digits.len()) {
        (UTC_TIME, 12) => {
            let yy: i32 = digits[..2].parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &digits[2..])
        }
        (GENERALIZED_TIME, 14) => (digits[..4].parse().ok()?, &digits[4..]),
        _ => return None,
    };
    let field = |at: usize| rest.get(at..at + 2)?.parse::<u8>().ok();
    let date = Date::from_calendar_date(year, Month::try_from(field(0)?).ok()?, field(2)?).ok()?;
    let time = Time::from_hms(field(4)?, field(6)?, field(8)?).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_time_forms_parse() {
        let utc = parse_time(UTC_TIME, "270315120000Z").map(|t| t.unix_timestamp());
        assert_eq!(utc, Some(1_805_112_000));
        let generalized = parse_time(GENERALIZED_TIME, "20270315120000Z");
        assert_eq!(generalized.map(|t| t.unix_timestamp()), utc);
        assert!(parse_time(UTC_TIME, "2703151200Z").is_none());
        assert!(parse_time(UTC_TIME, "27131512000aZ").is_none());
    }

    #[test]
    fn the_development_certificate_has_a_readable_expiry_in_the_future() {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;

        let ca = phigate_crypto::devcert::DevCa::generate("test CA").unwrap_or_else(|e| {
            panic!("{e}");
        });
        let server = ca
            .issue_server(&["localhost"])
            .unwrap_or_else(|e| panic!("{e}"));
        let der = CertificateDer::from_pem_slice(server.cert_pem.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        let expiry = not_after(&der).unwrap_or_else(|| panic!("no expiry"));
        assert!(expiry > OffsetDateTime::now_utc());
    }

    #[test]
    fn truncated_or_random_bytes_are_refused_without_panicking() {
        for bytes in [
            &b""[..],
            &[0x30],
            &[0x30, 0x85, 1, 2, 3, 4, 5],
            &[0x30, 0x03, 0x30, 0x01],
        ] {
            assert!(not_after(bytes).is_none());
        }
    }
}
