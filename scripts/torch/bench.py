"""PyTorch side of `npm run bench -- --vs-torch` (scripts/benchTorch.ts).

Speaks JSON lines on stdin/stdout so that scorekit (Node) can interleave its steps with ours:
  {"cmd": "hello"}                          → {"torch": "1.13.0", "threads": 1, "blas": "..."}
  {"cmd": "setup", "workload": w, "batch": b} → {"params": n}
  {"cmd": "step"}                           → {"ms": wall time, "cpuMs": CPU time of one step}
  {"cmd": "quit"}
One thread (torch.set_num_threads(1)); run with OpenBLAS and glibc malloc tuned
(MALLOC_MMAP_THRESHOLD_ = MALLOC_TRIM_THRESHOLD_ = 4294967296) — benchTorch.ts sets both.

Each training step: Adam on the loss the scorekit side uses —
  DSM (Song et al. 2021, eq. 7): toy 'sigmaPower' w = 2, U-Net 'sigma2' (½ Σ (σ s + z)²);
  CE on the noisy input; DLSM + λ·CE (Chao et al. 2022, eqs. 10–11) with the input gradient of
  log p(y | x̃, σ) taken by autograd.grad(create_graph=True) (double back-propagation).
"""

import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import ResnetClassifier, ScoreUnet, ToyMlp, count_params  # noqa: E402

torch.set_num_threads(1)
torch.manual_seed(0)


def ve_sigma(t, sigma_min, sigma_max):
    return sigma_min * (sigma_max / sigma_min) ** t


def make(workload: str, batch: int):
    """(model, step) for one workload; `step()` runs one optimiser step."""
    if workload.startswith("toy"):
        smin, smax = 0.01, 10.0
        x = torch.randn(batch, 2)
        y = torch.randint(0, 2, (batch,))
        if workload == "toyDsm":
            model = ToyMlp(2)
            opt = torch.optim.Adam(model.parameters(), lr=1e-4)

            def loss_fn():
                sigma = ve_sigma(torch.rand(batch), smin, smax)
                z = torch.randn_like(x)
                s = model(x + sigma[:, None] * z, sigma)
                r = s * sigma[:, None] ** 2 + z * sigma[:, None]
                return (r**2).mean(1).mean()

        else:  # toyTotal: DLSM + 0.125·CE against a frozen toy score model
            model = ToyMlp(2)
            score = ToyMlp(2)
            for p in score.parameters():
                p.requires_grad_(False)
            opt = torch.optim.Adam(model.parameters(), lr=1e-5)

            def loss_fn():
                return dlsm_plus_ce(model, lambda xt, sg: score(xt, sg), x, y, smin, smax, 0.125, 2)

    elif workload.startswith("resnet"):
        width = 64 if workload.startswith("resnet64") else 8
        model = ResnetClassifier(width)
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        x = torch.rand(batch, 3, 32, 32)
        y = torch.arange(batch) % 10
        smin, smax = 0.01, 50.0
        if workload.endswith("Ce"):

            def loss_fn():
                sigma = ve_sigma(torch.rand(batch), smin, smax)
                xt = x + sigma[:, None, None, None] * torch.randn_like(x)
                return F.cross_entropy(model(xt, sigma), y)

        else:  # DLSM + CE with a zero score (the classifier's own cost, as bench.ts)

            def loss_fn():
                return dlsm_plus_ce(model, lambda xt, sg: torch.zeros_like(xt), x, y, smin, smax, 1.0, 1)

    elif workload == "unetSmallDsm":
        model = ScoreUnet()
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=2e-4)
        x = torch.rand(batch, 3, 32, 32)

        def loss_fn():
            sigma = ve_sigma(torch.rand(batch) * (1 - 1e-3) + 1e-3, 0.01, 50.0)
            z = torch.randn_like(x)
            s = model(x + sigma[:, None, None, None] * z, sigma)
            return (0.5 * ((s * sigma[:, None, None, None] + z) ** 2).flatten(1).sum(1)).mean()

    else:
        raise ValueError(f"unknown workload {workload!r}")

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss.item()

    return model, step


def dlsm_plus_ce(model, score, x, y, smin, smax, lam, w):
    """½ mean(((g + s) σ^w + z σ^(w−1))²) + λ CE, g = ∇ₓ log p(y | x̃, σ) (double backprop)."""
    b = x.shape[0]
    sigma = ve_sigma(torch.rand(b), smin, smax)
    sig = sigma.reshape(-1, *([1] * (x.dim() - 1)))
    z = torch.randn_like(x)
    xt = (x + sig * z).requires_grad_(True)
    logits = model(xt, sigma)
    logp = torch.log_softmax(logits, -1).gather(1, y[:, None]).sum()
    (g,) = torch.autograd.grad(logp, xt, create_graph=True)
    with torch.no_grad():
        s = score(xt, sigma)
    r = (g + s) * sig**w + z * sig ** (w - 1)
    return 0.5 * (r**2).mean() + lam * F.cross_entropy(logits, y)


def main():
    step = None
    for line in sys.stdin:
        msg = json.loads(line)
        cmd = msg["cmd"]
        if cmd == "hello":
            out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
        elif cmd == "setup":
            step = None
            model, step = make(msg["workload"], int(msg["batch"]))
            out = {"params": count_params(model)}
        elif cmd == "step":
            t0, c0 = time.perf_counter(), time.process_time()
            step()
            out = {"ms": (time.perf_counter() - t0) * 1000, "cpuMs": (time.process_time() - c0) * 1000}
        elif cmd == "quit":
            return
        else:
            out = {"error": f"unknown cmd {cmd!r}"}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # report to the Node side rather than dying silently
        sys.stdout.write(json.dumps({"error": f"{type(e).__name__}: {e}"}) + "\n")
        sys.stdout.flush()
        raise
