"""The bad-input catalogue: every case runs the real ``peakend`` entry point with ``--json``.

Each case writes a small spec and data file, runs a command, and checks the exit
code (0 ok, 1 data problems, 2 usage, spec or source errors), that the message
names the fix, that a failure prints a JSON error object on stdout, and that no
traceback escapes. The same cases, with their real messages, make the table in
docs/validation.md; a test checks that every case is listed there.
"""

from __future__ import annotations

import gzip
import io
import json
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from peakend.cli import main

pytestmark = pytest.mark.usefixtures("loader")  # every test with both loaders

DOCS = Path(__file__).resolve().parents[1] / "docs" / "validation.md"

EVENTS = (
    "journey_id,touchpoint,ts,score,comment\n"
    "J1,order,2025-01-01T10:00:00Z,4,Fine\n"
    "J1,delivery,2025-01-02T10:00:00Z,2,Late again\n"
    "J2,order,2025-01-01T11:00:00Z,5,Great\n"
    "J2,delivery,2025-01-03T10:00:00Z,4,Ok\n"
)
SOURCE = '[source]\npath = "events.csv"\n'
COLUMNS = (
    '[columns]\njourney_id = "journey_id"\ntouchpoint = "touchpoint"\nts = "ts"\nscore = "score"\n'
)
SCALE = "[scales.csat]\nlow = 1\nhigh = 5\n"
GOOD = f'name = "shop"\n{SOURCE}{COLUMNS}{SCALE}'


def spec(
    *,
    name: str = 'name = "shop"\n',
    source: str = SOURCE,
    columns: str = COLUMNS,
    scale: str = SCALE,
    extra: str = "",
) -> str:
    return f"{name}{extra}{source}{columns}{scale}"


def parquet_bytes() -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"journey_id": ["J1"], "touchpoint": ["order"]}), buffer)
    return buffer.getvalue()


