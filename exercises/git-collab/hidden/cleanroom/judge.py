"""The clean-room verdicts (root; never imports the candidate's code). Draws this run's inputs (edge cases plus
random ones from os.urandom), has harness.py evaluate them as an unprivileged user on the package committed on
origin's main, and compares every answer with the grader's own reference implementation below:
  conflict  the function main and the feature branch both changed keeps both intents (variant `conflict`)
  bad       the behaviour the bad commit broke is back (variant `bad`)
Prints one line per area: `<area> {"ok": bool, "calls": n, "problems": [...]}`.
Usage: judge.py <tree dir> <harness.py>"""
import json
import os
import random
import re
import subprocess
import sys

TREE, HARNESS = sys.argv[1], sys.argv[2]
CONFLICT = os.environ.get("OPSLAB_VAR_CONFLICT", "parse")
BAD = os.environ.get("OPSLAB_VAR_BAD", "mask-leak")
rnd = random.SystemRandom()

# --- The reference: what the merged, reverted main computes. -----------------------------------------------------
KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def unquote(value):
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        inner = value[1:-1]
        return inner.replace("\\n", "\n") if value[0] == '"' else inner
    return value


def strip_comment(value):
    text = value.strip()
    if text[:1] in ("'", '"'):
        end = text.find(text[0], 1)
        return text[:end + 1] if end > 0 else text
    m = re.search(r"\s#", value)
    return value[:m.start()].strip() if m else text


def parse_line(line):
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    if text.startswith("export "):
        text = text[len("export "):].lstrip()
    key, sep, value = text.partition("=")
    if not sep:
        raise ValueError(line)
    key, value = key.strip(), strip_comment(value)
    if not KEY.fullmatch(key):
        raise ValueError(key)
    return [key, unquote(value)]


REF = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def expand(value, env):
    def one(m):
        if m.group(1):
            return "$"
        name, default = m.group(2) or m.group(4), m.group(3)
        got = env.get(name, "")
        return got if got or default is None else default
    return REF.sub(one, value)


SECRET = re.compile(r"(^|_)(SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|CREDENTIALS?)($|_)", re.I)


def mask(key, value):
    return "********" if SECRET.search(key) and value else value


PLAIN = re.compile(r"[A-Za-z0-9_./:@+,-]+")


def quote(value):
    if PLAIN.fullmatch(value):
        return value
    if "'" not in value and "\n" not in value:
        return "'" + value + "'"
    return '"' + value.replace("\n", "\\n") + '"'


def render(values):
    return "".join(f"{k}={quote(v)}\n" for k, v in values.items())


# --- This run's inputs. ------------------------------------------------------------------------------------------
def word(n=6, alphabet="abcdefghijklmnopqrstuvwxyz0123456789"):
    return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, n)))


