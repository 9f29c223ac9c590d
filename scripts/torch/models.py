"""PyTorch twins of scorekit's benchmark models (same layers, same parameter counts).

Used only by scripts/torch/bench.py, the PyTorch side of `npm run bench -- --vs-torch`.
Each module mirrors a scorekit model in packages/models/src; the benchmark refuses to print a
ratio unless the parameter counts agree, so a drift between the two shows up at once.
Layouts differ (PyTorch NCHW, scorekit NHWC) — the arithmetic is the same.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class ToyMlp(nn.Module):
    """toyMlp.ts: trunk 2→256→128→64 on x, branch 1→64→32→16 on σ, ReLU, linear head."""

    def __init__(self, out_features: int, trunk=(256, 128, 64), noise=(64, 32, 16), in_features=2):
        super().__init__()
        self.layers = nn.ModuleList()
        f = in_features
        for w in trunk:
            self.layers.append(nn.Linear(f, w))
            f = w
        self.cond_layers = nn.ModuleList()
        g = 1
        for w in noise:
            self.cond_layers.append(nn.Linear(g, w))
            g = w
        self.linear = nn.Linear(f + g, out_features)

    @staticmethod
    def _run(layers, h):
        for i, layer in enumerate(layers):
            h = layer(h)
            if i < len(layers) - 1:
                h = F.relu(h)
        return h

    def forward(self, x, sigma):
        h = self._run(self.layers, x)
        e = self._run(self.cond_layers, sigma.reshape(-1, 1))
        return self.linear(torch.cat([h, e], 1))


class GaussianFourier(nn.Module):
    """fourier.ts: [sin(2π v W), cos(2π v W)], W ~ N(0, scale²) a buffer."""

    def __init__(self, size: int, scale: float):
        super().__init__()
        self.register_buffer("W", torch.randn(size) * scale)

    def forward(self, v):
        proj = v[:, None] * self.W[None, :] * 2 * math.pi
        return torch.cat([torch.sin(proj), torch.cos(proj)], 1)


class NoiseEmbedding(nn.Module):
    """noiseEmbedding.ts ('fourier'): dense1(SiLU(dense0(fourier(log σ))))."""

    def __init__(self, size: int, scale: float, dim: int):
        super().__init__()
        self.fourier = GaussianFourier(size, scale)
        self.dense0 = nn.Linear(2 * size, dim)
        self.dense1 = nn.Linear(dim, dim)

    def forward(self, sigma):
        return self.dense1(F.silu(self.dense0(self.fourier(torch.log(sigma)))))


class BasicBlock(nn.Module):
    """resnet.ts basicBlock: relu(bn1(conv1)) → bn2(conv2) + shortcut → relu."""

    def __init__(self, in_planes: int, planes: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x):
        h = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(h + self.shortcut(x))


class ResnetClassifier(nn.Module):
    """resnet.ts resnetClassifier (depth 18): noise-conditioned ResNet, emb added per stage."""

    def __init__(self, width: int, classes: int = 10, blocks=(2, 2, 2, 2)):
        super().__init__()
        self.embedding = NoiseEmbedding(32, 16.0, 128)
        self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.stages = nn.ModuleList()
        self.dense = nn.ModuleList()
        in_planes = width
        for s, n in enumerate(blocks):
            planes = width * 2**s
            layers = []
            for b in range(n):
                layers.append(BasicBlock(in_planes, planes, 2 if b == 0 and s > 0 else 1))
                in_planes = planes
            self.stages.append(nn.Sequential(*layers))
            self.dense.append(nn.Linear(128, planes))
        self.linear = nn.Linear(8 * width, classes)

    def forward(self, x, sigma):
        temb = F.silu(self.embedding(sigma))
        h = F.relu(self.bn1(self.conv1(x)))
        for stage, dense in zip(self.stages, self.dense):
            h = stage(h) + dense(temb)[:, :, None, None]
        return self.linear(h.mean((2, 3)))


def _groups(c: int) -> int:
    return max(1, min(c // 4, 32))


class Nin(nn.Module):
    """dense.ts ninLayer: a dense layer over the channel axis."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.W = nn.Parameter(torch.randn(cin, cout) * 0.1)
        self.b = nn.Parameter(torch.zeros(cout))

    def forward(self, x):  # NCHW
        return torch.einsum("bchw,cd->bdhw", x, self.W) + self.b[None, :, None, None]


class Attention(nn.Module):
    """attention.ts: GroupNorm, NIN q/k/v, softmax(q kᵀ/√C) v, NIN out, (x + ·)/√2."""

    def __init__(self, c: int):
        super().__init__()
        self.norm = nn.GroupNorm(_groups(c), c, eps=1e-6)
        self.nin = nn.ModuleList([Nin(c, c) for _ in range(4)])
        self.c = c

    def forward(self, x):
        b, c, h, w = x.shape
        hn = self.norm(x)
        q = self.nin[0](hn).reshape(b, c, h * w)
        k = self.nin[1](hn).reshape(b, c, h * w)
        v = self.nin[2](hn).reshape(b, c, h * w)
        weights = torch.softmax(torch.einsum("bci,bcj->bij", q, k) / math.sqrt(c), -1)
        attended = torch.einsum("bij,bcj->bci", weights, v).reshape(b, c, h, w)
        return (x + self.nin[3](attended)) / math.sqrt(2)


