"""DifyForge's Streamlit entry point: the page router (st.navigation) and the shared sidebar."""

from __future__ import annotations

import streamlit as st

from ui.layout import render_sidebar
from ui.session import session_settings

st.set_page_config(page_title="DifyForge", page_icon=":material/account_tree:", layout="wide")

PAGES = [
    st.Page("pages/generate.py", title="Generate", icon=":material/auto_awesome:", default=True),
    st.Page("pages/validate.py", title="Validate", icon=":material/rule:"),
    st.Page("pages/patterns.py", title="Patterns", icon=":material/library_books:"),
    st.Page("pages/history.py", title="History", icon=":material/history:"),
    st.Page("pages/analytics.py", title="Analytics", icon=":material/monitoring:"),
    st.Page("pages/batch.py", title="Batch", icon=":material/stacks:"),
    st.Page("pages/prompt_lab.py", title="Prompt Lab", icon=":material/science:"),
    st.Page("pages/settings.py", title="Settings", icon=":material/settings:"),
]

# The menu is drawn by render_sidebar from PAGES (st.page_link), so Streamlit's own sidebar menu stays
# hidden (client.showSidebarNavigation = false in .streamlit/config.toml): on a fresh server Streamlit
# would otherwise list pages/ by file name until this script has run once.
page = st.navigation(PAGES, position="hidden")
try:
    settings = session_settings()
except ValueError as exc:
    st.error(f"DifyForge's settings are malformed: {exc}")
    st.caption("Fix the environment variable or .streamlit/secrets.toml named above, then reload the page.")
    st.stop()
render_sidebar(settings, PAGES)
page.run()
