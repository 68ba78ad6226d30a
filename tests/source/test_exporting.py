"""What a checkout writes (`gitops.source.exporting`): the files the config names, found among the commit's
paths. `named_files(..., among=paths)` passes over the strings that cannot name one of `paths` without
parsing them; what it finds among those paths is what the full scan finds, whatever the spelling
(`./bin/x.sh`, `bin//x.sh`, `x.sh/.`, features, `..`)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from gitops.config.estate import LXC_FILE, VM_FILE
from gitops.source.exporting import named_files

PARTS = st.sampled_from(["bin", "app.sh", "x.sh", "stacks", "web.yml", ".", "..", "", "lxc", "vm", "nvidia",
                         "phoenix_hypervisor_setup", "features", "a b"])
SPELLINGS = ["./bin/app.sh", "/bin/app.sh", "x.sh/.", "app.sh/", "bin//app.sh", "./x.sh/./"]
TEXT = st.lists(PARTS, min_size=1, max_size=4).map("/".join) | st.sampled_from(SPELLINGS)
PATHS = ["bin/app.sh", "app.sh", "stacks/web.yml", "bin/bin/x.sh", "x.sh", "a b", "bin/x.sh",
         "lxc_setup/phoenix_hypervisor_feature_install_nvidia.sh", "bin/vm_features/feature_install_docker.sh"]


@settings(max_examples=150, deadline=None, database=None)
@given(strings=st.lists(TEXT, max_size=8), features=st.lists(st.sampled_from(["nvidia", "docker", "x.sh", "../x"]),
                                                            max_size=3),
       among=st.lists(st.sampled_from(PATHS), max_size=4), folders=st.sampled_from([("bin",), ("bin", "scripts/"),
                                                                                     ()]))
def test_the_named_files_among_the_commits_paths_are_those_of_the_full_scan(
        strings: list[str], features: list[str], among: list[str], folders: tuple[str, ...]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        guests = {"101": {"name": "a", "application_script": strings[0], "features": features}} if strings else {}
        lxc = {"lxc_configs": guests, "other": strings}
        (directory / LXC_FILE).write_text(json.dumps(lxc))
        (directory / VM_FILE).write_text(json.dumps({"vms": [{"features": features, "x": strings[1:]}]}))
        full = named_files(directory, folders)
        assert named_files(directory, folders, among=among) & set(among) == full & set(among)
        assert named_files(directory, folders, among=[]) == set()


def test_feature_scripts_and_named_files_are_found(tmp_path: Path) -> None:
    lxc = {"lxc_configs": {"101": {"name": "a", "features": ["nvidia"], "application_script": "./app.sh"}}}
    (tmp_path / LXC_FILE).write_text(json.dumps(lxc))
    full = named_files(tmp_path, ("bin",))
    assert {"app.sh", "bin/app.sh"} <= full and any("nvidia" in p for p in full)
    feature = next(p for p in full if "nvidia" in p)
    assert named_files(tmp_path, ("bin",), among=["bin/app.sh", feature, "bin/other.sh"]) >= {"bin/app.sh", feature}


def test_spellings_that_end_in_a_slash_or_a_dot_are_found(tmp_path: Path) -> None:
    lxc = {"lxc_configs": {"101": {"name": "a", "application_script": "x.sh/."}}, "more": ["app.sh/", "bin//y.sh"]}
    (tmp_path / LXC_FILE).write_text(json.dumps(lxc))
    among = ["x.sh", "bin/app.sh", "bin/y.sh"]
    assert named_files(tmp_path, ("bin",), among=among) & set(among) == set(among)


def test_what_an_entry_names_is_judged_again_when_the_paths_or_the_entry_change(tmp_path: Path) -> None:
    """Each entry keeps what its strings name, under the commit's paths and folders it was judged by."""
    guests = {str(100 + i): {"name": f"g{i}", "application_script": "none"} for i in range(50)}
    (tmp_path / LXC_FILE).write_text(json.dumps({"lxc_configs": guests}))
    assert named_files(tmp_path, ("bin",), among=["bin/app.sh"]) == set()
    guests["130"]["application_script"] = "app.sh"
    (tmp_path / LXC_FILE).write_text(json.dumps({"lxc_configs": guests}))
    assert named_files(tmp_path, ("bin",), among=["bin/app.sh"]) == {"app.sh", "bin/app.sh"}
    assert named_files(tmp_path, ("scripts",), among=["scripts/app.sh"]) == {"app.sh", "scripts/app.sh"}
    assert named_files(tmp_path, ("bin",), among=["other.sh"]) == set()
    guests["130"]["application_script"] = "none"
    (tmp_path / LXC_FILE).write_text(json.dumps({"lxc_configs": guests}))
    assert named_files(tmp_path, ("bin",), among=["bin/app.sh"]) == set()
