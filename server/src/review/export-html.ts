// The offline report of one attempt: a single HTML file that opens from disk with no network at all. The
// grade, checks, commands, diff and reviews are rendered here as escaped HTML (readable without scripts); the
// replay is asciinema-player's standalone bundle inlined, playing the recording embedded as a JSON string.
// A Content-Security-Policy in the file itself allows only its own two scripts (by hash) and no connections.

import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import {
  advisoryNote,
  classifyDiff,
  countedVerdict,
  exerciseVersionText,
  formatOffset,
  formatWeightedScore,
  RATING_LABELS,
  RECOMMENDATION_LABELS,
  signalFacts,
  signalSummaryItems,
  type Command, type ExportData, type Rating, type Review, type ReviewBundle, type ReviewCheck, type SnapshotDiffView } from '../../../contract/index.js';
import { APP_SCRIPT, STYLE } from './export-page.js';

// ---- escaping --------------------------------------------------------------------------------------------

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for HTML content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/**
 * JSON for a `<script type="application/json">` element: every `<` becomes `\u003c`, so neither `</script>` nor
 * `<!--` can appear, and U+2028/U+2029 are escaped for good measure. JSON.parse gives the value back unchanged.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** Code placed inside <script> or <style>: a closing tag inside a string must not end the element. */
function inlineSafe(code: string, tag: 'script' | 'style'): string {
  return code.replace(new RegExp(`</(${tag})`, 'gi'), '<\\/$1').replace(/<!--/g, '<\\!--');
}

