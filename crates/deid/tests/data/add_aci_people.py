"""Adds the people that ACI-Bench's metadata does not name to aci-gold-names.jsonl.

The base gold marks the patient's name from each encounter's metadata and some clinicians. The
visits name other people too: clinicians the patient was referred to, staff, friends. Those are
names a de-identifier must remove, so they belong in the gold. They were listed by reading each
dialogue for a title (`dr.`, `ms.`), a relation (`friend`, `buddy`) or a person spoken about, and
checked by hand. Every case-insensitive whole-word occurrence in the encounter's dialogue and note
is added; spans already present are kept once.

Run from the repository root:
    python3 crates/deid/tests/data/add_aci_people.py crates/deid/tests/data/aci-gold-names.jsonl
"""

import json
import re
import sys

# Encounter, the name as written, and its type.
PEOPLE = [
    ("D2N002", "gutierrez", "PROVIDER"),
    ("D2N005", "hill", "NAME"),
    ("D2N005", "james", "PROVIDER"),
    ("D2N022", "alice davis", "PROVIDER"),
    ("D2N024", "ruth sanchez", "PROVIDER"),
    ("D2N025", "martin", "PROVIDER"),
    ("D2N026", "betty", "NAME"),
    ("D2N026", "roy", "NAME"),
    ("D2N027", "lewis", "PROVIDER"),
    ("D2N027", "tyler", "NAME"),
    ("D2N027", "vincent sanchez", "PROVIDER"),
    ("D2N027", "tyler sanchez", "PROVIDER"),
    ("D2N035", "diane", "NAME"),
]


def main(path):
    records = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    for record in records:
        encounter = record["id"].split("-")[0]
        have = {(s["start"], s["end"]) for s in record["spans"]}
        for who, name, kind in PEOPLE:
            if who != encounter:
                continue
            pattern = r"(?<![\w])" + r"\s+".join(map(re.escape, name.split())) + r"(?![\w])"
            for match in re.finditer(pattern, record["text"], re.IGNORECASE):
                span = (match.start(), match.end())
                if span in have:
                    continue
                have.add(span)
                record["spans"].append(
                    {"start": span[0], "end": span[1], "type": kind, "required": True}
                )
        record["spans"].sort(key=lambda s: (s["start"], s["end"]))
    with open(path, "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
