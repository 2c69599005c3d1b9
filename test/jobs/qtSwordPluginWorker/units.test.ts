// Unit tests of the small pure pieces: JSON pieces, CSV quoting, DC selection, titles, ordering.
import { describe, expect, it } from 'vitest';
import { csvRecord, quote, rowFor } from '../../../jobs/qtSwordPluginWorker/csv.js';
import { jsonPieces } from '../../../jobs/qtSwordPluginWorker/manifest.js';
import { baseName, stripExtension, type DescriptionNode } from '../../../jobs/qtSwordPluginWorker/map.js';
import { mapDublinCore, selectDcSection } from '../../../jobs/qtSwordPluginWorker/mets/dublinCore.js';
import type { MetsModel } from '../../../jobs/qtSwordPluginWorker/mets/model.js';
import { readDipSettings } from '../../../jobs/qtSwordPluginWorker/settings.js';
import { lastUuid, strcasecmp } from '../../../jobs/qtSwordPluginWorker/util.js';

describe('jsonPieces', () => {
  it('writes exactly what JSON.stringify(value, null, 2) writes', () => {
    const value = {
      a: 1,
      b: 'x"y\n每',
      c: [],
      d: {},
      e: [null, true, { f: [1, [2, []]], g: undefined }, undefined],
      h: null,
      i: undefined,
      j: -0.5,
    };
    expect([...jsonPieces(value, '')].join('')).toBe(JSON.stringify(value, null, 2));
    expect([...jsonPieces([], '')].join('')).toBe('[]');
  });
});

describe('CSV', () => {
  it('quotes as RFC 4180 requires', () => {
    expect(quote('plain')).toBe('plain');
    expect(quote('a,b')).toBe('"a,b"');
    expect(quote('say "hi"')).toBe('"say ""hi"""');
    expect(quote('two\nlines')).toBe('"two\nlines"');
    expect(quote(' padded')).toBe('" padded"');
    expect(csvRecord({ legacyId: 'x', title: 'a,b' }).endsWith('\r\n')).toBe(true);
  });

  it('keeps pipes out of list values and dates', () => {
    const node: DescriptionNode = {
      legacyId: 'L',
      parentId: null,
      kind: 'item',
      title: 'T',
      levelOfDescription: 'Item',
      dublinCore: null,
      fields: mapDublinCore([
        { name: 'subject', value: 'a|b' },
        { name: 'subject', value: 'c' },
        { name: 'date', value: '1900|1910' },
      ]),
      digitalObject: null,
      archivematica: null,
      children: [],
    };
    const row = rowFor(node, { parentSlug: 'p', packageDir: '/out' });
    expect(row.subjectAccessPoints).toBe('a / b|c');
    expect(row.eventDates).toBe('1900 - 1910');
    expect(row.eventActors).toBe('');
    expect(row.qubitParentSlug).toBe('p');
  });
});

describe('Dublin Core', () => {
  const model = (secs: { id: string; created?: string; dc?: string }[]): MetsModel => ({
    metsFileName: 'm',
    dmdSecs: new Map(
      secs.map((s) => [
        s.id,
        { id: s.id, ...(s.created ? { created: s.created } : {}), ...(s.dc ? { dc: [{ name: 'title', value: s.dc }] } : {}) },
      ]),
    ),
    amdSecs: new Map(),
    originals: [],
    preservation: [],
    dmdMapping: new Map(),
    notes: [],
  });

  it('takes the newest DC section, ignores non-DC ones, first on a tie', () => {
    const m = model([
      { id: 'a', created: '2020-01-01', dc: 'old' },
      { id: 'b', created: '2030-01-01' },
      { id: 'c', created: '2021-01-01', dc: 'new' },
      { id: 'd', created: '2021-01-01', dc: 'tie' },
    ]);
    expect(selectDcSection(m, 'a  b c d')?.id).toBe('c');
    expect(selectDcSection(m, 'b')).toBeUndefined();
    expect(selectDcSection(m, 'missing a')?.id).toBe('a');
    expect(selectDcSection(m, undefined)).toBeUndefined();
  });

  it('maps elements onto AtoM fields', () => {
    const f = mapDublinCore([
      { name: 'title', value: 'first' },
      { name: 'title', value: 'last' },
      { name: 'description', value: 'one' },
      { name: 'description', value: 'two' },
      { name: 'extent', value: '1 box' },
      { name: 'publisher', value: 'P' },
      { name: 'contributor', value: 'P' },
      { name: 'language', value: 'fr' },
      { name: 'isPartOf', value: 'ignored' },
    ]);
    expect(f).toMatchObject({ title: 'last', scopeAndContent: 'one\ntwo', extentAndMedium: '1 box', nameAccessPoints: ['P'], language: ['fr'] });
  });
});

describe('names', () => {
  it('takes the base name of originalName without the placeholder', () => {
    expect(baseName('%transferDirectory%objects/a/b.txt')).toBe('b.txt');
    expect(baseName('%transferDirectory%b.txt')).toBe('b.txt');
    expect(baseName('objects/dir/')).toBeNull();
    expect(baseName(undefined)).toBeNull();
    expect(stripExtension('a.tar.gz')).toBe('a.tar');
    expect(stripExtension('noext')).toBe('noext');
  });

  it('orders like PHP strcasecmp', () => {
    const titles = ['b', 'B2', 'a', 'Z', '_x', 'é', 'A1'];
    // ASCII letters fold to lower case ('_' 0x5f < 'a' 0x61); other characters by code point.
    expect([...titles].sort(strcasecmp)).toEqual(['_x', 'a', 'A1', 'b', 'B2', 'Z', 'é']);
    expect(strcasecmp('ABC', 'abc')).toBe(0);
    expect(strcasecmp('a', 'B')).toBe(-1);
    // Code point order, not UTF-16 unit order: U+1F600 sorts after U+FF5E.
    expect(strcasecmp('\u{1F600}', '\uFF5E')).toBe(1);
  });

  it('finds the last UUID in a folder name', () => {
    expect(lastUuid('5fc8798d-3415-47cc-8065-80d943d40bd9-5bb0ab2b-721a-4a31-9b2d-3059d206750e')).toBe(
      '5bb0ab2b-721a-4a31-9b2d-3059d206750e',
    );
    expect(lastUuid('no uuid')).toBeUndefined();
  });
});

describe('settings', () => {
  it('applies defaults and resolves paths', () => {
    const s = readDipSettings({ other_key: 1 });
    expect(s).toMatchObject({
      swordDepositDir: '/tmp',
      dipOutputDir: `${process.cwd()}/var/dip-output`,
      stripExtensions: false,
      zipMaxBytes: 10 * 1024 ** 3,
      zipMaxEntries: 100_000,
    });
  });

  it('refuses bad values with a one-line reason', () => {
    expect(() => readDipSettings({ dip_zip_max_entries: -1 })).toThrow(/^Invalid atom_worker setting dip_zip_max_entries: /);
    expect(() => readDipSettings({ strip_extensions: 'yes' })).toThrow(/strip_extensions/);
  });
});
