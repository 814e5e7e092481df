"""Public marketplace search: ranking, the index following the packs table, odd input."""

from __future__ import annotations

from handlers.loup import provisioning as prov
from tests.api.loup.conftest import P


def _search(api, q, **params):
    r = api.get(f"{P}/marketplace/search", params={"q": q, **params})
    assert r.status_code == 200, r.text
    return r.json()


def test_search_is_public_and_shaped(api, world):
    body = _search(api, "writer")
    assert body["query"] == "writer"
    assert body["results"] == [
        {
            "creator": "selr-ai",
            "slug": "voice-graded-writer",
            "name": "Voice-Graded Content Writer",
            "description": "Writes LinkedIn posts in your own voice, graded against samples.",
            "pricing_model": "subscription",
            "url": "https://louphq.com/marketplace/selr-ai/voice-graded-writer",
            "install_command": ("npx @louphq/install selr-ai/voice-graded-writer --token <your install token>"),
        }
    ]


def test_name_matches_rank_above_description_matches(api, world):
    in_name = prov.create_pack(world.ids["bob"], "ledger-pro", "Workshop Ledger", "Accounts.")
    in_description = prov.create_pack(world.ids["bob"], "misc", "Misc Tools", "Handy for any workshop day.")
    slugs = [r["slug"] for r in _search(api, "workshop")["results"]]
    assert set(slugs) == {"workshop-kit", in_name.slug, in_description.slug}
    assert slugs[-1] == in_description.slug


def test_more_matching_words_rank_higher_and_prefixes_match(api, world):
    slugs = [r["slug"] for r in _search(api, "voice linkedin")["results"]]
    assert slugs[0] == "voice-graded-writer"
    assert [r["slug"] for r in _search(api, "bookkee")["results"]] == ["ledger-helper"]


def test_empty_and_overlong_queries_return_nothing(api, world):
    assert _search(api, "")["results"] == []
    assert api.get(f"{P}/marketplace/search").json() == {"query": "", "results": []}
    long = "writer " * 40
    body = _search(api, long)
    assert body == {"query": long, "results": []}
    assert _search(api, "w" * 200)["results"] == []  # 200 is still searched (no match here)


def test_fts_syntax_in_queries_is_just_text(api, world):
    for q in (
        '"',
        "writer*",
        "NEAR(a b)",
        "-writer",
        "name:writer",
        "a AND OR NOT",
        "'; DROP TABLE x;--",
        "^*",
    ):
        _search(api, q)
    assert [r["slug"] for r in _search(api, 'voice"-graded')["results"]][0] == "voice-graded-writer"


def test_private_packs_never_appear_and_the_index_follows_updates(api, world):
    hidden = prov.create_pack(world.ids["bob"], "secret-sauce", "Secret Sauce", "Private recipe pack.", public=False)
    assert _search(api, "sauce")["results"] == []
    prov.update_pack(hidden.id, public=True)
    assert [r["slug"] for r in _search(api, "sauce")["results"]] == ["secret-sauce"]
    prov.update_pack(hidden.id, name="Hot Gravy", description="Now public.")
    assert _search(api, "sauce")["results"][0]["name"] == "Hot Gravy"  # slug still matches
    assert _search(api, "gravy")["results"][0]["slug"] == "secret-sauce"
    prov.update_pack(hidden.id, public=False)
    assert _search(api, "gravy")["results"] == []


def test_limit_bounds(api, world):
    for n in range(12):
        prov.create_pack(world.ids["bob"], f"prompt-pack-{n}", f"Prompt Pack {n}", "Prompts.")
    assert len(_search(api, "prompt")["results"]) == 12  # default
    assert len(_search(api, "prompt", limit=3)["results"]) == 3
    for bad in (0, 26):
        assert api.get(f"{P}/marketplace/search", params={"q": "x", "limit": bad}).status_code == 400


def test_packs_matching_every_word_come_before_partial_matches(api, world):
    # "Ledger" in a name outweighs a description hit, but matching both words wins.
    prov.create_pack(world.ids["bob"], "ledger-ledger", "Ledger Ledger Ledger", "Only one of the words.")
    both = prov.create_pack(world.ids["bob"], "tidy-books", "Tidy Books", "A ledger for workshop receipts.")
    slugs = [r["slug"] for r in _search(api, "ledger workshop")["results"]]
    assert slugs[0] == both.slug
    assert {"ledger-ledger", "ledger-helper", "workshop-kit"} <= set(slugs[1:])
