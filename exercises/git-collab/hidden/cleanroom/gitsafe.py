"""Reading a repository the candidate could edit, without trusting anything in it but its objects and refs.

`Scratch(src)` makes a fresh bare repository in a directory of the grader's own and copies into it, from the
candidate's repository `src` (a bare repository or a .git directory), only the loose objects whose content hashes
to their name, the packs (indexed anew from their content: no .idx, multi-pack index, commit-graph, bitmap or
alternates of the candidate's), and the regular files of refs/ (without refs/replace), packed-refs and HEAD. Its configuration, hooks, attributes, grafts, replace refs, reflogs
and everything else are left behind, so no git command run here can be steered by them; git runs with no system or
global configuration and with every setting that could run a program pinned. Objects are read as stored and their
hashes verified (`genuine`): an object file replaced under an original name does not count.
Used by the checks (hidden/lib.py) and by the clean-room job (run.sh)."""
import hashlib
import os
import shutil
import subprocess
import tempfile
import zlib

ENV = {"GIT_NO_REPLACE_OBJECTS": "1", "GIT_GRAFT_FILE": "/nonexistent", "GIT_CONFIG_NOSYSTEM": "1",
       "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_ATTR_NOSYSTEM": "1", "HOME": "/nonexistent", "GIT_PAGER": "cat",
       "PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "PATH": "/usr/bin:/bin",
       "LANG": "C.UTF-8"}
SAFE = ["-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "safe.directory=*", "-c",
        "core.pager=cat", "-c", "diff.external=", "-c", "core.attributesFile=/dev/null", "-c", "gc.auto=0",
        "-c", "maintenance.auto=false", "-c", "core.commitGraph=false", "-c", "protocol.allow=never"]


class Missing(Exception):
    pass


