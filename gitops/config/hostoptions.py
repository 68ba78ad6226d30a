"""Raw host options as data: `lxc_options`, `pct_options` and `qm_options` lines parsed into key and value,
`lxc.mount.entry` into an fstab entry, and text that reaches a host file checked for control characters.

Used by the models (`gitops.config.lxc`, `gitops.config.vm`): a line is parsed once, when the file is
loaded, into a typed value; the host policy (`gitops.config.checks.policy`) judges the parts, and the
planner writes the parts (`LxcOption.line`), never the committed text. Codes (errors):
host-option-control-character (a control, format or line-separator character in a value that reaches
a config file or an option string: PVE and LXC read such files line by line), lxc-option-syntax,
pct-option-syntax, qm-option-syntax (not `KEY: VALUE` / `KEY=VALUE`, or a mount entry that is not an
fstab line).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, PlainSerializer, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from gitops.config.problems import shorten

CONTROL = "host-option-control-character"
LXC_SYNTAX = "lxc-option-syntax"
PCT_SYNTAX = "pct-option-syntax"
QM_SYNTAX = "qm-option-syntax"
CODES = frozenset({CONTROL, LXC_SYNTAX, PCT_SYNTAX, QM_SYNTAX})

_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
_LXC_KEY = re.compile(r"lxc(\.[a-z0-9_\-]+)+")
_OPTION_KEY = re.compile(r"[a-z][a-z0-9_\-]*")
_INDEX = re.compile(r"(?<=\.)[0-9]+(?=\.|$)")


class HostOptionError(ValueError):
    """A line that is not a host option; `code` is one of `CODES`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def control_characters(text: str) -> list[str]:
    """The control, format and line/paragraph-separator characters in `text`, as `U+000B`."""
    return sorted({f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in _CONTROL_CATEGORIES})


def refuse_control(text: str) -> str:
    found = control_characters(text)
    if found:
        raise HostOptionError(CONTROL, f"{', '.join(found[:5])} in '{shorten(text.encode('unicode_escape').decode())}'"
                                       ": control characters cannot reach a host config file or an option string")
    return text


@dataclass(frozen=True)
class MountEntry:
    """`lxc.mount.entry` as the fstab line LXC reads: `SOURCE TARGET FSTYPE OPTIONS [DUMP [PASS]]`."""

    source: str
    target: str
    fstype: str
    options: tuple[str, ...]
    dump: int = 0
    passno: int = 0


@dataclass(frozen=True)
class LxcOption:
    """One raw `lxc.*` line: `key` (`lxc.net.0.type`), `value`, the committed `text` (kept for `config get`)."""

    key: str
    value: str
    text: str
    mount: MountEntry | None = None

    @property
    def pattern(self) -> str:
        """The key with each numeric part as `N` (`lxc.net.N.type`): what `policy.lxc_option_keys` lists."""
        return key_pattern(self.key)

    def line(self) -> str:
        """The line as PVE writes it in `/etc/pve/lxc/ID.conf`."""
        return f"{self.key}: {self.value}"


@dataclass(frozen=True)
class KeyValueOption:
    """One `pct_options` (`nesting=1`) or `qm_options` (`--key value`, `key=value`) entry."""

    key: str
    value: str
    text: str


def key_pattern(key: str) -> str:
    return _INDEX.sub("N", key)


def parse_lxc_option(text: str) -> LxcOption:
    """`lxc.key: value`, `lxc.key = value` or upstream's `lxc.mount.auto:sys:rw` -> LxcOption."""
    refuse_control(text)
    stripped = text.strip()
    match = _LXC_KEY.match(stripped)
    rest = stripped[match.end():] if match else ""
    if match is None or not rest or rest.lstrip()[:1] not in (":", "="):
        raise HostOptionError(LXC_SYNTAX, f"'{shorten(stripped)}' is not `lxc.KEY: VALUE` (or `lxc.KEY=VALUE`)")
    key, value = match.group(0), rest.lstrip()[1:].strip()
    mount = parse_mount_entry(value) if key == "lxc.mount.entry" else None
    return LxcOption(key, value, text, mount)


