// AtoM's config/config.php, read without running PHP. AtoM's installer writes it as
// `<?php … return <var_export of an array>;`, and the database connection is under
// all.propel.param (dsn, username, password, encoding). This module understands the literal
// subset of PHP such a file is made of: arrays (`array(…)`, `[…]`), strings, numbers, true, false,
// null and comments. Anything that would need PHP to evaluate it (a constant, a function call, a
// variable, string concatenation) is a configuration error naming the key and the line.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config/errors.js';
import { type AtomDatabaseSettings, DEFAULT_DATABASE_CHARSET, databaseEndpoint } from './databaseSettings.js';

/** A PHP value as written in a literal. */
export type PhpValue = string | number | boolean | null | PhpArray;
/** A PHP array, in order; keys as PHP normalises them, integer keys written in decimal ("0", "1", …). */
export type PhpArray = Map<string, PhpValue>;

/** Where AtoM keeps it, relative to its root folder. */
export function atomConfigPhpPath(atomRootDir: string): string {
  return path.join(atomRootDir, 'config', 'config.php');
}

type Token =
  | { readonly kind: 'punct'; readonly text: string; readonly line: number }
  | { readonly kind: 'string'; readonly value: string; readonly line: number }
  | { readonly kind: 'number'; readonly value: number; readonly text: string; readonly line: number }
  | { readonly kind: 'word'; readonly text: string; readonly line: number }
  | { readonly kind: 'variable'; readonly text: string; readonly line: number }
  | { readonly kind: 'closeTag'; readonly line: number }
  | { readonly kind: 'other'; readonly text: string; readonly line: number }
  | { readonly kind: 'end'; readonly line: number };

const NAME_START = /[A-Za-z_\x80-\uffff\\]/;
const NAME_CHAR = /[A-Za-z0-9_\x80-\uffff\\]/;
const DIGITS = String.raw`\d+(?:_\d+)*`;
const NUMBER_PATTERNS: ReadonlyArray<readonly [RegExp, (text: string) => number]> = [
  [/0[xX][0-9a-fA-F]+(?:_[0-9a-fA-F]+)*/y, (text) => Number.parseInt(text.slice(2), 16)],
  [/0[bB][01]+(?:_[01]+)*/y, (text) => Number.parseInt(text.slice(2), 2)],
  [/0[oO][0-7]+(?:_[0-7]+)*/y, (text) => Number.parseInt(text.slice(2), 8)],
  [new RegExp(String.raw`(?:(?:${DIGITS})?\.${DIGITS}|${DIGITS}\.(?:${DIGITS})?)(?:[eE][+-]?${DIGITS})?|${DIGITS}[eE][+-]?${DIGITS}`, 'y'), Number],
  [new RegExp(DIGITS, 'y'), (text) => (text.length > 1 && text.startsWith('0') ? Number.parseInt(text, 8) : Number(text))],
];
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', v: '\v', e: '\x1b', f: '\f', '\\': '\\', $: '$', '"': '"' };
const MAX_DEPTH = 64;
const NOT_PHP = 'atom-worker reads config.php without running PHP, so only literal values are understood; write the value itself, or set atom_database';

function describeToken(token: Token): string {
  switch (token.kind) {
    case 'end':
      return 'the end of the file';
    case 'closeTag':
      return '`?>`';
    case 'string':
      return 'a string';
    case 'number':
      return `the number ${token.text}`;
    default:
      return `\`${token.text}\``;
  }
}

class PhpLiteralParser {
  private pos = 0;
  private line = 1;
  private peeked: Token | undefined;
  /** The key path of the value being read, for messages. */
  private readonly path: string[] = [];

  constructor(
    private readonly text: string,
    private readonly source: string,
  ) {}

  private fail(problem: string, line: number): never {
    throw new ConfigError(this.source, this.path.join('.'), `line ${line}: ${problem}`);
  }

