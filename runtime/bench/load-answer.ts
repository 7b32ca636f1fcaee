// Whether a load answer counts as a call, and the tally of the ones that do not, by kind, each
// with the first answer of its kind (what a reader needs to tell a refusal from a crash).

/** Why an answer is not a call, or undefined when it is: a 200 carrying `expect` and no error. */
export function failureKind(status: number, body: string, expect: string): string | undefined {
  if (status !== 200) return `HTTP ${status}`;
  const rpcError = /"error":\{"code":(-?\d+)/.exec(body);
  if (rpcError) return `JSON-RPC error ${rpcError[1]}`;
  if (body.includes('"isError":true')) return "tool error";
  if (!body.includes(expect)) return "unexpected answer";
  return undefined;
}

export interface FailureKind {
  count: number;
  /** The first failure of this kind: status and the start of the body, or the error. */
  sample: string;
}

export class FailureTally {
  readonly kinds: Record<string, FailureKind> = {};

  add(kind: string, sample: string, count = 1): void {
    if (count <= 0) return;
    const known = this.kinds[kind];
    if (known) known.count += count;
    else this.kinds[kind] = { count, sample: sample.slice(0, 600) };
  }

  get total(): number {
    return Object.values(this.kinds).reduce((sum, kind) => sum + kind.count, 0);
  }

  /** The first sample recorded, for callers that print one line. */
  get first(): string | undefined {
    const [kind, value] = Object.entries(this.kinds)[0] ?? [];
    return kind && value ? `${kind}: ${value.sample}` : undefined;
  }
}
