import { describe, expect, it } from 'vitest';
import { parseWorkRequest, workQuery } from '../src/work.ts';

describe('parseWorkRequest', () => {
  it('asks for no delay and no failure when the query has neither parameter', () => {
    expect(parseWorkRequest(new URLSearchParams())).toEqual({ delayMs: 0, fail: false });
  });

  it('reads delay_ms and fail', () => {
    expect(parseWorkRequest(new URLSearchParams('delay_ms=250&fail=true'))).toEqual({ delayMs: 250, fail: true });
  });

  it('round-trips through the query the frontend sends to the backend', () => {
    const work = { delayMs: 10_000, fail: true };
    expect(parseWorkRequest(workQuery(work))).toEqual(work);
  });

  it('fails when delay_ms is not an integer from 0 to 10000', () => {
    for (const value of ['-5', '1.5', 'slow', '10001']) {
      expect(parseWorkRequest(new URLSearchParams({ delay_ms: value }))).toBe(
        `delay_ms: "${value}" is not allowed; expected an integer from 0 to 10000`,
      );
    }
  });

  it('fails when fail is neither true nor false', () => {
    expect(parseWorkRequest(new URLSearchParams('fail=1'))).toBe('fail: "1" is not allowed; expected "true" or "false"');
  });
});
