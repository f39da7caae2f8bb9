/**
 * A few helpers to write the AWS Query protocols' XML exactly as AWS shapes it (element order and
 * names matter to the SDK's deserialisers only by name, but the wire tests compare text). Hand-rolled
 * on purpose: the shapes are small and fixed, and no XML builder is a direct dependency.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** Escapes element text (quotes stay literal, as in AWS's replies; no attribute value comes from data). */
export function escapeXml(s: string): string {
  return s.replace(/[&<>]/g, (c) => ESCAPES[c] as string);
}

export type Scalar = string | number | boolean;

/** `<name>value</name>` (escaped); nothing when the value is undefined. */
export function leaf(name: string, value: Scalar | undefined | null): string {
  if (value === undefined || value === null) return '';
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** `<name>…children…</name>`, or `<name/>` when there are none. */
export function node(name: string, ...children: string[]): string {
  const inner = children.join('');
  return inner === '' ? `<${name}/>` : `<${name}>${inner}</${name}>`;
}

/** A list: `<name><member>…</member>…</name>` (Auto Scaling) or `<item>` (EC2); `<name/>` when empty. */
export function list(name: string, items: readonly string[], itemTag: 'member' | 'item'): string {
  return node(name, ...items.map((i) => `<${itemTag}>${i}</${itemTag}>`));
}

export const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';
