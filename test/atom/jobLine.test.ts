import { describe, expect, it } from 'vitest';
import { atomJobLine, localDateTime, phpJsonEncode } from '../../src/atom/jobLine.js';
import { atomJobOf } from '../../src/atom/jobTable.js';
import { messageOf } from '../../src/atom/logTee.js';

describe("AtoM's job log line", () => {
  it('has arJobLogger\'s shape: [priority] [local Y-m-d H:i:s] Job id "name": message', () => {
    const at = new Date(2026, 11, 2, 9, 5, 7).getTime(); // local time, as PHP's date()
    expect(localDateTime(at)).toBe('2026-12-02 09:05:07');
    expect(atomJobLine('info', at, 451, 'qtSwordPluginWorker', 'Job started.')).toBe('[info] [2026-12-02 09:05:07] Job 451 "qtSwordPluginWorker": Job started.');
    expect(atomJobLine('err', at, 7, 'arFindingAidJob', 'Exception: boom')).toBe('[err] [2026-12-02 09:05:07] Job 7 "arFindingAidJob": Exception: boom');
  });

  it("encodes parameters as PHP's json_encode does by default (escaped slashes, \\u escapes)", () => {
    expect(phpJsonEncode({ id: 5, name: 'arFileImportJob', file: '/tmp/php_qubit_Ab/é😀', n: 1.5, on: true, none: null })).toBe(
      '{"id":5,"name":"arFileImportJob","file":"\\/tmp\\/php_qubit_Ab\\/\\u00e9\\ud83d\\ude00","n":1.5,"on":true,"none":null}',
    );
    // DEL and other ASCII stay as they are, as in PHP.
    expect(phpJsonEncode('a\u007fb')).toBe('"a\u007fb"');
  });
});

describe("AtoM's payload", () => {
  const of = (text: string) => atomJobOf(Buffer.from(text), 'fallback');
  it('names the row by its integer id and the job by name', () => {
    expect(of('{"id":451,"name":"qtSwordPluginWorker","objectId":9}')).toMatchObject({ jobId: 451, name: 'qtSwordPluginWorker' });
    expect(of('{"id":"12"}')).toMatchObject({ jobId: 12, name: 'fallback' });
  });
  it('is not an AtoM job without a positive integer id', () => {
    for (const text of ['{}', '{"id":0}', '{"id":-3}', '{"id":1.5}', '{"id":"x"}', '[1,2]', 'not json', '"id"', '{"id":null}']) expect(of(text)).toBeUndefined();
  });
});

describe("the message a handler's log line carries", () => {
  it('reads every pino call form', () => {
    expect(messageOf(['plain'])).toBe('plain');
    expect(messageOf(['%d files', 3])).toBe('3 files');
    expect(messageOf([{ count: 3 }, 'imported %s', 'all'])).toBe('imported all');
    expect(messageOf([new Error('disk gone')])).toBe('disk gone');
    expect(messageOf([new Error('x'), 'while copying'])).toBe('while copying');
    expect(messageOf([{ only: 'fields' }])).toBeUndefined();
  });
});
