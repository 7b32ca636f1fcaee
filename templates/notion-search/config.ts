// The settings of this server. A deploy from the template gallery writes this file from the
// template's settings and the deploy's "config"; index.ts checks the values when it loads.
const config: unknown = {
  apiUrl: "https://api.notion.com",
  notionVersion: "2022-06-28",
};
export default config;
