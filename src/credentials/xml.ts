/**
 * A small, strict XML reader for STS answers: elements, text, the five
 * predefined entities, character references and CDATA; no document type
 * declarations (so no custom entities), no namespaces processing.
 *
 * @module
 */

/** An element: its name, child elements, and its text (entities decoded). */
export interface XmlElement {
  /** The tag name, prefix included. */
  readonly name: string;
  /** Child elements, in order. */
  readonly children: XmlElement[];
  /** The element's own text, with entities and CDATA decoded. */
  text: string;
}

const OPEN_TAG =
  /<([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/y;
const CLOSE_TAG = /<\/([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)\s*>/y;
const ENTITY = /&(?:#(\d{1,7})|#x([0-9A-Fa-f]{1,6})|(lt|gt|amp|quot|apos));|&/g;
const NAMED: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/**
 * Reads an XML document into elements. Strict: one root element, tags that
 * match, well-formed attributes, the five predefined entities and character
 * references only; document type declarations (and so custom entities) are
 * refused.
 *
 * @param source The document.
 * @returns Its root element.
 * @throws {SyntaxError} When the document is not well formed.
 *
 * @example
 * ```ts
 * import { readXml } from "./xml.ts";
 *
 * const root = readXml("<Error><Code>A&amp;B</Code></Error>");
 * console.log(root.children[0]?.text); // "A&B"
 * ```
 */
export function readXml(source: string): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let i = source.charCodeAt(0) === 0xfeff ? 1 : 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at offset ${i}`);
  };
  const skipTo = (end: string, from: number, what: string): number => {
    const at = source.indexOf(end, from);
    if (at === -1) fail(`unterminated ${what}`);
    return at;
  };
  while (i < source.length) {
    const lt = source.indexOf("<", i);
    const textEnd = lt === -1 ? source.length : lt;
    if (textEnd > i) {
      const raw = source.slice(i, textEnd);
      const top = stack.at(-1);
      if (top) top.text += decodeText(raw, i);
      else if (raw.trim() !== "") fail("text outside the root element");
      i = textEnd;
      continue;
    }
    if (source.startsWith("<?", i)) {
      i = skipTo("?>", i + 2, "processing instruction") + 2;
    } else if (source.startsWith("<!--", i)) {
      i = skipTo("-->", i + 4, "comment") + 3;
    } else if (source.startsWith("<![CDATA[", i)) {
      const top = stack.at(-1) ?? fail("CDATA outside the root element");
      const end = skipTo("]]>", i + 9, "CDATA section");
      top.text += source.slice(i + 9, end);
      i = end + 3;
    } else if (source.startsWith("<!", i)) {
      fail("a document type declaration (not accepted)");
    } else if (source.startsWith("</", i)) {
      CLOSE_TAG.lastIndex = i;
      const match = CLOSE_TAG.exec(source) ?? fail("a malformed end tag");
      const open = stack.pop();
      if (open?.name !== match[1]) {
        fail(`</${match[1]}> where ${open ? `</${open.name}>` : "no end tag"} was expected`);
      }
      i = CLOSE_TAG.lastIndex;
    } else {
      OPEN_TAG.lastIndex = i;
      const match = OPEN_TAG.exec(source) ?? fail("a malformed tag");
      if (root !== undefined && stack.length === 0) fail("a second root element");
      const element: XmlElement = { name: match[1]!, children: [], text: "" };
      const parent = stack.at(-1);
      if (parent) parent.children.push(element);
      else root = element;
      if (match[3] !== "/") stack.push(element);
      i = OPEN_TAG.lastIndex;
    }
  }
  if (stack.length > 0) fail(`<${stack.at(-1)!.name}> is not closed`);
  return root ?? fail("no root element");
}

function decodeText(raw: string, offset: number): string {
  return raw.replace(ENTITY, (entity, decimal?: string, hex?: string, named?: string) => {
    if (named !== undefined) return NAMED[named]!;
    const code = decimal !== undefined
      ? Number(decimal)
      : hex !== undefined
      ? parseInt(hex, 16)
      : NaN;
    if (!isXmlChar(code)) {
      throw new SyntaxError(
        `${
          entity === "&" ? "a bare '&'" : `the reference '${entity}'`
        } in text near offset ${offset}`,
      );
    }
    return String.fromCodePoint(code);
  });
}

function isXmlChar(code: number): boolean {
  return code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
}

export function child(parent: XmlElement | undefined, name: string): XmlElement | undefined {
  if (parent === undefined) return undefined;
  const found = parent.children.filter((element) => element.name === name);
  if (found.length > 1) throw new SyntaxError(`<${parent.name}> has more than one <${name}>`);
  return found[0];
}

export function required(parent: XmlElement, name: string): XmlElement {
  const found = child(parent, name);
  if (found === undefined) throw new SyntaxError(`<${parent.name}> has no <${name}>`);
  return found;
}

export function textOf(element: XmlElement): string {
  if (element.children.length > 0) {
    throw new SyntaxError(`<${element.name}> holds elements where text was expected`);
  }
  return element.text.trim();
}

export function optionalText(parent: XmlElement | undefined, name: string): string | undefined {
  const found = child(parent, name);
  return found === undefined ? undefined : textOf(found);
}
