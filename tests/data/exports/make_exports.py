"""Write the survey-platform and file-shape exports in this folder (run it to regenerate).

Each file has the shape its platform or tool really writes (header rows,
metadata columns, date formats, codes for "not applicable"), filled with a small
number of seeded, made-up respondents whose overall verdict follows their
scores, so that the analyses have something to find:

* ``qualtrics.csv``: UTF-8 with BOM; column names, question texts and a row of
  ``{"ImportId": ...}``; Qualtrics' metadata columns.
* ``surveymonkey.csv``: question texts, then a row of answer options
  (``Response`` / ``Open-Ended Response``); US dates with AM/PM.
* ``limesurvey.csv``: ``id, submitdate, lastpage, startlanguage, seed``; "N/A" for
  unanswered optional questions.
* ``formbricks.csv``: ``Response ID, Timestamp, Finished, Survey ID`` and the rest.
* ``google_forms.csv``: Dutch Google Forms, ``Tijdstempel`` first, no respondent id.
* ``webshop.xlsx``: an Excel workbook; the answers on a sheet named "Antwoorden".
* ``contact_log.csv``: a long event log, semicolon-separated with decimal commas
  (Dutch Excel's CSV), cp1252-encoded.
* ``contact_outcomes.csv``: the outcomes of those customers in their own file
  (recommendation, cancelled yes/no), for ``peakend init contact_log.csv
  contact_outcomes.csv``.
* ``reviews.csv.gz``: gzip-compressed review export, one review per row, no id.
* ``loan_log.xes``: an XES log whose activities need two attributes
  (``concept:name`` + ``lifecycle:transition``).

Run: ``python tests/data/exports/make_exports.py``
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import re
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).parent
N = 120
START = datetime(2025, 3, 3, 9, 0, 0)
COMMENTS_EN = (
    "The delivery was late and nobody told me why.",
    "Great service, the installer was friendly and quick.",
    "I had to call three times before anyone helped me.",
    "Everything went smoothly, thank you!",
    "The invoice was higher than I expected, very annoying.",
    "Support solved my problem within minutes.",
)
COMMENTS_NL = (
    "De levering was te laat en niemand liet iets weten.",
    "Prima geholpen, de monteur was vriendelijk en snel.",
    "Ik moest drie keer bellen voordat iemand mij hielp.",
    "Alles ging soepel, bedankt!",
    "De factuur was hoger dan verwacht, erg vervelend.",
    "De klantenservice loste mijn probleem binnen een paar minuten op.",
)

DETAILS_EN = (
    "Order number {n}.",
    "This was my second order this year.",
    "I ordered on a Sunday evening.",
    "My neighbour had the same experience.",
    "I chose the express option.",
    "It was a gift for my mother.",
    "We moved house last month.",
    "I have been a customer for ten years.",
)
DETAILS_NL = (
    "Bestelnummer {n}.",
    "Dit was mijn tweede bestelling dit jaar.",
    "Ik bestelde op zondagavond.",
    "Mijn buurman had precies hetzelfde.",
    "Ik had voor de snelle bezorging gekozen.",
    "Het was een cadeau voor mijn moeder, een échte verrassing.",
    "We zijn vorige maand verhuisd.",
    "Ik ben al tien jaar klant.",
)


def respondents(seed: int, n_scores: int) -> list[dict[str, object]]:
    """Seeded respondents: scores 1-5, a 0-10 recommendation that follows them, a comment."""
    rng = random.Random(seed)
    people = []
    for i in range(N):
        mood = rng.gauss(0, 1)
        scores = [min(5, max(1, round(3.4 + mood + rng.gauss(0, 0.9)))) for _ in range(n_scores)]
        recommend = min(10, max(0, round(6.5 + 1.2 * (sum(scores) / n_scores - 3.4) * 2)))
        good = sum(scores) / n_scores >= 3.4
        pick = rng.randrange(3)
        detail = rng.randrange(len(DETAILS_EN))
        comment_en = (
            f"{COMMENTS_EN[2 * pick + (1 if good else 0)]} {DETAILS_EN[detail]}"
            if rng.random() < 0.7
            else ""
        )
        comment_nl = (
            f"{COMMENTS_NL[2 * pick + (1 if good else 0)]} {DETAILS_NL[detail]}"
            if rng.random() < 0.7
            else ""
        )
        comment_en = comment_en.replace("{n}", str(40000 + 17 * i))
        comment_nl = comment_nl.replace("{n}", str(40000 + 17 * i))
        people.append(
            {
                "i": i,
                "when": START + timedelta(hours=7 * i, minutes=rng.randrange(60)),
                "scores": scores,
                "recommend": recommend,
                "comment_en": comment_en,
                "comment_nl": comment_nl,
                "segment": rng.choice(("Business", "Leisure")),
                "skip": rng.random() < 0.08,
            }
        )
    return people


def write_csv(
    path: Path,
    rows: list[list[object]],
    *,
    delimiter: str = ",",
    bom: bool = False,
    encoding: str = "utf-8",
    quote_all: bool = False,
) -> None:
    buffer = io.StringIO()
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator="\r\n").writerows(rows)
    data = buffer.getvalue().encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


def qualtrics() -> None:
    meta = [
        "StartDate",
        "EndDate",
        "Status",
        "IPAddress",
        "Progress",
        "Duration (in seconds)",
        "Finished",
        "RecordedDate",
        "ResponseId",
        "RecipientLastName",
        "RecipientFirstName",
        "RecipientEmail",
        "ExternalReference",
        "LocationLatitude",
        "LocationLongitude",
        "DistributionChannel",
        "UserLanguage",
    ]
    questions = {
        "Q1": "How satisfied were you with ordering?",
        "Q2": "How satisfied were you with the delivery?",
        "Q3": "How satisfied were you with the installation?",
        "Q4": "How satisfied were you with customer support?",
        "Q5": "How likely are you to recommend Acme to a friend or colleague?",
        "Q6": "Is there anything else you would like to tell us?",
    }
    names = meta + list(questions)
    texts = [
        "Start Date",
        "End Date",
        "Response Type",
        "IP Address",
        "Progress",
        "Duration (in seconds)",
        "Finished",
        "Recorded Date",
        "Response ID",
        "Recipient Last Name",
        "Recipient First Name",
        "Recipient Email",
        "External Data Reference",
        "Location Latitude",
        "Location Longitude",
        "Distribution Channel",
        "User Language",
    ] + list(questions.values())
    import_ids = [
        json.dumps({"ImportId": n.lower() if n in meta else f"QID{n[1:]}"}) for n in names
    ]
    rows: list[list[object]] = [names, texts, import_ids]
    for p in respondents(1, 4):
        when = p["when"]
        assert isinstance(when, datetime)
        scores = list(p["scores"])  # type: ignore[call-overload]
        if p["skip"]:
            scores[3] = ""  # support not contacted: left empty
        rows.append(
            [
                when.strftime("%Y-%m-%d %H:%M:%S"),
                (when + timedelta(minutes=4)).strftime("%Y-%m-%d %H:%M:%S"),
                "IP Address",
                "203.0.113.7",
                100,
                240,
                "True",
                (when + timedelta(minutes=4)).strftime("%Y-%m-%d %H:%M:%S"),
                f"R_{1000 + int(p['i']):x}Abc{int(p['i']) * 7919 % 9973:04d}",
                "",
                "",
                "",
                "",
                52.37,
                4.89,
                "anonymous",
                "EN",
                *scores,
                p["recommend"],
                p["comment_en"],
            ]
        )
    write_csv(HERE / "qualtrics.csv", rows, bom=True)


def surveymonkey() -> None:
    top = [
        "Respondent ID",
        "Collector ID",
        "Start Date",
        "End Date",
        "IP Address",
        "Email Address",
        "First Name",
        "Last Name",
        "Custom Data 1",
        "How satisfied were you with booking?",
        "How satisfied were you with check-in?",
        "",
        "How satisfied were you with your stay?",
        "How likely is it that you would recommend us to a friend or colleague?",
        "What was the purpose of your trip?",
    ]
    second = [
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "Response",
        "Response",
        "Open-Ended Response",
        "Response",
        "Response",
        "Response",
    ]
    rows: list[list[object]] = [top, second]
    for p in respondents(2, 3):
        when = p["when"]
        assert isinstance(when, datetime)
        scores = list(p["scores"])  # type: ignore[call-overload]
        rows.append(
            [
                11400000000 + int(p["i"]) * 37,
                431000000,
                when.strftime("%m/%d/%Y %I:%M:%S %p"),
                (when + timedelta(minutes=3)).strftime("%m/%d/%Y %I:%M:%S %p"),
                "",
                "",
                "",
                "",
                "",
                scores[0],
                scores[1],
                p["comment_en"],
                scores[2],
                p["recommend"],
                p["segment"],
            ]
        )
    write_csv(HERE / "surveymonkey.csv", rows)


def limesurvey() -> None:
    rows: list[list[object]] = [
        [
            "id",
            "submitdate",
            "lastpage",
            "startlanguage",
            "seed",
            "Q01 Booking",
            "Q02 Delivery",
            "Q03 Support",
            "Q04 Recommend",
            "Q05 Comment",
        ]
    ]
    for p in respondents(3, 3):
        when = p["when"]
        assert isinstance(when, datetime)
        scores: list[object] = list(p["scores"])  # type: ignore[call-overload]
        if p["skip"]:
            scores[2] = "N/A"
        rows.append(
            [
                int(p["i"]) + 1,
                when.strftime("%Y-%m-%d %H:%M:%S"),
                3,
                "nl",
                random.Random(int(p["i"])).randrange(10**9),
                *scores,
                p["recommend"],
                p["comment_nl"],
            ]
        )
    write_csv(HERE / "limesurvey.csv", rows, quote_all=True)


def formbricks() -> None:
    rows: list[list[object]] = [
        [
            "Response ID",
            "Timestamp",
            "Finished",
            "Survey ID",
            "Formbricks ID (internal)",
            "User ID",
            "Notes",
            "Tags",
            "How easy was it to sign up?",
            "How satisfied are you with onboarding?",
            "How satisfied are you with the first invoice?",
            "How likely are you to recommend us to a friend?",
            "What could we improve?",
            "url",
            "country",
        ]
    ]
    for p in respondents(4, 3):
        when = p["when"]
        assert isinstance(when, datetime)
        i = int(p["i"])
        rows.append(
            [
                f"clx{i:05d}resp",
                when.strftime("%Y-%m-%d %H:%M:%S"),
                "Yes",
                "clsurvey0001",
                f"clx{i:05d}fb",
                "",
                "",
                "",
                *list(p["scores"]),
                p["recommend"],  # type: ignore[call-overload]
                p["comment_en"],
                "https://app.example.com/welcome",
                "NL",
            ]
        )
    write_csv(HERE / "formbricks.csv", rows)


def google_forms() -> None:
    rows: list[list[object]] = [
        [
            "Tijdstempel",
            "Hoe tevreden bent u over de bestelling?",
            "Hoe tevreden bent u over de levering?",
            "Opmerking over de levering",
            "Hoe tevreden bent u over de klantenservice?",
            "Hoe waarschijnlijk is het dat u ons aanbeveelt?",
            "Klanttype",
        ]
    ]
    for p in respondents(5, 3):
        when = p["when"]
        assert isinstance(when, datetime)
        s = list(p["scores"])  # type: ignore[call-overload]
        stamp = f"{when.day}-{when.month}-{when.year} {when:%H:%M:%S}"
        kind = "Zakelijk" if p["segment"] == "Business" else "Particulier"
        rows.append([stamp, s[0], s[1], p["comment_nl"], s[2], p["recommend"], kind])
    write_csv(HERE / "google_forms.csv", rows)


def excel() -> None:
    from openpyxl import Workbook

    book = Workbook()
    info = book.active
    assert info is not None
    info.title = "Toelichting"
    info.append(["Export van de webshop-enquête, maart 2025"])
    sheet = book.create_sheet("Antwoorden")
    sheet.append(
        [
            "Klantnummer",
            "Datum",
            "Zoeken",
            "Bestellen",
            "Betalen",
            "Bezorging",
            "Algemeen oordeel",
            "Toelichting",
            "Kanaal",
        ]
    )
    for p in respondents(6, 4):
        s = list(p["scores"])  # type: ignore[call-overload]
        overall = min(10, max(1, round(sum(s) / 4 * 2)))
        sheet.append(
            [
                f"K{20000 + int(p['i'])}",
                p["when"],
                *s,
                overall,
                p["comment_nl"] or None,
                "app" if int(p["i"]) % 3 else "web",
            ]
        )
    book.properties.created = book.properties.modified = datetime(2025, 3, 31)
    buffer = io.BytesIO()
    book.save(buffer)
    (HERE / "webshop.xlsx").write_bytes(_fixed_zip_times(buffer.getvalue()))


def _fixed_zip_times(data: bytes) -> bytes:
    """The same archive with fixed member times, so that regenerating changes nothing."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2025, 3, 31, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2025-03-31T00:00:00Z", content
                )
            target.writestr(fixed, content)
    return out.getvalue()


