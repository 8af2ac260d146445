// The HTML report's own script (the replay and its controls) and style, inlined into every export; the script
// is allowed by its hash in the report's Content-Security-Policy.

/**
 * Starts the replay from the embedded recording and wires the controls. The player's clock runs on compressed
 * time once idle pauses are cut short; `clock` maps between it and the recording's clock the way the player's
 * idle limiter does, so that the commands (recording seconds) land on the right frame.
 */
export const APP_SCRIPT = `(function () {
  'use strict';
  var source = document.getElementById('opslab-cast');
  var host = document.getElementById('replay');
  var status = document.getElementById('replay-status');
  var timeEl = document.getElementById('replay-time');
  var speedEl = document.getElementById('replay-speed');
  var idleEl = document.getElementById('replay-idle');
  if (!source || !host || !window.AsciinemaPlayer) return;
  var text;
  try { text = JSON.parse(source.textContent || 'null'); } catch (e) { text = null; }
  if (typeof text !== 'string') { status.textContent = 'The recording could not be read.'; return; }
  var lines = text.split('\\n');
  var cols = 80, rows = 24, times = [];
  try {
    var header = JSON.parse(lines[0]);
    if (header.width > 0) cols = header.width;
    if (header.height > 0) rows = header.height;
  } catch (e) {}
  for (var i = 1; i < lines.length; i++) {
    if (!lines[i].trim()) continue;
    try {
      var ev = JSON.parse(lines[i]);
      if (Array.isArray(ev) && typeof ev[0] === 'number') times.push(ev[0]);
    } catch (e) {}
  }
  if (times.length === 0) { status.textContent = 'The recording is empty: nothing was shown in the terminal.'; return; }
  function lastAtOrBefore(values, x) {
    var lo = 0, hi = values.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (values[mid] <= x) lo = mid + 1; else hi = mid; }
    return lo - 1;
  }
  function makeClock(limit) {
    var cap = limit === null ? Infinity : limit, compressed = [], previous = 0, shift = 0;
    for (var k = 0; k < times.length; k++) {
      var delay = times[k] - previous;
      if (delay > cap) shift += delay - cap;
      previous = times[k];
      compressed.push(times[k] - shift);
    }
    return {
      toPlayer: function (t) {
        var j = lastAtOrBefore(times, t);
        return j < 0 ? Math.min(t, cap) : compressed[j] + Math.min(t - times[j], cap);
      },
      toRecording: function (p) {
        var j = lastAtOrBefore(compressed, p);
        return j < 0 ? p : times[j] + (p - compressed[j]);
      }
    };
  }
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function fmt(s) {
    s = Math.max(0, Math.floor(s));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return h > 0 ? h + ':' + pad(m) + ':' + pad(r) : pad(m) + ':' + pad(r);
  }
  var speed = 1, idle = 2, player = null, clock = makeClock(idle), playing = false;
  function now() { return player ? clock.toRecording(player.getCurrentTime() || 0) : 0; }
  function build() {
    var at = player ? now() : 0, resume = playing;
    if (player) player.dispose();
    host.textContent = '';
    clock = makeClock(idle);
    player = window.AsciinemaPlayer.create({ data: text }, host, {
      cols: cols, rows: rows, speed: speed, idleTimeLimit: idle === null ? undefined : idle,
      preload: true, fit: 'width', terminalFontSize: 'small', theme: 'asciinema'
    });
    playing = false;
    player.addEventListener('play', function () { playing = true; });
    player.addEventListener('playing', function () { playing = true; });
    player.addEventListener('pause', function () { playing = false; });
    player.addEventListener('ended', function () { playing = false; });
    if (at > 0) player.seek(clock.toPlayer(at));
    if (resume) player.play();
  }
  var items = Array.prototype.slice.call(document.querySelectorAll('.cmd'));
  var current = null;
  function tick() {
    var t = now();
    timeEl.textContent = fmt(t);
    timeEl.setAttribute('data-seconds', t.toFixed(3));
    var found = null;
    for (var k = 0; k < items.length; k++) {
      if (Number(items[k].getAttribute('data-seek')) > t + 0.05) break;
      found = items[k];
    }
    if (found !== current) {
      if (current) current.removeAttribute('aria-current');
      if (found) found.setAttribute('aria-current', 'true');
      current = found;
    }
  }
  speedEl.addEventListener('change', function () { speed = Number(speedEl.value) || 1; build(); });
  idleEl.addEventListener('change', function () { idle = idleEl.value === '' ? null : Number(idleEl.value); build(); });
  document.addEventListener('click', function (event) {
    var target = event.target && event.target.closest ? event.target.closest('[data-seek]') : null;
    if (!target || !player) return;
    var t = Number(target.getAttribute('data-seek'));
    if (!isFinite(t)) return;
    Promise.resolve(player.seek(clock.toPlayer(Math.max(0, t)))).then(tick);
    host.scrollIntoView({ block: 'nearest' });
  });
  build();
  setInterval(tick, 250);
})();`;

