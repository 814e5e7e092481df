"""loup: handlers for runtime operations (see specs/loup.json)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from generated.loup.models import (
    ApiV1RuntimeInstallsGetResponse,
    ApiV1RuntimeWhatsNewGetResponse,
    RuntimeDisabled,
    RuntimeInstall,
    RuntimeInvokeResponse,
    RuntimeSkill,
    RuntimeWhatsNew,
)
from generated.loup.models import Error as RuntimeErrorBody
from handlers.loup import access, catalog, invocations
from handlers.loup.provisioning import install_command
from storage import db

DISABLED_MESSAGE = (
    "Hosted running is switched off for this Skill Pack. Install it and run it locally in your "
    "own agent: {command}"
)


def list_runtime_installs() -> tuple[dict, int, dict[str, str]]:
    """GET /api/v1/runtime/installs: the one pack bound to this install token."""
    info, headers = access.install()
    owned = catalog.owned(info["install_id"])
    item = RuntimeInstall(
        install_id=owned.install.id,
        status=owned.install.status,
        creator=owned.creator.handle,
        slug=owned.pack.slug,
        name=owned.pack.name,
        version=catalog.current_version(owned),
        description=owned.pack.description,
        local=True,
        hosted=owned.pack.hosted_runtime,
    )
    body = ApiV1RuntimeInstallsGetResponse(data=[item])
    return body.model_dump(mode="json", exclude_none=True), 200, headers


async def invoke_runtime_skill(request: Request) -> JSONResponse:
    """POST /api/v1/runtime/invoke: 410 with install guidance unless hosted_runtime is on.

    Native async: the model call may take a minute and must not hold a WSGI handler thread.
    """
    body = await request.json()  # already validated against the spec
    owned, headers = await db.in_thread(_owned_install)
    if not owned.pack.hosted_runtime:
        command = install_command(owned.creator.handle, owned.pack.slug)
        disabled = RuntimeDisabled(
            ok=False,
            error=RuntimeErrorBody(
                code="hosted_runtime_disabled",
                message=DISABLED_MESSAGE.format(command=command),
                retryable=False,
            ),
        )
        return JSONResponse(disabled.model_dump(mode="json"), 410, headers)
    result = await invocations.invoke(owned, body["prompt"], body.get("message_text"), headers)
    out = RuntimeInvokeResponse(ok=True, data=result)
    return JSONResponse(out.model_dump(mode="json", exclude_none=True), 200, headers)


def _owned_install() -> tuple[catalog.Owned, dict[str, str]]:
    info, headers = access.install()
    return catalog.owned(info["install_id"]), headers


def runtime_whats_new() -> tuple[dict, int, dict[str, str]]:
    """GET /api/v1/runtime/whats-new: approved releases newest first, with their changelogs."""
    info, headers = access.install()
    owned = catalog.owned(info["install_id"])
    versions = catalog.approved_versions(owned.pack.id)
    latest = versions[0].version if versions else catalog.UNRELEASED
    installed = owned.install.installed_version
    items = [
        {"type": "version", "title": f"v{v.version}", "body": v.changelog or f"Version {v.version}"}
        for v in versions
    ]
    feed = [
        {
            **item,
            "version": v.version,
            "released_at": v.approved_at.isoformat() if v.approved_at else None,
            "sha256": v.sha256,
            "installed": v.version == installed,
        }
        for item, v in zip(items, versions, strict=True)
    ]
    data = RuntimeWhatsNew(
        skill=RuntimeSkill(
            creator=owned.creator.handle, slug=owned.pack.slug, name=owned.pack.name, version=latest
        ),
        items=items,
        feed=feed,
    )
    return (
        ApiV1RuntimeWhatsNewGetResponse(data=data).model_dump(mode="json", exclude_none=True),
        200,
        headers,
    )
