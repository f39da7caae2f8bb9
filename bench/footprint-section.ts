/**
 * The "Agent footprint" section of BENCHMARKS.md, between two markers: written by bench/footprint.ts,
 * kept by bench/run.ts when it rewrites the rest of the document (src/sim/bench-doc-sections.ts).
 */
export const FOOTPRINT_START = '<!-- footprint:start (npm run footprint) -->';
export const FOOTPRINT_END = '<!-- footprint:end -->';

/** The marked section of a document (markers included), or undefined. */
export function footprintSection(doc: string): string | undefined {
  const a = doc.indexOf(FOOTPRINT_START);
  const b = doc.indexOf(FOOTPRINT_END, a);
  return a < 0 || b < 0 ? undefined : doc.slice(a, b + FOOTPRINT_END.length);
}

/** `doc` with its footprint section replaced by `body` (appended when it has none). */
export function replaceFootprintSection(doc: string, body: string): string {
  const marked = `${FOOTPRINT_START}\n${body.trimEnd()}\n${FOOTPRINT_END}`;
  const old = footprintSection(doc);
  if (old !== undefined) return doc.replace(old, () => marked);
  return `${doc.trimEnd()}${doc.trim() ? '\n\n' : ''}${marked}\n`;
}