export const STYLE = `
*,*::before,*::after{box-sizing:border-box}
body{margin:0;background:#f5f6f8;color:#1d2330;font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','Liberation Sans','DejaVu Sans',sans-serif}
main{max-width:1320px;margin:0 auto;padding:20px 24px 48px}
code,pre{font-family:ui-monospace,'SFMono-Regular','DejaVu Sans Mono',Menlo,Consolas,'Liberation Mono',monospace;font-size:.9em}
h1{margin:0;font-size:26px;overflow-wrap:anywhere}
h2{margin:0 0 10px;font-size:18px}
h3{margin:0 0 6px;font-size:15px}
.muted{color:#5d6677}.small{font-size:13px}
.head,.section{margin-bottom:18px;padding:14px 20px 18px;background:#fff;border:1px solid #dde1e8;border-radius:8px}
.head{display:flex;justify-content:space-between;gap:24px}
.head-main{min-width:0}
.head p{margin:0 0 6px}
.note{white-space:pre-wrap;overflow-wrap:anywhere}
.meta{display:flex;flex-wrap:wrap;gap:6px 24px;margin:8px 0 0}
.meta dt{font-size:12px;color:#5d6677}.meta dd{margin:0;font-weight:500}
.score{display:flex;flex-direction:column;align-items:flex-end;flex-shrink:0}
.score-value{font-size:44px;font-weight:700;line-height:1.1}
.pill,.tag,.verdict,.change{display:inline-block;padding:0 8px;border-radius:999px;background:#eceff4;font-size:12px}
.tag{background:none;border:1px solid #dde1e8;color:#5d6677}
.error{padding:8px 12px;background:#fde8e6;border:1px solid #f5c2bd;border-radius:6px;color:#7d1f18}
.checks{margin:0;padding:0;list-style:none}
.check{display:grid;grid-template-columns:22px minmax(0,1fr) auto;gap:10px;padding:6px 0}
.check+.check{border-top:1px solid #eceff3}
.check-icon{display:inline-flex;align-items:center;justify-content:center;width:20px;height:20px;border-radius:50%;font-size:12px;font-weight:700}
.check[data-verdict=pass] .check-icon{background:#2f9e5b;color:#fff}
.check[data-verdict=fail] .check-icon{border:1.5px solid #b76e00;background:#fff4dc;color:#b76e00}
.check[data-verdict=error] .check-icon{border:1.5px dashed #9aa3b2;background:#eceff4;color:#5d6677}
.check[data-verdict=pass] .verdict{background:#e3f4ea;color:#1f6b3f}
.check[data-verdict=fail] .verdict{background:#fff4dc;color:#7a4a00}
.check[data-verdict=error] .verdict{border:1px dashed #9aa3b2}
.check-title{font-weight:500;overflow-wrap:anywhere}
.check-message{margin:2px 0 0;color:#5d6677;font-size:13px;white-space:pre-wrap;overflow-wrap:anywhere}
.details{max-height:240px;margin:4px 0 0;padding:8px 10px;overflow:auto;background:#f3f5f8;border-radius:6px;white-space:pre-wrap;overflow-wrap:anywhere}
details summary{color:#5d6677;font-size:13px;cursor:pointer}
.points{color:#5d6677;font-size:13px;white-space:nowrap}
.runs{font-size:13px}
button.link{padding:0;border:none;background:none;color:#2456c9;font:inherit;font-size:13px;text-decoration:underline;cursor:pointer}
.replay-grid{display:grid;grid-template-columns:minmax(0,1fr) minmax(300px,400px);gap:16px;align-items:start}
.replay-host{min-height:120px;background:#11151c;border-radius:6px;overflow:hidden}
.toolbar{display:flex;flex-wrap:wrap;align-items:center;gap:8px 20px;margin-top:8px;font-size:14px}
.clock{font-variant-numeric:tabular-nums}
#replay-time{font-family:ui-monospace,'DejaVu Sans Mono',monospace}
select{min-height:30px;font:inherit;font-size:14px}
.cmds{max-height:460px;margin:0;padding:0;overflow-y:auto;list-style:none;border:1px solid #dde1e8;border-radius:6px}
.cmd-item+.cmd-item{border-top:1px solid #eceff3}
.cmd{display:grid;grid-template-columns:auto minmax(0,1fr) auto;gap:2px 10px;align-items:baseline;width:100%;padding:6px 10px;border:none;background:none;color:inherit;font:inherit;font-size:13px;text-align:left;cursor:pointer}
.cmd:hover{background:#f3f6fb}
.cmd[aria-current=true]{background:#e8f0fe;box-shadow:inset 3px 0 0 #2456c9}
.cmd-time{color:#5d6677;font-family:ui-monospace,'DejaVu Sans Mono',monospace}
.cmd-text{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.cmd-meta{color:#5d6677;white-space:nowrap}
.cmd-source{grid-column:2/-1;color:#5d6677;font-size:12px;font-style:italic}
.exit[data-exit=ok]{color:#1f6b3f}.exit[data-exit=error]{color:#c0352b;font-weight:600}
.changed{margin:0 0 10px;padding:0;list-style:none}
.change{min-width:96px;text-align:center}
.change[data-change=added]{background:#e3f4ea;color:#1f6b3f}
.change[data-change=removed]{background:#fde8e6;color:#7d1f18}
.add-count{color:#1f6b3f}.del-count{color:#c0352b}
.diff{max-height:600px;margin:0;padding:8px 0;overflow:auto;background:#fbfcfd;border:1px solid #dde1e8;border-radius:6px;font-size:12.5px;line-height:1.45}
.dl{display:inline-block;min-width:100%;padding:0 12px;white-space:pre}
.d-add{background:#e6f6ec;color:#14532d}.d-del{background:#fdecea;color:#7d1f18}
.d-hunk{background:#eef2fb;color:#3b4f80}.d-file{background:#f1f3f6;font-weight:600}
.d-note{background:#fff8e6;font-style:italic}.d-meta{color:#5d6677}
.review{margin-top:10px;padding:10px 12px;border:1px solid #dde1e8;border-radius:6px}
.review header{display:flex;flex-wrap:wrap;gap:4px 10px;align-items:baseline}
.weighted{margin-left:auto;font-weight:600}
.ratings{display:grid;grid-template-columns:auto minmax(0,1fr);gap:2px 12px;margin:8px 0 0;font-size:14px}
.ratings dt{color:#5d6677}.ratings dd{margin:0}
.notes{display:block;color:#5d6677;white-space:pre-wrap;overflow-wrap:anywhere}
.summary{margin:8px 0 0;white-space:pre-wrap;overflow-wrap:anywhere}
.events{margin:0;padding:0;list-style:none;font-size:14px}
.signal-summary{display:flex;flex-wrap:wrap;gap:6px 28px;margin:0 0 10px}
.signal-summary dt{font-size:12px;color:#5d6677}.signal-summary dd{margin:0;font-weight:500}
.facts{margin:0;padding:0;list-style:none;font-size:14px}
.fact{display:flex;gap:10px;align-items:baseline;width:100%;padding:3px 0;border:none;background:none;color:inherit;font:inherit;text-align:left}
button.fact{cursor:pointer}button.fact:hover{background:#f3f6fb}
.fact-text{overflow-wrap:anywhere}
:focus-visible{outline:3px solid #4c8dff;outline-offset:2px}
@media (max-width:1000px){.replay-grid{grid-template-columns:minmax(0,1fr)}.head{flex-direction:column-reverse}.score{align-items:flex-start}}
@media print{.toolbar,.replay-host,.replay-grid>.replay{display:none}.replay-grid{grid-template-columns:1fr}.cmds,.diff{max-height:none;overflow:visible}}
`;
