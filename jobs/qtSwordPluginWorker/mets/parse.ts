// Streaming METS parser: one pass over a file read stream with saxes, keeping only what the
// mapping needs. Memory grows with the number of files and sections, not with the METS size:
// subtrees nobody asked for are skipped (only their depth is counted, their text is dropped).
//
// XXE: saxes never reads DTDs or external entities and only knows the XML predefined entities and
// character references; a DOCTYPE declaring entities is refused outright, and any other entity
// reference is a parse error.
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { TextDecoder } from 'node:util';
import type { SaxesTagNS } from 'saxes';
import { DipError, oneLine, throwIfAborted } from '../util.js';
import { DmdSecReader } from './dublinCore.js';
import { type El, METS_NS, type OpenAction, type SubtreeReader, attr, detach } from './element.js';
import type { MetsModel } from './model.js';
import { AmdSecReader, FileSecReader, StructMapReader } from './sections.js';

/** Longest text kept for one element; longer values are cut (and a note is recorded). */
const MAX_CAPTURE_CHARS = 1_000_000;
/**
 * Bytes per read. Kept well below V8's large-object size (128 KiB): the decoded chunk string
 * (and saxes' slices of it) then lives and dies in the young generation; 256 KiB chunks went to
 * large-object space, survived scavenges when a slice was still referenced and stacked up there
 * until the next full GC (about 8 MB on a 43 MB METS).
 */
const READ_CHUNK_BYTES = 64 * 1024;

export interface ParseOptions {
  signal?: AbortSignal;
  /** Called after each chunk with the number of bytes read so far. */
  onRead?: (bytesRead: number) => void;
}

export async function parseMets(metsPath: string, options: ParseOptions = {}): Promise<MetsModel> {
  const { SaxesParser } = await import('saxes');
  const fileName = path.basename(metsPath);
  const collector = new MetsCollector(fileName);
  const parser = new SaxesParser({ xmlns: true, position: true, fileName });
  parser.on('doctype', (doctype) => {
    if (/<!ENTITY/i.test(doctype)) {
      throw new DipError(`Refusing ${fileName}: its DOCTYPE declares entities (possible XXE or entity expansion attack)`);
    }
  });
  parser.on('opentag', (tag) => collector.open(tag));
  parser.on('closetag', (tag) => collector.close(tag));
  parser.on('text', (text) => collector.text(text));
  parser.on('cdata', (text) => collector.text(text));

  let decoder: TextDecoder | undefined;
  let bytesRead = 0;
  try {
    const stream = createReadStream(metsPath, { highWaterMark: READ_CHUNK_BYTES });
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        if (options.signal) throwIfAborted(options.signal);
        decoder ??= makeDecoder(chunk, fileName);
        const text = decode(decoder, chunk, true, fileName, bytesRead);
        bytesRead += chunk.length;
        if (text.length > 0) parser.write(text);
        options.onRead?.(bytesRead);
      }
    } finally {
      stream.destroy();
    }
    if (decoder) {
      const rest = decode(decoder, undefined, false, fileName, bytesRead);
      if (rest.length > 0) parser.write(rest);
    }
    if (bytesRead === 0) throw new DipError(`Invalid XML in ${fileName}: the file is empty`);
    parser.close();
  } catch (error) {
    throw asParseError(error, fileName);
  }
  return collector.finish();
}

/** saxes errors read `file:line:col: message`; turn them into a one-line reason with the line. */
function asParseError(error: unknown, fileName: string): Error {
  if (error instanceof DipError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const prefix = `${fileName}:`;
  if (message.startsWith(prefix)) {
    const m = /^(\d+):(\d+): (.*)$/s.exec(message.slice(prefix.length));
    if (m) return new DipError(`Invalid XML in ${fileName} at line ${m[1]}, column ${m[2]}: ${oneLine(m[3] ?? '')}`);
  }
  return new DipError(`Invalid XML in ${fileName}: ${oneLine(message)}`);
}

/** Pick the decoder from a byte order mark or the XML declaration's encoding. */
function makeDecoder(first: Buffer, fileName: string): TextDecoder {
  if (first[0] === 0xef && first[1] === 0xbb && first[2] === 0xbf) return new TextDecoder('utf-8', { fatal: true });
  if (first[0] === 0xff && first[1] === 0xfe) return new TextDecoder('utf-16le', { fatal: true });
  if (first[0] === 0xfe && first[1] === 0xff) return new TextDecoder('utf-16be', { fatal: true });
  const head = first.subarray(0, 256).toString('latin1');
  const declared = /^<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head)?.[1]?.toLowerCase();
  if (declared === undefined || ['utf-8', 'utf8', 'ascii', 'us-ascii'].includes(declared)) {
    return new TextDecoder('utf-8', { fatal: true });
  }
  try {
    return new TextDecoder(declared, { fatal: true });
  } catch {
    throw new DipError(`Invalid XML in ${fileName}: unsupported encoding ${declared}`);
  }
}

