import type { CompileResult } from "@isola/sandbox";
import type { BuildPlan, Bus, Database, ServerSource } from "@isola/schema";
import type { FastifyBaseLogger } from "fastify";
import type { Kysely } from "kysely";
import { unapprovedEgress } from "../servers/server-writes.ts";
import { type BuildRow, codeResumePoint, MAX_RESUMES, type ToolDiff } from "./build-states.ts";
import {
  appendEvent,
  BUILDS_READY_CHANNEL,
  checkErrorsOf,
  claimBuild,
  renewLease,
  updateHeldBuild,
} from "./build-store.ts";
import { type BuildModel, ModelError, type ModelProgress, type ModelUsage } from "./model/build-model.ts";
import { formatDiagnostics } from "./model/prompts.ts";
import { type SmokeCase, type SmokeReport, smokeCases } from "./smoke.ts";

// Runs claimed builds step by step on this node. Everything a step learns is an event; the row
// holds what the next step (on any node) needs. A node that dies leaves its lease to run out,
// and another node resumes the build from the step it was in.

/** What a build does to the world, given by the composition root. */
export interface BuildEffects {
  /** The model for an org: its own key, else the instance's; ModelError("no-key") when neither. */
  modelFor(orgId: string): Promise<BuildModel>;
  /** Compiles a round's files, with the declarative tools the server already has. */
  compile(files: ServerSource, build: BuildRow): Promise<CompileResult>;
  /** The server's current manifest and source, for an iteration. */
  current(serverId: string): Promise<{ manifest: import("@isola/schema").Manifest; source: ServerSource } | undefined>;
  /** Calls each case's tool of the checked bundle with its example input (absent: no smoke run). */
  smoke?(
    build: BuildRow,
    artifact: Extract<CompileResult, { ok: true }>["artifact"],
    cases: SmokeCase[],
  ): Promise<SmokeReport>;
  /** Stores the checked code as the server's next version; what changed against the active one. */
  storeVersion(
    build: BuildRow,
    files: ServerSource,
    artifact: Extract<CompileResult, { ok: true }>["artifact"],
  ): Promise<{ versionId: string; number: number; diff: ToolDiff }>;
  /** Makes the version active; the server's MCP URL. */
  deploy(build: BuildRow, versionId: string): Promise<{ url: string }>;
}

export interface RunnerOptions {
  db: Kysely<Database>;
  bus: Bus;
  log: FastifyBaseLogger;
  effects: BuildEffects;
  /** This node's name in the builds it claims. */
  node: string;
  /** Builds this node runs at once. */
  concurrency?: number;
  perOrg?: number;
  leaseMs?: number;
  /** How often an idle runner looks for work when nothing was announced. */
  pollMs?: number;
  /**
   * A build this node ended, and how long the run that ended it took (from its claim here: the
   * plan, or the code to the deploy; the wait for the user's confirmation is not in it). For metrics.
   */
  onFinished?(outcome: "succeeded" | "failed", ms: number): void;
}

/** Model text is stored in chunks of about this many characters (a delta per event would flood the table). */
const TEXT_CHUNK = 2000;

class BuildCancelled extends Error {}

export class BuildRunner {
  readonly #options: Required<Omit<RunnerOptions, "effects" | "log" | "onFinished">> &
    Pick<RunnerOptions, "effects" | "log" | "onFinished">;
  readonly #running = new Set<Promise<void>>();
  /** When this node claimed each build it runs, for onFinished. */
  readonly #claimedAt = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => Promise<void>) | undefined;
  #stopped = false;
  #looking = false;
  /** Aborts the builds in progress when the node stops: they go back to the queue, for any node. */
  readonly #stopping = new AbortController();

  constructor(options: RunnerOptions) {
    this.#options = { concurrency: 2, perOrg: 2, leaseMs: 30_000, pollMs: 2000, ...options };
  }

  async start(): Promise<void> {
    this.#unsubscribe = await this.#options.bus
      .subscribe(BUILDS_READY_CHANNEL, () => this.poke())
      .catch(() => undefined);
    this.#timer = setInterval(() => this.poke(), this.#options.pollMs);
    this.#timer.unref();
    this.poke();
  }

