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
from typing import Callable, Sequence

import torch
from torch.func import functional_call, stack_module_state, vmap

from .checkpoint import Checkpoint, Checkpoints, Snapshot
from .data import Cifar, normalize
from .model import SimpleCNN, grouped_forward, init_model
from ..protocol import Protocol
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


EpochCallback = Callable[[int, list[list[dict]], Checkpoints], None]


def train(protocols: Sequence[Protocol], data: Cifar, device: torch.device | str,
          resume: Sequence[Checkpoint | None] | None = None,
          on_epoch: EpochCallback | None = None, engine: str = "grouped",
          dtype: torch.dtype = torch.float32, compile: bool = False) -> list[list[dict]]:
    """Train the protocols (same epochs, batch size, lr, precision) together; one history per trial.

    `data` must already be on `device`. `resume[k]` continues trial k from a checkpoint; all
    resumed trials of one call must be at the same epoch. `on_epoch(epoch, histories, checkpoints)`
    is called after each epoch; `checkpoints(k)` builds trial k's Checkpoint on demand, and
    `checkpoints.take()` snapshots every trial at once for a later thread (see Snapshot).
    `engine` picks how the K models run (see `Stack`); `dtype` is float32 but for tests that must
    compare paths without rounding in the way (float64). `compile` runs the training step through
    torch.compile: the same function, fused differently, so equal up to rounding.
    """
    from . import timings

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
    with timings.phase("data to device"):
        eval_idx = train_eval_indices(len(data.train_y), p0.train_eval_size, device)
        train_x, test_x = images(data.train_x), images(data.test_x)
        eval_x = train_x[eval_idx]
        sync(device)
    checkpoints = Checkpoints(lambda: Snapshot(opt, stack, gens, histories))
    steps = -(-len(data.train_y) // p0.batch_size)
    probe = timings.step_probe(device, steps, p0.epochs - start, stack.k, p0.precision)  # None unless SWEEP_TIMINGS

    with math_mode(device, p0.precision):
        for epoch in range(start, p0.epochs):
            t0 = time.perf_counter()
            running = _train_epoch(stack, opt, train_x, data.train_y, gens, eps, p0.batch_size, autocast, device,
                                   probe)
            sync(device)
            t1 = time.perf_counter()
            sums = (_eval_sums(stack, eval_x, data.train_y[eval_idx], eps, p0.ece_bins, autocast)
                    + _eval_sums(stack, test_x, data.test_y, eps, p0.ece_bins, autocast))
            # The epoch's one copy to the host: the running figures and both evaluations' sums together.
            (loss, acc), train_sums, val_sums = _split(_to_host([*running, *sums]), [2, 6, 6])
            train_eval = _eval_metrics(train_sums, stack.k, len(eval_idx), p0.ece_bins)
            val = _eval_metrics(val_sums, stack.k, len(data.test_y), p0.ece_bins)
            t2 = time.perf_counter()
            if probe is not None:
                probe.epoch_done(t1 - t0, t2 - t1)
            for k in range(stack.k):
                histories[k].append({
                    "epoch": epoch + 1,
                    "train_loss_running": loss[k].item(),
                    "train_acc_running": acc[k].item(),
                    **{f"train_{m}": train_eval[m][k] for m in ("acc", "nll", "loss")},
                    **{f"val_{m}": val[m][k] for m in ("acc", "nll", "loss", "ece", "bin_count", "bin_acc", "bin_conf")},
                    "epoch_seconds": t1 - t0,
                    "eval_seconds": t2 - t1,
                    "trials_together": stack.k,
                })
            if on_epoch is not None:
                checkpoints.epoch = epoch + 1
                on_epoch(epoch + 1, histories, checkpoints)
    return histories


def _to_host(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """One device-to-host copy for many small tensors: widened to float64 (exact from float32, int64 counts
    below 2**53), concatenated, copied, split back into their shapes."""
    flat = torch.cat([t.detach().to(torch.float64).flatten() for t in tensors]).cpu()
    return list(flat.split([t.numel() for t in tensors]))


def _split(items: list, sizes: list[int]) -> list[list]:
    out, at = [], 0
    for n in sizes:
        out.append(items[at:at + n])
        at += n
    return out


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
                 device, probe=None) -> tuple[torch.Tensor, torch.Tensor]:
    """One epoch of steps; returns each model's running (smoothed) loss and accuracy, still on the device:
    no host sync inside the epoch (the caller copies them with the evaluation's figures)."""
    n = len(train_y)
    # Each model draws its own order from its own generator, exactly as it would alone.
    perms = torch.stack([torch.randperm(n, generator=g) for g in gens]).to(device, non_blocking=True)
    loss_sum = torch.zeros(stack.k, device=device)
    correct = torch.zeros(stack.k, device=device, dtype=torch.int64)
    for start in range(0, n, batch_size):
        if probe is not None:
            probe.begin()
        idx = perms[:, start:start + batch_size]
        x, y = train_x[idx], train_y[idx]
        with autocast:
            logits = stack.logits(x)
        loss = smoothed_cross_entropy(logits, y, eps)
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt.step()
        loss_sum += loss.detach() * y.shape[1]
        correct += (logits.detach().argmax(-1) == y).sum(-1)
        if probe is not None:
            probe.end()
    return loss_sum / n, correct.double() / n


@torch.no_grad()
def evaluate(stack: Stack, x: torch.Tensor, y: torch.Tensor, eps: torch.Tensor, bins: int, autocast=nullcontext()) -> dict:
    """Eval-mode accuracy, unsmoothed NLL, smoothed loss and calibration of each model on (x, y); x `prepared`."""
    return _eval_metrics(_to_host(_eval_sums(stack, x, y, eps, bins, autocast)), stack.k, len(y), bins)


@torch.no_grad()
def _eval_sums(stack: Stack, x, y, eps, bins: int, autocast) -> list[torch.Tensor]:
    """The sums `_eval_metrics` needs, on the device: hits, NLL, smoothed loss, and per-bin counts, hits and
    confidences."""
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
    return [correct, nll_sum, loss_sum, bin_count, bin_correct, bin_conf]


def _eval_metrics(sums: list[torch.Tensor], k: int, n: int, bins: int) -> dict:
    """`_eval_sums`, on the host in float64, as the recorded metrics."""
    correct, nll_sum, loss_sum, *binned = sums
    count, bc, bf = (t.view(k, bins) for t in binned)
    safe = count.clamp(min=1)
    acc_b, conf_b = bc / safe, bf / safe
    ece = ((count / n) * (acc_b - conf_b).abs()).sum(-1)
    nan_empty = lambda t: torch.where(count > 0, t, torch.nan).tolist()  # noqa: E731
    return {
        "acc": (correct / n).tolist(),
        "nll": (nll_sum / n).tolist(),
        "loss": (loss_sum / n).tolist(),
        "ece": ece.tolist(),
        "bin_count": count.long().tolist(),
        "bin_acc": nan_empty(acc_b),
        "bin_conf": nan_empty(conf_b),
    }


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

