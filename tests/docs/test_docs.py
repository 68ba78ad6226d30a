"""The README and docs/ say only what is true of this repository.

- Every relative link (`[text](path#anchor)`) names a file of the repository, and its anchor a heading
  of that file (GitHub's slugs).
- Every dotted `gitops.` name in the docs and in the package's and tests' docstrings and comments is a
  module of the package, or a name a module defines.
- No file of the repository names a path outside it (`../shared`, an absolute path of one machine).
- Every console example (a ```console block: `$ command`, then its output, `...` for lines left out)
  is run, and prints what it shows.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("phoenix-gitops"))
DOCS = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
DOTTED = re.compile(r"(?<![\w./'\"-])gitops(?:\.[A-Za-z_]\w*)+")  # not a string value (a logger's name)
HOST_NAMES = (".internal", ".com", ".org", ".net", ".local", ".lan")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def tracked(*patterns: str) -> list[Path]:
    out = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard",
                          *patterns], capture_output=True, text=True, check=True).stdout
    return [ROOT / line for line in out.splitlines() if (ROOT / line).is_file()]


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, re.M)}


def test_the_docs_files_exist() -> None:
    names = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert {"configuration.md", "operations.md", "security.md", "layouts.md", "architecture.md",
            "performance.md"} <= names


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_name_files_and_headings_that_exist(doc: Path) -> None:
    broken = []
    for target in LINK.findall(FENCE.sub("", doc.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z]+:", target):
            continue  # https:, mailto:
        file, _, anchor = target.partition("#")
        path = (doc.parent / file).resolve() if file else doc
        if not path.is_relative_to(ROOT) or not path.exists():
            broken.append(f"{target}: no such file in the repository")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{target}: no heading #{anchor} in {path.relative_to(ROOT)}")
    assert not broken, broken


def defined(module: Path, name: str) -> bool:
    source = module.read_text(encoding="utf-8")
    return re.search(rf"^\s*(?:async def|def|class) {name}\b|^{name}\s*[:=]|^\s*(?:from \S+ )?import .*\b{name}\b",
                     source, re.M) is not None


def resolves(dotted: str) -> bool:
    """`gitops.a.b.Name`: a module of the package, then a name defined in it (or a class and its method)."""
    parts = dotted.split(".")
    folder, module = ROOT, None
    for i, part in enumerate(parts):
        if (folder / part).is_dir() and (folder / part / "__init__.py").is_file():
            folder, module = folder / part, folder / part / "__init__.py"
        elif (folder / f"{part}.py").is_file():
            module = folder / f"{part}.py"
            rest = parts[i + 1:]
            return len(rest) <= 2 and all(defined(module, name) for name in rest)
        else:
            rest = parts[i:]
            return module is not None and len(rest) == 1 and defined(module, rest[0])
    return True


def test_every_dotted_gitops_name_exists() -> None:
    missing = set()
    this = Path(__file__).resolve()
    for path in [*DOCS, *(p for p in tracked("gitops/*.py", "tests/*.py", "deploy/*") if p.resolve() != this)]:
        for name in DOTTED.findall(path.read_text(encoding="utf-8")):
            name = name.rstrip(".")
            if not name.endswith(HOST_NAMES) and not resolves(name):
                missing.add(f"{path.relative_to(ROOT)}: {name}")
    assert not missing, sorted(missing)


def test_no_file_names_a_path_outside_the_repository() -> None:
    outside = re.compile(r"\.\./shared|/work/|/home/\w+/")
    this = Path(__file__).resolve()
    ours = [p for p in tracked() if p.resolve() != this and p.suffix not in (".xz", ".sqlite")
            and not p.is_relative_to(ROOT / "tests" / "data" / "phoenix-upstream")]  # upstream's, verbatim
    found = [f"{p.relative_to(ROOT)}:{n}" for p in ours
             for n, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
             if outside.search(line)]
    assert not found, found


# --- console examples ---------------------------------------------------------------------------------

def console_blocks() -> list[tuple[str, str, list[str]]]:
    blocks = []
    for doc in DOCS:
        for kind, body in FENCE.findall(doc.read_text(encoding="utf-8")):
            if kind == "console":
                first, *output = body.rstrip("\n").split("\n")
                assert first.startswith("$ "), f"{doc.name}: a console block starts with `$ command`"
                blocks.append((doc.name, first[2:], output))
    return blocks


def matches(expected: list[str], actual: list[str]) -> bool:
    """`...` stands for any lines (none too); a 12-digit hex in the expected text for any commit."""
    if not expected:
        return not actual
    head, *rest = expected
    if head == "...":
        return any(matches(rest, actual[i:]) for i in range(len(actual) + 1))
    pattern = re.sub(r"[0-9a-f]{12}", "[0-9a-f]{12}", re.escape(head.rstrip()))
    return bool(actual) and re.fullmatch(pattern, actual[0].rstrip()) is not None and matches(rest, actual[1:])


def demo_repo(tmp_path: Path) -> Path:
    """A config repo as the demo makes it, with the README's "more memory" commit on top."""
    repo = tmp_path / "config-repo"
    shutil.copytree(ROOT / "configs-example", repo)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "The example estate"], check=True)
    lxc = repo / "phoenix_lxc_configs.json"
    lxc.write_text(lxc.read_text().replace('"memory_mb": 512', '"memory_mb": 768'))
    subprocess.run([*git, "commit", "-qam", "more memory"], check=True)
    return repo


BLOCKS = console_blocks()


def test_there_are_console_examples() -> None:
    assert {doc for doc, _, _ in BLOCKS} >= {"README.md", "configuration.md"}


@pytest.mark.parametrize(("doc", "command", "output"), BLOCKS, ids=[f"{d}: {c}" for d, c, _ in BLOCKS])
def test_console_example_prints_what_it_shows(doc: str, command: str, output: list[str], tmp_path: Path) -> None:
    args = command.split()
    assert args[0] == "phoenix-gitops", command
    cwd = demo_repo(tmp_path) if "--base" in args else ROOT
    done = subprocess.run([CLI, *args[1:]], capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={"PATH": "/usr/bin:/bin", "COLUMNS": "80", "HOME": str(tmp_path)})
    actual = (done.stdout + done.stderr).rstrip("\n").split("\n")
    assert matches(output, actual), "\n".join(actual)