  parseDocument(): PhpValue {
    if (this.text.startsWith('\ufeff')) this.pos = 1;
    const open = /\s*<\?php(?=\s|$)/iy;
    open.lastIndex = this.pos;
    const opened = open.exec(this.text);
    if (opened) this.advanceOver(opened[0]);
    let token = this.peek();
    if (token.kind === 'word' && token.text.toLowerCase() === 'return') this.next();
    const value = this.parseValue(0);
    token = this.next();
    if (token.kind === 'punct' && token.text === ';') token = this.next();
    if (token.kind === 'closeTag') {
      const rest = this.text.slice(this.pos);
      if (rest.trim() !== '') this.fail('text after `?>` is not understood', token.line);
      return value;
    }
    if (token.kind !== 'end') {
      if (token.kind === 'punct' && token.text === '.') this.fail(`string concatenation (\`.\`) is not understood; ${NOT_PHP}`, token.line);
      this.fail(`expected \`;\` and the end of the file after the returned array, found ${describeToken(token)}: only \`return <array>;\` is understood`, token.line);
    }
    return value;
  }

  private parseValue(depth: number): PhpValue {
    const token = this.next();
    switch (token.kind) {
      case 'string':
      case 'number':
        return token.value;
      case 'punct':
        if (token.text === '[') return this.parseArray(']', depth, token.line);
        if (token.text === '-' || token.text === '+') {
          const operand = this.next();
          if (operand.kind === 'number') return token.text === '-' ? -operand.value : operand.value;
          this.fail(`expected a number after \`${token.text}\`, found ${describeToken(operand)}`, operand.line);
        }
        return this.fail(`expected a value, found ${describeToken(token)}`, token.line);
      case 'word': {
        const lower = token.text.toLowerCase();
        if (lower === 'true') return true;
        if (lower === 'false') return false;
        if (lower === 'null') return null;
        const following = this.peek();
        if (lower === 'array' && following.kind === 'punct' && following.text === '(') {
          this.next();
          return this.parseArray(')', depth, token.line);
        }
        if (following.kind === 'punct' && following.text === '(') this.fail(`a function call (\`${token.text}(…)\`) is not understood; ${NOT_PHP}`, token.line);
        if (following.kind === 'punct' && following.text === '::') this.fail(`a class constant (\`${token.text}::…\`) is not understood; ${NOT_PHP}`, token.line);
        return this.fail(`a constant (\`${token.text}\`) is not understood; ${NOT_PHP}`, token.line);
      }
      case 'variable':
        return this.fail(`a variable (\`${token.text}\`) is not understood; ${NOT_PHP}`, token.line);
      default:
        return this.fail(`expected a value, found ${describeToken(token)}`, token.line);
    }
  }

  private parseArray(closer: ']' | ')', depth: number, line: number): PhpArray {
    if (depth >= MAX_DEPTH) this.fail(`arrays nested more than ${MAX_DEPTH} deep`, line);
    const result: PhpArray = new Map();
    let nextIndex = 0;
    for (;;) {
      let token = this.peek();
      if (token.kind === 'punct' && token.text === closer) {
        this.next();
        return result;
      }
      const first = this.parseValue(depth + 1);
      token = this.next();
      let key: string;
      let value: PhpValue;
      if (token.kind === 'punct' && token.text === '=>') {
        key = this.arrayKey(first, token.line);
        this.path.push(key);
        value = this.parseValue(depth + 1);
        token = this.next();
      } else {
        key = String(nextIndex);
        value = first;
        this.path.push(key);
      }
      this.expectSeparator(token, closer);
      this.path.pop();
      if (/^(?:0|-?[1-9]\d*)$/.test(key)) nextIndex = Math.max(nextIndex, Number(key) + 1);
      // A repeated key keeps its first position and takes the later value, as in PHP.
      result.set(key, value);
      if (token.kind === 'punct' && token.text === closer) return result;
    }
  }

  /** After an element: `,` or the closer; a `.` is concatenation, named as such. */
  private expectSeparator(token: Token, closer: ']' | ')'): void {
    if (token.kind === 'punct' && (token.text === ',' || token.text === closer)) return;
    if (token.kind === 'punct' && token.text === '.') this.fail(`string concatenation (\`.\`) is not understood; ${NOT_PHP}`, token.line);
    this.fail(`expected \`,\` or \`${closer}\` after the value, found ${describeToken(token)}`, token.line);
  }

