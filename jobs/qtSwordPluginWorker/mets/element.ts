// The element view the section readers get from the SAX collector, and their small protocol.
import type { SaxesAttributeNS } from 'saxes';

export const METS_NS = 'http://www.loc.gov/METS/';
export const XLINK_NS = 'http://www.w3.org/1999/xlink';
const PREMIS_V2_NS = 'info:lc/xmlns/premis-v2';
const PREMIS_V3_NS = 'http://www.loc.gov/premis/v3';

export interface El {
  readonly uri: string;
  readonly local: string;
  readonly attributes: Record<string, SaxesAttributeNS>;
}

/**
 * What the collector does with an element a reader was offered:
 * - `skip`: ignore it and everything inside (only depth is counted);
 * - `descend`: offer its children too, and report its end;
 * - `capture`: collect its text content (children's text included) and report it, trimmed, at its end.
 */
export type OpenAction = 'skip' | 'descend' | 'capture';

/** A reader of one subtree. `depth` is relative: the reader's own root element has depth 0. */
export interface SubtreeReader {
  open(el: El, depth: number): OpenAction;
  close(el: El, depth: number, text: string | undefined): void;
}

/** An attribute's value; unprefixed attributes by default. The value is detached (see below). */
export function attr(el: El, local: string, uri = ''): string | undefined {
  if (uri === '') {
    const a = el.attributes[local];
    return a !== undefined && a.uri === '' ? detach(a.value) : undefined;
  }
  for (const key in el.attributes) {
    const a = el.attributes[key];
    if (a !== undefined && a.local === local && a.uri === uri) return detach(a.value);
  }
  return undefined;
}

/**
 * A flat copy of `s` that shares no memory with the parser's input chunk. Strings saxes hands
 * out can be V8 slices of a whole read chunk; keeping one would keep the chunk alive, and memory
 * would then grow with the METS size instead of the number of files. A JSON round trip builds a
 * new sequential string. (Slicing a concatenation, the previous way, still gave a 32-byte slice
 * object on top of every kept value: about 3 MB for a 10,000-file DIP.) Short strings are
 * copied by V8 anyway.
 */
export function detach(s: string): string {
  return s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string);
}

export function isMets(el: El, local: string): boolean {
  return el.local === local && el.uri === METS_NS;
}

export function premisVersionOf(uri: string): 2 | 3 | undefined {
  if (uri === PREMIS_V3_NS) return 3;
  if (uri === PREMIS_V2_NS) return 2;
  return undefined;
}

/**
 * Tracks the path of local names below a reader's root, for whitelist matching.
 * Push on every element that is not skipped, pop on its close.
 */
export class PathStack {
  private readonly names: string[] = [];

  push(local: string): void {
    this.names.push(local);
  }

  /** The path of an element about to be opened, without pushing it. */
  peek(local: string): string {
    return this.names.length === 0 ? local : `${this.names.join('/')}/${local}`;
  }

  pop(): string {
    const path = this.names.join('/');
    this.names.pop();
    return path;
  }
}
