"""PVE's access control for the simulator: users, groups, roles, ACLs and API tokens, kept and read back.

fakepve 0.5.0 answers `/access/users`, `/access/groups`, `/access/roles`, `/access/acl` and the token
routes from the schema and stores nothing. This mixin keeps them as pve-access-control does in
`user.cfg` (PVE/API2/User.pm, Group.pm, Role.pm, ACL.pm, and the token routes): ids are unique
(PVE's wording: "create user failed: user 'x' already exists"), built-in roles (`special`) cannot be
changed or removed, a group or role an ACL names must exist, a token's secret is returned once at
creation (`value`) and then authenticates requests as `user@realm!tokenid` (fakepve's `apitokens`).
Assumed: privilege names are not checked against PVE's list; users are not checked against a realm.
"""

from __future__ import annotations

import uuid
from typing import Any

from fakepve import shapes
from fakepve.routing import die, split_list


class AccessControl:
    """Mixin of PhoenixFakePve (before FakePve in the MRO): the stateful access routes."""

    apitokens: dict[str, str]

    def _access(self) -> dict[str, Any]:
        state = self.__dict__.get("_access_state")
        if state is None:
            state = self.__dict__["_access_state"] = {"users": {}, "groups": {}, "roles": {}, "acl": {},
                                                      "tokens": {}}
        return state

    def _routes_phoenix_access(self) -> list[tuple[str, str, Any]]:
        user, group, role = "/access/users/{userid}", "/access/groups/{groupid}", "/access/roles/{roleid}"
        token = user + "/token/{tokenid}"
        return [
            ("GET", "/access/users", self._users_list), ("POST", "/access/users", self._user_create),
            ("GET", user, self._user_read), ("PUT", user, self._user_update), ("DELETE", user, self._user_delete),
            ("GET", "/access/groups", self._groups_list), ("POST", "/access/groups", self._group_create),
            ("PUT", group, self._group_update), ("DELETE", group, self._group_delete),
            ("GET", "/access/roles", self._roles_list), ("POST", "/access/roles", self._role_create),
            ("PUT", role, self._role_update), ("DELETE", role, self._role_delete),
            ("GET", "/access/acl", self._acl_list), ("PUT", "/access/acl", self._acl_update),
            ("GET", user + "/token", self._tokens_list), ("POST", token, self._token_create),
            ("PUT", token, self._token_update), ("DELETE", token, self._token_delete),
        ]

    # -- users -------------------------------------------------------------------------------------

    def _user(self, userid: str) -> dict[str, Any]:
        found = self._access()["users"].get(userid)
        if found is None:
            raise die(f"no such user ('{userid}')")
        return found  # type: ignore[no-any-return]

    def _check_groups(self, groups: list[str]) -> None:
        for g in groups:
            if g not in self._access()["groups"]:
                raise die(f"no such group '{g}'")

    async def _users_list(self, v: dict[str, Any], user: str) -> Any:
        return [dict(u, userid=uid, groups=",".join(sorted(u["groups"]))) for uid, u in
                sorted(self._access()["users"].items())]

    async def _user_create(self, v: dict[str, Any], user: str) -> Any:
        uid = v["userid"]
        if uid in self._access()["users"]:
            raise die(f"create user failed: user '{uid}' already exists")
        groups = split_list(v.get("groups"))
        self._check_groups(groups)
        self._access()["users"][uid] = {
            "enable": int(v.get("enable", 1)), "expire": int(v.get("expire", 0)), "groups": set(groups),
            **{k: v[k] for k in ("comment", "email", "firstname", "lastname") if v.get(k) is not None}}
        return None

    async def _user_read(self, v: dict[str, Any], user: str) -> Any:
        found = self._user(v["userid"])
        return dict(found, groups=sorted(found["groups"]))

    async def _user_update(self, v: dict[str, Any], user: str) -> Any:
        found = self._user(v["userid"])
        if v.get("groups") is not None:
            groups = split_list(v["groups"])
            self._check_groups(groups)
            found["groups"] = found["groups"] | set(groups) if v.get("append") else set(groups)
        for key in ("comment", "email", "firstname", "lastname", "enable", "expire"):
            if v.get(key) is not None:
                found[key] = v[key]
        return None

    async def _user_delete(self, v: dict[str, Any], user: str) -> Any:
        self._user(v["userid"])
        del self._access()["users"][v["userid"]]
        return None

    # -- groups and roles --------------------------------------------------------------------------

    async def _groups_list(self, v: dict[str, Any], user: str) -> Any:
        users = self._access()["users"]
        return [dict(g, groupid=gid, users=",".join(sorted(u for u, d in users.items() if gid in d["groups"])))
                for gid, g in sorted(self._access()["groups"].items())]

    async def _group_create(self, v: dict[str, Any], user: str) -> Any:
        gid = v["groupid"]
        if gid in self._access()["groups"]:
            raise die(f"create group failed: group '{gid}' already exists")
        self._access()["groups"][gid] = {k: v[k] for k in ("comment",) if v.get(k) is not None}
        return None

    async def _group_update(self, v: dict[str, Any], user: str) -> Any:
        group = self._access()["groups"].get(v["groupid"])
        if group is None:
            raise die(f"group '{v['groupid']}' does not exist")
        if v.get("comment") is not None:
            group["comment"] = v["comment"]
        return None

    async def _group_delete(self, v: dict[str, Any], user: str) -> Any:
        if self._access()["groups"].pop(v["groupid"], None) is None:
            raise die(f"group '{v['groupid']}' does not exist")
        return None

    async def _roles_list(self, v: dict[str, Any], user: str) -> Any:
        custom = [{"roleid": rid, "special": 0, "privs": ",".join(sorted(p))}
                  for rid, p in sorted(self._access()["roles"].items())]
        return [*shapes.roles({}), *custom]

    def _builtin(self, roleid: str) -> bool:
        return roleid in shapes.ROLES

    async def _role_create(self, v: dict[str, Any], user: str) -> Any:
        rid = v["roleid"]
        if rid in self._access()["roles"] or self._builtin(rid):
            raise die(f"role '{rid}' already exists")
        self._access()["roles"][rid] = set(split_list(v.get("privs")))
        return None

    async def _role_update(self, v: dict[str, Any], user: str) -> Any:
        rid = v["roleid"]
        if self._builtin(rid):
            raise die(f"cannot modify built-in role '{rid}'")
        if rid not in self._access()["roles"]:
            raise die(f"role '{rid}' does not exist")
        privs = set(split_list(v.get("privs")))
        self._access()["roles"][rid] = self._access()["roles"][rid] | privs if v.get("append") else privs
        return None

    async def _role_delete(self, v: dict[str, Any], user: str) -> Any:
        if self._builtin(v["roleid"]):
            raise die(f"cannot delete built-in role '{v['roleid']}'")
        if self._access()["roles"].pop(v["roleid"], None) is None:
            raise die(f"role '{v['roleid']}' does not exist")
        return None

    # -- ACL ---------------------------------------------------------------------------------------

    async def _acl_list(self, v: dict[str, Any], user: str) -> Any:
        return [{"path": path, "type": kind, "ugid": ugid, "roleid": role, "propagate": propagate}
                for (path, kind, ugid, role), propagate in sorted(self._access()["acl"].items())]

    async def _acl_update(self, v: dict[str, Any], user: str) -> Any:
        roles = split_list(v.get("roles"))
        for role in roles:
            if role not in self._access()["roles"] and not self._builtin(role):
                raise die(f"role '{role}' does not exist")
        entries = [("user", u) for u in split_list(v.get("users"))]
        entries += [("group", g) for g in split_list(v.get("groups"))]
        entries += [("token", t) for t in split_list(v.get("tokens"))]
        for kind, ugid in entries:
            known = {"user": self._access()["users"], "group": self._access()["groups"],
                     "token": self._access()["tokens"]}[kind]
            if ugid not in known:
                raise die(f"{kind} '{ugid}' does not exist")
        acl = self._access()["acl"]
        for kind, ugid in entries:
            for role in roles:
                key = (v["path"], kind, ugid, role)
                if v.get("delete"):
                    acl.pop(key, None)
                else:
                    acl[key] = int(v.get("propagate", 1))
        return None

    # -- tokens ------------------------------------------------------------------------------------

    async def _tokens_list(self, v: dict[str, Any], user: str) -> Any:
        self._user(v["userid"])
        prefix = v["userid"] + "!"
        return [dict(info, tokenid=full[len(prefix):]) for full, info in sorted(self._access()["tokens"].items())
                if full.startswith(prefix)]

    async def _token_create(self, v: dict[str, Any], user: str) -> Any:
        self._user(v["userid"])
        full = f"{v['userid']}!{v['tokenid']}"
        if full in self._access()["tokens"]:
            raise die("Token already exists.")
        info = {"privsep": int(v.get("privsep", 1)), "expire": int(v.get("expire", 0)),
                **({"comment": v["comment"]} if v.get("comment") is not None else {})}
        self._access()["tokens"][full] = info
        value = str(uuid.uuid4())
        self.apitokens[full] = value
        return {"full-tokenid": full, "info": dict(info), "value": value}

    async def _token_update(self, v: dict[str, Any], user: str) -> Any:
        full = f"{v['userid']}!{v['tokenid']}"
        info = self._access()["tokens"].get(full)
        if info is None:
            raise die(f"no such token '{v['tokenid']}' for user '{v['userid']}'")
        for key in ("comment", "expire", "privsep"):
            if v.get(key) is not None:
                info[key] = v[key]
        return dict(info, **{"full-tokenid": full})

    async def _token_delete(self, v: dict[str, Any], user: str) -> Any:
        full = f"{v['userid']}!{v['tokenid']}"
        if self._access()["tokens"].pop(full, None) is None:
            raise die(f"no such token '{v['tokenid']}' for user '{v['userid']}'")
        self.apitokens.pop(full, None)
        return None