function decode(
  decoder: TextDecoder,
  chunk: Buffer | undefined,
  stream: boolean,
  fileName: string,
  offset: number,
): string {
  try {
    return decoder.decode(chunk, { stream });
  } catch {
    throw new DipError(
      `Invalid XML in ${fileName}: bytes that are not valid ${decoder.encoding} after byte offset ${offset}`,
    );
  }
}

/** Dispatches SAX events to section readers, skipping and capturing as they ask. */
class MetsCollector {
  private readonly model: MetsModel;
  private depth = 0;
  /** Depth of a skipped element: everything below it is ignored. 0 = not skipping. */
  private skipDepth = 0;
  /** Depth of an element whose text is being captured. 0 = not capturing. */
  private captureDepth = 0;
  private captured: string[] = [];
  private capturedChars = 0;
  private truncatedNoted = false;
  private section: SubtreeReader | undefined;
  private onSectionEnd: (() => void) | undefined;

  constructor(fileName: string) {
    this.model = {
      metsFileName: fileName,
      dmdSecs: new Map(),
      amdSecs: new Map(),
      originals: [],
      preservation: [],
      dmdMapping: new Map(),
      notes: [],
    };
  }

  open(tag: SaxesTagNS): void {
    this.depth += 1;
    if (this.skipDepth !== 0 || this.captureDepth !== 0) return;
    const el: El = tag;
    let action: OpenAction;
    if (this.depth === 1) {
      if (el.uri !== METS_NS || el.local !== 'mets') {
        throw new DipError(`${this.model.metsFileName} is not a METS document (root element is ${tag.name})`);
      }
      action = 'descend';
    } else if (this.depth === 2) {
      action = this.openSection(el);
    } else {
      action = this.section ? this.section.open(el, this.depth - 2) : 'skip';
    }
    if (action === 'skip') {
      this.skipDepth = this.depth;
    } else if (action === 'capture') {
      this.captureDepth = this.depth;
      this.captured = [];
      this.capturedChars = 0;
    }
  }

  close(tag: SaxesTagNS): void {
    const depth = this.depth;
    this.depth -= 1;
    if (this.skipDepth !== 0) {
      if (depth === this.skipDepth) this.skipDepth = 0;
      return;
    }
    if (this.captureDepth !== 0 && depth > this.captureDepth) return;
    let text: string | undefined;
    if (depth === this.captureDepth) {
      // Trimmed before the copy (every reader trims), so no slice of the copy is kept either.
      text = detach(this.captured.join('').trim());
      this.captured = [];
      this.captureDepth = 0;
    }
    if (depth === 2) {
      this.onSectionEnd?.();
      this.onSectionEnd = undefined;
      this.section = undefined;
    } else if (depth > 2) {
      this.section?.close(tag, depth - 2, text);
    }
  }

  text(text: string): void {
    if (this.captureDepth === 0) return;
    const room = MAX_CAPTURE_CHARS - this.capturedChars;
    if (room <= 0) return;
    if (text.length > room) {
      this.captured.push(text.slice(0, room));
      this.capturedChars = MAX_CAPTURE_CHARS;
      if (!this.truncatedNoted) {
        this.truncatedNoted = true;
        this.model.notes.push(`A value longer than ${MAX_CAPTURE_CHARS} characters was cut in ${this.model.metsFileName}`);
      }
      return;
    }
    this.captured.push(text);
    this.capturedChars += text.length;
  }

  private openSection(el: El): OpenAction {
    if (el.uri !== METS_NS) return 'skip';
    const model = this.model;
    switch (el.local) {
      case 'metsHdr': {
        const created = attr(el, 'CREATEDATE');
        if (created !== undefined && model.createDate === undefined) model.createDate = created;
        return 'skip';
      }
      case 'dmdSec': {
        const reader = new DmdSecReader(el);
        this.section = reader;
        this.onSectionEnd = () => {
          if (reader.info.id !== '' && !model.dmdSecs.has(reader.info.id)) model.dmdSecs.set(reader.info.id, reader.info);
        };
        return 'descend';
      }
      case 'amdSec': {
        const reader = new AmdSecReader(el);
        this.section = reader;
        this.onSectionEnd = () => {
          const info = reader.finish();
          if (info.id !== '' && !model.amdSecs.has(info.id)) model.amdSecs.set(info.id, info);
        };
        return 'descend';
      }
      case 'fileSec':
        this.section = new FileSecReader(model);
        return 'descend';
      case 'structMap': {
        const reader = new StructMapReader(el, model);
        if (reader.ignored) return 'skip';
        this.section = reader;
        return 'descend';
      }
      default:
        return 'skip';
    }
  }

  finish(): MetsModel {
    return this.model;
  }
}
