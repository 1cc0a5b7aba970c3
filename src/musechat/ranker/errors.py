"""Ranking failures that callers map to HTTP answers (404 unknown ids, 409 a video not ready yet)."""

from __future__ import annotations

from musechat.errors import MuseChatError


class RankingError(MuseChatError):
    status = 400
    code = "bad_request"


class VideoNotFoundError(RankingError):
    status, code = 404, "video_not_found"


class VideoNotReadyError(RankingError):
    status, code = 409, "video_pending"


class VideoFailedError(RankingError):
    status, code = 422, "video_failed"


class TrackNotFoundError(RankingError):
    status, code = 404, "track_not_found"
