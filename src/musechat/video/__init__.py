"""The video pipeline: video-submitted → video worker → video-encoder → video-encoded → `videos` collection."""
