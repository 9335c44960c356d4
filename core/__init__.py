"""DifyForge core: every piece of logic the app, the CLI and the tests share. Never imports streamlit."""
