"""Grounding check (pure) and the deterministic fallback explanation.

An explanation is grounded when it names the recommended title and artist, names no other catalog
track, and cites only tags the track has. A model cannot hear a title, so these facts must come from
the catalog, and the check is what makes "no hallucinated track" a guarantee rather than a hope.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from musechat.explain.data import TrackMeta
from musechat.explain.tags import TAG_VOCABULARY, find_tag_mentions, mention_is_faithful, normalize_tag

_WORD = re.compile(r"\w+(?:'\w+)*")
MAX_TITLE_WORDS = 16  # longer titles are matched on their first 16 words


@dataclass(frozen=True)
class _Token:
    text: str
    start: int
    end: int


def _tokens(text: str) -> list[_Token]:
    return [_Token(m.group(0), m.start(), m.end()) for m in _WORD.finditer(text)]


def _key(text: str) -> tuple[str, ...]:
    return tuple(t.text.lower() for t in _tokens(text))[:MAX_TITLE_WORDS]


def _find_spans(tokens: Sequence[_Token], key: tuple[str, ...]) -> list[tuple[int, int]]:
    n = len(key)
    if n == 0:
        return []
    lowered = [t.text.lower() for t in tokens]
    return [
        (tokens[i].start, tokens[i + n - 1].end)
        for i in range(len(tokens) - n + 1)
        if tuple(lowered[i : i + n]) == key
    ]


class CatalogTitleIndex:
    """Catalog titles keyed by their lower-cased word sequence, for a scan that is linear in the text
    length (n-gram look-ups), not in the catalog size.

    One-word titles match only with the catalog's capitalisation: a track called "Home" must not turn
    every "feels like home" into a hallucinated track.
    """

    def __init__(self, titles: Iterable[str] = ()) -> None:
        self._titles: dict[tuple[str, ...], set[str]] = {}
        self._max_words = 0
        self.add(titles)

    def add(self, titles: Iterable[str]) -> None:
        for title in titles:
            key = _key(title)
            if key:
                self._titles.setdefault(key, set()).add(title.strip())
                self._max_words = max(self._max_words, len(key))

    def __len__(self) -> int:
        return len(self._titles)

    def merged(self, extra: Iterable[str]) -> CatalogTitleIndex:
        out = CatalogTitleIndex()
        out._titles = {k: set(v) for k, v in self._titles.items()}
        out._max_words = self._max_words
        out.add(extra)
        return out

    def find(self, text: str, *, exclude_spans: Sequence[tuple[int, int]] = ()) -> list[str]:
        tokens = _tokens(text)
        lowered = [t.text.lower() for t in tokens]
        found: list[str] = []
        for i in range(len(tokens)):
            for n in range(1, min(self._max_words, len(tokens) - i) + 1):
                titles = self._titles.get(tuple(lowered[i : i + n]))
                if not titles:
                    continue
                start, end = tokens[i].start, tokens[i + n - 1].end
                if any(start < e and s < end for s, e in exclude_spans):
                    continue
                if n == 1:
                    titles = {t for t in titles if _key(t) == (lowered[i],) and tokens[i].text in t}
                found.extend(sorted(t for t in titles if t not in found))
        return found


@dataclass(frozen=True)
class GroundingResult:
    ok: bool
    problems: tuple[str, ...]
    cited_tags: tuple[str, ...] = ()
    unfaithful_tags: tuple[str, ...] = ()
    other_titles: tuple[str, ...] = ()
    title_present: bool = False
    artist_present: bool = False


def check_grounding(
    text: str,
    track: TrackMeta,
    catalog: CatalogTitleIndex,
    vocabulary: Iterable[str] = TAG_VOCABULARY,
) -> GroundingResult:
    if not text.strip():
        return GroundingResult(ok=False, problems=("empty explanation",))
    tokens = _tokens(text)
    title_spans = _find_spans(tokens, _key(track.title)) if _key(track.title) else []
    artist_spans = _find_spans(tokens, _key(track.artist)) if _key(track.artist) else []
    # Titles without any word characters (rare) fall back to a plain substring test.
    title_present = bool(title_spans) or (not _key(track.title) and track.title.strip() in text)
    artist_present = bool(artist_spans) or (not _key(track.artist) and track.artist.strip() in text)

    problems: list[str] = []
    if not title_present:
        problems.append(f"does not name the title {track.title!r}")
    if not artist_present:
        problems.append(f"does not name the artist {track.artist!r}")

    own_key = _key(track.title)
    others = [
        t
        for t in catalog.find(text, exclude_spans=[*title_spans, *artist_spans])
        if _key(t) != own_key
    ]
    if others:
        problems.append(f"names other catalog tracks: {', '.join(repr(t) for t in others)}")

    # Metadata spans are excluded from the tag scan: a title such as "Piano Man" is not a tag claim.
    masked = list(text)
    for s, e in [*title_spans, *artist_spans]:
        masked[s:e] = " " * (e - s)
    vocab = {normalize_tag(v) for v in vocabulary} | {normalize_tag(t) for t in track.tags}
    mentions = find_tag_mentions("".join(masked), frozenset(vocab))
    cited = tuple(dict.fromkeys(m.surface for m in mentions))
    unfaithful = tuple(c for c in cited if not mention_is_faithful(c, track.tags))
    if unfaithful:
        problems.append(f"cites tags the track does not have: {', '.join(unfaithful)}")
    return GroundingResult(
        ok=not problems,
        problems=tuple(problems),
        cited_tags=cited,
        unfaithful_tags=unfaithful,
        other_titles=tuple(others),
        title_present=title_present,
        artist_present=artist_present,
    )


_GENRES = frozenset(
    normalize_tag(g)
    for g in (
        "rock", "pop", "alternative", "indie", "electronic", "dance", "jazz", "metal", "soul", "folk",
        "punk", "blues", "hard rock", "ambient", "experimental", "hip-hop", "country", "funk", "electro",
        "heavy metal", "progressive rock", "rnb", "indie pop", "house", "techno", "classical", "new age",
        "alternative rock", "classic rock", "indie rock", "electronica", "opera", "indian", "easy listening",
    )
)  # fmt: skip


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def template_explanation(track: TrackMeta, user_words: str = "") -> str:
    """A deterministic explanation built only from catalog metadata: grounded by construction."""
    tags = [normalize_tag(t) for t in track.tags]
    genres = [t for t in tags if t in _GENRES][:3]
    features = [t for t in tags if t not in _GENRES][:3]
    parts = [f'I suggest "{track.title.strip()}" by {track.artist.strip()}.']
    if genres:
        parts.append(f"The song draws on {_join(genres)}.")
    if features:
        tail = ", in line with what you asked for." if user_words.strip() else "."
        parts.append(f"It is tagged {_join(features)}{tail}")
    return " ".join(parts)
