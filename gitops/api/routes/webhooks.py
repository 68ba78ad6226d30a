"""Webhooks from forges: checked against PHOENIX_WEBHOOK_SECRET; a push wakes the loop, a pull-request
event gets a read-only review."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Path, Request

from gitops import errors
from gitops.api.context import API, Api, Context, problems
from gitops.api.models import Ignored, Queued, ReviewQueued
from gitops.controller.triggers import Trigger
from gitops.source import (
    UnknownProviderError,
    event_type,
    parse_pull_request,
    parse_push,
    same_repository,
    verify_webhook,
)

router = APIRouter(prefix=API, tags=["webhooks"])
PROVIDERS = "github, gitlab, gitea, bitbucket or generic"
BODY = {"requestBody": {"description": "the forge's event, as it sent it (signed)", "required": False,
                        "content": {"application/json": {"schema": {}}}}}


@router.post("/webhooks/{provider}", status_code=202, response_model=Queued | ReviewQueued | Ignored,
             response_model_exclude_unset=True, responses=problems(400, 401, 404, 503), openapi_extra=BODY)
async def webhook(api: Context, request: Request,
                  provider: str = Path(description=PROVIDERS)) -> Queued | ReviewQueued | Ignored:
    """A push wakes the loop; a pull request is validated and planned read-only, then commented on."""
    body = await request.body()
    headers = dict(request.headers)
    settings = api.settings
    try:
        valid = verify_webhook(provider, headers, body, settings.webhook_secret)
    except UnknownProviderError as exc:
        raise HTTPException(404, str(exc)) from None
    if not valid:
        raise HTTPException(401, "invalid or missing webhook signature"
                            + ("" if settings.webhook_secret else " (no PHOENIX_WEBHOOK_SECRET is set)"))
    kind = event_type(provider, headers)
    if kind == "ignored":
        return Ignored(ignored="not a push or a pull-request event")
    if kind == "pull_request":
        return _pull_request(api, provider, headers, body)
    try:
        push = parse_push(provider, body, branch=settings.git_branch)
    except errors.SourceError as exc:
        raise HTTPException(400, str(exc)) from None
    if push.branch is not None and push.branch != settings.git_branch:
        return Ignored(ignored=f"push to {push.branch}, the controller follows {settings.git_branch}")
    return api.enqueue(Trigger("webhook", revision=push.after_sha, source=provider))


def _pull_request(api: Api, provider: str, headers: dict[str, str], body: bytes) -> ReviewQueued | Ignored:
    try:
        pr = parse_pull_request(provider, headers, body)
    except errors.SourceError as exc:
        raise HTTPException(400, str(exc)) from None
    if not pr.wants_review:
        return Ignored(ignored=f"pull request #{pr.number} was {pr.action}")
    if not same_repository(pr.repo, api.settings.git_url, api.settings.forge_repo):
        return Ignored(ignored=f"pull request of {pr.repo}, not of the config repository")
    if not api.controller.review(pr):
        return Ignored(ignored="pull-request reviews are turned off (PHOENIX_PR_REVIEWS=false)")
    return ReviewQueued(queued="review", pull_request=pr.number, head=pr.head_sha)
