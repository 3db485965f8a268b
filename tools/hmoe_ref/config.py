"""The model's hyper-parameters, under the field names of the authors' config.json.

A checkpoint trained with the authors' code carries a Hugging Face GPT-2 config.json
with their MoE fields added. We read the fields that define the computation, refuse
values we do not implement (naming the field), and ignore the rest (dropout rates,
architectures, ...), which do not change inference.
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Dict


class ConfigError(ValueError):
    """A config.json that is missing a field, has a bad value, or asks for an
    architecture variant this project does not implement."""


# Hugging Face's GPT2Config.attribute_map: some exports spell the fields this way.
_ALIASES = {
    "hidden_size": "n_embd",
    "num_hidden_layers": "n_layer",
    "num_attention_heads": "n_head",
    "max_position_embeddings": "n_positions",
}

# GPT-2 options that change the computation. Present with any other value: refused.
_MUST_EQUAL = {
    "activation_function": "gelu_new",
    "scale_attn_weights": True,
    "scale_attn_by_inverse_layer_idx": False,
    "reorder_and_upcast_attn": False,
    "add_cross_attention": False,
}


@dataclasses.dataclass
class HyperMoEConfig:
    vocab_size: int
    n_positions: int
    n_embd: int
    n_layer: int
    n_head: int
    n_experts: int
    k: int
    layer_norm_epsilon: float = 1e-5
    # HyperExpert. The authors' plain MoE is experts_embedding = use_hypernet = False.
    experts_embedding: bool = True
    use_hypernet: bool = True
    experts_embedding_dim: int = 128      # e
    process_dim: int = 128
    hypernet_input: int = 128
    hypernetwork_bottleneck: int = 128    # H
    layer_emb_dim: int = 10
    adapter_dim: int = 64                 # b

    @property
    def hyper(self) -> bool:
        """True when every MoE layer has a HyperExpert."""
        return self.experts_embedding and self.use_hypernet

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    def validate(self) -> "HyperMoEConfig":
        def positive(name):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ConfigError(f"config field '{name}' must be a positive integer, got {v!r}")

        for name in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "n_experts", "k"):
            positive(name)
        if self.n_embd % self.n_head != 0:
            raise ConfigError(f"n_embd ({self.n_embd}) is not a multiple of n_head ({self.n_head})")
        if self.k > self.n_experts:
            raise ConfigError(f"k ({self.k}) is larger than n_experts ({self.n_experts})")
        eps = self.layer_norm_epsilon
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not (0 < eps < 1):
            raise ConfigError(f"layer_norm_epsilon must be a number in (0, 1), got {eps!r}")
        for name in ("experts_embedding", "use_hypernet"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"config field '{name}' must be true or false, got {getattr(self, name)!r}")
        if self.experts_embedding != self.use_hypernet:
            raise ConfigError(
                f"experts_embedding={self.experts_embedding} with use_hypernet={self.use_hypernet} "
                "is not supported: the HyperExpert needs both (plain MoE sets both to false)")
        if self.hyper:
            if self.k == self.n_experts:
                raise ConfigError(
                    f"k ({self.k}) equals n_experts: no expert is left unselected to feed the HyperExpert")
            for name in ("experts_embedding_dim", "process_dim", "hypernet_input",
                         "hypernetwork_bottleneck", "layer_emb_dim", "adapter_dim"):
                positive(name)
        return self

    # --- JSON -------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, raw: Dict[str, Any]) -> "HyperMoEConfig":
        raw = dict(raw)
        for alias, name in _ALIASES.items():
            if alias in raw and name not in raw:
                raw[name] = raw[alias]
        for name, want in _MUST_EQUAL.items():
            if name in raw and raw[name] != want:
                raise ConfigError(f"config field '{name}' = {raw[name]!r} is not supported (only {want!r})")
        n_inner = raw.get("n_inner")
        if n_inner is not None and "n_embd" in raw and n_inner != 4 * raw["n_embd"]:
            raise ConfigError(f"config field 'n_inner' = {n_inner!r} is not supported (experts are 4 * n_embd wide)")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        missing = [n for n, f in fields.items()
                   if f.default is dataclasses.MISSING and n not in raw]
        if missing:
            raise ConfigError("config lacks required field(s): " + ", ".join(missing))
        return cls(**{n: raw[n] for n in fields if n in raw}).validate()

    def to_dict(self) -> Dict[str, Any]:
        d = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"],
             "activation_function": "gelu_new"}
        d.update(dataclasses.asdict(self))
        return d

    @classmethod
    def load(cls, path: str) -> "HyperMoEConfig":
        """Reads config.json (or the config.json inside a checkpoint folder)."""
        if os.path.isdir(path):
            path = os.path.join(path, "config.json")
        try:
            with open(path, encoding="utf-8") as f:
                raw = json.load(f)
        except FileNotFoundError:
            raise ConfigError(f"no config.json at '{path}'") from None
        except json.JSONDecodeError as e:
            raise ConfigError(f"'{path}' is not valid JSON: {e}") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"'{path}' does not hold a JSON object")
        try:
            return cls.from_dict(raw)
        except ConfigError as e:
            raise ConfigError(f"{path}: {e}") from None
        except TypeError as e:  # a field of the wrong JSON type reaching arithmetic
            raise ConfigError(f"{path}: {e}") from None

    def save(self, path: str) -> None:
        if os.path.isdir(path):
            path = os.path.join(path, "config.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=2, sort_keys=True)
            f.write("\n")
