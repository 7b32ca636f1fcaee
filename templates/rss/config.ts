// The settings of this server. A deploy from the template gallery writes this file from the
// template's settings and the deploy's "config"; index.ts checks the values when it loads.
const config: unknown = {
  feeds: [
    { name: "hacker-news", url: "https://hnrss.org/frontpage" },
    { name: "github-blog", url: "https://github.blog/feed/" },
  ],
};
export default config;