def parse_mount_entry(value: str) -> MountEntry:
    fields = value.split()
    if not 4 <= len(fields) <= 6 or not all(f.isdigit() for f in fields[4:]):
        raise HostOptionError(LXC_SYNTAX, f"lxc.mount.entry '{shorten(value)}' is not an fstab line "
                                          "(`SOURCE TARGET FSTYPE OPTIONS [DUMP [PASS]]`)")
    numbers = [int(f) for f in fields[4:]] + [0, 0]
    return MountEntry(fields[0], fields[1], fields[2], tuple(o for o in fields[3].split(",") if o),
                      numbers[0], numbers[1])


def parse_pct_option(text: str) -> KeyValueOption:
    """`key=value` (upstream: `nesting=1`)."""
    refuse_control(text)
    key, sep, value = text.strip().partition("=")
    if not sep or _OPTION_KEY.fullmatch(key.strip()) is None:
        raise HostOptionError(PCT_SYNTAX, f"'{shorten(text.strip())}' is not `KEY=VALUE`")
    return KeyValueOption(key.strip(), value.strip(), text)


def parse_qm_option(text: str) -> KeyValueOption:
    """`--key value`, `-key value`, `key=value` or `key: value` (a `qm set` option)."""
    refuse_control(text)
    stripped = text.strip()
    if stripped.startswith("-"):
        key, _, value = stripped.lstrip("-").partition(" ")
    else:
        cut = min((i for i in (stripped.find("="), stripped.find(":")) if i >= 0), default=-1)
        key, value = (stripped[:cut], stripped[cut + 1:]) if cut >= 0 else ("", "")
    if _OPTION_KEY.fullmatch(key.strip()) is None:
        raise HostOptionError(QM_SYNTAX, f"'{shorten(stripped)}' is not `--KEY VALUE` or `KEY=VALUE`")
    return KeyValueOption(key.strip(), value.strip(), text)


# -- what a known key's value may be (the host policy's question; an operator's extra keys get no grammar) --

_IFNAME = re.compile(r"[A-Za-z0-9_.\-]{1,15}")
_MOUNT_AUTO = re.compile(r"(proc(:(mixed|rw))?|sys(:(ro|rw|mixed))?|cgroup(-full)?(:(mixed|ro|rw))?(:force)?)")
_CGROUP_RULE = re.compile(r"a|[abc]( +(\*|[0-9]+):(\*|[0-9]+)( +[rwm]+)?)?")
_MAC = re.compile(r"([0-9a-fA-Fx]{2}:){5}[0-9a-fA-Fx]{2}")


def _address(value: str) -> bool:
    try:
        ipaddress.ip_interface(value)
    except ValueError:
        return False
    return True


def _capabilities(value: str) -> bool:
    return all(re.fullmatch(r"[a-z_]+", c) for c in re.split(r"[\s,]+", value) if c)


def _gateway(value: str) -> bool:
    if value in ("auto", "dev"):
        return True
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


VALUE_RULES: dict[str, tuple[str, Callable[[str], bool]]] = {
    "lxc.apparmor.profile": ("a profile name, `unconfined` or `generated`",
                             lambda v: re.fullmatch(r"[A-Za-z0-9_.\-]+", v) is not None),
    "lxc.apparmor.allow_nesting": ("0 or 1", lambda v: v in ("0", "1")),
    "lxc.mount.auto": ("proc, sys and cgroup mounts (`proc:rw sys:rw`); never `shmounts`",
                       lambda v: bool(v.split()) and all(_MOUNT_AUTO.fullmatch(t) for t in v.split())),
    "lxc.cap.keep": ("capability names", lambda v: _capabilities(v) and v != ""),
    "lxc.cap.drop": ("capability names", _capabilities),
    "lxc.cgroup2.devices.allow": ("a device rule (`c 195:* rwm`)", lambda v: _CGROUP_RULE.fullmatch(v) is not None),
    "lxc.cgroup.devices.allow": ("a device rule (`c 195:* rwm`)", lambda v: _CGROUP_RULE.fullmatch(v) is not None),
    "lxc.net.N.type": ("veth, macvlan, ipvlan, vlan or empty (never `phys` or `none`: the host's own interfaces)",
                       lambda v: v in ("veth", "macvlan", "ipvlan", "vlan", "empty")),
    "lxc.net.N.link": ("a bridge or interface name", lambda v: _IFNAME.fullmatch(v) is not None),
    "lxc.net.N.name": ("an interface name", lambda v: _IFNAME.fullmatch(v) is not None),
    "lxc.net.N.flags": ("up", lambda v: v == "up"),
    "lxc.net.N.hwaddr": ("a MAC address", lambda v: _MAC.fullmatch(v) is not None),
    "lxc.net.N.mtu": ("a number", lambda v: v.isdigit()),
    "lxc.net.N.macvlan.mode": ("private, vepa, bridge or passthru", lambda v: v in ("private", "vepa", "bridge",
                                                                                    "passthru")),
    "lxc.net.N.ipvlan.mode": ("l2, l3 or l3s", lambda v: v in ("l2", "l3", "l3s")),
    "lxc.net.N.vlan.id": ("a VLAN number", lambda v: v.isdigit()),
    "lxc.net.N.ipv4.address": ("an address with its prefix", _address),
    "lxc.net.N.ipv6.address": ("an address with its prefix", _address),
    "lxc.net.N.ipv4.gateway": ("an address, `auto` or `dev`", _gateway),
    "lxc.net.N.ipv6.gateway": ("an address, `auto` or `dev`", _gateway),
}