  /** PHP's key rules: decimal-integer strings, floats (truncated) and booleans are integer keys; null is "". */
  private arrayKey(value: PhpValue, line: number): string {
    if (typeof value === 'string') return /^(?:0|-?[1-9]\d*)$/.test(value) && Number.isSafeInteger(Number(value)) ? String(Number(value)) : value;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) this.fail('a key that is not a finite number', line);
      return String(Math.trunc(value));
    }
    if (typeof value === 'boolean') return value ? '1' : '0';
    if (value === null) return '';
    return this.fail('an array cannot be an array key', line);
  }

  private peek(): Token {
    this.peeked ??= this.lex();
    return this.peeked;
  }

  private next(): Token {
    const token = this.peek();
    this.peeked = undefined;
    return token;
  }

  private advanceOver(consumed: string): void {
    for (const char of consumed) if (char === '\n') this.line += 1;
    this.pos += consumed.length;
  }

  private skipTrivia(): void {
    const text = this.text;
    while (this.pos < text.length) {
      const char = text[this.pos]!;
      if (char === '\n') {
        this.line += 1;
        this.pos += 1;
      } else if (char === ' ' || char === '\t' || char === '\r' || char === '\f' || char === '\v') {
        this.pos += 1;
      } else if (char === '#' || text.startsWith('//', this.pos)) {
        // A one-line comment ends at the line's end or at `?>`.
        while (this.pos < text.length && text[this.pos] !== '\n' && !text.startsWith('?>', this.pos)) this.pos += 1;
      } else if (text.startsWith('/*', this.pos)) {
        const end = text.indexOf('*/', this.pos + 2);
        if (end < 0) this.fail('a `/*` comment is not closed', this.line);
        this.advanceOver(text.slice(this.pos, end + 2));
      } else {
        return;
      }
    }
  }

  private lex(): Token {
    this.skipTrivia();
    const text = this.text;
    const line = this.line;
    if (this.pos >= text.length) return { kind: 'end', line };
    const char = text[this.pos]!;
    const two = text.slice(this.pos, this.pos + 2);
    if (two === '?>') {
      this.pos += 2;
      return { kind: 'closeTag', line };
    }
    if (two === '=>' || two === '::') {
      this.pos += 2;
      return { kind: 'punct', text: two, line };
    }
    if (char === "'") return this.singleQuoted();
    if (char === '"') return this.doubleQuoted();
    if (/\d/.test(char) || (char === '.' && /\d/.test(text[this.pos + 1] ?? ''))) return this.number();
    if ('()[],;-+.'.includes(char)) {
      this.pos += 1;
      return { kind: 'punct', text: char, line };
    }
    if (char === '$' && NAME_START.test(text[this.pos + 1] ?? '')) {
      const name = /\$[A-Za-z0-9_\x80-\uffff]*/y;
      name.lastIndex = this.pos;
      const found = name.exec(text)![0];
      this.pos += found.length;
      return { kind: 'variable', text: found, line };
    }
    if (NAME_START.test(char)) {
      let end = this.pos + 1;
      while (end < text.length && NAME_CHAR.test(text[end]!)) end += 1;
      const word = text.slice(this.pos, end);
      this.pos = end;
      return { kind: 'word', text: word, line };
    }
    const other = text.startsWith('<<<', this.pos) ? '<<<' : String.fromCodePoint(text.codePointAt(this.pos)!);
    this.pos += other.length;
    return { kind: 'other', text: other, line };
  }

  private number(): Token {
    const line = this.line;
    for (const [pattern, convert] of NUMBER_PATTERNS) {
      pattern.lastIndex = this.pos;
      const found = pattern.exec(this.text);
      if (!found) continue;
      const literal = found[0];
      const end = this.pos + literal.length;
      if (NAME_CHAR.test(this.text[end] ?? '') || this.text[end] === '.' && /\d/.test(this.text[end + 1] ?? '')) {
        this.fail(`a malformed number (\`${this.text.slice(this.pos, end + 1)}…\`)`, line);
      }
      const digits = literal.replace(/_/g, '');
      if (/^0\d*[89]/.test(digits) && !/[.eE]/.test(digits)) this.fail(`\`${literal}\` is not a valid octal number`, line);
      this.pos = end;
      return { kind: 'number', value: convert(digits), text: literal, line };
    }
    return this.fail('a malformed number', line);
  }

  /** `'…'`: only `\'` and `\\` are escapes; any other backslash is itself. */
  private singleQuoted(): Token {
    const text = this.text;
    const line = this.line;
    let value = '';
    let pos = this.pos + 1;
    for (;;) {
      if (pos >= text.length) this.fail(`a string opened at line ${line} is not closed`, line);
      const char = text[pos]!;
      if (char === "'") break;
      if (char === '\\' && (text[pos + 1] === "'" || text[pos + 1] === '\\')) {
        value += text[pos + 1];
        pos += 2;
        continue;
      }
      if (char === '\n') this.line += 1;
      value += char;
      pos += 1;
    }
    this.pos = pos + 1;
    return { kind: 'string', value, line };
  }

  /** `"…"`: PHP's escapes (\n \t \r \v \e \f \\ \$ \" \0-\777 \xHH \u{…}); an interpolated variable is refused. */
  private doubleQuoted(): Token {
    const text = this.text;
    const line = this.line;
    const bytes: Buffer[] = [];
    let literal = '';
    const flush = (): void => {
      if (literal !== '') bytes.push(Buffer.from(literal, 'utf8'));
      literal = '';
    };
    let pos = this.pos + 1;
    for (;;) {
      if (pos >= text.length) this.fail(`a string opened at line ${line} is not closed`, line);
      const char = text[pos]!;
      if (char === '"') break;
      if (char === '\\') {
        const escaped = text[pos + 1] ?? '';
        const simple = SIMPLE_ESCAPES[escaped];
        if (simple !== undefined) {
          literal += simple;
          pos += 2;
          continue;
        }
        const octal = /[0-7]{1,3}/y;
        octal.lastIndex = pos + 1;
        const octalFound = octal.exec(text);
        if (octalFound) {
          flush();
          bytes.push(Buffer.from([Number.parseInt(octalFound[0], 8) & 0xff]));
          pos += 1 + octalFound[0].length;
          continue;
        }
        const hex = /x([0-9a-fA-F]{1,2})/y;
        hex.lastIndex = pos + 1;
        const hexFound = hex.exec(text);
        if (hexFound) {
          flush();
          bytes.push(Buffer.from([Number.parseInt(hexFound[1]!, 16)]));
          pos += 1 + hexFound[0].length;
          continue;
        }
        if (escaped === 'u' && text[pos + 2] === '{') {
          const unicode = /u\{([0-9a-fA-F]+)\}/y;
          unicode.lastIndex = pos + 1;
          const unicodeFound = unicode.exec(text);
          const codePoint = unicodeFound ? Number.parseInt(unicodeFound[1]!, 16) : Number.NaN;
          if (!unicodeFound || codePoint > 0x10ffff) this.fail('an invalid `\\u{…}` escape in a string', this.line);
          literal += String.fromCodePoint(codePoint);
          pos += 1 + unicodeFound[0].length;
          continue;
        }
        // Any other backslash is kept, as PHP does.
        literal += '\\';
        pos += 1;
        continue;
      }
      if ((char === '$' && /[A-Za-z_\x80-\uffff{]/.test(text[pos + 1] ?? '')) || (char === '{' && text[pos + 1] === '$')) {
        this.fail(`a variable inside a double-quoted string is not understood; ${NOT_PHP}`, this.line);
      }
      if (char === '\n') this.line += 1;
      literal += char;
      pos += 1;
    }
    flush();
    this.pos = pos + 1;
    try {
      return { kind: 'string', value: new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(bytes)), line };
    } catch {
      return this.fail('a string whose escapes do not make valid UTF-8', line);
    }
  }
}