  /** Looks for work now (a build was queued or confirmed). */
  poke(): void {
    if (this.#stopped || this.#looking) return;
    this.#looking = true;
    void this.#fill()
      .catch((error) => this.#options.log.error({ err: error }, "could not claim a build"))
      .finally(() => {
        this.#looking = false;
      });
  }

  async #fill(): Promise<void> {
    const { db, node, leaseMs, perOrg, concurrency } = this.#options;
    while (!this.#stopped && this.#running.size < concurrency) {
      const build = await claimBuild(db, node, { leaseMs, perOrg });
      if (!build) return;
      const run = this.#run(build)
        // #run fails a build that throws; this is for a failure to record even that (the database gone).
        .catch((error) => this.#options.log.error({ err: error, build: build.id }, "could not run or fail a build"))
        .finally(() => {
          this.#running.delete(run);
          this.poke();
        });
      this.#running.add(run);
    }
  }

  /** Stops claiming; the builds in progress stop their model requests and go back to the queue. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopping.abort();
    clearInterval(this.#timer);
    await this.#unsubscribe?.().catch(() => {});
    await Promise.allSettled(this.#running);
  }

  async #run(build: BuildRow): Promise<void> {
    const { db, bus, node, leaseMs, log } = this.#options;
    const cancel = new AbortController();
    const lease = setInterval(() => {
      void renewLease(db, build.id, node, leaseMs).then(
        (held) => held || cancel.abort(),
        () => {},
      );
    }, leaseMs / 3);
    const signal = AbortSignal.any([cancel.signal, this.#stopping.signal]);
    const event = (type: string, data: Record<string, unknown> = {}) => appendEvent(db, bus, build.id, type, data);
    this.#claimedAt.set(build.id, Date.now());
    try {
      if (build.resumes > MAX_RESUMES) {
        await this.#fail(build, `the build was interrupted ${build.resumes} times (its node stopped); start it again`);
        return;
      }
      if (build.resumes > 0) await event("resumed", { status: build.status, resumes: build.resumes });
      if (build.status === "planning") await this.#plan(build, signal, event);
      else if (build.status === "coding" || build.status === "checking") await this.#code(build, signal, event);
      else if (build.status === "deploying" && build.version_id) await this.#deploy(build, build.version_id, event);
      else await this.#fail(build, `cannot resume a build in ${build.status}`);
    } catch (error) {
      if (this.#stopping.signal.aborted) {
        await requeue(db, build.id, node).catch(() => {});
        // Another node takes it now rather than at its next look.
        await bus.publish(BUILDS_READY_CHANNEL, "").catch(() => {});
        return;
      }
      if (error instanceof BuildCancelled || cancel.signal.aborted) return;
      if (error instanceof ModelError) await this.#fail(build, error.message, { model: error.kind });
      else {
        log.error({ err: error, build: build.id }, "build failed");
        await this.#fail(build, "the build failed on our side; start it again");
      }
    } finally {
      clearInterval(lease);
      this.#claimedAt.delete(build.id);
    }
  }

  async #plan(build: BuildRow, signal: AbortSignal, event: EventWriter): Promise<void> {
    const { effects, db, node } = this.#options;
    await event("step", { step: "plan" });
    const model = await effects.modelFor(build.org_id);
    const current = build.server_id ? await effects.current(build.server_id) : undefined;
    const stream = modelEvents(event, signal);
    const { plan, usage } = await stream.around(
      model.plan({ prompt: build.prompt, ...(current ? { current } : {}) }, stream.progress),
    );
    await event("plan", { plan, usage: usageData(usage) });
    const held = await updateHeldBuild(db, build.id, node, {
      status: "waiting",
      plan: JSON.stringify(plan),
      claimed_by: null,
      lease_until: null,
    });
    if (!held) throw new BuildCancelled();
    await event("waiting", { for: "confirm", questions: plan.questions.length, secrets: plan.secrets.length });
  }

  async #code(build: BuildRow, signal: AbortSignal, event: EventWriter): Promise<void> {
    const { effects, db, node } = this.#options;
    const plan = build.plan as BuildPlan;
    const model = await effects.modelFor(build.org_id);
    const current = build.server_id ? await effects.current(build.server_id) : undefined;
    const access = await serverAccess(db, build.server_id);
    // A build that was put back or taken over goes on from where it was: the round it was in,
    // with the code that round already has, or the last round's code and errors to repair.
    const resumed = codeResumePoint(
      build,
      build.round > 1 ? await checkErrorsOf(db, build.id, build.round - 1) : undefined,
    );
    let { repair, files: written } = resumed;
    for (let round = resumed.round; round <= build.max_rounds; round++) {
      let files: ServerSource;
      if (written) {
        files = written;
        written = undefined;
      } else {
        await event("step", { step: round === 1 ? "code" : "repair", round });
        if (!(await updateHeldBuild(db, build.id, node, { status: "coding", round }))) throw new BuildCancelled();
        const stream = modelEvents(event, signal);
        const request = model.code(
          {
            prompt: build.prompt,
            plan,
            answers: (build.answers ?? {}) as Record<string, string>,
            approvedEgress: access.egress,
            secretNames: [...new Set([...access.secrets, ...plan.secrets.map((secret) => secret.name)])].sort(),
            ...(current ? { current } : {}),
            ...(repair ? { repair } : {}),
          },
          stream.progress,
        );
        const answered = await stream.around(request);
        files = answered.files;
        await event("code", { round, files: Object.keys(files), bytes: size(files), usage: usageData(answered.usage) });
        if (!(await updateHeldBuild(db, build.id, node, { status: "checking", files: JSON.stringify(files) })))
          throw new BuildCancelled();
      }
      await event("step", { step: "check", round });
      const started = Date.now();
      const result = await this.#check(build, round, plan, files, access.egress, event);
      if (!result.ok) {
        await event("check.failed", { round, errors: result.errors, ms: Date.now() - started });
        if (round === build.max_rounds) {
          const first = formatDiagnostics(result.errors.slice(0, 1));
          const problems = `the code still had ${result.errors.length} problem(s) after ${round} rounds`;
          await this.#fail(build, `${problems}; the first: ${first}`, { errors: result.errors });
          return;
        }
        repair = { files, errors: result.errors };
        continue;
      }
      await event("check.passed", {
        round,
        tools: result.artifact.manifest.tools.map((tool) => tool.name),
        ms: Date.now() - started,
      });
      await this.#version(build, files, result.artifact, event);
      return;
    }
  }

  /** The compiler's checks, the approved hosts, then the smoke run of the tools the plan marks safe. */
  async #check(
    build: BuildRow,
    round: number,
    plan: BuildPlan,
    files: ServerSource,
    approved: string[],
    event: EventWriter,
  ): Promise<CompileResult> {
    const { effects } = this.#options;
    const result = withinEgress(await effects.compile(files, build), approved);
    if (!result.ok || !effects.smoke) return result;
    const cases = smokeCases(plan, result.artifact.manifest);
    if (cases.length === 0) return result;
    await event("step", { step: "smoke", round, tools: cases.map((smoke) => smoke.tool) });
    const report = await effects.smoke(build, result.artifact, cases);
    await event("smoke", { passed: report.passed, skipped: report.skipped, failed: report.errors.length });
    return report.errors.length > 0 ? { ok: false, errors: report.errors } : result;
  }

  async #version(
    build: BuildRow,
    files: ServerSource,
    artifact: Extract<CompileResult, { ok: true }>["artifact"],
    event: EventWriter,
  ): Promise<void> {
    const { effects, db, node } = this.#options;
    await event("step", { step: "version" });
    const stored = await effects.storeVersion(build, files, artifact);
    await event("version", { number: stored.number, hash: artifact.hash, diff: stored.diff });
    if (!build.auto_deploy) {
      await this.#finish(build, { version_id: stored.versionId });
      return;
    }
    if (!(await updateHeldBuild(db, build.id, node, { status: "deploying", version_id: stored.versionId })))
      throw new BuildCancelled();
    await this.#deploy(build, stored.versionId, event);
  }

