// A static knowledge base: the questions and answers of config.ts, searchable by words, each
// one also a resource (faq://entries/<id>). It reaches no host and reads no secret.
import { defineServer, type Resource, resource, tool, z } from "isola";
import config from "./config.ts";

const ENTRY_ID = /^[a-z0-9][a-z0-9-]{0,79}$/;

const Settings = z.object({
  title: z.string().trim().min(1).max(200),
  entries: z
    .array(
      z.object({
        id: z.string().regex(ENTRY_ID, "an entry's id is lowercase letters, digits and hyphens").optional(),
        question: z.string().trim().min(1).max(500),
        answer: z.string().trim().min(1).max(20_000),
        tags: z.array(z.string().trim().min(1).max(50)).max(20).default([]),
      }),
    )
    .min(1, "give at least one entry")
    .max(500, "at most 500 entries"),
});

function loadSettings(): z.output<typeof Settings> {
  const parsed = Settings.safeParse(config);
  if (!parsed.success) throw new Error(`config.ts: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Lowercase, without accents: "Déploiement" and "deploiement" are one word. */
const fold = (text: string) => text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();

const words = (text: string): string[] => fold(text).match(/[\p{L}\p{N}]+/gu) ?? [];

/** An id from the question: "How do I pay?" -> "how-do-i-pay". */
const slugOf = (question: string) => words(question).join("-").slice(0, 60).replace(/-+$/, "") || "entry";

interface Entry {
  id: string;
  question: string;
  answer: string;
  tags: string[];
}

function loadEntries(): { title: string; entries: Entry[] } {
  const { title, entries } = loadSettings();
  const taken = new Set<string>();
  for (const entry of entries) {
    if (entry.id === undefined) continue;
    if (taken.has(entry.id)) throw new Error(`config.ts: two entries have the id ${entry.id}`);
    taken.add(entry.id);
  }
  const withIds = entries.map((entry) => {
    if (entry.id !== undefined) return { ...entry, id: entry.id };
    const base = slugOf(entry.question);
    let id = base;
    for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
    taken.add(id);
    return { ...entry, id };
  });
  return { title, entries: withIds };
}

const { title, entries } = loadEntries();

// Words too common to tell entries apart; a query made only of them still searches with them.
const COMMON = new Set(
  "a an the is are was be do does did i you we my your our it its to of in on at for and or how what when where why who can could should would with about".split(
    " ",
  ),
);

const indexed = entries.map((entry) => ({
  entry,
  question: words(entry.question),
  tags: entry.tags.flatMap(words),
  answer: words(entry.answer),
}));

/** A word in the question counts 3, in the tags 2, in the answer 1 (each at most once); a whole word 1 more. */
function search(query: string, limit: number) {
  const all = [...new Set(words(query))];
  const significant = all.filter((word) => !COMMON.has(word));
  const terms = significant.length > 0 ? significant : all;
  const scored = indexed.map(({ entry, question, tags, answer }) => {
    let score = 0;
    for (const term of terms) {
      for (const [fieldWords, weight] of [
        [question, 3],
        [tags, 2],
        [answer, 1],
      ] as const) {
        if (fieldWords.includes(term)) score += weight + 1;
        else if (fieldWords.some((word) => word.startsWith(term))) score += weight;
      }
    }
    return { entry, score };
  });
  return scored
    .filter((match) => match.score > 0)
    .sort((a, b) => b.score - a.score)
    .slice(0, limit)
    .map(({ entry, score }) => ({ ...entry, score }));
}

const byId = new Map(entries.map((entry) => [entry.id, entry]));
const markdown = (entry: Entry) =>
  `# ${entry.question}\n\n${entry.answer}\n${entry.tags.length ? `\nTags: ${entry.tags.join(", ")}\n` : ""}`;
const EntryView = z.object({ id: z.string(), question: z.string(), answer: z.string(), tags: z.array(z.string()) });

const resources: Record<string, Resource> = {};
for (const entry of entries) {
  resources[entry.id] = resource({
    uri: `faq://entries/${entry.id}`,
    name: entry.question.slice(0, 200),
    description: `${title}: the answer to "${entry.question.slice(0, 200)}"`,
    mimeType: "text/markdown",
    read: () => markdown(entry),
  });
}

export default defineServer({
  name: "faq",
  version: "1.0.0",
  description: title,
  tools: {
    search_faq: tool({
      title: `Search: ${title}`,
      description:
        `Searches ${title} (${entries.length} entries) for the entries that best answer a question or match some ` +
        "words, best first, each with its full answer. Use it before answering questions this knowledge base covers.",
      input: z.object({
        query: z.string().trim().min(1).max(500).describe("The question, or words to look for"),
        limit: z.number().int().min(1).max(20).default(5).describe("How many entries to return at most (1-20)"),
      }),
      output: z.object({ matches: z.array(EntryView.extend({ score: z.number() })) }),
      annotations: { readOnlyHint: true, openWorldHint: false },
      run: ({ query, limit }) => ({ matches: search(query, limit) }),
    }),
    get_entry: tool({
      title: "Read an entry",
      description: `Reads one entry of ${title} by its id (search_faq and list_questions give the ids).`,
      input: z.object({ id: z.string().trim().min(1).max(80).describe("The entry's id") }),
      output: EntryView,
      annotations: { readOnlyHint: true, openWorldHint: false },
      run: ({ id }) => {
        const entry = byId.get(id);
        if (!entry) throw new Error(`no entry has the id "${id}"; list_questions lists them`);
        return entry;
      },
    }),
    list_questions: tool({
      title: "List the questions",
      description: `Lists every question of ${title} with its id and tags (without the answers).`,
      input: z.object({}),
      output: z.object({
        questions: z.array(z.object({ id: z.string(), question: z.string(), tags: z.array(z.string()) })),
      }),
      annotations: { readOnlyHint: true, openWorldHint: false },
      run: () => ({ questions: entries.map(({ id, question, tags }) => ({ id, question, tags })) }),
    }),
  },
  resources,
});
