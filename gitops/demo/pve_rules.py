"""PVE's refusals that fakepve 0.5.0 lets through: a mixin of the simulated node.

Each rule refuses as PVE 8.4 does, with PVE's message and status; the comment above it names the PVE
source file it was read from (branches `stable-8` of proxmox/pve-storage, `stable-bookworm` of
proxmox/pve-container and proxmox/qemu-server). Rules fakepve already keeps are listed here too, so
this module is the one place that says what the simulator refuses beyond the API schema:

- `POST .../storage/{storage}/download-url` with `content=import`: the file name must end `.ova`,
  `.qcow2`, `.raw` or `.vmdk` (400, `filename: invalid filename or wrong extension`), `iso` takes
  `.iso`/`.img` and `vztmpl` `.tar[.gz|.xz|.zst|.bz2]` (400, `filename: wrong file extension`).
  Added here.
- `import-from=STORE:import/NAME` on a VM disk: PVE parses the volume name, which must end `.ova`,
  `.ovf`, `.qcow2`, `.raw` or `.vmdk` (500, `unable to parse directory volume name 'import/NAME'`).
  Added here.
- Migrating a container with a bind or device mount: the migration task fails with `cannot migrate
  local bind mount point 'mp0'` unless the mount says `shared=1`. Added here.
- Cloning a container with a bind or device mount: 500 `unable to clone mountpoint 'mp0' (type bind)`.
  fakepve keeps it.
- Guest agent: `file-write` content is at most 61,440 characters, `exec` input-data 65,536 (400,
  `value may only be N characters long`). fakepve keeps them (from the schema).
- Bind mounts, device passthrough, feature flags other than `nesting` (any on a privileged container)
  and hookscripts: only `root@pam` logged in with its password may set them; an API token is never
  `root@pam`, even root's own (403, `Permission check failed (... is only allowed for root@pam)`).
  fakepve checks them once access control is in use; added here for tokens before then.
"""

from __future__ import annotations

import re
from typing import Any

from fakepve import TaskError
from fakepve.lxc import mount_type, parse_mount
from fakepve.model import PveError
from fakepve.qemu import split_drive, volume_ref

# pve-storage src/PVE/Storage.pm: $SAFE_CHAR_CLASS_RE, $UPLOAD_IMPORT_EXT_RE_1, $IMPORT_EXT_RE_1,
# $ISO_EXT_RE_0, $VZTMPL_EXT_RE_1.
SAFE_CHARS = r"[a-zA-Z0-9\-.+=_]"
SAFE_CHARS_WITH_SPACE = r"[ a-zA-Z0-9\-.+=_]"
UPLOAD_IMPORT_NAME = re.compile(rf"{SAFE_CHARS}+\.(ova|qcow2|raw|vmdk)$")
IMPORT_VOLNAME = re.compile(rf"import/({SAFE_CHARS_WITH_SPACE}+\.(ova|ovf|qcow2|raw|vmdk))$")
ISO_NAME = re.compile(r"[^/]+\.(?:iso|img)$", re.I)
VZTMPL_NAME = re.compile(r"[^/]+\.(?:tar(?!\.)|tar\.(?:gz|xz|zst|bz2))$", re.I)

# qemu-server src/PVE/API2/Qemu/Agent.pm: file-write `content` maxLength 60 * 1024 ("smaller than our
# 64k POST limit"), exec `input-data` maxLength 64 * 1024.
AGENT_FILE_WRITE_MAX = 60 * 1024
AGENT_EXEC_INPUT_MAX = 64 * 1024

_CT_MOUNT = re.compile(r"^(rootfs|mp\d+)$")


def normalize_content_filename(name: str) -> str:
    """pve-storage src/PVE/Storage.pm `normalize_content_filename`: the last path part, every character
    but `a-zA-Z0-9_.-` replaced by `_` (what download-url stores a file as)."""
    name = name.rstrip("\n")
    name = re.sub(r"^.*[/\\]", "", name)
    return re.sub(r"[^a-zA-Z0-9_.-]", "_", name)


