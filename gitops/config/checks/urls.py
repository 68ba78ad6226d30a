"""Checks of the URLs a commit makes Proxmox download from (`download-url`: a container's `template_url`,
a VM's `template_image_url`, and the Ubuntu cloud-image URL derived from `vm_defaults.ubuntu_release`):
PVE fetches them from the node, so a URL is a request from inside the operator's network; likewise a
stack's `git_url`, which Portainer clones from its own host. And of the
targets of health checks (`health_checks`), which the controller dials itself after an apply: a guest's
own static address may be checked over http or tcp (that is what the checks are for; never a loopback,
link-local, multicast or unspecified one), any other host is judged as a download URL is, and only http
and https are fetched. `target_problem` judges a resolved address again when the check runs (names are
resolved then, by `gitops.controller.checks`).

Called by `gitops.config.checks.policy` with the host policy. Code: policy-url (an error), whose message
names the setting that would allow it: a scheme other than https (`policy.url_allow_http` for http;
nothing else, `file:` and `ftp:` included), a host off `policy.url_hosts` when that list is set, or an
address that is loopback, link-local (cloud metadata at 169.254.169.254), private, shared, reserved,
multicast or unspecified, written in any form an HTTP client accepts (`127.1`, `0x7f000001`, `[::1]`),
or a name for one (`localhost`, `metadata.google.internal`) (`policy.url_allow_private`). Names are not
resolved here: for a download URL, `policy.url_hosts` is the defense against a name that resolves inward
(PVE resolves it on the node); a health check's name is resolved when it runs and refused then.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from urllib.parse import urlsplit

from gitops.config.checks.local import each_guest
from gitops.config.common import HealthCheck
from gitops.config.estate import LXC_FILE, STACKS_FILE, VM_FILE, Estate, static_ip
from gitops.config.hostoptions import control_characters
from gitops.config.lxc import LxcGuest
from gitops.config.memo import digest
from gitops.config.problems import PathPart, Report, shorten
from gitops.config.templates import cloud_image_url
from gitops.config.vm import Vm
from gitops.settings import HostPolicy

_INWARD_NAMES = ("localhost", "localhost.localdomain", "metadata", "metadata.google.internal", "instance-data")


def check_urls(estate: Estate, report: Report, policy: HostPolicy, judged_by: str) -> None:
    """Each guest's URLs and health checks judged alone, the findings kept with its entry (`local.each_guest`)
    under the policy (`judged_by`: its JSON), the release and every guest's address they were judged by."""
    release = estate.hypervisor.vm_defaults.ubuntu_release if estate.hypervisor.vm_defaults else None
    own = estate.guest_addresses()
    own_key = estate.derive(("guest_addresses_digest", id(own)), lambda: digest("\n".join(sorted(own))))
    each_guest(estate, report, LXC_FILE, functools.partial(_container, policy=policy, own=own),
               ("urls", judged_by, own_key))
    each_guest(estate, report, VM_FILE, functools.partial(_vm, policy=policy, own=own, release=release),
               ("urls", judged_by, own_key, release))
    for name, stack in estate.stacks.docker_stacks.items():
        if stack.git_url:
            problem = url_problem(stack.git_url, policy)
            if problem is not None:
                report.error(STACKS_FILE, ("docker_stacks", name, "git_url"), "policy-url",
                             f"Portainer would clone '{shorten(stack.git_url)}' from its host; not allowed by the "
                             f"host policy: {problem}")


def _container(report: Report, path: tuple[PathPart, ...], ct: LxcGuest, *, policy: HostPolicy,
               own: frozenset[str]) -> None:
    if ct.template_url:
        _judge(report, LXC_FILE, (*path, "template_url"), ct.template_url, policy)
    _health_checks(report, LXC_FILE, path, ct, policy, own)


def _vm(report: Report, vpath: tuple[PathPart, ...], vm: Vm, *, policy: HostPolicy, own: frozenset[str],
        release: str | None) -> None:
    if vm.template_image_url:
        _judge(report, VM_FILE, (*vpath, "template_image_url"), vm.template_image_url, policy)
    elif vm.is_template and vm.template_image:
        derived = cloud_image_url(release, vm.template_image)
        if derived:
            _judge(report, VM_FILE, (*vpath, "template_image"), derived, policy)
    _health_checks(report, VM_FILE, vpath, vm, policy, own)


