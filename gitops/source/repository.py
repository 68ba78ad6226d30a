"""`ConfigRepo`: the controller's copy of the config repository, and the files of any commit of it.

Used by the controller (poll and webhook triggers, rollback) through `fetch`, `head`,
`commits_between` and `checkout`. The repository is cloned once, as a bare repository under
`workdir/mirror.git`, and every later `fetch` is incremental. `checkout(sha)` exports the config
folder of one commit into `workdir/checkouts/<sha>` (written to a temporary folder, then renamed),
so readers of other commits are never disturbed and old commits stay readable for rollbacks. Every
fetched head is kept under `refs/phoenix/seen/`, so a commit that a force-push removed from the
branch can still be rolled back to.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import git
from pydantic import SecretStr

from gitops import errors
from gitops.settings import Settings
from gitops.source import access
from gitops.source.changes import FileChange, file_changes
from gitops.source.exporting import DEFAULT_MAX_FILE_BYTES, export_tree

_HEX = re.compile(r"^[0-9a-fA-F]{4,64}$")
_BRANCH = re.compile(r"^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]+(?<!\.lock)(?<![/.])$")
_REVIEW_REF = re.compile(
    r"^refs/(pull/\d+/head|merge-requests/\d+/head|heads/(?!-)[A-Za-z0-9._/-]+(?<!\.lock)(?<![/.]))$")
DEFAULT_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class CommitInfo:
    sha: str
    author: str  # "Name <email>"
    message: str
    committed_at: dt.datetime  # aware, UTC

    @property
    def short_sha(self) -> str:
        return self.sha[:12]

    @property
    def subject(self) -> str:
        return self.message.strip().splitlines()[0] if self.message.strip() else ""


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one fetch found: the branch's head, and how it moved since the previous fetch."""

    head: CommitInfo
    previous_sha: str | None  # the head before this fetch; None on the first fetch
    cloned: bool  # this was the first fetch into an empty workdir
    forced: bool  # the previous head is no longer an ancestor of the new one (force-push)

    @property
    def changed(self) -> bool:
        return self.previous_sha != self.head.sha


