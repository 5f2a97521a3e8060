"""Training: K trials of the fixed protocol trained side by side, as one batched network.

`train(protocols, data, device)` takes configs and tensors and returns each trial's per-epoch
history; it does no I/O. The K models' parameters are stacked and run as one network (grouped
convolutions and batched matmuls, or torch.func.vmap), K = 1 included, so that one code path
serves every group size and device. Each model keeps its own seed, its own shuffle order, its own
ε and its own metrics, and one Adam over the stacked parameters is K independent Adams (Adam is
elementwise and the summed loss gives each model its own gradient).
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch.func import functional_call, stack_module_state, vmap

from .data import Cifar, normalize
from .model import SimpleCNN, grouped_forward, init_model
from .protocol import Protocol
from .runtime import math_mode

EVAL_BATCH = 250  # larger eval batches run slower on CPU (cache)


def smoothed_cross_entropy(logits: torch.Tensor, target: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """CrossEntropyLoss(label_smoothing=ε) with a per-model ε: logits (K, B, C), target (K, B), eps (K,) -> (K,).

    The smoothed target puts 1 - ε + ε/C on the true class and ε/C elsewhere, so the loss is
    (1 - ε) * NLL + ε * mean over classes of -log p.
    """
    logp = _wide(logits).log_softmax(-1)
    nll = -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    uniform = -logp.mean(-1)
    eps = eps.view(-1, 1)
    return ((1 - eps) * nll + eps * uniform).mean(-1)


def _wide(x: torch.Tensor) -> torch.Tensor:
    """Losses in float32 at least: bf16 logits are widened, float64 ones kept."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


# How the K models run as one. `sweep bench` compares them; on CPU grouped is the faster.
ENGINES = ("grouped", "vmap")


