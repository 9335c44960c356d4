"""Search with filters, recommendation with explained scores, the capability detector, statistics."""

from __future__ import annotations

import pytest

from core.errors import InputError
from core.patterns.capabilities import detect_capabilities, detect_mode, match_capabilities


def ids(hits) -> list[str]:
    return [h.pattern.id for h in hits]


def test_search_ranks_by_meaning(synced_library):
    hits = synced_library.search("condense a long PDF contract into key points", k=3)
    assert ids(hits)[0] == "fixture-doc-summary"
    assert hits[0].score > hits[1].score >= hits[2].score
    assert ids(synced_library.search("call a REST API", k=1)) == ["fixture-http-digest"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"mode": "advanced-chat"}, ["fixture-support-chat"]),
        ({"complexity": "simple"}, ["fixture-doc-summary", "fixture-http-digest"]),
        ({"tags": ["rag"]}, ["fixture-support-chat"]),
        ({"tags": ["web", "api"]}, ["fixture-http-digest"]),
        ({"tags": ["web", "rag"]}, []),
        ({"node_types": ["document-extractor"]}, ["fixture-doc-summary"]),
        (
            {"node_types": ["llm", "end"], "complexity": "simple"},
            ["fixture-doc-summary", "fixture-http-digest"],
        ),
    ],
)
def test_search_and_list_filters_agree(synced_library, filters, expected):
    assert sorted(ids(synced_library.search("summarize", k=10, **filters))) == expected
    assert [p.id for p in synced_library.list(**filters)] == expected


def test_search_k_limits_results(synced_library):
    assert len(synced_library.search("anything at all", k=2)) == 2
    assert len(synced_library.search("anything at all", k=50)) == 3


@pytest.mark.parametrize("text", ["", "   "])
def test_search_refuses_empty_text(synced_library, text):
    with pytest.raises(InputError, match="empty"):
        synced_library.search(text)


def test_search_refuses_a_k_below_one(synced_library):
    with pytest.raises(InputError, match="k must be at least 1"):
        synced_library.search("x", k=0)


def test_recommend_explains_similarity_capabilities_and_mode(synced_library):
    best, *rest = synced_library.recommend(
        "A customer support chatbot that answers questions from our product manual knowledge base "
        "and remembers the conversation."
    )
    assert best.pattern.id == "fixture-support-chat"
    assert best.capability_match == 1.0
    assert best.explanation.startswith(f"similarity {best.similarity:.2f} (closeness")
    assert "; covers 2/2 capabilities" in best.explanation
    assert "(memory, retrieval)" in best.explanation and "mode matches (advanced-chat)" in best.explanation
    assert len(rest) == 2 and all(r.score < best.score for r in rest)
    assert "mode differs (workflow, wanted advanced-chat)" in rest[0].explanation
    assert best.score == pytest.approx(0.55 * best.closeness + 0.30 + 0.15, abs=1e-3)
    assert f"(closeness {best.closeness:.2f} among the candidates)" in best.explanation
    assert max(r.closeness for r in (best, *rest)) == 1.0 and all(0 <= r.closeness <= 1 for r in rest)


def test_recommend_uses_given_capabilities_and_mode(synced_library):
    recs = synced_library.recommend("a small helper", k=3, capabilities={"http"}, mode="workflow")
    assert recs[0].pattern.id == "fixture-http-digest"
    assert "covers 1/1 capabilities (http)" in recs[0].explanation
    assert all("lacks http" in r.explanation for r in recs[1:])


def test_recommend_without_checkable_capabilities_rescales_weights(synced_library):
    (rec,) = synced_library.recommend("write a short poem", k=1, capabilities=set(), mode="workflow")
    assert "no node-level capabilities to match" in rec.explanation
    expected = (0.55 * rec.closeness + 0.15 * (rec.pattern.mode == "workflow")) / 0.70
    assert rec.score == pytest.approx(expected, abs=1e-3)


def test_recommend_refuses_an_empty_requirement(synced_library):
    with pytest.raises(InputError):
        synced_library.recommend("  ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Summarize an uploaded PDF report", {"file_input", "summarization"}),
        ("Classify incoming emails and route them", {"classification"}),
        (
            "A store chatbot that routes questions to different knowledge bases",
            {"classification", "retrieval"},
        ),
        ("Check comments; block them with a reason or approve them", {"branching"}),
        ("Fetch a web page from a URL", {"http"}),
        ("A chatbot that remembers the conversation using our knowledge base", {"memory", "retrieval"}),
        ("For each item in a list of products, write a slogan", {"iteration"}),
        ("Translate the text into German", {"translation"}),
    ],
)
def test_capability_detector(text, expected):
    assert expected <= detect_capabilities(text)


@pytest.mark.parametrize(
    ("text", "not_expected"),
    [
        ("Classify emails and write a reply draft for each category", "iteration"),  # branches, not a list
        ("Describe an uploaded image and suggest hashtags", "file_input"),  # vision, not document extraction
        ("Call the weather API for a city", "tool"),  # an HTTP call
    ],
)
def test_capability_detector_avoids_known_false_positives(text, not_expected):
    assert not_expected not in detect_capabilities(text)


def test_mode_detection():
    assert detect_mode("a chatbot that remembers what I said") == "advanced-chat"
    assert detect_mode("summarize a PDF") == "workflow"


def test_capability_match_needs_node_types_and_chat_mode():
    match = match_capabilities(
        {"retrieval", "memory", "summarization"}, ["knowledge-retrieval", "llm"], "workflow"
    )
    assert match.covered == ("retrieval",) and match.missing == ("memory",)  # summarization is not checkable
    assert match.ratio == 0.5
    chat = match_capabilities({"conversation_vars"}, ["assigner"], "advanced-chat")
    assert chat.ratio == 1.0


def test_stats_counts(synced_library):
    stats = synced_library.stats()
    assert stats["total"] == 3
    assert stats["by_source"] == {"builtin": 3}
    assert stats["by_mode"] == {"workflow": 2, "advanced-chat": 1}
    assert stats["by_complexity"] == {"simple": 2, "moderate": 1}
    assert stats["by_node_type"]["llm"] == 3 and stats["by_node_type"]["http-request"] == 1
    assert "custom-note" not in stats["by_node_type"] and "" not in stats["by_node_type"]
