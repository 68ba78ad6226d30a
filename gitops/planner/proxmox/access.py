"""PVE users, groups, roles, ACLs and API tokens from the hypervisor file's `access` block.

Targets `access/group/ID`, `access/role/ID`, `access/user/ID`, `access/token/USER!ID` and
`access/acl/PATH`. What the block declares is created, or changed where it differs; nothing is ever
deleted (an ACL entry or a group membership the block does not name stays). Groups and roles come first,
then users (their groups), tokens, and the ACL entries that name them. A new token's secret is in PVE's
answer only once: the call carries `save_secret`, and the Proxmox driver writes it to
`PHOENIX_SECRETS_DIR/<secret_name(...)>`, never to the plan, a log or Git. Built-in roles cannot be
changed (a plan error). Pure; listed in `gitops.planner.systems.RULES`.
"""

from __future__ import annotations

import re
from typing import Any

from gitops.config.access import Access, AccessUser
from gitops.config.estate import Estate
from gitops.planner.live import LiveAccess, LiveState
from gitops.planner.options import PlanOptions
from gitops.planner.plan import PROXMOX, Action, ApiCall, FieldChange, Plan, Problem
from gitops.planner.proxmox import pve_paths
from gitops.planner.rules import SystemRules


def secret_name(token: str) -> str:
    """The secret file a new token's value is written to: `pve_token_ci_pve_deploy` for `ci@pve!deploy`."""
    return "pve_token_" + re.sub(r"[^A-Za-z0-9_.-]", "_", token)


def targets(estate: Estate, live: LiveState, options: PlanOptions) -> list[str]:
    access = estate.hypervisor.access
    if access is None:
        return []
    return [*(f"access/group/{g}" for g in sorted(access.groups)), *(f"access/role/{r}" for r in sorted(access.roles)),
            *(f"access/user/{u}" for u in sorted(access.users)), *(f"access/token/{t}" for t in sorted(access.tokens)),
            *dict.fromkeys(f"access/acl{a.path}" for a in access.acls)]


def plan(estate: Estate, live: LiveState, options: PlanOptions, out: Plan) -> None:
    access = estate.hypervisor.access
    if access is None:
        return
    have = live.access or LiveAccess()
    for gid, group in sorted(access.groups.items()):
        _group(gid, group.comment, have, out)
    for rid, privs in sorted(access.roles.items()):
        _role(rid, set(privs), have, out)
    for uid, user in sorted(access.users.items()):
        _user(uid, user, access, have, out)
    for full, token in sorted(access.tokens.items()):
        _token(full, token.privsep, token.comment, token.expire, access, have, out)
    _acls(access, have, out)


def _group(gid: str, comment: str | None, have: LiveAccess, out: Plan) -> None:
    target = f"access/group/{gid}"
    current = have.groups.get(gid)
    if current is None:
        params: dict[str, Any] = {"groupid": gid, **({"comment": comment} if comment is not None else {})}
        call = ApiCall("POST", pve_paths.access_path("groups"), params)
        out.actions.append(_action(target, f"create group {gid}", [call], [FieldChange("group", None, gid)]))
    elif comment is not None and current.get("comment", "") != comment:
        out.actions.append(_action(target, f"set comment of group {gid}",
                                   [ApiCall("PUT", pve_paths.access_path(f"groups/{gid}"), {"comment": comment})],
                                   [FieldChange("comment", current.get("comment"), comment)]))


def _role(rid: str, privs: set[str], have: LiveAccess, out: Plan) -> None:
    target = f"access/role/{rid}"
    current = have.roles.get(rid)
    if rid in have.builtin_roles:
        if current != privs:
            out.errors.append(Problem(target, "role-builtin", f"{rid} is a built-in PVE role; it cannot be "
                                      "changed: give the role another name"))
        return
    text = ",".join(sorted(privs))
    if current is None:
        out.actions.append(_action(target, f"create role {rid}",
                                   [ApiCall("POST", pve_paths.access_path("roles"), {"roleid": rid, "privs": text})],
                                   [FieldChange("privs", None, text)]))
    elif current != privs:
        out.actions.append(_action(target, f"set privileges of role {rid}",
                                   [ApiCall("PUT", pve_paths.access_path(f"roles/{rid}"), {"privs": text})],
                                   [FieldChange("privs", ",".join(sorted(current)), text)]))


def user_fields(user: AccessUser) -> dict[str, Any]:
    fields: dict[str, Any] = {"enable": int(user.enable), "expire": user.expire}
    fields.update({k: getattr(user, k) for k in ("comment", "email", "firstname", "lastname")
                   if getattr(user, k) is not None})
    return fields


