"""The book's data: a registry of verified files, their parsers, splits, batches and padding.

    registry   every file: canonical URL(s), sha256, licence, citation; fetch() / fetch_file()
    loaders    load_text, load_wikitext2, load_rt_polarity, ..., load_wnut17, load_fra_eng, ...
    splits     stratified_split, classification_data, instruction_splits (deterministic)
    collate    pad_sequences, collate_classification, collate_causal_lm (padding, masks, -100)
    lm         train_val_split and get_batch for one long token stream

Everything public is importable from ``gptlib.data`` directly (``data.load_text(...)``).
"""
from .registry import (REGISTRY, Archive, ChecksumError, DataError, DataFile, Dataset, DataUnavailableError,
                       Source, UnknownDatasetError, cache_dir, data_dirs, fetch, fetch_file, get_dataset,
                       get_file, install_bytes, sha256_of)
from .loaders import (WNUT17_TYPES, load_fra_eng, load_instructions, load_movietweetings, load_rt_polarity,
                      load_sms_spam, load_squad_dev, load_text, load_uci_sentiment, load_wikitext2, load_wnut17,
                      normalize_french_spacing)
from .splits import (CLASSIFICATION_SETS, ClassificationData, classification_data, instruction_splits,
                     stratified_split)
from .collate import IGNORE_INDEX, collate_causal_lm, collate_classification, pad_sequences
from .lm import get_batch, train_val_split
from . import collate, lm, loaders, registry, splits

__all__ = [
    "REGISTRY", "Archive", "ChecksumError", "DataError", "DataFile", "Dataset", "DataUnavailableError", "Source",
    "UnknownDatasetError", "cache_dir", "data_dirs", "fetch", "fetch_file", "get_dataset", "get_file",
    "install_bytes", "sha256_of",
    "WNUT17_TYPES", "load_fra_eng", "load_instructions", "load_movietweetings", "load_rt_polarity",
    "load_sms_spam", "load_squad_dev", "load_text", "load_uci_sentiment", "load_wikitext2", "load_wnut17",
    "normalize_french_spacing",
    "CLASSIFICATION_SETS", "ClassificationData", "classification_data", "instruction_splits", "stratified_split",
    "IGNORE_INDEX", "collate_causal_lm", "collate_classification", "pad_sequences",
    "get_batch", "train_val_split",
]
