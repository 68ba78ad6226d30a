"""The scripts a guest's provisioning runs, found in the config repo at the revision being applied.

A guest's steps are its `features` (each a script in the scripts folder, upstream's layout:
`lxc_setup/phoenix_hypervisor_feature_install_NAME.sh` for containers, `vm_features/feature_install_NAME.sh`
for VMs), then its `application_script` (a file in the scripts folder itself), in that order. Each step's
identity is the hash of its script and of the input it gets (the guest's effective config as JSON, secret
references left unresolved), so a step runs again exactly when one of them changes.

Called by `gitops.controller.systems.Convergence.plan_options` when provisioning is on; the result rides in
`PlanOptions.provisioning` to the pure planner (`gitops.planner.guests.provisioning`). Reads files, decides nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gitops.config import queries
from gitops.config.estate import Estate
from gitops.config.lxc import LxcGuest

LXC_FEATURE = "lxc_setup/phoenix_hypervisor_feature_install_{name}.sh"
VM_FEATURE = "vm_features/feature_install_{name}.sh"
# Values of the LXC file's top level the upstream feature scripts read beside the guest's own (nvidia).
LXC_FILE_VALUES = ("nvidia_driver_version", "nvidia_repo_url", "nvidia_runfile_url")


@dataclass(frozen=True)
class Step:
    """One script to run in one guest."""

    name: str          # `feature:base_setup`, `application:phoenix_hypervisor_lxc_101.sh`
    script: str        # path relative to the scripts folder, as plans show it
    path: str          # the file in the checkout ("" when it does not exist)
    script_sha256: str
    identity: str      # sha256 of the script's hash and the input's: the step runs again when it changes


@dataclass(frozen=True)
class GuestSteps:
    """A guest's steps, in order, and the JSON they all get on standard input and in a file."""

    target: str
    input: str
    steps: tuple[Step, ...]
    missing: tuple[str, ...] = ()  # scripts the config names that the folder lacks


@dataclass(frozen=True)
class Provisioning:
    """What provisioning runs for a config: the scripts folder and each guest's steps (by target), each
    script's text (by its sha256; text files only), and what is known of the scripts that ran before: the
    text each step identity ran (`knowing`), so that a plan shows a changed script as a unified diff."""

    folder: str
    guests: dict[str, GuestSteps] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    ran: dict[str, str] = field(default_factory=dict)

    def knowing(self, ran: Mapping[str, str]) -> Provisioning:
        """This provisioning, knowing the text of the scripts that ran as the step identities of `ran`."""
        return replace(self, ran={**self.ran, **ran}) if ran else self


def scripts_folder(config_dir: Path, setting: str = "") -> Path:
    """The setting (relative to the config folder) if given; else `bin/` in the config folder when it
    exists; else `../bin`: upstream keeps its configs in `etc/` beside `bin/`."""
    if setting:
        return (config_dir / setting).resolve()
    inside = config_dir / "bin"
    return (inside if inside.is_dir() else config_dir.parent / "bin").resolve()


def guest_input(estate: Estate, guest: Any, vmid: int) -> dict[str, Any]:
    """What the scripts of one guest read: its effective entry, as in the file (plus `ctid` for a
    container and the LXC file's `nvidia_*` values, which upstream's scripts read from the file's top)."""
    data: dict[str, Any] = guest.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(guest, LxcGuest):
        data = {"ctid": str(vmid), **data}
        for key in LXC_FILE_VALUES:
            value = getattr(estate.lxc, key)
            if value is not None:
                data.setdefault(key, value)
    return data


def load_provisioning(estate: Estate, setting: str = "") -> Provisioning:
    """Every guest's steps, with the scripts read from the folder now (so later edits do not leak in)."""
    folder = scripts_folder(estate.directory, setting)
    guests: dict[str, GuestSteps] = {}
    texts: dict[str, str] = {}
    read: dict[str, tuple[str, str, str | None] | None] = {}  # each script once, however many guests run it
    for ref in queries.all_guests(estate):
        guest = queries.effective(estate, ref)
        names = [("feature:" + f, (LXC_FEATURE if ref.kind == "lxc" else VM_FEATURE).format(name=f))
                 for f in guest.features]
        app = getattr(guest, "application_script", None)
        if app:
            names.append(("application:" + app, app))
        if not names:
            continue
        text = json.dumps(guest_input(estate, guest, ref.vmid), sort_keys=True, indent=2)
        input_sha = _sha(text.encode())
        steps: list[Step] = []
        missing: list[str] = []
        for name, relative in names:
            if relative not in read:
                read[relative] = _read(folder, relative)
            found = read[relative]
            if found is None:
                missing.append(relative)
                continue
            path, script_sha, script_text = found
            if script_text is not None:
                texts[script_sha] = script_text
            steps.append(Step(name, relative, path, script_sha, identity(script_sha, input_sha)))
        guests[ref.target] = GuestSteps(ref.target, text, tuple(steps), tuple(missing))
    return Provisioning(str(folder), guests, texts)


def ran_as(earlier: Provisioning) -> dict[str, str]:
    """The text each step of `earlier` (a config that was converged: a review's base) ran as its identity."""
    return {s.identity: earlier.texts[s.script_sha256] for g in earlier.guests.values() for s in g.steps
            if s.script_sha256 in earlier.texts}


def ran_in(provisioning: Provisioning, folder: Path) -> dict[str, str]:
    """The scripts of an earlier revision's scripts `folder`, by the identity each step of `provisioning`
    would have had with them (the guest's input as it is now): a guest that says it ran that identity ran
    that text. A step whose input changed too matches nothing (its earlier input is not known here)."""
    root = folder.resolve()
    read: dict[str, tuple[str, str, str | None] | None] = {}
    out: dict[str, str] = {}
    for steps in provisioning.guests.values():
        input_sha = _sha(steps.input.encode())
        for step in steps.steps:
            if step.script not in read:
                read[step.script] = _read(root, step.script)
            found = read[step.script]
            if found is not None and found[2] is not None and found[1] != step.script_sha256:
                out[identity(found[1], input_sha)] = found[2]
    return out


def identity(script_sha: str, input_sha: str) -> str:
    """A step's identity: its script's hash and its input's, hashed together."""
    return _sha(f"{script_sha}\n{input_sha}".encode())


def _read(folder: Path, relative: str) -> tuple[str, str, str | None] | None:
    """A script of `folder`: its path, sha256 and text (None for a file that is not text); None if absent
    or outside the folder."""
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder) or not path.is_file():
        return None
    data = path.read_bytes()
    try:
        text: str | None = data.decode("utf-8") if b"\x00" not in data else None
    except UnicodeDecodeError:
        text = None
    return str(path), _sha(data), text


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
