"""The `access` block under the host policy (issue 18): root-equivalent identities and rights are refused
at validation with the rule they broke, and an operator can allow each in the settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gitops.config.validation import validate_directory
from gitops.settings import HostPolicy

HYPERVISOR = "phoenix_hypervisor_config.json"
SAFE: dict[str, Any] = {
    "groups": {"ops": {}}, "roles": {"PhoenixDeploy": ["VM.Audit", "VM.PowerMgmt", "Sys.Audit"]},
    "users": {"ci@pve": {"groups": ["ops"]}}, "tokens": {"ci@pve!deploy": {"privsep": True}},
    "acls": [{"path": "/vms", "roles": ["PhoenixDeploy", "PVEAuditor"], "tokens": ["ci@pve!deploy"]}],
}

HOSTILE: list[tuple[str, dict[str, Any], str, str, str]] = [  # case, access, code, path, the setting
    ("root token", {"tokens": {"root@pam!x": {}}}, "policy-access-realm", "access.tokens.root@pam!x",
     "allow_pam_realm"),
    ("pam user", {"users": {"eve@pam": {}}}, "policy-access-realm", "access.users.eve@pam", "allow_pam_realm"),
    ("no privsep", {"users": {"ci@pve": {}}, "tokens": {"ci@pve!t": {"privsep": False}}},
     "policy-access-privsep", "access.tokens.ci@pve!t.privsep", "allow_token_without_privsep"),
    ("Sys.Modify role", {"roles": {"R": ["VM.Audit", "Sys.Modify"]}}, "policy-access-privilege", "access.roles.R",
     "allow_privileged_roles"),
    ("Permissions.Modify role", {"roles": {"R": ["Permissions.Modify"]}}, "policy-access-privilege",
     "access.roles.R", "allow_privileged_roles"),
    ("Realm role", {"roles": {"R": ["Realm.AllocateUser"]}}, "policy-access-privilege", "access.roles.R",
     "allow_privileged_roles"),
    ("Administrator granted", {"groups": {"ops": {}}, "acls": [{"path": "/vms", "roles": ["Administrator"],
                                                                "groups": ["ops"]}]},
     "policy-access-privilege", "access.acls.0.roles.0", "allow_privileged_roles"),
    ("console role granted", {"groups": {"ops": {}}, "acls": [{"path": "/vms", "roles": ["PVEAdmin"],
                                                               "groups": ["ops"]}]},
     "policy-access-privilege", "access.acls.0.roles.0", "allow_privileged_roles"),
    ("ACL on /", {"groups": {"ops": {}}, "acls": [{"path": "/", "roles": ["PVEAuditor"], "groups": ["ops"]}]},
     "policy-access-acl-path", "access.acls.0.path", "allow_root_acls"),
    ("ACL on /access", {"groups": {"ops": {}}, "acls": [{"path": "/access/groups", "roles": ["PVEAuditor"],
                                                         "groups": ["ops"]}]},
     "policy-access-acl-path", "access.acls.0.path", "allow_root_acls"),
]


def _with_access(directory: Path, access: dict[str, Any]) -> None:
    path = directory / HYPERVISOR
    data = json.loads(path.read_text(encoding="utf-8"))
    data["access"] = access
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


@pytest.mark.parametrize(("case", "access", "code", "where", "setting"), HOSTILE, ids=[c[0] for c in HOSTILE])
def test_root_equivalent_access_is_refused_unless_the_operator_allows_it(
        example_dir: Path, case: str, access: dict[str, Any], code: str, where: str, setting: str) -> None:
    _with_access(example_dir, access)
    _, report = validate_directory(example_dir)
    got = [(p.code, p.to_dict()["path"]) for p in report.errors]
    assert got == [(code, where)], case
    assert setting in report.errors[0].message and report.errors[0].line > 0
    _, widened = validate_directory(example_dir, HostPolicy(**{setting: True}))
    assert widened.errors == []


def test_a_least_privilege_block_passes(example_dir: Path) -> None:
    _with_access(example_dir, SAFE)
    _, report = validate_directory(example_dir)
    assert report.errors == []