def contact_log() -> None:
    rows: list[list[object]] = [
        [
            "klant",
            "tijdstip",
            "contactmoment",
            "kanaal",
            "initiatief",
            "cijfer",
            "bedrag",
            "opmerking",
        ]
    ]
    steps = (
        ("Offerte", "company"),
        ("Bestelling geplaatst", "customer"),
        ("Levering", "company"),
        ("Vraag over factuur", "customer"),
        ("Factuur", "company"),
    )
    rng = random.Random(7)
    for p in respondents(7, 5):
        when = p["when"]
        assert isinstance(when, datetime)
        scores = list(p["scores"])  # type: ignore[call-overload]
        for k, (step, who) in enumerate(steps):
            if step == "Vraag over factuur" and rng.random() < 0.5:
                continue
            at = when + timedelta(days=2 * k, minutes=rng.randrange(600))
            amount = f"{rng.uniform(20, 400):.2f}".replace(".", ",")
            note = p["comment_nl"] if step == "Levering" else ""
            rows.append(
                [
                    f"K-{int(p['i']):04d}",
                    at.strftime("%d-%m-%Y %H:%M"),
                    step,
                    "telefoon" if who == "customer" else "e-mail",
                    who,
                    scores[k],
                    amount,
                    note,
                ]
            )
    write_csv(HERE / "contact_log.csv", rows, delimiter=";", encoding="cp1252")


