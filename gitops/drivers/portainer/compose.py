"""The stack file as deployed: the compose file from the config repo, with `traefik_labels` and `files` merged in.

`render_stacks(estate)` is called before planning (controller, CLI) with the estate of the revision
being applied; its result feeds `gitops.planner.portainer.desired.desired_stacks`. Files are read from
the config directory (the checkout of that revision) and must stay inside it.

- `traefik_labels` of a service are added to that service's `labels` (a list, or a mapping when the
  compose file uses one); labels already there are kept, a label the config sets wins.
- `files` become compose configs with inline `content` (Compose spec; docker compose >= 2.23 mounts
  them in standalone mode too), mounted at `destination_in_container` in every service of the stack
  (upstream mounted them stack-wide too). `$` in a file is written `$$` so compose does not
  interpolate it. Portainer has no file route for standalone stacks; this keeps the file in the stack.
- With neither, the compose file is deployed byte for byte (comments kept); with either, it is
  re-emitted as YAML (comments lost). Secrets are not resolved in compose files or `files`: use
  variables for them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from gitops.config.estate import Estate
from gitops.config.stacks import StackEnvironment

MAX_FILE_BYTES = 1 << 20
# libyaml when PyYAML was built with it (ten times faster; the same YAML out).
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def render_stacks(estate: Estate) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]]:
    """The deployed stack file of every (stack, environment) the VMs place, and why one did not render."""
    rendered: dict[tuple[str, str], str] = {}
    problems: dict[tuple[str, str], str] = {}
    wanted = {(ref.name, ref.environment) for vm in estate.vms.vms for ref in vm.docker_stacks}
    for stack_name, env_name in sorted(wanted):
        config = estate.stacks.docker_stacks.get(stack_name)
        environment = config.environments.get(env_name) if config else None
        if config is None or environment is None or config.git_url:
            continue
        try:
            text = read_repo_file(estate.directory, config.compose_file_path)
            files = [(f.source, read_repo_file(estate.directory, f.source), f.destination_in_container)
                     for f in environment.files]
            rendered[(stack_name, env_name)] = render(text, environment, files)
        except ComposeError as exc:
            problems[(stack_name, env_name)] = str(exc)
    return rendered, problems


class ComposeError(Exception):
    """A compose file (or a file it takes) that cannot be read or merged."""


def read_repo_file(directory: Path, relative: str) -> str:
    """The text of `relative` inside `directory`; refuses paths that leave it."""
    base = directory.resolve()
    path = (base / relative).resolve()
    if Path(relative).is_absolute() or not path.is_relative_to(base):
        raise ComposeError(f"{relative} is outside the config directory")
    if not path.is_file():
        raise ComposeError(f"{relative} does not exist in the config repository")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ComposeError(f"{relative} is larger than {MAX_FILE_BYTES} bytes")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ComposeError(f"{relative} cannot be read: {exc}") from None


def render(text: str, environment: StackEnvironment, files: list[tuple[str, str, str]]) -> str:
    """The compose file with the environment's labels and files merged in."""
    labels = {name: service.traefik_labels for name, service in environment.services.items() if service.traefik_labels}
    if not labels and not files:
        return text
    try:
        data = yaml.load(text, Loader=_LOADER)  # a safe loader (CSafeLoader or SafeLoader)
    except yaml.YAMLError as exc:
        raise ComposeError(f"the compose file is not YAML: {str(exc).splitlines()[0]}") from None
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict) or not services:
        raise ComposeError("the compose file has no services")
    for name, wanted in labels.items():
        service = services.get(name)
        if not isinstance(service, dict):
            raise ComposeError(f"traefik_labels name service '{name}', which the compose file does not have "
                               f"(it has: {', '.join(sorted(map(str, services)))})")
        service["labels"] = _merged_labels(service.get("labels"), wanted)
    if files:
        configs = data.setdefault("configs", {})
        if not isinstance(configs, dict):
            raise ComposeError("the compose file's top-level configs is not a mapping")
        for source, content, destination in files:
            key = config_name(source)
            configs[key] = {"content": content.replace("$", "$$")}
            for service in services.values():
                if isinstance(service, dict):
                    mounts = service.setdefault("configs", [])
                    if not isinstance(mounts, list):
                        raise ComposeError("a service's configs is not a list")
                    mounts.append({"source": key, "target": destination})
    return str(yaml.dump(data, Dumper=_DUMPER, sort_keys=False, default_flow_style=False, allow_unicode=True,
                         width=4096))


def config_name(source: str) -> str:
    """A compose config name for a repo file: `phx-` and its path, [a-z0-9_-] only."""
    return "phx-" + re.sub(r"[^a-z0-9_-]+", "-", source.lower()).strip("-")


def _merged_labels(existing: Any, wanted: list[str]) -> Any:
    pairs = [label.split("=", 1) if "=" in label else [label, ""] for label in wanted]
    if isinstance(existing, dict):
        merged = dict(existing)
        merged.update({k: v for k, v in pairs})
        return merged
    current = [str(x) for x in existing] if isinstance(existing, list) else []
    keys = {k for k, _ in pairs}
    kept = [x for x in current if x.split("=", 1)[0] not in keys]
    return kept + list(wanted)