/**
 * Parse the text of a PHP file that is (optionally `<?php`, `return`) one literal value (`;`, `?>`
 * optional). Throws a ConfigError naming `source`, the key path and the line of anything else.
 */
export function parsePhpLiteral(text: string, source: string): PhpValue {
  return new PhpLiteralParser(text, source).parseDocument();
}

/** The parts of a PDO MySQL DSN (`mysql:dbname=atom;host=127.0.0.1;port=3306`) atom-worker uses. */
export interface PdoMysqlDsn {
  readonly dbname?: string;
  readonly host?: string;
  readonly port?: number;
  readonly unixSocket?: string;
  readonly charset?: string;
  readonly user?: string;
  readonly password?: string;
}

/** Keys are case-insensitive and in any order; empty parts and keys PDO's MySQL driver ignores are skipped. Throws Error. */
export function parsePdoMysqlDsn(dsn: string): PdoMysqlDsn {
  const match = /^\s*mysql:(.*)$/is.exec(dsn);
  if (!match) throw new Error(`not a MySQL PDO DSN: expected "mysql:dbname=…;host=…", got one starting "${dsn.split(':')[0]}:"`);
  const parsed: { -readonly [K in keyof PdoMysqlDsn]: PdoMysqlDsn[K] } = {};
  for (const part of match[1]!.split(';')) {
    if (part.trim() === '') continue;
    const equals = part.indexOf('=');
    if (equals < 0) throw new Error(`"${part.trim()}" in the DSN is not key=value`);
    const key = part.slice(0, equals).trim().toLowerCase();
    const value = part.slice(equals + 1).trim();
    switch (key) {
      case 'dbname':
        parsed.dbname = value;
        break;
      case 'host':
        parsed.host = value;
        break;
      case 'port':
        if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535) throw new Error(`port "${value}" in the DSN is not a port number 1-65535`);
        parsed.port = Number(value);
        break;
      case 'unix_socket':
        parsed.unixSocket = value;
        break;
      case 'charset':
        parsed.charset = value;
        break;
      case 'user':
        parsed.user = value;
        break;
      case 'password':
        parsed.password = value;
        break;
      default:
        break;
    }
  }
  return parsed;
}

