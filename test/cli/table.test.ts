// The plain-text helpers of the verbs' human output.
import { describe, expect, it } from 'vitest';
import { formatTable, plural } from '../../src/cli/table.js';

describe('table helpers', () => {
  it('plural: "1 job", "0 jobs", "2 jobs"', () => {
    expect([0, 1, 2].map((count) => plural(count, 'job'))).toEqual(['0 jobs', '1 job', '2 jobs']);
  });

  it('formatTable pads every column but the last', () => {
    expect(formatTable(['A', 'LONGER'], [['xyz', 'b']])).toBe('A    LONGER\nxyz  b');
  });
});
