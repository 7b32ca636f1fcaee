// The acceptance test of Isola's MCP server: an MCP client (the official SDK's) builds a server by
// talking to Isola alone. Brief -> get_build shows the plan's questions -> answer_build -> the
// build succeeds -> tools/call on the NEW server's MCP URL answers. The model is the local fake of
// the Anthropic Messages API answering recorded messages (plan-weather, code-weather), as in
// runtime/test/builds/build-pipeline.test.ts. Also: answer_build asks for the plan's secrets on Isola's page (URL-mode elicitation).
import { randomBytes } from "node:crypto";
import { createSecretVault, loadSecretKey } from "@isola/control";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, startApi } from "../support/api-harness.ts";
import { answer, type FakeAnthropic, startFakeAnthropic } from "../support/fake-anthropic.ts";
import { quickDatabase } from "../support/mcp.ts";
import { eventually } from "../support/wait.ts";
import { connectIsola, dataOf, enterOnPage, type IsolaClient, textOf, urlParams } from "./isola-client.ts";

const FINISHED = ["succeeded", "failed", "cancelled"];

describe("Isola's MCP server drives a build from a brief to a live server", () => {
  let fake: FakeAnthropic;
  let api: Api;
  let previousBaseUrl: string | undefined;

  beforeAll(async () => {
    fake = await startFakeAnthropic();
    previousBaseUrl = process.env.ANTHROPIC_BASE_URL;
    // The SDK reads it when a client is made: the runner's model talks to the fake.
    process.env.ANTHROPIC_BASE_URL = fake.url;
    // No web role: the test plays the secrets page itself, through the API.
    api = await startApi(
      quickDatabase(),
      { ANTHROPIC_API_KEY: "sk-ant-test-key", ISOLA_ROLES: "runtime,control,worker" },
      { listen: true },
    );
  }, 120_000);
  afterAll(async () => {
    await api?.close();
    await fake?.close();
    if (previousBaseUrl === undefined) delete process.env.ANTHROPIC_BASE_URL;
    else process.env.ANTHROPIC_BASE_URL = previousBaseUrl;
  });

  /** get_build until the build is `status` (a build that ends otherwise fails the test). */
  const until = (isola: IsolaClient, id: string, status: string) =>
    eventually(async () => {
      const result = await isola.call("get_build", { build: id });
      const { build } = dataOf(result);
      if (build.status === status) return result;
      if (FINISHED.includes(build.status)) throw new Error(`the build ended ${build.status}: ${textOf(result)}`);
      return undefined;
    }, 60_000);

  it("brief -> questions -> answer_build -> live -> tools/call on the new server", async () => {
    const isola = await connectIsola(api, api.adminToken);
    try {
      fake.queue(answer.message("plan-weather"));
      const created = await isola.call("create_server_from_brief", {
        prompt: "A server with weather forecasts for any city",
        slug: "mcp-weather",
        authMode: "public",
      });
      const queued = dataOf(created);
      expect(queued).toMatchObject({ status: "queued", kind: "new", server: null, authMode: "public" });
      expect(textOf(created)).toContain(`Call get_build with build "${queued.id}"`);

      const waiting = await until(isola, queued.id, "waiting");
      const { build, events } = dataOf(waiting);
      expect(build.plan.questions.map((question: { id: string }) => question.id)).toEqual(["units"]);
      expect(build.plan.egress).toEqual(["geocoding-api.open-meteo.com", "api.open-meteo.com"]);
      expect(textOf(waiting)).toContain("Question units: Should temperatures be in Celsius or Fahrenheit by default?");
      expect(textOf(waiting)).toContain("approve them): geocoding-api.open-meteo.com, api.open-meteo.com");
      expect(events.map((event: { type: string }) => event.type)).toEqual(
        expect.arrayContaining(["queued", "step", "plan", "waiting"]),
      );
      // The model's streamed text only on request.
      expect(events.some((event: { type: string }) => event.type === "model.text")).toBe(false);
      const withText = dataOf(await isola.call("get_build", { build: queued.id, modelText: true }));
      expect(withText.events.some((event: { type: string }) => event.type === "model.text")).toBe(true);
      // Nothing is written before the answer.
      expect(fake.requests).toHaveLength(1);

      fake.queue(answer.message("code-weather"));
      const answered = await isola.call("answer_build", {
        build: queued.id,
        answers: { units: "Celsius" },
        approvedEgress: build.plan.egress,
      });
      // Confirmed, or already taken by a runner.
      expect(dataOf(answered)).toMatchObject({
        status: expect.stringMatching(/^(confirmed|coding)$/),
        server: "mcp-weather",
      });

      const done = dataOf(await until(isola, queued.id, "succeeded")).build;
      const url = `${api.url}/mcp-weather/mcp`;
      expect(done).toMatchObject({ server: "mcp-weather", version: 1, round: 1, url });
      const history = dataOf(await isola.call("get_build", { build: queued.id, afterEvent: events.at(-1).seq }));
      expect(history.events.map((event: { type: string }) => event.type)).toEqual(
        expect.arrayContaining(["confirmed", "code", "check.passed", "version", "deployed", "succeeded"]),
      );
      // The user's answer reached the model that wrote the code.
      expect(fake.requests[1]?.raw).toContain("Celsius");

      // The new server, through its own MCP endpoint, with the SDK client.
      const client = new Client({ name: "new-server-client", version: "1.0.0" });
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      try {
        expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(["find_city", "get_forecast"]);
        const result = (await client.callTool({ name: "find_city", arguments: { name: "Lisbon" } })) as CallToolResult;
        // The generated code ran: with a way out to Open-Meteo it finds the city; without one (a
        // sandboxed test machine) its fetch to the approved geocoding host fails, and says so.
        const text = textOf(result);
        if (result.isError) {
          expect(text).toMatch(/geocoding-api\.open-meteo\.com/);
          expect(text).not.toMatch(/not (approved|allowed)/i);
        } else expect(text).toMatch(/Lisbon/);
      } finally {
        await client.close();
      }
    } finally {
      await isola.close();
    }
  });

  it("answer_build asks for the plan's secrets on Isola's page and stores them with the new server", async () => {
    const token = `ghp_${randomBytes(16).toString("hex")}`;
    const isola = await connectIsola(api, api.adminToken, {
      elicit: enterOnPage(api.adminToken, { GITHUB_TOKEN: token }),
    });
    try {
      fake.queue(answer.message("plan-github-issues"));
      const queued = dataOf(
        await isola.call("create_server_from_brief", { prompt: "Search the GitHub issues of my repositories" }),
      );
      const waiting = dataOf(await until(isola, queued.id, "waiting")).build;
      expect(waiting.plan.secrets.map((secret: { name: string }) => secret.name)).toEqual(["GITHUB_TOKEN"]);

      // Hosts the plan does not name are refused before anyone is asked for a secret.
      const foreign = await isola.call("answer_build", { build: queued.id, approvedEgress: ["evil.example.com"] });
      expect(textOf(foreign)).toMatch(/approve only hosts the plan names; not in it: evil.example.com/);
      expect(isola.elicitations).toEqual([]);

      // The code step's answer, so that the runner asks the fake nothing more after this test.
      fake.queue(answer.message("code-weather"));
      const answered = await isola.call("answer_build", { build: queued.id, approvedEgress: ["api.github.com"] });
      const confirmed = dataOf(answered);
      expect(["confirmed", "coding"]).toContain(confirmed.status);
      expect(isola.elicitations).toHaveLength(1);
      const asked = urlParams(isola.elicitations[0]);
      expect(asked.url).toBe(`${api.url}/secret-requests/${asked.elicitationId}`);
      expect(isola.completions).toEqual([asked.elicitationId]);
      const server = await api.stores.db
        .selectFrom("servers")
        .select(["id", "egress_approved"])
        .where("slug", "=", confirmed.server)
        .executeTakeFirstOrThrow();
      expect(server.egress_approved).toEqual(["api.github.com"]);
      const vault = createSecretVault({ db: api.stores.db, key: loadSecretKey(api.config, { warn: () => {} }) });
      expect(await vault.envFor(server.id)).toEqual({ GITHUB_TOKEN: token });
      expect(JSON.stringify(answered)).not.toContain(token);
      expect(api.logs.join("\n")).not.toContain(token);
      // Never a prompt either: the model sees the secret's name only.
      await eventually(() => (fake.pending() === 0 ? true : undefined), 30_000);
      expect(fake.requests.map((request) => request.raw).join("\n")).not.toContain(token);
    } finally {
      await isola.close();
    }
  });

  it("answer_build by a client without URL mode refuses when the plan needs a secret, and the build keeps waiting", async () => {
    const isola = await connectIsola(api, api.adminToken);
    try {
      fake.queue(answer.message("plan-github-issues"));
      const queued = dataOf(
        await isola.call("create_server_from_brief", { prompt: "Search the GitHub issues of my repositories" }),
      );
      await until(isola, queued.id, "waiting");
      const result = await isola.call("answer_build", { build: queued.id, approvedEgress: ["api.github.com"] });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/The build was not confirmed: this MCP client cannot open a page for the user/);
      expect(textOf(result)).toContain(`${api.url}/servers/new/${queued.id}`);
      expect(textOf(result)).toContain(`POST ${api.url}/api/v1/builds/${queued.id}/confirm`);
      expect(dataOf(await isola.call("get_build", { build: queued.id })).build.status).toBe("waiting");
      // A confirmation of a build that is not waiting is a conflict, in words.
      await api.admin.post(`builds/${queued.id}/cancel`);
      const late = await isola.call("answer_build", { build: queued.id });
      expect(textOf(late)).toMatch(/Conflicts with the current state: the build is cancelled, not waiting/);
    } finally {
      await isola.close();
    }
  });
});