class ConfigRepo:
    """The config repo at `url`, branch `branch`, config files in `path_in_repo` of it."""

    def __init__(
        self,
        url: str,
        branch: str = "main",
        path_in_repo: str = ".",
        workdir: Path | str = "repo",
        token: str | SecretStr | None = None,
        ssh_key: str | Path | None = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        script_folders: Iterable[str] = ("bin",),
    ) -> None:
        if not url:
            raise errors.SourceError("no config repository URL (PHOENIX_GIT_URL) is set")
        if not _BRANCH.match(branch):
            raise errors.SourceError(f"invalid branch name {branch!r}")
        self.branch = branch
        self.path_in_repo = _clean_subpath(path_in_repo)
        self.workdir = Path(workdir)
        self.timeout_s = timeout_s
        self.max_file_bytes = max_file_bytes
        self.script_folders = tuple(script_folders)
        self._url, username, url_password = access.split_credentials(url)
        self.display_url = access.display_url(url)
        secret = token.get_secret_value() if isinstance(token, SecretStr) else token
        self._token = secret or url_password
        key = access.materialise_ssh_key(str(ssh_key or ""), self.workdir / "ssh")
        self._env = access.git_environment(
            self._url, token=self._token, username=username, ssh_key=key,
            known_hosts=self.workdir / "ssh" / "known_hosts",
        )
        self._secrets = [self._token, *(v for v in self._env.values() if v.startswith("Authorization:"))]
        self._lock = threading.RLock()
        self._repo: git.Repo | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ConfigRepo:
        return cls(
            settings.git_url, settings.git_branch, settings.git_path, settings.data_dir / "repo",
            token=settings.git_token, ssh_key=settings.git_ssh_key or None,
            max_file_bytes=settings.git_max_file_bytes, script_folders=("bin", settings.scripts_dir),
        )

    @classmethod
    def reader(cls, settings: Settings) -> ConfigRepo:
        """The controller's clone, to read commits already fetched (the dashboard's diffs): no credentials,
        since it never fetches, and no key file written."""
        return cls(settings.git_url, settings.git_branch, settings.git_path, settings.data_dir / "repo",
                   max_file_bytes=settings.git_max_file_bytes, script_folders=("bin", settings.scripts_dir))

    @property
    def git_dir(self) -> Path:
        return self.workdir / "mirror.git"

    @property
    def tracking_ref(self) -> str:
        return f"refs/remotes/origin/{self.branch}"

    def close(self) -> None:
        """Stop git's helper processes; the clone stays on disk for the next start."""
        with self._lock:
            if self._repo is not None:
                self._repo.close()
                self._repo = None

    def __enter__(self) -> ConfigRepo:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- remote ------------------------------------------------------------------------------

    def fetch(self) -> FetchResult:
        """Bring the branch's new commits in (cloning on the very first call); SourceError if impossible."""
        with self._lock:
            repo = self._open()
            previous = self._ref_sha(repo)
            refspec = f"+refs/heads/{self.branch}:{self.tracking_ref}"
            self._git(repo, "fetch", "--no-tags", "--quiet", "origin", refspec)
            new = self._ref_sha(repo)
            if new is None:  # git said nothing yet wrote no ref: treat as a missing branch
                raise errors.SourceError(f"branch {self.branch!r} not found in {self.display_url}")
            forced = previous is not None and previous != new and not self._is_ancestor(repo, previous, new)
            self._git(repo, "update-ref", f"refs/phoenix/seen/{new}", new)
            return FetchResult(
                head=info(repo.commit(new)), previous_sha=previous, cloned=previous is None, forced=forced
            )

    def fetch_ref(self, ref: str) -> CommitInfo:
        """Fetch one pull-request head (`refs/pull/N/head`, `refs/merge-requests/N/head`, or a source
        branch `refs/heads/NAME`) into `refs/phoenix/review/...`; its commit. SourceError if impossible."""
        if not _REVIEW_REF.match(ref) or ".." in ref:
            raise errors.SourceError(f"{ref!r} is not a pull-request head this controller fetches")
        local = "refs/phoenix/review/" + ref.removeprefix("refs/")
        with self._lock:
            repo = self._open()
            try:
                self._git(repo, "fetch", "--no-tags", "--quiet", "origin", f"+{ref}:{local}")
            except errors.SourceError as exc:
                if str(exc).startswith(f"branch {self.branch!r} not found"):
                    raise errors.SourceError(f"{ref} not found in {self.display_url}") from None
                raise errors.SourceError(str(exc).replace(f"(branch {self.branch})", f"({ref})")) from None
            return info(repo.commit(repo.git.rev_parse("--verify", f"{local}^{{commit}}").strip()))

    def export(self, sha: str, into: Path) -> Path:
        """Write the config files of commit `sha` into the empty or missing folder `into` (a review's
        own copy, which no pruning of `checkouts` touches); `into`."""
        with self._lock:
            commit = self._resolve(sha)
            tree = self._config_tree(commit)
            into.mkdir(parents=True, exist_ok=True)
            try:
                self._export(tree, into, commit.hexsha)
            except OSError as exc:
                raise errors.SourceError(f"cannot write the files of {commit.hexsha[:12]}: {exc}") from None
            return into

    def head(self) -> CommitInfo:
        """The branch's head as of the last fetch (fetching first if there never was one)."""
        with self._lock:
            repo = self._open()
            sha = self._ref_sha(repo)
            if sha is None:
                return self.fetch().head
            return info(repo.commit(sha))

    # -- history -----------------------------------------------------------------------------

    def commit(self, sha: str) -> CommitInfo:
        """The commit with this sha or unique prefix; NotFoundError if the clone does not have it."""
        with self._lock:
            return info(self._resolve(sha))

    def commits_between(self, old_sha: str | None, new_sha: str, *, limit: int = 1000) -> list[CommitInfo]:
        """Commits reachable from `new_sha` but not from `old_sha`, oldest first, `new_sha` last.

        With `old_sha` None, the last `limit` commits up to `new_sha`. After a force-push this is
        what the new branch has that the old one had not.
        """
        with self._lock:
            new = self._resolve(new_sha)
            spec = new.hexsha if old_sha is None else f"{self._resolve(old_sha).hexsha}..{new.hexsha}"
            commits = self._open().iter_commits(spec, max_count=limit, reverse=True)
            return [info(c) for c in commits]

    def is_ancestor(self, old_sha: str, new_sha: str) -> bool:
        with self._lock:
            old, new = self._resolve(old_sha), self._resolve(new_sha)
            return self._is_ancestor(self._open(), old.hexsha, new.hexsha)

    # -- files -------------------------------------------------------------------------------

    def checkout(self, sha: str) -> Path:
        """A folder holding the config files (`path_in_repo`) of commit `sha`; reused once made."""
        with self._lock:
            commit = self._resolve(sha)
            target = self.checkouts_dir / commit.hexsha
            if target.is_dir():
                return target
            tree = self._config_tree(commit)
            self.checkouts_dir.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".tmp-{commit.hexsha[:12]}-", dir=self.checkouts_dir))
            try:
                self._export(tree, staging, commit.hexsha)
                os.rename(staging, target)
            except errors.SourceError:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            except OSError as exc:
                shutil.rmtree(staging, ignore_errors=True)
                if target.is_dir():  # made meanwhile by another process
                    return target
                raise errors.SourceError(f"cannot write the files of {commit.hexsha[:12]}: {exc}") from None
            return target

    def changes(self, sha: str) -> list[FileChange]:
        """What commit `sha` changed in the config folder against its first parent, file by file."""
        with self._lock:
            commit = self._resolve(sha)
            parent = commit.parents[0] if commit.parents else None
            old = None
            if parent is not None:
                try:
                    old = self._config_tree(parent)
                except errors.SourceError:  # the folder did not exist before this commit: all is added
                    old = None
            return file_changes(old, self._config_tree(commit), max_bytes=self.max_file_bytes)

    def _export(self, tree: git.Tree, into: Path, sha: str) -> None:
        export_tree(tree, into, max_file_bytes=self.max_file_bytes, script_folders=self.script_folders, commit=sha)

    @property
    def checkouts_dir(self) -> Path:
        return self.workdir / "checkouts"

    def prune_checkouts(self, keep: Iterable[str] = ()) -> None:
        """Delete exported folders except those of the full shas in `keep`."""
        kept = {sha.lower() for sha in keep}
        with self._lock:
            if not self.checkouts_dir.is_dir():
                return
            for entry in self.checkouts_dir.iterdir():
                if entry.name not in kept:
                    shutil.rmtree(entry, ignore_errors=True)

    # -- plumbing ----------------------------------------------------------------------------

    def _open(self) -> git.Repo:
        """The bare clone, made (empty) on first use; the remote URL kept in step with the settings."""
        if self._repo is not None:
            return self._repo
        try:
            if (self.git_dir / "HEAD").is_file():
                repo = git.Repo(self.git_dir)
            else:
                self.workdir.mkdir(parents=True, exist_ok=True)
                repo = git.Repo.init(self.git_dir, bare=True, mkdir=True)
            repo.git.update_environment(**self._env)
            urls = repo.git.config("--get-all", "remote.origin.url", with_exceptions=False).split()
            if not urls:
                repo.git.remote("add", "origin", self._url)
            elif urls != [self._url]:
                repo.git.remote("set-url", "origin", self._url)
                repo.git.update_ref("-d", self.tracking_ref, with_exceptions=False)
        except (git.GitError, OSError) as exc:
            raise errors.SourceError(f"cannot prepare the clone in {self.git_dir}: {exc}") from None
        self._repo = repo
        return repo

    def _git(self, repo: git.Repo, *args: str) -> str:
        try:
            out: str = repo.git.execute(["git", *args], kill_after_timeout=self.timeout_s)
            return out
        except git.GitCommandError as exc:
            raise self._fetch_error(exc) from None

    def _fetch_error(self, exc: git.GitCommandError) -> errors.SourceError:
        stderr = access.scrub(str(exc.stderr or ""), *self._secrets)
        lines = [line.strip().removeprefix("stderr: ").strip("'").strip() for line in stderr.splitlines()]
        if any("couldn't find remote ref" in line for line in lines):
            return errors.SourceError(f"branch {self.branch!r} not found in {self.display_url}")
        if exc.status == -9 or "timeout" in str(exc).lower():
            reason = f"no answer within {self.timeout_s:g}s"
        elif any("terminal prompts disabled" in line for line in lines):
            reason = "the server asks for credentials: " + (
                "the token was refused" if self._token else "set a token (PHOENIX_GIT_TOKEN)"
            )
        else:
            useful = [_without_prefix(line) for line in lines if line and not _boilerplate(line)]
            reason = "; ".join(useful)[:400] or f"git exited with status {exc.status}"
        return errors.SourceError(f"cannot fetch {self.display_url} (branch {self.branch}): {reason}")

    def _ref_sha(self, repo: git.Repo) -> str | None:
        ref = f"{self.tracking_ref}^{{commit}}"
        out = repo.git.rev_parse("--verify", "--quiet", ref, with_exceptions=False)
        sha = str(out).strip()
        return sha or None

    @staticmethod
    def _is_ancestor(repo: git.Repo, old: str, new: str) -> bool:
        return bool(repo.is_ancestor(repo.commit(old), repo.commit(new)))

    def _resolve(self, sha: str) -> git.Commit:
        """The git.Commit for a sha or prefix: only hex is accepted, so no revspec or option gets in."""
        text = sha.strip()
        if not _HEX.match(text):
            raise errors.NotFoundError(f"{sha!r} is not a commit sha")
        repo = self._open()
        try:
            full = repo.git.rev_parse("--verify", "--quiet", f"{text}^{{commit}}")
            return repo.commit(full.strip())
        except (git.GitCommandError, ValueError, git.BadName):
            raise errors.NotFoundError(
                f"commit {text} is not in the clone of {self.display_url} (ambiguous, or not fetched)"
            ) from None

    def _config_tree(self, commit: git.Commit) -> git.Tree:
        if self.path_in_repo == ".":
            return commit.tree
        try:
            tree = commit.tree / self.path_in_repo
        except KeyError:
            raise errors.SourceError(
                f"folder {self.path_in_repo!r} does not exist in commit {commit.hexsha[:12]}"
            ) from None
        if tree.type != "tree":
            raise errors.SourceError(
                f"{self.path_in_repo!r} is a file, not a folder, in {commit.hexsha[:12]}"
            )
        return tree


def info(commit: git.Commit) -> CommitInfo:
    author = commit.author
    return CommitInfo(
        sha=commit.hexsha,
        author=f"{author.name} <{author.email}>" if author.email else str(author.name),
        message=str(commit.message),
        committed_at=dt.datetime.fromtimestamp(commit.committed_date, dt.UTC),
    )


_BOILERPLATE = (  # git's generic advice after the real reason
    "Could not read from remote repository",
    "Please make sure you have",
    "and the repository exists",
)


def _boilerplate(line: str) -> bool:
    return any(text in line for text in _BOILERPLATE)


def _without_prefix(line: str) -> str:
    for prefix in ("fatal: ", "error: "):
        line = line.removeprefix(prefix)
    return line.rstrip(":")


def _clean_subpath(path: str) -> str:
    parts = [p for p in PurePosixPath(path.strip() or ".").parts if p not in (".", "/")]
    if any(p == ".." for p in parts):
        raise errors.SourceError(f"the config folder {path!r} must stay inside the repository")
    return "/".join(parts) or "."

