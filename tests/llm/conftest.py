"""The fake OpenAI-compatible server, for the model client's tests."""

from tests.fakes.openai_server import fake_openai  # noqa: F401
