import { describe, expect, it } from 'vitest';
import { parseAttemptPush } from '../../server/src/attempts/attempt-pushes.js';

describe('parseAttemptPush (what another replica sent through the database)', () => {
  it('keeps the fields it knows, checked', () => {
    expect(
      parseAttemptPush(
        JSON.stringify({
          attemptId: 'a_0123abcd',
          marker: 'time extended 10 min',
          refresh: true,
          grading: { state: 'queued', ahead: 2 },
          closeCandidate: { code: 4001, text: 'moved' },
          extra: 'dropped',
        }),
      ),
    ).toEqual({
      attemptId: 'a_0123abcd',
      marker: 'time extended 10 min',
      refresh: true,
      grading: { state: 'queued', ahead: 2 },
      closeCandidate: { code: 4001, text: 'moved' },
    });
    expect(parseAttemptPush('{"attemptId":"a_1","grading":{"state":"running"}}')).toEqual({ attemptId: 'a_1', grading: { state: 'running' } });
  });

  it('is null for what is not a push: bad JSON, no or odd attempt id', () => {
    for (const payload of ['', 'not json', 'null', '[]', '"a_1"', '{}', '{"attemptId":""}', '{"attemptId":"../../etc"}', `{"attemptId":"${'a'.repeat(65)}"}`, '{"attemptId":7}']) {
      expect(parseAttemptPush(payload), payload).toBeNull();
    }
  });

  it('drops fields of the wrong shape and cuts long texts', () => {
    const push = parseAttemptPush(
      JSON.stringify({
        attemptId: 'a_1',
        marker: 'm'.repeat(1000),
        refresh: 'yes',
        grading: { state: 'queued', ahead: -1 },
        closeCandidate: { code: 1000, text: 'a normal close is not the candidate being moved' },
      }),
    );
    expect(push).toEqual({ attemptId: 'a_1', marker: 'm'.repeat(300) });
    expect(parseAttemptPush('{"attemptId":"a_1","closeCandidate":{"code":4001}}')).toEqual({ attemptId: 'a_1' });
    expect(parseAttemptPush('{"attemptId":"a_1","grading":{"state":"queued","ahead":1.5}}')).toEqual({ attemptId: 'a_1' });
  });
});
