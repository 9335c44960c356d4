"""The model client: chat completions through any OpenAI-compatible endpoint, with retries,
fallback, structured output, per-attempt usage records and the run's budget."""

from core.llm.budget import RunBudget
from core.llm.client import NO_KEY, ChatClient, Completion, ProviderHealth, check_provider, render_messages
from core.llm.errors import ModelRefused, classify

__all__ = [
    "ChatClient",
    "Completion",
    "ModelRefused",
    "NO_KEY",
    "ProviderHealth",
    "RunBudget",
    "check_provider",
    "classify",
    "render_messages",
]