class BigGanBlock(nn.Module):
    """residualBlock.ts ('biggan'): GN-SiLU-(resample)-conv + Dense(SiLU temb), GN-SiLU-drop-conv."""

    def __init__(self, cin: int, cout: int | None, temb: int, dropout: float, resample=None):
        super().__init__()
        cout = cout or cin
        self.gn0 = nn.GroupNorm(_groups(cin), cin, eps=1e-6)
        self.conv0 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.dense0 = nn.Linear(temb, cout)
        self.gn1 = nn.GroupNorm(_groups(cout), cout, eps=1e-6)
        self.drop = nn.Dropout(dropout)
        self.conv1 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.resample = resample
        self.conv2 = nn.Conv2d(cin, cout, 1) if (cin != cout or resample) else None

    def _resample(self, t):
        if self.resample == "up":
            return F.interpolate(t, scale_factor=2, mode="nearest")
        if self.resample == "down":
            return F.avg_pool2d(t, 2)
        return t

    def forward(self, x, temb):
        h = F.silu(self.gn0(x))
        skip = x
        if self.resample:
            h = self._resample(h)
            skip = self._resample(x)
        h = self.conv0(h) + self.dense0(F.silu(temb))[:, :, None, None]
        h = self.conv1(self.drop(F.silu(self.gn1(h))))
        if self.conv2 is not None:
            skip = self.conv2(skip)
        return (skip + h) / math.sqrt(2)


class ScoreUnet(nn.Module):
    """unet.ts scoreUnet with biggan blocks, residual input pyramid, skip rescale, output / σ
    (the `unetSmall` preset: nf 32, chMult (1, 2, 2), one block per level, attention at 8×8)."""

    def __init__(self, image=32, channels=3, nf=32, ch_mult=(1, 2, 2), blocks=1, attn=(8,), dropout=0.1):
        super().__init__()
        temb = 4 * nf
        self.embedding = NoiseEmbedding(nf, 16.0, temb)
        self.input_conv = nn.Conv2d(channels, nf, 3, 1, 1)
        levels = len(ch_mult)
        res = [image // 2**i for i in range(levels)]
        hs = [nf]
        cin = nf
        pyr = channels
        self.down = nn.ModuleList()
        for level in range(levels):
            m = nn.Module()
            m.blocks = nn.ModuleList()
            m.attn = nn.ModuleList()
            for _ in range(blocks):
                cout = nf * ch_mult[level]
                m.blocks.append(BigGanBlock(cin, cout, temb, dropout))
                cin = cout
                m.attn.append(Attention(cin) if res[level] in attn else nn.Identity())
                hs.append(cin)
            m.downblock = None
            m.pyramid = None
            if level != levels - 1:
                m.downblock = BigGanBlock(cin, None, temb, dropout, "down")
                m.pyramid = nn.Conv2d(pyr, cin, 3, 2, 1)
                pyr = cin
                hs.append(cin)
            self.down.append(m)
        cin = hs[-1]
        self.mid1 = BigGanBlock(cin, None, temb, dropout)
        self.mid_attn = Attention(cin)
        self.mid2 = BigGanBlock(cin, None, temb, dropout)
        self.up = nn.ModuleList()
        for level in reversed(range(levels)):
            m = nn.Module()
            m.blocks = nn.ModuleList()
            for _ in range(blocks + 1):
                cout = nf * ch_mult[level]
                m.blocks.append(BigGanBlock(cin + hs.pop(), cout, temb, dropout))
                cin = cout
            m.attn = Attention(cin) if res[level] in attn else None
            m.upblock = BigGanBlock(cin, None, temb, dropout, "up") if level != 0 else None
            self.up.append(m)
        self.out_norm = nn.GroupNorm(_groups(cin), cin, eps=1e-6)
        self.out_conv = nn.Conv2d(cin, channels, 3, 1, 1)

    def forward(self, x, sigma):
        temb = self.embedding(sigma)
        inp = 2 * x - 1
        pyramid = inp
        hs = [self.input_conv(inp)]
        for m in self.down:
            for block, attn in zip(m.blocks, m.attn):
                hs.append(attn(block(hs[-1], temb)))
            if m.downblock is not None:
                h = m.downblock(hs[-1], temb)
                pyramid = (m.pyramid(pyramid) + h) / math.sqrt(2)
                hs.append(pyramid)
        h = self.mid2(self.mid_attn(self.mid1(hs[-1], temb)), temb)
        for m in self.up:
            for block in m.blocks:
                h = block(torch.cat([h, hs.pop()], 1), temb)
            if m.attn is not None:
                h = m.attn(h)
            if m.upblock is not None:
                h = m.upblock(h, temb)
        h = self.out_conv(F.silu(self.out_norm(h)))
        return h / sigma[:, None, None, None]


def count_params(model: nn.Module) -> int:
    """Trainable parameters (buffers such as running stats and Fourier W excluded)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
