# The body of every answer script (solution/apply, solution-alt/* and wrong/*): each sets the switches SUPERVISOR,
# DATA, DISK, SQUATTER, HOSTS and NOTE, then sources this file. Runs as root, cwd = workspace, with the variables.
set -euo pipefail
port=${OPSLAB_VAR_PORT:?} stray=${OPSLAB_VAR_STRAY:?} misconfig=${OPSLAB_VAR_MISCONFIG:?}
conf=/etc/svcd/programs/pricebook.conf
set_key() { sed -i -E "s|^($2[[:space:]]*=).*|\1 $3|" "$1"; }
archiver_pid() { svcctl status | awk '$1 == "archiver" && $3 == "pid" { print $4 }'; }
# Waits (bounded: 30 s, then fails loudly) until a command succeeds; returns at once when it already does.
wait_for() { local what=$1; shift; for _ in $(seq 1 300); do "$@" && return 0; sleep 0.1; done; echo "answer: $what did not happen in 30 s" >&2; return 1; }
port_free() { [ -z "$(ss -Hltn "sport = :$port")" ]; }
answers() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/healthz" 2>/dev/null; }

# --- the supervisor's program: a misspelt account or a missing directory, and no autorestart ------------------
case "$SUPERVISOR" in
  fix|by-hand|fake)
    if [ "$SUPERVISOR" = fix ]; then
      set_key "$conf" user pricebook
      set_key "$conf" directory /opt/pricebook
      set_key "$conf" autorestart true
    fi ;;
  none) ;;
esac

# --- the journal restored as root -----------------------------------------------------------------------------
case "$DATA" in
  chown)    chown -R pricebook:pricebook /var/lib/pricebook; chmod -R o-rwx /var/lib/pricebook ;;
  chmod777) chmod -R 777 /var/lib/pricebook/journal ;;          # near miss: works, and anyone may write the journal
  none) ;;
esac

# --- the deleted 20 MiB log the archiver still holds open -------------------------------------------------------
case "$DISK" in
  fix)                                                          # debug off at its source, then close the file
    set_key /etc/archiver/archiver.ini level info
    svcctl restart archiver >/dev/null ;;
  kill)                                                         # another style: svcd restarts it (autorestart)
    sed -i -E 's/^level[[:space:]]*=[[:space:]]*debug/level = info/' /etc/archiver/archiver.ini
    old=$(archiver_pid)
    kill "$old"
    wait_for "the archiver's restart" bash -c "[ ! -e /proc/$old ] && svcctl status | grep -qE '^archiver +RUNNING'" ;;
  truncate)                                                     # near miss: empties the deleted file, debug stays on
    pid=$(archiver_pid)
    runuser -u pricebook -- bash -c "for fd in /proc/$pid/fd/*; do case \$(readlink \"\$fd\") in *'(deleted)') : > \"\$fd\";; esac; done" ;;
  none) ;;
esac

# --- the stray web server on pricebook's port -------------------------------------------------------------------
case "$SQUATTER" in
  free)
    if [ "$stray" = supervised ]; then set_key /etc/svcd/programs/docs-preview.conf autostart false
    else pkill -f "http.server $port"; wait_for "port $port to be free" port_free; fi ;;
  remove)                                                       # another style: the program file goes
    if [ "$stray" = supervised ]; then rm /etc/svcd/programs/docs-preview.conf
    else kill $(pgrep -f "^python3 -m http.server $port"); wait_for "port $port to be free" port_free; fi ;;
  move) set_key /etc/pricebook/pricebook.ini listen 127.0.0.1:9090 ;;   # near miss: clients still call $port
  none) ;;
esac

# --- catalog.internal's stale address ----------------------------------------------------------------------------
case "$HOSTS" in
  template)
    sed -i -E 's/^127\.0\.10\.20([[:space:]]+catalog\.internal)/127.0.10.10\1/' /etc/netinit/hosts.tmpl
    /etc/svcd/boot.d/10-netinit >/dev/null ;;
  template-alt)                                                 # another style: a new line, the old one dropped
    grep -v 'catalog\.internal' /etc/netinit/hosts.tmpl > /tmp/hosts.tmpl
    printf '127.0.10.10\tcatalog.internal catalog\t# moved 2026-11\n' >> /tmp/hosts.tmpl
    cat /tmp/hosts.tmpl > /etc/netinit/hosts.tmpl && rm /tmp/hosts.tmpl
    /etc/svcd/boot.d/10-netinit >/dev/null ;;
  live)       # near miss: /etc/hosts only (netinit rewrites it from the template at boot)
    sed 's/^127\.0\.10\.20/127.0.10.10/' /etc/hosts > /tmp/hosts && cat /tmp/hosts > /etc/hosts ;;
  patch-runtime) # near miss: the interpreter taught the right address; the template and pricebook.py untouched
    rm /usr/lib/python3.11/sitecustomize.py
    cat > /usr/lib/python3.11/sitecustomize.py <<'PY'
import socket
_getaddrinfo = socket.getaddrinfo
def getaddrinfo(host, *args, **kwargs):
    return _getaddrinfo("127.0.10.10" if host == "catalog.internal" else host, *args, **kwargs)
socket.getaddrinfo = getaddrinfo
PY
    ;;
  patch-code) # near miss: the address written into pricebook.py
    python3 - <<'PY'
p = "/opt/pricebook/pricebook.py"
s = open(p).read()
s = s.replace('with urllib.request.urlopen(f"{cfg[\'upstream\']}/price', 'with urllib.request.urlopen(f"http://127.0.10.10:9100/price')
open(p, "w").write(s)
PY
    ;;
  none) ;;
esac