def contact_outcomes() -> None:
    rows: list[list[object]] = [["klant", "Aanbeveling (0-10)", "Opgezegd", "Regio"]]
    for p in respondents(7, 5):
        gone = int(p["recommend"]) <= 4  # type: ignore[call-overload]
        rows.append(
            [
                f"K-{int(p['i']):04d}",
                p["recommend"],
                "ja" if gone else "nee",
                "Noord" if int(p["i"]) % 2 else "Zuid",
            ]
        )
    write_csv(HERE / "contact_outcomes.csv", rows, delimiter=";")


def reviews() -> None:
    rows: list[list[object]] = [["date", "stars", "review", "country"]]
    for p in respondents(8, 1):
        when = p["when"]
        assert isinstance(when, datetime)
        text = p["comment_en"] or COMMENTS_EN[int(p["i"]) % len(COMMENTS_EN)]
        rows.append(
            [
                when.date().isoformat(),
                list(p["scores"])[0],  # type: ignore[call-overload]
                text,
                "NL" if int(p["i"]) % 2 else "BE",
            ]
        )
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    data = gzip.compress(buffer.getvalue().encode("utf-8"), mtime=0)
    (HERE / "reviews.csv.gz").write_bytes(data)


def xes() -> None:
    rng = random.Random(9)
    lines = [
        '<?xml version="1.0" encoding="UTF-8" ?>',
        '<log xes.version="1.0" xmlns="http://www.xes-standard.org/">',
    ]
    for case in range(60):
        lines.append("  <trace>")
        lines.append(f'    <string key="concept:name" value="{200000 + case}"/>')
        lines.append(f'    <string key="channel" value="{rng.choice(("web", "branch"))}"/>')
        when = START + timedelta(days=case)
        steps = ["A_SUBMITTED", "W_Check application", "A_DECISION"]
        for step in steps:
            transitions = ("start", "complete") if step.startswith("W_") else ("complete",)
            for transition in transitions:
                when += timedelta(minutes=rng.randrange(5, 600))
                lines += [
                    "    <event>",
                    f'      <string key="concept:name" value="{step}"/>',
                    f'      <string key="lifecycle:transition" value="{transition}"/>',
                    f'      <string key="org:resource" value="{rng.randrange(10000, 10010)}"/>',
                    f'      <date key="time:timestamp" value="{when.isoformat()}.000+01:00"/>',
                    "    </event>",
                ]
        lines.append("  </trace>")
    lines.append("</log>")
    (HERE / "loan_log.xes").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    for make in (
        qualtrics,
        surveymonkey,
        limesurvey,
        formbricks,
        google_forms,
        excel,
        contact_log,
        contact_outcomes,
        reviews,
        xes,
    ):
        make()


if __name__ == "__main__":
    main()
