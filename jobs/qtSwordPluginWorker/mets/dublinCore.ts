// Dublin Core in dmdSecs: reading the record, choosing the section, mapping it to AtoM fields.
import { type El, type OpenAction, type SubtreeReader, attr, isMets } from './element.js';
import type { DcElement, DmdSecInfo, MetsModel } from './model.js';

/**
 * Reads one dmdSec: mdWrap > xmlData > *:dublincore > elements. The `dublincore` element is
 * matched by local name in any namespace (dcterms: or none), as AtoM does; its children are
 * taken by local name, so dc:title and dcterms:title are the same. Other records are skipped.
 */
export class DmdSecReader implements SubtreeReader {
  readonly info: DmdSecInfo;
  private inDc = false;
  private dcDone = false;

  constructor(sectionEl: El) {
    this.info = { id: attr(sectionEl, 'ID') ?? '' };
    const created = attr(sectionEl, 'CREATED');
    if (created !== undefined) this.info.created = created;
    const status = attr(sectionEl, 'STATUS');
    if (status !== undefined) this.info.status = status;
  }

  open(el: El, depth: number): OpenAction {
    switch (depth) {
      case 1:
        if (!isMets(el, 'mdWrap')) return 'skip';
        this.info.mdType ??= attr(el, 'MDTYPE');
        return 'descend';
      case 2:
        return isMets(el, 'xmlData') ? 'descend' : 'skip';
      case 3:
        if (el.local !== 'dublincore' || this.dcDone) return 'skip';
        this.inDc = true;
        this.info.dc = [];
        return 'descend';
      case 4:
        return this.inDc ? 'capture' : 'skip';
      default:
        return 'skip';
    }
  }

  close(el: El, depth: number, text: string | undefined): void {
    if (depth === 4 && this.inDc && text !== undefined) {
      const value = text.trim();
      if (value !== '') this.info.dc?.push({ name: el.local, value });
    } else if (depth === 3 && this.inDc) {
      this.inDc = false;
      this.dcDone = true;
    }
  }
}

/**
 * The dmdSec to use for a DMDID attribute, which may list several sections
 * (e.g. `dmdSec_2 dmdSec_3`). Only sections holding Dublin Core count (so DC always wins over
 * OTHER/CUSTOM wraps); among them the newest CREATED wins, the first listed on a tie.
 */
export function selectDcSection(model: MetsModel, dmdIdAttr: string | undefined): DmdSecInfo | undefined {
  if (dmdIdAttr === undefined) return undefined;
  let best: DmdSecInfo | undefined;
  for (const id of dmdIdAttr.split(/\s+/)) {
    if (id === '') continue;
    const sec = model.dmdSecs.get(id);
    if (sec?.dc === undefined) continue;
    if (best === undefined || (sec.created !== undefined && sec.created > (best.created ?? ''))) best = sec;
  }
  return best;
}

/** Dublin Core mapped onto AtoM's information object fields. */
export interface DcFields {
  title?: string;
  identifier?: string;
  scopeAndContent?: string;
  extentAndMedium?: string;
  locationOfOriginals?: string;
  accessConditions?: string;
  acquisition?: string;
  /** Creation event: one per creator, all with `date`. */
  creators: string[];
  date?: string;
  language: string[];
  subjectAccessPoints: string[];
  placeAccessPoints: string[];
  nameAccessPoints: string[];
  /** dc:publisher and dc:contributor apart (AtoM gives each a Publication or Contribution event). */
  publishers: string[];
  contributors: string[];
  /** dc:type: matched against AtoM's Dublin Core types taxonomy. */
  types: string[];
}

/**
 * Map DC elements as AtoM's QubitMetsParser::processDmdSec does. Where AtoM keeps only the last
 * value of a repeated element, single-valued fields here keep the last value too (title,
 * identifier, date) while notes keep every value, one per line; repeatable fields (access points,
 * creators, language) keep every distinct value.
 */
export function mapDublinCore(elements: readonly DcElement[]): DcFields {
  const out: DcFields = {
    creators: [],
    language: [],
    subjectAccessPoints: [],
    placeAccessPoints: [],
    nameAccessPoints: [],
    publishers: [],
    contributors: [],
    types: [],
  };
  const notes: Record<'scopeAndContent' | 'extentAndMedium' | 'locationOfOriginals' | 'accessConditions' | 'acquisition', string[]> = {
    scopeAndContent: [],
    extentAndMedium: [],
    locationOfOriginals: [],
    accessConditions: [],
    acquisition: [],
  };
  for (const { name, value } of elements) {
    switch (name) {
      case 'title':
        out.title = value;
        break;
      case 'identifier':
        out.identifier = value;
        break;
      case 'creator':
        addUnique(out.creators, value);
        break;
      case 'date':
        out.date = value;
        break;
      case 'description':
        notes.scopeAndContent.push(value);
        break;
      case 'format':
      case 'extent':
        notes.extentAndMedium.push(value);
        break;
      case 'source':
        notes.locationOfOriginals.push(value);
        break;
      case 'rights':
        notes.accessConditions.push(value);
        break;
      case 'provenance':
        notes.acquisition.push(value);
        break;
      case 'language':
        addUnique(out.language, value);
        break;
      case 'subject':
        addUnique(out.subjectAccessPoints, value);
        break;
      case 'coverage':
        addUnique(out.placeAccessPoints, value);
        break;
      case 'publisher':
        addUnique(out.nameAccessPoints, value);
        addUnique(out.publishers, value);
        break;
      case 'contributor':
        addUnique(out.nameAccessPoints, value);
        addUnique(out.contributors, value);
        break;
      case 'type':
        addUnique(out.types, value);
        break;
      default:
        // type, relation, isPartOf, ...: kept in the manifest's raw DC only.
        break;
    }
  }
  for (const key of Object.keys(notes) as (keyof typeof notes)[]) {
    if (notes[key].length > 0) out[key] = notes[key].join('\n');
  }
  return out;
}

function addUnique(list: string[], value: string): void {
  if (!list.includes(value)) list.push(value);
}
