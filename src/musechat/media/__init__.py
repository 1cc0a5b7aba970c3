"""Media decoding (audio now; video frames live beside it). Heavy imports (PyAV) stay inside functions."""
