"""The smallest Llama the package builds: for tests of writers and checks, not of learning."""

from p2law.models import build_config, build_model


def tiny_llama_config():
    return build_config("llama", vocab_size=64, hidden_size=8, num_layers=2, num_heads=2,
                        num_kv_heads=1, intermediate_size=16, max_position_embeddings=16)


def tiny_llama():
    return build_model(tiny_llama_config(), seed=0)
