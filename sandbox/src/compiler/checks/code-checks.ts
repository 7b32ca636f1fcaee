import type { CompileDiagnostic, ServerSource } from "@isola/schema";
import { type Node, parse } from "acorn";
import { ancestor } from "acorn-walk";
import { transform } from "esbuild";
import { decodeMappings, originalPosition } from "../source-map.ts";

/**
 * Rules about what tool code may do, checked on each file. Each rule is one small
 * function over an AST node; the sandbox also enforces what matters at run time, so these
 * exist to fail the build early with a message that says what to change.
 */
interface Rule {
  name: string;
  /** A message when the node breaks the rule. */
  check(node: Node & Record<string, unknown>, parent: (Node & Record<string, unknown>) | undefined): string | undefined;
}

const isIdentifier = (node: unknown, name: string) =>
  (node as { type?: string; name?: string })?.type === "Identifier" && (node as { name: string }).name === name;
const propertyName = (node: Record<string, unknown> | undefined) =>
  node?.type === "MemberExpression"
    ? node.computed
      ? (node.property as { value?: unknown }).value
      : (node.property as { name?: unknown }).name
    : undefined;

export const CODE_RULES: Rule[] = [
  {
    name: "no-eval",
    check: (node, parent) => {
      const isEval = isIdentifier(node, "eval") || (node.type === "MemberExpression" && propertyName(node) === "eval");
      // `x.eval` inside a larger member chain is reported once, at the outermost use.
      if (isEval && !(parent?.type === "MemberExpression" && parent.object === node)) {
        return "eval is not allowed: tool code may not run code built from strings";
      }
      return undefined;
    },
  },
  {
    name: "no-function-constructor",
    check: (node) => {
      if (isIdentifier(node, "Function")) return "the Function constructor is not allowed: write the function itself";
      if (
        (node.type === "CallExpression" || node.type === "NewExpression") &&
        propertyName(node.callee as Record<string, unknown>) === "constructor"
      ) {
        return "calling a .constructor is not allowed (it can build functions from strings)";
      }
      return undefined;
    },
  },
  {
    name: "no-dynamic-import",
    check: (node) =>
      node.type === "ImportExpression"
        ? 'dynamic import() is not allowed: import from "isola" at the top of the file'
        : undefined,
  },
  {
    name: "no-string-timers",
    check: (node) => {
      const args = node.arguments as { type: string; value?: unknown }[] | undefined;
      const first = args?.[0];
      const isTimer = ["setTimeout", "setInterval"].some(
        (name) => isIdentifier(node.callee, name) || propertyName(node.callee as Record<string, unknown>) === name,
      );
      if (
        node.type === "CallExpression" &&
        isTimer &&
        (first?.type === "TemplateLiteral" || typeof first?.value === "string")
      ) {
        return "timers take a function, not a string of code";
      }
      return undefined;
    },
  },
];

/** Runs every rule over every file; positions point into the tenant's TypeScript. */
export async function checkCode(files: ServerSource): Promise<CompileDiagnostic[]> {
  const problems: CompileDiagnostic[] = [];
  for (const [file, source] of Object.entries(files)) {
    const output = await transform(source, { loader: "ts", format: "esm", target: "es2024", sourcemap: "external" });
    const map = decodeMappings((JSON.parse(output.map) as { mappings: string }).mappings);
    const ast = parse(output.code, { ecmaVersion: "latest", sourceType: "module", locations: true });
    const seen = new Set<string>();
    ancestor(ast, {
      Expression(node, _state, ancestors) {
        const parent = ancestors.at(-2) as (Node & Record<string, unknown>) | undefined;
        for (const rule of CODE_RULES) {
          const message = rule.check(node as Node & Record<string, unknown>, parent);
          if (!message || !node.loc) continue;
          const at = originalPosition(map, node.loc.start.line, node.loc.start.column);
          const key = `${rule.name}:${at.line}:${at.column}`;
          if (seen.has(key)) continue;
          seen.add(key);
          problems.push({ step: "code", file, line: at.line, column: at.column, message });
        }
      },
    });
  }
  return problems;
}
