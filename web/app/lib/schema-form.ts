// A form for a tool's JSON input schema (2020-12, `type: "object"`), and the arguments a submitted
// form makes. Pure: the playground renders `formFields`, its action calls `toolArguments`.
//
// Each property becomes one field named `arg.<property>`: strings, numbers, integers, booleans
// (a select, so an optional one can be left unset), enums (a select), arrays of primitives (a
// textarea, one item per line or comma), and anything else as JSON in a textarea.

export type FieldKind = "string" | "number" | "integer" | "boolean" | "enum" | "list" | "json";
type Primitive = "string" | "number" | "integer" | "boolean";

export interface FormField {
  /** The form control's name. */
  name: string;
  property: string;
  label: string;
  kind: FieldKind;
  required: boolean;
  description?: string;
  /** An enum's values, as the form shows them (JSON for non-strings). */
  options?: string[];
  /** A list's item type. */
  itemKind?: Primitive;
}

type JsonSchema = Record<string, unknown>;

export const FIELD_PREFIX = "arg.";

const PRIMITIVES = new Set<string>(["string", "number", "integer", "boolean"]);

/** The one type a schema names, ignoring "null" in a union (an optional that may be null). */
function typeOf(schema: JsonSchema): string | undefined {
  const type = schema.type;
  if (typeof type === "string") return type;
  if (Array.isArray(type)) {
    const named = type.filter((t) => t !== "null");
    return named.length === 1 ? String(named[0]) : undefined;
  }
  return undefined;
}

function fieldOf(property: string, schema: JsonSchema, required: boolean): FormField {
  const base = {
    name: `${FIELD_PREFIX}${property}`,
    property,
    label: typeof schema.title === "string" ? schema.title : property,
    required,
    ...(typeof schema.description === "string" ? { description: schema.description } : {}),
  };
  if (Array.isArray(schema.enum) && schema.enum.length > 0) {
    return {
      ...base,
      kind: "enum",
      options: schema.enum.map((value) => (typeof value === "string" ? value : JSON.stringify(value))),
    };
  }
  const type = typeOf(schema);
  if (type && PRIMITIVES.has(type)) return { ...base, kind: type as Primitive };
  if (type === "array") {
    const items = (schema.items ?? {}) as JsonSchema;
    const itemType = typeOf(items);
    if (itemType && PRIMITIVES.has(itemType) && !items.enum)
      return { ...base, kind: "list", itemKind: itemType as Primitive };
  }
  return { ...base, kind: "json" };
}

/** The fields of a tool's input schema, in the schema's order. */
export function formFields(inputSchema: JsonSchema): FormField[] {
  const properties = (inputSchema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set(Array.isArray(inputSchema.required) ? inputSchema.required.map(String) : []);
  return Object.entries(properties).map(([property, schema]) =>
    fieldOf(property, schema ?? {}, required.has(property)),
  );
}

type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

function primitive(kind: Primitive, text: string): Parsed {
  if (kind === "string") return { ok: true, value: text };
  if (kind === "boolean") {
    if (text === "true" || text === "false") return { ok: true, value: text === "true" };
    return { ok: false, error: "choose true or false" };
  }
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value)) return { ok: false, error: "enter a number" };
  if (kind === "integer" && !Number.isInteger(value)) return { ok: false, error: "enter a whole number" };
  return { ok: true, value };
}

/** The schema's own bounds that a form can check before the call (the server checks all of them again). */
function bounds(schema: JsonSchema, value: unknown): string | undefined {
  if (typeof value === "string") {
    if (typeof schema.minLength === "number" && value.length < schema.minLength)
      return schema.minLength === 1 ? "required" : `at least ${schema.minLength} characters`;
    if (typeof schema.maxLength === "number" && value.length > schema.maxLength)
      return `at most ${schema.maxLength} characters`;
  }
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) return `at least ${schema.minimum}`;
    if (typeof schema.maximum === "number" && value > schema.maximum) return `at most ${schema.maximum}`;
  }
  return undefined;
}

function parseField(field: FormField, schema: JsonSchema, text: string): Parsed {
  if (field.kind === "enum") {
    const index = field.options?.indexOf(text) ?? -1;
    if (index < 0) return { ok: false, error: `choose one of ${field.options?.join(", ")}` };
    return { ok: true, value: (schema.enum as unknown[])[index] };
  }
  if (field.kind === "list") {
    const items = text
      .split(/[\n,]/)
      .map((item) => item.trim())
      .filter(Boolean);
    const values: unknown[] = [];
    for (const item of items) {
      const parsed = primitive(field.itemKind ?? "string", item);
      if (!parsed.ok) return { ok: false, error: `${item}: ${parsed.error}` };
      values.push(parsed.value);
    }
    return { ok: true, value: values };
  }
  if (field.kind === "json") {
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch {
      return { ok: false, error: "enter valid JSON" };
    }
  }
  const parsed = primitive(field.kind, text);
  if (!parsed.ok) return parsed;
  const outOfBounds = bounds(schema, parsed.value);
  return outOfBounds ? { ok: false, error: outOfBounds } : parsed;
}

export type ArgumentsResult =
  | { ok: true; arguments: Record<string, unknown> }
  | { ok: false; fieldErrors: Record<string, string> };

/**
 * The arguments a submitted form makes: an empty optional field is left out, an empty required
 * one is an error ("required"), each value parsed by its field's kind. Errors are keyed by field name.
 */
export function toolArguments(inputSchema: JsonSchema, form: Record<string, string>): ArgumentsResult {
  const properties = (inputSchema.properties ?? {}) as Record<string, JsonSchema>;
  const args: Record<string, unknown> = {};
  const fieldErrors: Record<string, string> = {};
  for (const field of formFields(inputSchema)) {
    const text = form[field.name] ?? "";
    if (text.trim() === "" && field.kind !== "string") {
      if (field.required) fieldErrors[field.name] = "required";
      continue;
    }
    if (text === "" && field.kind === "string") {
      if (field.required) fieldErrors[field.name] = "required";
      continue;
    }
    const parsed = parseField(field, properties[field.property] ?? {}, text);
    if (parsed.ok) args[field.property] = parsed.value;
    else fieldErrors[field.name] = parsed.error;
  }
  return Object.keys(fieldErrors).length > 0 ? { ok: false, fieldErrors } : { ok: true, arguments: args };
}
