/**
 * BENCHMARKS.md is written by several tools: `npm run bench` writes the main part, and each other
 * measurement (`npm run footprint`, bench/snapshot-rss.ts, the bench's quorum-loss rows) owns a section
 * between two markers, `<!-- name:start … -->` and `<!-- name:end -->`. A tool rewrites only what it
 * measured and carries the rest over unchanged (pure; bench/run.ts does the file I/O).
 */

export interface MarkedSection {
  name: string;
  /** The whole section, markers included. */
  text: string;
}

const START = /<!-- ([a-z0-9-]+):start\b[^>]*-->/g;

/** Every marked section of a document, in order (a start without its end is not a section). */
export function markedSections(doc: string): MarkedSection[] {
  const out: MarkedSection[] = [];
  let from = 0;
  for (;;) {
    START.lastIndex = from;
    const m = START.exec(doc);
    if (m === null) return out;
    const end = `<!-- ${m[1]}:end -->`;
    const b = doc.indexOf(end, m.index);
    if (b < 0) {
      from = m.index + m[0].length;
      continue;
    }
    out.push({ name: m[1] as string, text: doc.slice(m.index, b + end.length) });
    from = b + end.length;
  }
}

/** The document without its marked sections. */
export function mainPart(doc: string): string {
  let out = doc;
  for (const s of markedSections(doc)) out = out.replace(s.text, '');
  return `${out.replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

/** `body` between `name`'s markers; `note` goes in the start marker (e.g. the command that writes it). */
export function markSection(name: string, body: string, note = ''): string {
  return `<!-- ${name}:start${note ? ` (${note})` : ''} -->\n${body.trimEnd()}\n<!-- ${name}:end -->`;
}

/**
 * The next document: `main` (the previous main part when undefined), then the previous document's
 * sections in their order, each replaced by the fresh one of its name; fresh sections it did not have
 * come first, right after the main part.
 */
export function mergeDocument(
  previous: string,
  fresh: { main?: string; sections?: readonly MarkedSection[] },
): string {
  const old = markedSections(previous);
  const replace = new Map((fresh.sections ?? []).map((s) => [s.name, s.text]));
  const added = (fresh.sections ?? []).filter((s) => !old.some((o) => o.name === s.name)).map((s) => s.text);
  const kept = old.map((o) => replace.get(o.name) ?? o.text);
  const main = (fresh.main ?? (previous.trim() ? mainPart(previous) : '')).trimEnd();
  return `${[main, ...added, ...kept].filter((x) => x.trim()).join('\n\n')}\n`;
}
