"""A Hub-compatible file server for tests: model repos from local folders, over HTTP on 127.0.0.1.

It speaks what ``huggingface_hub`` 2.4 asks of the Hub in ``snapshot_download`` and ``hf_hub_download``:

- ``GET /api/models/{org}/{name}/revision/{rev}``: repo info (``id``, ``sha`` = the commit, ``siblings``);
- ``GET /api/models/{org}/{name}/tree/{rev}``: the commit's files (always recursive), git and LFS ids, sizes;
- ``GET /api/agent-harnesses``: the registry the client fetches once a day (served empty);
- ``HEAD``/``GET /{org}/{name}/resolve/{rev}/{path}``: a file, with ``ETag``, ``X-Repo-Commit`` and
  ``Content-Length``. Large binary files are "LFS" files: as on the Hub, a 302 to another origin (the "CDN", here a
  second port) carrying ``X-Linked-Etag`` (the sha256) and ``X-Linked-Size``; the client downloads from there.

A revision is a branch or tag name, or a full commit hash. Unknown repos, revisions and files are 404s with the
``X-Error-Code`` that the client turns into ``RepositoryNotFoundError``, ``RevisionNotFoundError`` and
``EntryNotFoundError``. A repo added with a ``token`` answers only requests whose ``Authorization`` header is
``Bearer <token>``, as the Hub does: a private repo hides itself (401, ``RepoNotFound``), a gated one says so (401
without a token, 403 with another one; ``GatedRepo``). Every request is recorded with its ``Authorization``
header, so tests can count them, see who sent what, and which files were sent.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

# Suffixes stored with Git LFS by the Hub's default .gitattributes (those our repos use).
LFS_SUFFIXES = (".safetensors", ".bin", ".h5", ".msgpack", ".onnx", ".ot", ".model", ".pt", ".pth")


@dataclass(frozen=True)
class HubFile:
    """One file of a commit: where its bytes are on disk and the ids the Hub gives it."""

    path: str  # "/"-separated, relative to the repo root
    source: Path
    size: int
    git_sha: str  # git blob id: sha1 of b"blob <size>\0" + content
    sha256: str
    lfs: bool


def _hub_file(path: str, source: Path) -> HubFile:
    data = source.read_bytes()
    return HubFile(
        path=path,
        source=source,
        size=len(data),
        git_sha=hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
        lfs=path.endswith(LFS_SUFFIXES),
    )


def _files_of(folder: Path) -> dict[str, HubFile]:
    """Every file under ``folder`` (sub-folders included), by its repo path."""
    paths = {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}
    return {path: _hub_file(path, source) for path, source in paths.items()}


def _commit_sha(files: dict[str, HubFile]) -> str:
    """A stable 40-hex commit id for a set of files (same contents, same commit)."""
    listing = "".join(f"{path}\0{file.git_sha}\n" for path, file in sorted(files.items()))
    return hashlib.sha1(listing.encode()).hexdigest()


@dataclass
class HubRepo:
    """A repo's branches and tags, and its commits."""

    refs: dict[str, str]  # branch or tag name -> commit sha
    commits: dict[str, dict[str, HubFile]]  # commit sha -> files
    token: str | None = None  # the token a request needs (None: a public repo)
    gated: bool = False  # without that token: gated (the repo is visible) or private (it is not)

    def commit(self, revision: str) -> str | None:
        """The commit a branch, tag or commit hash names; None if none."""
        sha = self.refs.get(revision, revision)
        return sha if sha in self.commits else None


class _HubError(Exception):
    """A 404 the client maps to an exception class through its ``X-Error-Code``."""

    def __init__(self, code: str, message: str, commit: str | None = None, status: int = 404) -> None:
        super().__init__(message)
        self.code, self.message, self.commit, self.status = code, message, commit, status


