"""Shared by the container-hardening checks. Runs in the grader only and never executes anything of the
candidate's: it reads build.json and layers/ (the engine's export of the image the grader built), the probe's
line from the run in that image, and the grader's copy of the compose file."""
import hashlib
import json
import os
import re
import sys
import traceback
from decimal import ROUND_HALF_UP, Decimal

JOB = "/cleanroom/image"
HIDDEN = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.join(os.environ.get("WORKSPACE", "/sandbox/root/work"), "fareplan")
PROBE_PREFIX = "OPSLAB-PROBE "
TOKEN_PATTERN = re.compile(rb"fl_live_[0-9a-f]{16,}")
SECRET_FILES = {"dotenv": ".env", "ini": "config/maps.ini"}


def _crashed(kind, value, tb):
    """A check that crashes is the grader's error (exit 2), never a failure of the candidate's."""
    print("This check could not run.")
    traceback.print_exception(kind, value, tb, file=sys.stderr)
    sys.stderr.flush()
    os._exit(2)


sys.excepthook = _crashed


def broken(detail):
    """The grader itself cannot judge: an error, never counted against the candidate."""
    print("This check could not run.")
    print(detail, file=sys.stderr)
    sys.exit(2)


def passed(message, detail=""):
    print(message)
    if detail:
        print(detail[-3800:], file=sys.stderr)
    sys.exit(0)


def failed(message, detail=""):
    print(message)
    if detail:
        print(detail[-3800:], file=sys.stderr)
    sys.exit(1)


def port():
    return int(os.environ["OPSLAB_VAR_PORT"])


def token():
    """The developer's maps token of this attempt (setup draws it from the seed the same way)."""
    seed = os.environ["OPSLAB_SEED"]
    return "fl_live_" + hashlib.sha256(f"fareplan-maps:{seed}".encode()).hexdigest()[:32]


def secret_file():
    return SECRET_FILES[os.environ["OPSLAB_VAR_SECRET_FILE"]]


def build():
    """build.json of a successful build; a failed or refused build fails the calling check with its message."""
    path = os.path.join(JOB, "build.json")
    try:
        with open(path) as f:
            b = json.load(f)
    except (OSError, ValueError) as e:
        broken(f"no build.json from the clean-room build: {e}")
    if not b.get("ok"):
        failed("The Dockerfile did not build, so there is no image to judge: " + str(b.get("error"))[:300],
               f"reason: {b.get('reason')}\n{tail_file(os.path.join(JOB, 'build.log'))}")
    return b


def tail_file(path, n=1500):
    try:
        with open(path, "rb") as f:
            return f.read()[-n:].decode("utf-8", "replace")
    except OSError:
        return ""


def own_layers(b):
    """(index, layer) of the layers the Dockerfile made (not the base image's)."""
    return [(i, l) for i, l in enumerate(b["layers"]) if not l.get("base")]


def layer_name(b, n):
    l = b["layers"][n]
    where = f"line {l['line']}: " if l.get("line") else ""
    return f"layer {n} ({where}{l['instruction'][:120]})"


# What the probe's evidence rests on: the base image's interpreter, libraries and loader. A layer that adds, changes
# or deletes anything there (or an LD_* variable) could make the probe report what the candidate wants.
SYSTEM = re.compile(r"^/(usr|bin|sbin|lib|lib32|lib64|libx32|opt/opslab-hidden)(/|$)|^/etc/(ld\.so\.|python3)")


def system_changes(b):
    found = []
    for n, l in own_layers(b):
        for f in l["files"]:
            if SYSTEM.search(f["path"]):
                found.append(f"{layer_name(b, n)}: {f['path']} ({f['type']})")
        if l.get("truncated"):
            found.append(f"{layer_name(b, n)}: more files than the grader lists, so they cannot all be checked")
    for e in b["image"]["env"]:
        if e.split("=", 1)[0].startswith("LD_"):
            found.append(f"the image sets {e.split('=', 1)[0]}")
    return found


START_FORMS = [
    ["python3", "-m", "fareplan"],
    ["/usr/bin/python3", "-m", "fareplan"],
]


