"""How comments end, scored once: a label cache shared by the alert rules and the widgets.

Both background threads of ``peakend serve`` need the ending of each new comment
(the ``negative_ending`` rule and the ``endings`` widget); scoring takes the
comment model's time, so each distinct text is scored once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from peakend.cases.store import Endings, default_endings

MAX_TEXTS = 200_000


class SharedEndings:
    """A callable like :data:`~peakend.cases.store.Endings` that remembers its labels."""

    def __init__(self, endings: Endings | None = None, *, max_texts: int = MAX_TEXTS) -> None:
        self.endings = endings or default_endings
        self.max_texts = max_texts
        self._labels: OrderedDict[str, str | None] = OrderedDict()
        self._lock = threading.Lock()
        self.scored = 0
        """How many texts were sent to the scorer (the rest came from the cache)."""

    def __call__(self, texts: list[str]) -> list[str | None]:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._labels))
        if missing:
            labels = self.endings(missing)
            with self._lock:
                self.scored += len(missing)
                self._labels.update(zip(missing, labels, strict=True))
                while len(self._labels) > self.max_texts:
                    self._labels.popitem(last=False)
        with self._lock:
            return [self._labels[t] if t in self._labels else None for t in texts]
