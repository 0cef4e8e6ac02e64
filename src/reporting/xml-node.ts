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
  /** Where, when known (the library's own refusals carry no position). */
  line?: number;
  col?: number;
}

/** Deeper than any report (a session's system information is 6 levels down). */
export const MAX_XML_DEPTH = 32;

/**
 * Parses a whole document; returns the syntax error (with its position) instead of guessing.
 * Refused before the library sees them: a DOCTYPE (reports never carry one; internal or external
 * entities are how XML bombs and file disclosure work) and nesting beyond MAX_XML_DEPTH (the
 * library recurses per level). The library itself refuses `__proto__` names; its error, like any
 * other it throws, comes back as a syntax error here.
 */
export function parseXmlDocument(xml: string): { root: XmlNode; name: string } | { error: XmlSyntaxError } {
  const doctype = /<!DOCTYPE/i.exec(xml);
  if (doctype) return { error: { message: 'DOCTYPE declarations are refused', ...position(xml, doctype.index) } };
  const deep = depthExceeded(xml, MAX_XML_DEPTH);
  if (deep !== undefined)
    return { error: { message: `elements nest deeper than ${MAX_XML_DEPTH} levels`, ...position(xml, deep) } };
  try {
    return parseChecked(xml);
  } catch (e) {
    return { error: { message: (e as Error).message.slice(0, 200) } };
  }
}

function parseChecked(xml: string): { root: XmlNode; name: string } | { error: XmlSyntaxError } {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) return { error: { message: valid.err.msg, line: valid.err.line, col: valid.err.col } };
  const doc = parser.parse(xml) as Record<string, unknown>;
  const names = Object.keys(doc).filter((k) => k !== '#text');
  const name = names[0];
  if (name === undefined) return { error: { message: 'the document has no root element', line: 1, col: 1 } };
  return { root: doc[name] as XmlNode, name };
}

/** The offset of the first start tag that opens level `max + 1`, or undefined. One linear pass. */
function depthExceeded(xml: string, max: number): number | undefined {
  let depth = 0;
  for (let i = xml.indexOf('<'); i !== -1; i = xml.indexOf('<', i + 1)) {
    const next = xml[i + 1];
    if (next === '/') depth--;
    else if (next === '!' || next === '?') {
      // Comments and CDATA may contain '<': skip to their end.
      const end = xml.startsWith('<!--', i)
        ? xml.indexOf('-->', i)
        : xml.startsWith('<![CDATA[', i)
          ? xml.indexOf(']]>', i)
          : i;
      if (end === -1) return undefined;
      i = end;
    } else {
      const close = tagEnd(xml, i);
      if (close === -1) return undefined;
      if (xml[close - 1] !== '/' && ++depth > max) return i;
      i = close;
    }
  }
  return undefined;
}

/** The `>` ending the tag that starts at `i`, skipping quoted attribute values; -1 when none. */
function tagEnd(xml: string, i: number): number {
  let quote: string | undefined;
  for (let j = i + 1; j < xml.length; j++) {
    const c = xml[j];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '>') return j;
  }
  return -1;
}

function position(xml: string, offset: number): { line: number; col: number } {
  let line = 1;
  let last = -1;
  for (let i = xml.indexOf('\n'); i !== -1 && i < offset; i = xml.indexOf('\n', i + 1)) {
    line++;
    last = i;
  }
  return { line, col: offset - last };
}

const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** A reference that names no XML character (beyond U+10FFFF, a surrogate, NUL...) or no known entity. */
export class XmlContentError extends Error {}

/**
 * Decodes the five XML entities and numeric character references. Any `&...;` run is a
 * reference: one naming no allowed XML character (`&#0;`, `&#xD800;`, `&#123456789;`), or an
 * entity a document without DOCTYPE cannot define (`&bogus;`), is refused rather than stored
 * literally. Leading zeros are allowed (`&#x0000000041;` is `A`), however many, and a digit run of
 * any length is read in one linear pass.
 */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#[xX][0-9a-fA-F]+|#[0-9]+|[A-Za-z_][\w.-]*);/g, (whole, ref: string) => {
    const shown = whole.length > 24 ? `${whole.slice(0, 20)}...;` : whole;
    if (!ref.startsWith('#')) {
      const named = NAMED[ref];
      if (named === undefined) throw new XmlContentError(`the entity ${shown} is not one XML defines`);
      return named;
    }
    const hex = ref[1] === 'x' || ref[1] === 'X';
    const digits = ref.slice(hex ? 2 : 1).replace(/^0+(?=.)/, '');
    // Beyond 8 significant digits no reference can be a character (U+10FFFF is 6 hex, 7 decimal).
    const cp = digits.length > 8 ? Infinity : Number.parseInt(digits, hex ? 16 : 10);
    if (!isXmlChar(cp)) throw new XmlContentError(`the character reference ${shown} names no XML character`);
    return String.fromCodePoint(cp);
  });
}

/** XML 1.0's Char production: tab, newline, carriage return and the scalar values from U+0020 but U+FFFE/U+FFFF. */
function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
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
