import { readFile } from "node:fs/promises";
import { z } from "zod";
import { applyClientPolicy } from "./client-policy.ts";

/**
 * Clients the operator registers (ISOLA_OAUTH_CLIENTS_FILE): a JSON array of RFC 7591 client
 * metadata, each with its own `client_id`. The same policy as dynamic registration applies;
 * oidc-provider checks the rest when it starts.
 */
const operatorClient = z
  .object({
    client_id: z.string().regex(/^[\w.:/-]{1,200}$/, "1-200 letters, digits and _ . : / -"),
    redirect_uris: z.array(z.string()).min(1),
  })
  .catchall(z.unknown());

const clientsFile = z.array(operatorClient).superRefine((clients, ctx) => {
  const seen = new Set<string>();
  clients.forEach((client, index) => {
    if (seen.has(client.client_id)) ctx.addIssue({ code: "custom", path: [index, "client_id"], message: "used twice" });
    seen.add(client.client_id);
  });
});

export type OperatorClient = z.infer<typeof operatorClient>;

/** The clients in a clients file's text, or one line saying what is wrong. Pure. */
export function parseClients(text: string): { ok: true; clients: OperatorClient[] } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `not valid JSON (${(error as Error).message})` };
  }
  const parsed = clientsFile.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const where = issue.path.map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`)).join("");
      return where ? `${where.replace(/^\./, "")}: ${issue.message}` : issue.message;
    });
    return { ok: false, error: `expected a JSON array of client metadata; ${problems.join("; ")}` };
  }
  for (const [index, client] of parsed.data.entries()) {
    const refusal = applyClientPolicy(client);
    if (refusal) return { ok: false, error: `[${index}] (${client.client_id}): ${refusal.description}` };
  }
  return { ok: true, clients: parsed.data };
}

/** Reads and checks ISOLA_OAUTH_CLIENTS_FILE; throws one line naming the variable, the file and the problem. */
export async function readClientsFile(path: string | undefined): Promise<OperatorClient[]> {
  if (path === undefined) return [];
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new Error(
      `ISOLA_OAUTH_CLIENTS_FILE ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? error})`,
    );
  }
  const result = parseClients(text);
  if (!result.ok) throw new Error(`ISOLA_OAUTH_CLIENTS_FILE ${path}: ${result.error}`);
  return result.clients;
}
