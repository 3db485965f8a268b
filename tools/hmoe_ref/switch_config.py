"""The Switch Transformer HyperMoE hyper-parameters, under the field names of the
authors' config.json (Hugging Face's SwitchTransformersConfig plus their HyperMoE fields).

We read the fields that define the inference computation, with the defaults the
authors' code falls back to when a field is absent, refuse values we do not implement
or that make their code random or crash (naming the field and the reason), and ignore
the rest (dropout rates, loss coefficients, ...), which do not change inference.
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Dict

from .config import ConfigError

MODEL_TYPE = "switch_transformers"
ARCHITECTURE = "SwitchTransformersForConditionalGeneration"

# Hugging Face's SwitchTransformersConfig.attribute_map.
_ALIASES = {"hidden_size": "d_model", "num_attention_heads": "num_heads", "num_hidden_layers": "num_layers"}

# The HyperExpert's dimensions, and which of the two switches needs each: the generator
# and the adapter exist with use_hypernet, the expert embeddings with experts_embedding.
_HYPER_DIMS = {
    "experts_embedding_dim": "experts_embedding", "process_dim": "experts_embedding",
    "hypernet_input": "use_hypernet", "hypernetwork_bottleneck": "use_hypernet",
    "layer_emb_dim": "use_hypernet", "adapter_dim": "use_hypernet",
}


def _sparse_step(n_layers: int, n_sparse: int) -> int:
    """SwitchTransformersConfig's step: one sparse block every `step`; n_sparse = 0 gives
    step = n_layers (which, through the `i % step == 1` rule, still makes block 1 sparse)."""
    return n_layers // n_sparse if n_sparse > 0 else n_layers


@dataclasses.dataclass
class SwitchConfig:
    vocab_size: int
    d_model: int
    d_kv: int
    d_ff: int
    num_layers: int              # encoder blocks
    num_decoder_layers: int
    num_heads: int
    num_experts: int
    expert_capacity: int = 64
    # Effective steps: block i of a stack is sparse iff step > 0 and i % step == 1.
    encoder_sparse_step: int = 2
    decoder_sparse_step: int = 2
    router_bias: bool = False
    relative_attention_num_buckets: int = 32
    relative_attention_max_distance: int = 128
    layer_norm_epsilon: float = 1e-6
    tie_word_embeddings: bool = True
    decoder_start_token_id: int = 0
    pad_token_id: int = 0
    eos_token_id: int = 1
    # HyperMoE. The HyperExpert runs when both are true; use_hypernet alone builds the
    # generator and adapter modules but leaves the math plain.
    use_hypernet: bool = False
    experts_embedding: bool = False
    experts_embedding_dim: int = 0       # e
    process_dim: int = 0                 # P
    hypernet_input: int = 0              # I
    hypernetwork_bottleneck: int = 0     # Hb
    layer_emb_dim: int = 0               # le
    adapter_dim: int = 0                 # b

    @property
    def hyper(self) -> bool:
        """True when every sparse block adds its HyperExpert."""
        return self.use_hypernet and self.experts_embedding

    @property
    def inner_dim(self) -> int:
        return self.num_heads * self.d_kv

    def sparse_blocks(self, decoder: bool):
        """Indices of the sparse blocks of one stack."""
        step = self.decoder_sparse_step if decoder else self.encoder_sparse_step
        n = self.num_decoder_layers if decoder else self.num_layers
        return [i for i in range(n) if step > 0 and i % step == 1]

    def validate(self) -> "SwitchConfig":
        def integer(name, low):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ConfigError(f"config field '{name}' must be an integer >= {low}, got {v!r}")

        for name in ("vocab_size", "d_model", "d_kv", "d_ff", "num_layers", "num_decoder_layers",
                     "num_heads", "num_experts"):
            integer(name, 1)
        integer("expert_capacity", 1)  # 0 would drop every token; nobody trains that
        integer("encoder_sparse_step", 0)
        integer("decoder_sparse_step", 0)
        integer("relative_attention_num_buckets", 4)
        integer("relative_attention_max_distance", 1)
        nb, md = self.relative_attention_num_buckets, self.relative_attention_max_distance
        if md <= nb // 2:
            # The log-spaced buckets divide by log(max_distance / (num_buckets // 2)).
            raise ConfigError(f"relative_attention_max_distance ({md}) must exceed "
                              f"relative_attention_num_buckets // 2 ({nb // 2})")
        for name in ("decoder_start_token_id", "pad_token_id", "eos_token_id"):
            integer(name, 0)
            if getattr(self, name) >= self.vocab_size:
                raise ConfigError(f"config field '{name}' = {getattr(self, name)} is not below "
                                  f"vocab_size ({self.vocab_size})")
        eps = self.layer_norm_epsilon
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not (0 < eps < 1):
            raise ConfigError(f"layer_norm_epsilon must be a number in (0, 1), got {eps!r}")
        for name in ("router_bias", "tie_word_embeddings", "use_hypernet", "experts_embedding"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"config field '{name}' must be true or false, got {getattr(self, name)!r}")
        if self.experts_embedding and not self.use_hypernet:
            raise ConfigError("experts_embedding=true with use_hypernet=false is not supported: the authors' "
                              "code builds no adapter for the HyperExpert then and fails on the first forward")
        for name, needed_by in _HYPER_DIMS.items():
            if getattr(self, needed_by):
                integer(name, 1)
        if self.hyper and self.num_experts < 2:
            raise ConfigError(f"num_experts ({self.num_experts}) leaves no unselected expert to feed the HyperExpert")
        return self

    # --- JSON -------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, raw: Dict[str, Any]) -> "SwitchConfig":
        raw = dict(raw)
        for alias, name in _ALIASES.items():
            if alias in raw and name not in raw:
                raw[name] = raw[alias]
        _refuse_unsupported(raw)
        required = ("vocab_size", "d_model", "d_kv", "d_ff", "num_layers", "num_heads", "num_experts")
        missing = [n for n in required if n not in raw]
        if missing:
            raise ConfigError("config lacks required field(s): " + ", ".join(missing))
        if raw.get("num_decoder_layers") is None:
            raw["num_decoder_layers"] = raw["num_layers"]
        # The saved steps win (save_pretrained writes them and from_pretrained sets them
        # after the constructor computed its own); else the constructor's rule, with its
        # defaults of 3 sparse layers per stack.
        for stack, n_key in (("encoder", "num_layers"), ("decoder", "num_decoder_layers")):
            step_key, n_sparse_key = f"{stack}_sparse_step", f"num_sparse_{stack}_layers"
            if raw.get(step_key) is None:
                n, n_sparse = raw[n_key], raw.get(n_sparse_key, 3)
                for key, v in ((n_key, n), (n_sparse_key, n_sparse)):
                    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                        raise ConfigError(f"config field '{key}' must be an integer >= 0, got {v!r}")
                raw[step_key] = _sparse_step(n, n_sparse)
        if raw.get("decoder_start_token_id") is None:
            raw["decoder_start_token_id"] = raw.get("pad_token_id", 0)
        if raw.get("tie_word_embeddings") is None:
            raw["tie_word_embeddings"] = True  # PretrainedConfig's default: absent means tied
        missing = [f"{n} (needed with {by} true)" for n, by in _HYPER_DIMS.items()
                   if raw.get(by, False) is True and n not in raw]
        if missing:
            raise ConfigError("config lacks field(s): " + ", ".join(missing))
        for name, needed_by in _HYPER_DIMS.items():
            if not raw.get(needed_by, False):
                raw[name] = 0  # unused: written as 0 so nothing mistakes it for a model's
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{n: raw[n] for n in fields if n in raw}).validate()

    def to_dict(self) -> Dict[str, Any]:
        """A config.json the authors' code and Hugging Face's load as this model."""
        d: Dict[str, Any] = {
            "model_type": MODEL_TYPE, "architectures": [ARCHITECTURE], "is_encoder_decoder": True,
            "feed_forward_proj": "relu", "dense_act_fn": "relu", "is_gated_act": False,
            "router_dtype": "float32", "router_jitter_noise": 0.0, "router_ignore_padding_tokens": False,
            "use_fast_mode": False, "dropout_rate": 0.1, "initializer_factor": 1.0, "use_cache": True,
            "num_sparse_encoder_layers": len(self.sparse_blocks(False)),
            "num_sparse_decoder_layers": len(self.sparse_blocks(True)),
        }
        d.update(dataclasses.asdict(self))
        return d

    @classmethod
    def load(cls, path: str) -> "SwitchConfig":
        """Reads config.json (or the config.json inside a checkpoint folder)."""
        raw = read_config_json(path)
        try:
            return cls.from_dict(raw)
        except ConfigError as e:
            raise ConfigError(f"{_config_path(path)}: {e}") from None
        except TypeError as e:  # a field of the wrong JSON type reaching arithmetic
            raise ConfigError(f"{_config_path(path)}: {e}") from None

    def save(self, path: str) -> None:
        with open(_config_path(path), "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=2, sort_keys=True)
            f.write("\n")


def _refuse_unsupported(raw: Dict[str, Any]) -> None:
    """Config values whose computation we do not implement, each refused with its reason."""
    def bad(field, why):
        raise ConfigError(f"config field '{field}' = {raw.get(field)!r} is not supported: {why}")

    if raw.get("model_type", MODEL_TYPE) != MODEL_TYPE:
        bad("model_type", f"expected '{MODEL_TYPE}'")
    if raw.get("is_encoder_decoder", True) is not True:
        bad("is_encoder_decoder", "only the encoder-decoder model is implemented")
    # The authors' router jitters its input whenever the noise is > 0, at inference too
    # and in place (the experts and the HyperExpert see the jittered input): two runs of
    # the same model differ. Absent, the class default 0.01 applies.
    if "router_jitter_noise" not in raw:
        raise ConfigError("config lacks 'router_jitter_noise': the authors' code then uses 0.01, which makes "
                          "inference random; only 0 is supported")
    jitter = raw["router_jitter_noise"]
    if isinstance(jitter, bool) or not isinstance(jitter, (int, float)) or jitter != 0:
        bad("router_jitter_noise", "router jitter > 0 makes the authors' inference random (only 0)")
    if raw.get("use_fast_mode", False) is not False:
        bad("use_fast_mode", "only the default HyperExpert path (use_fast_mode false) is implemented")
    for field in ("feed_forward_proj", "dense_act_fn"):
        if field in raw and raw[field] != "relu":
            bad(field, "only 'relu' feed-forward blocks are implemented")
    if raw.get("router_dtype", "float32") != "float32":
        bad("router_dtype", "only the float32 router is implemented")
    if "num_selected_experts" in raw and raw["num_selected_experts"] != 1:
        bad("num_selected_experts", "the Switch router selects exactly 1 expert")


def _config_path(path: str) -> str:
    return os.path.join(path, "config.json") if os.path.isdir(path) else path


def read_config_json(path: str) -> Dict[str, Any]:
    """The raw JSON object of config.json (or of the one inside a checkpoint folder)."""
    path = _config_path(path)
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except FileNotFoundError:
        raise ConfigError(f"no config.json at '{path}'") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"'{path}' is not valid JSON: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"'{path}' does not hold a JSON object")
    return raw


def is_switch_config(raw: Dict[str, Any]) -> bool:
    """A Switch Transformer config, by model_type or by the architectures list."""
    archs = raw.get("architectures") or []
    return raw.get("model_type") == MODEL_TYPE or (
        isinstance(archs, list) and any(isinstance(a, str) and a.startswith("SwitchTransformers") for a in archs))

