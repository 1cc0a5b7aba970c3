"""MusiCNN tag vocabularies and tag mentions in free text.

The paper's dialogues and explanations were written from MusiCNN's MagnaTagATune (MTT) and Million Song
Dataset (MSD) tags, so these 100 labels (88 distinct after lower-casing) are the vocabulary that the
grounding check scans explanations for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

MTT_TAGS: tuple[str, ...] = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano",
    "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male", "singing",
    "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman", "male vocal", "no vocal",
    "pop", "soft", "sitar", "solo", "man", "classic", "choir", "voice", "new age", "dance", "male voice",
    "female vocal", "beats", "harp", "cello", "no voice", "weird", "country", "metal", "female voice",
    "choral",
)  # fmt: skip
MSD_TAGS: tuple[str, ...] = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock", "soul",
    "indie rock", "mellow", "electronica", "80s", "folk", "90s", "chill", "instrumental", "punk", "oldies",
    "blues", "hard rock", "ambient", "acoustic", "experimental", "female vocalist", "guitar", "hip-hop",
    "70s", "party", "country", "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal",
    "progressive rock", "60s", "rnb", "indie pop", "sad", "house", "happy",
)  # fmt: skip

# Tags that say the same thing (MTT has several spellings of one concept) plus the surface forms an
# explanation naturally uses ("male vocals"). A mention is faithful when the track has any tag of the
# mention's group.
SYNONYM_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"vocal", "vocals", "singing", "voice", "vocalist", "vocalists", "singer"}),
    frozenset({"male", "man", "male vocal", "male voice", "male vocalists", "male vocals", "male vocalist",
               "male singer"}),
    frozenset({"female", "woman", "female vocal", "female voice", "female vocalists", "female vocalist",
               "female vocals", "female singer"}),
    frozenset({"no vocals", "no vocal", "no voice", "instrumental"}),
    frozenset({"classical", "classic"}),
    frozenset({"beat", "beats"}),
    frozenset({"choir", "choral"}),
    frozenset({"electronic", "electronica", "electro"}),
    frozenset({"chill", "chillout"}),
        frozenset({"drums", "drum"}),
    frozenset({"synth", "synths", "synthesizer"}),
)

def normalize_tag(tag: str) -> str:
    """Lower case, single spaces, hyphens as spaces ("Hip-Hop" and "hip hop" are one tag)."""
    return " ".join(tag.replace("-", " ").strip().lower().split())


TAG_VOCABULARY: frozenset[str] = frozenset(normalize_tag(t) for t in (*MTT_TAGS, *MSD_TAGS))


@dataclass(frozen=True)
class TagMention:
    surface: str  # the tag or alias as found in the text (lower case)
    start: int
    end: int


@lru_cache(maxsize=32)
def _mention_pattern(surfaces: frozenset[str]) -> re.Pattern[str]:
    # Longest first, so "male vocalists" wins over "male" and "no vocals" over "vocals".
    alternatives = sorted(surfaces, key=len, reverse=True)
    body = "|".join(re.escape(s).replace(r"\ ", r"[\s-]+") for s in alternatives)
    return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", re.IGNORECASE)


# Vocabulary words that explanations mostly use in their everyday sense ("it beats", "a classic", "a
# guitar solo"): scanning for them would flag sound text, so they are not treated as tag claims.
NOT_CLAIMS: frozenset[str] = frozenset({"beat", "beats", "classic", "solo"})


def surface_forms(vocabulary: Iterable[str]) -> frozenset[str]:
    forms = {normalize_tag(t) for t in vocabulary}
    for group in SYNONYM_GROUPS:
        if forms & group:
            forms |= group
    return frozenset(forms - NOT_CLAIMS)


def find_tag_mentions(text: str, vocabulary: Iterable[str] = TAG_VOCABULARY) -> list[TagMention]:
    """Non-overlapping tag mentions in `text`, longest match first, in text order."""
    pattern = _mention_pattern(surface_forms(vocabulary))
    return [TagMention(normalize_tag(m.group(0)), m.start(), m.end()) for m in pattern.finditer(text)]


def _group_of(surface: str) -> frozenset[str]:
    for group in SYNONYM_GROUPS:
        if surface in group:
            return group
    return frozenset({surface})


def mention_is_faithful(surface: str, track_tags: Iterable[str]) -> bool:
    """A mention is faithful if the track has the tag (or a synonym), or — for a compound such as
    "alternative rock" — every word of it is itself one of the track's tags."""
    tags = {normalize_tag(t) for t in track_tags}
    expanded = set().union(*(_group_of(t) for t in tags)) if tags else set()
    if surface in expanded or _group_of(surface) & tags:
        return True
    words = surface.split()
    return len(words) > 1 and all(w in expanded for w in words)
