"""gptlib: the small library behind *GPT from the Ground Up*.

Modules, in book order (where a new thing belongs):
    runtime      device, precision, seeding, and the gpu / cpu / smoke size profiles
    settings     every GPTLIB_* environment variable, read in one place
    reference    the book's formulas as plain functions (attention, masks, encodings, norms, loss)
    tokenizers   characters, BPE (GPT-2, GPT-4's cl100k_base) offline, compact vocabularies
    data         the data registry (URL, sha256, licence, offline copies) and its loaders; finite
                 task splits (splits), padding and loss masks (collate), LM token streams (lm)
    model        a decoder-only GPT: trunk (embeddings → blocks → final norm) and tied LM head;
                 padding masks, position ids, input embeddings, KV cache; one ModelOutput
    heads        task heads on the trunk: sequence classification (last real token), token labels
    lora         low-rank adapters: inject, freeze, count, merge and unmerge
    pretrained   OpenAI's GPT-2 weights in (load_gpt2) and Hugging Face folders out (export_gpt2)
    training     the Trainer: token streams or finite datasets, AdamW, schedule, AMP, evaluation
                 with metrics, checkpoints and resume, DDP
    recipes      the one registry of training recipes (the zoo's shared models, the bench presets)
    zoo          the book's trained models, loaded or trained on demand
    generation   sampling (greedy / temperature / top-k / top-p), KV cache, batched padded
                 generation with per-row stopping, logit processors, streaming
    prompting    prompt formats: instructions, dialogue turns, few-shot demonstrations
    distillation knowledge-distillation loss and speculative decoding
    metrics      task metrics from the ecosystem's libraries (scikit-learn, sacrebleu, seqeval,
                 rouge-score), SQuAD EM/F1, bits per byte, diversity and ranking metrics
    compute      training compute (6·N·D), published accelerator peaks, time and cost of a run
    checkpoints  atomic, code-free checkpoints and "load what the book trained, else train it"
    atomic       the one helper for writing files atomically (temp file, then rename)
    explorer     the interactive attention explorer (self-contained HTML)
    notebook     glue() and other notebook helpers that also work on Colab
    exercises    automatic checks for the chapters' code exercises
    bench        ``python -m gptlib.bench``: tokens/s, MFU and validation loss
"""
from .runtime import Runtime, get_runtime, seed_everything
from .model import GPT, GPTConfig, ModelOutput
from .training import History, TrainConfig, Trainer
from .tokenizers import BPETokenizer, CharTokenizer, CompactVocab
from .generation import complete, generate, generate_batch, stream
from .notebook import glue
from . import explorer   # so that `import gptlib` is enough for gptlib.explorer.show_attention
from . import exercises  # gptlib.exercises.attempt / check in the chapters' exercise cells

__version__ = "0.2.0"

__all__ = ["Runtime", "get_runtime", "seed_everything", "GPT", "GPTConfig", "ModelOutput", "History",
           "TrainConfig", "Trainer", "BPETokenizer", "CharTokenizer", "CompactVocab", "complete", "generate",
           "generate_batch", "stream", "glue"]
