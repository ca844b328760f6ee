"""Do closed cases recover the customer? Cases fed back into the recovery analysis.

The survey database becomes a per-customer table that
:func:`peakend.models.recovery.analysis.analyse` (the analysis behind
``peakend recovery``) reads, with the same contrasts, intervals and verdict rule:

* **failure**: the answer that opened the customer's first case;
* **recovered**: the case was closed and the customer's follow-up answer was
  positive; when the follow-up was not answered (or none was sent), closed
  within its target time. A case closed late, or past due and still open, is
  *not recovered*. A customer whose first case is still open and not yet due is
  left out (its fate is not known yet) and counted;
* **never failed**: customers with answers and no case;
* **outcome** ``next_score``: the overall score of the customer's next answer
  after the failure (after the first answer for customers without a case), on a
  0–1 scale (the questionnaire's low to high), follow-up answers excluded;
* **adjusted for** the touchpoint of that first answer;
* **time to recovery**: hours from opening to closing the case.

With fewer than ten failed customers per group, or no customer without a case,
the analysis says "no evidence at this sample size", as it does everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from peakend.cases.followup import followup_answers
from peakend.cases.notify import Followup
from peakend.errors import ConfigError
from peakend.models.recovery.analysis import RecoveryResult, analyse
from peakend.models.recovery.data import NONE, RECOVERED, UNRECOVERED
from peakend.models.recovery.inputs import RecoveryInputs
from peakend.schema import Outcome
from peakend.spec import DatasetSpec, RecoverySpec, SourceSpec
from peakend.survey import models as m
from peakend.survey.store import SurveyStore

OUTCOME = "next_score"
DEFAULT_FOLLOWUP = Followup("followup", "success", 1.0)
"""A follow-up answer is positive when its success is at least 1 ("yes"), unless the
notify file's [followup] says otherwise."""
QUESTION = "do closed cases recover the customer?"


@dataclass(frozen=True)
class CaseRecovery:
    """The recovery analysis of the cases, and what went into it."""

    result: RecoveryResult
    customers_waiting: int
    """Customers left out: their first case is open and not yet due."""
    followups_answered: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": QUESTION,
            **self.result.to_dict(),
            "customers_waiting": self.customers_waiting,
            "followups_answered": self.followups_answered,
        }

    def sentence(self) -> str:
        """One line: the question, the verdict and its interval, as the analysis gives them."""
        g = self.result.groups
        outcome = self.result.outcomes[0]
        main = outcome.all_failures
        counts = f"recovered {g[RECOVERED]}, not recovered {g[UNRECOVERED]}, no case {g[NONE]}"
        if main is None:
            return f"{QUESTION} {outcome.verdict} ({outcome.reason}; {counts})"
        d = main.recovered_vs_unrecovered
        interval = (
            f"recovered − not recovered {d.value:+.3f} [{d.low:+.3f}, {d.high:+.3f}]"
            if d.value == d.value
            else "recovered − not recovered –"
        )
        return f"{QUESTION} {outcome.verdict} ({OUTCOME} {interval}; {counts})"


Frames = tuple[pd.DataFrame, pd.DataFrame]
"""The answers and the cases, as :func:`read_frames` reads them."""


def read_frames(survey: SurveyStore) -> Frames:
    """Every answer and case the analysis needs, read in one snapshot."""
    frames: Frames = survey.read_snapshot(_read)
    return frames


def case_recovery(
    survey: SurveyStore,
    followup: Followup | None = None,
    *,
    now: datetime | None = None,
    units: tuple[str, ...] | None = None,
    frames: Frames | None = None,
) -> CaseRecovery:
    """Build the per-customer table from the survey database and run the analysis.

    ``units`` (None: all) keeps the answers at those touchpoints and the cases of
    those units only, as a dashboard user limited to some units sees them;
    ``frames`` are answers and cases already read (:func:`read_frames`), so one
    read serves several sets of units.
    """
    now = now or datetime.now(UTC)
    followup = followup or DEFAULT_FOLLOWUP
    answers, cases = frames if frames is not None else read_frames(survey)
    if units is not None:
        answers = answers.loc[answers["touchpoint"].isin(units)]
        cases = cases.loc[cases["unit"].isin(units)]
    answers = answers.loc[~answers["followup"]]
    answers = answers.assign(score=_unit_scale(answers, survey))
    unknown = sorted(set(answers["questionnaire"]) - set(survey.questionnaires))
    if unknown:
        raise ConfigError(
            f"the answers come from questionnaire(s) {', '.join(unknown)} that were not "
            "loaded; give their files (-q), which hold each score's range"
        )
    fates = _fates(cases, survey, followup, now)
    table, waiting = _table(answers, fates)
    spec = DatasetSpec(
        name="cases",
        source=SourceSpec(
            format="sqlite" if survey.engine.dialect.name == "sqlite" else "postgres"
        ),
        outcomes=(Outcome(OUTCOME, column=OUTCOME),),
        recovery=RecoverySpec(confounders=("touchpoint",), outcomes=(OUTCOME,)),
    )
    inputs = RecoveryInputs(spec, table, [OUTCOME], ["touchpoint"], "customer")
    answered = int(fates["followup_answered"].sum()) if len(fates) else 0
    return CaseRecovery(analyse(inputs, [OUTCOME]), waiting, answered)


