"""The Settings page never sends a server-side API key to the browser; it says one is configured."""

from __future__ import annotations

from tests.app.conftest import open_page

SERVER_KEY = "sk-server-" + "Q7wE9rT1yU3iO5pA"


def _everything_sent(at) -> str:
    """Every widget value, placeholder, label and text of the page, as the browser receives them."""
    parts = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    parts += [str(w.value) for w in at.text_input]
    return "\n".join(parts)


def test_a_key_from_the_environment_never_reaches_a_widget(empty_data, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SERVER_KEY)
    at = open_page("settings")
    key_box = next(w for w in at.text_input if w.label == "API key")
    assert key_box.value == ""
    sent = _everything_sent(at)
    assert SERVER_KEY not in sent and "Q7wE9rT1yU3iO5pA" not in sent
    assert "configured (environment)" in sent and "never sent to the browser" in sent


def test_applying_without_a_new_key_keeps_the_server_key_and_a_session_key_overrides_it(empty_data, monkeypatch):
    from tests.app.conftest import click

    monkeypatch.setenv("OPENAI_API_KEY", SERVER_KEY)
    at = open_page("settings")
    next(w for w in at.text_input if w.label == "Model").input("gpt-4o")
    click(at, "Apply for this session")
    assert at.session_state["difyforge.settings"].provider.api_key == SERVER_KEY
    assert SERVER_KEY not in _everything_sent(at)
    next(w for w in at.text_input if w.label == "API key").input("sk-session-" + "Z1x2C3v4B5n6")
    click(at, "Apply for this session")
    provider = at.session_state["difyforge.settings"].provider
    assert provider.api_key == "sk-session-Z1x2C3v4B5n6" and provider.key_source == "session"
    assert "sk-session-Z1x2C3v4B5n6" not in _everything_sent(at)
