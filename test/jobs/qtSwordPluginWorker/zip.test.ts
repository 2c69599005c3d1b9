// How the zip reader words the errors that end an extraction.
import { describe as group, expect, it } from 'vitest';
import { describe } from '../../../jobs/qtSwordPluginWorker/zip.js';

function errno(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

group('zip error wording', () => {
  it('says the disk is full for ENOSPC and EDQUOT, not what the write call said', () => {
    expect(describe(errno('ENOSPC', 'ENOSPC: no space left on device, write'))).toBe('the disk is full: no space left to extract it in temp_dir (ENOSPC)');
    expect(describe(errno('EDQUOT', 'EDQUOT: disk quota exceeded, write'))).toContain('the disk is full');
  });

  it('keeps other messages on one line', () => {
    expect(describe(new Error('bad\nthing'))).not.toContain('\n');
  });
});
