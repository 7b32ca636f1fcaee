import { defineServer, tool, z } from "isola";

export default defineServer({
  name: "hello",
  description: "Says hello",
  tools: {
    hello: tool({
      description: "Greets someone by name",
      input: z.object({ name: z.string().min(1).describe("Who to greet") }),
      annotations: { readOnlyHint: true },
      run: ({ name }) => `Hello, ${name}!`,
    }),
  },
});