# Mount options that carry no host path and no foreign mount: `lowerdir=`, `upperdir=`, `x-mount...` are not here.
MOUNT_OPTIONS = frozenset({
    "bind", "rbind", "ro", "rw", "optional", "create=dir", "create=file", "nosuid", "nodev", "noexec", "suid",
    "dev", "exec", "relatime", "noatime", "nodiratime", "strictatime", "defaults", "private", "rprivate", "slave",
    "rslave", "shared", "rshared", "unbindable", "runbindable",
})


def mount_entry_problem(entry: MountEntry) -> str | None:
    """Why an `lxc.mount.entry` is not a plain bind mount into the container, None when it is one."""
    if not {"bind", "rbind"} & set(entry.options):
        return "only `bind` or `rbind` mounts are allowed"
    if entry.fstype not in ("none", "bind"):
        return f"file system type '{shorten(entry.fstype)}' on a bind mount (use `none`)"
    odd = [o for o in entry.options if o not in MOUNT_OPTIONS]
    if odd:
        return f"mount option '{shorten(odd[0])}' is not allowed (allowed: {', '.join(sorted(MOUNT_OPTIONS))})"
    if not entry.source.startswith("/"):
        return f"the source '{shorten(entry.source)}' is not an absolute host path"
    if entry.target.startswith("/") or ".." in entry.target.split("/") or not entry.target:
        return f"the target '{shorten(entry.target)}' must be a path inside the container, relative, without `..`"
    return None


# -- the typed fields the models use -------------------------------------------------------------------

def _field(parse: Callable[[str], Any], kind: type) -> Callable[[Any], Any]:
    def validate(value: Any) -> Any:
        if isinstance(value, kind):
            return value
        if not isinstance(value, str):
            raise PydanticCustomError("string_type", "Input should be a valid string")
        try:
            return parse(value)
        except HostOptionError as exc:
            raise PydanticCustomError(exc.code, exc.message.replace("{", "(").replace("}", ")")) from None
    return validate


def _host_text(value: str) -> str:
    try:
        return refuse_control(value)
    except HostOptionError as exc:
        raise PydanticCustomError(exc.code, exc.message.replace("{", "(").replace("}", ")")) from None


_AS_TEXT = PlainSerializer(lambda option: option.text, return_type=str)
_STRING = WithJsonSchema({"type": "string"})

LxcOptionField = Annotated[LxcOption, PlainValidator(_field(parse_lxc_option, LxcOption)), _AS_TEXT, _STRING]
PctOptionField = Annotated[KeyValueOption, PlainValidator(_field(parse_pct_option, KeyValueOption)), _AS_TEXT,
                           _STRING]
QmOptionField = Annotated[KeyValueOption, PlainValidator(_field(parse_qm_option, KeyValueOption)), _AS_TEXT,
                          _STRING]
HostText = Annotated[str, AfterValidator(_host_text)]
"""A string that reaches a host config file or an option string (paths, names): no control characters."""
