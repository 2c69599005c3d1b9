// Readers for the amdSec, fileSec and structMap sections of a METS document.
import { type El, type OpenAction, type SubtreeReader, XLINK_NS, attr, isMets, premisVersionOf } from './element.js';
import type { AmdSecInfo, DivNode, FileInfo, MetsModel, PremisObjectInfo } from './model.js';
import { PremisEventReader, PremisObjectReader } from './premis.js';

/** amdSec > techMD|digiprovMD > mdWrap > xmlData > premis:object|premis:event. */
export class AmdSecReader implements SubtreeReader {
  readonly info: AmdSecInfo;
  private mdKind: 'techMD' | 'digiprovMD' | undefined;
  private superseded = false;
  private objectReader: PremisObjectReader | undefined;
  private eventReader: PremisEventReader | undefined;
  /** The first current object, and the first superseded one as a fallback. */
  private current: PremisObjectInfo | undefined;
  private fallback: PremisObjectInfo | undefined;

  constructor(sectionEl: El) {
    this.info = { id: attr(sectionEl, 'ID') ?? '', eventDates: {} };
  }

  open(el: El, depth: number): OpenAction {
    if (depth >= 5) {
      const reader = this.objectReader ?? this.eventReader;
      return reader ? reader.open(el, depth - 4) : 'skip';
    }
    switch (depth) {
      case 1:
        if (isMets(el, 'techMD') || isMets(el, 'digiprovMD')) {
          this.mdKind = el.local as 'techMD' | 'digiprovMD';
          this.superseded = attr(el, 'STATUS')?.toLowerCase() === 'superseded';
          return 'descend';
        }
        return 'skip';
      case 2:
        return isMets(el, 'mdWrap') ? 'descend' : 'skip';
      case 3:
        return isMets(el, 'xmlData') ? 'descend' : 'skip';
      case 4: {
        const version = premisVersionOf(el.uri);
        if (version === undefined) return 'skip';
        if (this.mdKind === 'techMD' && el.local === 'object') {
          if (this.current !== undefined || (this.superseded && this.fallback !== undefined)) return 'skip';
          this.objectReader = new PremisObjectReader(version);
          return 'descend';
        }
        if (this.mdKind === 'digiprovMD' && el.local === 'event') {
          this.eventReader = new PremisEventReader();
          return 'descend';
        }
        return 'skip';
      }
      default:
        return 'skip';
    }
  }

  close(el: El, depth: number, text: string | undefined): void {
    if (depth >= 5) {
      (this.objectReader ?? this.eventReader)?.close(el, depth - 4, text);
      return;
    }
    if (depth === 4) {
      if (this.objectReader) {
        const object = this.objectReader.finish();
        if (this.superseded) this.fallback ??= object;
        else this.current ??= object;
        this.objectReader = undefined;
      } else if (this.eventReader) {
        const event = this.eventReader.finish();
        if (event.type !== undefined && event.dateTime !== undefined) {
          this.info.eventDates[event.type] ??= event.dateTime;
        }
        this.eventReader = undefined;
      }
    } else if (depth === 1) {
      this.mdKind = undefined;
      this.superseded = false;
    }
  }

  finish(): AmdSecInfo {
    const object = this.current ?? this.fallback;
    if (object !== undefined) this.info.object = object;
    return this.info;
  }
}

/** fileSec > fileGrp (possibly nested) > file > FLocat. Keeps original and preservation files. */
export class FileSecReader implements SubtreeReader {
  private readonly uses: string[] = [];
  private file: FileInfo | undefined;
  private fileUse: string | undefined;

  constructor(private readonly model: MetsModel) {}

  open(el: El, _depth: number): OpenAction {
    if (this.file !== undefined) {
      if (isMets(el, 'FLocat') && this.file.href === undefined) {
        const href = attr(el, 'href', XLINK_NS);
        if (href !== undefined) this.file.href = href;
      }
      return 'skip';
    }
    if (isMets(el, 'fileGrp')) {
      this.uses.push(attr(el, 'USE') ?? '');
      return 'descend';
    }
    if (isMets(el, 'file')) {
      const use = this.uses[this.uses.length - 1];
      const id = attr(el, 'ID');
      if ((use !== 'original' && use !== 'preservation') || id === undefined) return 'skip';
      const file: FileInfo = { id };
      const admId = attr(el, 'ADMID');
      if (admId !== undefined) file.admId = admId;
      const groupId = attr(el, 'GROUPID');
      if (groupId !== undefined) file.groupId = groupId;
      const dmdId = attr(el, 'DMDID');
      if (dmdId !== undefined) file.dmdId = dmdId;
      this.file = file;
      this.fileUse = use;
      return 'descend';
    }
    return 'skip';
  }

