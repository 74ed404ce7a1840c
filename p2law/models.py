"""Model families: build a small config-defined causal LM, count its parameters, save and load.

Both families the paper studies (Llama-3, Qwen-2.5) are plain HF architectures, so the
embedded profile builds tiny members of the same classes and every later stage
(pruning, post-training, evaluation) treats tiny and hub checkpoints alike.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import (
    AutoModelForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    PretrainedConfig,
    PreTrainedModel,
    Qwen2Config,
    Qwen2ForCausalLM,
)

from p2law.families import MODEL_TYPES as MODEL_TYPES  # re-exported for existing importers
from p2law.families import family_of

FAMILIES: dict[str, tuple[type[PretrainedConfig], type[PreTrainedModel]]] = {
    "llama": (LlamaConfig, LlamaForCausalLM),
    "qwen2": (Qwen2Config, Qwen2ForCausalLM),
}


def build_config(
    family: str,
    *,
    vocab_size: int,
    hidden_size: int,
    num_layers: int,
    num_heads: int,
    num_kv_heads: int,
    intermediate_size: int,
    max_position_embeddings: int,
    bos_token_id: int | None = None,
    eos_token_id: int | None = None,
    pad_token_id: int | None = None,
) -> PretrainedConfig:
    """A config for a small causal LM of `family` with tied embeddings.

    Tied embeddings and a small vocab keep the embedding a minority of the parameters,
    so pruning rates over total parameters mean something at tiny scale.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown model family {family!r}: choose one of {sorted(FAMILIES)}")
    if hidden_size % num_heads:
        raise ValueError(f"hidden_size {hidden_size} is not divisible by num_heads {num_heads}")
    if num_heads % num_kv_heads:
        raise ValueError(f"num_heads {num_heads} is not divisible by num_kv_heads {num_kv_heads}")
    config_cls, _ = FAMILIES[family]
    config = config_cls(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_kv_heads,
        max_position_embeddings=max_position_embeddings,
        tie_word_embeddings=True,
        bos_token_id=bos_token_id,
        eos_token_id=eos_token_id,
        pad_token_id=pad_token_id,
        use_cache=False,
    )
    # Keep head_dim explicit: width pruning changes the head count, never the head size.
    config.head_dim = hidden_size // num_heads
    return config


def build_model(config: PretrainedConfig, seed: int) -> PreTrainedModel:
    """A freshly initialised model; the seed fixes the initial weights."""
    _, model_cls = FAMILIES[family_of(config)]
    torch.manual_seed(seed)
    model = model_cls(config)
    model.tie_weights()
    return model


def compute_device() -> torch.device:
    """Where pruning and evaluation run: the GPU when there is one (paper profile), else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def count_parameters(model: torch.nn.Module) -> dict[str, int]:
    """Total (tied embeddings once; norms and biases included) and non-embedding counts."""
    total = sum(p.numel() for p in model.parameters())  # parameters() de-duplicates ties
    embedding_params = {id(model.get_input_embeddings().weight)}
    output = model.get_output_embeddings()
    if output is not None:
        embedding_params.add(id(output.weight))
    embedding = sum(p.numel() for p in model.parameters() if id(p) in embedding_params)
    return {"total": total, "embedding": embedding, "nonemb": total - embedding}


def save_model(model: PreTrainedModel, directory: str | Path, also=None) -> None:
    """Save an HF checkpoint atomically: model.safetensors (the declared output) comes last.

    `also(folder)` writes extra files (2:4 masks) into the same staging folder, so they are
    in place before the weights file that marks the checkpoint as done.
    """
    from p2law.atomic import staged_dir

    with staged_dir(directory, last="model.safetensors") as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        if also is not None:
            also(tmp)


def load_model(directory: str | Path, dtype: torch.dtype = torch.float32) -> PreTrainedModel:
    """Load a checkpoint directory (a local path or, in the paper profile, a hub id).

    A local folder's weight files are checked first: a truncated file is refused with its
    name instead of failing inside safetensors with a message that names none.
    """
    from p2law.integrity import check_model_dir

    if Path(directory).is_dir():
        check_model_dir(directory)
    model = AutoModelForCausalLM.from_pretrained(str(directory), dtype=dtype)
    family_of(model)  # refuse unsupported architectures early, with a clear message
    return model
