// The manifest: what the server offers, as JSON Schema 2020-12 produced from its zod schemas.
import { z } from "zod";
import { messageOf, reply } from "./bridge.ts";
import { currentServer } from "./definitions.ts";

function jsonSchema(where: string, schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  try {
    return z.toJSONSchema(schema, { target: "draft-2020-12", io }) as Record<string, unknown>;
  } catch (error) {
    throw new TypeError(`${where}: cannot be expressed as JSON Schema (${messageOf(error)})`);
  }
}

/** Prompt arguments: one per key of the z.object, required unless optional. */
function promptArguments(schema: z.ZodObject | undefined) {
  if (!schema) return [];
  return Object.entries(schema.shape).map(([name, field]) => {
    const type = field as z.ZodType;
    return {
      name,
      ...(type.description === undefined ? {} : { description: type.description }),
      required: !type.safeParse(undefined).success,
    };
  });
}

export function describe(): string {
  const server = currentServer();
  if (!server) {
    return reply({ error: { code: "no_server", message: "the code never called defineServer({...})" } });
  }
  try {
    return reply({
      ok: {
        name: server.name,
        ...(server.version === undefined ? {} : { version: server.version }),
        ...(server.description === undefined ? {} : { description: server.description }),
        tools: [...server.tools].map(([name, t]) => ({
          name,
          ...(t.title === undefined ? {} : { title: t.title }),
          description: t.description,
          inputSchema: jsonSchema(`tool ${name} input`, t.input, "input"),
          ...(t.output ? { outputSchema: jsonSchema(`tool ${name} output`, t.output, "output") } : {}),
          ...(t.annotations === undefined ? {} : { annotations: t.annotations }),
          ...(t.scopes?.length ? { scopes: t.scopes } : {}),
        })),
        resources: [...server.resources].map(([key, r]) => ({
          key,
          ...(r.uri === undefined ? {} : { uri: r.uri }),
          ...(r.uriTemplate === undefined ? {} : { uriTemplate: r.uriTemplate }),
          name: r.name ?? key,
          ...(r.title === undefined ? {} : { title: r.title }),
          ...(r.description === undefined ? {} : { description: r.description }),
          ...(r.mimeType === undefined ? {} : { mimeType: r.mimeType }),
        })),
        prompts: [...server.prompts].map(([name, p]) => ({
          name,
          ...(p.title === undefined ? {} : { title: p.title }),
          ...(p.description === undefined ? {} : { description: p.description }),
          arguments: promptArguments(p.arguments),
        })),
        secrets: server.secrets,
        egress: server.egress,
      },
    });
  } catch (error) {
    return reply({ error: { code: "internal", message: messageOf(error) } });
  }
}
