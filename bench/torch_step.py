"""A yardstick for the native GPU line: the same two VAEs in PyTorch (eager, float32) on
the same GPU, timed like `latentlab bench`: single decode, the 225-point grid, single
encode and one training step (batch 100, Adam, Σ BCE + KL averaged over the batch, the
loss read back). Not part of the tests; needs torch with CUDA. Prints JSON."""
import json
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F

IMAGE, SIDE, LATENT = 28, 32, 2


class ConvVae(nn.Module):
    def __init__(self, c=32):
        super().__init__()
        self.down = nn.ModuleList(nn.Conv2d(i, o, 3, stride=2, padding=1) for i, o in [(1, c), (c, 2 * c), (2 * c, 4 * c)])
        flat = 4 * c * 4 * 4
        self.to_mean, self.to_log_var = nn.Linear(flat, LATENT), nn.Linear(flat, LATENT)
        self.from_latent = nn.Linear(LATENT, flat)
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(i, o, 3, stride=2, padding=1, output_padding=1) for i, o in [(4 * c, 4 * c), (4 * c, 2 * c), (2 * c, c)]
        )
        self.to_pixels = nn.Conv2d(c, 1, 3, padding=1)
        self.c = c

    def encode(self, x):
        for conv in self.down:
            x = F.relu(conv(x))
        x = x.flatten(1)
        return self.to_mean(x), self.to_log_var(x)

    def decode_logits(self, z):
        x = self.from_latent(z).reshape(-1, 4 * self.c, 4, 4)
        for up in self.up:
            x = F.relu(up(x))
        pad = (SIDE - IMAGE) // 2
        return self.to_pixels(x)[:, :, pad : pad + IMAGE, pad : pad + IMAGE]


class DenseVae(nn.Module):
    def __init__(self, hidden=512):
        super().__init__()
        self.hidden = nn.Linear(IMAGE * IMAGE, hidden)
        self.to_mean, self.to_log_var = nn.Linear(hidden, LATENT), nn.Linear(hidden, LATENT)
        self.from_latent = nn.Linear(LATENT, hidden)
        self.hidden_to_pixels = nn.Linear(hidden, IMAGE * IMAGE)

    def encode(self, x):
        pad = (SIDE - IMAGE) // 2
        x = F.relu(self.hidden(x[:, :, pad : pad + IMAGE, pad : pad + IMAGE].flatten(1)))
        return self.to_mean(x), self.to_log_var(x)

    def decode_logits(self, z):
        return self.hidden_to_pixels(F.relu(self.from_latent(z))).reshape(-1, 1, IMAGE, IMAGE)


def timed(work, runs, warmup=5):
    for _ in range(warmup):
        work()
    millis = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        millis.append((time.perf_counter() - started) * 1000)
    millis.sort()
    at = lambda q: millis[round((len(millis) - 1) * q)]
    return {"median": at(0.5), "p10": at(0.1), "p90": at(0.9), "runs": runs}


def training_step_timing(model, runs, device):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    inputs = torch.rand(100, 1, SIDE, SIDE, device=device)
    pad = (SIDE - IMAGE) // 2
    targets = inputs[:, :, pad : pad + IMAGE, pad : pad + IMAGE]

    def step():
        mean, log_var = model.encode(inputs)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        logits = model.decode_logits(z)
        reconstruction = F.binary_cross_entropy_with_logits(logits, targets, reduction="sum") / 100
        kl = 0.5 * (log_var.exp() + mean.square() - log_var - 1).sum() / 100
        loss = reconstruction + kl
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        reconstruction.item()

    return timed(step, runs, warmup=3)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    device = torch.device("cuda")
    torch.manual_seed(42)
    report = {"adapter": f"torch {torch.__version__}: {torch.cuda.get_device_name(0)}"}
    for name, model in [("conv", ConvVae()), ("dense", DenseVae())]:
        model = model.to(device)
        with torch.no_grad():
            decode = lambda n: torch.sigmoid(model.decode_logits(torch.zeros(n, LATENT, device=device))).cpu()
            image = torch.zeros(1, 1, SIDE, SIDE, device=device)
            report[name] = {
                "decode_single": timed(lambda: decode(1), runs),
                "decode_grid": timed(lambda: decode(225), runs),
                "encode_single": timed(lambda: model.encode(image)[0].cpu(), runs),
            }
        report[name]["train_step_batch_100"] = training_step_timing(model, runs, device)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
