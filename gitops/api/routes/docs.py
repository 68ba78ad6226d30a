"""OpenAPI's pages, `/docs` (Swagger UI) and `/redoc`, working offline: their scripts and styles are
served from the installed `fastapi-offline` package (`ASSETS`, mounted at `/static/docs` by `create_app`),
never fetched from a CDN. ReDoc would still show Redocly's logo from its CDN (with a fallback when that
fails): the pages' Content-Security-Policy keeps images, fonts and requests on this controller. With a
read token set (PHOENIX_API_READ_TOKEN), the pages and `/openapi.json` need it too unless
`PHOENIX_API_DOCS_NEED_READ_TOKEN` is false: they list every route and model."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

from gitops.api import auth
from gitops.api.context import Context


def _docs_reader(request: Request, api: Context) -> None:
    if api.settings.api_docs_need_read_token:
        auth.check_reader(request, api.settings.api_read_token, api.settings.api_token)


router = APIRouter(include_in_schema=False, dependencies=[Depends(_docs_reader)])
OPENAPI_URL = "/openapi.json"
ASSETS = str(files("fastapi_offline") / "static")
ASSETS_URL = "/static/docs"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
CSP = "img-src 'self' data:; font-src 'self' data:; connect-src 'self'"


def _offline(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CSP
    return page


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return _offline(get_swagger_ui_html(
        openapi_url=f"{root}{OPENAPI_URL}", title=f"{request.app.title}: API",
        oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT}", swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css", swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png"))


@router.get(OPENAPI_URL)
def openapi_document(request: Request) -> dict[str, Any]:
    document: dict[str, Any] = request.app.openapi()
    return document


@router.get(OAUTH2_REDIRECT)
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return _offline(get_redoc_html(
        openapi_url=f"{root}{OPENAPI_URL}", title=f"{request.app.title}: API",
        redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js", redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
        with_google_fonts=False))
