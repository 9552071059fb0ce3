use super::*;
use crate::entity::EntityKind;

/// What the default detector finds in `text`: each entity's kind and text.
pub(super) fn found(text: &str) -> Vec<(EntityKind, String)> {
    let detector = Detector::new(DetectorConfig::default());
    let Ok(detector) = detector else {
        panic!("detector failed to build")
    };
    detector
        .detect(text, &KnownPhi::new())
        .iter()
        .map(|e| (e.kind, text[e.start..e.end].to_owned()))
        .collect()
}

fn kinds_of(text: &str, kind: EntityKind) -> Vec<String> {
    found(text)
        .into_iter()
        .filter(|(k, _)| *k == kind)
        .map(|(_, t)| t)
        .collect()
}

#[test]
fn the_detector_is_send_and_sync() {
    fn assert_shareable<T: Send + Sync>() {}
    assert_shareable::<Detector>();
}

#[test]
fn common_date_forms_are_dates() {
    for date in [
        "3/4/26",
        "2026-01-17",
        "2026-01-17T02:14Z",
        "Nov 7",
        "Oct. 3rd, 2025",
        "9 Jan 1940",
        "05.19.2025",
        "3/2019",
        "Christmas 2025",
        "January 2020",
    ] {
        let text = format!("Seen on {date} for follow-up.");
        assert_eq!(kinds_of(&text, EntityKind::Date), [date], "{text}");
    }
}

#[test]
fn doses_pressures_values_times_and_years_are_not_dates() {
    for text in [
        "BP 120/80, HR 72.",
        "Take 1/2 tablet of 5 mg.",
        "Potassium 4.5, creatinine 1.2.",
        "Ratio 1:2000 at 10:30.",
        "Diagnosed in 2019.",
        "Wound 3.5 x 2.1 cm.",
        "You may 2 times a day.",
    ] {
        assert!(
            kinds_of(text, EntityKind::Date).is_empty(),
            "{text}: {:?}",
            found(text)
        );
    }
}

#[test]
fn ages_over_89_are_found_and_younger_ages_are_not() {
    assert_eq!(kinds_of("A 92-year-old woman.", EntityKind::Age), ["92"]);
    assert_eq!(
        kinds_of("Patient aged 95 presents.", EntityKind::Age),
        ["95"]
    );
    assert!(kinds_of("A 65-year-old man.", EntityKind::Age).is_empty());
}

#[test]
fn contact_details_are_found() {
    let text = "Call 617-555-0199 or fax (617) 555-0100; mail jroe@example.org, see https://x.example.com/a.";
    let all = found(text);
    assert!(
        all.contains(&(EntityKind::Phone, "617-555-0199".into())),
        "{all:?}"
    );
    assert!(
        all.contains(&(EntityKind::Fax, "(617) 555-0100".into())),
        "{all:?}"
    );
    assert!(
        all.contains(&(EntityKind::Email, "jroe@example.org".into())),
        "{all:?}"
    );
    assert!(
        all.contains(&(EntityKind::Url, "https://x.example.com/a.".into()))
            || all.contains(&(EntityKind::Url, "https://x.example.com/a".into())),
        "{all:?}"
    );
}

#[test]
fn labelled_numbers_are_typed_by_their_label() {
    assert_eq!(kinds_of("MRN: 12345678.", EntityKind::Mrn), ["12345678"]);
    assert_eq!(
        kinds_of("medical record number 00A-9912", EntityKind::Mrn),
        ["00A-9912"]
    );
    assert_eq!(
        kinds_of("SSN 123-45-6789", EntityKind::Ssn),
        ["123-45-6789"]
    );
    assert_eq!(
        kinds_of("Member ID: XJH4471902", EntityKind::Id),
        ["XJH4471902"]
    );
    assert_eq!(
        kinds_of("Driver's license S123-4567-8901", EntityKind::Id),
        ["S123-4567-8901"]
    );
    assert_eq!(
        kinds_of("Account number: 00451239", EntityKind::Account),
        ["00451239"]
    );
    assert_eq!(
        kinds_of("VIN 1HGCM82633A004352", EntityKind::Id),
        ["1HGCM82633A004352"]
    );
}

#[test]
fn network_addresses_are_found() {
    assert_eq!(
        kinds_of("from 192.168.10.4 today", EntityKind::Ip),
        ["192.168.10.4"]
    );
    assert_eq!(
        kinds_of("host 2001:db8:85a3::8a2e:370:7334 up", EntityKind::Ip),
        ["2001:db8:85a3::8a2e:370:7334"]
    );
}

