// AtoM's slugs (QubitSlug::slugify, QubitObject::insertSlug), made for a whole DIP at once: the
// same text gives the same slug as AtoM's PHP, and uniqueness is settled against the whole `slug`
// table with one query per batch instead of one failed INSERT per collision.
import { randomInt } from 'node:crypto';
import type { AtomSql } from '../../../src/types.js';

/** AtoM truncates a slug's stem to this many characters before adding a suffix. */
export const SLUG_STEM_MAX = 235;
/** Slugs a plugin may claim although no route answers to them yet (checkIfSlugIsReserved). */
const RESERVED = new Set(['api', 'sword']);

// glibc's iconv //TRANSLIT, for the letters NFKD does not take apart. Unknown characters become
// "?" there, which the dash rule below then removes: the same as dropping them.
const TRANSLIT: Record<string, string> = {
  ß: 'ss', æ: 'ae', Æ: 'AE', œ: 'oe', Œ: 'OE', ø: 'o', Ø: 'O', đ: 'd', Đ: 'D', ł: 'l', Ł: 'L',
  þ: 'th', Þ: 'TH', ð: 'd', Ð: 'D', ı: 'i', ŋ: 'n', Ŋ: 'N', ħ: 'h', Ħ: 'H', ŧ: 't', Ŧ: 'T',
  '‘': '', '’': '', '“': '"', '”': '"', '–': '-', '—': '-', '€': 'EUR', '©': '(C)', '®': '(R)',
};

/** QubitSlug::slugify in its default (restrictive) mode: ASCII, lower case, digits, letters and single dashes. */
export function slugify(text: string): string {
  let slug = text.replace(/'/g, '');
  slug = slug
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/[^\x00-\x7f]/g, (ch) => TRANSLIT[ch] ?? '?');
  slug = slug.toLowerCase().replace(/[^0-9a-z-]+/g, '-');
  return slug.replace(/-+/g, '-').replace(/^-+|-+$/g, '');
}

const RANDOM_ALPHABET = '23456789abcdefghkmnpqrstwxyz';

/** QubitSlug::random: three blocks of four letters and digits, for a description whose title gives no slug. */
export function randomSlug(): string {
  const blocks: string[] = [];
  for (let b = 0; b < 3; b += 1) {
    let block = '';
    for (let i = 0; i < 4; i += 1) block += RANDOM_ALPHABET[randomInt(RANDOM_ALPHABET.length)];
    blocks.push(block);
  }
  return blocks.join('-');
}

/** What the allocator needs to know of the `slug` table. */
export interface SlugTable {
  /** Which of these slugs exist already. */
  existing(slugs: readonly string[]): Promise<Set<string>>;
  /** The slug matching `<stem>-%` inserted last (highest id), as AtoM asks after a collision. */
  lastWithPrefix(stem: string): Promise<string | undefined>;
}

/** The `slug` table, as the allocator asks it. */
export function slugTable(sql: AtomSql): SlugTable {
  return {
    async existing(slugs) {
      if (slugs.length === 0) return new Set();
      const rows = await sql.query<{ slug: string }>(`SELECT slug FROM slug WHERE slug IN (${slugs.map(() => '?').join(', ')})`, slugs);
      // The column's collation is case-blind: compare as it does.
      return new Set(rows.map((row) => row.slug.toLowerCase()));
    },
    async lastWithPrefix(stem) {
      const escaped = stem.replace(/[\\%_]/g, (ch) => `\\${ch}`);
      const rows = await sql.query<{ slug: string }>('SELECT slug FROM slug WHERE slug LIKE ? ORDER BY id DESC LIMIT 1', [`${escaped}-%`]);
      return rows[0]?.slug;
    },
  };
}

/**
 * Unique slugs for a list of titles, in order, as AtoM's one-by-one inserts would give them: a
 * taken stem gets `-<n>`, starting after the last numeric suffix AtoM finds for it; an empty
 * title (or '' given on purpose, as for events and relations) gets a random slug.
 */
export async function allocateSlugs(titles: readonly string[], table: SlugTable, batch = 500): Promise<string[]> {
  // Slugs are ASCII lower case, so a Set of them compares as the column's collation does.
  const stems = titles.map((title) => slugify(title).slice(0, SLUG_STEM_MAX));
  const candidates = stems.map((stem) => (stem === '' ? randomSlug() : stem));
  const wanted = [...new Set(candidates)];
  const taken = new Set<string>();
  for (let i = 0; i < wanted.length; i += batch) {
    for (const slug of await table.existing(wanted.slice(i, i + batch))) taken.add(slug);
  }
  const isFree = async (slug: string): Promise<boolean> => !taken.has(slug) && (await table.existing([slug])).size === 0;
  const lastSuffix = new Map<string, number>();
  const result: string[] = [];
  for (let i = 0; i < stems.length; i += 1) {
    const stem = stems[i]!;
    let slug = candidates[i]!;
    if (stem === '') {
      while (taken.has(slug)) slug = randomSlug();
      if (slug !== candidates[i]) while (!(await isFree(slug))) slug = randomSlug();
    } else if (taken.has(stem) || RESERVED.has(stem)) {
      let suffix = lastSuffix.get(stem);
      if (suffix === undefined) {
        const last = await table.lastWithPrefix(stem);
        const match = last === undefined ? null : /-(\d+)$/.exec(last);
        suffix = match ? Number(match[1]) + 1 : 2;
      } else suffix += 1;
      slug = `${stem}-${suffix}`;
      // A suffix past the last one AtoM finds can still be taken (another stem's, or a gap).
      while (!(await isFree(slug))) {
        suffix += 1;
        slug = `${stem}-${suffix}`;
      }
      lastSuffix.set(stem, suffix);
    }
    taken.add(slug);
    result.push(slug);
  }
  return result;
}
