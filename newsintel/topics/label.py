"""Topic labels: distinctive words by class-based TF-IDF, and representative articles.

Class-based TF-IDF treats all the texts of one topic as one document: a word scores
high when it is frequent in the topic and rare across topics,
``tf(word, topic) * log(1 + mean words per topic / frequency of the word overall)``.
Ties are broken alphabetically so that labels never depend on dictionary order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

TOP_WORDS = 10
# Words the English stop list lacks but news text is full of: reporting verbs and the
# residue of HTML entities that feeds leave behind (&quot; -> "quot").
NEWS_STOP_WORDS = frozenset({"said", "says", "quot", "amp", "nbsp", "href", "lt", "gt"})
_TOKEN = r"(?u)\b[^\W\d_][^\W\d_'-]+\b"


def topic_words(
    texts: Sequence[str], labels: np.ndarray, k: int, top_n: int = TOP_WORDS
) -> list[tuple[str, ...]]:
    """The ``top_n`` most distinctive words of each topic 0..k-1 (by class-based TF-IDF)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    if k == 0 or not len(texts):
        return [() for _ in range(k)]
    stop = sorted(ENGLISH_STOP_WORDS | NEWS_STOP_WORDS)
    vectorizer = CountVectorizer(
        stop_words=stop, token_pattern=_TOKEN, min_df=2 if len(texts) >= 50 else 1
    )
    try:
        counts = vectorizer.fit_transform(texts)
    except ValueError:  # nothing but stop words
        return [() for _ in range(k)]
    vocab = vectorizer.get_feature_names_out()
    n = len(labels)
    onehot = sparse.csr_matrix((np.ones(n), (labels, np.arange(n))), shape=(k, n))
    per_topic = (onehot @ counts).toarray().astype(np.float64)  # k x vocabulary
    totals = per_topic.sum(axis=1, keepdims=True)
    tf = per_topic / np.maximum(totals, 1.0)
    frequency = per_topic.sum(axis=0)
    idf = np.log1p(totals.mean() / np.maximum(frequency, 1.0))
    scores = tf * idf
    words: list[tuple[str, ...]] = []
    alphabetical = np.arange(len(vocab))  # get_feature_names_out is sorted
    for row in scores:
        order = np.lexsort((alphabetical, -row))
        words.append(tuple(str(vocab[i]) for i in order[:top_n] if row[i] > 0))
    return words


def label_from(words: Sequence[str], n: int = 4) -> str:
    """A short human label: the first ``n`` distinctive words."""
    return " · ".join(words[:n]) if words else "(no words)"


def representative_rows(
    similarity: np.ndarray, labels: np.ndarray, k: int, n: int = 3
) -> list[tuple[int, ...]]:
    """Row indices of the ``n`` members of each topic closest to its centroid.

    ``similarity`` is each row's cosine to its own topic's centroid; ties go to the
    earlier row.
    """
    order = np.lexsort((np.arange(len(labels)), -similarity, labels))
    starts = np.searchsorted(labels[order], np.arange(k))
    ends = np.searchsorted(labels[order], np.arange(k), side="right")
    return [
        tuple(int(i) for i in order[s : min(e, s + n)]) for s, e in zip(starts, ends, strict=True)
    ]
