// The weather template's tools in a real sandbox, against fake Open-Meteo forecast and
// geocoding APIs on loopback (their hosts resolve there; only the scheme and port change).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonPayload, startUpstream, type Upstream } from "./fake-upstream.ts";
import { type Deployed, startTemplateSandbox, type TemplateSandbox, textOf } from "./template-sandbox.ts";

let sandbox: TemplateSandbox;
let upstream: Upstream;
let weather: Deployed;

beforeAll(async () => {
  [sandbox, upstream] = await Promise.all([startTemplateSandbox(), startUpstream()]);
  weather = await sandbox.deploy("weather", {
    forecastUrl: `http://api.open-meteo.com:${upstream.port}`,
    geocodingUrl: `http://geocoding-api.open-meteo.com:${upstream.port}`,
  });
}, 60_000);
afterAll(async () => {
  await Promise.all([sandbox?.close(), upstream?.close()]);
});

const query = (path: string) => new URL(upstream.last(path).url, "http://x").searchParams;

const PARIS_FORECAST = {
  latitude: 48.86,
  longitude: 2.3399997,
  timezone: "Europe/Paris",
  units: { temperature: "°C", windSpeed: "km/h", precipitation: "mm" },
  current: {
    time: "2024-07-22T14:15",
    conditions: "partly cloudy",
    temperature: 24.3,
    feelsLike: 24.9,
    humidity: 52,
    precipitation: 0,
    windSpeed: 11.2,
  },
  days: [
    {
      date: "2024-07-22",
      conditions: "partly cloudy",
      min: 16.3,
      max: 26.1,
      precipitation: 0,
      precipitationChance: 3,
      maxWind: 14.8,
    },
    {
      date: "2024-07-23",
      conditions: "slight rain",
      min: 15.9,
      max: 22.4,
      precipitation: 4.2,
      precipitationChance: 68,
      maxWind: 19.4,
    },
    {
      date: "2024-07-24",
      conditions: "thunderstorm",
      min: 16.7,
      max: 24.8,
      precipitation: 11.6,
      precipitationChance: null,
      maxWind: 27.3,
    },
  ],
};

describe("the three tools", () => {
  beforeAll(() => {
    upstream.on("GET", "/v1/search", { body: jsonPayload("open-meteo-geocoding.json") });
    upstream.on("GET", "/v1/forecast", { body: jsonPayload("open-meteo-forecast.json") });
  });

  it("find_place returns the places the geocoder found", async () => {
    const result = await weather.call("find_place", { name: "Paris", count: 2 });
    expect(result.structuredContent).toEqual({
      places: [
        {
          name: "Paris",
          region: "Île-de-France",
          country: "France",
          latitude: 48.85341,
          longitude: 2.3488,
          timezone: "Europe/Paris",
          population: 2138551,
        },
        expect.objectContaining({ name: "Paris", region: "Texas", country: "United States" }),
      ],
    });
    expect(Object.fromEntries(query("/v1/search"))).toEqual({
      name: "Paris",
      count: "2",
      language: "en",
      format: "json",
    });
  });

  it("forecast reads current conditions and each day, naming WMO weather codes", async () => {
    const result = await weather.call("forecast", { latitude: 48.85, longitude: 2.35, days: 3 });
    expect(result.isError).toBeUndefined();
    expect(result.structuredContent).toEqual(PARIS_FORECAST);
    const sent = query("/v1/forecast");
    expect(sent.get("latitude")).toBe("48.85");
    expect(sent.get("forecast_days")).toBe("3");
    expect(sent.get("timezone")).toBe("auto");
    expect(sent.get("daily")).toContain("precipitation_probability_max");
    expect(sent.has("temperature_unit")).toBe(false);
  });

  it("asks for imperial units when told to", async () => {
    await weather.call("forecast", { latitude: 40.7, longitude: -74, units: "imperial" });
    const sent = query("/v1/forecast");
    expect([sent.get("temperature_unit"), sent.get("wind_speed_unit"), sent.get("precipitation_unit")]).toEqual([
      "fahrenheit",
      "mph",
      "inch",
    ]);
  });

  it("forecast_for_place geocodes, prefers the match of a qualifier, and forecasts there", async () => {
    const result = await weather.call("forecast_for_place", { place: "Paris, Texas", days: 3 });
    expect(result.structuredContent).toMatchObject({
      place: { name: "Paris", region: "Texas", latitude: 33.66094 },
      current: { conditions: "partly cloudy" },
    });
    expect(query("/v1/search").get("name")).toBe("Paris");
    expect(query("/v1/forecast").get("latitude")).toBe("33.66094");
  });

  it("forecast_for_place says so when no place has that name", async () => {
    upstream.on("GET", "/v1/search", { body: { generationtime_ms: 0.4 } });
    const result = await weather.call("forecast_for_place", { place: "Xqzzyv" });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe('no place called "Xqzzyv" was found; check the spelling or try a nearby town');
    upstream.on("GET", "/v1/search", { body: jsonPayload("open-meteo-geocoding.json") });
  });
});

describe("Open-Meteo's errors become tool errors that say what happened", () => {
  const rows: [string, { status?: number; body: unknown; type?: string }, RegExp][] = [
    [
      "a refused request (400) with its reason",
      { status: 400, body: { error: true, reason: "Parameter 'forecast_days' must be between 0 and 16." } },
      /^Open-Meteo answered 400: Parameter 'forecast_days' must be between 0 and 16\.$/,
    ],
    [
      "a server error (500) that is not JSON",
      { status: 500, body: "Internal Server Error" },
      /^Open-Meteo answered \(500\) with something that is not JSON$/,
    ],
    [
      "an answer that is not JSON",
      { body: "<html>maintenance</html>", type: "text/html" },
      /^Open-Meteo answered with something that is not JSON$/,
    ],
    [
      "JSON of another shape",
      { body: { latitude: 1, longitude: 2 } },
      /^Open-Meteo's answer does not have the expected shape: .*timezone/s,
    ],
  ];
  it.each(rows)("%s", async (_name, reply, message) => {
    upstream.on("GET", "/v1/forecast", reply);
    const result = await weather.call("forecast", { latitude: 1, longitude: 2 });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(message);
  });
});

describe("bad input is refused before anything is sent", () => {
  const rows: [string, string, Record<string, unknown>, RegExp][] = [
    ["a latitude past the pole", "forecast", { latitude: 91, longitude: 0 }, /latitude/],
    ["a longitude as text", "forecast", { latitude: 0, longitude: "east" }, /longitude/],
    ["17 days", "forecast", { latitude: 0, longitude: 0, days: 17 }, /days/],
    ["a one-letter place", "find_place", { name: "X" }, /name/],
    ["a language that is no code", "find_place", { name: "Paris", language: "french" }, /two-letter/],
    ["unknown units", "forecast_for_place", { place: "Paris", units: "kelvin" }, /units/],
  ];
  it.each(rows)("%s", async (_name, tool, args, message) => {
    const before = upstream.requests.length;
    const result = await weather.call(tool, args);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^Invalid arguments/);
    expect(textOf(result)).toMatch(message);
    expect(upstream.requests.length).toBe(before);
  });
});
