"""The fusion-ranker core: MVT-Fusion query tower + filtered ANN search over the `tracks` collection."""
