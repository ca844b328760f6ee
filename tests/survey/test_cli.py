"""The ``peakend survey`` commands: init, add-key, invite, export, spec, forget, audit."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import peakend
from peakend.cli import app, main
from peakend.survey.questionnaire import read_questionnaires
from peakend.survey.store import SurveyStore

from .conftest import ANSWERS, EXAMPLES

runner = CliRunner()
EVENTS = (
    "customer_id,journey_id,touchpoint,ts,lang\n"
    "C1,J1,delivery,2025-03-01T10:00:00Z,nl\n"
    "C2,J2,service_call,2025-03-02T11:00:00+01:00,\n"
)


def survey(*args: str) -> str:
    result = runner.invoke(app, ["survey", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_a_survey_from_init_to_analysis(tmp_path: Path) -> None:
    db = str(tmp_path / "survey.db")
    survey("init", "--db", db)
    key = survey("add-key", "--db", db, "--name", "crm").strip()
    assert key.startswith("pk_")
    events = tmp_path / "events.csv"
    events.write_text(EVENTS, encoding="utf-8")
    base = ("--base-url", "https://survey.example.org/")
    links = list(
        csv.DictReader(
            io.StringIO(survey("invite", "--db", db, "-q", str(EXAMPLES), str(events), *base))
        )
    )
    assert [row["touchpoint"] for row in links] == ["delivery", "service_call"]
    assert all(row["url"].startswith("https://survey.example.org/s/") for row in links)
    rerun = survey("invite", "--db", db, "-q", str(EXAMPLES), str(events), *base)
    assert [row["url"] for row in csv.DictReader(io.StringIO(rerun))] == [r["url"] for r in links]

    store = SurveyStore.open(db, read_questionnaires(EXAMPLES))
    store.submit(links[0]["url"].rsplit("/", 1)[1], ANSWERS)
    exported = json.loads(
        survey("export", "--db", db, "-q", str(EXAMPLES), "--out", str(tmp_path / "x"), "--json")
    )
    assert (exported["n_events"], exported["n_answered"]) == (2, 1)
    assert peakend.load(exported["spec_path"]).events.num_rows == 2

    spec = tmp_path / "db.toml"
    spec.write_text(survey("spec", "--db", db, "-q", str(EXAMPLES)), encoding="utf-8")
    assert 'table = "survey_events"' in spec.read_text(encoding="utf-8")
    assert peakend.load(spec).events.column("score").to_pylist().count(5.0) == 1

    survey("rotate-secret", "--db", db)
    assert store.form(links[1]["url"].rsplit("/", 1)[1]).invitation.journey_id == "J2"

    forgotten = json.loads(survey("forget", "--db", db, "C1", "--json"))
    assert forgotten == {"invitations": 1, "responses": 1, "drafts": 0, "cases": 0}
    audit = json.loads(survey("audit", "--db", db, "--json"))
    assert [e["action"] for e in audit["entries"]] == [
        "forget",
        "rotate-secret",
        "export",
        "invite",
        "invite",
        "add-key",
    ]
    assert all(e["actor"].startswith("cli") for e in audit["entries"])


def test_mistakes_exit_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(*args: str) -> int:
        monkeypatch.setattr(sys, "argv", ["peakend", "survey", *args])
        try:
            main()
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0

    db = str(tmp_path / "survey.db")
    assert run("export", "--db", db, "-q", str(EXAMPLES), "--out", str(tmp_path)) == 2
    assert "peakend survey init" in " ".join(capsys.readouterr().err.split())
    run("init", "--db", db)
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,touchpoint\nC1,delivery\n", encoding="utf-8")
    base = ("--base-url", "https://survey.example.org")
    assert run("invite", "--db", db, "-q", str(EXAMPLES), str(bad), *base) == 1
    assert "misses column(s) journey_id, ts" in " ".join(capsys.readouterr().err.split())
    assert run("invite", "--db", db, "-q", str(tmp_path / "none"), str(bad), *base) == 2
    assert "does not exist" in " ".join(capsys.readouterr().err.split())
    assert (
        run("export", "--db", db, "-q", str(EXAMPLES), "--out", str(tmp_path), "--format", "xlsx")
        == 2
    )


def test_invite_names_every_bad_line_and_needs_a_base_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PEAKEND_SURVEY_BASE_URL", raising=False)
    db = str(tmp_path / "survey.db")
    survey("init", "--db", db)
    events = tmp_path / "events.csv"
    events.write_text(
        "customer_id,journey_id,touchpoint,ts\n"
        "C1,J1,delivery,yesterday\n"
        "C2,J2,delivery,2025-03-01T10:00:00Z\n"
        "C3,J3,delivery,31-12-2025\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(sys, "argv", ["peakend", "survey", "invite", "--db", db])
    sys.argv += ["-q", str(EXAMPLES), str(events), "--base-url", "https://s.example.org"]
    with pytest.raises(SystemExit) as exited:
        main()
    message = " ".join(capsys.readouterr().err.split())
    assert exited.value.code == 1
    assert "line 2: `ts` 'yesterday'" in message and "line 4: `ts` '31-12-2025'" in message

    monkeypatch.setattr(sys, "argv", ["peakend", "survey", "invite", "--db", db])
    sys.argv += ["-q", str(EXAMPLES), str(events)]
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    assert "give --base-url" in " ".join(capsys.readouterr().err.split())


def test_worker_processes_share_a_socket_with_nagle_off() -> None:
    import asyncio
    import socket

    from peakend.survey.server import FACTORY, ServerOptions, service_config

    listener = service_config(FACTORY, ServerOptions(port=0)).bind_socket()
    nodelay: list[int] = []

    async def check() -> None:
        def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            nodelay.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(accepted, sock=listener)
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        while not nodelay:
            await asyncio.sleep(0.01)
        writer.close()
        server.close()
        await server.wait_closed()

    asyncio.run(check())
    assert listener.proto == socket.IPPROTO_TCP and nodelay == [1]
