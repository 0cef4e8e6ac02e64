import { XMLParser, XMLValidator } from 'fast-xml-parser';

/**
 * A parsed XML element as fast-xml-parser yields it with our options: a string for a leaf
 * without attributes, or an object holding `@` (attributes), `#text` and child elements.
 * The helpers below hide that shape and the "one element or an array" ambiguity, so the report
 * mappers read `children(node, 'event')` whatever the document holds: none, one or many.
 */
export type XmlNode = string | { [key: string]: unknown };

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  attributesGroupName: '@',
  // Namespace-agnostic: docs and real appliances use different namespaces, some responses prefix.
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  // Chat bodies and names keep their own leading/trailing spaces.
  trimValues: false,
  // Entities are decoded by `decodeEntities` below: the library leaves numeric references as is.
  processEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

export interface XmlSyntaxError {
  message: string;
  line: number;
  col: number;
}

/** Parses a whole document; returns the syntax error (with its position) instead of guessing. */
export function parseXmlDocument(xml: string): { root: XmlNode; name: string } | { error: XmlSyntaxError } {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) return { error: { message: valid.err.msg, line: valid.err.line, col: valid.err.col } };
  const doc = parser.parse(xml) as Record<string, unknown>;
  const names = Object.keys(doc).filter((k) => k !== '#text');
  const name = names[0];
  if (name === undefined) return { error: { message: 'the document has no root element', line: 1, col: 1 } };
  return { root: doc[name] as XmlNode, name };
}

const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes the five XML entities and numeric character references. */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(Number.parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(Number.parseInt(ref.slice(1), 10));
    return NAMED[ref] ?? whole;
  });
}

/** Every child element called `name` (zero, one or many). */
export function children(node: XmlNode | undefined, name: string): XmlNode[] {
  if (node === undefined || typeof node === 'string') return [];
  const v = node[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]) as XmlNode[];
}

export function child(node: XmlNode | undefined, name: string): XmlNode | undefined {
  return children(node, name)[0];
}

/** The element's own text, entity-decoded; '' for an empty element. */
export function text(node: XmlNode | undefined): string | undefined {
  if (node === undefined) return undefined;
  if (typeof node === 'string') return decodeEntities(node);
  const t = node['#text'];
  return typeof t === 'string' ? decodeEntities(t) : '';
}

/** Text of the child `name`; undefined when the child is absent. */
export function childText(node: XmlNode | undefined, name: string): string | undefined {
  return text(child(node, name));
}

export function attr(node: XmlNode | undefined, name: string): string | undefined {
  if (node === undefined || typeof node === 'string') return undefined;
  const attrs = node['@'] as Record<string, string> | undefined;
  const v = attrs?.[name];
  return v === undefined ? undefined : decodeEntities(v);
}

/** An integer, or null for absent/empty/non-numeric values. */
export function int(s: string | undefined): number | null {
  if (s === undefined) return null;
  const t = s.trim();
  return /^-?\d+$/.test(t) ? Number(t) : null;
}

/** null for absent, empty (after trimming) and the appliance's `Unknown` literal. */
export function known(s: string | undefined): string | null {
  if (s === undefined) return null;
  const t = s.trim();
  return t === '' || t === 'Unknown' ? null : s;
}

/** null for absent or empty free text (a ticket may legitimately read `Unknown`). */
export function nonEmpty(s: string | undefined): string | null {
  return s === undefined || s.trim() === '' ? null : s;
}