const PARAM = ['all', 'propel', 'param'] as const;

function describeValue(value: PhpValue): string {
  if (value instanceof Map) return 'an array';
  if (value === null) return 'null';
  return `${typeof value}`;
}

/** The value at `keys`, undefined when a level is missing; a level that is not an array is an error. */
function lookup(file: string, root: PhpValue, keys: readonly string[]): PhpValue | undefined {
  let value: PhpValue | undefined = root;
  for (let index = 0; index < keys.length; index += 1) {
    if (!(value instanceof Map)) {
      throw new ConfigError(file, keys.slice(0, index).join('.'), `expected an array, found ${describeValue(value)}`);
    }
    value = value.get(keys[index]!);
    if (value === undefined) return undefined;
  }
  return value;
}

function stringAt(file: string, root: PhpValue, key: string): string | undefined {
  const keys = [...PARAM, key];
  const value = lookup(file, root, keys);
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  throw new ConfigError(file, keys.join('.'), `expected a string, found ${describeValue(value)}`);
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ConfigError(file, '', 'not found: set atom_database or check atom_root_dir');
    if (code === 'EACCES' || code === 'EPERM') {
      throw new ConfigError(file, '', "cannot be read (permission denied): let the worker's user read it, or set atom_database");
    }
    if (code === 'EISDIR') throw new ConfigError(file, '', "is a folder, not AtoM's config.php");
    throw new ConfigError(file, '', `cannot be read (${(error as Error).message})`);
  }
}

/**
 * AtoM's database connection from its config.php (`<atom_root_dir>/config/config.php`):
 * all.propel.param.dsn, username, password and encoding, with PDO's rules for the DSN
 * (no host or `localhost` = the Unix socket). Throws ConfigError naming the file and the key.
 */
export function readAtomConfigPhp(file: string): AtomDatabaseSettings {
  const root = parsePhpLiteral(readText(file), file);
  if (!(root instanceof Map)) throw new ConfigError(file, '', `expected the file to return an array, found ${describeValue(root)}`);
  const dsnKey = [...PARAM, 'dsn'].join('.');
  const dsnText = stringAt(file, root, 'dsn');
  if (dsnText === undefined) throw new ConfigError(file, dsnKey, "missing: AtoM's database connection (mysql:dbname=…;host=…) is not in this file");
  let dsn: PdoMysqlDsn;
  try {
    dsn = parsePdoMysqlDsn(dsnText);
  } catch (error) {
    throw new ConfigError(file, dsnKey, (error as Error).message);
  }
  if (dsn.dbname === undefined || dsn.dbname === '') throw new ConfigError(file, dsnKey, 'names no database (dbname=…)');
  // As in PDO, the username and password given beside the DSN win over user= and password= in it.
  const user = stringAt(file, root, 'username') ?? dsn.user;
  if (user === undefined) throw new ConfigError(file, [...PARAM, 'username'].join('.'), 'missing: the MySQL user AtoM connects as');
  return {
    ...databaseEndpoint(dsn.host, dsn.port, dsn.unixSocket),
    database: dsn.dbname,
    user,
    password: stringAt(file, root, 'password') ?? dsn.password ?? '',
    // Propel sends `SET NAMES <encoding>` after connecting, so `encoding` wins over the DSN's charset.
    charset: stringAt(file, root, 'encoding') ?? dsn.charset ?? DEFAULT_DATABASE_CHARSET,
    source: file,
  };
}
