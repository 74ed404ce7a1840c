"""The model families p2law supports, keyed by an HF config's model_type.

Kept free of torch and transformers: the config check at every workflow start needs them.
"""

from __future__ import annotations

# model_type in an HF config -> our family name
MODEL_TYPES = {"llama": "llama", "qwen2": "qwen2"}


def family_of(model_or_config) -> str:
    config = getattr(model_or_config, "config", model_or_config)
    model_type = getattr(config, "model_type", None)
    if model_type not in MODEL_TYPES:
        raise ValueError(
            f"unsupported model type {model_type!r}: p2law supports {sorted(MODEL_TYPES)}"
        )
    return MODEL_TYPES[model_type]
