import assert from 'node:assert/strict';
import { test } from 'node:test';
import { child, childrenNamed, parseXml, textAt } from './xml.ts';

test('parseXml reads nested elements, lists, entities, self-closing elements and namespaces', () => {
  const doc = parseXml(
    '<?xml version="1.0" encoding="UTF-8"?>\n<R xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><a:set xmlns:a="x"><item><id>i-1</id><v>a &amp; b &lt;c&gt; &#65;&#x42;</v></item><item><id>i-2</id><empty/></item></a:set><n><![CDATA[<raw>]]></n></R>',
  );
  assert.equal(doc.name, 'R');
  const items = childrenNamed(child(doc, 'set'), 'item');
  assert.deepEqual(
    items.map((i) => textAt(i, 'id')),
    ['i-1', 'i-2'],
  );
  assert.equal(textAt(items[0], 'v'), 'a & b <c> AB');
  assert.equal(textAt(items[1], 'empty'), '');
  assert.equal(textAt(doc, 'n'), '<raw>');
  assert.equal(textAt(doc, 'missing', 'x'), undefined);
});

for (const [name, text] of [
  ['unclosed', '<a><b></b>'],
  ['mismatched', '<a><b></a></b>'],
  ['two roots', '<a/><b/>'],
  ['no root', '   '],
  ['text outside the root', 'oops<a/>'],
  ['an HTML error page cut off', '<html><body><h1>502 Bad Gateway'],
  ['a stray <', '<a>1 < 2</a>'],
  ['an unknown entity', '<a>&nbsp;</a>'],
] as const) {
  test(`parseXml throws on malformed XML: ${name}`, () => {
    assert.throws(() => parseXml(text));
  });
}
