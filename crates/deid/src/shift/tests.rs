use super::*;

#[test]
fn the_keyed_shift_is_stable_per_patient_and_never_zero() {
    let a = DateShift::keyed(b"key one", "Patient/1");
    assert_eq!(a, DateShift::keyed(b"key one", "Patient/1"));
    let others: Vec<i64> = (0..20)
        .map(|i| DateShift::keyed(b"key one", &format!("Patient/{i}")).days())
        .collect();
    assert!(others.iter().all(|d| (-MAX_SHIFT_DAYS..=-1).contains(d)));
    assert!(
        others.iter().any(|d| *d != a.days()),
        "patients get different shifts"
    );
    assert_ne!(a, DateShift::keyed(b"key two", "Patient/1"));
}

#[test]
fn dates_keep_the_form_they_were_written_in() {
    let shift = DateShift::by_days(-10);
    for (written, shifted) in [
        ("2026-01-17", "2026-01-07"),
        ("2026-01-17T02:14Z", "2026-01-07T02:14Z"),
        ("3/4/26", "2/22/26"),
        ("03/04/2026", "02/22/2026"),
        ("05.19.2025", "05.09.2025"),
        ("Oct. 3rd, 2025", "Sep. 23, 2025"),
        ("9 Jan 1940", "30 Dec 1939"),
        ("January 20, 2020", "January 10, 2020"),
        ("Nov 7", "Oct 28"),
    ] {
        assert_eq!(shift.text(written).as_deref(), Some(shifted), "{written}");
    }
}

#[test]
fn intervals_between_shifted_dates_are_preserved() {
    let shift = DateShift::keyed(b"k", "Patient/9");
    let admit = shift.text("2024-02-27").unwrap_or_default();
    let discharge = shift.text("2024-03-02").unwrap_or_default();
    let parse = |s: &str| {
        make(
            num(&s[..4]).unwrap_or(0),
            num(&s[5..7]).unwrap_or(0),
            num(&s[8..10]).unwrap_or(0),
        )
    };
    let (Some(a), Some(d)) = (parse(&admit), parse(&discharge)) else {
        panic!("shifted dates are ISO dates")
    };
    assert_eq!((d - a).whole_days(), 4);
}

#[test]
fn unreadable_dates_are_left_to_the_caller() {
    let shift = DateShift::by_days(-3);
    for text in ["Christmas 2025", "3/2019", "2026-13-01", "yesterday"] {
        assert_eq!(shift.text(text), None, "{text}");
    }
}

#[test]
fn debug_hides_the_offset() {
    assert!(!format!("{:?}", DateShift::by_days(-42)).contains("42"));
}
