"""JSON Schemas of the four files, generated from the pydantic models, for editors and CI.

Written by `phoenix-gitops schema --out DIR`; `configs-example/` files point `$schema` at them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gitops.config.estate import MODELS

__all__ = ["MODELS", "json_schema", "schema_name", "write_schemas"]


def schema_name(config_file: str) -> str:
    return config_file.replace(".json", ".schema.json")


def json_schema(config_file: str) -> dict[str, Any]:
    schema = MODELS[config_file].model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = config_file
    _allow_extensions(schema)
    return schema


def _allow_extensions(node: Any) -> None:
    """Objects forbid unknown keys but allow `x-*` ones, as the models do."""
    if isinstance(node, dict):
        if node.get("additionalProperties") is False:
            node.setdefault("patternProperties", {})["^x-"] = {}
        for value in node.values():
            _allow_extensions(value)
    elif isinstance(node, list):
        for value in node:
            _allow_extensions(value)


def write_schemas(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in MODELS:
        path = out / schema_name(name)
        path.write_text(json.dumps(json_schema(name), indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
