// A digital object's name, MIME type and media type term, as QubitDigitalObject works them out.
// The MIME table is mime-types' (mime-db: Apache's mime.types and IANA), which AtoM's own table
// was derived from.
import mime from 'mime-types';
import { TERM } from './terms.js';

/** QubitDigitalObject's file-name rule, byte by byte: anything but [a-z0-9_.-] becomes `_`. */
export function digitalObjectName(fileName: string): string {
  let out = '';
  for (const byte of Buffer.from(fileName, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[a-z0-9_.-]/i.test(ch) && byte < 0x80 ? ch : '_';
  }
  return out;
}

/** The extensions from the last to the first (`a.tar.gz`: gz, tar); the first one known wins; else 'unknown'. */
export function mimeTypeOf(name: string): string {
  const parts = name.split('.').slice(1);
  for (let i = parts.length - 1; i >= 0; i -= 1) {
    const type = mime.lookup((parts[i] ?? '').toLowerCase());
    if (type !== false) return type;
  }
  return 'unknown';
}

/** The media type term for a MIME type (null for 'unknown', as AtoM leaves it). */
export function mediaTypeOf(mimeType: string): number | null {
  const slash = mimeType.indexOf('/');
  if (slash < 0) return null;
  switch (mimeType.slice(0, slash)) {
    case 'audio':
      return TERM.MEDIA_AUDIO;
    case 'image':
      return TERM.MEDIA_IMAGE;
    case 'text':
      return TERM.MEDIA_TEXT;
    case 'video':
      return TERM.MEDIA_VIDEO;
    default:
      return mimeType === 'application/pdf' ? TERM.MEDIA_TEXT : TERM.MEDIA_OTHER;
  }
}

/** `<name without its extension>_<usage>.jpg`, the derivative's name beside its master. */
export function derivativeName(masterName: string, usageId: number): string {
  const dot = masterName.lastIndexOf('.');
  return `${dot > 0 ? masterName.slice(0, dot) : masterName}_${usageId}.jpg`;
}