def key():
    return rnd.choice(["", "APP_", "DB_", "X"]) + word(6, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") + rnd.choice(["", "1", "_URL"])


def parse_inputs():
    fixed = ["PORT=8080", "export PORT=8080", "exported=1", "TIMEOUT=30  # seconds", "COLOR=#ff0000",
             "TITLE='a # b'  # note", "export TIMEOUT=30 # seconds", "export  NAME = 'x y'  # c", "EMPTY= # none",
             "# export A=1", "   ", "export", "export A", "BAD-KEY=1", "export BAD-KEY=1", 'Q="v # w"', "A=b#c"]
    out = list(fixed)
    for _ in range(160):
        value = rnd.choice([word(), f"{word()} {word()}", f"'{word()} # {word()}'", f'"{word()}"', f"#{word(4)}",
                            "", f"{word()}#{word()}"])
        comment = rnd.choice(["", "", f"  # {word()}", f" #{word()}", "\t# x"])
        prefix = rnd.choice(["", "", "export ", "export  ", "  export ", "exportX"])
        out.append(f"{prefix}{key()}{rnd.choice(['=', ' = ', '='])}{value}{comment}")
    return [["parse.parse_line", [line]] for line in out], [lambda l=line: parse_line(l) for line in out]


def expand_inputs():
    names = [key() for _ in range(6)]
    fixed = [("${REGION:-eu-west-1}", {}), ("${REGION:-eu-west-1}", {"REGION": "us-east-2"}),
             ("${REGION:-eu-west-1}", {"REGION": ""}), ("pa$$word", {"word": "x"}), ("$$HOME", {"HOME": "/root"}),
             ("${HOST}:$PORT", {"HOST": "db", "PORT": "5432"}), ("costs $5", {}), ("$$${A:-b}$$", {}),
             ("x${NOPE}y", {})]
    cases = list(fixed)
    for _ in range(160):
        env = {n: rnd.choice(["", word()]) for n in names if rnd.random() < 0.6}
        parts = []
        for _ in range(rnd.randint(1, 5)):
            n = rnd.choice(names)
            parts.append(rnd.choice([word(), f"${n}", "${%s}" % n, "${%s:-%s}" % (n, word()), "$$", f"$${n}", "$5",
                                     "$", " "]))
        cases.append(("".join(parts), env))
    return [["expand.expand", [v, e]] for v, e in cases], [lambda v=v, e=e: expand(v, e) for v, e in cases]


def mask_inputs():
    keys = ["DB_PASSWORD", "API_KEY", "GITHUB_TOKEN", "PORT", "TOKENIZER_MODEL", "secret"]
    keys += [rnd.choice(["", "APP_", "AWS_"]) + rnd.choice(["TOKEN", "SECRET", "PASSWORD", "HOST", "NAME"])
             + rnd.choice(["", "_2", "_FILE"]) for _ in range(60)]
    cases = [(k, rnd.choice(["", word(3), word(24)])) for k in keys] + [("DB_PASSWORD", "hunter2")]
    return [["mask.mask", [k, v]] for k, v in cases], [lambda k=k, v=v: mask(k, v) for k, v in cases]


def render_inputs():
    cases = [{"TITLE": "hello world", "EMPTY": "", "QUOTE": "it's", "ML": "a\nb", "PORT": "8080"}]
    for _ in range(60):
        cases.append({key(): rnd.choice([word(), f"{word()} {word()}", "", f"{word()}'s", f"{word()}\n{word()}",
                                         f"{word()} # {word()}", f"https://{word()}.example/{word()}"])
                      for _ in range(rnd.randint(1, 5))})
    return [["render.render", [c]] for c in cases], [lambda c=c: render(c) for c in cases]


AREAS = {"conflict": {"parse": parse_inputs, "expand": expand_inputs}[CONFLICT],
         "bad": {"mask-leak": mask_inputs, "render-quote": render_inputs}[BAD]}


def expected(f):
    try:
        return {"r": f()}
    except Exception as e:  # noqa: BLE001
        return {"e": type(e).__name__}


def run(calls):
    nonce = os.urandom(16).hex()
    req = json.dumps({"nonce": nonce, "calls": calls})
    cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "env", "-i", "PATH=/usr/bin:/bin",
           "LANG=C.UTF-8", "HOME=/nonexistent", "timeout", "-k", "5", "30", "python3", "-I", "-B", HARNESS, TREE]
    r = subprocess.run(cmd, input=req.encode(), capture_output=True, cwd="/", timeout=60)
    lines = [l for l in r.stdout.decode(errors="replace").splitlines() if l.strip()]
    mine = [l for l in lines if l.startswith(nonce + " ")]
    if len(mine) != 1 or len(lines) != 1:
        return None, f"the package's process printed {len(lines)} line(s) besides or instead of its answers " \
                     f"(exit {r.returncode}): {(lines or [r.stderr.decode(errors='replace')[-300:]])[-1][:300]}"
    try:
        got = json.loads(mine[0][len(nonce) + 1:])
    except ValueError:
        return None, "unreadable answers"
    if not isinstance(got, list) or len(got) != len(calls):
        return None, "wrong number of answers"
    return got, None


for area, make in AREAS.items():
    calls, refs = make()
    got, problem = run(calls)
    problems = [problem] if problem else []
    if got is not None:
        for (fn, args), ref, ans in zip(calls, refs, got):
            want = expected(ref)
            same = ("e" in want and isinstance(ans, dict) and "e" in ans) or ans == want
            if not same:
                problems.append(f"{fn}{tuple(args)!r}: got {ans}, expected {want}"[:300])
    print(area, json.dumps({"ok": not problems, "calls": len(calls), "problems": problems[:8]}))
