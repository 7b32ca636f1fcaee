// The settings of this server. A deploy from the template gallery writes this file from the
// template's settings and the deploy's "config"; index.ts checks the values when it loads.
const config: unknown = {
  baseUrl: "https://jsonplaceholder.typicode.com",
  authHeader: "Authorization",
  methods: ["GET"],
};
export default config;
