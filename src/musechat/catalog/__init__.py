"""The catalog pipeline: manifest → track-submitted → catalog worker → track-encoded → indexer → Qdrant."""
