// The little languages of declarative tools: templates with placeholders, and JSON pointers.
// Parsed here once, for validation (./declarative.ts) and for code generation (the sandbox),
// so that both read a template the same way.

/** A parameter's name: what `{name}` refers to. A letter first, so never `__proto__`. */
export const PARAM_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** RFC 6901: "" (the whole document) or a sequence of `/` + reference tokens, `~` only as `~0` or `~1`. */
export const JSON_POINTER = /^(?:\/(?:[^~/]|~[01])*)*$/;

/** One piece of a parsed template: literal text, a parameter's value, or a secret's value. */
export type TemplatePart = { text: string } | { param: string } | { secret: string };

export type ParsedTemplate = { ok: true; parts: TemplatePart[] } | { ok: false; error: string };

const PLACEHOLDER = /^\{(?:secret\.([A-Z][A-Z0-9_]{0,63})|([A-Za-z][A-Za-z0-9_]{0,63}))\}/;

/**
 * `{name}` is a parameter, `{secret.NAME}` a secret, `{{` and `}}` are literal braces; any
 * other brace is an error (a typo must not reach an upstream as literal text).
 */
export function parseTemplate(template: string): ParsedTemplate {
  const parts: TemplatePart[] = [];
  let text = "";
  const flush = () => {
    if (text) parts.push({ text });
    text = "";
  };
  for (let i = 0; i < template.length; ) {
    const char = template[i] as string;
    const next = template[i + 1];
    if ((char === "{" || char === "}") && next === char) {
      text += char;
      i += 2;
    } else if (char === "}") {
      return { ok: false, error: `a lone "}" at character ${i + 1}: write "}}" for a literal brace` };
    } else if (char === "{") {
      const match = PLACEHOLDER.exec(template.slice(i, i + 80));
      if (!match) {
        return {
          ok: false,
          error: `"{" at character ${i + 1} does not start a placeholder: write {param} for a parameter, {secret.NAME} for a secret, or "{{" for a literal brace`,
        };
      }
      flush();
      parts.push(match[1] !== undefined ? { secret: match[1] } : { param: match[2] as string });
      i += match[0].length;
    } else {
      text += char;
      i++;
    }
  }
  flush();
  return { ok: true, parts };
}

/** The parameters and secrets a parsed template refers to. */
export function templateRefs(parts: TemplatePart[]): { params: string[]; secrets: string[] } {
  const params = parts.flatMap((part) => ("param" in part ? [part.param] : []));
  const secrets = parts.flatMap((part) => ("secret" in part ? [part.secret] : []));
  return { params, secrets };
}
