"""A small stand-in for the Hugging Face Hub on 127.0.0.1, so tests run the real ``huggingface_hub`` client.

It serves what ``hf_hub_download`` and ``HfApi.create_repo`` + ``upload_folder`` use (huggingface_hub 2.x):

- ``HEAD``/``GET /{org}/{repo}/resolve/{revision}/{path}``: a branch name or a full commit sha as revision,
  with ``X-Repo-Commit``, ``ETag`` (the git blob sha1, as the Hub sends for regular files) and
  ``Content-Length``. Files committed as LFS answer like the Hub does for LFS files: a ``302`` carrying
  ``X-Linked-Etag`` (sha256) and ``X-Linked-Size``, redirecting to a second origin (a stand-in CDN on another
  port) that serves the bytes. Errors carry the Hub's ``X-Error-Code`` (``RepoNotFound``, ``RevisionNotFound``,
  ``EntryNotFound``), which the client turns into its typed exceptions.
- ``POST /api/repos/create`` (409 when it exists), ``POST /api/validate-yaml``,
  ``POST /api/models/{org}/{repo}/preupload/{revision}`` (every file ``"uploadMode": "regular"``, with the
  remote git oid so unchanged files are skipped) and ``POST /api/models/{org}/{repo}/commit/{revision}``
  (NDJSON: a header line, then ``file`` lines with base64 content and ``deletedFile`` lines).
- ``GET /api/models/{org}/{repo}[/revision/{revision}]``: the repo's sha and file list.
- ``POST /api/models/{org}/{repo}/tag/{revision}`` (``HfApi.create_tag``; 409 when the tag exists): git tags,
  which ``resolve`` accepts as a revision like a branch name (imggen pins its weights to a tag).

Where it differs from the real Hub: the Hub answers ``preupload`` with ``"lfs"`` for ``*.safetensors`` and the
client then uploads those bytes to Xet storage; this stand-in answers ``"regular"`` for every file, so uploads
arrive base64-encoded inside the commit (``lfsFile`` lines are refused). Not served at all: Xet storage (upload or
download), the LFS batch API, deleting tags, pull requests, auth checks, private repos. Every request is recorded in
:attr:`LocalHub.requests` so tests can assert, for example, that a cache hit sent no ``GET``.

The client reads ``HF_ENDPOINT``, ``HF_HOME``, ``HF_HUB_OFFLINE`` once, when ``huggingface_hub.constants`` is
imported. :func:`hub_environment` gives those environment variables (for subprocesses) and
:func:`hub_constants` the constants they are read into (for this process); the ``local_hub`` fixture in
``conftest.py`` sets both.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

LFS_PATTERNS = ("*.safetensors", "*.bin", "*.pt")  # what the Hub's default .gitattributes stores in LFS


def git_blob_oid(content: bytes) -> str:
    """The git object id of a file's content: what the Hub sends as ETag for regular files."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class StoredFile:
    content: bytes
    lfs: bool = False

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class Commit:
    oid: str
    files: dict[str, StoredFile]
    message: str
    parent: str | None


@dataclass
class Repo:
    repo_id: str
    branches: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def resolve(self, revision: str) -> Commit | None:
        """The commit a branch name, tag or full commit sha points at."""
        oid = self.branches.get(revision) or self.tags.get(revision) or revision
        return self.commits.get(oid)


@dataclass(frozen=True)
class Request:
    server: str  # "hub" or "cdn"
    method: str
    path: str
    headers: dict[str, str]


