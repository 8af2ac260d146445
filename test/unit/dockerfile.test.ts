// The Dockerfile reader of the bounded image build: what it accepts, and every hostile input refused with its line.
import { describe, expect, it } from 'vitest';
import { DockerfileError, parseDockerfile, splitWords } from '../../server/src/grading/dockerfile.js';
import { expandWord, normalizeImageRef } from '../../server/src/sandbox/image-build-spec.js';

const BASE = 'opslab/sandbox-base:latest';
const parse = (text: string, extra: { maxInstructions?: number; maxBytes?: number } = {}) =>
  parseDockerfile(text, { allowedBaseImages: [BASE, 'debian:bookworm-slim'], ...extra });

function refused(text: string, extra: { maxInstructions?: number; maxBytes?: number } = {}): DockerfileError {
  try {
    parse(text, extra);
  } catch (err) {
    if (err instanceof DockerfileError) return err;
    throw err;
  }
  throw new Error(`accepted: ${text}`);
}

describe('parseDockerfile: what it accepts', () => {
  it('reads a multi-stage Dockerfile with continuations, comments and both command forms', () => {
    const p = parse(
      [
        '# syntax=docker/dockerfile:1',
        '# a comment',
        `FROM ${BASE} AS Build`,
        'ARG VERSION=1.2',
        'ENV APP_HOME=/app \\',
        '    # a comment inside the continuation',
        '    GREETING="hello world"',
        'WORKDIR $APP_HOME',
        'RUN set -e; \\',
        '  echo building \\',
        '  > /tmp/out',
        'COPY --chown=1000:1000 --chmod=0755 src/ ./src/',
        '',
        'FROM build',
        'COPY --from=build /app/src /srv/',
        'COPY --from=0 ["/app/a b", "/srv/c"]',
        'USER 1000',
        'EXPOSE 8080 9090/udp',
        'HEALTHCHECK --interval=5s --timeout=2s --retries=3 CMD curl -f http://localhost:8080/ || exit 1',
        'LABEL org.example.team="platform" version=$VERSION',
        'STOPSIGNAL SIGTERM',
        'SHELL ["/bin/bash", "-c"]',
        'VOLUME ["/data"]',
        'ENTRYPOINT ["/srv/run"]',
        'CMD --serve',
        'ADD notes.txt /srv/notes.txt',
      ].join('\n'),
    );
    expect(p.stages).toEqual(['build', null]);
    expect(p.notes[0]).toMatch(/line 1: the syntax directive is ignored/);
    const kinds = p.instructions.map((i) => `${i.line}:${i.kind}`);
    expect(kinds).toEqual([
      '3:FROM', '4:ARG', '5:ENV', '8:WORKDIR', '9:RUN', '12:COPY', '14:FROM', '15:COPY', '16:COPY', '17:USER', '18:EXPOSE',
      '19:HEALTHCHECK', '20:LABEL', '21:STOPSIGNAL', '22:SHELL', '23:VOLUME', '24:ENTRYPOINT', '25:CMD', '26:COPY',
    ]);
    const [from, arg, env, , run, copy, from2, copyFrom, copyJson] = p.instructions;
    expect(from).toMatchObject({ base: { kind: 'image', ref: BASE }, name: 'build' });
    expect(arg).toMatchObject({ name: 'VERSION', value: '1.2' });
    expect(env).toMatchObject({ pairs: [['APP_HOME', '/app'], ['GREETING', '"hello world"']] });
    expect(run).toMatchObject({ form: 'shell', command: 'set -e;   echo building   > /tmp/out' });
    expect(copy).toMatchObject({ sources: ['src/'], dest: './src/', chown: '1000:1000', chmod: 0o755, from: null, add: false });
    expect(from2).toMatchObject({ base: { kind: 'stage', index: 0 } });
    expect(copyFrom).toMatchObject({ from: 0, sources: ['/app/src'], dest: '/srv/' });
    expect(copyJson).toMatchObject({ from: 0, sources: ['/app/a b'], dest: '/srv/c' });
    const hc = p.instructions.find((i) => i.kind === 'HEALTHCHECK');
    expect(hc).toMatchObject({ check: { test: ['CMD-SHELL', 'curl -f http://localhost:8080/ || exit 1'], intervalNs: 5e9, timeoutNs: 2e9, retries: 3 } });
    expect(p.instructions.find((i) => i.kind === 'ENTRYPOINT')).toMatchObject({ form: 'exec', argv: ['/srv/run'] });
    expect(p.instructions.find((i) => i.kind === 'CMD')).toMatchObject({ form: 'shell', command: '--serve' });
    expect(p.instructions.at(-1)).toMatchObject({ kind: 'COPY', add: true, sources: ['notes.txt'] });
  });

  it('accepts scratch, short image names and the legacy ENV form', () => {
    const p = parse('FROM debian:bookworm-slim\nENV PATH /usr/local/bin:/usr/bin\nFROM scratch\nHEALTHCHECK NONE\n');
    expect(p.instructions[1]).toMatchObject({ pairs: [['PATH', '/usr/local/bin:/usr/bin']] });
    expect(p.instructions[2]).toMatchObject({ base: { kind: 'scratch' } });
    expect(p.instructions[3]).toMatchObject({ check: { test: ['NONE'] } });
    expect(parse('FROM docker.io/opslab/sandbox-base').instructions[0]).toMatchObject({ base: { ref: BASE } });
    expect(normalizeImageRef('docker.io/library/debian')).toBe('debian:latest');
    expect(normalizeImageRef('registry:5000/x')).toBe('registry:5000/x:latest');
  });
});