def _health_checks(report: Report, file: str, gpath: tuple[PathPart, ...], guest: LxcGuest | Vm,
                   policy: HostPolicy, own: frozenset[str]) -> None:
    for i, check in enumerate(getattr(guest, "health_checks", None) or []):
        problem = health_check_problem(check, static_ip(guest), policy, own)
        if problem is not None:
            report.error(file, (*gpath, "health_checks", i), "policy-url",
                         f"the controller would dial this health check; not allowed by the host policy: "
                         f"{problem}")


def health_check_problem(check: HealthCheck, default_host: str | None, policy: HostPolicy,
                         own: frozenset[str]) -> str | None:
    """Why the host policy refuses the target of `check` (on a guest whose static address is `default_host`;
    `own`: every guest's static address); None when it allows it, or when there is no target yet (the
    check then fails when it runs)."""
    if check.type == "http" and check.url:
        try:
            parts = urlsplit(check.url)
            host = (parts.hostname or "").rstrip(".").lower()
        except ValueError as exc:
            return f"it is not a URL ({exc})"
        if parts.scheme.lower() not in ("http", "https"):
            return url_problem(check.url, policy) or "only https (and http) URLs are fetched"
        if host in own and is_guest_address(host):
            return "it holds spaces or control characters" if control_characters(check.url) else None
        return url_problem(check.url, policy)
    target = check.host or default_host
    if not target:
        return None
    if target in own and is_guest_address(target):
        return None
    return host_problem(target, policy)


def is_guest_address(host: str) -> bool:
    """Whether `host` can be a guest's address: not loopback, link-local, multicast or unspecified."""
    address = _address(host)
    if address is None:
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (address.is_loopback or address.is_link_local or address.is_multicast or address.is_unspecified)


def target_problem(address: str, policy: HostPolicy, own: frozenset[str]) -> str | None:
    """Why the host policy refuses to dial `address`, an address a health check's name resolved to."""
    if address in own and is_guest_address(address):
        return None
    inward = None if policy.url_allow_private else _inward(address)
    return f"it resolves to {address}, {inward} (`policy.url_allow_private` allows it)" if inward else None


def url_problem(url: str, policy: HostPolicy) -> str | None:
    """Why the host policy refuses to let PVE download `url`; None when it allows it."""
    if control_characters(url) or any(c.isspace() for c in url):
        return "it holds spaces or control characters"
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018  (a bad port raises here)
    except ValueError as exc:
        return f"it is not a URL ({exc})"
    scheme = parts.scheme.lower()
    if scheme == "http" and not policy.url_allow_http:
        return "it is http, not https (`policy.url_allow_http` allows http)"
    if scheme not in ("http", "https"):
        return f"it is a `{shorten(scheme, 20) or 'relative'}:` URL; only https (and http when " \
               "`policy.url_allow_http` is set) are allowed"
    if not hostname:
        return "it names no host"
    return host_problem(hostname, policy)


def host_problem(hostname: str, policy: HostPolicy) -> str | None:
    """Why the host policy refuses a request to `hostname` (a name or an address); None when it allows it."""
    if control_characters(hostname) or any(c.isspace() for c in hostname):
        return "it holds spaces or control characters"
    host = hostname.rstrip(".").lower()
    if policy.url_hosts and not any(host == h.lower().lstrip(".") or (h.startswith(".") and host.endswith(h.lower()))
                                    for h in policy.url_hosts):
        return f"host {shorten(host)} is not in `policy.url_hosts` ({', '.join(policy.url_hosts)})"
    if not policy.url_allow_private:
        inward = _inward(host)
        if inward:
            return f"host {shorten(host)} is {inward} (`policy.url_allow_private` allows it)"
    return None


def _inward(host: str) -> str | None:
    """What kind of inward address `host` is (None: a public address or a name)."""
    if host in _INWARD_NAMES or host.endswith(".localhost"):
        return "a local or cloud-metadata name"
    address = _address(host)
    if address is None:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if address.is_private or address.is_reserved or address.is_multicast or address.is_unspecified \
            or not address.is_global:
        return "a private or reserved address"
    return None


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefx." for c in host) and any(c.isdigit() for c in host):
        try:  # the forms inet_aton accepts, as clients do: `127.1`, `0x7f.1`, `2130706433`
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _judge(report: Report, file: str, path: tuple[PathPart, ...], url: str, policy: HostPolicy) -> None:
    problem = url_problem(url, policy)
    if problem is not None:
        report.error(file, path, "policy-url",
                     f"PVE would download '{shorten(url)}' from the node; not allowed by the host policy: {problem}")
