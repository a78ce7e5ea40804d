#!/usr/bin/python3
"""PyTorch peer of `facttrace bench suite --peer`: the same models, data, optimizer and thread count in PyTorch.

Run by the C# bench as a subprocess (never by the test suite):
    OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 peer.py --in tasks.json --out results.json

tasks.json: {"threads": N, "tasks": [...]}, each task one of
    {"kind": "matmul", "n": 2048, "dtype": "fp32"|"bf16", "min_seconds": 1}
    {"kind": "step", "name": ..., "config": {...}, "mode": "fp32"|"bf16", "ids": [[...]], "warmup": 2,
     "min_steps": 5, "min_seconds": 3, "max_steps": 50, "lr": 1e-3, "weight_decay": 0.1, "betas": [0.9, 0.98],
     "clip": 1.0}
    {"kind": "trace", "name": ..., "config": {...}, "examples": [[...], ...], "warmup": 4}
The models are GPT-NeoX (LayerNorm, fused head-major qkv, partial rotary, causal SDPA, exact GELU MLP, parallel
residual, untied output) and Llama (RMSNorm, GQA, rotary on all dims, SwiGLU, tied output), with Hugging Face's
math, as FactTrace's CausalLM. The loss is next-token cross-entropy with logits only at positions 0..T-2, as
FactTrace's Loss.NextToken on unpadded rows.
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def sdpa_causal(q, k, v):
    """Causal scaled dot-product attention: the fused op where this torch has one, else the same math."""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    if hasattr(F, "_scaled_dot_product_attention"):  # torch 1.13: (q, k, v, mask, p, need_weights, is_causal)
        return F._scaled_dot_product_attention(q, k, v, None, 0.0, False, True)[0]
    t = q.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    mask = torch.ones(t, t, dtype=torch.bool).tril()
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), -1) @ v


def rotary_tables(inv_freq, t, dtype):
    positions = torch.arange(t, dtype=torch.float32)
    freqs = torch.outer(positions, inv_freq)
    emb = torch.cat([freqs, freqs], -1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], -1)


def apply_rotary(x, cos, sin):
    r = cos.shape[-1]
    rot = x[..., :r]
    rotated = rot * cos + rotate_half(rot) * sin
    return rotated if r == x.shape[-1] else torch.cat([rotated, x[..., r:]], -1)


class NeoXAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads, self.hd = c["heads"], c["hidden"] // c["heads"]
        self.query_key_value = nn.Linear(c["hidden"], 3 * c["hidden"], bias=c.get("bias", True))
        self.dense = nn.Linear(c["hidden"], c["hidden"], bias=c.get("bias", True))

    def forward(self, x, cos, sin):
        b, t, _ = x.shape
        qkv = self.query_key_value(x).view(b, t, self.heads, 3 * self.hd).transpose(1, 2)
        q, k, v = qkv[..., : self.hd], qkv[..., self.hd : 2 * self.hd], qkv[..., 2 * self.hd :]
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        y = sdpa_causal(q, k, v)
        return self.dense(y.transpose(1, 2).reshape(b, t, self.heads * self.hd))


class NeoXLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = nn.LayerNorm(c["hidden"], eps=c["norm_eps"])
        self.post_attention_layernorm = nn.LayerNorm(c["hidden"], eps=c["norm_eps"])
        self.attention = NeoXAttention(c)
        self.dense_h_to_4h = nn.Linear(c["hidden"], c["intermediate"])
        self.dense_4h_to_h = nn.Linear(c["intermediate"], c["hidden"])

    def forward(self, x, cos, sin):
        attn = self.attention(self.input_layernorm(x), cos, sin)
        mlp = self.dense_4h_to_h(F.gelu(self.dense_h_to_4h(self.post_attention_layernorm(x))))
        return x + attn + mlp


class RmsNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        x32 = x.float()
        normed = (x32 * (x32.pow(2).mean(-1, keepdim=True) + self.eps).rsqrt()).to(x.dtype)
        return self.weight * normed


class LlamaLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, self.heads, self.kv, self.hd, i = c["hidden"], c["heads"], c["kv_heads"], c["head_dim"], c["intermediate"]
        self.q_proj = nn.Linear(d, self.heads * self.hd, bias=False)
        self.k_proj = nn.Linear(d, self.kv * self.hd, bias=False)
        self.v_proj = nn.Linear(d, self.kv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.heads * self.hd, d, bias=False)
        self.gate_proj = nn.Linear(d, i, bias=False)
        self.up_proj = nn.Linear(d, i, bias=False)
        self.down_proj = nn.Linear(i, d, bias=False)
        self.input_layernorm = RmsNorm(d, c["norm_eps"])
        self.post_attention_layernorm = RmsNorm(d, c["norm_eps"])

    def forward(self, x, cos, sin):
        b, t, _ = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(b, t, self.heads, self.hd).transpose(1, 2)
        k = self.k_proj(h).view(b, t, self.kv, self.hd).transpose(1, 2)
        v = self.v_proj(h).view(b, t, self.kv, self.hd).transpose(1, 2)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        g = self.heads // self.kv
        if g > 1:
            k, v = k.repeat_interleave(g, dim=1), v.repeat_interleave(g, dim=1)
        y = sdpa_causal(q, k, v).transpose(1, 2).reshape(b, t, self.heads * self.hd)
        x = x + self.o_proj(y)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class CausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.llama = c["family"] == "llama"
        d, v = c["hidden"], c["vocab"]
        self.embed = nn.Embedding(v, d)
        layer = LlamaLayer if self.llama else NeoXLayer
        self.layers = nn.ModuleList([layer(c) for _ in range(c["layers"])])
        self.norm = RmsNorm(d, c["norm_eps"]) if self.llama else nn.LayerNorm(d, eps=c["norm_eps"])
        self.tied = c.get("tied", False)
        self.out = None if self.tied else nn.Linear(d, v, bias=False)
        hd = c["head_dim"] if self.llama else d // c["heads"]
        r = hd if self.llama else int(hd * c.get("rotary_pct", 0.25))
        self.inv_freq = torch.tensor([1.0 / c["rope_base"] ** (2.0 * i / r) for i in range(r // 2)], dtype=torch.float32)
        std = c.get("init_std", 0.02)
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, (nn.Linear, nn.Embedding)):
                    m.weight.normal_(0, std)
                    if getattr(m, "bias", None) is not None:
                        m.bias.zero_()

    def loss(self, ids):
        """Mean next-token cross-entropy; logits only at the positions that predict a token (0..T-2)."""
        x = self.embed(ids)
        cos, sin = rotary_tables(self.inv_freq, ids.shape[1], x.dtype)
        for layer in self.layers:
            x = layer(x, cos, sin)
        h = self.norm(x)[:, :-1]
        logits = F.linear(h, self.embed.weight) if self.tied else self.out(h)
        return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))

    def decay_groups(self, wd):
        decay, no_decay = [], []
        for name, p in self.named_parameters():
            (no_decay if p.dim() < 2 or name.startswith("embed.") else decay).append(p)
        return [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]


def peak_rss_kb():
    """VmHWM. Not ru_maxrss: Linux carries the parent's RSS at exec into it, which would report FactTrace's."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def timed(fn, warmup, min_steps, min_seconds, max_steps, cpu=None):
    for _ in range(warmup):
        fn()
    times = []
    cpu0 = time.process_time()
    start = time.perf_counter()
    while len(times) < max_steps and (len(times) < min_steps or time.perf_counter() - start < min_seconds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    if cpu is not None:
        cpu.append((time.process_time() - cpu0) / len(times))
    return times


def run_matmul(task):
    n = task.get("n", 2048)
    dtype = torch.bfloat16 if task.get("dtype") == "bf16" else torch.float32
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    cpu = []
    times = timed(lambda: torch.mm(a, b), 2, 3, task.get("min_seconds", 1.5), 50, cpu)
    return {"n": n, "dtype": task.get("dtype", "fp32"), "gflops": 2 * n**3 / min(times) / 1e9,
            "gflops_median": 2 * n**3 / statistics.median(times) / 1e9, "gflops_cpu": 2 * n**3 / cpu[0] / 1e9}


def run_step(task):
    torch.manual_seed(0)
    c = task["config"]
    model = CausalLM(c)
    model.train()
    ids = torch.tensor(task["ids"], dtype=torch.long)
    betas = tuple(task.get("betas", [0.9, 0.98]))
    opt = torch.optim.AdamW(model.decay_groups(task.get("weight_decay", 0.1)), lr=task.get("lr", 1e-3), betas=betas, eps=1e-8)
    bf16 = task["mode"] == "bf16"
    params = list(model.parameters())
    clip = task.get("clip", 1.0)

    rows = task["ids"]

    def step():
        x = torch.tensor(rows, dtype=torch.long)  # a batch per step, as FactTrace collates one
        if bf16:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = model.loss(x)
        else:
            loss = model.loss(x)
        loss.item()
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        opt.zero_grad(set_to_none=True)

    cpu = []
    times = timed(step, task.get("warmup", 2), task.get("min_steps", 5), task.get("min_seconds", 3.0), task.get("max_steps", 50), cpu)
    tokens = ids.numel()
    med = statistics.median(times)  # the headline is the mean, as FactTrace's (which includes its GC.Collect every 16 steps)
    mean = statistics.mean(times)
    return {"name": task["name"], "mode": task["mode"], "steps": len(times), "step_ms": mean * 1000,
            "step_ms_median": med * 1000, "cpu_ms": cpu[0] * 1000, "step_ms_min": min(times) * 1000, "tokens_per_s": tokens / mean,
            "params": sum(p.numel() for p in params), "peak_rss_kb": peak_rss_kb()}


def run_trace(task):
    torch.manual_seed(0)
    model = CausalLM(task["config"])
    model.train()
    examples = [torch.tensor([e], dtype=torch.long) for e in task["examples"]]
    params = list(model.parameters())
    acc = [torch.zeros_like(p) for p in params]

    def fwd_bwd(x):
        model.loss(x).backward()

    def plain():
        for x in examples:
            fwd_bwd(x)
            for p in params:
                p.grad = None

    def traced():
        for x in examples:
            fwd_bwd(x)
            for a, p in zip(acc, params):
                a.add_(p.grad.abs())
            for p in params:
                p.grad = None

    warm = examples[: task.get("warmup", 4)]
    for x in warm:
        fwd_bwd(x)
        for p in params:
            p.grad = None
    rounds = task.get("rounds", 3)
    plain_t, traced_t, plain_c, traced_c = [], [], [], []
    for _ in range(rounds):  # interleaved, so a change in machine load hits both alike
        t0, c0 = time.perf_counter(), time.process_time(); plain()
        plain_t.append(time.perf_counter() - t0); plain_c.append(time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time(); traced()
        traced_t.append(time.perf_counter() - t0); traced_c.append(time.process_time() - c0)
    n = len(examples)
    p, t = statistics.median(plain_t), statistics.median(traced_t)
    pc, tc = statistics.median(plain_c), statistics.median(traced_c)
    return {"name": task["name"], "examples": n, "fwd_bwd_ms": p / n * 1000, "trace_ms": t / n * 1000,
            "examples_per_s": n / t, "cost_ratio": t / p, "cost_ratio_cpu": tc / pc, "examples_per_cpu_s": n / tc,
            "peak_rss_kb": peak_rss_kb()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--in", dest="inp", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with open(args.inp) as f:
        spec = json.load(f)
    torch.set_num_threads(spec.get("threads", 1))
    results = []
    for task in spec["tasks"]:
        kind = task["kind"]
        fn = {"matmul": run_matmul, "step": run_step, "trace": run_trace}[kind]
        r = fn(task)
        r["kind"] = kind
        results.append(r)
        print(json.dumps(r), file=sys.stderr, flush=True)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "python": sys.version.split()[0],
           "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"), "results": results}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