#[test]
fn addresses_cities_and_zips_are_found() {
    let text = "She lives at 611 Gibson Pathway, Apt 4B, Springfield, IL 62704.";
    let all = found(text);
    let locations = kinds_of(text, EntityKind::Location);
    assert!(
        locations.iter().any(|l| l.contains("611 Gibson Pathway")),
        "{all:?}"
    );
    assert!(locations.iter().any(|l| l.contains("Apt 4B")), "{all:?}");
    assert!(
        locations.iter().any(|l| l.contains("Springfield")),
        "{all:?}"
    );
    assert!(
        kinds_of(text, EntityKind::Zip).contains(&"62704".to_owned())
            || locations.iter().any(|l| l.contains("62704")),
        "{all:?}"
    );
    assert_eq!(
        kinds_of("He lives in Boston with his son.", EntityKind::Location),
        ["Boston"]
    );
}

#[test]
fn titled_names_and_clinicians_are_found() {
    let text = "Mrs. Hernandez was seen by Dr. Alan Miller.";
    assert_eq!(kinds_of(text, EntityKind::Name), ["Hernandez"]);
    assert_eq!(kinds_of(text, EntityKind::Provider), ["Alan Miller"]);
}

#[test]
fn clinician_names_can_be_left_alone() {
    let config = DetectorConfig {
        clinician_names: false,
        ..DetectorConfig::default()
    };
    let Ok(detector) = Detector::new(config) else {
        panic!("detector failed to build")
    };
    let text = "Seen by Dr. Miller with Mrs. Hernandez.";
    let kinds: Vec<EntityKind> = detector
        .detect(text, &KnownPhi::new())
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, [EntityKind::Name]);
}

#[test]
fn census_names_are_found_in_context() {
    assert_eq!(
        kinds_of("Martha Collins is a 50-year-old female.", EntityKind::Name),
        ["Martha Collins"]
    );
    assert_eq!(
        kinds_of("COLLINS, MARTHA J admitted.", EntityKind::Name),
        ["COLLINS, MARTHA J"]
    );
}

#[test]
fn lowercase_transcripts_find_first_names_and_their_repeats() {
    let text =
        "[doctor] hi , martha . how are you ?\n[patient] fine .\n[doctor] so , martha , any pain ?";
    assert_eq!(kinds_of(text, EntityKind::Name), ["martha", "martha"]);
}

#[test]
fn eponyms_and_everyday_words_are_kept() {
    for text in [
        "History of Parkinson's disease with a Foley catheter.",
        "Glasgow Coma Scale 15, Babinski sign negative, Apgar 9.",
        "Hodgkin lymphoma, Graves disease, Lewy body dementia, Creutzfeldt-Jakob disease.",
        "Gram stain pending.",
        "I will mark the chart; we may hope for grace. Bill the plan.",
        "the blood pressure and pain are better",
    ] {
        let names: Vec<_> = found(text)
            .into_iter()
            .filter(|(k, _)| k.is_person())
            .collect();
        assert!(names.is_empty(), "{text}: {names:?}");
    }
}

#[test]
fn known_values_are_always_found() {
    let Ok(detector) = Detector::new(DetectorConfig::default()) else {
        panic!("build")
    };
    let mut known = KnownPhi::new();
    known.add(EntityKind::Name, "Zyx Qwerty");
    let text = "qwerty and ZYX came";
    let kinds: Vec<(EntityKind, &str)> = detector
        .detect(text, &known)
        .iter()
        .map(|e| (e.kind, &text[e.start..e.end]))
        .collect();
    assert_eq!(
        kinds,
        [(EntityKind::Name, "qwerty"), (EntityKind::Name, "ZYX")]
    );
}

#[test]
fn safe_harbor_zip3_zeroes_restricted_areas() {
    let Ok(detector) = Detector::new(DetectorConfig::default()) else {
        panic!("build")
    };
    assert_eq!(detector.safe_harbor_zip3("02118").as_deref(), Some("021"));
    assert_eq!(detector.safe_harbor_zip3("03601").as_deref(), Some("000"));
    assert_eq!(detector.safe_harbor_zip3("ab123"), None);
}

#[test]
fn a_bad_zip3_prefix_is_refused() {
    let config = DetectorConfig {
        restricted_zip3: vec!["12".into()],
        ..DetectorConfig::default()
    };
    assert!(matches!(
        Detector::new(config),
        Err(DeidError::BadZip3 { index: 0 })
    ));
}

#[test]
fn the_digits_of_a_precise_measurement_are_not_an_identifier() {
    assert!(found("Body Height 183.58946037581617 cm, weight 92.12345678 kg").is_empty());
}

