// The tokens of the literal subset of PHP that AtoM's config/config.php is written in (phpLiteral.ts
// parses them): punctuation, strings with PHP's escapes, numbers in PHP's notations, words and
// variables, `?>`, with whitespace and comments skipped and line numbers kept for messages.

export type Token =
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
export const NOT_PHP = 'atom-worker reads config.php without running PHP, so only literal values are understood; write the value itself, or set atom_database';

export class PhpLexer {
  private pos = 0;
  private line = 1;

  constructor(
    private readonly text: string,
    /** Throws: the problem at `line`, for the parser to name the key it was reading. */
    private readonly fail: (problem: string, line: number) => never,
  ) {}

  /** Past a byte-order mark and `<?php`, where the text starts with them. */
  skipOpenTag(): void {
    if (this.text.startsWith('\ufeff')) this.pos = 1;
    const open = /\s*<\?php(?=\s|$)/iy;
    open.lastIndex = this.pos;
    const opened = open.exec(this.text);
    if (opened) this.advanceOver(opened[0]);
  }

  /** The text not yet read. */
  rest(): string {
    return this.text.slice(this.pos);
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


  /** The next token, after whitespace and comments; `end` once the text is read. */
  lex(): Token {
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