  close(el: El, _depth: number): void {
    if (isMets(el, 'fileGrp')) {
      this.uses.pop();
    } else if (isMets(el, 'file') && this.file !== undefined) {
      (this.fileUse === 'original' ? this.model.originals : this.model.preservation).push(this.file);
      this.file = undefined;
      this.fileUse = undefined;
    }
  }
}

const NORMATIVE_LABEL = 'Normative Directory Structure';
const HIERARCHICAL_LABEL = 'Hierarchical';

interface OpenDiv {
  node: DivNode;
  depth: number;
}

/**
 * structMap > div > ... Every logical/physical map contributes to the FILEID → DMDID mapping.
 * The first Hierarchical logical map is kept as a tree; of the first usable physical map only
 * its "main" div (the first div/div, i.e. objects/) is kept.
 */
export class StructMapReader implements SubtreeReader {
  private readonly kind: 'hierarchical' | 'physical' | 'other' | 'ignored';
  private readonly stack: OpenDiv[] = [];
  private readonly roots: DivNode[] = [];
  private sawMainDiv = false;

  constructor(
    sectionEl: El,
    private readonly model: MetsModel,
  ) {
    const type = attr(sectionEl, 'TYPE');
    const label = attr(sectionEl, 'LABEL');
    if (type === 'logical' && label === HIERARCHICAL_LABEL && model.hierarchical === undefined) {
      this.kind = 'hierarchical';
      model.hierarchical = { divs: this.roots };
      if (label !== undefined) model.hierarchical.label = label;
    } else if (type === 'physical' && label !== NORMATIVE_LABEL && model.physical === undefined) {
      this.kind = 'physical';
      model.physical = {};
      if (label !== undefined) model.physical.label = label;
    } else if (type === 'logical' || type === 'physical') {
      this.kind = 'other';
    } else {
      this.kind = 'ignored';
    }
  }

  /** Whether the whole map can be skipped. */
  get ignored(): boolean {
    return this.kind === 'ignored';
  }

  open(el: El, depth: number): OpenAction {
    const top = this.stack[this.stack.length - 1];
    if (isMets(el, 'fptr')) {
      if (top !== undefined && top.depth === depth - 1) {
        top.node.hasFptr = true;
        if (top.node.fileId === undefined) {
          const fileId = attr(el, 'FILEID');
          if (fileId !== undefined && fileId !== '') top.node.fileId = fileId;
        }
      }
      return 'skip';
    }
    if (!isMets(el, 'div')) return 'skip';
    if (top === undefined && depth !== 1) return 'skip';
    const node: DivNode = { hasFptr: false, children: [] };
    const label = attr(el, 'LABEL');
    if (label !== undefined) node.label = label;
    const type = attr(el, 'TYPE');
    if (type !== undefined) node.type = type;
    const dmdId = attr(el, 'DMDID');
    if (dmdId !== undefined && dmdId.trim() !== '') node.dmdId = dmdId.trim();
    if (this.kind === 'hierarchical') (top ? top.node.children : this.roots).push(node);
    if (this.kind === 'physical' && depth === 2 && !this.sawMainDiv) {
      this.sawMainDiv = true;
      const physical = this.model.physical;
      if (physical !== undefined) {
        if (node.label !== undefined) physical.mainDivLabel = node.label;
        if (node.dmdId !== undefined) physical.mainDmdId = node.dmdId;
      }
    }
    this.stack.push({ node, depth });
    return 'descend';
  }

  close(el: El, _depth: number): void {
    if (!isMets(el, 'div')) return;
    const open = this.stack.pop();
    if (open === undefined) return;
    const { node } = open;
    if (node.hasFptr && node.fileId !== undefined && node.dmdId !== undefined) {
      this.model.dmdMapping.set(node.fileId, node.dmdId);
    }
  }
}
