"""Data-parallel training: a 2-process DDP step (gloo, CPU) equals the single-process step."""
import os
import socket

import torch
import torch.multiprocessing as mp

from gptlib.model import GPT, GPTConfig
from gptlib.runtime import get_runtime
from gptlib.training import TrainConfig, Trainer, init_distributed

CFG = dict(vocab_size=20, block_size=8, n_layer=2, n_head=2, n_embd=16)
TCFG = dict(max_steps=3, batch_size=4, lr=1e-2, warmup_steps=0, eval_interval=0, eval_iters=1,
            progress=False, log_interval=1)
BATCH = torch.randint(0, 20, (3, 8, 9), generator=torch.Generator().manual_seed(0))   # 3 steps × 8 rows


def run(rank: int, world: int, out: str | None = None):
    torch.manual_seed(0)
    model = GPT(GPTConfig(**CFG))
    per = 8 // world
    steps = iter(range(10))

    def batch_fn(split, gen):
        b = BATCH[next(steps) % 3, rank * per:(rank + 1) * per]
        return b[:, :-1], b[:, 1:]
    rt = get_runtime("smoke", "cpu")
    if world > 1:
        init_distributed(rt)
    t = Trainer(model, TrainConfig(**{**TCFG, "batch_size": per}), rt, batch_fn=batch_fn, ddp=world > 1)
    for _ in range(3):
        t.train_step()
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    state["exp_avg_sq"] = torch.cat([s["exp_avg_sq"].flatten() for s in t.optimizer.state.values()])
    if out is not None and rank == 0:
        torch.save(state, out)
    return state


def _worker(rank, world, port, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    run(rank, world, out)
    torch.distributed.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_ddp_matches_single_process(tmp_path):
    single = run(0, 1)
    out = str(tmp_path / "ddp.pt")
    mp.spawn(_worker, args=(2, free_port(), out), nprocs=2, join=True)
    ddp = torch.load(out, weights_only=True)
    for k in single:
        torch.testing.assert_close(ddp[k], single[k], atol=1e-6, rtol=1e-5, msg=f"{k} differs")
