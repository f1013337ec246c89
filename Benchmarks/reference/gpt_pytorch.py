"""Same-run PyTorch reference for the character GPT (issue 12): nanoGPT's model and training
conventions, written here (pre-norm blocks, no biases, GELU, tied head, N(0, 0.02) weights with
c_proj scaled by 1/sqrt(2·layers); AdamW betas (0.9, 0.99), weight decay 0.1 on 2-D tensors, lr
warm-up then cosine decay to lr/10, gradient clipping at 1; the vocabulary is the sorted set of
the training text's bytes, as the Swift trainer's).

Modes (one thread unless --threads):
  train TEXT --iters N         times N training iterations; with --eval, the validation loss at
                               the end (nanoGPT's estimate: --eval-iters batches), as JSON
  generate TEXT --tokens N     times greedy generation from a one-byte prompt without a cache,
                               cropping to the context as nanoGPT's generate does; reports the
                               microseconds per token below and past the context, as JSON

Usage: python3 gpt_pytorch.py train ../shared/data/tinyshakespeare/input.txt --iters 50
"""
import argparse
import json
import math
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print(json.dumps({"error": "PyTorch is not installed"}))
    sys.exit(2)


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(width, bias=False)
        self.c_attn = nn.Linear(width, 3 * width, bias=False)
        self.attn_proj = nn.Linear(width, width, bias=False)
        self.ln_2 = nn.LayerNorm(width, bias=False)
        self.c_fc = nn.Linear(width, 4 * width, bias=False)
        self.mlp_proj = nn.Linear(4 * width, width, bias=False)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(c, dim=2)
        shape = (b, t, self.heads, c // self.heads)
        q, k, v = (z.view(shape).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.attn_proj(y.transpose(1, 2).contiguous().view(b, t, c))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class CharGPT(nn.Module):
    def __init__(self, vocabulary, layers, heads, width, context):
        super().__init__()
        self.context = context
        self.wte = nn.Embedding(vocabulary, width)
        self.wpe = nn.Embedding(context, width)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width, bias=False)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, 0, 0.02)
        for block in self.blocks:
            for proj in (block.attn_proj, block.mlp_proj):
                nn.init.normal_(proj.weight, 0, 0.02 / math.sqrt(2 * layers))

    def forward(self, ids):
        positions = torch.arange(ids.shape[1])
        x = self.wte(ids) + self.wpe(positions)
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.t()


def load(path):
    data = open(path, "rb").read()
    split = int(len(data) * 0.9)
    train, val = data[:split], data[split:]
    vocabulary = sorted(set(train))
    index = {b: i for i, b in enumerate(vocabulary)}
    encode = lambda part: torch.tensor([index.get(b, 0) for b in part], dtype=torch.long)
    return vocabulary, encode(train), encode(val)


def batch(data, size, context, generator):
    starts = torch.randint(len(data) - context - 1, (size,), generator=generator)
    x = torch.stack([data[s:s + context] for s in starts])
    y = torch.stack([data[s + 1:s + 1 + context] for s in starts])
    return x, y


def train(args):
    vocabulary, train_ids, val_ids = load(args.text)
    model = CharGPT(len(vocabulary), args.layers, args.heads, args.width, args.context)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                                   {"params": rest, "weight_decay": 0.0}],
                                  lr=args.lr, betas=(0.9, 0.99))
    generator = torch.Generator().manual_seed(args.seed)

    def rate(step):
        if step < args.warmup:
            return args.lr * (step + 1) / (args.warmup + 1)
        progress = min(1.0, (step - args.warmup) / max(1, args.iters - args.warmup))
        return args.lr / 10 + 0.5 * (1 + math.cos(math.pi * progress)) * (args.lr - args.lr / 10)

    losses = []
    start = time.perf_counter()
    for step in range(args.iters):
        for group in optimizer.param_groups:
            group["lr"] = rate(step)
        x, y = batch(train_ids, args.batch, args.context, generator)
        loss = F.cross_entropy(model(x).view(-1, len(vocabulary)), y.view(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - start
    result = {"iters": args.iters, "ms_per_iter": 1000 * seconds / args.iters,
              "tokens_per_second": args.iters * args.batch * args.context / seconds,
              "train_loss": sum(losses[-20:]) / len(losses[-20:]), "threads": torch.get_num_threads(),
              "torch": torch.__version__}
    if args.eval:
        model.eval()
        with torch.no_grad():
            for name, ids in (("train_loss", train_ids), ("val_loss", val_ids)):
                total = 0.0
                for _ in range(args.eval_iters):
                    x, y = batch(ids, args.batch, args.context, generator)
                    total += F.cross_entropy(model(x).view(-1, len(vocabulary)), y.view(-1)).item()
                result[name] = total / args.eval_iters
    print(json.dumps(result))


def generate(args):
    vocabulary, _, _ = load(args.text)
    model = CharGPT(len(vocabulary), args.layers, args.heads, args.width, args.context).eval()
    ids = torch.zeros((1, 1), dtype=torch.long)
    within, past = [], []
    with torch.no_grad():
        for _ in range(args.tokens):
            begin = time.perf_counter()
            logits = model(ids[:, -args.context:])
            token = logits[:, -1, :].argmax(dim=-1, keepdim=True)
            ids = torch.cat((ids, token), dim=1)
            elapsed = time.perf_counter() - begin
            (within if ids.shape[1] - 1 <= args.context else past).append(elapsed)
    median = lambda xs: sorted(xs)[len(xs) // 2] * 1e6 if xs else None
    print(json.dumps({"us_per_token_within_context": median(within), "us_per_token_past_context": median(past),
                      "tokens": args.tokens, "threads": torch.get_num_threads(), "torch": torch.__version__}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["train", "generate"])
    parser.add_argument("text")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--batch", type=int, default=12)
    parser.add_argument("--iters", type=int, default=2000)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--weight-decay", type=float, default=0.1)
    parser.add_argument("--eval", action="store_true")
    parser.add_argument("--eval-iters", type=int, default=200)
    parser.add_argument("--tokens", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1337)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    (train if args.mode == "train" else generate)(args)


if __name__ == "__main__":
    main()