function sha256(text: string): string {
  return `'sha256-${crypto.createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

// ---- the player, read once ---------------------------------------------------------------------------------

interface PlayerAssets {
  js: string;
  css: string;
}

let playerAssets: PlayerAssets | null = null;

function loadPlayerAssets(): PlayerAssets {
  if (playerAssets) return playerAssets;
  const require = createRequire(import.meta.url);
  const read = (file: string) => fs.readFileSync(require.resolve(`asciinema-player/${file}`), 'utf8');
  // Comments in the stylesheet only carry theme credits (with their web addresses): left out.
  const css = read('dist/bundle/asciinema-player.css').replace(/\/\*[\s\S]*?\*\//g, '');
  playerAssets = {
    js: inlineSafe(read('dist/bundle/asciinema-player.min.js'), 'script'),
    css: inlineSafe(css, 'style'),
  };
  return playerAssets;
}

// ---- formatting ------------------------------------------------------------------------------------------

const VERDICTS: Record<ReviewCheck['verdict'], { label: string; icon: string }> = {
  pass: { label: 'Pass', icon: '✓' },
  fail: { label: 'Fail', icon: '✕' },
  error: { label: 'Error (not counted)', icon: '!' },
};

function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function formatDuration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

function formatMinutes(seconds: number): string {
  const minutes = Math.round(seconds / 60);
  if (minutes <= 0) return '—';
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h === 0 ? `${m} min` : m === 0 ? `${h} h` : `${h} h ${m} min`;
}

function sinceStart(bundle: ReviewBundle, iso: string | null): number | null {
  if (!iso || !bundle.attempt.startedAt) return null;
  const t = (Date.parse(iso) - Date.parse(bundle.attempt.startedAt)) / 1000;
  return Number.isFinite(t) ? Math.max(0, t) : null;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

// ---- sections --------------------------------------------------------------------------------------------

function renderHeader(data: ExportData): string {
  const { bundle } = data;
  const { attempt, grading } = bundle;
  const who = bundle.candidate?.name ?? (attempt.mode === 'practice' ? 'Practice attempt' : 'Candidate');
  const end = attempt.endedAt ?? (attempt.state === 'running' ? attempt.serverTime : null);
  const duration = attempt.startedAt && end ? (Date.parse(end) - Date.parse(attempt.startedAt)) / 1000 : null;
  const state = attempt.endReason ? `${attempt.state} (${attempt.endReason})` : attempt.state;
  const meta: [string, string][] = [
    ['State', state],
    ['Started', formatDateTime(attempt.startedAt)],
    ['Ended', attempt.state === 'running' ? 'still running' : formatDateTime(attempt.endedAt)],
    ['Duration', duration === null || !Number.isFinite(duration) ? '—' : formatOffset(duration)],
    ['Time limit', formatMinutes(bundle.timeLimitSeconds)],
    ['Hints revealed', String(bundle.hintsRevealed)],
    ['Progress checks', String(bundle.checkRuns.length)],
    ['Exercise version', exerciseVersionText(bundle)],
  ];
  const score = grading
    ? `<div class="score" data-testid="export-score"><span class="score-value">${escapeHtml(`${grading.score}/${grading.maxScore}`)}</span><span class="muted">points</span>${
        grading.pendingPoints > 0
          ? `<span class="muted small" data-testid="export-pending">+${grading.pendingPoints} awaiting review</span>`
          : ''
      }</div>`
    : `<div class="score" data-testid="export-score"><span class="muted">Not graded</span></div>`;
  const invite = bundle.invite
    ? `<p class="muted">Invited by ${escapeHtml(bundle.invite.createdBy.name)} on ${escapeHtml(formatDateTime(bundle.invite.createdAt))}${
        bundle.invite.note ? `. Note: <span class="note">${escapeHtml(bundle.invite.note)}</span>` : ''
      }</p>`
    : '';
  return `<header class="head">
<div class="head-main">
<p class="muted small">opslab attempt report · exported ${escapeHtml(formatDateTime(data.exportedAt))} · attempt <code>${escapeHtml(attempt.id)}</code></p>
<h1 data-testid="export-candidate">${escapeHtml(who)}</h1>
<p class="exercise">${escapeHtml(bundle.exercise.title)} <span class="pill">${escapeHtml(bundle.exercise.difficulty)}</span>${
    bundle.candidate ? ` <span class="muted">· ${escapeHtml(bundle.candidate.email)}</span>` : ''
  }</p>
${invite}
<dl class="meta">${meta.map(([k, v]) => `<div><dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd></div>`).join('')}</dl>
</div>
${score}
</header>`;
}

function renderChecks(bundle: ReviewBundle): string {
  const { grading } = bundle;
  if (!grading) return section('checks', 'Checks', '<p class="muted">This attempt was not graded.</p>');
  const counts = { pass: 0, fail: 0, error: 0 };
  for (const c of grading.checks) counts[c.verdict]++;
  const rows = grading.checks
    .map((check) => {
      const v = VERDICTS[check.verdict];
      const counted = countedVerdict(check, check.confirmation?.verdict);
      const earned = counted === 'pending' ? '–' : counted === 'pass' ? check.points : 0;
      const passedAt = sinceStart(bundle, check.firstPassedAt);
      return `<li class="check" data-verdict="${escapeHtml(check.verdict)}" data-testid="export-check">
<span class="check-icon" aria-hidden="true">${v.icon}</span>
<div class="check-main">
<span class="check-title">${escapeHtml(check.title)}</span>
<span class="verdict">${escapeHtml(v.label)}</span>${check.visible ? '' : ' <span class="tag">message hidden from candidate</span>'}${
        passedAt === null
          ? ''
          : ` <button type="button" class="link" data-seek="${passedAt}">first passed at ${escapeHtml(formatOffset(passedAt))}</button>`
      }
${check.advisory ? `<p class="tag advisory" data-testid="export-advisory">${escapeHtml(advisoryNote(check))}</p>` : ''}
${check.confirmation?.comment ? `<p class="check-message">Reviewer: ${escapeHtml(check.confirmation.comment)}</p>` : ''}
${check.message ? `<p class="check-message">${escapeHtml(check.message)}</p>` : ''}
${check.details ? `<details><summary>Details</summary><pre class="details">${escapeHtml(check.details)}</pre></details>` : ''}
</div>
<span class="points">${earned}/${check.points} pts</span>
</li>`;
    })
    .join('\n');
  const runs =
    bundle.checkRuns.length === 0
      ? ''
      : `<p class="runs"><span class="muted">The candidate checked their progress:</span> ${bundle.checkRuns
          .map((run) => {
            const at = sinceStart(bundle, run.finishedAt);
            const label = escapeHtml(`${run.score}/${run.maxScore}${at === null ? '' : ` at ${formatOffset(at)}`}`);
            return at === null ? label : `<button type="button" class="link" data-seek="${at}">${label}</button>`;
          })
          .join(', ')}</p>`;
  return section(
    'checks',
    'Checks',
    `${grading.error ? `<p class="error">The grading did not finish: ${escapeHtml(grading.error)}</p>` : ''}
<p>${counts.pass} passed, ${counts.fail} failed${counts.error ? `, ${counts.error} could not be checked (not counted)` : ''}.</p>
<ul class="checks">${rows}</ul>
${runs}`,
  );
}

function renderCommands(commands: Command[], source: string): string {
  if (commands.length === 0) return '<p class="muted">No commands were recorded.</p>';
  const note =
    source === 'input'
      ? '<p class="muted small">Reconstructed from the keystrokes: the shell did not mark its commands, so durations and exit statuses are unknown.</p>'
      : source === 'mixed'
        ? '<p class="muted small">Some commands are reconstructed from the keystrokes where the shell did not mark them.</p>'
        : '';
  const rows = commands
    .map((c) => {
      const exit =
        c.exitCode === null
          ? '<span class="exit" data-exit="unknown">—</span>'
          : `<span class="exit" data-exit="${c.exitCode === 0 ? 'ok' : 'error'}">${c.exitCode === 0 ? '✓ 0' : `✕ ${escapeHtml(c.exitCode)}`}</span>`;
      const seconds = Number.isFinite(c.startedAt) ? c.startedAt : 0;
      // The export holds terminal 1's replay only: a command of the second terminal is listed, not seekable.
      if (c.terminal) {
        return `<li class="cmd-item"><div class="cmd" data-terminal="${escapeHtml(c.terminal)}" data-testid="export-command">
<span class="cmd-time">${escapeHtml(formatOffset(seconds))}</span><code class="cmd-text" title="${escapeHtml(c.command)}">${escapeHtml(c.command)}</code><span class="cmd-meta">${escapeHtml(formatDuration(c.durationMs))} ${exit}</span><span class="cmd-source">terminal ${escapeHtml(c.terminal)}, not in this replay</span></div></li>`;
      }
      return `<li class="cmd-item"><button type="button" class="cmd" data-seek="${seconds}" data-testid="export-command">
<span class="cmd-time">${escapeHtml(formatOffset(seconds))}</span><code class="cmd-text" title="${escapeHtml(c.command)}">${escapeHtml(c.command)}</code><span class="cmd-meta">${escapeHtml(formatDuration(c.durationMs))} ${exit}</span>${
        c.source === 'input' ? '<span class="cmd-source">from keystrokes</span>' : ''
      }</button></li>`;
    })
    .join('\n');
  return `${note}<ol class="cmds" aria-label="Commands">${rows}</ol>`;
}

function renderReplay(data: ExportData): string {
  const player = data.cast
    ? `<div id="replay" class="replay-host" data-testid="export-player"></div>
<p id="replay-status" class="muted" role="status"></p>
<noscript><p class="muted">The replay needs JavaScript.</p></noscript>
<div class="toolbar">
<span class="clock">Recording time <span id="replay-time" data-seconds="0" data-testid="export-time">00:00</span></span>
<label>Speed <select id="replay-speed"><option value="0.5">0.5×</option><option value="1" selected>1×</option><option value="2">2×</option><option value="4">4×</option><option value="8">8×</option></select></label>
<label>Idle <select id="replay-idle"><option value="">Real time</option><option value="1">Pauses cut to 1 s</option><option value="2" selected>Pauses cut to 2 s</option><option value="5">Pauses cut to 5 s</option></select></label>
</div>`
    : '<p class="muted">There is no recording for this attempt.</p>';
  return section(
    'replay',
    'Replay and commands',
    `<div class="replay-grid">
<div class="replay">${player}</div>
<div class="commands"><h3>Commands</h3>${renderCommands(data.commands.commands, data.commands.source)}</div>
</div>`,
  );
}

function renderDiff(diff: SnapshotDiffView | null): string {
  if (!diff) return section('diff', 'What changed', '<p class="muted">There is no record of what changed.</p>');
  const lines = diff.diff === '' ? [] : diff.diff.replace(/\n$/, '').split('\n');
  const kinds = classifyDiff(lines);
  const added = kinds.filter((k) => k === 'add').length;
  const removed = kinds.filter((k) => k === 'del').length;
  const changed = diff.changed
    .map((c) => `<li><span class="change" data-change="${escapeHtml(c.change)}">${escapeHtml(c.change)}</span> <code>${escapeHtml(c.path)}</code></li>`)
    .join('');
  const body = lines.map((line, i) => `<span class="dl d-${kinds[i]}">${line === '' ? ' ' : escapeHtml(line)}</span>`).join('\n');
  return section(
    'diff',
    'What changed',
    diff.changed.length === 0
      ? '<p class="muted">Nothing changed in the files the exercise looks at.</p>'
      : `<p>${plural(diff.changed.length, 'path')} changed, <span class="add-count">${plural(added, 'line')} added</span>, <span class="del-count">${removed} removed</span>.</p>
<ul class="changed" data-testid="export-changed">${changed}</ul>
${lines.length ? `<pre class="diff" data-testid="export-diff">${body}</pre>` : ''}`,
  );
}

function renderRating(title: string, rating: Rating): string {
  const value = rating.rating === null ? 'not rated' : `${rating.rating} ${RATING_LABELS[rating.rating]}`;
  return `<dt>${escapeHtml(title)}</dt><dd>${escapeHtml(value)}${rating.notes.trim() ? `<span class="notes">${escapeHtml(rating.notes)}</span>` : ''}</dd>`;
}

function renderReviews(bundle: ReviewBundle): string {
  const titles = new Map(bundle.scorecard.map((d) => [d.id, d.title]));
  const weights = bundle.scorecard.map((d) => `${escapeHtml(d.title)} ${d.weight}`).join(', ');
  if (bundle.reviews.length === 0) {
    return section('reviews', 'Reviews', '<p class="muted">No interviewer has reviewed this attempt yet.</p>');
  }
  const cards = bundle.reviews
    .map((review: Review) => {
      const ratings = Object.entries(review.ratings)
        .filter(([, r]) => r.rating !== null || r.notes.trim() !== '')
        .map(([id, r]) => renderRating(titles.get(id) ?? id, r))
        .join('');
      return `<article class="review" data-testid="export-review">
<header><strong>${escapeHtml(review.reviewer.name)}</strong> <span class="pill" data-recommendation="${escapeHtml(review.recommendation ?? '')}">${escapeHtml(
        review.recommendation ? RECOMMENDATION_LABELS[review.recommendation] : 'No recommendation',
      )}</span> <span class="weighted">${formatWeightedScore(review.ratings, bundle.scorecard)}</span></header>
${ratings ? `<dl class="ratings">${ratings}</dl>` : ''}
${review.summary.trim() ? `<p class="summary">${escapeHtml(review.summary)}</p>` : ''}
<p class="muted small">Updated ${escapeHtml(formatDateTime(review.updatedAt))}</p>
</article>`;
    })
    .join('\n');
  return section('reviews', 'Reviews', `<p class="muted small">Weighted score: ratings 1 Weak to 4 Strong, weighted ${weights}.</p>${cards}`);
}

function renderSignals(data: ExportData): string {
  const report = data.signals;
  if (!report) return '';
  const summary = signalSummaryItems(report.summary)
    .map((i) => `<div><dt>${escapeHtml(i.label)}</dt><dd data-testid="export-signal-${i.key}">${escapeHtml(i.value)}</dd></div>`)
    .join('');
  const facts = signalFacts(report, data.bundle.events, data.bundle.attempt.startedAt);
  // Each row moves the replay to its moment, like a command (when there is a replay).
  const rows = facts
    .map((f) => {
      const time = `<span class="cmd-time">${escapeHtml(formatOffset(f.at))}</span>`;
      const text = `<span class="fact-text">${escapeHtml(f.text)}</span>`;
      return `<li class="fact-item" data-kind="${f.kind}" data-testid="export-signal">${
        data.cast ? `<button type="button" class="fact" data-seek="${f.at}">${time}${text}</button>` : `<span class="fact">${time}${text}</span>`
      }</li>`;
    })
    .join('\n');
  return section(
    'signals',
    'Signals',
    `<p class="muted small">Facts recorded during the attempt, not verdicts: large pastes, the tab hidden or out of focus, stretches of at least ${report.summary.idleMinutes} minutes without input, files moved in or out.</p>
<dl class="signal-summary">${summary}</dl>
${facts.length ? `<ol class="facts" aria-label="Signals">${rows}</ol>` : '<p class="muted">Nothing of the kind was recorded.</p>'}`,
  );
}

function renderEvents(bundle: ReviewBundle): string {
  if (bundle.events.length === 0) return '';
  const rows = bundle.events
    .map((e) => {
      const at = sinceStart(bundle, e.at);
      const detail =
        e.detail && typeof e.detail === 'object' && Object.keys(e.detail).length > 0 ? JSON.stringify(e.detail) : '';
      return `<li><span class="cmd-time">${at === null ? '—' : escapeHtml(formatOffset(at))}</span> ${escapeHtml(e.kind)}${
        detail ? ` <code class="muted">${escapeHtml(detail)}</code>` : ''
      }</li>`;
    })
    .join('');
  return section('events', 'Events', `<ul class="events">${rows}</ul>`);
}

function section(id: string, title: string, body: string): string {
  return `<section class="section" id="section-${id}" data-testid="export-section-${id}"><h2>${escapeHtml(title)}</h2>\n${body}\n</section>`;
}

// ---- the document ----------------------------------------------------------------------------------------

/** One self-contained HTML report of an attempt; it makes no network request when opened. */
export function renderExportHtml(data: ExportData): string {
  const assets = loadPlayerAssets();
  const { bundle } = data;
  const who = bundle.candidate?.name ?? (bundle.attempt.mode === 'practice' ? 'Practice attempt' : 'Candidate');
  const scripts = data.cast ? [assets.js, APP_SCRIPT] : [];
  // 'wasm-unsafe-eval': the player's terminal is WebAssembly compiled from bytes inside its own script.
  const csp = [
    "default-src 'none'",
    `script-src ${scripts.length ? `${scripts.map(sha256).join(' ')} 'wasm-unsafe-eval'` : "'none'"}`,
    "style-src 'unsafe-inline'",
    'img-src data:',
    "connect-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`${who} · ${bundle.exercise.title} · opslab report`)}</title>
<style>${assets.css}</style>
<style>${STYLE}</style>
</head>
<body>
<main>
${renderHeader(data)}
${renderChecks(bundle)}
${renderReplay(data)}
${renderDiff(data.diff)}
${renderSignals(data)}
${renderReviews(bundle)}
${renderEvents(bundle)}
</main>
${data.cast ? `<script type="application/json" id="opslab-cast">${jsonForScript(data.cast)}</script>` : ''}
${scripts.map((s) => `<script>${s}</script>`).join('\n')}
</body>
</html>
`;
}
