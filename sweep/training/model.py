"""The fixed CNN (545,098 parameters)."""

import torch
from torch import nn
import torch.nn.functional as F


class SimpleCNN(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3, padding=1)
        self.fc1 = nn.Linear(64 * 8 * 8, 128)
        self.fc2 = nn.Linear(128, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # conv -> ReLU -> maxpool, computed as pool-then-ReLU: the same function and the same
        # gradient (max commutes with the monotone ReLU), with ReLU on a quarter of the values.
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)


def init_model(seed: int) -> SimpleCNN:
    """Initial weights depend on the seed alone: drawn on the CPU, outside the global RNG stream."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SimpleCNN()


def grouped_forward(params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """K SimpleCNNs at once, with their parameters stacked (leading dim K): (B, K*3, 32, 32) -> (K, B, 10).

    Activations stay as (B, K*C, H, W), model k owning channels k*C..(k+1)*C-1, so each conv is one
    grouped conv (groups=K) and the linear layers are batched matmuls; no transposes between layers.
    """
    k = params["conv1.bias"].shape[0]
    conv = lambda h, n: F.conv2d(h, params[f"{n}.weight"].flatten(0, 1), params[f"{n}.bias"].flatten(),  # noqa: E731
                                 padding=1, groups=k)
    h = F.relu(F.max_pool2d(conv(x, "conv1"), 2))
    h = F.relu(F.max_pool2d(conv(h, "conv2"), 2))
    h = h.unflatten(1, (k, -1)).flatten(2).transpose(0, 1)  # (K, B, 64*8*8), each model's own flatten
    h = F.relu(torch.baddbmm(params["fc1.bias"].unsqueeze(1), h, params["fc1.weight"].transpose(1, 2)))
    return torch.baddbmm(params["fc2.bias"].unsqueeze(1), h, params["fc2.weight"].transpose(1, 2))
