"""Text-encoder contracts: one encoding per input text (token features for fusion, a pooled vector)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from musechat.contracts.features import FeatureMatrix

MAX_TEXT_CHARS = 2000

# One user utterance: non-blank and bounded, so one request cannot hold the tokenizer for long.
UserText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS, pattern=r"\S")]


class TextEncoding(BaseModel):
    """Rows of `tokens` are the real tokens ([CLS] ... [SEP]), no padding: the mask is all ones for
    `length` rows; pad to a batch's longest `length` and mask the rest."""

    tokens: FeatureMatrix = Field(description="[length, dim] float16 last-layer token features.")
    length: int = Field(ge=1, description="Tokens kept, including [CLS] and [SEP].")
    truncated: bool = Field(description="True when the text had more tokens than the encoder keeps.")
    pooled: list[float] = Field(description="Mean of the token features, L2-normalised (sentence embedding).")
    feature_model: str = Field(description="Version of the text model, e.g. '<model id>@<sha8>'.")

    @model_validator(mode="after")
    def _check_shape(self) -> TextEncoding:
        rows, dim = self.tokens.shape
        if rows != self.length:
            raise ValueError(f"tokens hold {rows} rows for length {self.length}")
        if len(self.pooled) != dim:
            raise ValueError(f"pooled has {len(self.pooled)} values, tokens have dim {dim}")
        return self


class TextEncoderInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    spec: str = Field(description="Encoder spec name, e.g. 'text_minilm_l6'.")
    feature_model: str
    dim: int
    max_tokens: int
    max_chars: int = MAX_TEXT_CHARS
