"""Each API's docs page renders its 3.1 document in headless Chromium (Debian's chromium)."""

from __future__ import annotations

import pytest

from server.apis import APIS

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def count_operations(document: dict) -> int:
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return sum(1 for item in document["paths"].values() for m in item if m in methods)


def test_docs_render_every_operation_of_each_api(serve, browser, tmp_path):
    server = serve(workers=1)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    for name, api in APIS.items():
        base = api.base_path(combined=True)
        page.goto(f"{server.url}{base}/docs")
        page.wait_for_selector(".opblock", timeout=20_000)
        assert page.locator(".opblock").count() == count_operations(api.document)
        assert "OAS 3.1" in page.locator(".info .version-stamp, .info").first.inner_text()
        assert api.document["info"]["title"] in page.locator(".info .title").inner_text()
        shot = tmp_path / f"docs-{name}.png"
        page.screenshot(path=str(shot), full_page=False)
        assert shot.stat().st_size > 10_000  # docs/screenshots/docs-gvnr.png is one of these, looked at
