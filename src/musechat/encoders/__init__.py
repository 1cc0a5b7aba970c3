"""Encoders: audio, video and text models behind small typed APIs."""
