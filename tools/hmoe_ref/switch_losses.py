"""The training loss of the authors' Switch Transformer HyperMoE (their vendored Hugging
Face SwitchTransformersForConditionalGeneration with `labels` and
`output_router_logits=True`, its default):

    loss = cross-entropy(logits, labels; positions labelled -100 ignored)
         + router_z_loss_coef   * (z(encoder) + z(decoder))
         + router_aux_loss_coef * (balance(encoder) + balance(decoder))

Per stack, the router outputs of its sparse blocks are concatenated along the sequence
(block order), [B, n_sparse * T, N], before either term is computed, as their
`_unpack_router_logits` does:
  z       = mean over every (row, position) of logsumexp(router logits)^2
  balance = N^2 * mean over rows and experts of
            (fraction of the row's positions routed to the expert)
            * (mean router probability of the expert over the row's positions)
The routed expert is the one after the capacity mask, a dropped token counting as
expert 0 (their argmax of an all-zero row); padding positions count too
(router_ignore_padding_tokens is false). Only the probabilities carry gradient.

The sparse blocks record their router outputs at each call (SparseMLP.last_router_logits
and last_routed_expert); `router_losses` reads the records of the last forward pass.
"""
from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F

from .switch_model import SwitchHyperMoE

IGNORE_INDEX = -100


def router_z_loss(router_logits: torch.Tensor) -> torch.Tensor:
    """router_logits [B, T, N] -> mean of logsumexp^2 over the B * T positions."""
    B, T, _ = router_logits.shape
    return (torch.logsumexp(router_logits, dim=-1) ** 2).sum() / (B * T)


def load_balancing_loss(router_probs: torch.Tensor, expert_index: torch.Tensor) -> torch.Tensor:
    """router_probs [B, T, N], expert_index [B, T] -> N^2 * mean(fraction * mean prob)."""
    n = router_probs.shape[-1]
    routed = F.one_hot(expert_index.long(), n).to(torch.float32)
    fraction = routed.mean(dim=-2)            # [B, N], no gradient
    mean_prob = router_probs.mean(dim=-2)     # [B, N]
    return (fraction * mean_prob).mean() * n ** 2


def _stack_records(model: SwitchHyperMoE, stack: str) -> Tuple[torch.Tensor, torch.Tensor]:
    mlps = [m for name, m in model.sparse_mlps().items() if name.startswith(stack + ".")]
    if not mlps or any(m.last_router_logits is None for m in mlps):
        raise ValueError(f"no router outputs recorded in the {stack}: run a forward pass first")
    logits = torch.cat([m.last_router_logits for m in mlps], dim=1)
    experts = torch.cat([m.last_routed_expert for m in mlps], dim=1)
    return logits, experts


def router_losses(model: SwitchHyperMoE) -> Tuple[torch.Tensor, torch.Tensor]:
    """(z loss, load-balancing loss), each summed over the encoder and the decoder, of the
    model's last forward pass."""
    z, balance = torch.zeros(()), torch.zeros(())
    for stack in ("encoder", "decoder"):
        logits, experts = _stack_records(model, stack)
        z = z + router_z_loss(logits)
        balance = balance + load_balancing_loss(torch.softmax(logits, dim=-1), experts)
    return z, balance


def shift_right(labels: torch.Tensor, decoder_start_token_id: int, pad_token_id: int) -> torch.Tensor:
    """Teacher forcing's decoder input: the start token, then the labels but the last,
    ignored positions (-100) read as padding."""
    out = labels.new_zeros(labels.shape)
    out[:, 1:] = labels[:, :-1]
    out[:, 0] = decoder_start_token_id
    return out.masked_fill(out == IGNORE_INDEX, pad_token_id)


def seq2seq_loss(model: SwitchHyperMoE, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                 labels: torch.Tensor, z_coef: float, aux_coef: float):
    """One teacher-forced pass -> (total loss, cross-entropy, z loss, balance loss).
    labels [B, T]: target ids ending in eos, padded with -100."""
    cfg = model.config
    decoder_input_ids = shift_right(labels, cfg.decoder_start_token_id, cfg.pad_token_id)
    logits = model(input_ids, decoder_input_ids, attention_mask)
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=IGNORE_INDEX)
    z, balance = router_losses(model)
    return ce + z_coef * z + aux_coef * balance, ce, z, balance