class Refusal(Exception):
    """An error answer: HTTP status, the Hub's ``X-Error-Code`` and a message (raised inside the stand-in)."""

    def __init__(self, status: int, code: str | None, message: str, commit: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.commit = status, code, message, commit


class LocalHub:
    """A Hub stand-in: repos with branches and commits, served over HTTP on 127.0.0.1."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._servers: list[ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []
        self.url = ""
        self.cdn_url = ""
        self.home: Path | None = None  # the HF_HOME a test fixture gives the client
        self.env: dict[str, str | None] = {}  # environment a subprocess needs to use this hub (see conftest)

    # -- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> LocalHub:
        hub_server = self._serve(_handler(self, "hub"))
        cdn_server = self._serve(_handler(self, "cdn"))
        self.url = f"http://127.0.0.1:{hub_server.server_address[1]}"
        self.cdn_url = f"http://127.0.0.1:{cdn_server.server_address[1]}"
        return self

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        self._servers.append(server)
        self._threads.append(thread)
        return server

    def stop(self) -> None:
        """Stop serving; the ports then refuse connections (HTTP/1.0: no kept-alive connections linger)."""
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> LocalHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- content (what a test seeds directly) ---------------------------------------------------------------
    def create_repo(self, repo_id: str) -> Repo:
        """A new repo whose ``main`` holds one initial commit with ``.gitattributes``, as on the Hub."""
        with self._lock:
            if repo_id in self.repos:
                raise Refusal(409, None, f"You already created this model repo: {repo_id}")
            repo = self.repos[repo_id] = Repo(repo_id)
        attributes = "".join(f"{pattern} filter=lfs diff=lfs merge=lfs -text\n" for pattern in LFS_PATTERNS)
        self._commit(repo, "main", {".gitattributes": StoredFile(attributes.encode())}, (), "initial commit")
        return repo

    def commit(self, repo_id: str, files: dict[str, bytes], *, branch: str = "main", message: str = "commit",
               deleted: tuple[str, ...] = (), lfs_patterns: tuple[str, ...] = LFS_PATTERNS) -> str:
        """Add a commit on an existing ``branch`` (the repo is created if new); returns the commit sha."""
        if repo_id not in self.repos:
            self.create_repo(repo_id)
        stored = {p: StoredFile(c, any(fnmatch.fnmatch(p, pat) for pat in lfs_patterns)) for p, c in files.items()}
        return self._commit(self.repos[repo_id], branch, stored, deleted, message)

    def commit_folder(self, repo_id: str, folder: str | os.PathLike[str], **kwargs: object) -> str:
        """Commit every file of a local folder (e.g. one written by ``imggen.save_pretrained``)."""
        files = {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir()) if p.is_file()}
        return self.commit(repo_id, files, **kwargs)  # type: ignore[arg-type]

    def publish_folder(self, repo_id: str, folder: str | os.PathLike[str], tag: str) -> str:
        """Commit a weight folder and tag it, as ``scripts/publish_hub.py`` does on the Hub (``upload_folder`` then
        ``create_tag``); returns the tagged commit sha."""
        self.commit_folder(repo_id, folder, message=f"imggen weights {Path(folder).name}")
        return self.create_tag(repo_id, tag)

    def create_branch(self, repo_id: str, branch: str, from_revision: str = "main") -> None:
        repo = self.repos[repo_id]
        commit = repo.resolve(from_revision)
        assert commit is not None, f"{repo_id} has no revision {from_revision}"
        repo.branches[branch] = commit.oid

    def create_tag(self, repo_id: str, tag: str, revision: str = "main") -> str:
        """Tag the commit ``revision`` points at (as ``HfApi.create_tag``); returns the tagged commit sha."""
        repo = self._repo(repo_id)
        commit = self._revision(repo, revision)
        with self._lock:
            if tag in repo.tags or tag in repo.branches:
                raise Refusal(409, None, f"Tag {tag} already exists")
            repo.tags[tag] = commit.oid
        return commit.oid

    def _commit(self, repo: Repo, branch: str, added: dict[str, StoredFile], deleted: tuple[str, ...] | list[str],
                message: str) -> str:
        with self._lock:
            parent = repo.branches.get(branch)
            if parent is None and repo.branches:
                raise Refusal(404, "RevisionNotFound", f"Invalid rev id: {branch} (create the branch first)")
            files = dict(repo.commits[parent].files) if parent else {}
            for path in deleted:
                files.pop(path, None)
            files.update(added)
            digest = hashlib.sha1(f"{parent}\n{message}\n{len(repo.commits)}".encode())
            for path in sorted(files):
                digest.update(f"{path}:{git_blob_oid(files[path].content)}\n".encode())
            oid = digest.hexdigest()
            repo.commits[oid] = Commit(oid, files, message, parent)
            repo.branches[branch] = oid
            return oid

    # -- what tests ask afterwards --------------------------------------------------------------------------
    def file(self, repo_id: str, path: str, revision: str = "main") -> bytes:
        commit = self.repos[repo_id].resolve(revision)
        assert commit is not None
        return commit.files[path].content

    def downloads(self, filename: str) -> list[Request]:
        """``GET`` requests that fetched ``filename``'s bytes (from the Hub or from the CDN stand-in)."""
        blobs = {f.sha256 for r in self.repos.values() for c in r.commits.values()
                 for p, f in c.files.items() if p == filename}
        return [r for r in self.requests if r.method == "GET" and (
            (r.server == "hub" and "/resolve/" in r.path and r.path.endswith("/" + filename))
            or (r.server == "cdn" and r.path.strip("/") in blobs))]

    # -- HTTP routes ----------------------------------------------------------------------------------------
    def route(self, server: str, method: str, path: str, body: bytes, headers: dict[str, str]) -> Response:
        self.requests.append(Request(server, method, path, headers))
        parts = [unquote(p) for p in urlsplit(path).path.strip("/").split("/")]
        try:
            if server == "cdn":
                return self._cdn(parts)
            if method in ("HEAD", "GET") and len(parts) >= 5 and parts[2] == "resolve":
                return self._resolve(f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:]))
            if method == "POST" and parts == ["api", "repos", "create"]:
                return self._api_create_repo(json.loads(body))
            if method == "POST" and parts == ["api", "validate-yaml"]:
                return Response.json({"errors": [], "warnings": []})
            if parts[:2] == ["api", "models"] and len(parts) >= 4:
                return self._api_model(method, f"{parts[2]}/{parts[3]}", parts[4:], body)
        except Refusal as exc:
            return Response.error(exc)
        return Response.error(Refusal(404, None, f"stand-in Hub does not serve {method} {path}"))

    def _repo(self, repo_id: str) -> Repo:
        repo = self.repos.get(repo_id)
        if repo is None:
            raise Refusal(404, "RepoNotFound", "Repository not found")
        return repo

    def _revision(self, repo: Repo, revision: str) -> Commit:
        commit = repo.resolve(revision)
        if commit is None:
            raise Refusal(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return commit

    def _resolve(self, repo_id: str, revision: str, path: str) -> Response:
        commit = self._revision(self._repo(repo_id), revision)
        stored = commit.files.get(path)
        if stored is None:
            raise Refusal(404, "EntryNotFound", f"{path} does not exist on {revision}", commit=commit.oid)
        headers = {"X-Repo-Commit": commit.oid, "ETag": f'"{git_blob_oid(stored.content)}"'}
        if stored.lfs:
            headers.update({"X-Linked-Etag": f'"{stored.sha256}"', "X-Linked-Size": str(len(stored.content)),
                            "Location": f"{self.cdn_url}/{stored.sha256}"})
            return Response(302, b"", headers)
        return Response(200, stored.content, headers)

    def _cdn(self, parts: list[str]) -> Response:
        for repo in self.repos.values():
            for commit in repo.commits.values():
                for stored in commit.files.values():
                    if stored.lfs and stored.sha256 == parts[-1]:
                        return Response(200, stored.content, {"ETag": f'"{stored.sha256}"'})
        raise Refusal(404, None, "no such object")

    def _api_create_repo(self, payload: dict) -> Response:
        if payload.get("type", "model") != "model":
            raise Refusal(400, None, "the stand-in Hub only hosts model repos")
        repo_id = f"{payload['organization']}/{payload['name']}" if payload.get("organization") else payload["name"]
        if repo_id in self.repos:  # the Hub's 409 still carries the url, which the client reads with exist_ok
            return Response.json({"error": "You already created this model repo", "url": f"{self.url}/{repo_id}"},
                                 status=409)
        self.create_repo(repo_id)
        return Response.json({"url": f"{self.url}/{repo_id}", "name": repo_id, "id": repo_id})

    def _api_model(self, method: str, repo_id: str, rest: list[str], body: bytes) -> Response:
        repo = self._repo(repo_id)
        if method == "GET" and (not rest or rest[0] == "revision"):
            commit = self._revision(repo, rest[1] if len(rest) > 1 else "main")
            return Response.json({"id": repo_id, "modelId": repo_id, "sha": commit.oid, "private": False,
                                  "siblings": [{"rfilename": p} for p in sorted(commit.files)]})
        if method == "POST" and len(rest) >= 2 and rest[0] == "preupload":
            head = self._revision(repo, "/".join(rest[1:]))
            answer = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
                       "oid": git_blob_oid(head.files[f["path"]].content) if f["path"] in head.files else None}
                      for f in json.loads(body)["files"]]
            return Response.json({"files": answer, "commitOid": head.oid})
        if method == "POST" and len(rest) >= 2 and rest[0] == "tag":
            self.create_tag(repo_id, json.loads(body)["tag"], "/".join(rest[1:]))
            return Response.json({})
        if method == "POST" and len(rest) >= 2 and rest[0] == "commit":
            return self._api_commit(repo, "/".join(rest[1:]), body)
        raise Refusal(404, None, f"stand-in Hub does not serve {method} /api/models/{repo_id}/{'/'.join(rest)}")

    def _api_commit(self, repo: Repo, branch: str, body: bytes) -> Response:
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        if not lines or lines[0]["key"] != "header":
            raise Refusal(400, None, "commit payload must start with a header line")
        header = lines[0]["value"]
        if header.get("parentCommit") and header["parentCommit"] != repo.branches.get(branch):
            raise Refusal(412, None, "parent commit is not the head of the branch")
        added: dict[str, StoredFile] = {}
        deleted: list[str] = []
        for line in lines[1:]:
            value = line["value"]
            if line["key"] == "file" and value.get("encoding") == "base64":
                added[value["path"]] = StoredFile(base64.b64decode(value["content"]))
            elif line["key"] == "deletedFile":
                deleted.append(value["path"])
            else:
                raise Refusal(422, None, f"the stand-in Hub cannot commit {line['key']!r} lines (no LFS/Xet)")
        oid = self._commit(repo, branch, added, deleted, header.get("summary", ""))
        return Response.json({"success": True, "commitOid": oid, "commitUrl": f"{self.url}/{repo.repo_id}/commit/{oid}",
                              "pullRequestUrl": None})


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str]

    @classmethod
    def json(cls, payload: object, status: int = 200) -> Response:
        headers = {"Content-Type": "application/json"}
        if status >= 400:
            headers["X-Error-Message"] = str(payload.get("error", "")) if isinstance(payload, dict) else ""
        return cls(status, json.dumps(payload).encode(), headers)

    @classmethod
    def error(cls, exc: Refusal) -> Response:
        headers = {"Content-Type": "application/json", "X-Error-Message": exc.message}
        if exc.code:
            headers["X-Error-Code"] = exc.code
        if exc.commit:
            headers["X-Repo-Commit"] = exc.commit
        return cls(exc.status, json.dumps({"error": exc.message}).encode(), headers)