def start_command_problems(b):
    """The probe starts the service as the image does only if WORKDIR is /app and the command is python3 -m fareplan."""
    img = b["image"]
    problems = []
    if os.path.normpath(img.get("workdir") or "/") != "/app":
        problems.append(f"WORKDIR is {img.get('workdir') or '/'!r}, not /app")
    argv = (img.get("entrypoint") or []) + (img.get("cmd") or [])
    if len(argv) == 3 and argv[:2] in (["/bin/sh", "-c"], ["sh", "-c"]):
        words = argv[2].split()
        argv = words[1:] if words[:1] == ["exec"] else words
    if argv not in START_FORMS:
        problems.append(f"the image starts {json.dumps((img.get('entrypoint') or []) + (img.get('cmd') or []))}, "
                        "not python3 -m fareplan")
    return problems


def probe(b):
    """The probe's result, or fails the calling check saying why there is none (the candidate's image could not run
    it, or something else wrote a result line)."""
    problems = system_changes(b)
    if problems:
        failed("The image changes the system files (interpreter, libraries, loader) that running the service is "
               "checked with, so the grader cannot trust what runs in it; keep the image's own changes out of "
               "/usr, /lib and /bin.", "\n".join(problems[:20]))
    try:
        with open(os.path.join(JOB, "exit-code")) as f:
            code = f.read().strip()
    except OSError:
        broken("the build succeeded but the run in the built image left no exit code")
    log = tail_file(os.path.join(JOB, "output.log"), 1 << 20)
    lines = [l for l in log.splitlines() if l.startswith(PROBE_PREFIX)]
    if code in ("126", "127") and not lines:
        failed("Nothing could be run in the built image as its USER (does that user exist in the image?).",
               f"exit {code}\n{log[-1500:]}")
    if code == "124" and not lines:
        failed("Running the service in the built image did not finish in time.", log[-1500:])
    if len(lines) != 1:
        failed("The probe run in the built image did not give exactly one result "
               f"({len(lines)} result lines: something in the image wrote to its output, or it could not run).",
               f"exit {code}\n{log[-2000:]}")
    try:
        return json.loads(lines[0][len(PROBE_PREFIX):])
    except ValueError:
        failed("The probe's result in the built image was garbled.", lines[0][:1500])


def user_uid(b):
    """The uid the image's USER names, from the image's own /etc/passwd as its layers left it (None: unknown)."""
    user = (b["image"].get("user") or "").split(":", 1)[0]
    if user in ("", "root"):
        return 0
    if user.isdigit():
        return int(user)
    passwd = None
    for n, l in own_layers(b):
        for f in l["files"]:
            if f["path"] == "/etc/passwd" and not f["whiteout"]:
                p = os.path.join(JOB, "layers", str(n), "etc/passwd")
                if os.path.isfile(p):
                    passwd = p
    if passwd:
        with open(passwd, encoding="utf-8", errors="replace") as f:
            for row in f:
                parts = row.rstrip("\n").split(":")
                if len(parts) > 2 and parts[0] == user and parts[2].isdigit():
                    return int(parts[2])
    return None


# Fares, computed here from the grader's own copy of the tariffs (never the candidate's).
def expected_fare(km, kg, zone):
    with open(os.path.join(HIDDEN, "tariffs.json")) as f:
        t = json.load(f)
    z = t["zones"][zone]
    km, kg = Decimal(km), Decimal(kg)
    amount = Decimal(z["base"]) + Decimal(z["per_km"]) * km
    amount += Decimal(z["per_kg"]) * max(Decimal(0), kg - Decimal(z["free_kg"]))
    if km > Decimal(t["long_haul_km"]):
        amount *= Decimal(t["long_haul_factor"])
    step = Decimal(t["rounding"])
    units = (amount / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return str((units * step).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def inspected_files():
    """(layer index, absolute path, local file) of every file whose contents the build job extracted."""
    root = os.path.join(JOB, "layers")
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.isfile(path) and not os.path.islink(path):
                rel = os.path.relpath(path, root)
                n, _, inner = rel.partition(os.sep)
                out.append((int(n), "/" + inner, path))
    return out


def compose():
    """The candidate's compose.yaml, parsed (the grader's copy); fails the calling check when it is not there or not YAML."""
    import yaml

    path = os.path.join(PROJECT, "compose.yaml")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        failed("There is no /root/work/fareplan/compose.yaml.")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        failed("compose.yaml is not valid YAML.", str(e)[:1500])
    if not isinstance(doc, dict) or not isinstance(doc.get("services"), dict):
        failed("compose.yaml has no services: mapping.")
    return text, doc