describe('parseDockerfile: hostile input is refused with its line', () => {
  const cases: [string, string, number, RegExp][] = [
    ['a base image outside the allow-list', `FROM ${BASE}\nFROM opslab/grader:latest`, 2, /not an allowed base image/],
    ['the grader image as an untagged name', 'FROM opslab/grader', 1, /not an allowed base image/],
    ['an allowed name with another tag', 'FROM opslab/sandbox-base:evil', 1, /not an allowed base image/],
    ['a digest', `FROM ${BASE.replace(':latest', '')}@sha256:${'0'.repeat(64)}`, 1, /not an allowed base image/],
    ['ARG before FROM', `ARG BASE=${BASE}\nFROM $BASE`, 1, /ARG before the first FROM/],
    ['a variable in FROM', `FROM ${BASE}\nFROM \${X:-${BASE}}`, 2, /variables are not allowed in FROM/],
    ['FROM --platform', `FROM --platform=linux/arm64 ${BASE}`, 1, /--platform is not allowed/],
    ['a later stage as a base', `FROM later\nFROM ${BASE} AS later`, 1, /not an allowed base image/],
    ['a stage naming itself', `FROM ${BASE} AS a\nFROM b AS b`, 2, /not an allowed base image/],
    ['a stage name used twice', `FROM ${BASE} AS a\nFROM ${BASE} AS a`, 2, /used twice/],
    ['an instruction before FROM', 'RUN id', 1, /before the first FROM/],
    ['no FROM at all', '# just a comment\n', 0, /no FROM/],
    ['ONBUILD', `FROM ${BASE}\nONBUILD RUN id`, 2, /ONBUILD is not allowed/],
    ['RUN --mount', `FROM ${BASE}\nRUN --mount=type=bind,source=/,target=/host cat /host/etc/shadow`, 2, /--mount is not allowed/],
    ['RUN --network', `FROM ${BASE}\nRUN --network=host curl example.com`, 2, /--network is not allowed/],
    ['RUN --security', `FROM ${BASE}\nRUN --security=insecure id`, 2, /--security is not allowed/],
    ['another RUN flag', `FROM ${BASE}\nRUN --device=/dev/kmsg id`, 2, /--device is not supported/],
    ['a RUN heredoc', `FROM ${BASE}\nRUN <<EOF\nid\nEOF`, 2, /heredocs/],
    ['COPY --from an image', `FROM ${BASE}\nCOPY --from=opslab/grader:latest /exercise /x`, 2, /not an earlier stage/],
    ['COPY --from a later stage', `FROM ${BASE}\nCOPY --from=1 /x /x\nFROM ${BASE}`, 2, /not an earlier stage/],
    ['COPY out of the context', `FROM ${BASE}\nCOPY ../../etc/passwd /x`, 2, /outside the build context/],
    ['COPY out of the context, absolute', `FROM ${BASE}\nCOPY /a/../../etc /x`, 2, /outside the build context/],
    ['ADD of a URL', `FROM ${BASE}\nADD https://example.com/x /x`, 2, /fetching a URL is not allowed/],
    ['ADD of git', `FROM ${BASE}\nADD git@github.com:a/b.git /x`, 2, /fetching a URL is not allowed/],
    ['ADD of an archive', `FROM ${BASE}\nADD app.tar.gz /opt/`, 2, /supported only as COPY/],
    ['ADD --checksum', `FROM ${BASE}\nADD --checksum=sha256:00 a /a`, 2, /--checksum is not allowed/],
    ['COPY --link', `FROM ${BASE}\nCOPY --link a /a`, 2, /--link is not supported/],
    ['a symbolic --chmod', `FROM ${BASE}\nCOPY --chmod=u+x a /a`, 2, /only octal modes/],
    ['COPY without a destination', `FROM ${BASE}\nCOPY a`, 2, /one source and a destination/],
    ['the escape directive', '# escape=`\nFROM ' + BASE, 1, /escape directive/],
    ['an unknown instruction', `FROM ${BASE}\nFETCH x`, 2, /unknown instruction FETCH/],
    ['MAINTAINER', `FROM ${BASE}\nMAINTAINER me`, 2, /use LABEL/],
    ['SHELL in the shell form', `FROM ${BASE}\nSHELL /bin/bash -c`, 2, /JSON array/],
    ['an unterminated quote', `FROM ${BASE}\nENV A="x`, 2, /unterminated "/],
    ['a bad ARG name', `FROM ${BASE}\nARG 1x=2`, 2, /not a valid name/],
    ['a HEALTHCHECK without CMD', `FROM ${BASE}\nHEALTHCHECK curl localhost`, 2, /needs CMD/],
    ['a bad HEALTHCHECK duration', `FROM ${BASE}\nHEALTHCHECK --interval=often CMD true`, 2, /not a duration/],
    ['a NUL byte', `FROM ${BASE}\nRUN echo \0`, 0, /NUL byte/],
  ];
  for (const [what, text, line, message] of cases) {
    it(`refuses ${what}`, () => {
      const err = refused(text);
      expect(err.line).toBe(line);
      expect(err.message).toMatch(message);
      if (line > 0) expect(err.message).toMatch(new RegExp(`^Dockerfile line ${line}: `));
    });
  }

  it('refuses more than the instruction limit, naming the first line past it', () => {
    const text = [`FROM ${BASE}`, ...Array.from({ length: 10 }, (_, i) => `RUN echo ${i}`)].join('\n');
    expect(parse(text, { maxInstructions: 11 }).instructions).toHaveLength(11);
    const err = refused(text, { maxInstructions: 5 });
    expect(err.line).toBe(6);
    expect(err.message).toMatch(/more than 5 instructions/);
  });

  it('refuses a Dockerfile over the size cap before reading it', () => {
    const err = refused(`FROM ${BASE}\n# ${'x'.repeat(2000)}`, { maxBytes: 1024 });
    expect(err.message).toMatch(/over the limit of 1024/);
  });

  it('never takes a continued line for a new instruction', () => {
    // The continuation folds "FROM opslab/grader" into the RUN: it is an argument, not a base image.
    const p = parse(`FROM ${BASE}\nRUN echo \\\nFROM opslab/grader:latest`);
    expect(p.instructions).toHaveLength(2);
    expect(p.instructions[1]).toMatchObject({ kind: 'RUN', command: 'echo FROM opslab/grader:latest' });
  });
});

describe('words', () => {
  it('splits at unquoted whitespace, keeping quotes for expansion', () => {
    expect(splitWords(`a "b c" 'd e' f\\ g`, 1)).toEqual(['a', '"b c"', "'d e'", 'f\\ g']);
  });
  it('expands variables like the engine builder, quotes removed', () => {
    const vars = { HOME: '/root', EMPTY: '', PATH: '/usr/bin' };
    expect(expandWord('$HOME/x', vars)).toBe('/root/x');
    expect(expandWord('${HOME}x', vars)).toBe('/rootx');
    expect(expandWord('${EMPTY:-dflt}', vars)).toBe('dflt');
    expect(expandWord('${HOME:+set}', vars)).toBe('set');
    expect(expandWord('"a $HOME"', vars)).toBe('a /root');
    expect(expandWord("'$HOME'", vars)).toBe('$HOME');
    expect(expandWord('\\$HOME', vars)).toBe('$HOME');
    expect(expandWord('/app:$PATH', vars)).toBe('/app:/usr/bin');
    expect(expandWord('$UNSET', vars)).toBe('');
    expect(() => expandWord('${HOME', vars)).toThrow(/unterminated/);
    expect(() => expandWord('${HOME/a/b}', vars)).toThrow(/unsupported variable/);
  });
});
