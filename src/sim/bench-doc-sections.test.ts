import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mainPart, markSection, markedSections, mergeDocument } from './bench-doc-sections.ts';

const FOOT = markSection('footprint', '## Agent footprint\n\n42 MB', 'npm run footprint');
const RSS = markSection('snapshot-rss', '## Snapshot memory\n\n+4 MB');
const DOC = `# Benchmarks\n\nold table\n\n${FOOT}\n\n${RSS}\n`;

describe('bench document sections', () => {
  it('finds every marked section with its markers, in order', () => {
    const s = markedSections(DOC);
    assert.deepEqual(
      s.map((x) => x.name),
      ['footprint', 'snapshot-rss'],
    );
    assert.equal(s[0]?.text, FOOT);
    assert.ok(s[1]?.text.endsWith('<!-- snapshot-rss:end -->'));
    assert.deepEqual(markedSections('<!-- x:start -->\nno end'), []);
  });

  it('the main part leaves every section out', () => {
    assert.equal(mainPart(DOC), '# Benchmarks\n\nold table\n');
  });

  it('a fresh main part keeps every section of the previous document (not only the footprint)', () => {
    const next = mergeDocument(DOC, { main: '# Benchmarks\n\nnew table\n' });
    assert.equal(next, `# Benchmarks\n\nnew table\n\n${FOOT}\n\n${RSS}\n`);
  });

  it('a run of the quorum-loss rows only keeps the main part and adds its section after it', () => {
    const rec = { name: 'recovery', text: markSection('recovery', '## Quorum-loss recovery\n\n12 s') };
    const next = mergeDocument(DOC, { sections: [rec] });
    assert.equal(next, `# Benchmarks\n\nold table\n\n${rec.text}\n\n${FOOT}\n\n${RSS}\n`);
    // and again: replaced in place, not added twice
    const rec2 = { name: 'recovery', text: markSection('recovery', '## Quorum-loss recovery\n\n9 s') };
    const again = mergeDocument(next, { sections: [rec2] });
    assert.equal(again, `# Benchmarks\n\nold table\n\n${rec2.text}\n\n${FOOT}\n\n${RSS}\n`);
  });

  it('an empty previous document: just what is fresh', () => {
    assert.equal(mergeDocument('', { main: '# B\n' }), '# B\n');
  });
});