class Stack:
    """K SimpleCNNs as one: `logits(x)` maps (K, B, 32, 32, 3) channels-last images to (K, B, 10).

    Every K, 1 included, keeps its parameters stacked (leading dim K, default contiguous layout),
    so the parameters, their gradients and Adam's state have one layout on every device and for
    every group size, and a checkpoint resumes in a group of any size. "grouped" runs
    `grouped_forward` (grouped convs and batched matmuls); "vmap" maps the module over the stack.
    """

    def __init__(self, seeds: Sequence[int], device: torch.device, engine: str = "grouped",
                 dtype: torch.dtype = torch.float32, compile: bool = False):
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
        if compile and engine != "grouped":
            raise ValueError("compile applies to the grouped engine")
        # The training forward (and so its backward) through torch.compile: one graph per batch shape, the
        # last partial batch included; evaluation stays eager, so that it adds no graphs.
        self._train_forward = torch.compile(grouped_forward) if compile else grouped_forward
        params, _ = stack_module_state([init_model(s) for s in seeds])
        self.k, self.engine, self.dtype = len(seeds), engine, dtype
        self.params = {n: p.detach().to(device, dtype).contiguous().requires_grad_() for n, p in params.items()}
        if engine == "vmap":
            self.module = SimpleCNN().to("meta")
            call = lambda p, x: functional_call(self.module, p, (x,))  # noqa: E731
            self._train_call = vmap(call)
            self._shared_call = vmap(call, in_dims=(0, None))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Each model on its own images: (K, B, 32, 32, 3) channels-last images (see `prepared`) -> (K, B, 10)."""
        if self.engine == "grouped":
            k, b, h, w, c = x.shape
            # (B, K*3, 32, 32) in channels_last, model k on channels 3k..3k+2: one copy, none at all for K = 1.
            x = x.permute(1, 2, 3, 0, 4).reshape(b, h, w, k * c).permute(0, 3, 1, 2)
            return self._train_forward(self.params, x)
        return self._train_call(self.params, x.permute(0, 1, 4, 2, 3))

    def logits_shared(self, x: torch.Tensor) -> torch.Tensor:
        """Every model on the same images: (B, 32, 32, 3) channels-last images -> (K, B, 10)."""
        x = x.permute(0, 3, 1, 2)
        if self.engine == "grouped":
            return self._grouped(x.repeat(1, self.k, 1, 1) if self.k > 1 else x)
        return self._shared_call(self.params, x)

    def _grouped(self, x: torch.Tensor) -> torch.Tensor:
        # channels_last: oneDNN's and cuDNN's fast layout for these convs and pools.
        return grouped_forward(self.params, x.contiguous(memory_format=torch.channels_last))

    def load(self, states: Sequence[dict[str, torch.Tensor]]) -> None:
        with torch.no_grad():
            for n, p in self.params.items():
                p.copy_(torch.stack([s[n] for s in states]))


@dataclass
class Checkpoint:
    """Everything needed to continue a trial after `epoch` finished epochs, on any device."""

    epoch: int
    model: dict  # SimpleCNN state_dict
    adam: dict  # {"step": float, "exp_avg": {name: tensor}, "exp_avg_sq": {name: tensor}}
    shuffle_rng: torch.Tensor  # torch.Generator state for the next epoch's permutation
    history: list  # per-epoch metrics so far

    def as_dict(self) -> dict:
        return self.__dict__.copy()


EpochCallback = Callable[[int, list[list[dict]], Callable[[int], Checkpoint]], None]


def train(protocols: Sequence[Protocol], data: Cifar, device: torch.device | str,
          resume: Sequence[Checkpoint | None] | None = None,
          on_epoch: EpochCallback | None = None, engine: str = "grouped",
          dtype: torch.dtype = torch.float32, compile: bool = False) -> list[list[dict]]:
    """Train the protocols (same epochs, batch size, lr, precision) together; one history per trial.

    `data` must already be on `device`. `resume[k]` continues trial k from a checkpoint; all
    resumed trials of one call must be at the same epoch. `on_epoch(epoch, histories, checkpoint)`
    is called after each epoch; `checkpoint(k)` builds trial k's Checkpoint on demand.
    `engine` picks how the K models run (see `Stack`); `dtype` is float32 but for tests that must
    compare paths without rounding in the way (float64). `compile` runs the training step through
    torch.compile: the same function, fused differently, so equal up to rounding.
    """
    device = torch.device(device)
    p0 = protocols[0]
    shared = p0.study_attrs()
    if any(p.study_attrs() != shared for p in protocols):
        raise ValueError("trials trained together must share every protocol field but ε and seed")
    resume = list(resume) if resume is not None else [None] * len(protocols)
    starts = {c.epoch if c else 0 for c in resume}
    if len(starts) != 1:
        raise ValueError("trials trained together must resume from the same epoch")
    start = starts.pop()

    stack = Stack([p.seed for p in protocols], device, engine, dtype, compile)
    # The fused kernel on every device: one Adam implementation, on CPU as on CUDA.
    opt = torch.optim.Adam(list(stack.params.values()), lr=p0.lr, fused=True)
    gens = [torch.Generator().manual_seed(p.seed) for p in protocols]
    histories: list[list[dict]] = [[] for _ in protocols]
    if start:
        stack.load([c.model for c in resume])
        opt.load_state_dict(_stacked_adam_state(opt, stack, resume))
        for g, c in zip(gens, resume):
            g.set_state(c.shuffle_rng)
        histories = [list(c.history) for c in resume]

    eps = torch.tensor([p.label_smoothing for p in protocols], device=device)
    autocast = (torch.autocast(device.type, dtype=torch.bfloat16) if p0.precision == "bf16" else nullcontext())
    # Stored in the dtype the first convolution computes in: autocast would round them to bf16 there anyway.
    images = lambda x: prepared(x, torch.bfloat16 if p0.precision == "bf16" else dtype)  # noqa: E731
    eval_idx = train_eval_indices(len(data.train_y), p0.train_eval_size, device)
    train_x, test_x = images(data.train_x), images(data.test_x)
    eval_x = train_x[eval_idx]

    host: dict[int, Callable[[int], tuple[dict, dict]]] = {}  # per epoch: every trial's state, copied once

    def checkpoint(k: int) -> Checkpoint:
        epoch = len(histories[k])
        if epoch not in host:
            host.clear()
            host[epoch] = _host_states(opt, stack)
        model, adam = host[epoch](k)
        return Checkpoint(epoch=epoch, model=model, adam=adam, shuffle_rng=gens[k].get_state(),
                          history=list(histories[k]))

    with math_mode(device, p0.precision):
        for epoch in range(start, p0.epochs):
            t0 = time.perf_counter()
            running = _train_epoch(stack, opt, train_x, data.train_y, gens, eps, p0.batch_size, autocast, device)
            sync(device)
            t1 = time.perf_counter()
            train_eval = evaluate(stack, eval_x, data.train_y[eval_idx], eps, p0.ece_bins, autocast)
            val = evaluate(stack, test_x, data.test_y, eps, p0.ece_bins, autocast)
            t2 = time.perf_counter()
            for k in range(stack.k):
                histories[k].append({
                    "epoch": epoch + 1,
                    "train_loss_running": running["loss"][k],
                    "train_acc_running": running["acc"][k],
                    **{f"train_{m}": train_eval[m][k] for m in ("acc", "nll", "loss")},
                    **{f"val_{m}": val[m][k] for m in ("acc", "nll", "loss", "ece", "bin_count", "bin_acc", "bin_conf")},
                    "epoch_seconds": t1 - t0,
                    "eval_seconds": t2 - t1,
                    "trials_together": stack.k,
                })
            if on_epoch is not None:
                on_epoch(epoch + 1, histories, checkpoint)
    return histories


def prepared(x_u8: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """uint8 (N, 3, 32, 32) -> normalised (N, 32, 32, 3) in the compute dtype, once per training call: a batch is
    then a single gather, already in the channels-last layout the convolutions want."""
    return normalize(x_u8.permute(0, 2, 3, 1).contiguous()).to(dtype)  # the layout copy in uint8: a quarter the bytes


def train_eval_indices(n: int, size: int, device: torch.device) -> torch.Tensor:
    """The fixed sample of training images scored in eval mode: the same for every trial."""
    if n <= size:
        return torch.arange(n, device=device)
    g = torch.Generator().manual_seed(0)
    return torch.randperm(n, generator=g)[:size].sort().values.to(device)


def _train_epoch(stack: Stack, opt, train_x: torch.Tensor, train_y: torch.Tensor, gens, eps, batch_size, autocast,
                 device) -> dict:
    n = len(train_y)
    # Each model draws its own order from its own generator, exactly as it would alone.
    perms = torch.stack([torch.randperm(n, generator=g) for g in gens]).to(device, non_blocking=True)
    loss_sum = torch.zeros(stack.k, device=device)
    correct = torch.zeros(stack.k, device=device, dtype=torch.int64)
    for start in range(0, n, batch_size):
        idx = perms[:, start:start + batch_size]
        x, y = train_x[idx], train_y[idx]
        with autocast:
            logits = stack.logits(x)
        loss = smoothed_cross_entropy(logits, y, eps)
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt.step()
        # Accumulated on the device: no host sync inside the epoch.
        loss_sum += loss.detach() * y.shape[1]
        correct += (logits.detach().argmax(-1) == y).sum(-1)
    return {"loss": (loss_sum / n).tolist(), "acc": (correct.double() / n).tolist()}


@torch.no_grad()
def evaluate(stack: Stack, x: torch.Tensor, y: torch.Tensor, eps: torch.Tensor, bins: int, autocast=nullcontext()) -> dict:
    """Eval-mode accuracy, unsmoothed NLL, smoothed loss and calibration of each model on (x, y); x `prepared`."""
    k, n, dev = stack.k, len(y), y.device
    zeros = lambda size: torch.zeros(size, device=dev, dtype=torch.promote_types(stack.dtype, torch.float32))  # noqa: E731
    correct, nll_sum, loss_sum = zeros(k), zeros(k), zeros(k)
    bin_count, bin_correct, bin_conf = zeros(k * bins), zeros(k * bins), zeros(k * bins)
    offsets = (torch.arange(k, device=dev) * bins).view(k, 1)
    for start in range(0, n, EVAL_BATCH):
        xb, yb = x[start:start + EVAL_BATCH], y[start:start + EVAL_BATCH]
        with autocast:
            logits = stack.logits_shared(xb)
        logp = _wide(logits).log_softmax(-1)
        yk = yb.expand(k, -1)
        nll = -logp.gather(-1, yk.unsqueeze(-1)).squeeze(-1)
        nll_sum += nll.sum(-1)
        loss_sum += smoothed_cross_entropy(logits, yk, eps) * len(yb)
        conf, pred = logp.exp().max(-1)
        hit = (pred == yk).to(conf.dtype)
        correct += hit.sum(-1)
        # Bin b holds confidences in (b/bins, (b+1)/bins]; confidence is at least 1/C > 0.
        b = ((conf * bins).ceil().long() - 1).clamp(0, bins - 1) + offsets
        bin_count.index_add_(0, b.flatten(), torch.ones_like(conf).flatten())
        bin_correct.index_add_(0, b.flatten(), hit.flatten())
        bin_conf.index_add_(0, b.flatten(), conf.flatten())
    count, bc, bf = (t.view(k, bins).double().cpu() for t in (bin_count, bin_correct, bin_conf))
    safe = count.clamp(min=1)
    acc_b, conf_b = bc / safe, bf / safe
    ece = ((count / n) * (acc_b - conf_b).abs()).sum(-1)
    nan_empty = lambda t: torch.where(count > 0, t, torch.nan).tolist()  # noqa: E731
    return {
        "acc": (correct.double().cpu() / n).tolist(),
        "nll": (nll_sum.double().cpu() / n).tolist(),
        "loss": (loss_sum.double().cpu() / n).tolist(),
        "ece": ece.tolist(),
        "bin_count": count.long().tolist(),
        "bin_acc": nan_empty(acc_b),
        "bin_conf": nan_empty(conf_b),
    }


def _host_states(opt: torch.optim.Adam, stack: Stack) -> Callable[[int], tuple[dict, dict]]:
    """Every trial's weights and Adam moments, brought to the host in one copy (a (K, n) block: one transfer
    from a GPU instead of three per parameter and trial); returns trial k's (model, adam) as views of its
    own row, so that saving one trial never writes the others' values."""
    names = list(stack.params)
    states = [opt.state.get(p, {}) for p in stack.params.values()]
    kinds = [("model", {n: p for n, p in stack.params.items()})]
    if all(states):
        kinds += [(key, {n: st[key] for n, st in zip(names, states)}) for key in ("exp_avg", "exp_avg_sq")]
    parts = [t.detach().reshape(stack.k, -1) for _, group in kinds for t in group.values()]
    block = torch.cat(parts, dim=1).cpu()
    step = float(states[0]["step"]) if all(states) else 0.0

    def trial(k: int) -> tuple[dict, dict]:
        row, at, out = block[k].clone(), 0, {}
        for kind, group in kinds:
            out[kind] = {}
            for name, t in group.items():
                size = t[0].numel()
                out[kind][name] = row[at:at + size].view(t.shape[1:])
                at += size
        return out["model"], {"step": step, "exp_avg": out.get("exp_avg", {}), "exp_avg_sq": out.get("exp_avg_sq", {})}

    return trial


def _stacked_adam_state(opt: torch.optim.Adam, stack: Stack, resume: Sequence[Checkpoint]) -> dict:
    steps = {c.adam["step"] for c in resume}
    if len(steps) != 1:
        raise ValueError("trials trained together must have taken the same number of steps")
    step = steps.pop()
    state = {}
    for i, (name, p) in enumerate(stack.params.items()):
        # Built in the parameter's own layout: fused Adam on CUDA refuses state whose strides differ.
        stacked = lambda key: torch.empty_like(p).copy_(torch.stack([c.adam[key][name] for c in resume]))  # noqa: E731
        state[i] = {"step": torch.tensor(step), "exp_avg": stacked("exp_avg"), "exp_avg_sq": stacked("exp_avg_sq")}
    return {"state": state, "param_groups": opt.state_dict()["param_groups"]}


def sync(device: torch.device) -> None:
    """Wait for the device: before reading a clock."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)

