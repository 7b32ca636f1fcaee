// The code drills deploy: a well-behaved tenant whose calls stay in flight for a while (so that a
// shard killed under load has calls of several tenants in it), and hostile tools for the drills
// that need a culprit.

export const WORK_SOURCE = `
import { defineServer, tool, z } from "isola";

export default defineServer({
  name: "drill",
  description: "A tenant of a failure drill",
  tools: {
    work: tool({
      description: "Waits a little, then answers with its tag",
      input: z.object({ ms: z.number().int().min(0).max(2000), tag: z.string() }),
      async run({ ms, tag }) {
        await new Promise((resolve) => setTimeout(resolve, ms));
        return "done " + tag;
      },
    }),
  },
});
`;

/** A tenant whose tools allocate without bound or spin the CPU, next to an honest one. */
export const BOMB_SOURCE = `
import { defineServer, tool, z } from "isola";

export default defineServer({
  name: "bomb",
  description: "A tenant that misbehaves on purpose",
  tools: {
    allocate: tool({
      description: "Allocates until something stops it",
      input: z.object({}),
      run() {
        const kept: number[][] = [];
        for (;;) kept.push(new Array(100000).fill(1.5));
      },
    }),
    spin: tool({
      description: "Spins the CPU until something stops it",
      input: z.object({}),
      run() {
        for (;;) {}
      },
    }),
    work: tool({
      description: "Answers at once",
      input: z.object({ ms: z.number().int().min(0).max(2000), tag: z.string() }),
      run: ({ tag }) => "done " + tag,
    }),
  },
});
`;

/** The arguments of one \`work\` call and the check of its answer. */
export function workCall(ms: number) {
  let n = 0;
  const tags = new Set<string>();
  return {
    args: () => {
      const tag = String(++n);
      tags.add(tag);
      return { ms, tag };
    },
    expect: (result: { content?: { type: string; text?: string }[] }) => {
      const text = result.content?.[0]?.text ?? "";
      return text.startsWith("done ") && tags.has(text.slice(5));
    },
  };
}