def _read(connection: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    r, i, c = m.responses, m.invitations, m.cases
    answers = pd.DataFrame(
        connection.execute(
            sa.select(
                r.c.id,
                r.c.submitted_at,
                r.c.overall,
                i.c.customer_id,
                i.c.touchpoint,
                i.c.questionnaire,
                r.c.invitation_id.in_(
                    sa.select(c.c.followup_invitation_id).where(
                        c.c.followup_invitation_id.is_not(None)
                    )
                ),
            ).join(i, i.c.id == r.c.invitation_id)
        ).all(),
        columns=[
            "id",
            "submitted_at",
            "overall",
            "customer_id",
            "touchpoint",
            "questionnaire",
            "followup",
        ],
    )
    answers["followup"] = answers["followup"].astype(bool)
    columns = [
        "id", "customer_id", "response_id", "unit", "status", "opened_at", "due_at", "closed_at",
    ]  # fmt: skip
    cases = pd.DataFrame(
        connection.execute(sa.select(*(c.c[k] for k in columns)).order_by(c.c.id)).all(),
        columns=columns,
    )
    for frame, names in (
        (answers, ["submitted_at"]),
        (cases, ["opened_at", "due_at", "closed_at"]),
    ):
        for name in names:
            frame[name] = pd.to_datetime(frame[name], utc=True)
    return answers, cases


def _unit_scale(answers: pd.DataFrame, survey: SurveyStore) -> pd.Series:
    """Overall scores on 0–1: (score − low) / (high − low) of the questionnaire's scale."""
    bounds = {}
    for qid, questionnaire in survey.questionnaires.items():
        found = next((q for q in questionnaire.questions if q.role == "overall"), None)
        if found is not None and found.kind == "scale" and found.high > found.low:
            bounds[qid] = (float(found.low), float(found.high))
    low = answers["questionnaire"].map(lambda q: bounds.get(q, (np.nan, np.nan))[0])
    high = answers["questionnaire"].map(lambda q: bounds.get(q, (np.nan, np.nan))[1])
    overall = pd.to_numeric(answers["overall"], errors="coerce")
    return ((overall - low) / (high - low)).astype(float)


def _fates(
    cases: pd.DataFrame, survey: SurveyStore, followup: Followup, now: datetime
) -> pd.DataFrame:
    """Each customer's first case: failure answer, recovered or not (None: not known yet)."""
    first = cases.drop_duplicates("customer_id", keep="first").copy()
    answers = followup_answers(survey, followup, list(map(int, first["id"])))
    positive = [answers[int(i)].positive if int(i) in answers else None for i in first["id"]]
    closed = (first["status"] == "closed").to_numpy(dtype=bool)
    on_time = closed & (first["closed_at"] <= first["due_at"]).to_numpy(dtype=bool)
    decided = closed | (first["due_at"] < pd.Timestamp(now)).to_numpy(dtype=bool)
    recovered = [bool(t) if p is None else p for p, t in zip(positive, on_time, strict=True)]
    first["fate"] = [
        None if not d else RECOVERED if r and c else UNRECOVERED
        for d, r, c in zip(decided, recovered, closed, strict=True)
    ]
    first["hours"] = (first["closed_at"] - first["opened_at"]).dt.total_seconds() / 3600
    first["followup_answered"] = [p is not None for p in positive]
    return first


def _table(answers: pd.DataFrame, fates: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """One row per customer: group, hours, cause, the next score and the confounder.

    Vectorised (a million answers of as many customers take seconds, not the
    minutes of a Python loop per customer): each customer's reference answer is
    the one that opened its first case, or its first answer without a case; the
    outcome is the score of its first later answer.
    """
    columns = ["journey_id", "customer_id", "group", "hours", "repeated", "cause", "touchpoint"]
    answers = answers.assign(customer_id=answers["customer_id"].astype(str)).sort_values(
        ["customer_id", "submitted_at", "id"]
    )
    fates = fates.assign(customer_id=fates["customer_id"].astype(str))
    decided = fates.loc[fates["fate"].notna()]
    waiting = int(
        answers["customer_id"]
        .drop_duplicates()
        .isin(fates.loc[fates["fate"].isna(), "customer_id"])
        .sum()
    )
    reference = ["customer_id", "id", "submitted_at", "touchpoint"]
    failed = answers[reference].merge(
        decided[["customer_id", "response_id", "fate", "hours"]].rename(
            columns={"response_id": "id", "fate": "group"}
        ),
        on=["customer_id", "id"],
    )  # an erased (or, for a user's units, unseen) alerting answer drops the customer
    plain = answers.loc[~answers["customer_id"].isin(fates["customer_id"]), reference]
    plain = plain.drop_duplicates("customer_id").assign(group=NONE, hours=float("nan"))
    refs = pd.concat([failed, plain], ignore_index=True).sort_values("customer_id", kind="stable")
    later = answers[["customer_id", "submitted_at", "score"]].merge(
        refs[["customer_id", "submitted_at"]].rename(columns={"submitted_at": "ref_time"}),
        on="customer_id",
    )
    later = later.loc[(later["submitted_at"] > later["ref_time"]) & later["score"].notna()]
    following = later.groupby("customer_id", sort=False)["score"].first()
    failed_rows = refs["group"] != NONE
    table = pd.DataFrame(
        {
            "journey_id": refs["customer_id"].to_numpy(),
            "customer_id": refs["customer_id"].to_numpy(),
            "group": refs["group"].astype(str).to_numpy(),
            "hours": refs["hours"].astype(float).to_numpy(),
            "repeated": False,
            "cause": refs["touchpoint"].astype(object).where(failed_rows, None).to_numpy(),
            "touchpoint": refs["touchpoint"].astype(str).to_numpy(),
            OUTCOME: refs["customer_id"].map(following).astype(float).to_numpy(),
        },
        columns=[*columns, OUTCOME],
    )
    return table, waiting
