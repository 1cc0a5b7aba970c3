"""The gateway's routes, one router per resource (catalog tracks, videos, conversations); `create_app`
only wires them."""

from musechat.gateway.routers import conversations, explanations, tracks, videos

ROUTERS = (tracks.router, videos.router, conversations.router, explanations.router)

__all__ = ["ROUTERS"]