# svcd restarts the programs whose files changed (pricebook's, when fixed) and answers once they have settled:
# pricebook (notify) is RUNNING only once it listens, so nothing needs waiting for after it.
svcctl update >/dev/null
case "$SUPERVISOR" in
  fix)  ;;
  none) svcctl start pricebook >/dev/null ;;
  by-hand)  # near miss: started by hand, as root
    (cd /opt/pricebook && nohup setsid python3 -I /opt/pricebook/pricebook.py >>/var/log/pricebook-manual.log 2>&1 </dev/null &)
    wait_for "pricebook started by hand to answer" answers ;;
  fake)     # near miss: a responder of its own on the port, quoting through catalog
    cat > /usr/local/lib/quote-proxy <<PY
import json, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        u = urlparse(self.path); q = parse_qs(u.query)
        if u.path == "/quote":
            sku, qty = q["sku"][0], int(q.get("qty", ["1"])[0])
            unit = json.load(urllib.request.urlopen("http://catalog.internal:9100/price?sku=" + sku))["unit_cents"]
            body = {"sku": sku, "qty": qty, "unit_cents": unit, "total_cents": unit * qty, "seq": 1}
        else:
            body = {"status": "ok"}
        data = json.dumps(body).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(data))); self.end_headers(); self.wfile.write(data)
ThreadingHTTPServer(("127.0.0.1", $port), H).serve_forever()
PY
    (nohup setsid python3 /usr/local/lib/quote-proxy >/dev/null 2>&1 </dev/null &)
    wait_for "the responder to answer" answers ;;
esac

# --- the incident note --------------------------------------------------------------------------------------------
case "$misconfig" in
  user) sup="the pricebook program in /etc/svcd/programs/pricebook.conf named the account \`pricebok\` (a typo), so svcd could not start it at all (\"no such user\")" ;;
  directory) sup="the pricebook program in /etc/svcd/programs/pricebook.conf had the working directory /opt/pricebook/current, which does not exist, so svcd could not start it" ;;
esac
if [ "$stray" = supervised ]; then
  squat="a docs preview (\`python3 -m http.server $port\`) that svcd ran as the program docs-preview, with autorestart, held 127.0.0.1:$port; killing it only had svcd start it again"
  squatfix="\`autostart = false\` in /etc/svcd/programs/docs-preview.conf and \`svcctl update\`, which stopped it"
else
  squat="a docs preview (\`python3 -m http.server $port\`) started by hand as root and forgotten held 127.0.0.1:$port"
  squatfix="killed the stray http.server process (nothing starts it at boot)"
fi
case "$NOTE" in
  full) cat > INCIDENT.md <<NOTE
# Incident: pricebook down

## Symptoms
- The order desk got connection refused from pricebook on 127.0.0.1:$port; \`svcctl status\` showed pricebook FATAL.
- Each fix uncovered the next failure in /var/log/svcd/pricebook.log: the journal's permission denied, then "data
  volume is full" while \`du -sh /var/lib/pricebook\` showed a few KiB, then "address already in use", then 502s
  "catalog unavailable".

## Root causes
1. Supervisor: $sup. It also had \`autorestart = false\`, so a crash would have kept it down.
2. Ownership: /var/lib/pricebook/journal had been restored from a backup as root (owner root, 0755), so the
   service account pricebook could not write its journal.
3. Disk: the archiver logged at level debug, which writes a 20 MiB index at every start. Someone deleted its log
   to make room, but the archiver kept the deleted file open, so its blocks still counted against the 24 MiB
   quota: \`du\` could not see it, \`ls -l /proc/<pid>/fd\` (as the pricebook user) showed it "(deleted)".
4. Port: $squat.
5. Name resolution: /etc/netinit/hosts.tmpl still mapped catalog.internal to its old address 127.0.10.20, and
   netinit rewrites /etc/hosts from it at every boot; catalog listens on 127.0.10.10:9100 (\`ss -ltnp\`).

## Fix
- pricebook.conf: user = pricebook, directory = /opt/pricebook, autorestart = true, then \`svcctl update\`.
- \`chown -R pricebook:pricebook /var/lib/pricebook\`, nothing world-writable.
- archiver.ini: level = info, then restarted the archiver, which closed the deleted file.
- Port: $squatfix.
- hosts.tmpl: catalog.internal -> 127.0.10.10, then ran netinit to rewrite /etc/hosts.
- Verified with \`svcctl reboot\`: everything came back and a quote matched the catalog's price.

## Prevention
- Keep the supervisor's program files in version control and check that accounts and directories exist in CI.
- Restore backups with ownership preserved, and alert on pricebook's start errors, not only on its port.
- Rotate logs with a tool that signals the writer (or copytruncate); never delete a log a process holds; keep
  debug levels off in production; alert on volume usage measured like df, not du.
- Temporary tools run under the supervisor with an owner and an expiry date, never on a production port.
- Change host entries in the template netinit uses (or in DNS), and alert on pricebook's upstream errors.
NOTE
  ;;
  some) cat > INCIDENT.md <<NOTE
# Incident: pricebook down

## Symptoms
pricebook was FATAL in \`svcctl status\` and did not answer.

## Root causes
- $sup.
- catalog.internal pointed at 127.0.10.20 in /etc/netinit/hosts.tmpl instead of 127.0.10.10.

## Fix
Fixed pricebook.conf and the hosts template, ran netinit and \`svcctl update\`.

## Prevention
- Review supervisor program files.
NOTE
  ;;
  empty) cat > INCIDENT.md <<'NOTE'
# Incident: pricebook down

## Symptoms
The service was down.

## Root causes
Several problems on the box.

## Fix
Fixed the problems and restarted the service; it works now.

## Prevention
Be more careful next time.
NOTE
  ;;
esac
