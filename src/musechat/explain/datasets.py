"""Where explanation examples come from: the quartet format (any dataset with conversation and
explanation texts, e.g. the synthetic fusion benchmark) or a small built-in generator for tests and
quick runs."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from musechat.explain.data import ExplanationExample, TrackMeta, Turn
from musechat.explain.facts import VideoFacts, tempo_comparison
from musechat.explain.prompt import ANSWER_OPENERS

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


# ------------------------------------------------------------------------------------- facts examples
# The default adapter's data: prompts with measured facts (tempo, vocals, length, sounds), a previous
# pick, a video and a request, and references that state only facts the prompt holds, in many styles,
# saying "as you asked" only when the request was met. Titles and artists are drawn from word lists
# wider than any one catalog's, so the adapter copies names from the prompt instead of memorising them.
_FX_ADJ = (*_TITLE_A, "Northern", "Bright", "Amber", "Lunar", "Hidden", "Open", "Rusty", "Gentle", "Iron",
           "Blue", "Last", "Early", "Salt", "Ivory", "Copper", "Morning")  # fmt: skip
_FX_NOUN = (*_TITLE_B, "Tides", "Mirrors", "Highway", "Embers", "Gardens", "Canyon", "Comets", "Meadow",
            "Static", "Glass", "Hollow", "Lights", "Streets", "Waves", "Fields", "Towers", "Roads")  # fmt: skip
_FX_FIRST = (*_FIRST, "Milo", "Rosa", "Theo", "Nia", "Otis", "Luz", "Ivan", "June", "Kai", "Aria", "Sol")
_FX_LAST = (*_LAST, "Marlow", "Lindgren", "Hart", "Tanaka", "Vale", "Ferreira", "Ito", "Kowalski", "Dumas")
_FX_GENRES = ("rock", "pop", "indie", "electronic", "jazz", "folk", "ambient", "dance", "classical", "funk",
              "soul", "blues")  # fmt: skip
_FX_SOUNDS = ("guitar", "piano", "drums", "synth", "strings", "violin", "acoustic", "mellow", "catchy",
              "happy", "sad", "beautiful", "cello", "flute", "harp")  # fmt: skip
_FX_ASKS = {
    "faster": ("Faster, please.", "Something faster?", "Can you speed it up?", "More energy, please.",
               "Too slow, pick up the pace."),
    "slower": ("Something calmer.", "Slower, please.", "Too fast, slow it down.", "Can it be more relaxed?",
               "I want something gentler."),
    "no vocals": ("No vocals, please.", "Instrumental only.", "Without singing, please.", "No voices."),
    "vocals": ("With vocals this time.", "I'd like a singer.", "Something with singing."),
    "tag": ("More {t}, please.", "Can we get some {t}?", "I want {t} in it.", "Something with {t}."),
}  # fmt: skip
# Praise that presents the pick as a match: a claim, so only where the request is not known to be unmet
# (the first default adapter learnt "is a good match" on unmet requests from an unconditional opener).
_MATCH_OPENERS = ("{T} by {A} is a good match.", '"{T}" by {A} is a good fit.')


def _opener(rng: random.Random, t: TrackMeta, met: bool | None) -> str:
    openers = ANSWER_OPENERS if met is False else (*ANSWER_OPENERS, *_MATCH_OPENERS)
    return rng.choice(openers).format(T=t.title, A=t.artist)
_ASK_TAILS = ("as you asked", "just as you asked", "in line with what you asked for", "as requested",
              "which is what you asked for", "matching your request")  # fmt: skip


def _fx_body(rng: random.Random, t: TrackMeta, prev: TrackMeta | None, video: VideoFacts | None,
             met: bool | None) -> str:
    bits: list[str] = []
    if t.tempo_bpm is not None:
        bpm = round(t.tempo_bpm)
        bits.append(rng.choice((f"it runs at {bpm} bpm", f"it is {t.tempo} at {bpm} bpm",
                                f"its tempo is {bpm} bpm", f"it moves at a {t.tempo} {bpm} bpm")))
    if t.has_vocals is not None:
        bits.append(rng.choice(("it is instrumental", "it has no vocals")) if not t.has_vocals
                    else rng.choice(("it has vocals", "it features vocals", "it has a singer")))
    sounds = [s for s in t.norm_tags if s not in ("fast", "slow", "vocals", "no vocals", "instrumental")]
    if sounds:
        picked = sounds[: rng.randint(1, min(3, len(sounds)))]
        bits.append(rng.choice(("it brings {s}", "it features {s}", "you hear {s}", "it is built on {s}",
                                "it leans on {s}")).format(s=_join(picked)))
    word = tempo_comparison(t, prev) if prev is not None else None
    if prev is not None and prev.tempo_bpm is not None and word is not None and rng.random() < 0.7:
        # Not by name (the first default adapter garbled the previous title in 3 % of its answers) nor by
        # its tempo (copied next to "faster", 77 bpm came out as 79, and read as this track's tempo).
        bits.append(rng.choice((f"it is {word} than the previous pick", f"it is {word} than the last one")))
    if video is not None and rng.random() < 0.6:
        labels = [lab for lab in video.labels() if lab not in ("mid-lit", "neutral colours", "some motion")]
        if labels:
            chosen = _join(labels[: rng.randint(1, min(2, len(labels)))])
            bits.append(rng.choice((f"it suits a video with {chosen}", f"it goes with the video's {chosen}",
                                    f"the video has {chosen}")))
    rng.shuffle(bits)
    bits = bits[: rng.randint(min(2, len(bits)), min(4, len(bits)))] if bits else []
    body = ""
    if bits:
        joined = bits[0] if len(bits) == 1 else f"{', '.join(bits[:-1])} and {bits[-1]}"
        body = joined[0].upper() + joined[1:]
    if met is True:
        body = (body + ", " if body else "It is ") + rng.choice(_ASK_TAILS)
    return body + "." if body else ""


def facts_examples(n: int, seed: int = 0, *, feature_dim: int = 64, segments: int = 12) -> list[ExplanationExample]:
    """`n` examples in the facts format of `prompt.build_prompt` (see the comment above)."""
    from musechat.explain.facts import RequestFacts, request_met

    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    world = np.random.default_rng(1234)
    directions = {t: world.standard_normal(feature_dim).astype(np.float32) for t in (*_FX_GENRES, *_FX_SOUNDS)}
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    out: list[ExplanationExample] = []

    def track() -> TrackMeta:
        tags = (*rng.sample(_FX_GENRES, rng.randint(0, 2)), *rng.sample(_FX_SOUNDS, rng.randint(1, 3)))
        return TrackMeta(
            title=f"{rng.choice(_FX_ADJ)} {rng.choice(_FX_NOUN)}",
            artist=f"{rng.choice(_FX_FIRST)} {rng.choice(_FX_LAST)}",
            tags=tags, tempo_bpm=float(rng.randint(60, 175)) if rng.random() < 0.85 else None,
            vocals=rng.choice((True, False)) if rng.random() < 0.85 else None,
            duration_s=float(rng.randint(20, 320)) if rng.random() < 0.7 else None,
        )  # fmt: skip

    while len(out) < n:
        t = track()
        prev = track() if rng.random() < 0.7 else None
        if prev is not None and prev.title == t.title:
            continue
        video = None
        if rng.random() < 0.6:
            video = VideoFacts(cuts_per_min=round(rng.uniform(0, 30), 1), motion=rng.uniform(0, 0.15),
                               brightness=rng.uniform(0.1, 0.9), warmth=rng.uniform(-0.2, 0.2),
                               saturation=rng.uniform(0, 1))  # fmt: skip
        words = ""
        if prev is not None:
            kind = rng.choice(list(_FX_ASKS))
            words = rng.choice(_FX_ASKS[kind]).format(t=rng.choice(("piano", "guitar", "strings", "synth", "drums")))
        met = request_met(RequestFacts.from_words(words), t, prev) if words else None
        reference = f"{_opener(rng, t, met)} {_fx_body(rng, t, prev, video, met)}".strip()
        base = np.sum([directions[x] for x in t.tags if x in directions], axis=0)
        music = base[None] + 0.5 * nrng.standard_normal((segments, feature_dim)).astype(np.float32)
        out.append(ExplanationExample(
            music_features=music.astype(np.float32), title=t.title, artist=t.artist, album="", tags=t.tags,
            user_words=words, reference=reference, tempo_bpm=t.tempo_bpm, vocals=t.vocals, duration_s=t.duration_s,
            previous=prev, video=video,
        ))  # fmt: skip
    return out


def contradiction_examples(n: int, seed: int = 0) -> list[ExplanationExample]:
    """Examples whose request the track does not meet ("Faster" for a slower track, "No vocals" for a
    sung one, "More piano" without piano): saying "as you asked" or echoing the request contradicts."""
    from musechat.explain.facts import RequestFacts, request_met

    out: list[ExplanationExample] = []
    batch = 0
    while len(out) < n:
        for ex in facts_examples(4 * n, seed=seed + batch):
            if ex.user_words and request_met(RequestFacts.from_words(ex.user_words), ex.track, ex.previous) is False:
                out.append(ex)
        batch += 1
    return out[:n]


def world_examples(video: VideoFacts | None = None, seed: int = 0) -> list[ExplanationExample]:
    """One example per track of the demo world (`demo.world.track_recipes`: 4 instruments x 3 tempo bands x
    vocals or not x 3 variants), shaped like the demo's turns: the first pick from the video alone, then
    "Faster, please." / "No vocals, please." after another world track. Facts as the catalog measures them
    (tempo, vocals, length, the instrument); `video`: facts measured on a rendered demo video."""
    from musechat.demo.world import track_recipes
    from musechat.explain.facts import RequestFacts, request_met

    rng = random.Random(seed)
    recipes = track_recipes()
    metas = [TrackMeta(title=r.title, artist=r.artist, album=r.album, track_id=r.track_id,
                       tags=(r.instrument, *(("drums",) if r.drums else ())), tempo_bpm=r.bpm, vocals=r.vocals,
                       duration_s=r.seconds) for r in recipes]  # fmt: skip
    out: list[ExplanationExample] = []
    for i, t in enumerate(metas):
        turn = i % 3
        prev = None if turn == 0 else metas[rng.randrange(len(metas))]
        if prev is not None and prev.title == t.title:
            prev = metas[(i + 1) % len(metas)]
        words = ("", "Faster, please.", "No vocals, please.")[turn]
        met = request_met(RequestFacts.from_words(words), t, prev) if words else None
        reference = f"{_opener(rng, t, met)} {_fx_body(rng, t, prev, video, met)}".strip()
        out.append(ExplanationExample(
            music_features=np.zeros((1, 64), dtype=np.float32), title=t.title, artist=t.artist, album=t.album,
            tags=t.tags, user_words=words, reference=reference,
            tempo_bpm=t.tempo_bpm, vocals=t.vocals, duration_s=t.duration_s, previous=prev, video=video,
        ))  # fmt: skip
    return out


# Requests a real catalog's user makes (the real-music suite's request classes plus tempo and vocals).
_CATALOG_ASKS = (*_FX_ASKS["faster"][:3], *_FX_ASKS["slower"][:3], *_FX_ASKS["no vocals"][:2],
                 "More strings, please.", "Something electronic.", "Heavy metal, please.", "More guitar.",
                 "Calm ambient music.", "Orchestral music, please.", "No synth, please.")  # fmt: skip


def catalog_examples(payloads: list[dict], video: VideoFacts | None = None, seed: int = 0,
                     per_track: int = 2) -> list[ExplanationExample]:
    """`per_track` examples per track of a real catalog (`tracks` point payloads with measured `facts`,
    read the way the gateway reads them: calibrated tag thresholds, tempo confidence, vocals probability):
    a first pick from the video alone, then requests after another of the catalog's tracks."""
    from musechat.explain.facts import RequestFacts, facts_from_payload, request_met

    if len(payloads) < 2:
        raise ValueError("a catalog example needs at least 2 tracks (one is the previous pick)")
    rng = random.Random(seed)
    metas = [facts_from_payload(p) for p in payloads]
    out: list[ExplanationExample] = []
    for turn in range(per_track):
        for i, t in enumerate(metas):
            prev = None if turn == 0 else metas[(i + rng.randrange(1, len(metas))) % len(metas)]
            words = "" if prev is None else rng.choice(_CATALOG_ASKS)
            met = request_met(RequestFacts.from_words(words), t, prev) if words else None
            reference = f"{_opener(rng, t, met)} {_fx_body(rng, t, prev, video, met)}".strip()
            out.append(ExplanationExample(
                music_features=np.zeros((1, 64), dtype=np.float32), title=t.title, artist=t.artist,
                album=t.album, tags=t.tags, user_words=words, reference=reference, tempo_bpm=t.tempo_bpm,
                vocals=t.vocals, duration_s=t.duration_s, previous=prev, video=video,
            ))  # fmt: skip
    return out
