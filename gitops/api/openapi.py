"""The OpenAPI document as FastAPI builds it, with error answers declared as what they are: JSON.

FastAPI declares a route's extra answers (`responses={404: {"model": Problem}}`) in the media type of
the route's own answer, so a page's 404 or the metrics' 401 would read as HTML or plain text; every
`HTTPException` and validation error is answered as JSON, whatever the route. `install(app)` wraps
`app.openapi` to move those schemas under `application/json`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

JSON = "application/json"
ERROR_SCHEMAS = ("#/components/schemas/Problem", "#/components/schemas/HTTPValidationError")


def install(app: FastAPI) -> None:
    build = app.openapi

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            errors_as_json(build())
        return build()

    app.openapi = document  # type: ignore[method-assign]


def errors_as_json(doc: dict[str, Any]) -> None:
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            for code, answer in operation.get("responses", {}).items():
                content = answer.get("content", {})
                if not code.isdigit() or int(code) < 400:
                    continue
                for media in [m for m in content if m != JSON]:
                    if content[media].get("schema", {}).get("$ref") in ERROR_SCHEMAS:
                        content.setdefault(JSON, content.pop(media))
