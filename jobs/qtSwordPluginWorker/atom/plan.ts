// The new descriptions in the order AtoM saves them (parents first, siblings in order), each with
// its nested-set place: the whole DIP takes the 2 × n positions from the target's old `rgt` on,
// so one shift of the rows to its right makes room for all of it.
import type { DescriptionNode, MappedDip } from '../map.js';
import type { PlannedDescription } from './descriptions.js';
import type { PlacedFile } from './files.js';
import { collationKey } from './terms.js';

export function planDescriptions(
  mapped: MappedDip,
  targetId: number,
  targetRgt: number,
  levels: ReadonlyMap<string, number>,
  files: ReadonlyMap<DescriptionNode, PlacedFile>,
): PlannedDescription[] {
  const plan: PlannedDescription[] = [];
  let position = targetRgt;
  const visit = (node: DescriptionNode, parentIndex: number | null): void => {
    const index = plan.length;
    const lft = position;
    position += 1;
    // Filled in once the subtree's size is known; the array keeps preorder.
    plan.push(undefined as unknown as PlannedDescription);
    for (const child of node.children) visit(child, index);
    const rgt = position;
    position += 1;
    plan[index] = {
      node,
      parentId: parentIndex === null ? targetId : null,
      parentIndex,
      lft,
      rgt,
      levelId: levels.get(collationKey(node.levelOfDescription)) ?? null,
      file: files.get(node),
      relatedToAip: node.kind === 'item' || (mapped.mode === 'flat' && node.dublinCore !== null),
    };
  };
  for (const root of mapped.roots) visit(root, null);
  return plan;
}

/** Every level-of-description name the tree uses, and the names taken from a div's TYPE (which must exist). */
export function levelNames(mapped: MappedDip): string[] {
  const names = new Set<string>();
  const walk = (nodes: readonly DescriptionNode[]): void => {
    for (const node of nodes) {
      names.add(node.levelOfDescription);
      walk(node.children);
    }
  };
  walk(mapped.roots);
  if (mapped.targetLevelOfDescription !== null) names.add(mapped.targetLevelOfDescription);
  return [...names];
}
