"""Grounding check (pure) and the deterministic fallback explanation.

An explanation is grounded when it names the recommended title and artist, names no other catalog
track, and cites only tags the track has. A model cannot hear a title, so these facts must come from
the catalog, and the check is what makes "no hallucinated track" a guarantee rather than a hope.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from musechat.explain.data import TrackMeta
from musechat.explain.facts import ExplainContext, tempo_comparison
from musechat.explain.tags import NOT_CLAIMS, TAG_VOCABULARY, mention_is_faithful, normalize_tag, surface_forms

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


@lru_cache(maxsize=64)
def _tag_keys(vocab: frozenset[str]) -> frozenset[tuple[str, ...]]:
    return frozenset(_key(v) for v in vocab)


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
    # For evaluation: claims the facts or the request contradict, and names/numbers from nowhere.
    contradictions: tuple[str, ...] = ()
    hallucinations: tuple[str, ...] = ()


# ----------------------------------------------------------------------------- claim lexicon
# Each surface form maps to (kind, key). Kinds: tempo (fast/slow/faster/slower), vocals (yes/no),
# video (a VideoFacts label), ask (a claim that the request was met), match (praise that implies it),
# tag (a tag or an alias of tags).
_TEMPO_WORDS = {
    "fast": "fast", "faster": "faster", "upbeat": "fast", "up tempo": "fast", "uptempo": "fast",
    "energetic": "fast", "more energetic": "faster", "quick": "fast", "quicker": "faster", "lively": "fast",
    "livelier": "faster", "brisk": "fast", "high energy": "fast", "driving": "fast", "speedy": "fast",
    "slow": "slow", "slower": "slower", "calm": "slow", "calmer": "slower", "relaxed": "slow",
    "more relaxed": "slower", "gentle": "slow", "gentler": "slower", "laid back": "slow",
    "unhurried": "slow", "leisurely": "slow", "soothing": "slow", "tranquil": "slow", "peaceful": "slow",
    "moderate": "moderate", "mid tempo": "moderate", "steady": "moderate",
}  # fmt: skip
_VOCAL_WORDS = {
    "vocals": True, "vocal": True, "voice": True, "voices": True, "singer": True, "singers": True,
    "singing": True, "sung": True, "vocalist": True, "vocalists": True, "lyrics": True,
    "instrumental": False, "no vocals": False, "no vocal": False, "no voice": False, "no singing": False,
    "without vocals": False, "without singing": False, "without a singer": False, "wordless": False,
    "vocal free": False, "no lyrics": False, "without lyrics": False, "no singer": False, "no singers": False,
    "no voices": False, "no vocalist": False, "no vocalists": False, "without a voice": False,
    "without voices": False, "without a vocalist": False, "without any vocals": False,
}  # fmt: skip
_VIDEO_WORDS = {
    "quick cuts": "rapid cuts", "fast cuts": "rapid cuts", "rapid cuts": "rapid cuts",
    "quick editing": "rapid cuts", "fast editing": "rapid cuts", "fast paced video": "rapid cuts",
    "frequent cuts": "rapid cuts", "occasional cuts": "occasional cuts", "slow cuts": "occasional cuts",
    "few cuts": "few cuts", "long takes": "few cuts", "slow editing": "occasional cuts",
    "lots of motion": "lots of motion", "a lot of motion": "lots of motion",
    "lots of movement": "lots of motion", "busy motion": "lots of motion", "little motion": "little motion",
    "still shots": "little motion", "static shots": "little motion", "little movement": "little motion",
    "some motion": "some motion", "bright": "bright", "brightly lit": "bright", "sunny": "bright",
    "well lit": "bright", "dark": "dark", "dim": "dark", "gloomy": "dark", "dimly lit": "dark",
    "warm colours": "warm colours", "warm colors": "warm colours", "warm tones": "warm colours",
    "cool colours": "cool colours", "cool colors": "cool colours", "cool tones": "cool colours",
    "blue tones": "cool colours", "neutral colours": "neutral colours", "neutral colors": "neutral colours",
    "mid lit": "mid-lit",
}  # fmt: skip
_ASK_PHRASES = (
    "as you asked", "what you asked for", "you asked for", "in line with what you asked", "as requested",
    "your request", "you wanted", "what you are looking for", "what you're looking for", "as you wished",
    "just what you", "exactly what you", "like you asked", "as you wanted", "your preferences",
    "your wish", "what you want", "you want", "you were looking for", "you requested",
)  # fmt: skip
# Praise that presents the pick as meeting the request: a contradiction when the facts say it does not
# (the default adapter says "is a good match" on unmet requests too). Neutral with no verdict.
_MATCH_PHRASES = (
    "a good match", "a great match", "a perfect match", "the right match", "a good fit", "a great fit",
    "a perfect fit", "fits well", "fits the bill", "a good pick", "a great pick", "a perfect pick",
    "a good choice", "a great choice", "the perfect choice",
)  # fmt: skip
# Instruments and genres outside the MusiCNN vocabularies that models like to invent, each with the tags
# that would make it true (empty: no tag can support it, so it is never a grounded claim).
_EXTRA_ALIASES: dict[str, frozenset[str]] = {
    "saxophone": frozenset(), "sax": frozenset(), "trumpet": frozenset(), "trumpets": frozenset(),
    "brass": frozenset(), "horns": frozenset(), "bass": frozenset(), "bassline": frozenset(),
    "banjo": frozenset(), "ukulele": frozenset(), "organ": frozenset(), "accordion": frozenset(),
    "harmonica": frozenset(), "trombone": frozenset(), "clarinet": frozenset(), "rap": frozenset(),
    "reggae": frozenset(), "edm": frozenset(), "dubstep": frozenset(), "trap": frozenset(),
    "disco": frozenset(), "trance": frozenset(), "lo fi": frozenset(),
    "orchestra": frozenset({"strings", "classical", "orchestral"}), "orchestral": frozenset({"strings", "classical"}),
    "percussion": frozenset({"drums"}),
    "keys": frozenset({"piano", "synth"}), "keyboard": frozenset({"piano", "synth"}),
    "keyboards": frozenset({"piano", "synth"}), "pianos": frozenset({"piano"}), "guitars": frozenset({"guitar"}),
    "violins": frozenset({"violin", "strings"}), "string": frozenset({"strings"}),
    "electronics": frozenset({"electronic", "synth", "electro"}),
}  # fmt: skip
# Words that put a sentence about the picture: music has no colours, lighting or camera either.
_VIDEO_CONTEXT = re.compile(r"\b(video|footage|clip|scenes?|visuals?|images?|pictures?|shots?|film|editing|"
                            r"colou?rs?|lighting|camera)\b", re.I)


@lru_cache(maxsize=8)
def _lexicon(vocabulary: frozenset[str]) -> tuple[re.Pattern[str], dict[str, tuple[str, str]]]:
    table: dict[str, tuple[str, str]] = {}
    for surface in surface_forms(vocabulary):
        table[surface] = ("tag", surface)
    for surface in _EXTRA_ALIASES:
        table[surface] = ("tag", surface)
    for surface, key in _TEMPO_WORDS.items():
        table[surface] = ("tempo", key)
    for surface, voc in _VOCAL_WORDS.items():
        table[surface] = ("vocals", "yes" if voc else "no")
    for surface, label in _VIDEO_WORDS.items():
        table[surface] = ("video", label)
    for phrase in _ASK_PHRASES:
        table[phrase] = ("ask", phrase)
    for phrase in _MATCH_PHRASES:
        table[phrase] = ("match", phrase)
    for word in NOT_CLAIMS:
        table.pop(word, None)
    alternatives = sorted(table, key=len, reverse=True)
    body = "|".join(re.escape(s).replace(r"\ ", r"[\s-]+").replace("'", "['’]") for s in alternatives)
    return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", re.IGNORECASE), table


def _tag_faithful(surface: str, track: TrackMeta) -> bool:
    if surface in track.norm_tags:  # a word the facts state, whatever it also stands for ("orchestral")
        return True
    if surface in _EXTRA_ALIASES:
        return bool(_EXTRA_ALIASES[surface] & set(track.norm_tags))
    return mention_is_faithful(surface, track.tags)


def _tempo_faithful(key: str, context: ExplainContext) -> bool:
    track, previous = context.track, context.previous
    if key in ("faster", "slower"):
        if previous is not None and track.tempo_bpm is not None and previous.tempo_bpm is not None:
            return (track.tempo_bpm > previous.tempo_bpm) == (key == "faster")
        return track.tempo == ("fast" if key == "faster" else "slow")
    return track.tempo == key or (key == "slow" and bool({"mellow", "calm", "chill", "soft"} & set(track.norm_tags)))


# Words after which a word is claimed of the track ("it has vocals", "with a singer", "and lyrics").
_CLAIM_LEADS = ("has", "have", "with", "features", "featuring", "hear", "its", "and", "some", "the", "a",
                "strong", "soft", "lead", "of", "are", "is", "warm", "clear", "on", "brings", "offers",
                "includes", "adds", "carries", "good", "great", "nice", "lovely", "powerful")  # fmt: skip


def _claim_bans(phrase: str, faithful: Sequence[str], depth: int = 2) -> set[str]:
    """`phrase` after each claim lead word, where that is no part of a true phrase (a ban matches on a
    prefix, so "a vocal" would also stop "without a vocalist"); where it is ("a singer" in "without a
    singer"), one more lead word in front ("brings a singer")."""
    bans: set[str] = set()
    for lead in _CLAIM_LEADS:
        led = f"{lead} {phrase}"
        if not any(f" {led}" in f" {f}" for f in faithful):
            bans.add(led)
        elif depth > 1:
            bans |= _claim_bans(led, faithful, depth - 1)
    return bans


def contradicting_phrases(context: ExplainContext, vocabulary: Iterable[str] = TAG_VOCABULARY) -> tuple[str, ...]:
    """Every claim phrase of the check's lexicon that would contradict `context` (tags the track lacks,
    the wrong tempo or vocals words, video properties not measured, "as you asked" on a request not met,
    match praise on one the facts say is unmet): what grounded decoding forbids the model to write, so
    the first attempt cannot contradict the facts in the check's own terms. Left out: phrases sharing a
    word with the names the answer must copy (title, artist, album, the previous pick), and phrases that
    begin a fact the prompt writes."""
    track = context.track
    vocab = frozenset({normalize_tag(v) for v in vocabulary} | set(track.norm_tags))
    _, table = _lexicon(vocab)
    labels = set(context.video.labels()) if context.video is not None else set()
    names = {w.lower() for meta in (track, context.previous) if meta is not None
             for name in (meta.title, meta.artist, meta.album) for w in _WORD.findall(name)}  # fmt: skip
    wrong_phrases: list[str] = []
    faithful: list[str] = []
    for surface, (kind, key) in table.items():
        if kind == "tag":
            wrong = not _tag_faithful(surface, track)
        elif kind == "tempo":
            wrong = not _tempo_faithful(key, context)
        elif kind == "vocals":
            wrong = track.has_vocals != (key == "yes")
        elif kind == "video":
            wrong = key not in labels
        elif kind == "ask":
            wrong = context.request is not None and context.met is not True
        else:  # match
            wrong = context.met is False
        if not wrong:
            faithful.append(surface)
        elif not names & set(_WORD.findall(surface)):
            wrong_phrases.append(surface)
    # A ban acts on a prefix: a wrong phrase that starts a phrase the prompt itself writes (a video label,
    # a tag) stays writable, or the model could not copy that fact (the check still sees a wrong use).
    written = {*labels, *track.norm_tags}
    banned: set[str] = set()
    for phrase in wrong_phrases:
        if any(w.startswith(phrase + " ") for w in written):
            continue
        # A wrong word that ends a true phrase ("vocals" in "no vocals" for an instrumental) is banned only
        # after the words that make it a claim, or the true phrase could not be written either.
        if any(f.endswith(" " + phrase) for f in faithful):
            banned |= _claim_bans(phrase, faithful)
        else:
            banned.add(phrase)
    return tuple(sorted(banned))


_SENTENCE = re.compile(r"[^.!?]+[.!?]?")
_CAPITALISED = re.compile(r"(?<![\w'’])[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.:]\d+)?")
_COMMON_CAPITALS = frozenset({"I", "I'm", "I'd", "I've", "I'll", "OK"})


def _proper_names(masked: str, allowed: frozenset[str]) -> list[str]:
    """Runs of capitalised words that are neither sentence openers nor words the facts contain."""
    found: list[str] = []
    for sentence in _SENTENCE.finditer(masked):
        text = sentence.group(0)
        first = re.search(r"[A-Za-z]", text)
        for m in _CAPITALISED.finditer(text):
            words = m.group(0).split()
            if first is not None and m.start() == first.start():
                words = words[1:]  # the sentence's first word is capitalised anyway
            words = [w for w in words if w not in _COMMON_CAPITALS and w.lower().strip("'’") not in allowed]
            if words:
                found.append(" ".join(words))
    return found


def check_grounding(
    text: str,
    track: TrackMeta,
    catalog: CatalogTitleIndex,
    vocabulary: Iterable[str] = TAG_VOCABULARY,
    *,
    context: ExplainContext | None = None,
) -> GroundingResult:
    """Every claim of `text` against the facts: title and artist named; no other catalog title or artist;
    no name or number the facts lack; tags, tempo, vocals and video properties as measured; "as you
    asked" only when the request was met. `context` defaults to the track alone."""
    if not text.strip():
        return GroundingResult(ok=False, problems=("empty explanation",))
    context = context or ExplainContext(track=track)
    tokens = _tokens(text)
    title_spans = _find_spans(tokens, _key(track.title)) if _key(track.title) else []
    artist_spans = _find_spans(tokens, _key(track.artist)) if _key(track.artist) else []
    # Titles without any word characters (rare) fall back to a plain substring test.
    title_present = bool(title_spans) or (not _key(track.title) and track.title.strip() in text)
    artist_present = bool(artist_spans) or (not _key(track.artist) and track.artist.strip() in text)

    problems: list[str] = []
    contradictions: list[str] = []
    hallucinations: list[str] = []
    if not title_present:
        problems.append(f"does not name the title {track.title!r}")
    if not artist_present:
        problems.append(f"does not name the artist {track.artist!r}")

    # The previous pick may be named (it is a fact of the prompt); the album is masked (not a claim).
    allowed_spans = [*title_spans, *artist_spans]
    allowed_keys = {_key(track.title), _key(track.artist)}
    prev = context.previous
    for name in ((prev.title, prev.artist) if prev is not None else ()):
        if _key(name):
            allowed_spans += _find_spans(tokens, _key(name))
            allowed_keys.add(_key(name))
    mask_spans = list(allowed_spans)
    if track.album.strip() and _key(track.album):
        mask_spans += _find_spans(tokens, _key(track.album))
    # A catalog title that is also a tag word ("Sad" in a real catalog) is judged as the tag claim below.
    vocab = frozenset({normalize_tag(v) for v in vocabulary} | set(track.norm_tags))
    others = [t for t in catalog.find(text, exclude_spans=mask_spans)
              if _key(t) not in allowed_keys and _key(t) not in _tag_keys(vocab)]  # fmt: skip
    if others:
        problems.append(f"names other catalog tracks or artists: {', '.join(repr(t) for t in others)}")
        hallucinations.extend(others)

    masked = list(text)
    for s, e in mask_spans:
        masked[s:e] = " " * (e - s)
    masked_text = "".join(masked)

    pattern, table = _lexicon(vocab)
    cited: list[str] = []
    unfaithful: list[str] = []
    wrong: list[str] = []
    claim_spans: list[tuple[int, int]] = []
    for m in pattern.finditer(masked_text):
        surface = normalize_tag(m.group(0)).replace("’", "'")
        kind, key = table.get(surface, ("tag", surface))
        claim_spans.append((m.start(), m.end()))
        if kind == "tag":
            cited.append(surface)
            if not _tag_faithful(surface, track):
                unfaithful.append(surface)
        elif kind == "tempo" and not _tempo_faithful(key, context):
            wrong.append(f"{surface!r} (tempo: {_tempo_fact(context)})")
        elif kind == "vocals" and track.has_vocals != (key == "yes"):
            has = track.has_vocals
            wrong.append(f"{surface!r} (vocals: {'unknown' if has is None else 'yes' if has else 'none'})")
        elif kind == "video":
            video = context.video
            sentence = _sentence_at(masked_text, m.start())
            if key in ("bright", "dark") and not _VIDEO_CONTEXT.search(sentence):
                wrong.append(f"{surface!r} (no such fact about the music)")
            elif video is None or key not in video.labels():
                wrong.append(f"{surface!r} (video: {', '.join(video.labels()) if video else 'not measured'})")
        elif kind == "ask" and context.request is not None and context.met is not True:
            verdict = "not met" if context.met is False else "not known to be met"
            wrong.append(f"{surface!r} (the request {verdict})")
        elif kind == "match" and context.met is False:
            wrong.append(f"{surface!r} (the request not met)")
    cited_t = tuple(dict.fromkeys(cited))
    unfaithful_t = tuple(dict.fromkeys(unfaithful))
    if unfaithful_t:
        problems.append(f"cites tags the track does not have: {', '.join(unfaithful_t)}")
        contradictions.extend(unfaithful_t)
    if wrong:
        problems.append(f"contradicts the facts: {', '.join(wrong)}")
        contradictions.extend(wrong)

    rest = list(masked_text)
    for s, e in claim_spans:
        rest[s:e] = " " * (e - s)
    rest_text = "".join(rest)
    numbers = [n for n in _NUMBER.findall(rest_text) if n not in context.numbers()]
    if numbers:
        problems.append(f"states numbers not in the facts: {', '.join(numbers)}")
        hallucinations.extend(numbers)
    known = {t.lower() for t in others}
    names = [n for n in _proper_names(rest_text, _allowed_words(context)) if n.lower() not in known]
    if names:
        problems.append(f"names things not in the facts: {', '.join(names)}")
        hallucinations.extend(names)
    return GroundingResult(
        ok=not problems,
        problems=tuple(problems),
        cited_tags=cited_t,
        unfaithful_tags=unfaithful_t,
        other_titles=tuple(others),
        title_present=title_present,
        artist_present=artist_present,
        contradictions=tuple(contradictions),
        hallucinations=tuple(hallucinations),
    )


def _sentence_at(text: str, pos: int) -> str:
    start = max(text.rfind(c, 0, pos) for c in ".!?") + 1
    ends = [i for i in (text.find(c, pos) for c in ".!?") if i >= 0]
    return text[start : min(ends) if ends else len(text)]


def _tempo_fact(context: ExplainContext) -> str:
    t = context.track
    if t.tempo_bpm is not None:
        prev = context.previous
        tail = f" vs {round(prev.tempo_bpm)} before" if prev is not None and prev.tempo_bpm is not None else ""
        return f"{round(t.tempo_bpm)} bpm{tail}"
    return t.tempo or "unknown"


_ALLOWED_WORDS = frozenset({"music", "video", "song", "track", "tempo", "bpm"})


def _allowed_words(context: ExplainContext) -> frozenset[str]:
    words = set(_ALLOWED_WORDS)
    for facts in (context.track, context.previous):
        if facts is not None:
            for name in (facts.title, facts.artist, facts.album):
                words.update(w.lower() for w in re.findall(r"[\w'’-]+", name))
    if context.request is not None:
        words.update(w.lower() for w in re.findall(r"[\w'’-]+", context.request.words))
    return frozenset(words)


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


_TEMPO_VOCAL_TAGS = frozenset({"fast", "slow", "vocal", "vocals", "no vocals", "no vocal", "no voice",
                               "instrumental", "singing", "voice"})  # fmt: skip


def template_explanation(track: TrackMeta, user_words: str = "", context: ExplainContext | None = None) -> str:
    """A deterministic explanation built only from the facts: grounded by construction (the check is run
    on it in the tests), and it says the request was met only when the facts say so."""
    context = context or ExplainContext(track=track)
    title, artist = track.title.strip(), track.artist.strip()
    tags = [t for t in track.norm_tags if t not in _TEMPO_VOCAL_TAGS]
    genres = [t for t in tags if t in _GENRES][:2]
    sounds = [t for t in tags if t not in _GENRES][:3]
    parts = [f'I suggest "{title}" by {artist}.']
    described: list[str] = []
    if track.tempo_bpm is not None:
        described.append(f"a {track.tempo}, {round(track.tempo_bpm)} bpm")
    elif track.tempo is not None:
        described.append(f"a {track.tempo}")
    else:
        described.append("a")
    vocals = track.has_vocals
    if vocals is not None:
        described.append("instrumental" if not vocals else "vocal")
    if genres:
        described.append(_join(genres))
    sentence = f"It is {' '.join(described)} track"
    if sounds:
        sentence += f" with {_join(sounds)}"
    prev = context.previous
    word = tempo_comparison(track, prev) if prev is not None else None
    if prev is not None and prev.tempo_bpm is not None and word is not None:
        sentence += f", {word} than \"{prev.title.strip()}\" at {round(prev.tempo_bpm)} bpm"
    if len(described) > 1 or sounds or prev is not None:
        parts.append(sentence + ".")
    if context.video is not None:
        v = context.video
        parts.append(f"The video has {v.pacing}, {v.movement} and {v.colour}.")
    if user_words.strip() and context.met is True:
        parts.append("That is in line with what you asked for.")
    return " ".join(parts)
