"""The dataset writer: conversation turns + accepted feedback → quartet datasets for fusion training."""
