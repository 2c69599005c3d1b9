// The literal subset of PHP that AtoM's config/config.php is written in, parsed into values (the
// tokens come from phpLexer.ts): arrays (`array(…)`, `[…]`) with PHP's key rules, strings, numbers,
// true, false and null. Anything that would need PHP to evaluate it (a constant, a function call, a
// variable, string concatenation) is a ConfigError naming the key path and the line.
import { ConfigError } from '../config/errors.js';
import { NOT_PHP, PhpLexer, type Token } from './phpLexer.js';

/** A PHP value as written in a literal. */
export type PhpValue = string | number | boolean | null | PhpArray;
/** A PHP array, in order; keys as PHP normalises them, integer keys written in decimal ("0", "1", …). */
export type PhpArray = Map<string, PhpValue>;

const MAX_DEPTH = 64;

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
  private readonly lexer: PhpLexer;
  private peeked: Token | undefined;
  /** The key path of the value being read, for messages. */
  private readonly path: string[] = [];

  constructor(
    text: string,
    private readonly source: string,
  ) {
    this.lexer = new PhpLexer(text, (problem, line) => this.fail(problem, line));
  }

  private fail(problem: string, line: number): never {
    throw new ConfigError(this.source, this.path.join('.'), `line ${line}: ${problem}`);
  }

  parseDocument(): PhpValue {
    this.lexer.skipOpenTag();
    let token = this.peek();
    if (token.kind === 'word' && token.text.toLowerCase() === 'return') this.next();
    const value = this.parseValue(0);
    token = this.next();
    if (token.kind === 'punct' && token.text === ';') token = this.next();
    if (token.kind === 'closeTag') {
      const rest = this.lexer.rest();
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
    this.peeked ??= this.lexer.lex();
    return this.peeked;
  }

  private next(): Token {
    const token = this.peek();
    this.peeked = undefined;
    return token;
  }
}

/**
 * Parse the text of a PHP file that is (optionally `<?php`, `return`) one literal value (`;`, `?>`
 * optional). Throws a ConfigError naming `source`, the key path and the line of anything else.
 */
export function parsePhpLiteral(text: string, source: string): PhpValue {
  return new PhpLiteralParser(text, source).parseDocument();
}
