"""Alembic environment for the survey store.

peakend runs the migrations itself (:func:`peakend.survey.store.upgrade`) and
hands Alembic an open connection in ``config.attributes["connection"]``; there
is no ``alembic.ini``.
"""

from __future__ import annotations

from alembic import context

from peakend.survey.models import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
