"""Settings page: provider, model, session-only API key, content logging, budgets, and health."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from core.agents.brain import prompt_versions
from core.config import STRUCTURED_OUTPUT_SETTINGS, Settings
from core.ledger import ledger_health
from core.llm import check_provider
from ui.errors import user_errors
from ui.layout import page_setup
from ui.resources import get_ledger, get_library, library_sync_report
from ui.session import reset_session_settings, set_session_settings
from ui.tables import format_cost

settings = page_setup("Settings", "Choices here last for this browser session only; nothing is written to disk.")
FLASH = "settings.flash"
if FLASH in st.session_state:
    st.success(st.session_state.pop(FLASH))


def _provider_form(current: Settings) -> Settings | None:
    """The settings form; returns the new settings when it was submitted and is valid."""
    provider = current.provider
    with st.form("settings"):
        st.subheader("Provider")
        kind = st.radio("Brain", ["offline", "openai"], index=0 if provider.kind == "offline" else 1,
                        format_func={"offline": "Offline (no key, deterministic)",
                                     "openai": "OpenAI-compatible endpoint"}.get, horizontal=True)
        base_url = st.text_input("Base URL", value=provider.base_url or "",
                                 placeholder="empty = api.openai.com; e.g. http://localhost:11434/v1 for Ollama")
        left, right = st.columns(2)
        model = left.text_input("Model", value=provider.model)
        fallback = right.text_input("Fallback model", value=provider.fallback_model or "",
                                    placeholder="tried after the retries of the main model")
        structured = st.selectbox(
            "Structured output", STRUCTURED_OUTPUT_SETTINGS, index=STRUCTURED_OUTPUT_SETTINGS.index(provider.structured_output),
            help="auto: JSON schema, stepping down to JSON mode (llama.cpp's grammar form, then plain) and then text "
                 "when the server refuses, remembered per endpoint. Fix it for servers that need one mode.")
        configured = f"configured ({provider.key_source or 'set'}), kept on the server" if provider.api_key else None
        entered = st.text_input("API key", type="password", value="",  # a configured key never goes to the browser
                                placeholder=configured or "sk-...",
                                help="Leave empty to keep the configured key. A key entered here is used for this "
                                     "browser session only: never stored, logged or exported.")
        if provider.api_key:
            st.caption(f"An API key is configured on the server (from the {provider.key_source or 'settings'}); "
                       "it is never sent to the browser. Enter one above to override it for this session.")
        versions = prompt_versions()
        prompt_version = st.selectbox(
            "Prompt version", versions,
            index=versions.index(current.prompt_version) if current.prompt_version in versions else 0,
            help="Which core/agents/prompts/<agent>.<version>.md the model brain uses; recorded on every run, "
                 "so Analytics can compare versions. Agents without a file for it keep v1.")
        st.subheader("Ledger and budgets")
        log_content = st.toggle("Record prompt and response text in the ledger", value=current.log_content)
        b1, b2, b3 = st.columns(3)
        per_run = b1.number_input("Max cost per run (USD)", min_value=0.0, value=current.max_cost_usd_per_run,
                                  step=0.01, format="%.2f", placeholder="no limit")
        tokens = b2.number_input("Max tokens per run", min_value=0, value=current.max_tokens_per_run,
                                 step=1000, placeholder="no limit")
        per_day = b3.number_input("Max spend per day, whole app (USD)", min_value=0.0,
                                  value=current.max_cost_usd_per_day, step=0.5, format="%.2f",
                                  placeholder="no limit",
                                  help="Generation is refused once today's spend reaches this.")
        if not st.form_submit_button("Apply for this session", type="primary"):
            return None
    api_key = entered or provider.api_key
    if kind == "openai" and not api_key and not base_url:
        st.error("The OpenAI endpoint needs an API key.")
        st.caption("Enter a key, give the base URL of a local endpoint that needs none, or choose the offline brain.")
        return None
    if not model.strip():
        st.error("Enter a model name.")
        return None
    new = current.with_provider(kind=kind, base_url=base_url.strip() or None, model=model.strip(),
                                fallback_model=fallback.strip() or None, api_key=api_key or None,
                                key_source="session" if entered else provider.key_source)
    new = new.with_provider(structured_output=structured)
    return replace(new, prompt_version=prompt_version, log_content=log_content, max_cost_usd_per_run=per_run,
                   max_tokens_per_run=int(tokens) if tokens is not None else None,
                   max_cost_usd_per_day=per_day)


new_settings = _provider_form(settings)
if new_settings is not None:
    set_session_settings(new_settings)
    st.session_state[FLASH] = f"Settings applied for this session: provider {new_settings.provider.label}."
    st.rerun()
if st.button("Back to the environment's settings"):
    reset_session_settings()
    st.session_state[FLASH] = "Session overrides dropped: back to the environment's settings."
    st.rerun()

st.divider()
st.subheader("Health")
healthy, ledger_message = ledger_health(settings)
ledger = get_ledger(settings)
col1, col2 = st.columns(2)
with col1:
    st.markdown("**Run ledger**")
    (st.success if healthy else st.error)(ledger_message)
    if ledger is not None:
        spent = ledger.spend_today()
        limit = settings.max_cost_usd_per_day
        st.caption(f"Spent today (UTC): {format_cost(spent)}"
                   + (f" of the {format_cost(limit)} daily budget" if limit is not None else " · no daily budget"))
with col2:
    st.markdown("**Pattern index**")
    with user_errors():
        stats = get_library(settings).stats()
        report = library_sync_report(settings)
        st.success(f"{stats['total']} patterns indexed "
                   f"({'Chroma server ' + settings.chroma_url if settings.chroma_url else 'local Chroma'})")
        if report.failed:
            st.warning(f"{len(report.failed)} pattern file(s) failed to load: "
                       + ", ".join(str(source) for source, *_ in report.failed))
st.markdown("**Model provider**")
if settings.provider.kind == "offline":
    st.success("Offline brain: deterministic rules, no endpoint or key needed.")
elif st.button("Check the endpoint", help="One request to the endpoint's /models list, no retries."):
    health = check_provider(settings.provider)
    (st.success if health.ok else st.error)(health.message)
else:
    st.caption(f"{settings.provider.label} at {settings.provider.base_url or 'the OpenAI API'}: not checked yet.")
st.markdown(f"**Data folder:** `{settings.data_dir}`")
