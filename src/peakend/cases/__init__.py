"""The closed loop: alert rules open cases on survey answers; users work them.

* :mod:`~peakend.cases.rules`: the alert rules file (TOML);
* :mod:`~peakend.cases.store`: cases, notes, users and sessions in the survey database;
* :mod:`~peakend.cases.worker`: the background thread that evaluates the rules;
* :mod:`~peakend.cases.report`: time to first response, time to close, share on time;
* :mod:`~peakend.cases.auth`: password hashes and session tokens;
* :mod:`~peakend.cases.endings`: comment endings scored once for rules and widgets.
"""

from peakend.cases.report import CaseReport, case_report
from peakend.cases.rules import Rule, read_rules
from peakend.cases.store import Case, CaseStore, User
from peakend.cases.worker import AlertWorker

__all__ = [
    "AlertWorker",
    "Case",
    "CaseReport",
    "CaseStore",
    "Rule",
    "User",
    "case_report",
    "read_rules",
]
