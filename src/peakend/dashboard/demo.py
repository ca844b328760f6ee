"""``peakend demo --serve``: a survey database filled from the demo dataset, and a demo admin.

So that a fresh install sees a full dashboard, :func:`prepare_demo` builds (once)
a SQLite survey database next to the demo report: the demo questionnaire
(:file:`demo/questionnaires`), one invitation per scored event at installation,
first invoice and support call in :data:`DEMO_WEEKS` weeks of the demo
journeys (up to when 95 % of those events have happened), answered with that
event's score as the overall score and, when the customer wrote to the company
earlier in the journey, the last such text as the comment. Nothing is invented:
every answer is an event of the demo dataset.
The demo alert rules (:file:`demo/alerts.toml`) then open cases for the lowest
scores and the comments that end negatively, and the dashboard
(:file:`demo/layout.toml`) shows the demo dataset's analyses next to the survey
widgets.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from peakend.cases.store import CaseStore
from peakend.datasets import demo_dir, demo_spec_path
from peakend.survey.questionnaire import read_questionnaires
from peakend.survey.store import InvitationRequest, SurveyStore

#: Touchpoints of the demo journeys the demo survey asks about.
DEMO_TOUCHPOINTS = ("installation", "first_invoice", "support_call")
#: Weeks of demo events (up to the last one) that become survey answers.
DEMO_WEEKS = 12
DEMO_USER = "demo"
QUESTIONNAIRE = "demo_survey"


@dataclass(frozen=True)
class DemoSetup:
    """Where the demo service's files are, and the admin password when it was just set."""

    db: Path
    questionnaires: Path
    rules: Path
    layout: Path
    spec: Path
    answers: int
    password: str | None


def demo_files() -> tuple[Path, Path, Path]:
    """The demo questionnaire folder, alert rules and dashboard layout shipped with peakend."""
    folder = Path(str(resources.files("peakend.dashboard") / "demo"))
    return folder / "questionnaires", folder / "alerts.toml", folder / "layout.toml"


def demo_answers(weeks: int = DEMO_WEEKS) -> list[dict[str, Any]]:
    """One answer per scored demo event at :data:`DEMO_TOUCHPOINTS` in the last ``weeks``."""
    events = pq.read_table(
        demo_dir() / "events.parquet",
        columns=["journey_id", "customer_id", "ts", "touchpoint", "score", "text", "lang"],
    ).to_pylist()
    # The demo's journeys thin out at the end of its time range: the window ends
    # where 95 % of the asked-about events have happened.
    asked = sorted(e["ts"] for e in events if _asked(e))
    last = asked[int(0.95 * (len(asked) - 1))]
    start = last - timedelta(weeks=weeks)
    texts: dict[str, list[tuple[Any, str, str]]] = {}
    for e in events:
        if e["text"]:
            texts.setdefault(e["journey_id"], []).append((e["ts"], e["text"], e["lang"] or "en"))
    answers = []
    for e in sorted(events, key=lambda e: (e["ts"], e["journey_id"])):
        if not _asked(e) or not start <= e["ts"] <= last:
            continue
        said = [t for t in texts.get(e["journey_id"], []) if t[0] <= e["ts"]]
        comment, lang = (max(said)[1], max(said)[2]) if said else ("", "en")
        answers.append({**e, "comment": comment, "lang": lang if lang in ("en", "nl") else "en"})
    return answers


def _asked(event: dict[str, Any]) -> bool:
    return event["touchpoint"] in DEMO_TOUCHPOINTS and event["score"] is not None


def prepare_demo(folder: Path, password: str | None) -> DemoSetup:
    """The demo survey database in ``folder`` (filled on first use) and its admin user.

    The admin ``demo`` gets ``password`` or, when None and the user is new, a
    random one returned in :attr:`DemoSetup.password` to be printed once.
    """
    questionnaires, rules, layout = demo_files()
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "survey.db"
    store = SurveyStore.open(db, read_questionnaires(questionnaires))
    cases = CaseStore(store)
    count = int(
        store.read_snapshot(
            lambda c: c.exec_driver_sql("SELECT count(*) FROM responses").scalar_one()
        )
    )
    if count == 0:
        count = _fill(store)
    new_user = all(u.name != DEMO_USER for u in cases.users())
    shown = None
    if password is None and new_user:
        password = shown = secrets.token_urlsafe(12)
    if password is not None:
        cases.add_user(DEMO_USER, "admin", ["*"], password, actor="demo")
    return DemoSetup(db, questionnaires, rules, layout, demo_spec_path(), count, shown)


def _fill(store: SurveyStore) -> int:
    answers = demo_answers()
    requests = [
        InvitationRequest(
            customer_id=a["customer_id"] or a["journey_id"],
            journey_id=a["journey_id"],
            touchpoint=a["touchpoint"],
            ts=a["ts"],
            channel="email",
            lang=a["lang"],
            questionnaire=QUESTIONNAIRE,
        )
        for a in answers
    ]
    invitations = store.invite(requests, actor="demo")
    for invitation, answer in zip(invitations, answers, strict=True):
        given = {"overall": int(answer["score"]), "comment": answer["comment"]}
        store.submit(invitation.token, given, lang=answer["lang"])
    return len(answers)
