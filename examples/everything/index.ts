// Every fixture the official MCP conformance suite's server scenarios call, written against
// the guest API like any other server (docs: @modelcontextprotocol/conformance, scenarios in
// src/scenarios/server). Also a tour of what tool code can do.
import { defineServer, prompt, resource, tool, z } from "isola";

/** A 1x1 PNG and a silent WAV, as base64. */
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
const WAV = "UklGRiQAAABXQVZFZm10IBAAAAABAAEARKwAAIhYAQACABAAZGF0YQAAAAA=";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const noArguments = z.object({});

export default defineServer({
  name: "everything",
  version: "1.0.0",
  description: "Every fixture of the MCP conformance suite",
  tools: {
    test_simple_text: tool({
      description: "Returns a simple text response",
      input: noArguments,
      run: () => "This is a simple text response for testing.",
    }),
    test_image_content: tool({
      description: "Returns an image",
      input: noArguments,
      run: () => ({ content: [{ type: "image", data: PNG, mimeType: "image/png" }] }),
    }),
    test_audio_content: tool({
      description: "Returns audio",
      input: noArguments,
      run: () => ({ content: [{ type: "audio", data: WAV, mimeType: "audio/wav" }] }),
    }),
    test_embedded_resource: tool({
      description: "Returns an embedded resource",
      input: noArguments,
      run: () => ({
        content: [
          {
            type: "resource",
            resource: {
              uri: "test://embedded-resource",
              mimeType: "text/plain",
              text: "This is an embedded resource content.",
            },
          },
        ],
      }),
    }),
    test_multiple_content_types: tool({
      description: "Returns text, an image and a resource together",
      input: noArguments,
      run: () => ({
        content: [
          { type: "text", text: "Multiple content types test:" },
          { type: "image", data: PNG, mimeType: "image/png" },
          {
            type: "resource",
            resource: {
              uri: "test://mixed-content-resource",
              mimeType: "application/json",
              text: '{"test":"data","value":123}',
            },
          },
        ],
      }),
    }),
    test_tool_with_logging: tool({
      description: "Logs three messages while it runs",
      input: noArguments,
      async run(_input, ctx) {
        ctx.log.info("Tool execution started");
        await sleep(50);
        ctx.log.info("Tool processing data");
        await sleep(50);
        ctx.log.info("Tool execution completed");
        return "Tool with logging executed successfully";
      },
    }),
    test_error_handling: tool({
      description: "Always fails, to test error reporting",
      input: noArguments,
      run: () => {
        throw new Error("This tool intentionally returns an error for testing");
      },
    }),
    test_tool_with_progress: tool({
      description: "Reports progress while it runs",
      input: noArguments,
      async run(_input, ctx) {
        for (const done of [0, 50, 100]) {
          ctx.progress(done, 100, `${done}% done`);
          if (done < 100) await sleep(50);
        }
        return "Progress test completed";
      },
    }),
    test_sampling: tool({
      description: "Asks the client's model to answer a prompt",
      input: z.object({ prompt: z.string().describe("What to ask the model") }),
      async run({ prompt }, ctx) {
        const answer = await ctx.sample({
          messages: [{ role: "user", content: { type: "text", text: prompt } }],
          maxTokens: 100,
        });
        return `LLM response: ${answer.content.type === "text" ? answer.content.text : `[${answer.content.type}]`}`;
      },
    }),
    test_elicitation: tool({
      description: "Asks the user for a username and an email",
      input: z.object({ message: z.string().describe("What to ask the user") }),
      async run({ message }, ctx) {
        const answer = await ctx.elicit({
          message,
          requestedSchema: {
            type: "object",
            properties: {
              username: { type: "string", description: "Your username" },
              email: { type: "string", description: "Your email address" },
            },
            required: ["username", "email"],
          },
        });
        return `User response: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`;
      },
    }),
    test_elicitation_sep1034_defaults: tool({
      description: "Asks the user with default values for every primitive type",
      input: noArguments,
      async run(_input, ctx) {
        const answer = await ctx.elicit({
          message: "Please review your details",
          requestedSchema: {
            type: "object",
            properties: {
              name: { type: "string", description: "Name", default: "John Doe" },
              age: { type: "integer", description: "Age", default: 30 },
              score: { type: "number", description: "Score", default: 95.5 },
              status: {
                type: "string",
                description: "Status",
                enum: ["active", "inactive", "pending"],
                default: "active",
              },
              verified: { type: "boolean", description: "Verified", default: true },
            },
          },
        });
        return `Elicitation completed: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`;
      },
    }),
    test_elicitation_sep1330_enums: tool({
      description: "Asks the user to choose from each kind of enum",
      input: noArguments,
      async run(_input, ctx) {
        const answer = await ctx.elicit({
          message: "Please choose",
          requestedSchema: {
            type: "object",
            properties: {
              untitledSingle: { type: "string", enum: ["option1", "option2", "option3"] },
              titledSingle: {
                type: "string",
                oneOf: [
                  { const: "value1", title: "First Option" },
                  { const: "value2", title: "Second Option" },
                  { const: "value3", title: "Third Option" },
                ],
              },
              legacyEnum: {
                type: "string",
                enum: ["opt1", "opt2", "opt3"],
                enumNames: ["Option One", "Option Two", "Option Three"],
              },
              untitledMulti: {
                type: "array",
                items: { type: "string", enum: ["option1", "option2", "option3"] },
                minItems: 1,
                maxItems: 3,
              },
              titledMulti: {
                type: "array",
                items: {
                  anyOf: [
                    { const: "value1", title: "First Choice" },
                    { const: "value2", title: "Second Choice" },
                    { const: "value3", title: "Third Choice" },
                  ],
                },
                minItems: 1,
                maxItems: 3,
              },
            },
          },
        });
        return `Elicitation completed: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`;
      },
    }),
  },
  resources: {
    staticText: resource({
      uri: "test://static-text",
      name: "Static text resource",
      mimeType: "text/plain",
      read: () => "This is the content of the static text resource.",
    }),
    staticBinary: resource({
      uri: "test://static-binary",
      name: "Static binary resource",
      mimeType: "image/png",
      read: (uri) => ({ uri, mimeType: "image/png", blob: PNG }),
    }),
    watched: resource({
      uri: "test://watched-resource",
      name: "Watched resource",
      mimeType: "text/plain",
      read: () => "Watched resource content",
    }),
    template: resource({
      uriTemplate: "test://template/{id}/data",
      name: "Template resource",
      mimeType: "application/json",
      read: (_uri, ctx) =>
        JSON.stringify({ id: ctx.params.id, templateTest: true, data: `Data for ID: ${ctx.params.id}` }),
    }),
  },
  prompts: {
    test_simple_prompt: prompt({
      description: "A simple prompt without arguments",
      get: () => "This is a simple prompt for testing.",
    }),
    test_prompt_with_arguments: prompt({
      description: "A prompt with two required arguments",
      arguments: z.object({
        arg1: z.string().describe("First argument"),
        arg2: z.string().describe("Second argument"),
      }),
      get: ({ arg1, arg2 }) => `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'`,
    }),
    test_prompt_with_embedded_resource: prompt({
      description: "A prompt that embeds a resource",
      arguments: z.object({ resourceUri: z.string().describe("URI of the resource to embed") }),
      get: ({ resourceUri }) => [
        {
          role: "user",
          content: {
            type: "resource",
            resource: { uri: resourceUri, mimeType: "text/plain", text: "Embedded resource content for testing." },
          },
        },
        { role: "user", content: { type: "text", text: "Please process the embedded resource above." } },
      ],
    }),
    test_prompt_with_image: prompt({
      description: "A prompt with an image",
      get: () => [
        { role: "user", content: { type: "image", data: PNG, mimeType: "image/png" } },
        { role: "user", content: { type: "text", text: "Please analyze the image above." } },
      ],
    }),
  },
});
