import {
  type BuildPlan,
  type BuildView,
  buildEvent,
  buildId,
  buildView,
  confirmBuildBody,
  createBuildBody,
  iterateBuildBody,
  serverSlug,
} from "@isola/schema";
import { z } from "zod";
import { confirmationProblem } from "../../builds/build-actions.ts";
import { readEvents } from "../../builds/build-store.ts";
import { askForSecrets, notAnswered, type SecretField } from "../secret-elicitation.ts";
import { addTool, answer, refusal, type ToolContext } from "../tool-kit.ts";

/** Events get_build returns at most per call; `lastEvent` says where to continue. */
const EVENT_PAGE = 200;

/** What to do next with a build, in words (the summary line a model reads first). Pure. */
export function nextStep(build: BuildView): string {
  const id = `build "${build.id}"`;
  switch (build.status) {
    case "queued":
    case "planning":
      return `The model is planning the server; call get_build with ${id} again in a few seconds.`;
    case "waiting": {
      const plan = build.plan as BuildPlan;
      const parts = [`The plan for "${plan.server.name}" waits for the user's answers: ${plan.summary}`];
      for (const question of plan.questions) {
        parts.push(
          `Question ${question.id}: ${question.question}${question.assumption ? ` (if unanswered: ${question.assumption})` : ""}`,
        );
      }
      if (plan.egress.length) parts.push(`Hosts the code must reach (approve them): ${plan.egress.join(", ")}`);
      if (plan.secrets.length) {
        parts.push(
          `Secrets it reads (answer_build sends the user to a page of Isola's to enter them): ${plan.secrets.map((s) => s.name).join(", ")}`,
        );
      }
      parts.push(`Ask the user, then call answer_build with ${id}, the answers by question id and the approved hosts.`);
      return parts.join("\n");
    }
    case "confirmed":
    case "coding":
    case "checking":
    case "deploying":
      return `The code is being written and checked (round ${Math.max(build.round, 1)} of ${build.maxRounds}); call get_build with ${id} again in a few seconds.`;
    case "succeeded":
      return build.url
        ? `The server is live at ${build.url} (version ${build.version}).`
        : `Version ${build.version} of ${build.server} is stored, not deployed; deploy it with deploy.`;
    case "failed":
      return `The build failed: ${build.error?.message ?? "no reason recorded"}`;
    case "cancelled":
      return "The build was cancelled.";
  }
}

