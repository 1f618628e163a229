"""Settings of the sentiment model (``[sentiment]`` in ``engagebot.toml``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

Precision = Literal["auto", "fp32", "bf16", "int8", "onnx-int8"]


class SentimentSettings(BaseModel):
    model: str = Field(
        default="default",
        description="'default' (offline, shipped) or a Hugging Face name / local path",
    )
    weights: Path | None = Field(
        default=None,
        description="delta file of the default model (default: the shipped one)",
    )
    batch_size: int = Field(
        default=32, ge=1, description="texts per model call (32 measured fastest on a CPU, fp32 and int8)"
    )
    max_length: int = Field(default=128, ge=8, description="tokens per text; longer posts are truncated")
    threads: int | None = Field(
        default=None,
        description="CPU threads for scoring (ONNX Runtime or torch); default: the cores this process may use",
    )
    precision: Precision = Field(
        default="auto",
        description=(
            "auto: onnx-int8 (ONNX Runtime, int8 weights, one scale per token: a post scores the same in"
            " any batch) for a model whose int8 cost was validated (the default), else bf16 where the CPU"
            " has avx512_bf16/amx, else fp32; int8 is PyTorch's dynamic int8 (one text at a time)"
        ),
    )
    onnx_cache: Path | None = Field(
        default=None,
        description="where onnx-int8 keeps its built graphs (default: ~/.cache/engagebot/onnx)",
    )
    languages: list[str] = Field(
        default_factory=lambda: ["en"],
        description="languages the model covers ('*': multilingual); others: unsupported_language",
    )
    multilingual: bool = Field(
        default=True,
        description=(
            "with the default model: score the languages the multilingual model's card covers"
            " (de, fr, es, it, pt) with it; false: those stay unsupported_language"
        ),
    )
    multilingual_weights: Path | None = Field(
        default=None,
        description="delta file of the multilingual model (default: the shipped one)",
    )
    multilingual_languages: list[str] | None = Field(
        default=None,
        description="languages routed to the multilingual model (default: those its model card validates)",
    )
    second_opinion_weight: float = Field(
        default=0.4,
        ge=0.0,
        le=1.0,
        description=(
            "with the default model: the multilingual model's calibrated English averaged in at this"
            " weight where the English model is unsure (below second_opinion_gate); chosen on held-out"
            " general and unseen-airline tweets (the English card); 0: the English model alone"
        ),
    )
    second_opinion_gate: float = Field(
        default=0.6,
        gt=0.0,
        le=1.0,
        description="the English model's top probability below which the second opinion is asked",
    )
    multilingual_max_length: int = Field(
        default=96, ge=8, description="tokens per text for the multilingual model (XLM-R pieces)"
    )
    calibrate: bool = Field(
        default=True,
        description=(
            "apply the per-class logit bias chosen on held-out data for these weights"
            " (sentiment/weights/calibration.json); false: raw model outputs"
        ),
    )
    min_letters_to_detect: int = Field(
        default=30,
        description="posts with fewer letters are not language-detected (counted as English)",
    )
    chunk_size: int = Field(default=512, ge=1, description="posts scored and committed per chunk")
