"""Streamlit-side helpers shared by the pages: setup, session settings, cached resources, errors, sidebar."""
