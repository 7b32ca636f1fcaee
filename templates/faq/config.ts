// The settings of this server. A deploy from the template gallery writes this file from the
// template's settings and the deploy's "config"; index.ts checks the values when it loads.
const config: unknown = {
  title: "Frequently asked questions",
  entries: [
    {
      id: "change-entries",
      question: "How do I change the questions and answers?",
      answer:
        "Deploy the faq template again with your own list in the entries setting (config.entries), or edit config.ts and upload it as a new version. Each entry needs a question and an answer; tags and an id are optional.",
      tags: ["setup"],
    },
    {
      id: "search",
      question: "How does search work?",
      answer:
        'search_faq splits the query into words and ranks the entries that contain them: a word in the question counts most, then one in the tags, then one in the answer. Words match at their start, so "deploy" also finds "deployment".',
      tags: ["usage"],
    },
    {
      id: "resources",
      question: "Can a client read an entry without searching?",
      answer: "Yes: every entry is also a resource, faq://entries/<id>, in markdown. list_questions lists every id.",
      tags: ["usage"],
    },
  ],
};
export default config;
