"""The model registry: which fusion model is live, where its checkpoint is, and what trained it."""