  async #deploy(build: BuildRow, versionId: string, event: EventWriter): Promise<void> {
    await event("step", { step: "deploy" });
    const { url } = await this.#options.effects.deploy(build, versionId);
    await event("deployed", { url });
    await this.#finish(build, { version_id: versionId });
  }

  async #finish(build: BuildRow, patch: { version_id: string }): Promise<void> {
    const { db, node } = this.#options;
    const held = await updateHeldBuild(db, build.id, node, {
      ...patch,
      status: "succeeded",
      finished_at: new Date(),
      claimed_by: null,
      lease_until: null,
    });
    if (held) {
      this.#finished(build, "succeeded");
      await appendEvent(db, this.#options.bus, build.id, "succeeded", {});
    }
  }

  async #fail(build: BuildRow, message: string, extra: Record<string, unknown> = {}): Promise<void> {
    const { db, node, bus } = this.#options;
    const held = await updateHeldBuild(db, build.id, node, {
      status: "failed",
      error: JSON.stringify({ message, ...extra }),
      finished_at: new Date(),
      claimed_by: null,
      lease_until: null,
    });
    if (held) {
      this.#finished(build, "failed");
      await appendEvent(db, bus, build.id, "failed", { message, ...extra });
    }
  }

  #finished(build: BuildRow, outcome: "succeeded" | "failed"): void {
    const claimedAt = this.#claimedAt.get(build.id);
    if (claimedAt !== undefined) this.#options.onFinished?.(outcome, Date.now() - claimedAt);
  }
}

