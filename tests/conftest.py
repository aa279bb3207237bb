"""Shared fixtures: the real XLM tokenizer files and data sets in ../shared/data (override with XLM_TEST_DATA)."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("XLM_TEST_DATA", REPO.parent / "shared" / "data"))

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


@pytest.fixture(scope="module")
def one_torch_thread():
    """Small models on a busy 2-core machine: one torch thread avoids OpenMP oversubscription (several times
    faster). Use with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real XLM tokenizer files, configs and data sets; skip the test where it is absent."""
    if not DATA_DIR.is_dir():
        pytest.skip(f"shared test data not found at {DATA_DIR} (set XLM_TEST_DATA to its path)")
    return DATA_DIR


TOKENIZER_FILES = ("vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json")


@pytest.fixture(scope="session")
def make_model(shared_data, tmp_path_factory):
    """Factory: a small random XLM saved in Hub format with the real xlm-mlm-ende-1024 tokenizer (de, en).

    ``make_model("XLMForQuestionAnsweringSimple", seed=1, causal=True)`` returns the folder. Weights are random
    but spread out (large init std) so that top-k orders are not decided by rounding noise.
    """
    import shutil

    import torch

    from xlm.models.xlm import modeling
    from xlm.models.xlm.configuration import XLMConfig

    source = shared_data / "xlm-mlm-ende-1024"
    made: dict[tuple, Path] = {}

    def make(cls_name: str = "XLMWithLMHeadModel", seed: int = 0, **overrides) -> Path:
        key = (cls_name, seed, repr(sorted(overrides.items(), key=str)))
        if key in made:
            return made[key]
        settings = dict(
            vocab_size=64699,
            emb_dim=32,
            n_layers=2,
            n_heads=4,
            n_langs=2,
            lang2id={"de": 0, "en": 1},
            id2lang={0: "de", 1: "en"},
            max_position_embeddings=128,
            dropout=0.0,
            attention_dropout=0.0,
            embed_init_std=0.5,
            init_std=0.2,
            mask_token_id=5,
            start_n_top=3,
            end_n_top=3,
        )
        if cls_name in ("XLMForSequenceClassification", "XLMForTokenClassification"):
            settings["num_labels"] = 3
        settings.update(overrides)
        torch.manual_seed(seed)
        model = getattr(modeling, cls_name)(XLMConfig(**settings)).eval()
        folder = tmp_path_factory.mktemp(cls_name)
        model.save_pretrained(folder)
        for name in TOKENIZER_FILES:
            shutil.copy(source / name, folder / name)
        made[key] = folder
        return folder

    return make


@pytest.fixture(scope="session")
def mini_dir() -> Path:
    """The shipped default model (assets/xlm-explorer-mini)."""
    return Path(__file__).resolve().parents[1] / "assets" / "xlm-explorer-mini"


@pytest.fixture(scope="session")
def precision_trap(mini_dir, tmp_path_factory):
    """The shipped model with a +1000 column added to every FFN output projection: the shift is the same in every
    output dimension, so the layer norm right after removes it and fp32 answers do not change, while bf16 and int8
    lose the real weights' signal beside it (bf16 rounds ~1000 to a multiple of 4; int8's scale becomes 1000/127)."""
    import torch

    import xlm

    model = xlm.XLMWithLMHeadModel.from_pretrained(mini_dir, dtype=torch.float32)
    with torch.no_grad():
        for ffn in model.transformer.ffns:
            ffn.lin2.weight[:, 0] += 1000.0
    folder = tmp_path_factory.mktemp("precision-trap")
    model.save_pretrained(folder)
    xlm.XLMTokenizer.from_pretrained(mini_dir).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def xlmr_tokenizer_dir(shared_data, tmp_path_factory) -> Path:
    """An XLM-R-shaped SentencePiece tokenizer (unigram, trained here in seconds) in Hub format."""
    import _spm

    from xlm import XLMRobertaTokenizer

    folder = _spm.train(shared_data, "unigram", tmp_path_factory.mktemp("xlmr-spm"))
    XLMRobertaTokenizer.from_pretrained(folder).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def make_xlmr(xlmr_tokenizer_dir, tmp_path_factory):
    """Factory: a small random XLM-RoBERTa (or XL with ``xl=True``) in Hub format with the test tokenizer.

    ``make_xlmr("XLMRobertaForQuestionAnswering", seed=1)`` returns the folder. Weights are spread out (large
    init std) so that top-k orders are not decided by rounding noise.
    """
    import shutil

    import torch

    import xlm

    made: dict[tuple, Path] = {}

    def make(cls_name: str = "XLMRobertaForMaskedLM", seed: int = 0, **overrides) -> Path:
        key = (cls_name, seed, repr(sorted(overrides.items(), key=str)))
        if key in made:
            return made[key]
        tokenizer = xlm.XLMRobertaTokenizer.from_pretrained(xlmr_tokenizer_dir)
        settings = dict(
            vocab_size=len(tokenizer),
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=64,
            max_position_embeddings=130,
            type_vocab_size=1,
            layer_norm_eps=1e-5,
            hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0,
            initializer_range=0.3,
            is_decoder="CausalLM" in cls_name,
        )
        settings.update(overrides)
        config_class = xlm.XLMRobertaXLConfig if "XLMRobertaXL" in cls_name else xlm.XLMRobertaConfig
        torch.manual_seed(seed)
        model = getattr(xlm, cls_name)(config_class(**settings)).eval()
        folder = tmp_path_factory.mktemp(cls_name)
        model.save_pretrained(folder)
        for file in xlmr_tokenizer_dir.iterdir():
            shutil.copy(file, folder / file.name)
        made[key] = folder
        return folder

    return make


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for a test module (tests/_browser.py says where it is and how it starts)."""
    from _browser import CHROMIUM, FLAGS
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server():
    """The app built at import, served on a free port of 127.0.0.1 for one test module; skipped without an embedded
    model."""
    from _app_server import serving

    from components.common import discover

    if not discover():
        pytest.skip("no embedded model in assets/ yet (train one or set XLM_EXPLORER_ASSETS)")
    with serving() as url:
        yield url


@pytest.fixture(scope="module")
def client(server):
    """A gradio_client session on :func:`server`."""
    from gradio_client import Client

    return Client(server, verbose=False)
