// The offline HTML report: candidate-controlled text cannot break out of the page, the recording comes back
// intact from its JSON block, and nothing in the file points at the network.
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { classifyDiff } from '../../contract/diff.js';
import { escapeHtml, jsonForScript, renderExportHtml } from '../../server/src/review/export-html.js';
import { fixtureCast, fixtureExportData, HOSTILE_COMMENT, HOSTILE_IMG, HOSTILE_SCRIPT } from '../fixtures/review/export-data.js';

/**
 * Web addresses that appear in asciinema-player's own bundle and are not requests: the SVG namespace
 * (createElementNS) and the base a relative URL is resolved against when there is no page location.
 */
const PLAYER_NON_REQUEST_URLS = new Set(['http://www.w3.org/2000/svg', 'http://localhost/']);

/** The elements the report is made of; an injected one (img, iframe, a second script…) is not among them. */
const ALLOWED_TAGS = new Set(
  'html head meta title style body main header section h1 h2 h3 p span code dl dt dd div ul ol li button details summary pre label select option noscript article strong script'.split(' '),
);

/** The document's tags and their attribute names, with the bodies of its scripts left out. */
function tags(html: string): { name: string; attrs: string[] }[] {
  const markup = html.replace(/(<script[^>]*>)[\s\S]*?(<\/script>)/gi, '$1$2');
  return [...markup.matchAll(/<([a-zA-Z][a-zA-Z0-9]*)\b([^>]*)>/g)].map((m) => ({
    name: m[1]!.toLowerCase(),
    attrs: [...m[2]!.matchAll(/([^\s=]+)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?/g)].map((a) => a[1]!.toLowerCase()),
  }));
}

function scriptBodies(html: string): { attrs: string; body: string }[] {
  return [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/gi)].map((m) => ({ attrs: m[1]!, body: m[2]! }));
}