type EventWriter = (type: string, data?: Record<string, unknown>) => Promise<number>;

/**
 * A model request's progress as events, in the order it happened: its text in chunks of about
 * TEXT_CHUNK characters, and its retries. The request is over, answered or failed, only once
 * they are all stored: nothing the model said may land after the build's last event.
 */
function modelEvents(event: EventWriter, signal: AbortSignal) {
  let pending = "";
  let writing: Promise<unknown> = Promise.resolve();
  const write = (type: string, data: Record<string, unknown>) => {
    writing = writing.then(() => event(type, data));
  };
  const flushText = () => {
    if (pending) write("model.text", { text: pending });
    pending = "";
  };
  const progress: ModelProgress = {
    signal,
    onText(delta) {
      pending += delta;
      if (pending.length >= TEXT_CHUNK) flushText();
    },
    onRetry(attempt, reason, delayMs) {
      flushText();
      write("model.retry", { attempt, reason, delayMs });
    },
  };
  return {
    progress,
    async around<T>(request: Promise<T>): Promise<T> {
      try {
        return await request;
      } finally {
        flushText();
        await writing;
      }
    },
  };
}

const usageData = (usage: ModelUsage) => ({ ...usage });

const size = (files: ServerSource) => Object.values(files).reduce((total, text) => total + text.length, 0);

/**
 * Code that declares a host the user did not approve would be refused at deploy: it fails the
 * check instead, so that the model can do without the host (or the build fails saying which).
 */
function withinEgress(result: CompileResult, approved: string[]): CompileResult {
  if (!result.ok) return result;
  const hosts = unapprovedEgress(result.artifact.manifest, approved);
  if (hosts.length === 0) return result;
  const allowed = approved.join(", ") || "none";
  return {
    ok: false,
    errors: hosts.map((host) => ({
      step: "manifest" as const,
      file: "",
      line: 0,
      column: 0,
      message: `egress: ${host} is not an approved host (approved: ${allowed}); fetch only approved hosts`,
    })),
  };
}

/** The hosts the server's code may reach and the names of the secrets set on it (never their values). */
async function serverAccess(
  db: Kysely<Database>,
  serverId: string | null,
): Promise<{ egress: string[]; secrets: string[] }> {
  if (!serverId) return { egress: [], secrets: [] };
  const server = await db.selectFrom("servers").select("egress_approved").where("id", "=", serverId).executeTakeFirst();
  const secrets = await db.selectFrom("secrets").select("name").where("server_id", "=", serverId).execute();
  return { egress: server?.egress_approved ?? [], secrets: secrets.map((row) => row.name) };
}

/** Gives a build this node holds back to the queue, in the claimable state its step starts from. */
async function requeue(db: Kysely<Database>, id: string, node: string): Promise<void> {
  await db
    .updateTable("builds")
    .set((eb) => ({
      status: eb
        .case()
        .when("status", "=", "planning")
        .then("queued" as const)
        .else(eb.ref("status"))
        .end(),
      // A build coding, checking or deploying keeps its step: with no holder and a lease that has
      // run out, the next node claims it and goes on from there, without counting a resume.
      claimed_by: null,
      lease_until: new Date(0),
      updated_at: new Date(),
    }))
    .where("id", "=", id)
    .where("claimed_by", "=", node)
    .execute();
}
