// Template strings: parsing {placeholder}s (with Python str.format's {{ }} escapes, since FLAN's
// templates are format strings) and filling them in one pass, so braces inside a record's text are
// never read as placeholders. Parsing is strict: an unknown name or a stray brace is an error that
// names it, because a typo would otherwise train on literal "{qestion}" text.
import { TemplateError, type Template } from './types';

export const PLACEHOLDERS = ['instruction', 'context', 'output', 'options'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

export type Segment = string | { field: Placeholder };

const parsed = new Map<string, Segment[]>();

/** Splits a template string into literal text and placeholders; `where` names it in errors. */
export function parseTemplateText(text: string, where: string): Segment[] {
  const cached = parsed.get(text);
  if (cached) return cached;
  const segments: Segment[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '{' && text[i + 1] === '{') {
      literal += '{';
      i += 2;
    } else if (c === '}' && text[i + 1] === '}') {
      literal += '}';
      i += 2;
    } else if (c === '{') {
      const end = text.indexOf('}', i + 1);
      const nextOpen = text.indexOf('{', i + 1);
      if (end < 0 || (nextOpen >= 0 && nextOpen < end)) {
        throw new TemplateError(`${where}: unmatched "{" at character ${i + 1}; write "{{" for a literal brace`);
      }
      const name = text.slice(i + 1, end);
      if (!(PLACEHOLDERS as readonly string[]).includes(name)) {
        throw new TemplateError(
          `${where}: unknown placeholder {${name}} (known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}); write "{{" and "}}" for literal braces`,
        );
      }
      if (literal) segments.push(literal);
      literal = '';
      segments.push({ field: name as Placeholder });
      i = end + 1;
    } else if (c === '}') {
      throw new TemplateError(`${where}: unmatched "}" at character ${i + 1}; write "}}" for a literal brace`);
    } else {
      literal += c;
      i++;
    }
  }
  if (literal) segments.push(literal);
  // Templates typed in the UI reparse on every keystroke; a bounded cache keeps that from growing forever.
  if (parsed.size >= 500) parsed.clear();
  parsed.set(text, segments);
  return segments;
}

/** Checks both strings of a template; throws TemplateError naming the template and the bad part. */
export function validateTemplate(template: Template, where = `template "${template.id}"`): void {
  parseTemplateText(template.prompt, `${where}, prompt`);
  parseTemplateText(template.completion, `${where}, completion`);
}

export function usesPlaceholder(template: Template, field: Placeholder): boolean {
  const has = (text: string, part: string) =>
    parseTemplateText(text, `template "${template.id}", ${part}`).some((s) => typeof s !== 'string' && s.field === field);
  return has(template.prompt, 'prompt') || has(template.completion, 'completion');
}

export function fillTemplateText(text: string, values: Record<Placeholder, string>, where: string): string {
  let out = '';
  for (const segment of parseTemplateText(text, where)) out += typeof segment === 'string' ? segment : values[segment.field];
  return out;
}

/** FLAN's answer list: "OPTIONS:\n- yes\n- no". */
export function formatOptions(options: readonly string[]): string {
  return ['OPTIONS:', ...options.map((o) => `- ${o}`)].join('\n');
}
