"""The one error request understanding raises on purpose: words that contradict themselves."""

from __future__ import annotations

from musechat.contracts.request import RequestConflict
from musechat.errors import MuseChatError


class RequestConflictError(MuseChatError):
    """One utterance asks opposite things of one attribute ("faster and slower", "no vocals but a female
    singer"): a 422 that names the attribute and both readings, so the user can say which one they meant.
    Across turns this never happens: a later turn replaces what an earlier one asked."""

    status = 422
    code = "conflicting_request"

    def __init__(self, conflict: RequestConflict) -> None:
        super().__init__(f"the words ask for both {conflict.first!r} and {conflict.second!r} "
                         f"({conflict.attribute}): say which one you mean")
        self.conflict = conflict