def _handler(hub: LocalHub, server: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: a stopped hub is really gone

        def _answer(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            response = hub.route(server, method, self.path, body, {k.lower(): v for k, v in self.headers.items()})
            self.send_response(response.status)
            for key, value in response.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(response.body)

        def do_HEAD(self) -> None:  # noqa: N802 (http.server's naming)
            self._answer("HEAD")

        def do_GET(self) -> None:  # noqa: N802
            self._answer("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._answer("POST")

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

    return Handler


def hub_environment(endpoint: str, home: str | os.PathLike[str], offline: bool = False) -> dict[str, str | None]:
    """The documented environment variables that point ``huggingface_hub`` at ``endpoint`` with its own cache."""
    return {
        "HF_ENDPOINT": endpoint,
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(Path(home) / "hub"),
        "HF_XET_CACHE": str(Path(home) / "xet"),
        "HF_TOKEN_PATH": str(Path(home) / "token"),
        "HF_HUB_OFFLINE": "1" if offline else "0",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_TOKEN": None,
        "HUGGING_FACE_HUB_TOKEN": None,
        "NO_PROXY": "127.0.0.1",
        "no_proxy": "127.0.0.1",
    }


def hub_constants(endpoint: str, home: str | os.PathLike[str], offline: bool = False) -> dict[str, object]:
    """The ``huggingface_hub.constants`` values those variables would have produced at import time.

    Every path under the current ``HF_HOME`` (hub cache, xet cache, token files, small state files) is moved
    under ``home``, so nothing is read from or written to the user's real Hugging Face folder.
    """
    from huggingface_hub import constants

    old_home = constants.HF_HOME
    values: dict[str, object] = {
        name: str(home) + value[len(old_home):]
        for name, value in vars(constants).items()
        if isinstance(value, str) and (value == old_home or value.startswith(old_home + os.sep))
    }
    values.update({
        "ENDPOINT": endpoint,
        "HUGGINGFACE_CO_URL_TEMPLATE": endpoint + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_HUB_CACHE": str(Path(home) / "hub"),
        "HF_XET_CACHE": str(Path(home) / "xet"),
        "HF_TOKEN_PATH": str(Path(home) / "token"),
        "HF_STORED_TOKENS_PATH": str(Path(home) / "stored_tokens"),
        "HF_HUB_OFFLINE": offline,
    })
    return values
