"""Settings of the sentiment model (``[sentiment]`` in ``engagebot.toml``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

Precision = Literal["auto", "fp32", "bf16", "int8"]


class SentimentSettings(BaseModel):
    model: str = Field(
        default="default",
        description="'default' (offline, shipped) or a Hugging Face name / local path",
    )
    weights: Path | None = Field(
        default=None,
        description="delta file of the default model (default: the shipped one)",
    )
    batch_size: int = Field(default=64, ge=1)
    max_length: int = Field(default=128, ge=8, description="tokens per text; longer posts are truncated")
    threads: int | None = Field(default=None, description="torch threads; default: all cores")
    precision: Precision = Field(
        default="auto",
        description="auto: bf16 where the CPU has avx512_bf16/amx, else int8 for the default (validated), else fp32",
    )
    languages: list[str] = Field(
        default_factory=lambda: ["en"],
        description="languages the model covers ('*': multilingual); others: unsupported_language",
    )
    min_letters_to_detect: int = Field(
        default=30,
        description="posts with fewer letters are not language-detected (counted as English)",
    )
    chunk_size: int = Field(default=512, ge=1, description="posts scored and committed per chunk")
