#!/usr/bin/env node
// Summarise a .heapprofile (node --heap-prof): live sampled bytes by the file (package) that allocated them.
//   node bench/heapprof-summary.mjs FILE.heapprofile [depth: "file" | "package"]
import { readFileSync } from 'node:fs';
const [file, by = 'package'] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const totals = new Map();
const key = (url) => {
  if (!url) return '(native/vm)';
  if (by === 'file') return url.replace(/^file:\/\/\/work\/main\//, '');
  const nm = url.match(/node_modules\/((@[^/]+\/)?[^/]+)/);
  if (nm) return nm[1];
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const own = url.match(/\/work\/main\/(?:dist\/)?(src\/[^/]+|jobs\/[^/]+)/);
  return own ? own[1] : url;
};
// Attribute each node's self size to the innermost frame with a URL that is not node's own loader.
function walk(node, owner) {
  const url = node.callFrame.url;
  const here = url && !url.startsWith('node:internal') ? key(url) : owner;
  totals.set(here, (totals.get(here) ?? 0) + node.selfSize);
  for (const child of node.children) walk(child, here);
}
walk(profile.head, '(root)');
const all = [...totals.values()].reduce((a, b) => a + b, 0);
console.log(`total sampled live ${(all / 1048576).toFixed(2)} MiB`);
for (const [k, v] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${(v / 1048576).toFixed(2).padStart(7)} ${k}`);