#[test]
fn drug_application_numbers_are_not_identifiers_but_other_coded_ids_are() {
    assert!(found("NDA020800 0.3 ML Epinephrine 1 MG/ML Auto-Injector").is_empty());
    assert_eq!(
        kinds_of("card X38727102", EntityKind::Id),
        vec!["X38727102".to_owned()]
    );
    assert_eq!(
        kinds_of("ref 1234567890 on file", EntityKind::Id),
        vec!["1234567890".to_owned()]
    );
}

#[test]
fn military_mail_in_lower_case_streets_lived_on_and_street_corners_are_locations() {
    let text = "send it to psc 5420, box 2708\napo aa 33879 please";
    let locations = kinds_of(text, EntityKind::Location);
    assert!(locations.iter().any(|l| l.contains("psc 5420")));
    assert!(found(text).iter().any(|(_, t)| t.contains("apo aa 33879")));
    let corner = "Meet me at the corner of Herceg Gateway and Inna Loop, then call.";
    assert!(
        kinds_of(corner, EntityKind::Location)
            .iter()
            .any(|l| l.contains("Herceg Gateway and Inna Loop"))
    );
    let lives = "Sandra lives on Hansinegata 120 street.";
    assert!(
        kinds_of(lives, EntityKind::Location)
            .iter()
            .any(|l| l.contains("Hansinegata"))
    );
}

#[test]
fn a_clinician_with_a_physician_assistant_credential_is_not_a_city() {
    let text = "She was last seen by Ruth Sanchez, PA in March.";
    assert!(kinds_of(text, EntityKind::Location).is_empty());
    assert_eq!(
        kinds_of("Mailed to Springfield, PA 19064.", EntityKind::Location),
        ["Springfield"]
    );
}

#[test]
fn a_name_wrapped_onto_the_next_line_is_one_name() {
    assert_eq!(
        kinds_of(
            "Seen today with Martha\nCollins, who reports pain.",
            EntityKind::Name
        ),
        ["Martha\nCollins"]
    );
    assert_eq!(
        kinds_of("Martha\nAllergies: none", EntityKind::Name),
        ["Martha"]
    );
}

#[test]
fn the_last_four_digits_of_an_ssn_are_an_ssn() {
    for text in [
        "Verified identity with last 4 of SSN 4417.",
        "last four of her social 4417 confirmed",
        "SSN ending in 4417",
        "XXX-XX-4417 on file",
    ] {
        assert_eq!(
            kinds_of(text, EntityKind::Ssn),
            ["4417"],
            "form {}",
            text.len()
        );
    }
}

#[test]
fn medicare_beneficiary_identifiers_are_found_without_a_label() {
    assert_eq!(
        kinds_of("card shows 1EG4-TE5-MK73", EntityKind::Id),
        ["1EG4-TE5-MK73"]
    );
    assert_eq!(
        kinds_of("Her number is 1EG4TE5MK73.", EntityKind::Id),
        ["1EG4TE5MK73"]
    );
}

#[test]
fn vehicle_identification_numbers_are_found_without_a_label() {
    assert_eq!(
        kinds_of("Car 1HGCM82633A004352 towed", EntityKind::Id),
        ["1HGCM82633A004352"]
    );
}

#[test]
fn medication_descriptions_are_not_places_or_names() {
    for text in [
        "24 HR Diltiazem Hydrochloride 240 MG Extended Release Oral Capsule",
        "Diltiazem 24 HR Extended Release Oral Capsule [Cardizem]",
        "Norethindrone 0.35 MG Oral Tablet 28 Day Pack",
        "Take 2 Tablets 3 times a day",
    ] {
        assert!(
            found(text).is_empty(),
            "a drug description of {} bytes",
            text.len()
        );
    }
}

#[test]
fn a_known_given_name_is_found_by_its_nicknames_in_a_transcript() {
    let Ok(detector) = Detector::new(DetectorConfig::default()) else {
        panic!("detector failed to build")
    };
    let mut known = KnownPhi::new();
    known.add(EntityKind::Name, "Robert Okafor");
    let text = "[doctor] hi , bobby . how are you ?\n[patient] good , bob is fine .";
    let spans: Vec<&str> = detector
        .detect(text, &known)
        .iter()
        .map(|e| &text[e.start..e.end])
        .collect();
    assert_eq!(spans, ["bobby", "bob"]);
}

#[test]
fn a_local_number_with_its_label_after_it_is_a_phone_or_a_fax() {
    let text = "lena berg\n555 0134 office";
    assert!(kinds_of(text, EntityKind::Phone).contains(&"555 0134".to_owned()));
    let fax = "or send it to 555-0177 fax";
    assert!(kinds_of(fax, EntityKind::Fax).contains(&"555-0177".to_owned()));
    let count = "Seen 120 2020 office visits";
    assert!(kinds_of(count, EntityKind::Phone).is_empty(), "{count}");
}