/** Builds: a brief in, a live server out, through the same actions as the REST API. */
export function registerBuildTools(context: ToolContext): void {
  const { deps, builds, mcp } = context;

  addTool(mcp, "create_server_from_brief", {
    title: "Create a server from a brief",
    description:
      "Describe an MCP server in words (what its tools should do, which service it wraps) and Isola builds it: a model plans the tools, the hosts they reach and the secrets they need, and asks questions; the build then waits for answer_build; after that the model writes the code, Isola checks and repairs it, stores a version and (unless autoDeploy is false) deploys it. Returns the build; follow it with get_build. Needs the member role in the org.",
    input: createBuildBody,
    output: buildView,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
    async run(args, { request }) {
      const build = await builds.create(request, args);
      return answer(
        build,
        `Build ${build.id} is queued. Call get_build with build "${build.id}" until its status is "waiting", then answer its plan with answer_build.`,
      );
    },
  });

  addTool(mcp, "iterate_server", {
    title: "Change a server from a brief",
    description:
      "Describe a change to an existing server in words (a new tool, a fix, another behaviour) and Isola builds it like create_server_from_brief: a model plans the change and asks questions, the build waits for answer_build, then the model rewrites the code, Isola checks it and stores a new version, deployed unless autoDeploy is false. The live version keeps serving until then. Returns the build; follow it with get_build. Needs the member role.",
    input: iterateBuildBody.extend({ server: serverSlug.describe("The server's slug") }),
    output: buildView,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
    async run({ server, ...body }, { request }) {
      const build = await builds.iterate(request, server, body);
      return answer(
        build,
        `Build ${build.id} of a change to ${server} is queued; ${server} keeps serving meanwhile. Call get_build with build "${build.id}" until its status is "waiting", then answer its plan with answer_build.`,
      );
    },
  });

  addTool(mcp, "cancel_build", {
    title: "Cancel a build",
    description:
      "Stops a build that has not ended (queued, planning, waiting for answer_build, or writing code); it cannot be resumed. A version it already stored stays, and the server it changes keeps its live version. Needs the member role.",
    input: z.object({ build: buildId.describe("The build's id") }),
    output: buildView,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
    async run({ build: id }, { request }) {
      const build = await builds.cancel(request, id);
      return answer(build, `Build ${build.id} is ${build.status}.`);
    },
  });

  addTool(mcp, "get_build", {
    title: "Get a build",
    description:
      "A build's progress: its status (queued, planning, waiting, confirmed, coding, checking, deploying, succeeded, failed, cancelled), its plan with the questions to answer, hosts to approve and secrets it needs, its repair round, the version it made, the server's URL once live, its errors, and its events (after `afterEvent`; the model's streamed text only with modelText).",
    input: z.object({
      build: buildId.describe("The build's id"),
      afterEvent: z
        .number()
        .int()
        .min(0)
        .default(0)
        .describe("Only events after this seq (lastEvent of a previous call)"),
      modelText: z.boolean().default(false).describe("Include the model's output as it streamed (model.text events)"),
    }),
    output: z.object({ build: buildView, events: z.array(buildEvent), lastEvent: z.number().int() }),
    annotations: { readOnlyHint: true },
    async run(args, { request }) {
      const build = builds.view(await builds.load(request, args.build, "servers:read"));
      const read = await readEvents(deps.db, build.id, args.afterEvent, EVENT_PAGE);
      const events = args.modelText ? read : read.filter((event) => event.type !== "model.text");
      const lastEvent = read.at(-1)?.seq ?? args.afterEvent;
      return answer({ build, events, lastEvent }, `Build ${build.id} is ${build.status}. ${nextStep(build)}`);
    },
  });

  addTool(mcp, "answer_build", {
    title: "Answer a build's plan",
    description:
      "Confirms a waiting build: the user's answers to the plan's questions (by question id) and the hosts they approve (only hosts the plan names). Secrets are never arguments: when the plan needs secrets not set yet, the client opens a page of Isola's for the user (URL-mode elicitation), where they enter them; Isola stores them encrypted. The model then writes the code; follow it with get_build. Needs the member role.",
    input: confirmBuildBody.omit({ secrets: true }).extend({ build: buildId.describe("The build's id") }),
    output: buildView,
    // Destructive: confirming a build of a live server deploys its new version over the old one.
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
    async run({ build: id, answers, approvedEgress }, call) {
      const { request } = call;
      const build = await builds.load(request, id, "servers:update");
      let secrets: Record<string, string> = {};
      if (build.status === "waiting") {
        const plan = build.plan as BuildPlan;
        const setAlready = await builds.secretsSet(build);
        // Hosts first: the user should not type a secret for a confirmation that is refused anyway.
        const planned = plan.secrets.map((secret) => secret.name);
        const refused = confirmationProblem(plan, { approvedEgress, secrets: {} }, planned);
        if (refused) throw refused;
        const wanted: SecretField[] = plan.secrets.filter((secret) => !setAlready.includes(secret.name));
        if (wanted.length > 0) {
          const asked = await askForSecrets(
            context,
            call,
            `The server "${plan.server.name}" that Isola is building needs these secrets. They are stored encrypted and never shown again.`,
            wanted,
          );
          // Optional secrets may stay unset; the build goes on without them.
          if (!asked.ok && wanted.some((secret) => secret.required)) {
            return refusal(
              `The build was not confirmed: ${notAnswered(asked.why)}. The user can confirm it with the secrets on the build's page in Isola's web app: ${deps.config.publicUrl}/servers/new/${build.id}, or with the API: POST ${deps.config.publicUrl}/api/v1/builds/${build.id}/confirm with {"answers": {...}, "approvedEgress": [...], "secrets": {"${wanted[0]?.name}": "..."}}.`,
            );
          }
          if (asked.ok) secrets = asked.values;
        }
      }
      const confirmed = await builds.confirm(request, id, { answers, approvedEgress, secrets });
      return answer(confirmed, `Build ${confirmed.id} is ${confirmed.status}. ${nextStep(confirmed)}`);
    },
  });
}
