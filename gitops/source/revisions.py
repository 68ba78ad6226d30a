"""The config files of any revision of a local checkout, for `phoenix-gitops plan --base REF --head REF`.

Used by the CLI, in CI jobs, where the config repository is the current checkout and the refs are
whatever git understands there (`origin/main`, `HEAD`, a sha). No controller, no clone of its own.
"""

from __future__ import annotations

from pathlib import Path

import git

from gitops import errors
from gitops.source.exporting import DEFAULT_MAX_FILE_BYTES, export_tree
from gitops.source.repository import CommitInfo, info


def export_revision(directory: Path, ref: str, into: Path, *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
                    script_folders: tuple[str, ...] = ("bin",)) -> CommitInfo:
    """Write the files the controller reads of config folder `directory` (in a git work tree) as of `ref`
    into `into` (`gitops.source.exporting`)."""
    if not ref.strip() or ref.strip().startswith("-"):
        raise errors.SourceError(f"{ref!r} is not a git revision")
    try:
        repo = git.Repo(directory, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise errors.SourceError(f"{directory} is not inside a git repository") from None
    try:
        root = Path(repo.working_tree_dir or ".").resolve()
        relative = directory.resolve().relative_to(root)
        commit = repo.commit(ref.strip())
        tree = commit.tree if str(relative) == "." else commit.tree / relative.as_posix()
        into.mkdir(parents=True, exist_ok=True)
        export_tree(tree, into, max_file_bytes=max_file_bytes, script_folders=script_folders, commit=commit.hexsha)
        return info(commit)
    except (git.BadName, ValueError, git.GitCommandError):
        raise errors.SourceError(f"{ref!r} is not a revision of {directory}") from None
    except KeyError:
        raise errors.SourceError(f"{directory} does not exist in {ref}") from None
    finally:
        repo.close()