def unmigratable_mounts(config: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, type) of each bind or device mount PVE will not migrate: those without `shared=1`."""
    found = []
    for key in sorted(config):
        if not _CT_MOUNT.match(key):
            continue
        mount = parse_mount(str(config[key]))
        kind = mount_type(str(mount.get("volume", "")))
        if kind != "volume" and str(mount.get("shared", "0")) not in ("1", "true", "yes", "on"):
            found.append((key, kind))
    return found


class PveRules:
    """Mixed in before FakePve: wraps `_download_url`, `_qm_check_drive`, `_ct_task` and `_check_modify_perm`."""

    async def _download_url(self, request: Any) -> Any:
        from fakepve.server import params

        values = await params(request)
        content = str(values.get("content", ""))
        filename = normalize_content_filename(str(values.get("filename", "")))
        # pve-storage src/PVE/API2/Storage/Status.pm `download_url`: the extension check per content type
        # (after the storage checks, which fakepve makes first too; the order only shows when both fail).
        if content == "import" and not UPLOAD_IMPORT_NAME.search(filename):
            raise PveError(400, "Parameter verification failed.",
                           {"filename": "invalid filename or wrong extension"})
        if (content == "iso" and not ISO_NAME.search(filename)) or \
                (content == "vztmpl" and not VZTMPL_NAME.search(filename)):
            raise PveError(400, "Parameter verification failed.", {"filename": "wrong file extension"})
        return await super()._download_url(request)  # type: ignore[misc]

    def _qm_check_drive(self, user: Any, vmid: Any, pool: Any, key: str, value: str, default: Any) -> None:
        check_import_source(str(value))
        super()._qm_check_drive(user, vmid, pool, key, value, default)  # type: ignore[misc]

    async def _ct_task(self, ct: Any, ttype: str, user: str, body: Any, **kwargs: Any) -> Any:
        # pve-container src/PVE/LXC/Migrate.pm `prepare` (run in the migration task): a mount point that is
        # not a volume dies "cannot migrate local $type mount point '$ms'" unless it is marked shared.
        if ttype == "vzmigrate":
            local = unmigratable_mounts(ct.config)
            if local:
                key, kind = local[0]

                async def refuse() -> None:
                    raise TaskError(f"cannot migrate local {kind} mount point '{key}'")

                body = refuse
        return await super()._ct_task(ct, ttype, user, body, **kwargs)  # type: ignore[misc]

    def _check_modify_perm(self, user: Any, vmid: Any, pool: Any, old: Any, new: dict[str, Any],
                           deletes: Any, unprivileged: Any) -> None:
        # pve-container src/PVE/LXC.pm `check_ct_modify_config_perm`: only `$authuser eq 'root@pam'` skips the
        # checks, so a token (`root@pam!name`) is refused root-only settings whatever its privileges.
        # fakepve checks nothing before the first ACL is granted; these checks hold from the start.
        if self.acl is None and user and "!" in str(user):  # type: ignore[attr-defined]
            token_root_only(new, old or {}, unprivileged)
        super()._check_modify_perm(user, vmid, pool, old, new, deletes, unprivileged)  # type: ignore[misc]


def check_import_source(value: str) -> None:
    """qemu-server src/PVE/API2/Qemu.pm ($check_storage_access) parses an `import-from` volume with
    pve-storage src/PVE/Storage/Plugin.pm `parse_volname`, which dies on an import name it does not know;
    the request fails before any task (500)."""
    _, props = split_drive(value)
    source = props.get("import-from")
    if not source:
        return
    sid, name = volume_ref(source)
    if sid and str(name).startswith("import/") and not IMPORT_VOLNAME.fullmatch(str(name)):
        raise PveError(500, f"unable to parse directory volume name '{name}'")


def token_root_only(new: dict[str, Any], old: dict[str, Any], unprivileged: Any) -> None:
    """PVE's 403 when an API token sets a container option only `root@pam` may set (`new` over `old`)."""
    def deny(why: str) -> None:
        raise PveError(403, f"Permission check failed ({why})")

    for opt, value in new.items():
        if _CT_MOUNT.match(opt):
            kind = mount_type(str(parse_mount(str(value)).get("volume", "")))
            if kind != "volume":
                deny(f"mount point type {kind} is only allowed for root@pam")
        elif re.fullmatch(r"dev\d+", opt):
            deny("configuring device passthrough is only allowed for root@pam")
        elif opt == "features":
            if not unprivileged:
                deny("changing feature flags for privileged container is only allowed for root@pam")
            before = _flags(str(old.get("features", "")))
            after = _flags(str(value))
            if {k for k in set(before) | set(after) if before.get(k) != after.get(k)} - {"nesting"}:
                deny("changing feature flags (except nesting) is only allowed for root@pam")
        elif opt == "hookscript":
            deny("changing the hookscript is only allowed for root@pam")


def _flags(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        out[key] = value if _ else "1"
    return out
