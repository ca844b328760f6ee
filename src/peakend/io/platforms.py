"""Survey-platform export shapes, recognised by their header rows.

Each platform writes a recognisable header: Qualtrics three rows (column names,
question texts, ``{"ImportId": ...}``), SurveyMonkey two (question texts, answer
options), LimeSurvey, Formbricks and Google Forms one, each with its own
metadata columns. Recognising the shape sets the reader options (``header_rows``),
the id and time columns and the metadata to ignore, so a drafted spec reads the
export as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Platform:
    """What a recognised export shape implies for the spec."""

    name: str
    evidence: str
    header_rows: int = 1
    id_column: str | None = None
    time_column: str | None = None
    metadata: tuple[str, ...] = field(default_factory=tuple)


_QUALTRICS_META = (
    "StartDate",
    "EndDate",
    "Status",
    "IPAddress",
    "Progress",
    "Duration (in seconds)",
    "Finished",
    "RecipientLastName",
    "RecipientFirstName",
    "RecipientEmail",
    "ExternalReference",
    "LocationLatitude",
    "LocationLongitude",
    "DistributionChannel",
    "UserLanguage",
)
_MONKEY_META = (
    "Collector ID",
    "Start Date",
    "IP Address",
    "Email Address",
    "First Name",
    "Last Name",
    "Custom Data 1",
)
_LIME_META = ("lastpage", "startlanguage", "seed", "startdate", "datestamp", "refurl", "ipaddr")
_FORMBRICKS_META = (
    "Finished",
    "Survey ID",
    "Formbricks ID (internal)",
    "User ID",
    "Notes",
    "Tags",
    "url",
    "country",
    "userAgent - os",
    "userAgent - device",
    "userAgent - browser",
)


def recognise(rows: Sequence[Sequence[str]]) -> Platform | None:
    """The platform whose export starts with ``rows`` (the first raw rows), if any."""
    if not rows:
        return None
    top = [c.strip().removeprefix("\ufeff") for c in rows[0]]
    second = [c.strip() for c in rows[1]] if len(rows) > 1 else []
    third = [c.strip() for c in rows[2]] if len(rows) > 2 else []
    names = set(top)
    if "ResponseId" in names and any(c.startswith('{"ImportId"') for c in third):
        return Platform(
            "Qualtrics",
            "columns ResponseId, StartDate … and a third header row of ImportId JSON",
            header_rows=3,
            id_column="ResponseId",
            time_column="RecordedDate" if "RecordedDate" in names else "EndDate",
            metadata=_QUALTRICS_META,
        )
    if {"Respondent ID", "Collector ID"} <= names and (
        "Response" in second or "Open-Ended Response" in second
    ):
        return Platform(
            "SurveyMonkey",
            "columns Respondent ID, Collector ID and a second header row of answer options",
            header_rows=2,
            id_column="Respondent ID",
            time_column="End Date",
            metadata=_MONKEY_META,
        )
    if {"id", "submitdate", "lastpage", "startlanguage"} <= names:
        return Platform(
            "LimeSurvey",
            "columns id, submitdate, lastpage, startlanguage",
            id_column="id",
            time_column="submitdate",
            metadata=_LIME_META,
        )
    if {"Response ID", "Timestamp"} <= names and ("Survey ID" in names or "Finished" in names):
        return Platform(
            "Formbricks",
            "columns Response ID, Timestamp, Finished",
            id_column="Response ID",
            time_column="Timestamp",
            metadata=_FORMBRICKS_META,
        )
    if top and top[0] in ("Timestamp", "Tijdstempel") and "Response ID" not in names:
        return Platform(
            "Google Forms",
            f"the first column is {top[0]!r} and there is no respondent id",
            time_column=top[0],
        )
    return None
