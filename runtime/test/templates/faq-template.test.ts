// The faq template in a real sandbox: a knowledge base given in the settings, searched by words
// (ranked, accents and case folded), read by id, and listed as one resource per entry.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Deployed, listIn, startTemplateSandbox, type TemplateSandbox, textOf } from "./template-sandbox.ts";

let sandbox: TemplateSandbox;
let faq: Deployed;

const ENTRIES = [
  {
    question: "How do I reset my password?",
    answer: "Open Settings > Security and choose Reset password; we email you a link valid for one hour.",
    tags: ["account", "security"],
  },
  {
    question: "Which payment methods do you accept?",
    answer: "Cards (Visa, Mastercard, Amex), SEPA debit and bank transfer for yearly plans.",
    tags: ["billing"],
  },
  {
    id: "refunds",
    question: "Can I get a refund?",
    answer: "Yes, within 30 days of a payment: write to billing and say which invoice. Déploiements annulés inclus.",
    tags: ["billing"],
  },
  {
    question: "How do I reset my password?",
    answer: "A second entry with the same question gets its own id.",
  },
];

beforeAll(async () => {
  sandbox = await startTemplateSandbox();
  faq = await sandbox.deploy("faq", { title: "Acme support FAQ", entries: ENTRIES });
}, 60_000);
afterAll(async () => {
  await sandbox?.close();
});

it("reaches no host and reads no secret", () => {
  expect(faq.artifact.manifest.egress).toEqual([]);
  expect(faq.artifact.manifest.secrets).toEqual([]);
  expect(faq.artifact.manifest.description).toBe("Acme support FAQ");
});

it("list_questions lists every entry with an id made from its question unless it has one", async () => {
  const result = await faq.call("list_questions");
  expect(result.structuredContent).toEqual({
    questions: [
      { id: "how-do-i-reset-my-password", question: "How do I reset my password?", tags: ["account", "security"] },
      {
        id: "which-payment-methods-do-you-accept",
        question: "Which payment methods do you accept?",
        tags: ["billing"],
      },
      { id: "refunds", question: "Can I get a refund?", tags: ["billing"] },
      { id: "how-do-i-reset-my-password-2", question: "How do I reset my password?", tags: [] },
    ],
  });
});

describe("search_faq", () => {
  const ids = async (query: string, limit?: number) => {
    const result = await faq.call("search_faq", { query, ...(limit ? { limit } : {}) });
    return listIn<{ id: string }>(result, "matches").map((match) => match.id);
  };

  it("ranks entries by where the words are: question 3, tags 2, answer 1, a whole word 1 more", async () => {
    // refunds: "billing" in its tags (3) and answer (2); the payment entry: in its tags only (3).
    expect(await ids("billing")).toEqual(["refunds", "which-payment-methods-do-you-accept"]);
    // "refund" in a question (4) outweighs the payment entry's tag.
    expect(await ids("billing refund")).toEqual(["refunds", "which-payment-methods-do-you-accept"]);
    // Both reset entries have it in the question (4); the first also in its answer (2).
    expect(await ids("reset")).toEqual(["how-do-i-reset-my-password", "how-do-i-reset-my-password-2"]);
  });

  it("matches words at their start, ignoring case, accents and common words", async () => {
    expect(await ids("How do I PASS")).toEqual(["how-do-i-reset-my-password", "how-do-i-reset-my-password-2"]);
    expect(await ids("deploiement")).toEqual(["refunds"]);
  });

  it("returns whole entries with their score, at most limit of them", async () => {
    const result = await faq.call("search_faq", { query: "password", limit: 1 });
    expect(result.structuredContent).toEqual({
      matches: [
        {
          id: "how-do-i-reset-my-password",
          question: "How do I reset my password?",
          answer: ENTRIES[0]?.answer,
          tags: ["account", "security"],
          score: 6,
        },
      ],
    });
  });

  it("finds nothing for words no entry has", async () => {
    expect(await ids("kubernetes helm chart")).toEqual([]);
  });
});

describe("get_entry and the resources", () => {
  it("get_entry reads one entry by id", async () => {
    const result = await faq.call("get_entry", { id: "refunds" });
    expect(result.structuredContent).toEqual({ id: "refunds", ...ENTRIES[2] });
  });

  it("get_entry names the way to find ids when one does not exist", async () => {
    const result = await faq.call("get_entry", { id: "shipping" });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe('no entry has the id "shipping"; list_questions lists them');
  });

  it("lists one resource per entry, and reads it as markdown", async () => {
    expect(faq.artifact.manifest.resources.map((resource) => resource.uri)).toEqual([
      "faq://entries/how-do-i-reset-my-password",
      "faq://entries/which-payment-methods-do-you-accept",
      "faq://entries/refunds",
      "faq://entries/how-do-i-reset-my-password-2",
    ]);
    expect(await faq.read("faq://entries/refunds")).toEqual({
      contents: [
        {
          uri: "faq://entries/refunds",
          mimeType: "text/markdown",
          text: `# Can I get a refund?\n\n${ENTRIES[2]?.answer}\n\nTags: billing\n`,
        },
      ],
    });
  });
});

describe("bad input", () => {
  const rows: [string, string, Record<string, unknown>, RegExp][] = [
    ["an empty query", "search_faq", { query: " " }, /query/],
    ["a limit of 21", "search_faq", { query: "x", limit: 21 }, /limit/],
    ["no id", "get_entry", {}, /id/],
  ];
  it.each(rows)("%s", async (_name, tool, args, message) => {
    const result = await faq.call(tool, args);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^Invalid arguments/);
    expect(textOf(result)).toMatch(message);
  });
});
