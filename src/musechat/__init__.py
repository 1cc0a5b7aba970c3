"""MuseChat: conversational music recommendation for videos."""

__version__ = "0.1.0"
