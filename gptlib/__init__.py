"""gptlib: the small library behind *GPT from the Ground Up*.

Modules, in book order:
    runtime      device, precision, seeding, and the gpu / cpu / smoke size profiles
    reference    the book's formulas as plain functions (attention, masks, encodings, norms, loss)
    tokenizers   characters, BPE (GPT-2, GPT-4's cl100k_base) offline, compact vocabularies
    data         the data registry (URL, sha256, license), offline copies, LM batches
    model        a decoder-only GPT with switchable positions, norms and norm placement
    training     AdamW, warmup + cosine, clipping, AMP, compile, evaluation, checkpoints, DDP
    generation   greedy / temperature / top-k / top-p sampling with a KV cache, streaming
    checkpoints  atomic, code-free checkpoints and "load what the book trained, else train it"
    zoo          the book's named model recipes, loaded or trained on demand
    explorer     the interactive attention explorer (self-contained HTML)
    notebook     glue() and other notebook helpers that also work on Colab
    bench        ``python -m gptlib.bench``: tokens/s, MFU and validation loss
"""
from .runtime import Runtime, get_runtime, seed_everything
from .model import GPT, GPTConfig
from .training import History, TrainConfig, Trainer
from .tokenizers import BPETokenizer, CharTokenizer, CompactVocab
from .generation import complete, generate, stream
from .notebook import glue
from . import explorer   # so that `import gptlib` is enough for gptlib.explorer.show_attention

__version__ = "0.1.0"

__all__ = ["Runtime", "get_runtime", "seed_everything", "GPT", "GPTConfig", "History", "TrainConfig",
           "Trainer", "BPETokenizer", "CharTokenizer", "CompactVocab", "complete", "generate", "stream",
           "glue"]
