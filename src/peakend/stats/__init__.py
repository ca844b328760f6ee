"""Shared statistics of peakend, used by ``models/`` and ``text/`` alike."""