describe('renderExportHtml', () => {
  const data = fixtureExportData();
  const html = renderExportHtml(data);

  it('escapes every hostile string the candidate controls', () => {
    for (const hostile of [HOSTILE_SCRIPT, HOSTILE_IMG, HOSTILE_COMMENT]) expect(html).not.toContain(hostile);
    const found = tags(html);
    expect(found.filter((t) => !ALLOWED_TAGS.has(t.name))).toEqual([]);
    expect(found.filter((t) => t.attrs.some((a) => a.startsWith('on')))).toEqual([]);
    expect(html).not.toContain('<!--');
    expect(html).toContain(escapeHtml(HOSTILE_SCRIPT));
    expect(html).toContain('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=&quot;alert(2)&quot;&gt;');
    // Names, commands, file names, diff lines, messages, notes and summaries each came through as text.
    expect(html).toContain(`Mallory ${escapeHtml(HOSTILE_SCRIPT)}`);
    expect(html).toContain(`cat notes.txt ${escapeHtml(HOSTILE_SCRIPT)}`);
    expect(html).toContain(`<code>/root/work/${escapeHtml(HOSTILE_SCRIPT)}</code>`);
    expect(html).toContain(`missing ${escapeHtml(HOSTILE_SCRIPT)}`);
    expect(html).toContain(`solid ${escapeHtml(HOSTILE_SCRIPT)}`);
    expect(html).toContain(`Hire. ${escapeHtml(HOSTILE_COMMENT)}`);
  });

  it('holds exactly its own three scripts: the recording as JSON, the player and the page script', () => {
    const scripts = scriptBodies(html);
    expect(scripts.map((s) => s.attrs.trim())).toEqual(['type="application/json" id="opslab-cast"', '', '']);
    expect(html.match(/<script/gi)).toHaveLength(3);
    // The recording, hostile output included, parses back to exactly what was recorded.
    expect(JSON.parse(scripts[0]!.body)).toBe(fixtureCast());
    expect(scripts[0]!.body).not.toContain('<');
    expect(scripts[1]!.body).toContain('AsciinemaPlayer');
  });

  it('allows only its own scripts (by hash) and no connections', () => {
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1]?.replace(/&#39;/g, "'");
    expect(csp).toBeDefined();
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'none'");
    const hashes = [...csp!.matchAll(/'sha256-([^']+)'/g)].map((m) => m[1]);
    const executable = scriptBodies(html).filter((s) => !s.attrs.includes('application/json'));
    expect(hashes).toEqual(executable.map((s) => crypto.createHash('sha256').update(s.body, 'utf8').digest('base64')));
  });

  it('references no http(s) address and loads nothing', () => {
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<>)\\]*/gi)].map((m) => m[0]);
    expect(urls.filter((u) => !PLAYER_NON_REQUEST_URLS.has(u))).toEqual([]);
    // Outside the player's bundle there is no address at all.
    const withoutPlayer = html.replace(scriptBodies(html)[1]!.body, '');
    expect(withoutPlayer).not.toMatch(/https?:/i);
    // No markup or style that loads anything (the player's script builds its elements itself).
    const loading = new Set(['src', 'href', 'srcset', 'action', 'poster', 'data', 'formaction', 'background']);
    expect(tags(html).filter((t) => t.attrs.some((a) => loading.has(a)))).toEqual([]);
    expect(withoutPlayer).not.toMatch(/@import|url\(/i);
  });

  it('shows the grade, the checks, the commands with their seek times, the diff and the review', () => {
    expect(html).toMatch(/<span class="score-value">5\/8<\/span>/);
    expect(html.match(/data-testid="export-check"/g)).toHaveLength(4);
    // The advisory check: its points awaiting a reviewer, next to the grade and on the check.
    expect(html).toContain('<span class="muted small" data-testid="export-pending">+4 awaiting review</span>');
    expect(html).toContain("advisory: not counted until confirmed (the grader&#39;s preliminary verdict: pass)");
    expect(html).toContain('<span class="points">–/4 pts</span>');
    expect(html).toContain('Error (not counted)');
    expect(html).toContain('message hidden from candidate');
    expect(html).toContain('first passed at 00:45');
    expect(html).toContain('data-seek="2"');
    expect(html).toContain('data-seek="30"');
    expect(html).toContain('from keystrokes');
    expect(html).toContain('<span class="dl d-add">+done</span>');
    // A line added inside a hunk that starts with "++" is an added line, not a file header.
    expect(html).toContain(`<span class="dl d-add">+++ new ${escapeHtml(HOSTILE_COMMENT)}</span>`);
    expect(html).toContain(`<span class="dl d-del">-old ${escapeHtml(HOSTILE_IMG)}</span>`);
    expect(html).toContain('3 Good');
    expect(html).toContain('data-recommendation="yes">Yes</span>');
  });

  it('lists the signals as facts on the recording’s clock, each a seek button, and a summary', () => {
    expect(html).toContain('<dd data-testid="export-signal-pastes">1 (1,240 characters)</dd>');
    expect(html).toContain('<dd data-testid="export-signal-idle">none</dd>');
    const rows = [...html.matchAll(/<li class="fact-item" data-kind="([a-z]+)"[^>]*><button type="button" class="fact" data-seek="([0-9.]+)">/g)].map((m) => [m[1], Number(m[2])]);
    expect(rows).toEqual([['away', 5], ['transfer', 10], ['paste', 31]]);
    expect(html).toContain(`uploaded /root/work/${escapeHtml(HOSTILE_IMG)} (2.0 KiB)`);
    // Without a recording the facts are plain rows; without a report the section is left out.
    const noCast = renderExportHtml(fixtureExportData({ cast: null }));
    expect(noCast).toContain('<span class="fact"><span class="cmd-time">');
    expect(noCast).not.toContain('class="fact" data-seek');
    expect(renderExportHtml(fixtureExportData({ signals: null }))).not.toContain('export-section-signals');
  });

  it('says which exercise version the candidate took and which version graded them, where they differ', () => {
    const taken = 'a'.repeat(64);
    const current = 'b'.repeat(64);
    const base = fixtureExportData();
    const entry = { id: 1, finishedAt: base.exportedAt, score: 1, maxScore: 2, pendingPoints: 0, error: null, source: 'snapshot' as const, requestedBy: null, changes: [] };
    const render = (exercise: { version: string | null; takenVersion: string | null }, graded: string | null) =>
      renderExportHtml({
        ...base,
        bundle: { ...base.bundle, exercise: { ...base.bundle.exercise, ...exercise }, gradings: graded ? [{ ...entry, exerciseVersion: graded, current: true }] : [] },
      });
    const meta = (html: string) => html.match(/<dt>Exercise version<\/dt><dd>([^<]*)<\/dd>/)?.[1];
    expect(meta(render({ version: taken, takenVersion: taken }, taken))).toBe('aaaaaaaaaaaa · current');
    expect(meta(render({ version: current, takenVersion: taken }, taken))).toBe('aaaaaaaaaaaa · the exercise changed since (current bbbbbbbbbbbb)');
    expect(meta(render({ version: current, takenVersion: taken }, current))).toBe(
      'aaaaaaaaaaaa · the exercise changed since (current bbbbbbbbbbbb) · graded with version bbbbbbbbbbbb, not the one taken',
    );
    expect(meta(render({ version: null, takenVersion: taken }, taken))).toBe('aaaaaaaaaaaa · the exercise is no longer in the catalog');
    expect(meta(render({ version: current, takenVersion: null }, null))).toBe('not recorded (the attempt started before versions were kept)');
  });

  it('renders an attempt without recording, diff, grading or reviews', () => {
    const bare = fixtureExportData({ cast: null, diff: null, commands: { commands: [], source: 'none' } });
    bare.bundle = { ...bare.bundle, grading: null, reviews: [], candidate: null };
    const out = renderExportHtml(bare);
    expect(out).toContain('There is no recording for this attempt.');
    expect(out).toContain('There is no record of what changed.');
    expect(out).toContain('This attempt was not graded.');
    expect(out).not.toMatch(/<script/i);
    expect(out).toContain("script-src &#39;none&#39;");
  });
});

describe('helpers', () => {
  it('jsonForScript keeps the value and never emits "<"', () => {
    const value = { a: '</script><!-- \u2028 </SCRIPT>' };
    const text = jsonForScript(value);
    expect(text).not.toContain('<');
    expect(JSON.parse(text)).toEqual(value);
  });

  it('classifyDiff follows the hunk line counts', () => {
    expect(classifyDiff(['--- a/x', '+++ b/x', '@@ -1,2 +1,2 @@', ' a', '-b', '+++c', 'Binary file /y added'])).toEqual([
      'file',
      'file',
      'hunk',
      'context',
      'del',
      'add',
      'note',
    ]);
  });
});
