"""The pattern library: load and check ``patterns/``, index it in Chroma, search and recommend."""

from core.patterns.library import PatternLibrary
from core.patterns.model import Pattern, Recommendation, SearchHit, SyncFailure, SyncReport

__all__ = ["Pattern", "PatternLibrary", "Recommendation", "SearchHit", "SyncFailure", "SyncReport"]