class HubServer:
    """The server: ``add_repo`` what to serve, ``start()`` (or ``with``), point ``HF_ENDPOINT`` at ``endpoint``.

    ``requests`` holds ``(method, path)`` of every request to either origin, ``authorizations`` the
    ``Authorization`` header of each (None where there was none); ``sent`` the repo paths of the files whose bytes
    were sent (one entry per download).
    """

    def __init__(self) -> None:
        self.repos: dict[str, HubRepo] = {}
        self.requests: list[tuple[str, str]] = []
        self.authorizations: list[str | None] = []
        self.sent: list[str] = []
        self._blobs: dict[str, HubFile] = {}  # sha256 -> an LFS file with that content
        self._lock = threading.Lock()
        self._hub = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, cdn=False))
        self._cdn = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, cdn=True))
        self._threads: list[threading.Thread] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._hub.server_address[1]}"

    @property
    def cdn(self) -> str:
        return f"http://127.0.0.1:{self._cdn.server_address[1]}"

    def add_repo(
        self, repo_id: str, revisions: dict[str, Path], token: str | None = None, gated: bool = False
    ) -> None:
        """Serve ``repo_id`` ("org/name") with one commit per folder, under the given branch or tag names; the
        commit hashes are then in ``repos[repo_id].refs``. With a ``token``, only requests carrying it are
        answered: the repo is private, or ``gated``."""
        repo = self.repos.setdefault(repo_id, HubRepo(refs={}, commits={}, token=token, gated=gated))
        for name, folder in revisions.items():
            files = _files_of(Path(folder))
            sha = _commit_sha(files)
            repo.commits[sha] = files
            repo.refs[name] = sha
            self._blobs.update((f.sha256, f) for f in files.values() if f.lfs)

    def start(self) -> HubServer:
        for server in (self._hub, self._cdn):
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in (self._hub, self._cdn):
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget the requests and downloads seen so far."""
        with self._lock:
            self.requests.clear()
            self.authorizations.clear()
            self.sent.clear()

    def record(self, method: str, path: str, authorization: str | None) -> None:
        with self._lock:
            self.requests.append((method, path))
            self.authorizations.append(authorization)

    def record_sent(self, file: HubFile) -> None:
        with self._lock:
            self.sent.append(file.path)

    # -- the Hub's answers ------------------------------------------------------------------------------------
    def _repo(self, org: str, name: str, authorization: str | None) -> tuple[str, HubRepo]:
        repo_id = f"{org}/{name}"
        repo = self.repos.get(repo_id)
        if repo is None:
            raise _HubError("RepoNotFound", f"Repository {repo_id} not found")
        if repo.token is not None and authorization != f"Bearer {repo.token}":
            status = 401 if authorization is None else 403
            if repo.gated:
                raise _HubError("GatedRepo", f"Access to {repo_id} is restricted", status=status)
            raise _HubError("RepoNotFound", f"Repository {repo_id} not found", status=401)
        return repo_id, repo

    def _commit(self, repo: HubRepo, revision: str) -> str:
        sha = repo.commit(revision)
        if sha is None:
            raise _HubError("RevisionNotFound", f"Invalid rev id: {revision}")
        return sha

    def repo_info(self, org: str, name: str, revision: str, authorization: str | None) -> dict[str, Any]:
        repo_id, repo = self._repo(org, name, authorization)
        sha = self._commit(repo, revision)
        siblings = [{"rfilename": path} for path in repo.commits[sha]]
        private = repo.token is not None and not repo.gated
        return {"id": repo_id, "modelId": repo_id, "sha": sha, "private": private, "siblings": siblings}

    def tree(self, org: str, name: str, revision: str, authorization: str | None) -> list[dict[str, Any]]:
        _, repo = self._repo(org, name, authorization)
        files = repo.commits[self._commit(repo, revision)].values()
        folders = sorted({str(Path(f.path).parent) for f in files} - {"."})
        # Folder ids are not real git tree ids: the client only tells folders from files by "type".
        entries: list[dict[str, Any]] = [
            {"type": "directory", "oid": hashlib.sha1(d.encode()).hexdigest(), "size": 0, "path": d}
            for d in folders
        ]
        for f in files:
            entry: dict[str, Any] = {"type": "file", "oid": f.git_sha, "size": f.size, "path": f.path}
            if f.lfs:
                entry["lfs"] = {"oid": f.sha256, "size": f.size, "pointerSize": 134}
            entries.append(entry)
        return entries

    def resolve(
        self, org: str, name: str, revision: str, path: str, authorization: str | None
    ) -> tuple[str, HubFile]:
        _, repo = self._repo(org, name, authorization)
        sha = self._commit(repo, revision)
        file = repo.commits[sha].get(path)
        if file is None:
            raise _HubError("EntryNotFound", f"{path} does not exist on {revision!r}", commit=sha)
        return sha, file

    def blob(self, sha256: str) -> HubFile | None:
        return self._blobs.get(sha256)


def _handler(hub: HubServer, cdn: bool) -> type[BaseHTTPRequestHandler]:
    """The request handler of one origin: the Hub itself, or the CDN that serves LFS blobs."""

    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_GET(self) -> None:
            self._answer(body=True)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read ``hub.requests`` instead."""

        def _answer(self, body: bool) -> None:
            path = urlsplit(self.path).path
            authorization = self.headers.get("Authorization")
            hub.record(self.command, path, authorization)
            parts = [unquote(part) for part in path.split("/")[1:]]
            try:
                if cdn:
                    self._blob(parts, body)
                elif parts == ["api", "agent-harnesses"]:
                    self._json({"standardEnvVars": [], "harnesses": {}}, body)
                elif parts[:2] == ["api", "models"] and len(parts) == 6 and parts[4] in ("revision", "tree"):
                    org, name, kind, revision = parts[2:]
                    answer = hub.repo_info if kind == "revision" else hub.tree
                    self._json(answer(org, name, revision, authorization), body)
                elif len(parts) >= 5 and parts[2] == "resolve":
                    org, name, _, revision, *rest = parts
                    self._file(*hub.resolve(org, name, revision, "/".join(rest), authorization), body)
                else:
                    self._send(404, {}, f"no route for {path}".encode(), body)
            except _HubError as err:
                headers = {"X-Error-Code": err.code, "X-Error-Message": err.message}
                if err.commit:
                    headers["X-Repo-Commit"] = err.commit
                self._send(err.status, headers, json.dumps({"error": err.message}).encode(), body)

        def _json(self, data: Any, body: bool) -> None:
            self._send(200, {"Content-Type": "application/json"}, json.dumps(data).encode(), body)

        def _file(self, commit: str, file: HubFile, body: bool) -> None:
            headers = {"X-Repo-Commit": commit}
            if file.lfs:
                headers |= {
                    "Location": f"{hub.cdn}/blobs/{file.sha256}",
                    "X-Linked-Etag": f'"{file.sha256}"',
                    "X-Linked-Size": str(file.size),
                }
                self._send(302, headers, b"", body)
                return
            headers["ETag"] = f'"{file.git_sha}"'
            self._send(200, headers, file.source.read_bytes(), body, sent=file)

        def _blob(self, parts: list[str], body: bool) -> None:
            file = hub.blob(parts[1]) if len(parts) == 2 and parts[0] == "blobs" else None
            if file is None:
                self._send(404, {}, b"no such blob", body)
                return
            self._send(200, {"ETag": f'"{file.sha256}"'}, file.source.read_bytes(), body, sent=file)

        def _send(
            self, status: int, headers: dict[str, str], data: bytes, body: bool, sent: HubFile | None = None
        ) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)
                if sent is not None:
                    hub.record_sent(sent)

    return Handler


def unreachable_endpoint() -> str:
    """The URL of a port on 127.0.0.1 that nothing listens on (taken free, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