def xlsx_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    first = True
    for title, rows in sheets.items():
        sheet = book.active if first else book.create_sheet(title)
        assert sheet is not None
        sheet.title = title
        first = False
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def zip_bytes(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@dataclass(frozen=True)
class Case:
    """One bad input: files to write, the command, the exit code and what the message says."""

    id: str
    what: str
    args: tuple[str, ...]
    code: int
    says: str
    files: dict[str, str | bytes] = field(default_factory=dict)


def _case(
    id: str,
    what: str,
    code: int,
    says: str,
    spec_text: str | bytes | None = None,
    *,
    data: str | bytes | None = EVENTS,
    data_name: str = "events.csv",
    command: tuple[str, ...] = ("validate", "shop.toml"),
    extra_files: dict[str, str | bytes] | None = None,
) -> Case:
    files: dict[str, str | bytes] = {}
    if spec_text is not None:
        files["shop.toml"] = spec_text
    if data is not None:
        files[data_name] = data
    files.update(extra_files or {})
    return Case(id, what, command, code, says, files)


QUALTRICS = (
    "\ufeffStartDate,ResponseId,Q1\n"
    "Start Date,Response ID,How satisfied were you with ordering?\n"
    '"{""ImportId"":""startDate""}","{""ImportId"":""_recordId""}","{""ImportId"":""QID1""}"\n'
    "2025-01-01 10:00:00,R_1,4\n2025-01-02 10:00:00,R_2,5\n"
)
WIDE = (
    'name = "survey"\nlayout = "wide"\n[source]\npath = "answers.csv"\n'
    '[columns]\njourney_id = "id"\n[scales.csat]\nlow = 1\nhigh = 5\n'
)

CASES: tuple[Case, ...] = (
    # -- the spec file --------------------------------------------------------
    _case("spec_missing", "the spec file does not exist", 2, "does not exist; check the path"),
    _case("spec_not_toml", "the spec is not valid TOML", 2, "is not valid TOML", "name = \n"),
    _case("spec_not_utf8", "the spec is not UTF-8", 2, "save it as UTF-8", b'name = "caf\xe9"\n'),
    _case(
        "spec_typo_top_key",
        "a misspelt top-level key",
        2,
        "did you mean `layout`",
        spec(extra='layuot = "long"\n'),
    ),
    _case(
        "spec_typo_source_key",
        "a misspelt [source] key",
        2,
        "did you mean `delimiter`",
        spec(source=SOURCE + 'delimeter = ";"\n'),
    ),
    _case(
        "spec_typo_role",
        "a misspelt role in [columns]",
        2,
        "did you mean `touchpoint`",
        spec(columns=COLUMNS + 'touchpiont = "x"\n'),
    ),
    _case("spec_no_name", "no `name`", 2, "missing required key `name`", spec(name="")),
    _case("spec_no_source", "no [source]", 2, "missing required key `source`", spec(source="")),
    _case(
        "spec_no_journey_id",
        "no journey id mapped",
        2,
        'journey_id = "@row"',
        spec(columns='[columns]\ntouchpoint = "touchpoint"\n'),
    ),
    _case(
        "spec_long_without_touchpoint",
        "a long layout without a touchpoint column",
        2,
        "a long layout needs `touchpoint`",
        spec(columns='[columns]\njourney_id = "j"\n'),
    ),
    _case(
        "spec_bad_layout",
        "an unknown layout",
        2,
        "layout must be 'long' or 'wide'",
        spec(extra='layout = "diagonal"\n'),
    ),
    _case(
        "spec_bad_format",
        "a misspelt format",
        2,
        "did you mean `excel`",
        spec(source=SOURCE + 'format = "exel"\n'),
    ),
    _case(
        "spec_unknown_suffix",
        "a file name that tells no format",
        2,
        "cannot tell the format of events.sav",
        spec(source='[source]\npath = "events.sav"\n'),
    ),
    _case(
        "spec_bad_decimal",
        "decimal other than . or ,",
        2,
        "decimal must be '.' or ','",
        spec(source=SOURCE + 'decimal = ";"\n'),
    ),
    _case(
        "spec_bad_delimiter",
        "a delimiter of two characters",
        2,
        "delimiter must be one character",
        spec(source=SOURCE + 'delimiter = ";;"\n'),
    ),
    _case(
        "spec_negative_skip_rows",
        "skip_rows below 0",
        2,
        "skip_rows must be a whole number",
        spec(source=SOURCE + "skip_rows = -1\n"),
    ),
    _case(
        "spec_header_rows_zero",
        "header_rows = 0",
        2,
        "header_rows must be 1 or more",
        spec(source=SOURCE + "header_rows = 0\n"),
    ),
    _case(
        "spec_bad_sheet",
        "sheet = true",
        2,
        "sheet is a sheet name",
        spec(source=SOURCE + "sheet = true\n"),
    ),
    _case(
        "scale_low_above_high",
        "a scale with low above high",
        2,
        "must be below high",
        spec(scale="[scales.csat]\nlow = 5\nhigh = 1\n"),
    ),
    _case(
        "scale_code_inside",
        "a not-applicable code inside the scale",
        2,
        "lies inside the scale",
        spec(scale=SCALE + "not_applicable = [3]\n"),
    ),
    _case(
        "scale_low_text",
        "a scale bound written as text",
        2,
        "low must be a number",
        spec(scale='[scales.csat]\nlow = "one"\nhigh = 5\n'),
    ),
    _case(
        "scale_undeclared_default",
        "default_scale names no scale",
        2,
        "is not declared under [scales]",
        spec(extra='default_scale = "nps"\n'),
    ),
    _case(
        "scale_missing_for_scores",
        "scores without a declared scale",
        2,
        "without a declared scale",
        spec(scale=""),
    ),
    _case(
        "wide_without_touchpoints",
        "a wide layout without [[touchpoints]]",
        2,
        "a wide layout needs [[touchpoints]]",
        spec(extra='layout = "wide"\n'),
    ),
    _case(
        "touchpoint_twice",
        "a touchpoint declared twice",
        2,
        "declared twice",
        GOOD + '[[touchpoints]]\nname = "order"\n[[touchpoints]]\nname = "order"\n',
    ),
    _case(
        "touchpoint_bad_initiator",
        "initiated_by other than customer/company",
        2,
        "initiated_by must be one of",
        GOOD + '[[touchpoints]]\nname = "order"\ninitiated_by = "both"\n',
    ),
    _case(
        "touchpoint_bad_relevance",
        "brand_relevance outside [0, 1]",
        2,
        "brand_relevance must lie in [0, 1]",
        GOOD + '[[touchpoints]]\nname = "order"\nbrand_relevance = 2\n',
    ),
    _case(
        "outcome_binary_without_positive",
        "a binary outcome without `positive`",
        2,
        "list the values that mean yes",
        GOOD + '[outcomes.ok]\ncolumn = "comment"\nkind = "binary"\n',
    ),
    _case(
        "outcome_no_column",
        "an outcome with neither column nor from_touchpoint",
        2,
        "give exactly one of `column` or `from_touchpoint`",
        GOOD + "[outcomes.ok]\n",
    ),
    _case(
        "segment_not_attribute",
        "a segment that is not an attribute",
        2,
        "is not an attribute",
        spec(extra='segments = ["region"]\n'),
    ),
    _case(
        "row_id_other_role",
        '"@row" for a role other than journey_id',
        2,
        "can only be the journey_id",
        spec(columns=COLUMNS + 'customer_id = "@row"\n'),
    ),
    _case(
        "touchpoint_empty_list",
        "touchpoint = []",
        2,
        "a list of them",
        spec(columns='[columns]\njourney_id = "journey_id"\ntouchpoint = []\n'),
    ),
    _case(
        "stage_as_text",
        "a touchpoint stage written as text",
        2,
        "[[touchpoints]] #1: stage must be a whole number",
        GOOD + '[[touchpoints]]\nname = "order"\nstage = "first"\n',
    ),
    _case(
        "attributes_not_a_list",
        "attributes given as one text instead of a list",
        2,
        "attributes must be a list of column names",
        spec(extra='attributes = "region"\n'),
    ),
    _case(
        "scale_not_a_table",
        "a scale given as a number instead of a table",
        2,
        "a scale must be a TOML table",
        spec(scale="[scales]\ncsat = 5\n"),
    ),
    _case(
        "outcome_source_without_id",
        "[outcome_source] without journey_id",
        2,
        "name the journey column",
        GOOD + '[outcome_source]\npath = "events.csv"\n',
    ),
    _case(
        "column_typo",
        "a mapped column that is not in the file (case differs)",
        2,
        "write 'touchpoint' instead of 'Touchpoint'",
        spec(columns=COLUMNS.replace('touchpoint = "touchpoint"', 'touchpoint = "Touchpoint"')),
    ),
    # -- the data file --------------------------------------------------------
    _case(
        "data_missing",
        "the data file does not exist",
        2,
        "does not exist; check `path`",
        GOOD,
        data=None,
    ),
    _case(
        "outcomes_missing",
        "the outcome file does not exist (said before the events are read)",
        2,
        "check `path` in the [outcome_source] table",
        GOOD + '[outcome_source]\npath = "outcomes.csv"\njourney_id = "journey_id"\n',
    ),
    _case(
        "data_is_folder",
        "`path` is a folder",
        2,
        "is a folder",
        GOOD,
        data=None,
        extra_files={"events.csv/readme.txt": "x"},
    ),
    _case(
        "parquet_named_csv",
        "a Parquet file called .csv",
        2,
        'not a text file but a Parquet file, so it cannot be read as csv; set format = "parquet"',
        GOOD,
        data=parquet_bytes(),
    ),
    _case(
        "xlsx_named_csv",
        "an Excel workbook called .csv",
        2,
        'an Excel workbook, so it cannot be read as csv; set format = "excel"',
        GOOD,
        data=xlsx_bytes({"Sheet1": [["journey_id"], ["J1"]]}),
    ),
    _case(
        "binary_named_csv",
        "random binary bytes called .csv",
        2,
        "a binary file",
        GOOD,
        data=bytes(range(256)) * 4,
    ),
    _case(
        "gzip_cut_short",
        "a gzip file cut short",
        2,
        "cannot be decompressed",
        GOOD,
        data=gzip.compress(EVENTS.encode())[:30],
    ),
    _case(
        "zip_two_files",
        "a zip archive holding two files",
        2,
        "holding 2 files",
        GOOD,
        data=zip_bytes({"a.csv": EVENTS, "b.csv": EVENTS}),
    ),
    _case(
        "semicolon_declared_comma",
        "a semicolon file declared comma-separated",
        2,
        'semicolon-separated: set delimiter = ";"',
        spec(source=SOURCE + 'delimiter = ","\n'),
        data=EVENTS.replace(",", ";"),
    ),
    _case(
        "ragged_rows",
        "rows with more fields than the header",
        2,
        "Quote values that hold the delimiter",
        GOOD,
        data=EVENTS + "J3,order,2025-01-01T10:00:00Z,4,Fine,extra,more\n",
    ),
    _case(
        "unknown_encoding",
        "an encoding name Python does not know",
        2,
        "unknown encoding 'klingon'",
        spec(source=SOURCE + 'encoding = "klingon"\n'),
    ),
    _case(
        "excel_no_such_sheet",
        "an Excel sheet name that does not exist",
        2,
        "has no sheet 'Answers'; its sheets are 'Antwoorden'",
        spec(source='[source]\npath = "events.xlsx"\nsheet = "Answers"\n'),
        data=xlsx_bytes({"Antwoorden": [["journey_id", "touchpoint"], ["J1", "order"]]}),
        data_name="events.xlsx",
    ),
    _case(
        "excel_sheet_number",
        "an Excel sheet number beyond the last sheet",
        2,
        "sheet = 5 does not exist",
        spec(source='[source]\npath = "events.xlsx"\nsheet = 5\n'),
        data=xlsx_bytes({"Antwoorden": [["journey_id", "touchpoint"], ["J1", "order"]]}),
        data_name="events.xlsx",
    ),
    _case(
        "qualtrics_without_header_rows",
        "a Qualtrics export read with one header row",
        2,
        "Set header_rows = 3 in [source]",
        WIDE.replace('"id"', '"ResponseId"') + '[[touchpoints]]\nname = "ordering"\n'
        'column = "Q1"\n',
        data=QUALTRICS,
        data_name="answers.csv",
    ),
    _case(
        "jsonl_broken_line",
        "a JSON-lines file with a broken line",
        2,
        "row 2 is not a JSON object",
        spec(source='[source]\npath = "events.jsonl"\n'),
        data='{"journey_id": "J1", "touchpoint": "order"}\n{"journey_id": \n',
        data_name="events.jsonl",
    ),
    _case(
        "xes_not_a_log",
        "an .xes file that is not an event log",
        2,
        "not an XES log",
        'name = "log"\n[source]\npath = "log.xes"\n',
        data="<?xml version='1.0'?><html/>",
        data_name="log.xes",
        command=("validate", "shop.toml"),
    ),
    _case(
        "init_missing_file",
        "`peakend init` on a file that does not exist",
        2,
        "does not exist",
        None,
        data=None,
        command=("init", "nothing.csv"),
    ),
    _case(
        "init_spec_exists",
        "`peakend init` would overwrite a spec",
        2,
        "exists; pass --force",
        GOOD,
        command=("init", "events.csv", "--out", "shop.toml"),
    ),
    _case(
        "unknown_option",
        "an option the command does not have",
        2,
        "No such option",
        GOOD,
        command=("validate", "shop.toml", "--strcit"),
    ),
    _case(
        "unknown_outcome",
        "--outcome names an outcome the spec does not declare",
        2,
        "unknown outcome 'nps'",
        GOOD,
        command=("journeys", "shop.toml", "--outcome", "nps"),
    ),
    # -- data that cannot give the answer (exit 1) ----------------------------
    _case("empty_file", "an empty data file (0 bytes)", 1, "is empty", GOOD, data=""),
    _case(
        "header_only",
        "a header without rows",
        1,
        "has a header but no rows",
        GOOD,
        data=EVENTS.splitlines()[0] + "\n",
    ),
    _case(
        "excel_empty_sheet",
        "an Excel sheet with a header and no rows",
        1,
        "has a header but no rows; the workbook's sheets are 'Toelichting', 'Antwoorden'",
        spec(source='[source]\npath = "events.xlsx"\n'),
        data=xlsx_bytes({"Toelichting": [["journey_id"]], "Antwoorden": [["journey_id"]]}),
        data_name="events.xlsx",
    ),
    _case(
        "xes_empty",
        "an empty .xes file",
        1,
        "the file is empty",
        'name = "log"\n[source]\npath = "log.xes"\n',
        data="",
        data_name="log.xes",
    ),
    _case(
        "strict_bad_score",
        "a score that is not a number, in strict mode",
        1,
        "data problem(s) in strict mode",
        GOOD,
        data=EVENTS.replace("J2,order,2025-01-01T11:00:00Z,5", "J2,order,2025-01-01T11:00:00Z,x"),
        command=("validate", "shop.toml", "--strict"),
    ),
    _case(
        "strict_bad_timestamp",
        "a timestamp that cannot be read, in strict mode",
        1,
        "timestamp(s) that cannot be parsed",
        GOOD,
        data=EVENTS.replace("2025-01-02T10:00:00Z", "31/02/2025"),
        command=("validate", "shop.toml", "--strict"),
    ),
    _case(
        "moments_no_outcome",
        "`moments` when the spec declares no outcome",
        1,
        "declares no outcome",
        GOOD,
        command=("moments", "shop.toml"),
    ),
    _case(
        "emotions_no_text",
        "`emotions SPEC` when no event has a comment",
        1,
        "no event has a comment",
        GOOD,
        command=("emotions", "shop.toml", "--backend", "lexicon"),
    ),
    _case(
        "init_no_scores",
        "`peakend init` on a customer table without score columns",
        1,
        "is an outcome file: peakend init EVENTS_FILE customers.csv",
        None,
        data="customer_id,plan,churned\nC1,basic,yes\nC2,pro,no\nC3,basic,no\nC4,pro,no\n",
        data_name="customers.csv",
        command=("init", "customers.csv"),
    ),
    _case(
        "init_long_without_touchpoint",
        "`peakend init` on an event log whose touchpoint column cannot be told",
        1,
        'touchpoint = "COLUMN" in [columns]',
        None,
        data="case_id,x\nA,1\nA,2\nB,1\nB,2\n",
        data_name="log.csv",
        command=("init", "log.csv"),
    ),
    # -- rows set aside with the fix (exit 0, never a silent drop) ------------
    _case(
        "score_not_a_number",
        "a score that is not a number",
        0,
        "scores must be numbers",
        GOOD,
        data=EVENTS.replace("J2,order,2025-01-01T11:00:00Z,5", "J2,order,2025-01-01T11:00:00Z,4x"),
    ),
    _case(
        "na_text_undeclared",
        '"N/A" among scores, not declared',
        0,
        'add not_applicable = ["N/A"] to [scales.csat]',
        GOOD,
        data=EVENTS.replace("2025-01-01T11:00:00Z,5", "2025-01-01T11:00:00Z,N/A"),
    ),
    _case(
        "decimal_comma_undeclared",
        "scores with a decimal comma, not declared",
        0,
        'set decimal = "," in [source]',
        GOOD,
        data=EVENTS.replace(",4,Fine", ',"4,5",Fine').replace(",2,Late", ',"2,5",Late'),
    ),
    _case(
        "score_off_scale",
        "a score outside the declared scale",
        0,
        "outside the declared scale",
        GOOD,
        data=EVENTS.replace(",2,Late", ",9,Late"),
    ),
    _case(
        "encoding_declared_wrong",
        "cp1252 bytes in a file declared UTF-8",
        0,
        'encoding = "cp1252"',
        spec(source=SOURCE + 'encoding = "utf-8"\n'),
        data=EVENTS.replace("Fine", "Caf\xe9").encode("cp1252"),
    ),
    _case(
        "id_missing_in_row",
        "a row without a journey id",
        0,
        "fill in the journey id",
        GOOD,
        data=EVENTS.replace("J2,order", ",order"),
    ),
)


def run(monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]) -> int:
    monkeypatch.setattr(sys, "argv", ["peakend", *args])
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def write(tmp_path: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def test_the_catalogue_has_forty_distinct_bad_inputs() -> None:
    assert len({c.id for c in CASES}) == len(CASES) >= 40
    assert len({c.what for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gives_its_exit_code_and_names_the_fix(
    case: Case,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write(tmp_path, case.files)
    monkeypatch.chdir(tmp_path)
    code = run(monkeypatch, (*case.args, "--json"))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert code == case.code, captured.err
    result = json.loads(captured.out)
    if case.code == 0:
        messages = " ".join(p["message"] for p in result["problems"])
        assert case.says in messages, messages
        assert result["quarantined_rows"] + result["events_loaded"] == result["rows_read"]
    else:
        assert result["ok"] is False and result["error"]["exit_code"] == case.code
        assert case.says in result["error"]["message"], result["error"]["message"]
        assert case.says in " ".join(captured.err.split()), captured.err


def test_every_case_is_in_the_catalogue_of_the_docs() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [c.id for c in CASES if f"`{c.id}`" not in text]
    assert not missing, f"add these cases to docs/validation.md: {missing}"
