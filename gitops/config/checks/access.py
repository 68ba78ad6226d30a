"""Checks of the hypervisor file's `access` block against the host policy: what PVE identities and
rights a commit may create. Called by `gitops.config.checks.policy`.

By default a commit may not: put a user or a token in the `pam` realm (`root@pam` is the host's root;
`policy-access-realm`, `policy.allow_pam_realm`), make a token without privilege separation (it then
holds every right of its user; `policy-access-privsep`, `policy.allow_token_without_privsep`), declare
or grant a role with a host-wide privilege, `Sys.*` (but the read-only `Sys.Audit`), `Permissions.Modify`
or `Realm.*` (`policy-access-privilege`, `policy.allow_privileged_roles`), or grant anything on `/` or
`/access` (`policy-access-acl-path`, `policy.allow_root_acls`). Realms are never managed.
"""

from __future__ import annotations

from gitops.config.estate import HYPERVISOR_FILE, Estate
from gitops.config.problems import Report, shorten
from gitops.settings import HostPolicy

# Built-in PVE roles that hold a host-wide privilege (PVE::AccessControl): Administrator has every
# privilege, PVEAdmin `Sys.Console` (a root shell on the node) and `Sys.Syslog`, PVESysAdmin the `Sys.*`
# ones, PVEUserAdmin `Realm.AllocateUser`.
PRIVILEGED_BUILTIN_ROLES = frozenset({"Administrator", "PVEAdmin", "PVESysAdmin", "PVEUserAdmin"})
ROOT_PATHS = ("/", "/access")


def host_wide(privilege: str) -> bool:
    """`Sys.*` but `Sys.Audit`, `Permissions.Modify`, `Realm.*`."""
    return (privilege.startswith("Sys.") and privilege != "Sys.Audit") or privilege == "Permissions.Modify" \
        or privilege.startswith("Realm.")


def check_access_policy(estate: Estate, report: Report, policy: HostPolicy) -> None:
    access = estate.hypervisor.access
    if access is None:
        return
    for uid in access.users:
        _realm(report, ("access", "users", uid), uid, policy)
    for full, token in access.tokens.items():
        _realm(report, ("access", "tokens", full), full.partition("!")[0], policy)
        if not token.privsep and not policy.allow_token_without_privsep:
            report.error(HYPERVISOR_FILE, ("access", "tokens", full, "privsep"), "policy-access-privsep",
                         f"token '{shorten(full)}' without privilege separation holds every right of its user; "
                         "not allowed by the host policy (`policy.allow_token_without_privsep`)")
    for rid, privileges in access.roles.items():
        wide = [p for p in privileges if host_wide(p)]
        if wide and not policy.allow_privileged_roles:
            report.error(HYPERVISOR_FILE, ("access", "roles", rid), "policy-access-privilege",
                         f"role '{shorten(rid)}' holds host-wide privileges ({', '.join(wide[:5])}); not allowed by "
                         "the host policy (`policy.allow_privileged_roles`)")
    for i, acl in enumerate(access.acls):
        path = acl.path.rstrip("/") or "/"
        if any(path == p or (p != "/" and path.startswith(p + "/")) for p in ROOT_PATHS) \
                and not policy.allow_root_acls:
            report.error(HYPERVISOR_FILE, ("access", "acls", i, "path"), "policy-access-acl-path",
                         f"an ACL on '{shorten(acl.path)}' grants rights over the whole host or its users; not "
                         "allowed by the host policy (`policy.allow_root_acls`)")
        for j, role in enumerate(acl.roles):
            if role in PRIVILEGED_BUILTIN_ROLES and not policy.allow_privileged_roles:
                report.error(HYPERVISOR_FILE, ("access", "acls", i, "roles", j), "policy-access-privilege",
                             f"the built-in role {role} holds host-wide privileges (Sys.*, Permissions.Modify or "
                             "Realm.*); not allowed by the host policy (`policy.allow_privileged_roles`)")


def _realm(report: Report, path: tuple[str, ...], user: str, policy: HostPolicy) -> None:
    if user.rpartition("@")[2] == "pam" and not policy.allow_pam_realm:
        report.error(HYPERVISOR_FILE, path, "policy-access-realm",
                     f"'{shorten(user)}' is in the pam realm: host system accounts (root@pam is the host's root); "
                     "not allowed by the host policy (`policy.allow_pam_realm`)")
