#!/usr/bin/env python3
"""Builds `synthea-notes-gold.jsonl` from the Synthea bundles in `testdata/synthea`.

Each unique plain-text note of a bundle (DocumentReference.content.attachment.data and
DiagnosticReport.presentedForm.data, base64) becomes one record of the gold format. Its spans are
not hand-annotated: they are every occurrence in the note of a value that the bundle's own
structured fields say is PHI:

- NAME: every part of the patient's names (all uses, maiden included) and of the mother's maiden
  name, with and without Synthea's numeric suffix, as whole words; adjacent parts on one line are
  one span;
- PROVIDER: every part of a Practitioner's name;
- DATE: every ISO date (`YYYY-MM-DD`) that appears in any structured field of the bundle;
- AGE: `N year-old` with N over 89 (the digits only), which the patient's birth date implies;
- LOCATION, ZIP, PHONE, SSN, MRN, ID: the patient's address lines, city, birth place, postal code,
  telecom values and identifier values, as written.

Offsets count Unicode scalar values (Python `str` indices). Run from the repository root:

    python3 crates/deid/tests/data/make_synthea_notes.py > crates/deid/tests/data/synthea-notes-gold.jsonl

The bundles are Apache-2.0 (see `testdata/README.md`); so is the output.
"""

import base64
import glob
import json
import re
import sys

ANNOTATED = ["NAME", "PROVIDER", "DATE", "AGE", "LOCATION", "ZIP", "PHONE", "SSN", "MRN", "ID"]
ISO_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})")
MAIDEN = "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName"
BIRTH_PLACE = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"


def strings(value):
    if isinstance(value, dict):
        for key, child in value.items():
            if key != "data":
                yield from strings(child)
    elif isinstance(value, list):
        for child in value:
            yield from strings(child)
    elif isinstance(value, str):
        yield value


def name_parts(names):
    parts = set()
    for name in names:
        for part in name.get("given", []) + [name.get("family", "")]:
            for word in part.split():
                parts.add(word)
                plain = re.sub(r"\d+$", "", word)
                if len(plain) >= 2:
                    parts.add(plain)
    return parts


def patient_values(patient):
    values = []
    for part in name_parts(patient.get("name", [])):
        values.append(("NAME", part, True))
    for ext in patient.get("extension", []):
        if ext.get("url") == MAIDEN:
            for part in name_parts([{"given": ext.get("valueString", "").split()}]):
                values.append(("NAME", part, True))
        if ext.get("url") == BIRTH_PLACE:
            city = ext.get("valueAddress", {}).get("city")
            if city:
                values.append(("LOCATION", city, False))
    for address in patient.get("address", []):
        for line in address.get("line", []):
            values.append(("LOCATION", line, False))
        if address.get("city"):
            values.append(("LOCATION", address["city"], False))
        if address.get("postalCode"):
            values.append(("ZIP", address["postalCode"], False))
    for telecom in patient.get("telecom", []):
        values.append(("PHONE", telecom.get("value", ""), False))
    for identifier in patient.get("identifier", []):
        codes = [c.get("code") for c in identifier.get("type", {}).get("coding", [])]
        kind = "SSN" if "SS" in codes else "MRN" if "MR" in codes else "ID"
        values.append((kind, identifier.get("value", ""), False))
    return [(k, v, w) for k, v, w in values if len(v) >= 2]


def find_spans(text, values):
    """Every occurrence of each value; longer values win where they overlap."""
    spans = []
    taken = [False] * len(text)
    for kind, value, whole_word in sorted(values, key=lambda v: -len(v[1])):
        pattern = re.escape(value)
        if whole_word:
            pattern = r"(?<![\w])" + pattern + r"(?![\w])"
        for m in re.finditer(pattern, text, re.IGNORECASE):
            if any(taken[m.start() : m.end()]):
                continue
            for i in range(m.start(), m.end()):
                taken[i] = True
            spans.append({"start": m.start(), "end": m.end(), "type": kind})
    return sorted(spans, key=lambda s: s["start"])


def merge_names(text, spans):
    merged = []
    for span in spans:
        last = merged[-1] if merged else None
        between = text[last["end"] : span["start"]] if last else None
        if last and last["type"] == span["type"] == "NAME" and between == " ":
            last["end"] = span["end"]
        else:
            merged.append(dict(span))
    return merged


def ages(text):
    for m in re.finditer(r"\b(\d{2,3}) year-old", text):
        if int(m.group(1)) > 89:
            yield {"start": m.start(1), "end": m.end(1), "type": "AGE"}


def notes(resources):
    for r in resources:
        attachments = []
        if r["resourceType"] == "DocumentReference":
            attachments = [c.get("attachment", {}) for c in r.get("content", [])]
        elif r["resourceType"] == "DiagnosticReport":
            attachments = r.get("presentedForm", [])
        for a in attachments:
            if a.get("data") and a.get("contentType", "").startswith("text/plain"):
                yield base64.b64decode(a["data"]).decode("utf-8")


def records(path):
    bundle = json.load(open(path, encoding="utf-8"))
    resources = [e["resource"] for e in bundle.get("entry", [])]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    values = patient_values(patient)
    for r in resources:
        if r["resourceType"] == "Practitioner":
            for part in name_parts(r.get("name", [])):
                values.append(("PROVIDER", part, True))
    dates = set()
    for r in resources:
        for s in strings(r):
            m = ISO_DATE.match(s)
            if m:
                dates.add(m.group(1))
    values += [("DATE", d, True) for d in dates]
    seen = set()
    for text in notes(resources):
        if text in seen:
            continue
        seen.add(text)
        spans = merge_names(text, find_spans(text, values)) + list(ages(text))
        for s in spans:
            s["required"] = True
            s["text"] = text[s["start"] : s["end"]]
        spans.sort(key=lambda s: s["start"])
        yield text, spans


def main():
    files = sorted(glob.glob("testdata/synthea/*/*.json"))
    if not files:
        sys.exit("run from the repository root")
    for number, path in enumerate(files):
        for index, (text, spans) in enumerate(records(path)):
            record = {
                "id": f"synthea-{number:02d}-{index:03d}",
                "text": text,
                "spans": spans,
                "annotated_types": ANNOTATED,
            }
            print(json.dumps(record, ensure_ascii=False))


if __name__ == "__main__":
    main()
