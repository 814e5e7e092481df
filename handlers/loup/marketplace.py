"""loup: handlers for marketplace operations (see specs/loup.json)."""

from __future__ import annotations

from generated.loup.models import MarketplaceResult, MarketplaceSearchResponse
from handlers.loup import access, search
from handlers.loup.provisioning import install_command
from server.settings import current


def search_marketplace(q: str | None = None, limit: int = 12) -> tuple[dict, int, dict[str, str]]:
    """GET /api/v1/marketplace/search: public, ranked; empty or over-long q -> no results."""
    headers = access.anonymous()
    site = current().loup_site_url.rstrip("/")
    query = q or ""
    results = [
        MarketplaceResult(
            creator=hit.creator,
            slug=hit.slug,
            name=hit.name,
            description=hit.description,
            pricing_model=hit.pricing_model,
            url=f"{site}/marketplace/{hit.creator}/{hit.slug}",
            install_command=install_command(hit.creator, hit.slug),
        )
        for hit in search.search(query, limit)
    ]
    body = MarketplaceSearchResponse(query=query, results=results)
    return body.model_dump(mode="json", exclude_none=True), 200, headers
