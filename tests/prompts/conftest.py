"""Fixtures of the prompt-lab tests: the scripted fake model, a small eval file (the pattern library is the
session's, in ``tests/conftest.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core.agents.prompt_store import PromptStore
from core.config import ProviderConfig, Settings
from tests.prompts.scripted_model import answer, thorough_prompt

CASES = [
    {"id": "email-triage",
     "requirement": "Classify incoming customer emails as complaint, refund request, or general inquiry and write "
                    "a suitable reply draft for each category.",
     "expect": {"mode": "workflow", "nodes_all": ["question-classifier", "llm"], "classes": 3}},
    {"id": "doc-summary",
     "requirement": "Summarize an uploaded PDF report into an executive summary of at most 200 words.",
     "expect": {"mode": "workflow", "nodes_all": ["start", "document-extractor", "llm", "end"]}},
    {"id": "plain-answer",
     "requirement": "Rewrite the input text in a friendlier tone.",
     "expect": {"mode": "workflow", "nodes_all": ["llm", "end"]}},
]


@pytest.fixture
def eval_file(tmp_path) -> Path:
    path = tmp_path / "small-eval.yaml"
    path.write_text(yaml.safe_dump({"cases": CASES}, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def model_settings(fake_openai, tmp_path) -> Settings:
    """The scripted model over the fake server (gpt-4o-mini, so costs are priced)."""
    fake_openai.set_responder(answer)
    provider = ProviderConfig(kind="openai", base_url=fake_openai.base_url, api_key="test-key", model="gpt-4o-mini",
                              timeout_s=5)
    return Settings(data_dir=tmp_path / "data", provider=provider, repair_rounds=1)


@pytest.fixture
def thorough(model_settings) -> str:
    """A user version ``thorough`` whose requirements prompt the scripted model rewards."""
    store = PromptStore(model_settings.data_dir)
    store.create("thorough", agent="requirements", parent="v1",
                 text=thorough_prompt(store.prompt("requirements", "v1")), note="name every class and file")
    return "thorough"


@pytest.fixture
def ledger(model_settings):
    from core.ledger import Ledger

    led = Ledger.open(model_settings)
    yield led
    led.close()