def _user(uid: str, user: AccessUser, access: Access, have: LiveAccess, out: Plan) -> None:
    target = f"access/user/{uid}"
    for g in user.groups:
        if g not in access.groups and g not in have.groups:
            out.errors.append(Problem(target, "group-unknown", f"group {g!r} is neither declared nor on the cluster"))
            return
    wants = user_fields(user)
    groups = ",".join(sorted(user.groups))
    needs = [f"access/group/{g}" for g in user.groups]
    current = have.users.get(uid)
    if current is None:
        params = {"userid": uid, **wants, **({"groups": groups} if groups else {})}
        if user.password:
            params["password"] = user.password
        call = ApiCall("POST", pve_paths.access_path("users"), params)
        out.actions.append(_action(target, f"create user {uid}", [call],
                                   [FieldChange(k, None, v, secret=k == "password") for k, v in params.items()
                                    if k != "userid"], needs))
        return
    diff = {k: v for k, v in wants.items() if str(current.get(k, "")) != str(v)}
    missing = set(user.groups) - set(current.get("groups", set()))
    changes = [FieldChange(k, current.get(k), v) for k, v in diff.items()]
    if missing:  # added to the declared groups; memberships made by hand stay
        diff.update(groups=",".join(sorted(missing)), append=1)
        changes.append(FieldChange("groups", ",".join(sorted(current.get("groups", set()))) or None,
                                   ",".join(sorted(set(current.get("groups", set())) | missing))))
    if diff:
        call = ApiCall("PUT", pve_paths.access_path(f"users/{uid}"), diff)
        out.actions.append(_action(target, f"update user {uid}", [call], changes, needs))


def _token(full: str, privsep: bool, comment: str | None, expire: int, access: Access, have: LiveAccess,
           out: Plan) -> None:
    target = f"access/token/{full}"
    uid, sep, tokenid = full.partition("!")
    if not sep or not tokenid:
        out.errors.append(Problem(target, "token-invalid", f"{full!r} is not `user@realm!tokenid`"))
        return
    if uid not in access.users and uid not in have.users:
        out.errors.append(Problem(target, "user-unknown", f"user {uid!r} is neither declared nor on the cluster"))
        return
    wants: dict[str, Any] = {"privsep": int(privsep), "expire": expire, **({"comment": comment} if comment else {})}
    current = have.tokens.get(full)
    path = pve_paths.access_path(f"users/{uid}/token/{tokenid}")
    if current is None:
        out.actions.append(_action(
            target, f"create API token {full} (its secret goes to PHOENIX_SECRETS_DIR/{secret_name(full)})",
            [ApiCall("POST", path, wants, save_secret=secret_name(full))],
            [FieldChange(k, None, v) for k, v in wants.items()], [f"access/user/{uid}"]))
        return
    diff = {k: v for k, v in wants.items() if str(current.get(k, "")) != str(v)}
    if diff:
        out.actions.append(_action(target, f"update API token {full}", [ApiCall("PUT", path, diff)],
                                   [FieldChange(k, current.get(k), v) for k, v in diff.items()]))


def _acls(access: Access, have: LiveAccess, out: Plan) -> None:
    for acl in access.acls:
        target = f"access/acl{acl.path}"
        members = [("user", u) for u in acl.users] + [("group", g) for g in acl.groups] + \
            [("token", t) for t in acl.tokens]
        missing = [(kind, ugid, role) for kind, ugid in members for role in acl.roles
                   if have.acl.get((acl.path, kind, ugid, role)) != acl.propagate]
        if not missing:
            continue
        params: dict[str, Any] = {"path": acl.path, "roles": ",".join(acl.roles), "propagate": int(acl.propagate)}
        for kind, key in (("user", "users"), ("group", "groups"), ("token", "tokens")):
            names = sorted({ugid for k, ugid, _ in missing if k == kind})
            if names:
                params[key] = ",".join(names)
        needs = [f"access/role/{r}" for r in acl.roles] + [f"access/{k}/{u}" for k, u in members]
        out.actions.append(_action(target, f"grant {', '.join(acl.roles)} on {acl.path}",
                                   [ApiCall("PUT", pve_paths.access_path("acl"), params)],
                                   [FieldChange(f"{k}:{u}", None, r) for k, u, r in missing], needs))


def _action(target: str, summary: str, calls: list[ApiCall], changes: list[FieldChange],
            needs: list[str] | None = None) -> Action:
    return Action(target=target, action="access", summary=summary, calls=calls, changes=changes,
                  depends_on=list(needs or []), system=PROXMOX)


RULES = SystemRules(system=PROXMOX, targets=targets, plan=plan)
