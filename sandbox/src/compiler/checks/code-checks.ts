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
type AnyNode = Node & Record<string, unknown>;

interface Rule {
  name: string;
  /**
   * A message when the node breaks the rule, and the node to point at: the offending name
   * itself (`eval`, `Function`, `constructor`, `setTimeout`), which always has its own
   * source-map entry, unlike an expression that starts with "(".
   */
  check(node: AnyNode, parent: AnyNode | undefined): { message: string; at: AnyNode } | undefined;
}

const isIdentifier = (node: unknown, name: string) =>
  (node as { type?: string; name?: string })?.type === "Identifier" && (node as { name: string }).name === name;
const propertyName = (node: Record<string, unknown> | undefined) =>
  node?.type === "MemberExpression"
    ? node.computed
      ? (node.property as { value?: unknown }).value
      : (node.property as { name?: unknown }).name
    : undefined;

/** The name a member expression reads (`x.eval`, `x["eval"]`) or a callee names (`eval`). */
const nameNode = (node: unknown): AnyNode | undefined => {
  const n = node as AnyNode | undefined;
  if (n?.type === "MemberExpression") return n.property as AnyNode;
  if (n?.type === "Identifier") return n;
  return undefined;
};

export const CODE_RULES: Rule[] = [
  {
    name: "no-eval",
    check: (node, parent) => {
      const isEval = isIdentifier(node, "eval") || (node.type === "MemberExpression" && propertyName(node) === "eval");
      // `x.eval` inside a larger member chain is reported once, at the outermost use.
      if (isEval && !(parent?.type === "MemberExpression" && parent.object === node)) {
        return {
          message: "eval is not allowed: tool code may not run code built from strings",
          at: nameNode(node) ?? node,
        };
      }
      return undefined;
    },
  },
  {
    name: "no-function-constructor",
    check: (node, parent) => {
      // `value instanceof Function` only compares; it builds nothing.
      const comparedOnly =
        parent?.type === "BinaryExpression" && parent.operator === "instanceof" && parent.right === node;
      if (isIdentifier(node, "Function") && !comparedOnly) {
        return { message: "the Function constructor is not allowed: write the function itself", at: node };
      }
      if (
        (node.type === "CallExpression" || node.type === "NewExpression") &&
        propertyName(node.callee as Record<string, unknown>) === "constructor"
      ) {
        return {
          message: "calling a .constructor is not allowed (it can build functions from strings)",
          at: nameNode(node.callee) ?? node,
        };
      }
      return undefined;
    },
  },
  {
    name: "no-dynamic-import",
    check: (node) =>
      node.type === "ImportExpression"
        ? { message: 'dynamic import() is not allowed: import from "isola" at the top of the file', at: node }
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
        return { message: "timers take a function, not a string of code", at: nameNode(node.callee) ?? node };
      }
      return undefined;
    },
  },
];

/** Runs every rule over every file; positions point into the tenant's TypeScript. */
export async function checkCode(files: ServerSource): Promise<CompileDiagnostic[]> {
  const problems: CompileDiagnostic[] = [];
  for (const [file, source] of Object.entries(files)) {
    let output: { code: string; map: string };
    try {
      output = await transform(source, { loader: "ts", format: "esm", target: "es2024", sourcemap: "external" });
    } catch {
      // A syntax error: the bundle and type steps report it, with its position. Nothing runs.
      continue;
    }
    const map = decodeMappings((JSON.parse(output.map) as { mappings: string }).mappings);
    let ast: Node;
    try {
      ast = parse(output.code, { ecmaVersion: "latest", sourceType: "module", locations: true });
    } catch (error) {
      // esbuild accepted what acorn cannot read: fail closed rather than skip the rules.
      const message = `the code rules could not read this file (${error instanceof Error ? error.message : String(error)})`;
      problems.push({ step: "code", file, line: 0, column: 0, message });
      continue;
    }
    const seen = new Set<string>();
    ancestor(ast, {
      Expression(node, _state, ancestors) {
        const parent = ancestors.at(-2) as AnyNode | undefined;
        for (const rule of CODE_RULES) {
          const found = rule.check(node as AnyNode, parent);
          if (!found?.at.loc) continue;
          const at = originalPosition(map, found.at.loc.start.line, found.at.loc.start.column);
          const key = `${rule.name}:${at.line}:${at.column}`;
          if (seen.has(key)) continue;
          seen.add(key);
          problems.push({ step: "code", file, line: at.line, column: at.column, message: found.message });
        }
      },
    });
  }
  return problems;
}
