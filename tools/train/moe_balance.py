"""The MoE load-balancing loss of the authors' gpt-2-moe (Shazeer et al.'s MoE layer).

loss = cv^2(importance) + cv^2(load) per layer, summed over layers, where cv^2 is
the squared coefficient of variation over the N experts of
  importance_j = sum over tokens of the gate probability of expert j
  load_j       = number of tokens that selected expert j.
Shazeer's noisy gating makes `load` differentiable through the noise; routing here has
no noise (it is what the runtime evaluates), so `load` is a count that carries no
gradient and `importance` uses the full softmax, which keeps every expert's gate
logit in the gradient, not only the k selected ones.

The reference model's router does not return these tensors, so BalanceLoss wraps each
layer's `route` method and records them during training forward passes.
"""

import torch


def cv_squared(x: torch.Tensor) -> torch.Tensor:
    """Squared coefficient of variation; 0 for a single value (as in Shazeer's code)."""
    x = x.float()
    if x.numel() == 1:
        return torch.zeros((), dtype=x.dtype)
    return x.var() / (x.mean() ** 2 + 1e-10)


class BalanceLoss:
    def __init__(self, model):
        self.model = model
        self.terms = []
        for block in model.transformer.h:
            self._wrap(block.mlp)

    def _wrap(self, moe):
        route = moe.route  # the bound method of the reference model

        def recording_route(x):
            gates, selected = route(x)
            if moe.training and torch.is_grad_enabled():
                probs = torch.softmax(x @ moe.w_gate, dim=-1)
                importance = probs.sum(dim=0)
                load = selected.sum(dim=0).to(probs.dtype)
                self.terms.append(cv_squared(importance) + cv_squared(load))
            return gates, selected

        moe.route = recording_route  # instance attribute: shadows the class method

    def take(self) -> torch.Tensor:
        """The summed loss of the forward passes since the last call; resets."""
        total = torch.stack(self.terms).sum() if self.terms else torch.zeros(())
        self.terms = []
        return total
