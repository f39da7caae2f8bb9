/**
 * A minimal XML reader for the EC2 Query API's answers (elements and text; no attributes, DTDs or
 * processing beyond the declaration): enough to read DescribeInstances without `@aws-sdk/client-ec2`
 * (~56 MB of RSS, see docs/deploy.md). Anything that is not well-formed throws.
 */
export interface XmlElement {
  /** Local name (a namespace prefix is dropped). */
  name: string;
  children: XmlElement[];
  /** The element's own text, entities decoded, trimmed. */
  text: string;
}

const ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decode(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    const v = ENTITIES[e];
    if (v === undefined) throw new Error(`unknown entity ${m}`);
    return v;
  });
}

/** Parses a document; throws an Error saying where it is not well-formed. */
export function parseXml(text: string): XmlElement {
  const body = text
    .replace(/^\uFEFF/, '')
    .replace(/^\s*<\?xml[^?]*\?>/, '')
    .replace(/<!--[\s\S]*?-->/g, '');
  const token = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[^<>]*?)?)(\/?)>|<!\[CDATA\[([\s\S]*?)\]\]>|([^<]+)|(<)/g;
  const root: XmlElement = { name: '', children: [], text: '' };
  const stack: XmlElement[] = [root];
  const texts: string[][] = [[]];
  let m: RegExpExecArray | null;
  while ((m = token.exec(body)) !== null) {
    const [, close, qname, , selfClose, cdata, chars, stray] = m;
    const top = stack[stack.length - 1] as XmlElement;
    if (stray !== undefined) throw new Error(`stray '<' at offset ${m.index}`);
    if (chars !== undefined) {
      (texts[texts.length - 1] as string[]).push(decode(chars));
      continue;
    }
    if (cdata !== undefined) {
      (texts[texts.length - 1] as string[]).push(cdata);
      continue;
    }
    const name = (qname as string).includes(':') ? (qname as string).split(':').pop()! : (qname as string);
    if (close === '/') {
      if (stack.length === 1 || top.name !== name)
        throw new Error(
          `unexpected </${name}> at offset ${m.index}${stack.length > 1 ? ` (open: <${top.name}>)` : ''}`,
        );
      top.text = (texts.pop() as string[]).join('').trim();
      stack.pop();
      continue;
    }
    const el: XmlElement = { name, children: [], text: '' };
    top.children.push(el);
    if (selfClose !== '/') {
      stack.push(el);
      texts.push([]);
    }
  }
  if (stack.length > 1)
    throw new Error(`unclosed <${(stack[stack.length - 1] as XmlElement).name}> at the end`);
  const elements = root.children;
  if (elements.length !== 1) throw new Error(`expected one root element, found ${elements.length}`);
  if ((texts[0] as string[]).join('').trim() !== '') throw new Error('text outside the root element');
  return elements[0] as XmlElement;
}

/** The first child named `name`. */
export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name);
}

/** The children named `name`. */
export function childrenNamed(el: XmlElement | undefined, name: string): XmlElement[] {
  return el === undefined ? [] : el.children.filter((c) => c.name === name);
}

/** The text of the element at `path` below `el` (each step the first child of that name). */
export function textAt(el: XmlElement | undefined, ...path: string[]): string | undefined {
  let cur = el;
  for (const p of path) cur = child(cur, p);
  return cur?.text;
}
