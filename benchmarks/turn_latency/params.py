"""The turn-latency benchmark's fixed parameters: model widths, the load's phrases, the target."""

from __future__ import annotations

import itertools

BUILD_FORMAT = 4  # 2: the engine's collection is int8-quantized (the store default); 3: the `vocals` flag;
# 4: features in the `track_features` collection, out of the `tracks` payload
MUSIC_DIM = 464  # music-ast-tiny's feature width (the embedded default music encoder)
VIDEO_DIM = 32  # video_clip_tiny's feature width (the gateway's default `videos` vector width)
TEXT_DIM = 384  # all-MiniLM-L6-v2
VIDEO_ID = "bench-video"
LIMIT = 5  # the API's default number of tracks per turn
TURNS_PER_CONVERSATION = 8
CLIENT_TIMEOUT_S = 120.0
TARGET_P99_MS = 50.0
TARGET_CLIENTS = 10
TARGET_REPEATS = 3
BATCH_STAGE = TARGET_CLIENTS  # the stage table's batched rows: one turn from each of the target's clients
TURN_ROUTE = "/v1/conversations/{conversation_id}/turns"
PHRASES = (
    "Slower, please.",
    "More guitar and a male voice.",
    "No vocals, please.",
    "Something more upbeat.",
    "Can you find something calmer?",
    "I'd like some piano in it.",
    "Less electronic, more acoustic.",
    "A bit darker and moodier.",
    "Under 3 minutes, please.",
    "Add a female singer.",
    "Faster, with more drums.",
    "Same vibe but more indie.",
)
# Cache-miss pass: every sentence distinct (20 x 20 x 10 = 4000), no numbers (they would add filters).
_OPENERS = ("Hmm,", "Okay,", "Nice, but", "Not bad, but", "Close,", "Good start,", "Almost,", "Cool, but",
            "Interesting,", "Well,", "Right,", "Sure, but", "Fine, but", "Honestly,", "Alright,", "Oh,",
            "Decent, but", "Great, though", "Hm, okay,", "So,")
_BODIES = ("make it slower", "add more guitar", "try a brighter sound", "go more acoustic", "bring in strings",
           "lean into synths", "make it dreamier", "give it more punch", "try something jazzier",
           "make it more cinematic", "soften the drums", "add a warm piano", "go for a folk feel",
           "make it feel happier", "try a darker mood", "give it a dance beat", "go more ambient",
           "add some violin", "make it rockier", "try a lo-fi vibe")
_CLOSERS = ("please.", "if you can.", "for this scene.", "for the ending.", "thanks.", "maybe?", "ideally.",
            "for the intro.", "this time.", "if possible.")


def unique_phrases() -> list[str]:
    return [f"{a} {b} {c}" for a, b, c in itertools.product(_OPENERS, _BODIES, _CLOSERS)]