class Scratch:
    def __init__(self, src):
        if not os.path.isdir(os.path.join(src, "objects")) or os.path.islink(src):
            raise Missing(src)
        self.dir = tempfile.mkdtemp(prefix="gitsafe-")
        self.git_dir = os.path.join(self.dir, "repo.git")
        subprocess.run(["git", "init", "-q", "--bare", self.git_dir], env=ENV, check=True, capture_output=True)
        shutil.rmtree(os.path.join(self.git_dir, "hooks"), ignore_errors=True)
        self._copy_tree(os.path.join(src, "refs"), os.path.join(self.git_dir, "refs"))
        self._copy_objects(os.path.join(src, "objects"), os.path.join(self.git_dir, "objects"))
        shutil.rmtree(os.path.join(self.git_dir, "refs", "replace"), ignore_errors=True)
        for name in ("packed-refs", "HEAD"):
            p = os.path.join(src, name)
            if os.path.isfile(p) and not os.path.islink(p):
                shutil.copyfile(p, os.path.join(self.git_dir, name))

    @staticmethod
    def _copy_tree(src, dst):
        if not os.path.isdir(src) or os.path.islink(src):
            return
        for root, dirs, files in os.walk(src):
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]
            rel = os.path.relpath(root, src)
            os.makedirs(os.path.join(dst, rel), exist_ok=True)
            for f in files:
                p = os.path.join(root, f)
                if os.path.isfile(p) and not os.path.islink(p):
                    shutil.copyfile(p, os.path.join(dst, rel, f))

    def _copy_objects(self, src, dst):
        """Loose objects whose content hashes to their name, and packs indexed anew from their content (a pack's
        .idx, a multi-pack index, a commit-graph or bitmap could name objects that are not what they claim)."""
        for d in sorted(os.listdir(src)):
            p = os.path.join(src, d)
            if len(d) == 2 and os.path.isdir(p) and not os.path.islink(p):
                for f in sorted(os.listdir(p)):
                    q = os.path.join(p, f)
                    if len(f) != 38 or os.path.islink(q) or not os.path.isfile(q):
                        continue
                    try:
                        with open(q, "rb") as fh:
                            raw = zlib.decompress(fh.read())
                    except (OSError, zlib.error):
                        continue
                    if hashlib.sha1(raw).hexdigest() == d + f:
                        os.makedirs(os.path.join(dst, d), exist_ok=True)
                        shutil.copyfile(q, os.path.join(dst, d, f))
        packs = os.path.join(src, "pack")
        if os.path.isdir(packs) and not os.path.islink(packs):
            os.makedirs(os.path.join(dst, "pack"), exist_ok=True)
            for f in sorted(os.listdir(packs)):
                q = os.path.join(packs, f)
                if not f.endswith(".pack") or os.path.islink(q) or not os.path.isfile(q):
                    continue
                tmp = os.path.join(dst, "pack", "incoming.pack")
                shutil.copyfile(q, tmp)
                r = subprocess.run(["git", *SAFE, "--git-dir", self.git_dir, "index-pack", tmp], env=ENV,
                                   capture_output=True, text=True, timeout=120)
                name = r.stdout.strip().split()[-1] if r.returncode == 0 and r.stdout.strip() else None
                if name:
                    os.replace(tmp, os.path.join(dst, "pack", f"pack-{name}.pack"))
                    os.replace(tmp[:-5] + ".idx", os.path.join(dst, "pack", f"pack-{name}.idx"))
                for leftover in (tmp, tmp[:-5] + ".idx"):
                    if os.path.exists(leftover):
                        os.remove(leftover)

    def git(self, *args, check=True, data=None, binary=False):
        r = subprocess.run(["git", *SAFE, "--git-dir", self.git_dir, *args], env=ENV, capture_output=True,
                           input=data, timeout=60)
        if check and r.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)}: {r.stderr.decode(errors='replace')[:500]}")
        return r.stdout if binary else r.stdout.decode(errors="replace")

    def rev(self, name):
        """The commit `name` (a ref or a hash) names, or None."""
        out = self.git("rev-parse", "--verify", "-q", f"{name}^{{commit}}", check=False).strip()
        return out or None

    def is_ancestor(self, a, b):
        return subprocess.run(["git", *SAFE, "--git-dir", self.git_dir, "merge-base", "--is-ancestor", a, b],
                              env=ENV, capture_output=True).returncode == 0

    def read_objects(self, names):
        """{name: (type, bytes)} for objects whose content hashes to their name; a forged one raises ValueError."""
        if not names:
            return {}
        data = self.git("cat-file", "--batch", data=("\n".join(names) + "\n").encode(), binary=True)
        out, pos = {}, 0
        for name in names:
            nl = data.find(b"\n", pos)
            header = data[pos:nl].decode(errors="replace").split()
            if len(header) != 3:
                raise ValueError(f"object {name[:12]} cannot be read")
            size = int(header[2])
            body = data[nl + 1:nl + 1 + size]
            pos = nl + 1 + size + 1
            if hashlib.sha1(f"{header[1]} {size}\0".encode() + body).hexdigest() != name:
                raise ValueError(f"object {name[:12]} does not match its hash")
            out[name] = (header[1], body)
        return out

    def genuine(self, rev, stop=()):
        """None if every object reachable from `rev` (down to `stop`) hashes to its name, else the problem."""
        names = [l.split()[0] for l in self.git("rev-list", "--objects", rev, *[f"^{s}" for s in stop],
                                                check=False).splitlines() if l.strip()]
        if not names:
            return None if stop else f"{rev[:12]} is not in the repository"
        try:
            self.read_objects(names)
        except ValueError as e:
            return str(e)
        return None

    def tree(self, rev):
        """{path: (mode, blob)} of the commit `rev`."""
        out = {}
        for entry in self.git("ls-tree", "-r", "-z", "--full-tree", rev).split("\0"):
            if not entry:
                continue
            meta, path = entry.split("\t", 1)
            mode, kind, name = meta.split()
            out[path] = (mode, name)
        return out

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)
