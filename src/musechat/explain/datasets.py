"""Where explanation examples come from: the quartet format (any dataset with conversation and
explanation texts, e.g. the synthetic fusion benchmark) or a small built-in generator for tests and
quick runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from musechat.explain.data import ExplanationExample, Turn

GENRE_TAGS = ("rock", "pop", "indie", "alternative", "electronic", "jazz", "folk", "metal", "ambient",
              "dance", "classical", "country", "funk", "blues", "soul")  # fmt: skip
FEATURE_TAGS = ("guitar", "piano", "drums", "synth", "strings", "violin", "male vocalists",
                "female vocalists", "no vocals", "fast", "slow", "mellow", "catchy", "acoustic", "happy",
                "sad")  # fmt: skip
_TITLE_A = ("Golden", "Midnight", "Silver", "Broken", "Electric", "Quiet", "Wild", "Paper", "Neon", "Hollow",
            "Velvet", "Distant", "Crimson", "Frozen", "Restless", "Summer")  # fmt: skip
_TITLE_B = ("Harbor", "Engine", "Lanterns", "Horizon", "Rivers", "Echoes", "Garden", "Satellite", "Parade",
            "Shoreline", "Letters", "Machines", "Compass", "Avenue", "Orchard", "Signal")  # fmt: skip
_FIRST = ("Weston", "Mara", "Jonah", "Elise", "Tobias", "Ines", "Caleb", "Noor", "Felix", "Ada", "Rowan",
          "Lena")  # fmt: skip
_LAST = ("Skaggs", "Lindqvist", "Okafor", "Brandt", "Moreau", "Hale", "Varga", "Castillo", "Reyes", "Novak",
         "Quinn", "Sato")  # fmt: skip
_ASKS = ("I'd like more {a}.", "Can we get something with {a}?", "Make it more {a}, please.",
         "I want {a} in it.", "Something with {a} would be better.")  # fmt: skip
_REFERENCES = (
    "I suggest {title} by {artist}. The song combines elements of {genres}. It features {features}, "
    "which align with your preferences.",
    "{title} by {artist} fits well: a {genres} track with {features}, just as you asked.",
    "Try {title} by {artist}. Its {genres} sound and its {features} match what you are looking for.",
    "How about {title} by {artist}? It blends {genres} and brings {features}, in line with your request.",
)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def synthetic_examples(
    n: int, seed: int = 0, *, feature_dim: int = 64, segments: int = 12
) -> list[ExplanationExample]:
    """Small (music features, metadata, words) → explanation examples from MusiCNN tags.

    The music features are a sum of fixed per-tag directions plus noise (one map for every seed), so the
    soft token carries the same information as the tags; references are paraphrased, not one template.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    world = np.random.default_rng(1234)
    directions = {t: world.standard_normal(feature_dim).astype(np.float32)
                  for t in (*GENRE_TAGS, *FEATURE_TAGS)}  # fmt: skip
    rng = np.random.default_rng(seed)
    out: list[ExplanationExample] = []
    for _ in range(n):
        genres = [str(g) for g in rng.choice(GENRE_TAGS, size=int(rng.integers(1, 4)), replace=False)]
        features = [str(f) for f in rng.choice(FEATURE_TAGS, size=int(rng.integers(1, 3)), replace=False)]
        tags = (*genres, *features)
        title = f"{rng.choice(_TITLE_A)} {rng.choice(_TITLE_B)}"
        artist = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        prev = f"{rng.choice(_TITLE_A)} {rng.choice(_TITLE_B)}"
        base = np.sum([directions[t] for t in tags], axis=0)
        music = base[None] + 0.5 * rng.standard_normal((segments, feature_dim)).astype(np.float32)
        ask = str(rng.choice(_ASKS)).format(a=features[0])
        ref = str(rng.choice(_REFERENCES)).format(
            title=title, artist=artist, genres=_join(genres), features=_join(features)
        )
        out.append(
            ExplanationExample(
                music_features=music.astype(np.float32),
                title=title,
                artist=artist,
                album="",
                tags=tags,
                user_words=ask,
                history=(Turn("assistant", f"I suggest {prev} by {rng.choice(_FIRST)} {rng.choice(_LAST)}."),),
                reference=ref,
            )
        )
    return out


def examples_from_quartets(
    path: str | Path, split: str = "train", limit: int | None = None
) -> list[ExplanationExample]:
    """Explanation examples from a quartet dataset (docs/fusion.md#quartet-format): the target track's
    music features and metadata, the user's words, the conversation before them, the explanation text."""
    from musechat.fusion.data import QuartetDataset, resolve_split

    ds = QuartetDataset(resolve_split(path, split))
    n = len(ds) if limit is None else min(limit, len(ds))
    out: list[ExplanationExample] = []
    for i in range(n):
        q = ds[i]
        if not q.explanation.strip():
            raise ValueError(f"quartet {q.quartet_id} in {path} has no explanation text")
        turns = [Turn("user" if t.get("role") == "user" else "assistant", str(t.get("text", "")))
                 for t in q.conversation]  # fmt: skip
        # The last user turn is the user's current words; the prompt shows it once.
        if turns and turns[-1].role == "user" and turns[-1].text == q.user_text:
            turns = turns[:-1]
        out.append(
            ExplanationExample(
                music_features=np.asarray(q.target, dtype=np.float32),
                title=q.target_meta.title,
                artist=q.target_meta.artist,
                album="",
                tags=tuple(q.target_meta.tags),
                user_words=q.user_text,
                history=tuple(turns),
                reference=q.explanation,
            )
        )
    return out


def quartet_titles(path: str | Path, split: str = "train") -> list[str]:
    """Every title a quartet dataset split knows (targets and first-turn candidates): the catalog an
    explanation must not name besides its own track."""
    from musechat.fusion.data import QuartetDataset, resolve_split

    ds = QuartetDataset(resolve_split(path, split))
    return sorted({r[k]["title"] for r in ds.records for k in ("target_meta", "candidate_meta")})
