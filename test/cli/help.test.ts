// Every verb's --help: each default is printed once (commander adds "(default: …)" for options that
// have one; the description must not say it again), and the exit codes it names exist.
import { describe, expect, it } from 'vitest';
import { cli } from '../ops/helpers.js';

const VERBS = [['run'], ['exec'], ['check'], ['status'], ['submit'], ['jobs', 'list'], ['jobs', 'show'], ['jobs', 'clear'], ['quiet'], ['resume'], ['service']];

describe('--help', () => {
  it.each(VERBS)('%s %s prints every default once', async (...verb) => {
    const result = await cli([...verb.filter((word) => word !== undefined), '--help']);
    expect(result.status).toBe(0);
    const twice = result.stdout.split('\n').filter((line) => /\(default[ :]/.test(line) && (line.match(/\(default/g) ?? []).length > 1);
    expect(twice).toEqual([]);
    // A description that names a default in words ("(default 60)") next to a commander default is the same fault.
    const options = result.stdout.split('\n').filter((line) => line.trimStart().startsWith('-'));
    expect(options.filter((line) => /\(default \w/.test(line) && /\(default: /.test(line))).toEqual([]);
  });

  it('names every exit code it can end with at the top level', async () => {
    const result = await cli(['--help']);
    for (const code of ['69', '70', '78']) expect(result.stdout).toContain(code);
  });
});
